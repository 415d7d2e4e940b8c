"""A newcomer's day (issue 15), walked with real input events on the real window.

The app's own demo server child process (as ``jsocdesk --demo`` runs it), the real window
and workflow, and only what a person does: typing into the series filter and the editors,
Tab and Enter, toolbar and button clicks, header clicks, shortcuts.  The steps:

pick hmi.V_45s by typing → Time + Sample typed as ISO text → 81, then 7 records → F5 → OR a
second series typed into the record set → F5, the record-set selector → sort → filter
``QUALITY > 0`` → choose a column → choose the download folder → export with the prefilled
demo address → watch it finish and the files arrive → pause and resume a download → save
(Ctrl+S, the file dialog) → quit (Ctrl+Q) → restart: a new process reopens the session
(Ctrl+O) and finds the query, the exports and the downloads as they were.

``JSOCDESK_SCREENSHOTS=DIR`` saves a screenshot of each step there (``docs/screenshots/day``
is made that way under Xvfb with ``QT_QPA_PLATFORM=xcb``; see ``make_day_screenshots``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDialogButtonBox,
    QFileDialog,
    QLineEdit,
    QWidget,
)

from jsocdesk.core.download.item import DownloadState
from jsocdesk.core.jsoc.export import JobState
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.demo_process import DEMO_EMAIL
from jsocdesk.gui.main_window import MainWindow
from tests.gui.conftest import close_app, wait_task

S = DownloadState
SHOTS = os.environ.get("JSOCDESK_SCREENSHOTS", "")
AIA_PART = ",aia.lev1_euv_12s[2014.01.01_00:00:00_TAI-2014.01.01_00:02:00_TAI]"


def shot(window: QWidget, name: str) -> None:
    """Save the window as ``DIR/name.png`` when screenshots are asked for."""
    if not SHOTS:
        return
    QApplication.processEvents()
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    assert window.grab().save(str(folder / f"{name}.png"))


def back_to(qtbot: Any, window: QWidget) -> None:
    """A dialog closed: a window manager gives the main window the keyboard back (the
    offscreen platform has none)."""
    if not window.isActiveWindow():
        with qtbot.waitActive(window):
            window.activateWindow()


def focus() -> Any:
    return QApplication.focusWidget()


def click(widget: QWidget) -> None:
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def key(widget: QWidget | None, k: Qt.Key, mod: Qt.KeyboardModifier | None = None) -> None:
    assert widget is not None
    if mod is None:
        QTest.keyClick(widget, k)
    else:
        QTest.keyClick(widget, k, mod)


def select_all_and_type(widget: QWidget, text: str) -> None:
    key(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(widget, text)


def click_tab(window: MainWindow, title: str) -> None:
    bar = window.tabs.tabBar()
    index = next(i for i in range(bar.count()) if bar.tabText(i) == title)
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert window.tabs.currentIndex() == index


def type_path(qtbot: Any, dialog: QFileDialog, name_edit: QLineEdit, path: Path) -> None:
    """Into Qt's file dialog, as a person does with a long path: paste it, click the
    dialog's Save/Open button.  (Typed one key at a time, the dialog's path completer takes
    each folder as it appears.)"""
    QApplication.clipboard().setText(str(path))
    key(name_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    key(name_edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert name_edit.text() in (str(path), path.name)  # a folder: the dialog goes to its parent
    box = dialog.findChild(QDialogButtonBox)
    assert box is not None
    accept = box.button(QDialogButtonBox.StandardButton.Save) or box.button(
        QDialogButtonBox.StandardButton.Open
    )
    assert accept is not None
    assert accept.isEnabled()
    click(accept)


def wait_count(qtbot: Any, window: MainWindow, n: int) -> None:
    panel = window.query_panel
    qtbot.waitUntil(
        lambda: panel.last_count is not None and panel.last_count.total == n, timeout=30_000
    )
    assert f"{n:,} records" in panel.count_label.text()


def not_editing(window: MainWindow) -> bool:
    return window.query_panel.view.state() != QAbstractItemView.State.EditingState


def search(qtbot: Any, window: MainWindow) -> Any:
    with qtbot.waitSignal(window.search_started, timeout=30_000) as started:
        key(window.query_panel.view, Qt.Key.Key_F5)
    rs = started.args[0]
    qtbot.waitUntil(
        lambda: rs.total is not None and rs.loaded == min(rs.total, 5000), timeout=30_000
    )
    return rs


def test_a_newcomers_day(qtbot: Any, qloop: Any, tmp_path: Path) -> None:
    ctx = AppContext.create(show_error_dialog=False)
    ctx.settings.count_delay_ms = 50
    window = MainWindow(ctx)
    window.resize(1500, 950)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitActive(window)
    wf = window.workflow
    folder = tmp_path / "my-data"
    session_file = tmp_path / "day.json"
    try:
        with qtbot.waitSignal(window.series_browser.series_loaded, timeout=30_000):
            starting = asyncio.ensure_future(ctx.start_demo(["--export-delay", "0.3"]))
            url = wait_task(qtbot, starting, timeout=30_000)
        shot(window, "01-start")

        # --- pick a series by typing ----------------------------------------------------------
        browser = window.series_browser
        click(browser.filter_edit)
        QTest.keyClicks(browser.filter_edit, "v_45s")
        qtbot.waitUntil(lambda: 0 < browser.proxy.rowCount() < 10)
        key(browser.filter_edit, Qt.Key.Key_Tab)
        assert focus() is browser.table
        row = next(
            r
            for r in range(browser.proxy.rowCount())
            if browser.proxy.index(r, 0).data() == "hmi.V_45s"
        )
        browser.table.setCurrentIndex(browser.proxy.index(row, 0))
        key(browser.table, Qt.Key.Key_Return)  # use it in the query
        panel = window.query_panel
        qtbot.waitUntil(lambda: panel.tree.child_count(panel.tree.root_id) == 1)
        qtbot.waitUntil(lambda: browser.details.info is not None, timeout=20_000)
        shot(window, "02-series-picked")

        # --- Time and Sample, typed ----------------------------------------------------------
        click(panel.toolbar.widgetForAction(panel.add_actions["time"]))
        qtbot.waitUntil(lambda: isinstance(focus(), QLineEdit))
        QTest.keyClicks(focus(), "2014-01-01 00:00:00")
        key(focus(), Qt.Key.Key_Tab)
        select_all_and_type(focus(), "2014-01-01 01:00:00")
        shot(window, "03-time-typed")
        key(focus(), Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not_editing(window))
        assert focus() is panel.view
        wait_count(qtbot, window, 81)
        click(panel.toolbar.widgetForAction(panel.add_actions["sample"]))
        qtbot.waitUntil(lambda: not not_editing(window))
        select_all_and_type(focus(), "10")
        key(focus(), Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not_editing(window))
        wait_count(qtbot, window, 7)
        assert panel.recordset_edit.text() == (
            "hmi.V_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI@600.0s]"
        )

        # --- F5: the 7 records --------------------------------------------------------------
        rs = search(qtbot, window)
        assert rs.total == 7
        shot(window, "04-seven-records")

        # --- OR a second series, typed into the record set ----------------------------------
        key(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
        assert focus() is panel.recordset_edit
        key(panel.recordset_edit, Qt.Key.Key_End)
        QTest.keyClicks(panel.recordset_edit, AIA_PART)
        key(panel.recordset_edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: panel.tree.root.kind == "or", timeout=20_000)
        wait_count(qtbot, window, 7 + 11 * 7)
        panel.view.setFocus()
        search(qtbot, window)
        results = window.results_tab
        combo = results.recordset_combo
        assert combo.isVisible()
        assert combo.count() == 2
        click(combo)
        qtbot.waitUntil(lambda: combo.view().isVisible())
        key(combo.view(), Qt.Key.Key_Down)
        key(combo.view(), Qt.Key.Key_Return)
        qtbot.waitUntil(
            lambda: (
                results.model is not None
                and results.model.rs.total == 77
                and results.model.rs.loaded == 77
            ),
            timeout=20_000,
        )
        shot(window, "05-or-two-record-sets")

        # --- sort, filter, columns ------------------------------------------------------------
        model = results.model
        header = results.view.horizontalHeader()
        col = model.columns.index("WAVELNTH")
        x = header.sectionViewportPosition(col) + header.sectionSize(col) // 2
        QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
        waves = [float(model.index(r, col).data()) for r in range(model.rowCount())]
        assert waves == sorted(waves)
        qtbot.waitUntil(lambda: "sorted by WAVELNTH" in results.status_label.text())
        click(results.filter_edit)
        QTest.keyClicks(results.filter_edit, "QUALITY > 0")
        quality = model.rs.column("QUALITY")
        expected = int(np.count_nonzero((quality.values[:77] > 0) & ~quality.missing[:77]))
        qtbot.waitUntil(lambda: model.filter_text == "QUALITY > 0", timeout=5000)
        qtbot.waitUntil(lambda: model.rowCount() == expected, timeout=5000)
        select_all_and_type(results.filter_edit, "WAVELNTH >= 304")
        qtbot.waitUntil(lambda: model.filter_text == "WAVELNTH >= 304", timeout=5000)
        qtbot.waitUntil(lambda: model.rowCount() == 22, timeout=5000)  # 304 and 335 Å
        shot(window, "06-sorted-filtered")
        click(results.columns_button)
        chooser = results.columns_chooser
        qtbot.waitUntil(chooser.isVisible)
        QTest.keyClicks(chooser.search, "datamean")
        shot(chooser, "07-columns-chooser")
        with qtbot.waitSignal(window.search_started, timeout=30_000):
            key(chooser.search, Qt.Key.Key_Return)
        key(chooser.search, Qt.Key.Key_Escape)
        qtbot.waitUntil(
            lambda: (
                results.model is not None
                and results.model.columns[-1] == "DATAMEAN"
                and results.model.rs.loaded > 0
            ),
            timeout=20_000,
        )

        # --- export: choose the download folder, the demo address is prefilled ----------------
        click_tab(window, "Exports")
        exports = window.exports_tab
        folder.mkdir()
        click(exports.folder_row.choose_button)
        chooser_dialog = exports.folder_row.dialog
        assert isinstance(chooser_dialog, QFileDialog)
        qtbot.waitUntil(chooser_dialog.isVisible)
        name_edit = chooser_dialog.findChild(QLineEdit, "fileNameEdit")
        assert name_edit is not None
        type_path(qtbot, chooser_dialog, name_edit, folder)
        qtbot.waitUntil(lambda: wf.download_folder == folder)
        back_to(qtbot, window)
        assert exports.folder_row.path_label.text() == str(folder)
        assert window.downloads_tab.folder_row.path_label.text() == str(folder)
        assert exports.email_edit.text() == DEMO_EMAIL
        assert exports.demo_label.isVisible()
        qtbot.waitUntil(
            lambda: bool(exports.plan) and exports.email_registered is True, timeout=30_000
        )
        # the first hmi file stalls for 30 s after 2000 bytes: time to pause and resume it
        _post_fault(
            url,
            {
                "kind": "stall",
                "route": "files",
                "value": 30.0,
                "at": 2000,
                "times": 1,
                "match": "Dopplergram",
            },
        )
        shot(window, "08-exports-plan")
        click(exports.submit_button)
        jobs = wf.exports.jobs
        qtbot.waitUntil(
            lambda: len(jobs) == 2 and all(j.state is JobState.DONE for j in jobs), timeout=60_000
        )
        shot(window, "09-exports-done")

        # --- downloads: pause and resume the stalled one -------------------------------------
        click_tab(window, "Downloads")
        downloads = window.downloads_tab
        queue = wf.downloads
        qtbot.waitUntil(lambda: len(queue) == 7 + 77 * 2, timeout=30_000)  # image + spikes

        def stalled_one() -> Any:
            left = [it for it in queue if it.state is not S.DONE]
            return left[0] if len(left) == 1 and left[0].state is S.ACTIVE else None

        qtbot.waitUntil(lambda: stalled_one() is not None, timeout=30_000)
        slow = stalled_one()
        assert "Dopplergram" in slow.target.name
        assert slow.bytes_done >= 2000
        row = list(queue).index(slow)
        downloads.view.scrollTo(downloads.model.index(row, 0))
        cell = downloads.view.visualRect(downloads.model.index(row, 0)).center()
        QTest.mouseClick(downloads.view.viewport(), Qt.MouseButton.LeftButton, pos=cell)
        assert downloads.selected_items() == [slow]
        click(downloads.toolbar.widgetForAction(downloads.act_pause))
        qtbot.waitUntil(lambda: slow.state is S.PAUSED, timeout=10_000)
        shot(window, "10-download-paused")
        click(downloads.toolbar.widgetForAction(downloads.act_resume))
        qtbot.waitUntil(lambda: all(it.state is S.DONE for it in queue), timeout=60_000)
        assert slow.target.parent == folder
        assert sorted(p.name for p in folder.iterdir()) == sorted(it.target.name for it in queue)
        shot(window, "11-downloads-done")

        # --- save (Ctrl+S: the file dialog), quit (Ctrl+Q) -------------------------------------
        back_to(qtbot, window)
        key(downloads.view, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
        dialog = window.sessions.dialog
        assert isinstance(dialog, QFileDialog)
        qtbot.waitUntil(dialog.isVisible)
        name_edit = dialog.findChild(QLineEdit, "fileNameEdit")
        assert name_edit is not None
        type_path(qtbot, dialog, name_edit, session_file)
        qtbot.waitUntil(session_file.exists, timeout=10_000)
        assert "day.json" in window.windowTitle()
        back_to(qtbot, window)
        key(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    finally:
        close_app(qtbot, window, ctx)

    # --- restart: another process reopens the session ----------------------------------------
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    done = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).with_name("day_reopen.py")),
            str(session_file),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["recordset"].startswith("hmi.V_45s[2014.01.01_00:00:35_TAI-")
    assert found["recordset"].endswith(AIA_PART)
    assert found["jobs"] == [[j.requestid, "done"] for j in jobs]
    assert found["downloads_done"] == 7 + 77 * 2
    assert found["folder"] == str(folder)


def _post_fault(base_url: str, fault: dict[str, Any]) -> None:
    """Add a fault rule to the demo server (its ``/_demo/faults`` control endpoint)."""
    req = urllib.request.Request(
        f"{base_url}_demo/faults",
        data=json.dumps(fault).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as answer:  # loopback only
        assert answer.status == 200
