"""A demo session saved mid-download resumes in a really restarted app process.

The first run is a window of this test process on the app's own demo server (a child
process on the persistent demo data directory, with one transfer stalling at 100 kB); the
session is saved mid-download and the window is closed with transfers running (no error may
surface).  The second run is ``python -m jsocdesk --demo SESSION.json``: a new process whose
demo server listens on another port.  The session says "demo", so its URLs follow the demo
to the new port; the stalled file resumes from its partial file (proved by the server's copy
changing its first bytes meanwhile, validators kept) and everything ends byte-exact.  SIGTERM
then quits the app cleanly: exit status 0 and no traceback in its log.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import astropy.units as u

from jsocdesk.core.download.engine import EngineOptions
from jsocdesk.core.download.item import DownloadState
from jsocdesk.core.jsoc.export import JobState, PollPolicy
from jsocdesk.core.query.tree import And, Sample, Series, Time
from jsocdesk.core.workflow import ServerIdentity
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.main_window import MainWindow
from jsocdesk.logsetup import log_file_path
from tests.demo_server import DEMO_EMAIL
from tests.gui.conftest import close_app, wait_task

S = DownloadState
REPO = Path(__file__).resolve().parents[2]
SEED = And(
    Series("hmi.v_45s"),
    Time("2014-01-01T00:00:00", "2014-01-01T01:00:00"),
    Sample(10 * u.min),
)
DEMO_ARGS = ["--segment-bytes", "300000", "--fault", "files:stall=inf@100000x1"]


def test_demo_session_resumes_after_a_real_restart(
    qtbot: Any, qloop: Any, tmp_path: Path, caplog: Any
) -> None:
    folder = tmp_path / "downloads"
    session = tmp_path / "mid-download.json"

    # --- first run: a window on the app's demo server; saved and closed mid-download
    ctx = AppContext.create(show_error_dialog=False)
    ctx.settings.email = DEMO_EMAIL
    w = MainWindow(ctx)
    w.workflow.exports.policy = PollPolicy(first=0.05, factor=1.5, cap=0.3, jitter=0.0)
    # a stall is not given up on during this test (the second run resumes it)
    w.workflow.engine.options = EngineOptions(
        fsync=False, progress_interval=0.05, stall_timeout=300.0
    )
    w.show()
    first_url = wait_task(qtbot, asyncio.ensure_future(ctx.start_demo(DEMO_ARGS)), 60_000)
    assert ctx.server == ServerIdentity.demo()
    w.workflow.set_download_folder(folder)
    w.query_panel.tree.set_root(SEED)
    with qtbot.waitSignal(w.exports_tab.plan_ready, timeout=30_000):
        w.tabs.setCurrentWidget(w.exports_tab)
    qtbot.waitUntil(lambda: w.exports_tab.email_registered is True, timeout=20_000)
    (job,) = w.exports_tab.submit()
    qtbot.waitUntil(lambda: job.state is JobState.DONE, timeout=30_000)
    items = w.workflow.downloads
    qtbot.waitUntil(lambda: len(items) == 7, timeout=10_000)

    def stalled() -> Any:
        rest = [it for it in items if it.state is not S.DONE]
        return rest[0] if len(rest) == 1 and rest[0].bytes_done >= 100_000 else None

    qtbot.waitUntil(lambda: stalled() is not None, timeout=30_000)
    partial = stalled()
    assert w.sessions.save_to(session)
    caplog.clear()
    close_app(qtbot, w, ctx)  # quits with a transfer running
    assert not ctx.sink.reports
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert partial.part_path.stat().st_size == 100_000
    assert not partial.target.exists()
    served = ctx.paths.demo_data / urlsplit(partial.url).path.lstrip("/")
    original = served.read_bytes()
    # the server's copy changes its first bytes (same size and time: same validators): a
    # resumed transfer keeps the 100 kB it has, a restarted one would fetch the new bytes
    st = served.stat()
    with open(served, "r+b") as fh:
        fh.write(b"X" * 16)
    os.utime(served, ns=(st.st_atime_ns, st.st_mtime_ns))

    # --- second run: a new app process in demo mode (a new demo port) opens the session
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "jsocdesk", "--demo", str(session)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            if partial.target.exists() and not partial.part_path.exists():
                break
            time.sleep(0.2)
        assert partial.target.exists(), "the partial download did not finish"
        assert partial.target.read_bytes() == original  # resumed from its partial file
        for it in items:
            if it is not partial:
                copy = ctx.paths.demo_data / urlsplit(it.url).path.lstrip("/")
                assert it.target.read_bytes() == copy.read_bytes()
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)  # quits like File → Quit
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr.decode(errors="replace")
    log = log_file_path(ctx.paths).read_text(errors="replace")
    second = log[log.rindex("started") :]
    for bad in ("Traceback", "Unclosed", "RuntimeError", "ERROR"):
        assert bad not in second, second[-3000:]
    assert first_url  # the first run's demo port is gone; the session did not need it
