"""Issue 15's traps, each walked with real input events on real widgets (QTest key and mouse
clicks, typing into the editors, Tab) against the demo JSOC server.

Time entry, keyboard focus, the error display and Ctrl+N; the results and the columns
chooser are in ``test_results_newcomer.py``, the whole day in ``test_day.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from astropy.time import Time as AstropyTime
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView, QApplication, QComboBox, QLineEdit

from jsocdesk.core.query.tree import Segment, Series, Time
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.main_window import MainWindow
from jsocdesk.gui.query.delegates import TimeRangeEditor
from jsocdesk.gui.roles import Role
from tests.gui.conftest import close_context, connect_window

V45 = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"
V45_LISTED = "hmi.V_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"


@pytest.fixture
def window(qtbot: Any, qloop: Any, demo_server: Any, qtmodeltesters: Any) -> Iterator[MainWindow]:
    ctx = AppContext.create(show_error_dialog=False)
    ctx.settings.count_delay_ms = 20
    w = MainWindow(ctx)
    qtbot.addWidget(w)
    qtmodeltesters(w.query_panel.model)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitActive(w)
    connect_window(qtbot, w, demo_server.base_url)
    yield w
    w.close()
    close_context(qtbot, ctx)
    leftover = [f"{r.context}: {r.message}\n{r.details}" for r in ctx.sink.reports]
    assert not leftover, "\n".join(leftover)


def focus() -> Any:
    return QApplication.focusWidget()


def click_action(qtbot: Any, w: MainWindow, kind: str) -> None:
    """Click the query toolbar's "+ Kind" button."""
    button = w.query_panel.toolbar.widgetForAction(w.query_panel.add_actions[kind])
    assert button is not None
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)


def time_editor(qtbot: Any, w: MainWindow) -> TimeRangeEditor:
    qtbot.waitUntil(lambda: isinstance(_editor_of(focus()), TimeRangeEditor), timeout=5000)
    editor = _editor_of(focus())
    assert isinstance(editor, TimeRangeEditor)
    return editor


def _editor_of(widget: Any) -> Any:
    while widget is not None and not isinstance(widget, TimeRangeEditor):
        widget = widget.parentWidget()
    return widget


def type_series(qtbot: Any, w: MainWindow, name: str) -> None:
    """Add a Series node with the toolbar and type its name over the preselected text."""
    click_action(qtbot, w, "series")
    qtbot.waitUntil(lambda: isinstance(focus(), QLineEdit | QComboBox), timeout=5000)
    QTest.keyClicks(focus(), name)
    QTest.keyClick(focus(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: w.query_panel.view.state() != QAbstractItemView.State.EditingState)


def series_nodes(w: MainWindow) -> list[Series]:
    tree = w.query_panel.tree
    return [n for n in (tree.node(i) for i in tree.ids()) if isinstance(n, Series)]


def time_nodes(w: MainWindow) -> list[Time]:
    tree = w.query_panel.tree
    return [n for n in (tree.node(i) for i in tree.ids()) if isinstance(n, Time)]


def test_series_editor_opens_with_its_text_selected(qtbot: Any, window: MainWindow) -> None:
    type_series(qtbot, window, "hmi.v_45s")
    # the completer gives the server's spelling; not "hmi.V_45shmi.v_45s" (appended)
    assert [s.name for s in series_nodes(window)] == ["hmi.V_45s"]


def test_typed_iso_text_over_the_selected_start_and_focus_stays_in_the_tree(
    qtbot: Any, window: MainWindow
) -> None:
    type_series(qtbot, window, "hmi.v_45s")
    click_action(qtbot, window, "time")
    editor = time_editor(qtbot, window)
    assert focus() is editor.start
    QTest.keyClicks(focus(), "2014-01-01 00:00:00")  # over the selected text
    QTest.keyClick(focus(), Qt.Key.Key_Tab)
    assert focus() is editor.end
    QTest.keyClick(focus(), Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(focus(), "2014-01-01 01:00:00")
    QTest.keyClick(focus(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.query_panel.recordset_edit.text() == V45_LISTED, timeout=20_000)
    assert time_nodes(window) == [Time("2014-01-01T00:00", "2014-01-01T01:00")]
    assert focus() is window.query_panel.view  # not the series filter


def test_a_pasted_drms_range_fills_both_fields(qtbot: Any, window: MainWindow) -> None:
    click_action(qtbot, window, "time")
    editor = time_editor(qtbot, window)
    QApplication.clipboard().setText("2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI")
    QTest.keyClick(focus(), Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert editor.scale.currentText() == "TAI"
    assert editor.start.text() == "2014-01-01 00:00:35"
    assert editor.end.text() == "2014-01-01 01:00:35"
    QTest.keyClick(focus(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.query_panel.view.state() != QAbstractItemView.State.EditingState)
    assert time_nodes(window) == [Time("2014-01-01T00:00", "2014-01-01T01:00")]


def test_now_and_offsets(qtbot: Any, window: MainWindow) -> None:
    click_action(qtbot, window, "time")
    time_editor(qtbot, window)
    QTest.keyClicks(focus(), "-1d")
    QTest.keyClick(focus(), Qt.Key.Key_Tab)
    QTest.keyClick(focus(), Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(focus(), "now")
    before = AstropyTime.now()
    QTest.keyClick(focus(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.query_panel.view.state() != QAbstractItemView.State.EditingState)
    (node,) = time_nodes(window)
    span = (node.end - node.start).to_value("s")
    assert span == pytest.approx(86400, abs=2)
    assert abs((node.end - before).to_value("s")) < 120


def test_end_before_start_is_a_clear_error_on_the_node(qtbot: Any, window: MainWindow) -> None:
    panel = window.query_panel
    click_action(qtbot, window, "time")
    editor = time_editor(qtbot, window)
    QTest.keyClick(focus(), Qt.Key.Key_Tab)
    QTest.keyClick(focus(), Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(focus(), "2013-12-31 23:00")
    assert "before the start" in editor.end.toolTip()
    QTest.keyClick(focus(), Qt.Key.Key_Return)  # refused: the editor stays open
    assert panel.view.state() == QAbstractItemView.State.EditingState
    assert "before the start" in window.statusBar().currentMessage()
    QTest.keyClick(focus(), Qt.Key.Key_Tab)  # leave it: the commit is refused on the node
    QTest.keyClick(focus(), Qt.Key.Key_Tab)
    panel.view.setFocus()
    qtbot.waitUntil(lambda: panel.view.state() != QAbstractItemView.State.EditingState)
    (nid,) = [i for i in panel.tree.ids() if isinstance(panel.tree.node(i), Time)]
    index = panel.model.index_of(nid, 0)
    assert "before the start" in index.data(Role.ERROR)
    assert "before the start" in panel.problem_label.text()
    assert time_nodes(window) == [Time("2014-01-01T00:00", "2014-01-01T01:00")]  # unchanged
    # an accepted edit clears it: nothing lingers
    panel.view.setCurrentIndex(index)
    QTest.keyClick(panel.view, Qt.Key.Key_F2)
    time_editor(qtbot, window)
    QTest.keyClicks(focus(), "2014-01-01 00:30")
    QTest.keyClick(focus(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not panel.model.rejected, timeout=5000)
    assert "before the start" not in panel.problem_label.text()


def test_new_time_defaults_and_a_second_time_takes_its_neighbours_span(
    qtbot: Any, window: MainWindow
) -> None:
    panel = window.query_panel
    click_action(qtbot, window, "time")
    time_editor(qtbot, window)
    QTest.keyClick(focus(), Qt.Key.Key_Escape)
    assert time_nodes(window) == [Time("2014-01-01T00:00", "2014-01-01T01:00")]  # the seed's
    # a span of our own, then an OR group and a second Time inside it
    panel.view.setCurrentIndex(panel.model.index_of(list(panel.tree.ids())[1], 1))
    QTest.keyClick(panel.view, Qt.Key.Key_Return)
    time_editor(qtbot, window)
    QTest.keyClicks(focus(), "2015-06-01 12:00 to 2015-06-01 18:00")  # QTest types ASCII only
    QTest.keyClick(focus(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.view.state() != QAbstractItemView.State.EditingState)
    click_action(qtbot, window, "time")
    time_editor(qtbot, window)
    QTest.keyClick(focus(), Qt.Key.Key_Escape)
    assert time_nodes(window) == [Time("2015-06-01T12:00", "2015-06-01T18:00")] * 2


def test_tab_leaves_the_series_table(qtbot: Any, window: MainWindow) -> None:
    table = window.series_browser.table
    table.setFocus()
    table.selectRow(0)
    QTest.keyClick(table, Qt.Key.Key_Tab)
    assert focus() is not table
    QTest.keyClick(focus(), Qt.Key.Key_Backtab)
    assert focus() is table


def test_f2_and_enter_on_the_node_column_edit_the_value(qtbot: Any, window: MainWindow) -> None:
    panel = window.query_panel
    type_series(qtbot, window, "hmi.v_45s")
    (nid,) = [i for i in panel.tree.ids() if isinstance(panel.tree.node(i), Series)]
    for key in (Qt.Key.Key_F2, Qt.Key.Key_Return):
        panel.view.setCurrentIndex(panel.model.index_of(nid, 0))
        panel.view.setFocus()
        QTest.keyClick(panel.view, key)
        assert panel.view.state() == QAbstractItemView.State.EditingState
        qtbot.waitUntil(lambda: isinstance(focus(), QLineEdit | QComboBox))
        QTest.keyClicks(focus(), "hmi.M_45s")
        QTest.keyClick(focus(), Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: panel.view.state() != QAbstractItemView.State.EditingState)
        assert [s.name.lower() for s in series_nodes(window)] == ["hmi.m_45s"]
        assert focus() is panel.view
        panel.undo_stack.undo()


def test_invalid_query_clears_the_record_set_and_counts_its_problems(
    qtbot: Any, window: MainWindow
) -> None:
    panel = window.query_panel
    panel.recordset_edit.setFocus()
    QTest.keyClicks(panel.recordset_edit, V45)
    QTest.keyClick(panel.recordset_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.last_count is not None and panel.last_count.total == 81)
    panel.view.setFocus()
    root = panel.tree.root_id
    panel.view.setCurrentIndex(panel.model.index_of(root, 1))
    panel.add_node("segment", Segment("nosuchsegment"), edit=False)
    panel.add_node("keyword", None, edit=False)  # QUALITY = 0: fine
    qtbot.waitUntil(lambda: bool(panel.problem_label.text()), timeout=20_000)
    assert panel.recordset_edit.text() == ""  # not the last valid record set
    assert "problems" in panel.recordset_edit.placeholderText()
    text = panel.problem_label.text()
    assert "['" not in text  # the 31-name list is shortened
    assert "in all)" in text or "Dopplergram" in text
    # F5: the status bar counts what the panel lists
    QTest.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: "Search blocked" in window.statusBar().currentMessage())
    n = len(panel.problem_messages())
    assert f"{n} problem{'s' if n != 1 else ''} in the query" in window.statusBar().currentMessage()


def test_ctrl_n_is_undoable(qtbot: Any, window: MainWindow) -> None:
    panel = window.query_panel
    panel.recordset_edit.setFocus()
    QTest.keyClicks(panel.recordset_edit, V45)
    QTest.keyClick(panel.recordset_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.tree.child_count(panel.tree.root_id) == 2, timeout=20_000)
    before = panel.tree.root
    panel.view.setFocus()
    QTest.keyClick(panel.view, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert panel.tree.child_count(panel.tree.root_id) == 0
    assert "Undo" in window.statusBar().currentMessage()
    QTest.keyClick(panel.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert panel.tree.root == before


def test_the_details_pane_follows_the_querys_series(qtbot: Any, window: MainWindow) -> None:
    browser = window.series_browser
    browser.select_series("aia.lev1_euv_12s")
    qtbot.waitUntil(lambda: browser.details.info is not None, timeout=20_000)
    type_series(qtbot, window, "hmi.M_45s")
    qtbot.waitUntil(
        lambda: browser.details.info is not None and browser.details.info.name == "hmi.M_45s",
        timeout=20_000,
    )
    assert browser.selected_series() == "hmi.M_45s"


def test_a_re_export_of_downloaded_records_says_so(
    qtbot: Any, window: MainWindow, tmp_path: Any
) -> None:
    """Issue 15: "downloading" was said for a re-export whose files were all here."""
    from jsocdesk.core.download.item import DownloadItem, DownloadState
    from jsocdesk.core.jsoc.export import ExportJob, JobState

    job = ExportJob("hmi.v_45s[x]", "a@b.org", requestid="JSOC_20140101_002", state=JobState.DONE)
    here = []
    for i in range(3):
        item = DownloadItem(f"http://127.0.0.1:9/{i}.fits", tmp_path / f"{i}.fits")
        item.state = DownloadState.DONE
        here.append(item)
    notes = window.notifier.history
    window.workflow.export_finished.emit(job, here)  # as the core's workflow says it
    assert "all 3 already downloaded" in notes[-1][1]
    assert "downloading" not in notes[-1][1]
    fresh = DownloadItem("http://127.0.0.1:9/new.fits", tmp_path / "new.fits")
    window.workflow.export_finished.emit(job, [*here, fresh])
    assert "downloading 1 (3 already downloaded)" in notes[-1][1]
