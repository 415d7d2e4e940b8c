"""Export lifecycle against the demo server: every status path, the queue, re-attaching."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from jsocdesk.core.errors import ExportFailed
from jsocdesk.core.jsoc.client import JsocClient
from jsocdesk.core.jsoc.export import (
    ExportJob,
    ExportQueue,
    ExportTooLarge,
    JobState,
    PollPolicy,
)
from jsocdesk.core.jsoc.protocol import ExportStatus
from jsocdesk.demo.faults import Fault
from jsocdesk.demo.server import DemoServer
from tests.core.test_client_transport import with_client
from tests.demo_server import DEMO_EMAIL

FAST = PollPolicy(first=0.05, factor=1.5, cap=0.25, jitter=0.0, pending_limit_patience=30.0)
V45 = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_00:03:35_TAI]{Dopplergram}"
SHARP = "hmi.sharp_720s[4864][2014.11.30_00:00_TAI]{continuum,magnetogram}"


def statuses_of(job: ExportJob) -> list[int | None]:
    seen: list[int | None] = []
    job.changed.connect(lambda j: seen.append(None if j.status is None else int(j.status)))
    return seen


async def fetch_ok(urls: list[str]) -> list[int]:
    async with httpx.AsyncClient() as http:
        return [(await http.get(u)).status_code for u in urls]


def test_url_quick_as_is_answers_at_once(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> tuple[ExportJob, list[str], list[int]]:
        job = ExportJob(V45, DEMO_EMAIL, method="url_quick", protocol="as-is")
        urls = await job.run(c, FAST)
        return job, urls, await fetch_ok(urls)

    job, urls, codes = with_client(demo_server, body)
    assert job.state is JobState.DONE
    assert job.status is ExportStatus.OK
    assert job.polls == 0
    assert len(urls) == 5
    assert all(u.startswith(demo_server.base_url + "SUM") for u in urls)
    assert codes == [200] * 5


def test_url_fits_goes_through_2_1_0(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> tuple[ExportJob, list[int | None], list[int]]:
        job = ExportJob(SHARP, DEMO_EMAIL, method="url", protocol="fits")
        seen = statuses_of(job)
        urls = await job.run(c, FAST)
        return job, seen, await fetch_ok(urls)

    job, seen, codes = with_client(demo_server, body)
    assert seen[0] == 2
    assert seen[-1] == 0
    assert set(seen) <= {0, 1, 2}
    assert job.requestid.startswith("JSOC_")
    assert sorted(f.filename.rsplit(".", 2)[-2] for f in job.files) == ["continuum", "magnetogram"]
    assert codes == [200, 200]


def test_url_tar_gives_one_tar(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> tuple[ExportJob, list[int]]:
        job = ExportJob(V45, DEMO_EMAIL, method="url-tar", protocol="fits")
        urls = await job.run(c, FAST)
        return job, await fetch_ok(urls)

    job, codes = with_client(demo_server, body)
    assert len(job.urls) == 1
    assert job.urls[0].endswith(".tar")
    assert codes == [200]


def test_status_6_then_1_then_0(demo_server: DemoServer) -> None:
    demo_server.faults.add(Fault("status6", route="jsoc_fetch", times=2, match="exp_status"))

    async def body(c: JsocClient) -> tuple[ExportJob, list[int | None]]:
        job = ExportJob(SHARP, DEMO_EMAIL)
        seen = statuses_of(job)
        await job.run(c, FAST)
        return job, seen

    job, seen = with_client(demo_server, body)
    assert seen[:3] == [2, 6, 6]
    assert seen[-1] == 0
    assert job.state is JobState.DONE


def test_status_6_beyond_the_grace_fails(demo_server: DemoServer) -> None:
    demo_server.faults.add(Fault("status6", route="jsoc_fetch", match="exp_status"))

    async def body(c: JsocClient) -> ExportJob:
        job = ExportJob(SHARP, DEMO_EMAIL)
        with pytest.raises(ExportFailed, match="not found") as info:
            await job.run(c, PollPolicy(first=0.02, cap=0.05, not_found_grace=2))
        assert info.value.status == 6
        return job

    job = with_client(demo_server, body)
    assert job.state is JobState.FAILED
    assert job.polls == 3


def test_status_4_for_an_unregistered_address(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> ExportJob:
        job = ExportJob(SHARP, "stranger@example.com")
        with pytest.raises(ExportFailed) as info:
            await job.run(c, FAST)
        assert info.value.status == 4
        assert "registered" in str(info.value)
        return job

    assert with_client(demo_server, body).state is JobState.FAILED


def test_status_3_suggests_a_split(demo_server_factory: Callable[..., DemoServer]) -> None:
    server = demo_server_factory(size_cap_mb=1, segment_bytes=400_000)
    rs = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]{Dopplergram}"

    async def body(c: JsocClient) -> tuple[ExportTooLarge, list[int], int]:
        info = await c.series_info("hmi.v_45s")
        job = ExportJob(rs, DEMO_EMAIL, series=info)
        with pytest.raises(ExportTooLarge) as err:
            await job.run(c, FAST)
        counts = [await c.count(p) for p in err.value.split]
        return err.value, counts, await c.count(rs)

    err, counts, total = with_client(server, body)
    assert err.status == 3
    assert "too large" in str(err).lower()
    assert len(err.split) >= 2
    assert sum(counts) == total == 81  # the parts partition the records exactly


def test_status_5_after_expiry(demo_server_factory: Callable[..., DemoServer]) -> None:
    server = demo_server_factory(expire_after=0.2)

    async def body(c: JsocClient) -> ExportJob:
        done = ExportJob(SHARP, DEMO_EMAIL)
        await done.run(c, FAST)
        await asyncio.sleep(0.5)
        late = ExportJob.attach(done.requestid, DEMO_EMAIL)
        with pytest.raises(ExportFailed, match="expired") as err:
            await late.wait(c, FAST)
        assert err.value.status == 5
        return late

    assert with_client(server, body).status is ExportStatus.DELETED


def test_queue_holds_the_second_export_of_an_address(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> tuple[list[Any], list[int | None], list[int | None]]:
        queue = ExportQueue(c, FAST)
        first = ExportJob(SHARP, DEMO_EMAIL)
        second = ExportJob(V45, DEMO_EMAIL, method="url", protocol="fits")
        s1, s2 = statuses_of(first), statuses_of(second)
        states: list[Any] = []
        second.changed.connect(lambda j: states.append(j.state))
        queue.add(first)
        queue.add(second)
        await asyncio.sleep(0)
        states.append(("held?", second.state))
        await queue.wait(first)
        await queue.wait(second)
        await queue.aclose()
        return states, s1, s2

    states, s1, s2 = with_client(demo_server, body)
    assert ("held?", JobState.HELD) in states
    assert 7 not in s1
    assert 7 not in s2
    assert s1[-1] == 0
    assert s2[-1] == 0


def test_queue_waits_out_a_status_7_from_elsewhere(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> tuple[list[int | None], str]:
        # an export made on "the web page": pending for this address, unknown to the queue
        foreign = await c.submit_export(SHARP, DEMO_EMAIL)
        assert foreign.status is ExportStatus.QUEUED
        queue = ExportQueue(c, FAST)
        job = ExportJob(V45, DEMO_EMAIL, method="url", protocol="fits")
        seen = statuses_of(job)
        queue.add(job)
        await queue.wait(job)
        await queue.aclose()
        return seen, job.state.value

    seen, state = with_client(demo_server, body)
    assert seen[0] == 7
    assert seen[-1] == 0
    assert state == "done"


def test_reattach_after_restart(demo_server: DemoServer) -> None:
    async def first_run(c: JsocClient) -> str:
        job = ExportJob(SHARP, DEMO_EMAIL)
        await job.submit(c)
        assert job.state is JobState.PENDING
        return json.dumps(job.to_dict())  # what the session file keeps

    saved = with_client(demo_server, first_run)  # the app (loop, client) ends here

    async def second_run(c: JsocClient) -> tuple[ExportJob, list[int]]:
        job = ExportJob.from_dict(json.loads(saved))
        assert job.state is JobState.PENDING
        queue = ExportQueue(c, FAST)
        queue.add(job)
        urls = await queue.wait(job)
        await queue.aclose()
        return job, await fetch_ok(urls)

    job, codes = with_client(demo_server, second_run)
    assert job.state is JobState.DONE
    assert job.requestid == json.loads(saved)["requestid"]
    assert codes == [200, 200]
    assert ExportJob.from_dict(job.to_dict()).files == job.files


def test_attach_to_an_export_made_by_drms(demo_server: DemoServer, drms_jsoc: Any) -> None:
    import drms

    request = drms.Client(email=DEMO_EMAIL).export(SHARP, method="url", protocol="fits")
    request_id = request.id

    async def body(c: JsocClient) -> list[str]:
        job = ExportJob.attach(request_id, DEMO_EMAIL)
        return await job.wait(c, FAST)

    urls = with_client(demo_server, body)
    assert request.wait(timeout=30, sleep=0.1)
    assert sorted(urls) == sorted(request.urls.url)


def test_cancel_stops_following(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> ExportJob:
        queue = ExportQueue(c, PollPolicy(first=5.0, cap=5.0))
        job = ExportJob(SHARP, DEMO_EMAIL)
        submitted = asyncio.Event()
        job.changed.connect(lambda j: j.state is JobState.PENDING and submitted.set())
        queue.add(job)
        await submitted.wait()
        queue.cancel(job)
        with pytest.raises(ExportFailed, match="cancelled"):
            await queue.wait(job)
        await queue.aclose()
        return job

    assert with_client(demo_server, body).state is JobState.CANCELLED


def test_auto_method_from_counts_and_segments(demo_server: DemoServer) -> None:
    from jsocdesk.core.query.tree import PrimeKey, Segment, Series, Time
    from jsocdesk.core.workflow import make_export_plan

    hour = Time("2014-01-01T00:00:00", "2014-01-01T01:00:00")

    async def body(c: JsocClient) -> list[tuple[str, str]]:
        queries = [
            (Series("hmi.v_45s") & hour & Segment("Dopplergram"), True),
            (Series("hmi.v_45s") & hour, False),
            (Series("hmi.sharp_720s") & hour, True),
            (
                Series("hmi.sharp_720s")
                & PrimeKey("HARPNUM", "4864")
                & hour
                & Segment("continuum"),
                True,
            ),
        ]
        choices = []
        for query, headers in queries:
            plan = await make_export_plan(c, query, headers=headers)
            (entry,) = plan.entries
            choices.append((entry.method.value, entry.protocol.value))
        return choices

    assert with_client(demo_server, body) == [
        ("url", "fits"),
        ("url_quick", "as-is"),
        ("url-tar", "fits"),
        ("url", "fits"),
    ]
