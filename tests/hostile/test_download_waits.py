"""Every wait of the download engine is bounded, and the item says why it waits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from jsocdesk.core.download import (
    DownloadEngine,
    DownloadQueue,
    DownloadState,
    EngineOptions,
    RetryPolicy,
)
from jsocdesk.demo.server import DemoServer
from tests.hostile.server import HostileJsoc, Upstream

S = DownloadState
SIZE = 200_000


def put(server: DemoServer, name: str) -> bytes:
    data = bytes(range(256)) * (SIZE // 256)
    path = server.data_dir / "SUM9" / "D1" / "S00000" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


async def engine_run(queue: DownloadQueue, options: EngineOptions, bound: float = 20.0) -> None:
    engine = DownloadEngine(queue, options=options)
    try:
        async with asyncio.timeout(bound):
            await engine.run_until_idle()
    finally:
        await engine.aclose()


def test_range_answered_200_then_dropped_gives_up_with_growing_backoff(
    demo_server: DemoServer, hostile: HostileJsoc, tmp_path: Path
) -> None:
    put(demo_server, "a.fits")
    sent: list[int] = []

    async def ignore_range_and_drop(request: web.Request, upstream: Upstream) -> Any:
        # a few more bytes every time, never the whole file, always "200" (Range ignored)
        n = 1000 + 100 * len(sent)
        sent.append(n)
        resp = web.StreamResponse(status=200, headers={"Content-Length": str(SIZE)})
        await resp.prepare(request)
        await resp.write(bytes(range(256)) * (n // 256) + bytes(n % 256))
        assert request.transport is not None
        request.transport.close()
        return resp

    hostile.on("files", ignore_range_and_drop)
    retry = RetryPolicy(max_attempts=4, base_delay=0.02, max_delay=0.5)
    delays: list[float] = []

    async def go() -> Any:
        queue = DownloadQueue()
        item = queue.add(hostile.base_url + "SUM9/D1/S00000/a.fits", tmp_path / "out")

        def changed(it: Any, old: Any = None) -> None:
            if it.state is S.QUEUED and it.next_attempt_at:
                delays.append(it.next_attempt_at)

        queue.state_changed.connect(changed)
        await engine_run(queue, EngineOptions(retry=retry, fsync=False))
        return item

    item = asyncio.run(go())
    assert item.state is S.FAILED
    assert "gave up after" in (item.error or "")
    assert len(sent) <= retry.max_attempts + 1


def test_retry_after_is_capped_and_shown(
    demo_server: DemoServer, hostile: HostileJsoc, tmp_path: Path
) -> None:
    data = put(demo_server, "b.fits")

    async def busy(request: web.Request, upstream: Upstream) -> Any:
        return web.Response(status=503, text="busy", headers={"Retry-After": "999999999"})

    hostile.on("files", busy, times=2)
    retry = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05, max_retry_after=0.2)
    messages: list[str] = []

    async def go() -> Any:
        queue = DownloadQueue()
        item = queue.add(hostile.base_url + "SUM9/D1/S00000/b.fits", tmp_path / "out")
        queue.state_changed.connect(
            lambda it, old=None: messages.append(it.error or "") if it.state is S.QUEUED else None
        )
        await engine_run(queue, EngineOptions(retry=retry, fsync=False), bound=15)
        return item

    item = asyncio.run(go())
    assert item.state is S.DONE
    assert (tmp_path / "out" / "b.fits").read_bytes() == data
    assert any("999999999 s: capped" in m for m in messages), messages


def test_a_trickle_is_a_stall(
    demo_server: DemoServer, hostile: HostileJsoc, tmp_path: Path
) -> None:
    put(demo_server, "c.fits")

    async def trickle(request: web.Request, upstream: Upstream) -> Any:
        resp = web.StreamResponse(status=200, headers={"Content-Length": str(SIZE)})
        await resp.prepare(request)
        for _ in range(SIZE):
            await resp.write(b"\0")
            await asyncio.sleep(0.1)
        return resp

    hostile.on("files", trickle)
    options = EngineOptions(
        stall_timeout=0.8,
        min_rate=100.0,
        fsync=False,
        retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02),
    )

    async def go() -> Any:
        queue = DownloadQueue()
        item = queue.add(hostile.base_url + "SUM9/D1/S00000/c.fits", tmp_path / "out")
        await engine_run(queue, options, bound=15)
        return item

    item = asyncio.run(go())
    assert item.state is S.FAILED
    assert "slower than 100 B/s" in (item.error or "")


@pytest.mark.parametrize(
    ("value", "low", "high"),
    [
        ("120", 120, 120),
        ("999999999", 999999999, 999999999),
        ("soon", 0, 0),
        ("", 0, 0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0, 0),
        ("9" * 400, 1e11, 1e12),
    ],
)
def test_retry_after_parsing(value: str, low: float, high: float) -> None:
    from jsocdesk.core.download.engine import retry_after_seconds

    assert low <= retry_after_seconds(value) <= high


def test_backoff_never_overflows() -> None:
    import random

    policy = RetryPolicy()
    assert policy.delay(10**6, random.Random(0)) <= policy.max_delay


def test_an_endless_body_stops_at_the_cap(
    demo_server: DemoServer, hostile: HostileJsoc, tmp_path: Path
) -> None:
    async def endless(request: web.Request, upstream: Upstream) -> Any:
        resp = web.StreamResponse(status=200)  # no length: chunked, never ends
        await resp.prepare(request)
        try:
            while True:
                await resp.write(b"\0" * 65536)
        except (ConnectionError, OSError):
            pass
        return resp

    hostile.on("files", endless)
    options = EngineOptions(
        max_file_bytes=1 << 20,
        fsync=False,
        retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02),
    )

    async def go() -> Any:
        queue = DownloadQueue()
        item = queue.add(hostile.base_url + "SUM9/D1/S00000/d.fits", tmp_path / "out")
        await engine_run(queue, options, bound=15)
        return item

    item = asyncio.run(go())
    assert item.state is S.FAILED
    assert "more than the" in (item.error or "")
    assert not any(p.stat().st_size > 2 << 20 for p in (tmp_path / "out").glob("*"))


def test_a_link_planted_at_the_partial_file_is_not_followed(
    demo_server: DemoServer, tmp_path: Path
) -> None:
    put(demo_server, "e.fits")
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")

    async def go() -> Any:
        queue = DownloadQueue()
        item = queue.add(demo_server.base_url + "SUM9/D1/S00000/e.fits", tmp_path / "out")
        item.target.parent.mkdir(parents=True, exist_ok=True)
        item.part_path.symlink_to(victim)  # planted after the name was chosen
        await engine_run(queue, EngineOptions(fsync=False), bound=15)
        return item

    item = asyncio.run(go())
    assert victim.read_bytes() == b"precious"
    assert item.state is S.FAILED
