"""The window runs the same campaign as ``jsocdesk fetch`` and survives a restart mid-way.

Against a demo server with an 8 MB cap and 1 MB segments: the 37 records of ``hmi.v_45s``
(2014-01-01 00:00–06:00 at 10 min) are submitted from the Exports tab; the server refuses
the export as too large (status 3) and the window turns it into a campaign by itself (one
campaign row with its chunks in the Exports tab, cut to the server's cap).  Mid-campaign
the session is saved and the window closed; a new window opens the session and the
campaign continues where it stopped: every file byte-exact, one pending export at a time,
no export submitted twice.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import astropy.units as u

from jsocdesk.core.campaign import ChunkState
from jsocdesk.core.query.tree import And, Sample, Series, Time
from jsocdesk.core.workflow import local_name
from jsocdesk.gui.campaigns.model import COL_STATE
from tests.gui.test_workflow import App, apps, server_file, submit

__all__ = ["apps"]  # the fixture, re-exported for pytest

REPO = Path(__file__).resolve().parents[2]
QUERY37 = And(
    Series("hmi.v_45s"),
    Time("2014-01-01T00:00:00", "2014-01-01T06:00:00"),
    Sample(10 * u.min),
)


def exports_of(server: Any) -> list[dict[str, Any]]:
    doc = json.loads((Path(server.data_dir) / "demo-exports.json").read_text())
    return sorted(doc["exports"], key=lambda e: e["created"])


def test_window_runs_the_campaign_and_survives_a_restart(
    qtbot: Any, demo_server_factory: Any, apps: Callable[..., App], tmp_path: Path
) -> None:
    server = demo_server_factory(size_cap_mb=8, segment_bytes=1_000_000, export_delay=0.6)
    folder = tmp_path / "downloads"
    first = apps(server, folder)
    w, wf = first.window, first.wf.workflow
    wf.campaigns.retry_delay = 0.1
    job = submit(qtbot, first, QUERY37)
    qtbot.waitUntil(lambda: len(wf.campaigns.campaigns) == 1, timeout=30_000)
    campaign = wf.campaigns.campaigns[0]
    assert job not in wf.exports.jobs  # the refused export became the campaign
    panel, model = w.campaigns_panel, w.campaigns_panel.model
    top = model.index(0, 0)
    qtbot.waitUntil(lambda: model.rowCount(top) == 6, timeout=30_000)  # 7+7+7+7+7+2
    assert panel.isVisible()
    assert [c.records for c in campaign.chunks] == [7, 7, 7, 7, 7, 2]
    qtbot.waitUntil(
        lambda: sum(c.state is ChunkState.DONE for c in campaign.chunks) >= 2, timeout=60_000
    )
    assert "exports done" in model.data(model.index(0, COL_STATE))
    shots = (
        REPO / "docs" / "screenshots"
        if os.environ.get("JSOCDESK_WRITE_SCREENSHOTS") == "1"
        else tmp_path
    )
    shots.mkdir(parents=True, exist_ok=True)
    w.grab().save(str(shots / "exports-campaign.png"))

    session = tmp_path / "campaign.json"
    assert first.wf.sessions.save_to(session)
    assert "campaigns" in json.loads(session.read_text())
    first.close(qtbot)  # a restart mid-campaign
    assert not campaign.finished
    before = exports_of(server)

    second = apps(server, tmp_path / "elsewhere")
    wf2 = second.wf.workflow
    wf2.campaigns.retry_delay = 0.1
    second.window.open_session_file(session)
    assert len(wf2.campaigns.campaigns) == 1
    resumed = wf2.campaigns.campaigns[0]
    assert resumed.id == campaign.id
    assert sum(c.state is ChunkState.DONE for c in resumed.chunks) >= 2
    qtbot.waitUntil(lambda: resumed.finished, timeout=120_000)
    assert resumed.succeeded, [(c.state, c.error) for c in resumed.chunks]
    n = 0
    for chunk in resumed.chunks:
        assert chunk.job is not None
        for f in chunk.job.files:
            assert (folder / local_name(f)).read_bytes() == server_file(server, f.url).read_bytes()
            n += 1
    assert n == 37
    after = exports_of(server)
    assert len(after) == 6  # one export per chunk: none submitted twice
    assert [e["requestid"] for e in after[: len(before)]] == [e["requestid"] for e in before]
    for a, b in itertools.pairwise(after):  # one pending export at a time
        assert b["created"] >= a["completed"]


def test_a_big_plan_is_shown_and_asked_before_it_is_submitted(
    qtbot: Any, demo_server_factory: Any, apps: Callable[..., App], tmp_path: Path
) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QMessageBox

    from jsocdesk.core.campaign.plan import Guard

    server = demo_server_factory(size_cap_mb=2, segment_bytes=200_000, export_delay=0.3)
    folder = tmp_path / "downloads"
    app = apps(server, folder)
    w, wf = app.window, app.wf.workflow
    wf.campaigns.retry_delay = 0.1
    wf.guard = Guard(max_records=20)  # 37 records are "big" here
    tab = app.wf.exports_tab
    w.query_panel.tree.set_root(QUERY37)
    with qtbot.waitSignal(tab.plan_ready, timeout=20_000):
        w.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: tab.email_registered is True, timeout=20_000)

    def question() -> QMessageBox | None:
        for widget in QApplication.topLevelWidgets():
            if (
                isinstance(widget, QMessageBox)
                and widget.objectName() == "campaignGuard"
                and widget.isVisible()
            ):
                return widget
        return None

    # Cancel: nothing is submitted
    qtbot.mouseClick(tab.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: question() is not None, timeout=20_000)
    box = question()
    assert box is not None
    assert "37 records" in box.informativeText()
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: question() is None, timeout=5_000)
    assert not len(wf.campaigns.campaigns)
    assert not len(wf.exports.jobs)
    assert not (Path(server.data_dir) / "demo-exports.json").exists()

    # Submit: the campaign runs (cut to the 2 MB cap on the way) and finishes
    qtbot.mouseClick(tab.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: question() is not None, timeout=20_000)
    box = question()
    assert box is not None
    submit_button = next(
        b for b in box.buttons() if box.buttonRole(b) is QMessageBox.ButtonRole.AcceptRole
    )
    qtbot.mouseClick(submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(wf.campaigns.campaigns) == 1, timeout=10_000)
    campaign = wf.campaigns.campaigns[0]
    qtbot.waitUntil(lambda: campaign.finished, timeout=120_000)
    assert campaign.succeeded, [(c.state, c.error) for c in campaign.chunks]
    assert sum(c.files_done for c in campaign.chunks) == 37
    assert not len(wf.exports.jobs)  # no plain export besides the campaign
    assert len(exports_of(server)) == len(campaign.chunks)
