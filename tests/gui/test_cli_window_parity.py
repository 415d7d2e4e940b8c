"""The same sessions through the window and through the CLI: the same plan (record sets,
counts, methods and reasons), the same size estimates (the count label's too), the same local
names and the same downloaded bytes — one workflow, in the core."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import astropy.units as u
import pytest

from jsocdesk.core.download.engine import EngineOptions
from jsocdesk.core.download.item import DownloadState
from jsocdesk.core.jsoc.export import JobState, PollPolicy
from jsocdesk.core.query.tree import And, Or, Sample, Series, Time
from jsocdesk.core.session import Session, save_session
from jsocdesk.core.workflow import ExportOptions, apply_workflow
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.main_window import MainWindow
from tests.demo_server import DEMO_EMAIL
from tests.gui.conftest import close_app

S = DownloadState
REPO = Path(__file__).resolve().parents[2]
HOUR = Time("2014-01-01T00:00:00", "2014-01-01T01:00:00")
SESSIONS = {
    "fits": (And(Series("hmi.v_45s"), HOUR, Sample(10 * u.min)), True),
    "raw": (And(Series("hmi.v_45s"), HOUR, Sample(10 * u.min)), False),
    "two series": (
        And(Or(Series("hmi.v_45s"), Series("hmi.m_45s")), HOUR, Sample(20 * u.min)),
        True,
    ),
}


def cli(args: list[str], **env: str) -> str:
    """``jsocdesk ARGS`` in its own process (the test's loop is Qt's); returns stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "jsocdesk", *args],
        env=dict(os.environ, PYTHONPATH=str(REPO), **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def window(qtbot: Any, qloop: Any, demo_server: Any) -> Iterator[MainWindow]:
    ctx = AppContext.create(show_error_dialog=False)
    w = MainWindow(ctx)
    w.workflow.exports.policy = PollPolicy(first=0.05, factor=1.5, cap=0.3, jitter=0.0)
    w.workflow.engine.options = EngineOptions(fsync=False, progress_interval=0.05)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitSignal(w.series_browser.series_loaded, timeout=30_000):
        ctx.connect(demo_server.base_url)
    yield w
    close_app(qtbot, w, ctx)
    assert not [r.message for r in ctx.sink.reports]


@pytest.mark.parametrize("name", list(SESSIONS))
def test_cli_and_window_agree(
    qtbot: Any,
    window: MainWindow,
    demo_server: Any,
    tmp_path: Path,
    name: str,
) -> None:
    query, headers = SESSIONS[name]
    in_window, in_cli = tmp_path / "window", tmp_path / "cli"
    path = tmp_path / "s.json"
    options = ExportOptions(email=DEMO_EMAIL, headers=headers, folder=in_window)
    save_session(path, apply_workflow(Session(query=query), options, [], []))

    # --- the window: the plan, the count label's estimate, the downloads
    window.workflow.set_download_folder(in_window)  # the user's folder
    with qtbot.waitSignal(window.query_panel.count_updated, timeout=30_000) as counted:
        assert window.open_session_file(path)
    with qtbot.waitSignal(window.exports_tab.plan_ready, timeout=30_000) as planned:
        window.tabs.setCurrentWidget(window.exports_tab)
    entries = planned.args[0]
    assert entries
    window_plan = [
        (
            e.record_set,
            f"{e.count} records",
            f"{e.estimate.files} files",
            f"~{e.estimate.total_bytes} bytes",
            f"{e.method}/{e.protocol}",
            e.explanation,
        )
        for e in entries
    ]
    total, label_bytes = counted.args
    assert total == sum(e.count for e in entries)
    assert label_bytes == sum(e.estimate.total_bytes for e in entries)  # one estimator
    qtbot.waitUntil(lambda: window.exports_tab.email_registered is True, timeout=20_000)
    jobs = window.exports_tab.submit()
    assert len(jobs) == len(entries)
    qtbot.waitUntil(lambda: all(j.state is JobState.DONE for j in jobs), timeout=30_000)
    items = window.workflow.downloads
    n_files = sum(len(j.files) for j in jobs)
    qtbot.waitUntil(
        lambda: len(items) == n_files and all(it.state is S.DONE for it in items),
        timeout=30_000,
    )
    window_files = {p.name: p.read_bytes() for p in in_window.iterdir()}
    assert len(window_files) == n_files

    # --- the CLI: the same plan, and (with a data dir of its own, so nothing is reused from
    # the window's downloads) the same files under the same names
    out = cli(["export", str(path), "--plan", "--server", demo_server.base_url])
    cli_plan = [tuple(line.split("\t")) for line in out.splitlines()]
    assert cli_plan == window_plan
    args = ["fetch", str(path), "--out", str(in_cli), "--server", demo_server.base_url]
    cli([*args, "--poll", "0.1"], JSOCDESK_DATA_DIR=str(tmp_path / "cli-data"))
    cli_files = {p.name: p.read_bytes() for p in in_cli.iterdir()}
    assert cli_files.keys() == window_files.keys()
    assert cli_files == window_files
