"""Benchmark: UI stalls while 4 large files download at full speed through the Downloads tab.

The real window (MainWindow + workflow) shows the Downloads tab; the four files of the shared
download benchmark server (``_download_common``: a ``serve-demo`` child process, sizes from
``BENCH_FILE_MB``) go through the app's DownloadQueue/engine on the qasync loop, with the tab's
repaint timer, progress delegate and status-bar totals live.  A 2 ms heartbeat ``QTimer`` on
the same loop records how late each tick fires.  Printed: p50/p99/max lateness (and the same
minus the time the thread waited for a CPU, from schedstat, on this shared machine), MB/s.
Goal: p99 ≤ 16 ms, max ≤ 50 ms.  Not part of ``make test`` (``make bench``).

``test_screenshots_mid_transfer`` grabs the Exports and Downloads tabs mid-transfer
(bandwidth-capped so the picture is mid-way) into ``docs/screenshots/`` when
``JSOCDESK_WRITE_SCREENSHOTS=1``, else into a temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from jsocdesk.core.download.engine import EngineOptions
from jsocdesk.core.download.item import DownloadState
from jsocdesk.core.download.queue import ConcurrencyLimits
from tests.bench._download_common import FILE_BYTES, FILES, Served, served
from tests.bench.bench_loop_latency import _run_delay
from tests.gui.conftest import qloop

__all__ = ["qloop", "served"]  # fixtures, re-exported for pytest

HEARTBEAT_MS = 2
REPO = Path(__file__).resolve().parents[2]
DEMO_EMAIL = "demo@example.com"


def _window(qtbot: Any, served: Served, folder: Path) -> tuple[Any, Any, Any]:
    from jsocdesk.gui.context import AppContext
    from jsocdesk.gui.main_window import MainWindow
    from jsocdesk.gui.workflow import Workflow, install_workflow

    ctx = AppContext.create(show_error_dialog=False)
    ctx.settings.email = DEMO_EMAIL
    window = MainWindow(ctx)
    wf = getattr(window, "workflow", None)
    if not isinstance(wf, Workflow):
        wf = install_workflow(window, ctx)
    wf.download_folder = folder
    wf.downloads.limits = ConcurrencyLimits(total=FILES, per_host=FILES)
    wf.engine.options = EngineOptions()
    window.resize(1400, 860)
    window.show()
    qtbot.waitExposed(window)
    ctx.connect(served.base_url)
    return ctx, window, wf


def _close(qtbot: Any, ctx: Any, window: Any, wf: Any) -> None:
    wf.sessions.dirty = False
    window.close()
    for coro in (wf.aclose(), ctx.aclose()):
        task = asyncio.ensure_future(coro)
        qtbot.waitUntil(task.done, timeout=60_000)
    window.deleteLater()


def test_ui_stalls_during_downloads(qtbot: Any, qloop: Any, served: Served) -> None:
    from PySide6.QtCore import QTimer

    out = served.fresh_out("ui")
    ctx, window, wf = _window(qtbot, served, out)
    window.tabs.setCurrentWidget(wf.downloads_tab)

    late: list[float] = []
    own: list[float] = []
    last = [time.perf_counter(), _run_delay()]

    def beat() -> None:
        now, queued = time.perf_counter(), _run_delay()
        lateness = max(0.0, (now - last[0]) * 1000 - HEARTBEAT_MS)
        late.append(lateness)
        own.append(max(0.0, lateness - (queued - last[1]) * 1000))
        last[0], last[1] = now, queued

    heart = QTimer()
    heart.setTimerType(heart.timerType().PreciseTimer)
    heart.setInterval(HEARTBEAT_MS)
    heart.timeout.connect(beat)
    t0 = time.perf_counter()
    for url in served.urls:
        wf.downloads.add(url, out, expected_size=served.size)
    wf.ensure_engine()
    heart.start()
    qtbot.waitUntil(
        lambda: all(it.state is DownloadState.DONE for it in wf.downloads), timeout=1_800_000
    )
    elapsed = time.perf_counter() - t0
    heart.stop()
    served.check(out)
    totals = wf.downloads_tab.totals_label.text()
    a, b = np.array(late), np.array(own)
    mb = FILES * FILE_BYTES / 1e6
    print(
        f"\nDownloads tab, {FILES} x {FILE_BYTES / 2**20:.0f} MiB at full speed: "
        f"{mb / elapsed:.0f} MB/s ({elapsed:.1f} s); heartbeat {HEARTBEAT_MS} ms, {len(a)} ticks; "
        f"lateness p50 {np.percentile(a, 50):.1f} ms, p99 {np.percentile(a, 99):.1f} ms, "
        f"max {a.max():.1f} ms; without CPU run-queue wait: p50 {np.percentile(b, 50):.1f} ms, "
        f"p99 {np.percentile(b, 99):.1f} ms, max {b.max():.1f} ms "
        f"(goal p99 <= 16 ms, max <= 50 ms); status bar: {totals!r}"
    )
    _close(qtbot, ctx, window, wf)


def test_screenshots_mid_transfer(qtbot: Any, qloop: Any, served: Served, tmp_path: Path) -> None:
    import astropy.units as u

    from jsocdesk.core.jsoc.export import PollPolicy
    from jsocdesk.core.query.tree import And, Or, Sample, Series, Time

    target = (
        REPO / "docs" / "screenshots"
        if os.environ.get("JSOCDESK_WRITE_SCREENSHOTS") == "1"
        else tmp_path
    )
    target.mkdir(parents=True, exist_ok=True)
    out = served.fresh_out("shots")
    ctx, window, wf = _window(qtbot, served, out)
    wf.exports.policy = PollPolicy(first=0.2, cap=1.0)
    # the seed query: two branches, so one export waits for the other (one per e-mail)
    window.query_panel.tree.set_root(
        Or(
            And(
                Series("hmi.v_45s"),
                Time("2014-01-01T00:00:00", "2014-01-01T01:00:00"),
                Sample(10 * u.min),
            ),
            And(Series("hmi.m_45s"), Time("2014-01-01T00:00:00", "2014-01-01T00:05:00")),
        )
    )
    tab = wf.exports_tab
    with qtbot.waitSignal(tab.plan_ready, timeout=60_000):
        window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.email_registered is True, timeout=60_000)
    jobs = tab.submit()
    qtbot.waitUntil(lambda: jobs[0].state.finished, timeout=120_000)
    # the big files, capped so they are mid-way when the pictures are taken
    wf.engine.set_bandwidth(min(FILE_BYTES, 64 * 2**20) / 4.0)
    for url in served.urls:
        wf.downloads.add(url, out, expected_size=served.size)
    qtbot.waitUntil(
        lambda: (
            sum(it.bytes_done for it in wf.downloads) > 0.3 * FILES * FILE_BYTES
            or all(it.state is DownloadState.DONE for it in wf.downloads)
        ),
        timeout=600_000,
    )
    window.tabs.setCurrentWidget(tab)
    tab.jobs_view.resizeColumnToContents(3)
    qtbot.wait(400)
    window.grab().save(str(target / "exports-tab.png"))
    window.tabs.setCurrentWidget(wf.downloads_tab)
    qtbot.wait(700)  # two repaint ticks
    window.grab().save(str(target / "downloads-tab.png"))
    print(f"\nscreenshots written to {target}")
    # let them finish: cancelling a throttled transfer leaves an httpx stream iterator to the
    # garbage collector (engine issue, reported), which pytest turns into an error
    wf.engine.set_bandwidth(None)
    qtbot.waitUntil(
        lambda: all(it.state is DownloadState.DONE for it in wf.downloads), timeout=600_000
    )
    served.check(out)
    _close(qtbot, ctx, window, wf)
