"""The download engine against the demo JSOC server over real loopback HTTP."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from jsocdesk.core.download import (
    Catalog,
    ConcurrencyLimits,
    DownloadEngine,
    DownloadItem,
    DownloadQueue,
    DownloadState,
    EngineOptions,
    QueueStore,
    RetryPolicy,
)
from jsocdesk.core.download.transport import AiohttpTransport
from jsocdesk.demo.faults import Fault
from jsocdesk.demo.server import DemoServer

S = DownloadState
FAST_RETRY = RetryPolicy(max_attempts=10, base_delay=0.01, max_delay=0.1)
REPO = Path(__file__).resolve().parents[2]


def put(server: DemoServer, name: str, data: bytes, folder: str = "SUM1/D100/S00000") -> str:
    """Place ``data`` in the server's data dir; return its download URL."""
    path = server.data_dir / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"{server.base_url}{folder}/{name}"


def payload(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


def run(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coro

    return asyncio.run(main())


async def until(cond: Callable[[], bool]) -> None:
    """Wait (cooperatively) until ``cond()`` holds; the pytest timeout bounds it."""
    while not cond():  # noqa: ASYNC110  # polling state owned by the engine
        await asyncio.sleep(0.01)


class RangeLog:
    """An httpx client whose hooks record each request's Range header and each status."""

    def __init__(self) -> None:
        self.ranges: list[tuple[str, str]] = []
        self.answers: list[tuple[str, int]] = []

    def client(self) -> httpx.AsyncClient:
        async def hook(request: httpx.Request) -> None:
            self.ranges.append((request.url.path.rsplit("/", 1)[-1], request.headers["range"]))

        async def answered(response: httpx.Response) -> None:
            self.answers.append((response.url.path.rsplit("/", 1)[-1], response.status_code))

        mover = AiohttpTransport() if TRANSPORT["name"] == "aiohttp" else None
        hooks = {"request": [hook], "response": [answered]}
        return httpx.AsyncClient(transport=mover, event_hooks=hooks)

    def starts(self, name: str) -> list[int]:
        return [int(r.split("=")[1].split("-")[0]) for n, r in self.ranges if n == name]

    def statuses(self, name: str) -> list[int]:
        return [status for n, status in self.answers if n == name]


TRANSPORT = {"name": "aiohttp"}


@pytest.fixture(autouse=True, params=["aiohttp", "httpx"])
def transport(request: pytest.FixtureRequest) -> str:
    """Every engine test runs with both byte movers under the httpx client."""
    TRANSPORT["name"] = request.param
    return str(request.param)


def options(**kw: Any) -> EngineOptions:
    kw.setdefault("transport", TRANSPORT["name"])
    kw.setdefault("retry", FAST_RETRY)
    kw.setdefault("stall_timeout", 0.5)
    kw.setdefault("progress_interval", 0.05)
    return EngineOptions(**kw)


# --- plain transfers -----------------------------------------------------------------------


def test_parallel_downloads_byte_exact_with_throttled_events(
    demo_server: DemoServer, tmp_path: Path
) -> None:
    files = {f"f{i}.fits": payload(300_000 + i * 77_777, seed=i) for i in range(5)}
    q = DownloadQueue(limits=ConcurrencyLimits(total=3, per_host=3))
    for name, data in files.items():
        q.add(put(demo_server, name, data), tmp_path / "out", expected_size=len(data))
    counts = {"changed": 0, "state": 0, "ticks": 0}
    q.events.changed.connect(lambda _i: counts.__setitem__("changed", counts["changed"] + 1))
    q.state_changed.connect(lambda *_a: counts.__setitem__("state", counts["state"] + 1))
    q.progressed.connect(lambda _t: counts.__setitem__("ticks", counts["ticks"] + 1))
    run(DownloadEngine(q, options=options()).run_until_idle())
    for name, data in files.items():
        assert (tmp_path / "out" / name).read_bytes() == data
    assert [it.state for it in q] == [S.DONE] * 5
    assert not list((tmp_path / "out").glob("*.part"))
    # progress is only published on ticks (one event per moved item), never per chunk
    assert counts["ticks"] >= 1
    assert counts["changed"] <= counts["state"] + counts["ticks"] * len(q)
    totals = q.totals()
    assert totals.done == 5
    assert totals.bytes_done == totals.bytes_total == sum(map(len, files.values()))


FAULTS = [
    pytest.param(Fault("reset", route="files", at=100_000, times=2), True, id="reset"),
    pytest.param(Fault("truncate", route="files", at=250_000, times=2), True, id="truncate"),
    pytest.param(Fault("http_error", route="files", value=503, times=3), True, id="503"),
    pytest.param(Fault("http_error", route="files", value=500, times=1), False, id="500"),
    pytest.param(
        Fault("stall", route="files", value=float("inf"), at=60_000, times=1), True, id="stall"
    ),
    pytest.param(Fault("wrong_length", route="files", value=5000, times=1), True, id="long+"),
    pytest.param(Fault("wrong_length", route="files", value=-5000, times=1), True, id="short-"),
    pytest.param(
        Fault("wrong_length", route="files", value=-5000, times=1), False, id="short-unlisted"
    ),
]


@pytest.mark.parametrize(("fault", "listed_size"), FAULTS)
def test_byte_exact_under_fault(
    demo_server: DemoServer, tmp_path: Path, fault: Fault, listed_size: bool
) -> None:
    data = payload(1_000_000, seed=7)
    url = put(demo_server, "image.fits", data)
    demo_server.faults.add(fault)
    q = DownloadQueue()
    item = q.add(url, tmp_path, expected_size=len(data) if listed_size else None)
    run(DownloadEngine(q, options=options()).run_until_idle())
    assert item.state is S.DONE, item.error
    assert (tmp_path / "image.fits").read_bytes() == data
    assert demo_server.faults.hits[fault.kind] >= 1
    assert item.attempts >= 2
    assert not item.part_path.exists()


def test_oversized_partial_file_is_discarded(demo_server: DemoServer, tmp_path: Path) -> None:
    data = payload(200_000, 12)
    q = DownloadQueue()
    item = q.add(put(demo_server, "o.fits", data), tmp_path / "out", expected_size=len(data))
    item.part_path.parent.mkdir(parents=True)
    item.part_path.write_bytes(b"x" * (len(data) + 10))  # garbage from somewhere else
    log = RangeLog()

    async def go() -> None:
        async with log.client() as http:
            await DownloadEngine(q, http=http, options=options()).run_until_idle()

    run(go())
    assert item.state is S.DONE, item.error
    assert item.target.read_bytes() == data
    assert log.starts("o.fits") == [0]


def test_empty_file(demo_server: DemoServer, tmp_path: Path) -> None:
    q = DownloadQueue()
    item = q.add(put(demo_server, "empty.txt", b""), tmp_path / "out")
    sized = q.add(put(demo_server, "empty2.txt", b""), tmp_path / "out", expected_size=0)
    run(DownloadEngine(q, options=options()).run_until_idle())
    for it in (item, sized):
        assert it.state is S.DONE, it.error
        assert it.attempts == 1
        assert it.target.read_bytes() == b""


def test_permanent_http_error_fails_without_retry(demo_server: DemoServer, tmp_path: Path) -> None:
    q = DownloadQueue()
    item = q.add(demo_server.base_url + "SUM1/D9/S0/missing.fits", tmp_path)
    (demo_server.data_dir / "SUM1/D9/S0").mkdir(parents=True)
    run(DownloadEngine(q, options=options()).run_until_idle())
    assert item.state is S.FAILED
    assert item.error is not None
    assert "404" in item.error
    assert item.attempts == 1
    assert not item.target.exists()


def test_unreachable_server_is_retried_then_fails(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    q = DownloadQueue()
    item = q.add(f"http://127.0.0.1:{port}/SUM1/x.fits", tmp_path)
    policy = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
    run(DownloadEngine(q, options=options(retry=policy)).run_until_idle())
    assert item.state is S.FAILED
    assert item.error is not None
    assert item.error.startswith("connection error")
    assert item.attempts == 2


def test_gives_up_after_retry_budget(demo_server: DemoServer, tmp_path: Path) -> None:
    url = put(demo_server, "busy.fits", payload(1000))
    demo_server.faults.add(Fault("http_error", route="files", value=503))
    q = DownloadQueue()
    item = q.add(url, tmp_path)
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)
    run(DownloadEngine(q, options=options(retry=policy)).run_until_idle())
    assert item.state is S.FAILED
    assert item.error is not None
    assert "503" in item.error
    assert "gave up after 3 attempts" in item.error
    assert not item.target.exists()


# --- pause / resume / cancel / reorder -----------------------------------------------------


def test_pause_resume_cancel(demo_server: DemoServer, tmp_path: Path) -> None:
    data_a, data_b = payload(2_000_000, 1), payload(2_000_000, 2)
    q = DownloadQueue(limits=ConcurrencyLimits(total=2, per_host=2))
    a = q.add(put(demo_server, "a.fits", data_a), tmp_path / "out", expected_size=len(data_a))
    b = q.add(put(demo_server, "b.fits", data_b), tmp_path / "out", expected_size=len(data_b))
    log = RangeLog()

    async def scenario() -> None:
        async with log.client() as http:
            engine = DownloadEngine(q, http=http, options=options(bandwidth=1_000_000))
            engine.start()
            await until(lambda: a.bytes_done > 100_000 and b.bytes_done > 100_000)
            q.pause(a)
            q.cancel(b)
            await until(lambda: not engine.running)
            assert a.state is S.PAUSED
            paused_at = a.part_path.stat().st_size
            assert 0 < paused_at < len(data_a)
            assert not a.target.exists()
            assert b.state is S.CANCELLED
            assert not b.part_path.exists()
            assert not b.target.exists()
            engine.set_bandwidth(None)
            q.resume(a)
            await until(lambda: a.state is S.DONE)
            assert log.starts("a.fits")[-1] == paused_at - 1  # resumed, one byte of overlap
            await engine.aclose()

    run(scenario())
    assert a.target.read_bytes() == data_a
    assert b.state is S.CANCELLED
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.fits"]


def test_cancel_then_immediate_retry_restarts_cleanly(
    demo_server: DemoServer, tmp_path: Path
) -> None:
    data = payload(1_500_000, 6)
    q = DownloadQueue()
    item = q.add(put(demo_server, "c.fits", data), tmp_path / "out", expected_size=len(data))
    log = RangeLog()

    async def scenario() -> None:
        async with log.client() as http:
            engine = DownloadEngine(q, http=http, options=options(bandwidth=1_000_000))
            engine.start()
            await until(lambda: item.bytes_done > 100_000)
            q.cancel(item)
            q.retry(item)  # before the cancelled transfer has even unwound
            engine.set_bandwidth(None)
            await until(lambda: item.finished)
            await engine.aclose()

    run(scenario())
    assert item.state is S.DONE, item.error
    assert item.target.read_bytes() == data
    assert log.starts("c.fits") == [0, 0]  # cancelled means the partial file is gone
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["c.fits"]


def test_queue_order_is_start_order(demo_server: DemoServer, tmp_path: Path) -> None:
    q = DownloadQueue(limits=ConcurrencyLimits(total=1, per_host=1))
    items = [q.add(put(demo_server, f"{i}.fits", payload(5000, i)), tmp_path) for i in range(4)]
    q.move_item(items[3], 0)
    q.move_item(items[0], 3)
    started: list[str] = []
    q.state_changed.connect(
        lambda it, _old: started.append(it.target.name) if it.state is S.ACTIVE else None
    )
    run(DownloadEngine(q, options=options()).run_until_idle())
    assert started == ["3.fits", "1.fits", "2.fits", "0.fits"]


def test_resume_restarts_when_server_file_changed(demo_server: DemoServer, tmp_path: Path) -> None:
    old, new = payload(1_500_000, 1), payload(1_500_000, 2)
    url = put(demo_server, "x.fits", old)
    q = DownloadQueue()
    item = q.add(url, tmp_path, expected_size=len(old))
    log = RangeLog()

    async def scenario() -> None:
        async with log.client() as http:
            engine = DownloadEngine(q, http=http, options=options(bandwidth=1_000_000))
            engine.start()
            await until(lambda: item.bytes_done > 100_000)
            q.pause(item)
            await until(lambda: not engine.running)
            assert item.etag is not None
            put(demo_server, "x.fits", new)  # same size, new content and ETag
            stat = (demo_server.data_dir / "SUM1/D100/S00000/x.fits").stat()
            os.utime(demo_server.data_dir / "SUM1/D100/S00000/x.fits", (1e9, 1e9))
            assert stat.st_size == len(new)
            engine.set_bandwidth(None)
            q.resume(item)
            await until(lambda: item.finished)
            await engine.aclose()

    run(scenario())
    assert item.state is S.DONE, item.error
    assert item.target.read_bytes() == new
    starts = log.starts("x.fits")
    assert starts[0] == 0
    assert starts[1] > 0  # tried to resume ...
    # ... with If-Range naming the old ETag: the server answered the whole new file (200),
    # which the engine took in place of the partial one, without a third request.
    assert len(starts) == 2
    assert log.statuses("x.fits") == [206, 200]


# --- names, disk errors --------------------------------------------------------------------


def test_hostile_names_stay_inside_folder(demo_server: DemoServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    hostile = ["../../escape.fits", "/etc/passwd", "CON", "a\x00b.fits", "..", ".hidden"]
    q = DownloadQueue()
    datas = []
    for i, name in enumerate(hostile):
        data = payload(1000 + i, i)
        datas.append(data)
        q.add(put(demo_server, f"h{i}.fits", data), out, name=name)
    q.add(put(demo_server, "dup.fits", b"1"), out, name="same.fits")
    q.add(put(demo_server, "dup2.fits", b"2"), out, name="same.fits")
    run(DownloadEngine(q, options=options()).run_until_idle())
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            *("escape.fits", "passwd", "_CON", "a_b.fits", "download", "hidden"),
            *("same.fits", "same (2).fits"),
        ]
    )
    assert {p.name for p in tmp_path.iterdir()} <= {"appdirs", "home", "demo-data-0", "out"}
    for it, data in zip(q, datas, strict=False):
        assert it.target.read_bytes() == data
    assert (out / "same (2).fits").read_bytes() == b"2"


@pytest.mark.parametrize(
    ("err", "message"),
    [(errno.ENOSPC, "disk full"), (errno.EACCES, "permission denied"), (errno.EDQUOT, "quota")],
)
def test_disk_errors_fail_cleanly_and_resume_later(
    demo_server: DemoServer, tmp_path: Path, err: int, message: str
) -> None:
    """``os.write`` is swapped at the OS-call boundary for one that fails like a full disk."""
    data = payload(1_000_000, 3)
    q = DownloadQueue()
    item = q.add(put(demo_server, "big.fits", data), tmp_path, expected_size=len(data))
    written = 0

    def failing_write(fd: int, buf: bytes | memoryview) -> int:
        nonlocal written
        if written >= 300_000:
            raise OSError(err, os.strerror(err))
        n = os.write(fd, buf)
        written += n
        return n

    run(DownloadEngine(q, options=options(), os_write=failing_write).run_until_idle())
    assert item.state is S.FAILED
    assert item.error is not None
    assert message in item.error
    assert item.attempts == 1  # no pointless retries against a full disk
    assert not item.target.exists()  # never a half file under the final name
    assert item.part_path.stat().st_size == written
    # space freed: the user retries and the transfer continues from the partial file
    q.retry(item)
    log = RangeLog()

    async def again() -> None:
        async with log.client() as http:
            await DownloadEngine(q, http=http, options=options()).run_until_idle()

    run(again())
    assert item.state is S.DONE
    assert item.target.read_bytes() == data
    assert log.starts("big.fits") == [written - 1]


def test_unwritable_folder_fails_cleanly(demo_server: DemoServer, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    q = DownloadQueue()
    item = q.add(put(demo_server, "x.fits", b"abc"), tmp_path / "file" / "sub")
    run(DownloadEngine(q, options=options()).run_until_idle())
    assert item.state is S.FAILED
    assert item.error is not None
    assert "file" in item.error
    assert item.attempts == 1


CHILD = """
import asyncio, json, os, resource, signal, sys
from pathlib import Path
from jsocdesk.core.download import *
from jsocdesk.core.paths import AppPaths

mode, out, urls = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
if mode == "fsize":
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
store = QueueStore.in_data_dir(AppPaths.from_environment().data)
q = DownloadQueue(store.load(), limits=ConcurrencyLimits(total=4, per_host=4))
for url, size in urls:
    q.add(url, out, expected_size=size)
store.save(list(q))
for it in q:
    print("start", it.target.name, it.state.value,
          it.part_path.stat().st_size if it.part_path.exists() else 0, flush=True)
opts = EngineOptions(bandwidth=2_000_000 if mode == "slow" else None, save_interval=0.2,
                     retry=RetryPolicy(base_delay=0.01))
asyncio.run(DownloadEngine(q, store=store, options=opts).run_until_idle())
for it in q:
    print("end", it.target.name, it.state.value, it.error, flush=True)
"""


def _child(tmp_path: Path, mode: str, out: Path, urls: list[tuple[str, int]]) -> list[str]:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent(CHILD))
    return [sys.executable, str(script), mode, str(out), json.dumps(urls)]


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    return env


def test_file_size_limit_in_subprocess_fails_cleanly(
    demo_server: DemoServer, tmp_path: Path
) -> None:
    """A real OS limit: RLIMIT_FSIZE makes write(2) fail with EFBIG past 200 kB."""
    data = payload(1_000_000, 5)
    url = put(demo_server, "big.fits", data)
    out = tmp_path / "out"
    res = subprocess.run(
        _child(tmp_path, "fsize", out, [(url, len(data))]),
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    end = [line for line in res.stdout.splitlines() if line.startswith("end")]
    assert end == [
        f"end big.fits failed file too large for this file system or limit: {out}/big.fits.part"
    ]
    assert not (out / "big.fits").exists()
    assert (out / "big.fits.part").stat().st_size == 200_000


def test_sigkill_mid_download_then_resume(demo_server: DemoServer, tmp_path: Path) -> None:
    files = {f"k{i}.fits": payload(3_000_000, 10 + i) for i in range(3)}
    urls = [(put(demo_server, n, d), len(d)) for n, d in files.items()]
    out = tmp_path / "out"
    proc = subprocess.Popen(
        _child(tmp_path, "slow", out, urls),
        env=_child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:

        def parts() -> list[int]:
            return [
                (out / (n + ".part")).stat().st_size if (out / (n + ".part")).exists() else 0
                for n in files
            ]

        async def wait_parts() -> None:
            await until(lambda: all(s > 200_000 for s in parts()) or proc.poll() is not None)

        run(wait_parts())
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    killed_at = {n: (out / (n + ".part")).stat().st_size for n in files}
    assert all(0 < s < 3_000_000 for s in killed_at.values())
    assert not any((out / n).exists() for n in files)

    res = subprocess.run(
        _child(tmp_path, "fast", out, urls),
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    starts = [line.split() for line in res.stdout.splitlines() if line.startswith("start")]
    assert len(starts) == 3  # the same three items, from the store, not new copies
    for _, name, state, size in starts:
        assert state == "queued"
        assert int(size) >= killed_at[name]  # the .part was found and kept
    for name, data in files.items():
        assert (out / name).read_bytes() == data
    assert sorted(p.name for p in out.iterdir()) == sorted(files)


def test_catalog_prevents_refetch(demo_server: DemoServer, tmp_path: Path) -> None:
    data = payload(10_000, 9)
    url = put(demo_server, "c.fits", data)
    catalog = Catalog.in_data_dir(tmp_path / "data")
    q = DownloadQueue(catalog=catalog)
    q.add(url, tmp_path / "a", key="hmi.m_45s[2014.01.01_00:00:45_TAI][2]{magnetogram}")
    run(DownloadEngine(q, options=options()).run_until_idle())
    assert json.loads(catalog.path.read_text())["entries"][0]["size"] == len(data)

    key = "hmi.m_45s[2014.01.01_00:00:45_TAI][2]{magnetogram}"
    same = DownloadQueue(catalog=Catalog.in_data_dir(tmp_path / "data"))
    assert same.add(url, tmp_path / "a", key=key).state is S.DONE  # the same folder: done

    # another folder: the catalogued file is linked (or copied) there, not fetched again
    again = DownloadQueue(catalog=Catalog.in_data_dir(tmp_path / "data"))
    item = again.add(url, tmp_path / "b", key=key)
    assert item.state is S.QUEUED
    assert item.target == tmp_path / "b" / "c.fits"
    log = RangeLog()

    async def go() -> None:
        async with log.client() as http:
            await DownloadEngine(again, http=http, options=options()).run_until_idle()

    run(go())
    assert log.ranges == []
    assert item.state is S.DONE
    assert (tmp_path / "b" / "c.fits").read_bytes() == data
    assert (tmp_path / "a" / "c.fits").read_bytes() == data
    assert not list((tmp_path / "b").glob("*.part"))

    # hard links refused (another file system): copied through a .part file
    os.unlink(tmp_path / "b" / "c.fits")
    third = DownloadQueue(catalog=Catalog.in_data_dir(tmp_path / "data"))
    copied = third.add(url, tmp_path / "c", key=key)

    def no_link(*_a: object, **_k: object) -> None:
        raise OSError(errno.EXDEV, "cross-device link")

    real_link = os.link
    os.link = no_link  # type: ignore[assignment]
    try:
        log.ranges.clear()
        run(_engine_run(third, log))
    finally:
        os.link = real_link
    assert log.ranges == []
    assert copied.state is S.DONE
    assert (tmp_path / "c" / "c.fits").read_bytes() == data
    assert os.stat(tmp_path / "c" / "c.fits").st_ino != os.stat(tmp_path / "a" / "c.fits").st_ino


async def _engine_run(queue: DownloadQueue, log: RangeLog) -> None:
    async with log.client() as http:
        await DownloadEngine(queue, http=http, options=options()).run_until_idle()


def test_checksum_mismatch_is_retried_then_fails(demo_server: DemoServer, tmp_path: Path) -> None:
    data = payload(50_000, 4)
    good = "sha256:" + hashlib.sha256(data).hexdigest()
    q = DownloadQueue()
    ok = q.add(put(demo_server, "ok.fits", data), tmp_path, checksum=good)
    bad = q.add(put(demo_server, "bad.fits", data), tmp_path, checksum="md5:" + "0" * 32)
    policy = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
    run(DownloadEngine(q, options=options(retry=policy)).run_until_idle())
    assert ok.state is S.DONE
    assert bad.state is S.FAILED
    assert bad.error is not None
    assert "checksum mismatch" in bad.error
    assert not bad.target.exists()
    assert not bad.part_path.exists()


def test_soak_200_files_with_random_faults(demo_server: DemoServer, tmp_path: Path) -> None:
    rng = random.Random(2024)
    files = {f"s{i:03d}.fits": rng.randbytes(rng.randint(1, 48_000)) for i in range(200)}
    q = DownloadQueue(limits=ConcurrencyLimits(total=12, per_host=12))
    kinds = ["reset", "truncate", "http_error", "stall", "wrong_length", "latency"]
    faulted = 0
    for name, data in files.items():
        url = put(demo_server, name, data, folder=f"SUM{rng.randint(1, 3)}/D{rng.randint(1, 9)}/S0")
        q.add(url, tmp_path / "soak", expected_size=len(data) if rng.random() < 0.7 else None)
        if rng.random() < 0.4 and len(data) > 10:
            kind = rng.choice(kinds)
            fault = Fault(
                kind,  # type: ignore[arg-type]  # one of the literal kinds
                route="files",
                value={
                    "http_error": rng.choice([500, 502, 503]),
                    "stall": float("inf"),
                    "wrong_length": rng.choice([-7, 9]),
                    "latency": 0.05,
                }.get(kind, 0.0),
                at=rng.randint(1, len(data) - 1),
                times=rng.randint(1, 2),
                match=name,
            )
            demo_server.faults.add(fault)
            faulted += 1
    opts = options(
        stall_timeout=0.3, retry=RetryPolicy(max_attempts=10, base_delay=0.01, max_delay=0.05)
    )
    run(DownloadEngine(q, options=opts).run_until_idle())
    assert faulted > 50
    failed = [(it.target.name, it.error) for it in q if it.state is not S.DONE]
    assert failed == []
    got = {p.name: p.read_bytes() for p in (tmp_path / "soak").iterdir()}
    assert got == files  # every file, byte-exact, nothing lost, no strays or .part left


def test_restart_from_store_marks_renamed_file_done(
    demo_server: DemoServer, tmp_path: Path
) -> None:
    """Killed after the rename but before the queue file said so: no re-download."""
    data = payload(20_000, 8)
    url = put(demo_server, "r.fits", data)
    item = DownloadItem(url, tmp_path / "r.fits", expected_size=len(data))
    item.state = S.ACTIVE
    (tmp_path / "r.fits").write_bytes(data)
    store = QueueStore(tmp_path / "q.json")
    store.save([item])
    q = DownloadQueue(store.load())
    log = RangeLog()

    async def go() -> None:
        async with log.client() as http:
            await DownloadEngine(q, http=http, store=store, options=options()).run_until_idle()

    run(go())
    assert q[0].state is S.DONE
    assert log.ranges == []
    assert QueueStore(tmp_path / "q.json").load()[0].state is S.DONE
