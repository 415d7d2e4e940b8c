"""Benchmark: how much do 4 × 256 MB transfers delay other work on the same event loop?

A heartbeat task sleeps 5 ms in a loop on the same event loop as the transfers and records
how late each wake-up is (the *stall*).  Run on plain asyncio and on a qasync ``QEventLoop``
(offscreen Qt, the loop the app uses), with the jsocdesk engine as shipped (aiohttp
transport, thread writes, fsync), with httpx's own transport, without fsync, with inline
writes, and with parfive for comparison.  Prints
p50/p99/max stall in ms and MB/s.
Goal for jsocdesk: p99 ≤ 16 ms (one 60 Hz frame), max ≤ 50 ms.  ``make bench`` only.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.bench._download_common import (
    FILE_BYTES,
    FILES,
    REPEAT,
    Served,
    jsocdesk_download,
    parfive_download,
    served,
)

__all__ = ["served"]  # the fixture, re-exported for pytest

PERIOD = 0.005
#: (stalls, own stalls, elapsed seconds, position of the worst own stall in 0..1)
Beats = tuple[list[float], list[float], float, float]


def _run_delay() -> float:
    """Seconds this thread has spent runnable but waiting for a CPU (Linux schedstat)."""
    try:
        with open("/proc/thread-self/schedstat") as fh:
            return int(fh.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


async def _with_heartbeat(work: Awaitable[None]) -> Beats:
    """Run ``work`` with a 5 ms heartbeat; returns :data:`Beats`.

    A *stall* is how late a wake-up is.  On a shared machine part of it is time the loop
    thread was ready but the kernel ran someone else (run-queue wait, from schedstat); the
    *own* stall subtracts that, leaving what the loop itself was busy or blocked with.
    """
    stalls: list[float] = []
    own: list[float] = []
    stamps: list[float] = []
    stop = asyncio.Event()

    async def heartbeat() -> None:
        while not stop.is_set():
            t0, q0 = time.perf_counter(), _run_delay()
            await asyncio.sleep(PERIOD)
            late = max(0.0, time.perf_counter() - t0 - PERIOD)
            stalls.append(late)
            own.append(max(0.0, late - (_run_delay() - q0)))
            stamps.append(time.perf_counter())

    beat = asyncio.get_running_loop().create_task(heartbeat())
    await asyncio.sleep(0.05)  # let the heartbeat settle
    stalls.clear()
    own.clear()
    stamps.clear()
    t0 = time.perf_counter()
    try:
        await work
    finally:
        elapsed = time.perf_counter() - t0
        stop.set()
        await beat
    worst = max(range(len(own)), key=own.__getitem__) if own else 0
    where = (stamps[worst] - t0) / elapsed if stamps else 0.0
    return stalls, own, elapsed, where


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _run_asyncio(
    make: Callable[[], Awaitable[None]],
) -> Beats:
    async def main() -> Beats:
        return await _with_heartbeat(make())

    return asyncio.run(main())


def _run_qasync(
    make: Callable[[], Awaitable[None]],
) -> Beats:
    from PySide6.QtWidgets import QApplication

    # qasync binds to the Qt binding already imported, so it must come after PySide6
    # (an import statement would be re-sorted before it by the import sorter)
    qasync = importlib.import_module("qasync")

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    try:

        async def main() -> Beats:
            return await _with_heartbeat(make())

        return loop.run_until_complete(main())
    finally:
        loop.close()


@pytest.mark.timeout(1800)
def test_loop_latency_during_transfers(served: Served) -> None:
    total_mb = FILES * FILE_BYTES / 1e6

    def out(label: str) -> Path:
        return served.fresh_out(label)

    clients: dict[str, Callable[[], Awaitable[None]]] = {
        "jsocdesk (shipped)": lambda: jsocdesk_download(served, out("lat-js")),
        "jsocdesk (httpx transport)": lambda: jsocdesk_download(
            served, out("lat-js"), transport="httpx"
        ),
        "jsocdesk (no fsync)": lambda: jsocdesk_download(served, out("lat-js"), fsync=False),
        "jsocdesk (inline writes)": lambda: jsocdesk_download(
            served, out("lat-js"), write_mode="inline"
        ),
        "parfive (1 conn/file)": lambda: parfive_download(served, out("lat-pf")),
    }
    rows = []
    for _ in range(REPEAT):
        for loop_name, runner in (("asyncio", _run_asyncio), ("qasync", _run_qasync)):
            for label, make in clients.items():
                load = os.getloadavg()[0]
                stalls, own, elapsed, where = runner(make)
                rows.append((loop_name, label, load, stalls, own, total_mb / elapsed, where))
    print(
        f"\n== loop latency: 5 ms heartbeat during {FILES} × {FILE_BYTES // 2**20} MiB "
        f"({os.cpu_count()} CPUs, shared)"
    )
    print("stall = lateness of a 5 ms sleep; own = stall minus run-queue wait (schedstat);")
    print("'at' = when the worst own stall happened, in % of the transfer time")
    print(
        f"{'loop':8s} {'client':26s} {'load':>5s} {'beats':>6s} {'p50':>6s} {'p99':>6s} "
        f"{'max':>7s} | {'own p99':>7s} {'own max':>7s} {'at':>4s} {'MB/s':>6s}"
    )
    for loop_name, label, load, stalls, own, mbs, where in rows:
        ms = [x * 1000 for x in stalls]
        oms = [x * 1000 for x in own]
        print(
            f"{loop_name:8s} {label:26s} {load:5.1f} {len(ms):6d} {statistics.median(ms):6.2f} "
            f"{_percentile(ms, 0.99):6.2f} {max(ms):7.2f} | {_percentile(oms, 0.99):7.2f} "
            f"{max(oms):7.2f} {100 * where:3.0f}% {mbs:6.0f}"
        )
