"""Coverage timeline benchmark (``make bench``; numbers are printed, nothing is asserted on
time).

A million AIA records (``aia.lev1_euv_12s``, 20 days) listed as ``T_REC``/``QUALITY`` through
the fast path and drawn in the main window's coverage timeline, against the demo server in a
child process.  A 2 ms heartbeat QTimer records how late each tick fires while the listing
loads and the timeline redraws after every page.  Then the same 1M-record coverage is
re-binned and redrawn from memory (zoom), and drms lists the same two keywords of the same
records (the peer: what a script would do to get them).

Goals: listed and drawn in <= 2 s; UI stalls p99 <= 16 ms, max <= 50 ms.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from tests.gui.conftest import qloop  # noqa: F401  (the qasync loop fixture, by name)

ROWS_QUERY = "aia.lev1_euv_12s[2014.01.01_00:00:00_TAI/20d]"
HEARTBEAT_MS = 2
TARGET_ROWS = 1_000_000


@pytest.fixture
def demo_url(tmp_path: Any) -> Iterator[str]:
    args = ["--port", "0", "--data-dir", str(tmp_path / "demo"), "--exit-on-stdin-eof"]
    with subprocess.Popen(
        [sys.executable, "-m", "jsocdesk", "serve-demo", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdin is not None
        url = proc.stdout.readline().strip()
        try:
            yield url
        finally:
            proc.stdin.close()
            proc.wait(timeout=30)
            proc.stdout.close()


def _stats(lateness: list[float]) -> str:
    arr = np.array(lateness or [0.0])
    return (
        f"{len(arr)} ticks, lateness p50 {np.percentile(arr, 50):.1f} ms, "
        f"p99 {np.percentile(arr, 99):.1f} ms, max {arr.max():.1f} ms"
    )


def test_coverage_of_1m_records(qtbot: Any, request: pytest.FixtureRequest, demo_url: str) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtTest import QTest

    from jsocdesk.core import drmstime
    from jsocdesk.gui.context import AppContext
    from jsocdesk.gui.main_window import MainWindow

    loop = request.getfixturevalue("qloop")
    ctx = AppContext.create(show_error_dialog=False)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    client = ctx.connect(demo_url)
    info_task = loop.create_task(client.series_info("aia.lev1_euv_12s"))
    qtbot.waitUntil(info_task.done, timeout=30_000)
    info = info_task.result()
    timeline = window.coverage
    start = drmstime.parse_time_seconds("2014.01.01_00:00:00_TAI")
    span = (start, start + 20 * 86400)

    lateness: list[float] = []
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, (now - last[0]) * 1000 - HEARTBEAT_MS))
        last[0] = now

    heart = QTimer()
    heart.setInterval(HEARTBEAT_MS)
    heart.timeout.connect(beat)
    heart.start()
    handler_ms: list[float] = []
    original_on_page = timeline._on_page

    def timed_on_page(*args: Any) -> None:
        h0 = time.perf_counter()
        original_on_page(*args)
        handler_ms.append((time.perf_counter() - h0) * 1000)

    timeline._on_page = timed_on_page  # type: ignore[method-assign]
    drawn: list[float] = []
    timeline.drawn.connect(lambda _c: drawn.append(time.perf_counter()))
    t0 = time.perf_counter()
    task = timeline.load(ROWS_QUERY, info, span)
    assert task is not None
    qtbot.waitUntil(task.done, timeout=600_000)
    listing = task.result()
    qtbot.wait(50)
    elapsed = drawn[-1] - t0
    load_stalls = _stats(lateness)
    n = len(listing.times)
    assert n >= TARGET_ROWS
    assert timeline.coverage is not None
    assert timeline.coverage.total == n

    # zoom in and out: re-bin and redraw 1M records from memory
    lateness.clear()
    vb = timeline.view_box
    redraws: list[float] = []
    full = vb.viewRange()[0]
    for k in range(10):
        lo, hi = full
        f = 0.05 * (k + 1)
        vb.setXRange(lo + (hi - lo) * f, hi - (hi - lo) * f, padding=0)
        r0 = time.perf_counter()
        timeline.rebin_visible()
        QTest.qWait(1)
        redraws.append((time.perf_counter() - r0) * 1000)
    zoom_stalls = _stats(lateness)
    heart.stop()

    # a fresh timeline draws the whole 1M-record listing from memory (first paint)
    from jsocdesk.gui.coverage import CoverageTimeline

    fresh = CoverageTimeline(ctx)
    qtbot.addWidget(fresh)
    fresh.resize(1200, 200)
    fresh.show()
    f0 = time.perf_counter()
    fresh.set_listing(listing, span)
    fresh.repaint()
    first_draw_ms = (time.perf_counter() - f0) * 1000
    b0 = time.perf_counter()
    for _ in range(100):
        listing.coverage(span[0] + 3600, span[1] - 3600)
    rebin_us = (time.perf_counter() - b0) * 1e4

    # peer 1: the same listing through the same fast path, no timeline (what loading costs)
    from jsocdesk.core.results.resultset import ResultSet

    lateness.clear()
    heart.start()
    rs = ResultSet(client, ROWS_QUERY, ["T_REC", "QUALITY"], page_size=50_000, series=info)
    p0 = time.perf_counter()
    peer = loop.create_task(rs.fetch_all())
    qtbot.waitUntil(peer.done, timeout=600_000)
    plain_s = time.perf_counter() - p0
    heart.stop()
    plain_stalls = _stats(lateness)

    # the keyword plot of the same 1M rows (QUALITY against T_REC), downsampled
    from jsocdesk.gui.keyword_plot import KeywordPlot

    kplot = KeywordPlot()
    qtbot.addWidget(kplot)
    kplot.resize(1200, 500)
    kplot.show()
    k0 = time.perf_counter()
    kplot.set_result_set(rs)
    points = kplot.redraw(reset_range=True)
    kplot.repaint()
    plot_ms = (time.perf_counter() - k0) * 1000
    kplot.detach()

    # peer 2: drms lists the same two keywords of the same records
    import drms

    from tests.demo_server import drms_server_config

    d0 = time.perf_counter()
    frame = drms.Client(drms_server_config(demo_url)).query(ROWS_QUERY, key="T_REC,QUALITY")
    drms_s = time.perf_counter() - d0
    assert len(frame) == n
    print(
        f"\ncoverage of {n:,} records: listed and drawn in {elapsed:.2f} s "
        f"({n / elapsed:,.0f} records/s, {len(drawn)} redraws while loading); per-page bin+draw "
        f"median {np.median(handler_ms):.1f} ms, max {max(handler_ms):.1f} ms; "
        f"UI while loading: {load_stalls}"
        f"\n  peer, the same listing without the timeline: {plain_s:.2f} s "
        f"(timeline/peer {elapsed / plain_s:.2f}x), UI {plain_stalls}"
        f"\n  peer, drms.Client.query(T_REC,QUALITY): {drms_s:.2f} s "
        f"(timeline/drms {elapsed / drms_s:.2f}x)"
        f"\n  drawing 1M from memory: first draw {first_draw_ms:.0f} ms (goal <= 2 s); re-bin "
        f"{rebin_us:.0f} us; zoom re-bin+redraw median {np.median(redraws):.1f} ms, max "
        f"{max(redraws):.1f} ms, UI {zoom_stalls}"
        f"\n  keyword plot of {rs.loaded:,} rows (QUALITY vs T_REC): {points:,} points drawn "
        f"in {plot_ms:.0f} ms"
        f"\n  goals: UI stalls p99 <= 16 ms, max <= 50 ms"
    )
    window.close()
    closing = asyncio.ensure_future(ctx.aclose())
    qtbot.waitUntil(closing.done, timeout=30_000)
    assert not ctx.sink.reports, [r.details for r in ctx.sink.reports]
