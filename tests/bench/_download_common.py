"""Shared set-up of the download benchmarks: a demo server child process with big files.

The server runs in its own process (``jsocdesk serve-demo``) so that it competes with no
client for the GIL; every client (jsocdesk, parfive, curl) downloads the same files from it
in the same run.  Environment: ``BENCH_FILES`` (default 4), ``BENCH_FILE_MB`` (default 256),
``BENCH_REPEAT`` (default 2).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

FILES = int(os.environ.get("BENCH_FILES", "4"))
FILE_MB = int(os.environ.get("BENCH_FILE_MB", "256"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "2"))
FILE_BYTES = FILE_MB * 1024 * 1024
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Served:
    base_url: str
    urls: list[str]
    names: list[str]
    size: int
    work: Path

    def fresh_out(self, label: str) -> Path:
        out = self.work / f"out-{label}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        return out

    def check(self, out: Path) -> None:
        for name in self.names:
            got = (out / name).stat().st_size
            if got != self.size:
                raise AssertionError(f"{name}: {got} bytes, expected {self.size}")


def _write_random(path: Path, size: int, seed: int) -> None:
    block = os.urandom(8 * 1024 * 1024)
    with open(path, "wb") as fh:
        left = size
        i = 0
        while left > 0:
            piece = block[: min(len(block), left)]
            fh.write(seed.to_bytes(4, "little") + i.to_bytes(4, "little") + piece[8:])
            left -= len(piece)
            i += 1


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    work = tmp_path_factory.mktemp("bench-download")
    data = work / "server"
    folder = data / "SUM7" / "D4242" / "S00000"
    folder.mkdir(parents=True)
    names = [f"bench{i}.fits" for i in range(FILES)]
    for i, name in enumerate(names):
        _write_random(folder / name, FILE_BYTES, i)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jsocdesk",
            "serve-demo",
            "--port",
            "0",
            "--data-dir",
            str(data),
            "--exit-on-stdin-eof",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:"), base
        if not base.endswith("/"):
            base += "/"
        urls = [f"{base}SUM7/D4242/S00000/{n}" for n in names]
        yield Served(base, urls, names, FILE_BYTES, work)
    finally:
        if proc.stdin:
            proc.stdin.close()  # --exit-on-stdin-eof: the server stops by itself
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=15)
        if proc.stdout:
            proc.stdout.close()
        shutil.rmtree(work, ignore_errors=True)


async def jsocdesk_download(
    served: Served,
    out: Path,
    *,
    write_mode: str = "thread",
    fsync: bool = True,
    transport: str = "aiohttp",
) -> None:
    from jsocdesk.core.download import (
        ConcurrencyLimits,
        DownloadEngine,
        DownloadQueue,
        DownloadState,
        EngineOptions,
    )

    n = len(served.urls)
    q = DownloadQueue(limits=ConcurrencyLimits(total=n, per_host=n))
    for url in served.urls:
        q.add(url, out, expected_size=served.size)
    opts = EngineOptions(
        write_mode=write_mode,  # type: ignore[arg-type]
        fsync=fsync,
        transport=transport,  # type: ignore[arg-type]
    )
    await DownloadEngine(q, options=opts).run_until_idle()
    bad = [it for it in q if it.state is not DownloadState.DONE]
    if bad:
        raise AssertionError(f"not done: {bad}")


async def parfive_download(served: Served, out: Path, *, max_splits: int = 1) -> None:
    import parfive

    dl = parfive.Downloader(max_conn=len(served.urls), max_splits=max_splits, progress=False)
    for url in served.urls:
        dl.enqueue_file(url, path=out)
    res = await dl.run_download()
    if res.errors:
        raise AssertionError(f"parfive errors: {res.errors}")


async def aiohttp_download(served: Served, out: Path) -> None:
    """Reference: the same transfers as a bare aiohttp loop (no resume, no verification),
    writes of ~1 MiB on a worker thread — to tell the HTTP client's cost from the engine's."""
    import aiohttp

    async def one(session: aiohttp.ClientSession, url: str, path: Path) -> None:
        async with session.get(url) as resp:
            resp.raise_for_status()
            fh = await asyncio.to_thread(path.open, "wb")
            try:
                async for chunk in resp.content.iter_chunked(1 << 20):
                    await asyncio.to_thread(fh.write, chunk)
            finally:
                await asyncio.to_thread(fh.close)

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(
            *(one(session, u, out / n) for u, n in zip(served.urls, served.names, strict=True))
        )


def curl_download(served: Served, out: Path) -> None:
    args = [
        "curl",
        "-sS",
        "--no-progress-meter",
        "--fail",
        "--parallel",
        "--parallel-max",
        str(len(served.urls)),
    ]
    for url, name in zip(served.urls, served.names, strict=True):
        args += ["-o", str(out / name), url]
    subprocess.run(args, check=True)


def timed(fn: object, *args: object, **kw: object) -> float:
    t0 = time.perf_counter()
    result = fn(*args, **kw)  # type: ignore[operator]
    if asyncio.iscoroutine(result):
        asyncio.run(result)
    return time.perf_counter() - t0
