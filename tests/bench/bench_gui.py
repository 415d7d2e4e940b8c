"""GUI benchmarks (``make bench``; numbers are printed, nothing is asserted on time).

1. **Cold start to usable**, under a private Xvfb: ``jsocdesk --measure-startup --demo``
   (the real ``main()``: demo server child process, QApplication, qasync loop, window, the
   demo's series list) against a bare ``QMainWindow`` started the same way, each in a fresh
   child process, several runs; prints medians and ratios for the first paint, "usable"
   (series list shown, demo connected; goal ≤ 1.5 s) and "ready" (every panel built).
2. **UI stalls while a 1M-row result loads and a count is in flight**: the main window
   against the demo server; a 2 ms heartbeat QTimer records how late each tick fires while
   the results table pulls pages until a million rows are loaded and the live count of a
   second query runs.  Prints p50 / p99 / max lateness.  Goal: p99 ≤ 16 ms, max ≤ 50 ms.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from tests.gui.conftest import qasync_loop, qloop  # noqa: F401  (the qasync loop fixtures, by name)

BARE_WINDOW = r"""
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
w = QMainWindow()
w.resize(1280, 800)
class F(QObject):
    seen = False
    def eventFilter(self, o, e):
        if e.type() == QEvent.Type.Paint and not self.seen:
            self.seen = True
            print("first-paint", flush=True)
            QTimer.singleShot(0, app.quit)
        return False
f = F(w)
w.installEventFilter(f)
w.show()
app.exec()
"""

RUNS = 5
#: the issue-15 goal: series list shown and the demo connected this soon after launch
USABLE_GOAL_S = 1.5


@pytest.fixture(scope="module")
def x_display() -> Iterator[dict[str, str]]:
    """A real X server for the start-up runs: a private Xvfb (``-displayfd`` picks a free
    display number); without Xvfb, the offscreen platform (and the printout says so)."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        yield {"QT_QPA_PLATFORM": "offscreen", "_label": "offscreen (no Xvfb)"}
        return
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        number = f.readline().strip()
    try:
        yield {"DISPLAY": f":{number}", "QT_QPA_PLATFORM": "xcb", "_label": f"Xvfb :{number}"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _times_to_lines(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Seconds from spawning ``cmd`` to each marker line it prints."""
    t0 = time.perf_counter()
    seen: dict[str, float] = {}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            marker = line.strip().decode()
            if marker in ("first-paint", "usable", "ready") and marker not in seen:
                seen[marker] = time.perf_counter() - t0
        proc.wait(timeout=60)
    if "first-paint" not in seen:
        raise AssertionError(f"{cmd} never painted")
    return seen


def test_cold_start_to_usable(tmp_path: Any, x_display: dict[str, str]) -> None:
    """``jsocdesk --demo`` (the real ``main()``: demo server child process, window, series
    list) against a bare ``QMainWindow``, alternated in the same run on the same X server.

    * first paint: the window frame;
    * usable: the demo server connected and its series list shown in the browser;
    * ready: the query builder, results, Exports and Downloads built too.
    """
    env = dict(os.environ)
    env.update({k: v for k, v in x_display.items() if not k.startswith("_")})
    for name in ("CONFIG", "DATA", "CACHE", "LOG"):
        env[f"JSOCDESK_{name}_DIR"] = str(tmp_path / name.lower())
    app_cmd = [sys.executable, "-m", "jsocdesk", "--measure-startup", "--demo"]
    bare_cmd = [sys.executable, "-c", BARE_WINDOW]
    # warm the OS file cache once for both (and the demo server's data folder), then alternate
    _times_to_lines(app_cmd, env)
    _times_to_lines(bare_cmd, env)
    paint, usable, ready, bare = [], [], [], []
    for _ in range(RUNS):
        t = _times_to_lines(app_cmd, env)
        paint.append(t["first-paint"])
        usable.append(t["usable"])
        ready.append(t["ready"])
        bare.append(_times_to_lines(bare_cmd, env)["first-paint"])
    p, u, r, b = (statistics.median(x) for x in (paint, usable, ready, bare))
    print(
        f"\ncold start on {x_display['_label']} (median of {RUNS}): bare QMainWindow first "
        f"paint {b * 1000:.0f} ms; jsocdesk --demo: first paint {p * 1000:.0f} ms "
        f"({p / b:.2f}x), usable {u * 1000:.0f} ms ({u / b:.2f}x; series list shown, demo "
        f"connected; goal <= {USABLE_GOAL_S * 1000:.0f} ms), query builder, results and "
        f"workflow built {r * 1000:.0f} ms ({r / b:.2f}x); usable runs "
        f"{', '.join(f'{x * 1000:.0f}' for x in usable)} ms"
    )


ROWS_QUERY = "aia.lev1_euv_12s[2014.01.01_00:00:00_TAI/20d]"
COUNT_QUERY = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"
TARGET_ROWS = 1_000_000
HEARTBEAT_MS = 2


@pytest.fixture
def demo_process(tmp_path: Any) -> Iterator[str]:
    """The demo server as a child process, as ``jsocdesk --demo`` runs it (so its work does
    not compete with the UI for this process' GIL)."""
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jsocdesk",
            "serve-demo",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "demo"),
            "--exit-on-stdin-eof",
        ],
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


def test_ui_stalls_while_loading_1m_rows(
    qtbot: Any, request: pytest.FixtureRequest, demo_process: str
) -> None:
    from PySide6.QtCore import QTimer

    from jsocdesk.core.results.resultset import ResultSet
    from jsocdesk.gui.context import AppContext
    from jsocdesk.gui.main_window import MainWindow

    loop = request.getfixturevalue("qloop")
    ctx = AppContext.create(show_error_dialog=False)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    client = ctx.connect(demo_process)
    info_task = loop.create_task(client.series_info("aia.lev1_euv_12s"))
    qtbot.waitUntil(info_task.done, timeout=30_000)
    info = info_task.result()
    rs = ResultSet(
        client, ROWS_QUERY, ["T_REC", "WAVELNTH", "T_OBS", "QUALITY"], page_size=50_000, series=info
    )
    model = window.results_tab.show_result_set(rs, info)

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
    t0 = time.perf_counter()
    count_task = loop.create_task(rs.fetch_count())
    qtbot.waitUntil(count_task.done, timeout=60_000)
    # a live count of another query runs while the rows load
    window.query_panel.set_record_set_text(COUNT_QUERY)
    counts_done = []
    window.query_panel.count_updated.connect(lambda n, _b: counts_done.append(n))
    view = window.results_tab.view

    def pump() -> bool:
        if model.canFetchMore():
            model.fetchMore()
        view.scrollToBottom()
        return rs.at_end and not model.fetching

    qtbot.waitUntil(pump, timeout=600_000)
    elapsed = time.perf_counter() - t0
    qtbot.waitUntil(lambda: bool(counts_done), timeout=60_000)
    heart.stop()
    arr = np.array(lateness)
    print(
        f"\nUI stalls while loading {rs.loaded:,} rows ({elapsed:.1f} s, "
        f"{rs.loaded / elapsed:,.0f} rows/s) with a count in flight: heartbeat {HEARTBEAT_MS} ms, "
        f"{len(arr)} ticks, lateness p50 {np.percentile(arr, 50):.1f} ms, "
        f"p99 {np.percentile(arr, 99):.1f} ms, max {arr.max():.1f} ms "
        f"(goal p99 <= 16 ms, max <= 50 ms); result memory {rs.nbytes / 1e6:.0f} MB; "
        f"count {counts_done[0]}"
    )
    assert rs.loaded == rs.total
    assert rs.loaded >= TARGET_ROWS
    window.close()
    closing = asyncio.ensure_future(ctx.aclose())
    qtbot.waitUntil(closing.done, timeout=30_000)
    assert not ctx.sink.reports, [r.details for r in ctx.sink.reports]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-s", "-q"]))
