"""The main window offscreen: layout, actions and shortcuts, UI state, no server needed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtGui import QKeySequence

from jsocdesk.gui.context import AppContext
from jsocdesk.gui.main_window import MainWindow
from tests.gui.conftest import close_app, close_context


@pytest.fixture
def ctx(qloop: Any) -> Any:
    c = AppContext.create(show_error_dialog=False)
    yield c
    leftover = [f"{r.context}: {r.message}" for r in c.sink.reports]
    assert not leftover, leftover


@pytest.fixture
def window(qtbot: Any, ctx: AppContext) -> Iterator[MainWindow]:
    w = MainWindow(ctx)
    w.show()
    qtbot.waitExposed(w)
    yield w
    close_app(qtbot, w, ctx)  # unsaved edits are discarded


def test_standard_shortcuts(window: MainWindow) -> None:
    def keys(action: Any) -> list[str]:
        return [s.toString() for s in action.shortcuts()]

    assert QKeySequence("Ctrl+N").toString() in keys(window.new_action)
    assert QKeySequence("Ctrl+O").toString() in keys(window.open_action)
    assert QKeySequence("Ctrl+S").toString() in keys(window.save_action)
    assert "Ctrl+Z" in keys(window.undo_action)
    assert "Ctrl+Shift+Z" in keys(window.redo_action)
    assert "F5" in keys(window.search_action)
    assert QKeySequence("Ctrl+F").toString() in keys(window.filter_action)


def test_tabs_can_be_added(window: MainWindow) -> None:
    from PySide6.QtWidgets import QLabel

    n = window.tabs.count()
    index = window.add_tab(QLabel("x"), "Downloads")
    assert window.tabs.count() == n + 1
    assert window.tabs.tabText(index) == "Downloads"
    assert window.tabs.tabText(0) == "Results"


def test_structural_validation_without_server(qtbot: Any, window: MainWindow) -> None:
    panel = window.query_panel
    panel.add_node("time", edit=False)
    task = panel.refresh_now()
    assert task is not None
    qtbot.waitUntil(task.done)
    errors = panel.model.errors
    assert errors  # no Series in the branch
    assert panel.problem_label.isVisibleTo(window)


def test_undo_redo_through_actions(window: MainWindow) -> None:
    panel = window.query_panel
    panel.add_node("series", edit=False)
    panel.add_node("sample", edit=False)
    assert panel.tree.child_count(panel.tree.root_id) == 2
    window.undo_action.trigger()
    assert panel.tree.child_count(panel.tree.root_id) == 1
    window.redo_action.trigger()
    assert panel.tree.child_count(panel.tree.root_id) == 2
    window.new_action.trigger()
    assert panel.tree.child_count(panel.tree.root_id) == 0
    window.undo_action.trigger()  # New query is undoable (issue 15)
    assert panel.tree.child_count(panel.tree.root_id) == 2


def test_geometry_and_splitters_restored(qtbot: Any, ctx: AppContext) -> None:
    w = MainWindow(ctx)
    qtbot.addWidget(w)
    w.resize(760, 540)
    w.main_splitter.setSizes([250, 500])
    w.show()
    qtbot.waitExposed(w)
    sizes = w.main_splitter.sizes()
    w.close()
    w2 = MainWindow(ctx)
    qtbot.addWidget(w2)
    w2.show()
    qtbot.waitExposed(w2)
    assert (w2.size().width(), w2.size().height()) == (760, 540)
    assert w2.main_splitter.sizes() == sizes


def test_settings_dialog_switches_server(
    qtbot: Any, window: MainWindow, ctx: AppContext, demo_server: Any
) -> None:
    from jsocdesk.gui.settings import ServerKind

    window.settings_action.trigger()
    dialog = window.settings_dialog
    assert dialog.isVisible()
    assert dialog.jsoc_radio.isChecked()
    dialog.custom_radio.setChecked(True)
    dialog.url_edit.setText(demo_server.base_url)
    dialog.email_edit.setText("demo@example.com")
    with qtbot.waitSignal(window.series_browser.series_loaded, timeout=30_000):
        dialog.accept()
    assert ctx.settings.server_kind is ServerKind.CUSTOM
    assert ctx.server_url == demo_server.base_url
    assert ctx.settings.email == "demo@example.com"
    assert window.series_browser.model.rowCount() > 200
    close_context(qtbot, ctx)


def test_session_save_and_open_round_trip(window: MainWindow, tmp_path: Any) -> None:
    import astropy.units as u

    from jsocdesk.core.query.tree import And, Sample, Series, Time

    panel = window.query_panel
    query = And(
        Series("hmi.v_45s"), Time("2014-01-01T00:00", "2014-01-01T01:00"), Sample(10 * u.min)
    )
    panel.model.set_root(query)
    path = tmp_path / "seed.json"
    window.save_session_file(path)
    assert path.is_file()
    assert window.windowTitle().startswith("seed.json")
    window.new_action.trigger()
    assert panel.tree.child_count(panel.tree.root_id) == 0
    window.open_session_file(path)
    assert panel.tree.root == query
    assert not panel.undo_stack.canUndo()  # opening is not an edit


def test_opening_a_bad_session_reports_and_keeps_the_query(
    window: MainWindow, ctx: AppContext, tmp_path: Any
) -> None:
    from jsocdesk.core.query.tree import Series

    panel = window.query_panel
    panel.add_node("series", Series("hmi.v_45s"), edit=False)
    before = panel.tree.to_dict()
    bad = tmp_path / "bad.json"
    bad.write_text('{"format_version": 999}')
    assert not window.open_session_file(bad)
    assert panel.tree.to_dict() == before
    # the session controller says so plainly (a non-modal box and the status bar)
    assert "Cannot open" in window.statusBar().currentMessage()
    assert "bad.json" in window.statusBar().currentMessage()
    assert "newer jsocdesk" in window.sessions.dialog.text()
