"""Running campaigns against the demo server with a small size cap.

One export pending at a time (checked in the server's own export registry), every file
byte-exact, status 3 answered by splitting, failed chunks retried within bounds while the
others finish, and a campaign stopped mid-way resumed from its saved state.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from jsocdesk.core.campaign import (
    Block,
    Campaign,
    CampaignRunner,
    CampaignStore,
    Chunk,
    ChunkState,
    plan_campaign,
    store_saver,
)
from jsocdesk.core.campaign.files import QueueDownloader
from jsocdesk.core.download import (
    Catalog,
    ConcurrencyLimits,
    DownloadEngine,
    DownloadQueue,
    EngineOptions,
    QueueStore,
    RetryPolicy,
)
from jsocdesk.core.jsoc.client import JsocClient, make_http_client
from jsocdesk.core.jsoc.config import ServerConfig
from jsocdesk.core.jsoc.export import ExportJob, ExportQueue, PollPolicy
from jsocdesk.core.workflow import local_name
from jsocdesk.demo.faults import Fault
from jsocdesk.demo.server import DemoServer
from tests.demo_server import DEMO_EMAIL

FAST = PollPolicy(first=0.05, factor=1.5, cap=0.2, jitter=0.0, pending_limit_patience=30.0)
V45_6H = "hmi.v_45s[2014.01.01_00:00:00_TAI-2014.01.01_06:00:00_TAI@600.0s]"
#: 37 files of ~211 kB against a 2 MB cap: 8 per export, 5 exports
SMALL = {"size_cap_mb": 2, "segment_bytes": 200_000, "export_delay": 0.3}


class Rig:
    """A client, a download queue with its engine and a campaign store in ``tmp``."""

    def __init__(self, server: DemoServer, tmp: Path) -> None:
        self.server = server
        self.out = tmp / "out"
        self.data = tmp / "data"
        self.store = CampaignStore(self.data / "campaign.json")

    async def run(
        self,
        campaign: Campaign,
        *,
        during: Callable[[CampaignRunner], Awaitable[None]] | None = None,
        retry_delay: float = 0.05,
    ) -> Campaign:
        cfg = ServerConfig.for_base_url(self.server.base_url)
        async with make_http_client(cfg) as http:
            client = JsocClient(cfg, http, rng=random.Random(1))
            series = await client.series_info("hmi.v_45s")
            queue = DownloadQueue(
                QueueStore(self.data / "queue.json").load(),
                limits=ConcurrencyLimits(total=4, per_host=2),
                catalog=Catalog(self.data / "catalog.json"),
            )
            engine = DownloadEngine(
                queue,
                store=QueueStore(self.data / "queue.json"),
                options=EngineOptions(
                    retry=RetryPolicy(max_attempts=2, base_delay=0.02), fsync=False
                ),
            )
            engine.start()
            runner = CampaignRunner(
                client,
                campaign,
                QueueDownloader(queue, self.out),
                queue=ExportQueue(client, FAST),
                save=store_saver(self.store),
                series=series,
                retry_delay=retry_delay,
            )
            try:
                if during is None:
                    return await runner.run()
                task = asyncio.ensure_future(runner.run())
                await during(runner)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                return campaign
            finally:
                await runner.queue.aclose()
                await engine.aclose()

    async def plan(self, recordset: str = V45_6H) -> Campaign:
        cfg = ServerConfig.for_base_url(self.server.base_url)
        async with make_http_client(cfg) as http:
            client = JsocClient(cfg, http)
            info = await client.series_info("hmi.v_45s")
            plan = await plan_campaign(client, [Block(recordset, info, ("Dopplergram",))])
        return Campaign.from_plan(plan, email=DEMO_EMAIL, method="url", protocol="fits")


async def until(runner: CampaignRunner, test: Callable[[list[Chunk]], bool]) -> None:
    """Wait (bounded) until ``test`` holds for the campaign's chunks."""
    reached = asyncio.Event()

    def check(_chunk: object) -> None:
        if test(list(runner.campaign.chunks)):
            reached.set()

    runner.campaign.changed.connect(check)
    try:
        await asyncio.wait_for(reached.wait(), 60)
    finally:
        runner.campaign.changed.disconnect(check)


def server_exports(server: DemoServer) -> list[dict[str, Any]]:
    doc = json.loads((server.data_dir / "demo-exports.json").read_text())
    return sorted(doc["exports"], key=lambda e: e["created"])


def assert_one_pending_at_a_time(server: DemoServer) -> None:
    exports = server_exports(server)
    for a, b in itertools.pairwise(exports):
        assert a["completed"] is not None
        assert b["created"] >= a["completed"], (a["requestid"], b["requestid"])


def assert_files_byte_exact(server: DemoServer, campaign: Campaign, out: Path) -> int:
    n = 0
    for chunk in campaign.chunks:
        assert chunk.job is not None
        for f in chunk.job.files:
            served = server.data_dir / urlsplit(f.url).path.lstrip("/")
            local = out / local_name(f)
            assert local.read_bytes() == served.read_bytes(), local
            n += 1
    return n


def test_campaign_of_37_records_at_a_2_mb_cap(
    demo_server_factory: Callable[..., DemoServer], tmp_path: Path
) -> None:
    server = demo_server_factory(**SMALL)
    rig = Rig(server, tmp_path)
    campaign = asyncio.run(rig.plan())
    assert len(campaign.chunks) == 1  # the estimate (4096² images) fits JSOC's caps
    done = asyncio.run(rig.run(campaign))
    assert done.succeeded, [(c.state, c.error) for c in done.chunks]
    # the server answered status 3 with its cap: learned, the chunk was cut to fit
    assert done.caps.max_mb == 2
    assert [c.records for c in done.chunks] == [8, 8, 8, 8, 5]
    assert sum(c.records for c in done.chunks) == 37
    assert assert_files_byte_exact(server, done, rig.out) == 37
    assert len(list(rig.out.iterdir())) == 37
    assert_one_pending_at_a_time(server)
    assert len(server_exports(server)) == 5
    # the saved state says the same
    saved = rig.store.load()
    assert saved is not None
    assert saved.succeeded
    assert [c.requestid for c in saved.chunks] == [c.requestid for c in done.chunks]


def test_stopped_campaign_resumes_where_it_stopped(
    demo_server_factory: Callable[..., DemoServer], tmp_path: Path
) -> None:
    server = demo_server_factory(**SMALL)
    rig = Rig(server, tmp_path)
    campaign = asyncio.run(rig.plan())

    async def until_two_done(runner: CampaignRunner) -> None:
        await until(runner, lambda cs: sum(c.state is ChunkState.DONE for c in cs) >= 2)

    asyncio.run(rig.run(campaign, during=until_two_done))
    saved = rig.store.load()
    assert saved is not None
    assert not saved.finished
    states = [c.state for c in saved.chunks]
    assert states.count(ChunkState.DONE) >= 2
    assert ChunkState.PENDING in states
    requested_before = len(server_exports(server))
    done_ids = {c.requestid for c in saved.chunks if c.state is ChunkState.DONE}

    finished = asyncio.run(rig.run(saved))
    assert finished.succeeded
    assert {c.requestid for c in finished.chunks} >= done_ids
    # nothing exported twice: one export per chunk in all (the submitted one re-attached)
    assert len(server_exports(server)) == len(finished.chunks) >= requested_before
    assert assert_files_byte_exact(server, finished, rig.out) == 37
    assert_one_pending_at_a_time(server)


def test_failed_export_is_retried_without_losing_the_others(
    demo_server_factory: Callable[..., DemoServer], tmp_path: Path
) -> None:
    server = demo_server_factory(**SMALL)
    rig = Rig(server, tmp_path)
    campaign = asyncio.run(rig.plan())
    # the first export is "not found" beyond the poll's grace: that chunk fails once
    server.faults.add(Fault("status6", route="jsoc_fetch", times=6, match="exp_status"))
    done = asyncio.run(rig.run(campaign))
    assert done.succeeded, [(c.state, c.error) for c in done.chunks]
    assert sorted(c.attempts for c in done.chunks)[-1] == 1
    assert assert_files_byte_exact(server, done, rig.out) == 37


def test_a_chunk_that_keeps_failing_fails_alone(
    demo_server_factory: Callable[..., DemoServer], tmp_path: Path
) -> None:
    server = demo_server_factory(**SMALL)
    rig = Rig(server, tmp_path)
    good = "hmi.v_45s[2014.01.01_00:00:00_TAI-2014.01.01_00:30:00_TAI@600.0s]"
    bad = "hmi.nonexistent_series[2014.01.01_00:00:00_TAI/1h]"
    later = "hmi.v_45s[2014.01.01_01:00:00_TAI-2014.01.01_01:30:00_TAI@600.0s]"
    campaign = Campaign(
        [Chunk(good, 4), Chunk(bad, 1), Chunk(later, 4)],
        email=DEMO_EMAIL,
        max_attempts=3,
    )
    done = asyncio.run(rig.run(campaign))
    assert [c.state for c in done.chunks] == [ChunkState.DONE, ChunkState.FAILED, ChunkState.DONE]
    assert done.chunks[1].attempts == 3
    assert "does not exist" in done.chunks[1].error
    assert not done.succeeded
    assert done.finished
    assert sum(c.files_done for c in done.chunks) == 8


def test_resume_reattaches_a_submitted_chunk(
    demo_server_factory: Callable[..., DemoServer], tmp_path: Path
) -> None:
    server = demo_server_factory(**{**SMALL, "export_delay": 0.6})
    rig = Rig(server, tmp_path)
    campaign = asyncio.run(rig.plan())

    async def until_submitted(runner: CampaignRunner) -> None:
        await until(
            runner, lambda cs: any(c.state is ChunkState.SUBMITTED and c.requestid for c in cs)
        )
        await asyncio.sleep(0.05)  # the saver writes the request id

    asyncio.run(rig.run(campaign, during=until_submitted))
    saved = rig.store.load()
    assert saved is not None
    pending = [c for c in saved.chunks if c.state is ChunkState.SUBMITTED]
    assert len(pending) == 1
    assert pending[0].requestid
    rid = pending[0].requestid
    finished = asyncio.run(rig.run(saved))
    assert finished.succeeded
    assert rid in {c.requestid for c in finished.chunks}
    assert len(server_exports(server)) == len(finished.chunks)


def test_a_refused_export_becomes_a_campaign_that_fits(
    demo_server_factory: Callable[..., DemoServer],
) -> None:
    from jsocdesk.core.campaign.workflow import campaign_from_too_large
    from jsocdesk.core.jsoc.export import ExportTooLarge

    server = demo_server_factory(size_cap_mb=8, segment_bytes=1_000_000)

    async def body() -> Campaign:
        cfg = ServerConfig.for_base_url(server.base_url)
        async with make_http_client(cfg) as http:
            client = JsocClient(cfg, http)
            job = ExportJob(V45_6H, DEMO_EMAIL, method="url", protocol="fits")
            with pytest.raises(ExportTooLarge) as info:
                await job.run(client, FAST)
            assert info.value.limit_mb == 8
            assert info.value.size_mb == 38
            return await campaign_from_too_large(client, job)

    campaign = asyncio.run(body())
    assert [c.records for c in campaign.chunks] == [7, 7, 7, 7, 7, 2]
    assert campaign.caps.max_mb == 8
    assert campaign.chunks[0].method == "url"
    assert not (server.data_dir / "demo-exports.json").exists()  # status 3 created nothing


def test_downloads_that_cannot_be_written_fail_their_chunks_within_bounds(
    demo_server_factory: Callable[..., DemoServer], tmp_path: Path
) -> None:
    server = demo_server_factory(**SMALL)
    rig = Rig(server, tmp_path)
    rig.out.parent.mkdir(parents=True, exist_ok=True)
    rig.out.write_text("a file where the download folder should be")
    good = "hmi.v_45s[2014.01.01_00:00:00_TAI-2014.01.01_00:30:00_TAI@600.0s]"
    campaign = Campaign([Chunk(good, 4)], email=DEMO_EMAIL, max_attempts=2)
    done = asyncio.run(rig.run(campaign))
    assert done.finished
    assert not done.succeeded
    (chunk,) = done.chunks
    assert chunk.state is ChunkState.FAILED
    assert chunk.attempts == 2
    assert "failed" in chunk.error
    assert len(server_exports(server)) == 1  # the export was fine: staged once
