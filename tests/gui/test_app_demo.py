"""The app driven as a user against the demo JSOC server (real loopback HTTP, real loop).

Seed numbers (the sunpy JSOC guide): hmi.v_45s 2014-01-01 00:00–01:00 UTC → 81 records,
every 10 minutes → 7, aia.lev1_euv_12s over the same hour → 2107, hmi.sharp_720s → 61.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import astropy.units as u
import pytest
from PySide6.QtCore import Qt

from jsocdesk.core.query.tree import And, Keyword, Or, Sample, Segment, Series, Time
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.main_window import MainWindow
from jsocdesk.gui.roles import Role
from tests.gui.conftest import close_app, connect_window

HOUR = ("2014-01-01T00:00", "2014-01-01T01:00")
V45 = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"
V45_10MIN = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI@600.0s]"
AIA = "aia.lev1_euv_12s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"
SHARP = "hmi.sharp_720s[][2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"


@pytest.fixture
def window(qtbot: Any, qloop: Any, demo_server: Any, qtmodeltesters: Any) -> Iterator[MainWindow]:
    ctx = AppContext.create(show_error_dialog=False)
    ctx.settings.count_delay_ms = 20
    w = MainWindow(ctx)
    qtmodeltesters(w.query_panel.model)
    qtmodeltesters(w.series_browser.model)
    qtmodeltesters(w.series_browser.proxy)
    w.show()
    qtbot.waitExposed(w)
    connect_window(qtbot, w, demo_server.base_url)
    yield w
    close_app(qtbot, w, ctx)  # the typed queries are discarded
    leftover = [f"{r.context}: {r.message}\n{r.details}" for r in ctx.sink.reports]
    assert not leftover, "\n".join(leftover)


def wait_count(qtbot: Any, w: MainWindow, expected: int) -> None:
    panel = w.query_panel

    def counted() -> bool:
        c = panel.last_count
        return c is not None and c.total == expected

    qtbot.waitUntil(counted, timeout=30_000)
    assert f"{expected:,} records" in panel.count_label.text()


def test_seed_queries_built_in_the_tree(qtbot: Any, window: MainWindow) -> None:
    panel = window.query_panel
    root = panel.tree.root_id
    series_id = panel.model.append_node(root, Series("hmi.v_45s"))
    panel.model.append_node(root, Time(*HOUR))
    wait_count(qtbot, window, 81)
    assert panel.recordset_edit.text() == V45
    assert "export ≈" in panel.count_label.text()

    sample_id = panel.model.append_node(root, Sample(10 * u.min))
    wait_count(qtbot, window, 7)
    assert panel.recordset_edit.text() == V45_10MIN

    panel.model.remove_nodes([sample_id])
    assert panel.model.setData(panel.model.index_of(series_id, 1), "aia.lev1_euv_12s")
    wait_count(qtbot, window, 2107)
    assert panel.recordset_edit.text() == AIA

    panel.model.setData(panel.model.index_of(series_id, 1), "hmi.sharp_720s")
    wait_count(qtbot, window, 61)
    assert panel.recordset_edit.text() == SHARP

    # undo back through every edit: the counts follow
    panel.undo_stack.undo()
    wait_count(qtbot, window, 2107)
    panel.undo_stack.undo()
    panel.undo_stack.undo()
    wait_count(qtbot, window, 7)
    panel.undo_stack.redo()
    panel.undo_stack.redo()
    panel.undo_stack.redo()
    wait_count(qtbot, window, 61)


@pytest.mark.parametrize(("text", "count"), [(V45, 81), (V45_10MIN, 7), (AIA, 2107), (SHARP, 61)])
def test_seed_queries_typed_as_record_sets(
    qtbot: Any, window: MainWindow, text: str, count: int
) -> None:
    panel = window.query_panel
    with qtbot.waitSignal(panel.text_applied, timeout=30_000):
        qtbot.keyClicks(panel.recordset_edit, text)
        qtbot.keyClick(panel.recordset_edit, Qt.Key.Key_Return)
    kinds = [panel.tree.kind(i) for i in panel.tree.child_ids(panel.tree.root_id)]
    assert kinds[:2] == ["series", "time"]
    wait_count(qtbot, window, count)
    assert panel.recordset_edit.text() == text
    # the typed text is one undoable edit
    panel.undo_stack.undo()
    assert panel.tree.child_count(panel.tree.root_id) == 0


def test_parse_error_shown_at_column_tree_untouched(qtbot: Any, window: MainWindow) -> None:
    panel = window.query_panel
    panel.set_record_set_text(V45)
    wait_count(qtbot, window, 81)
    before = panel.tree.to_dict()
    bad = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI"
    with qtbot.waitSignal(panel.text_rejected, timeout=30_000) as blocker:
        panel.set_record_set_text(bad)
    message, column = blocker.args
    assert 0 <= column <= len(bad)
    assert panel.parse_label.isVisibleTo(window)
    assert f"Column {column + 1}" in panel.parse_label.text()
    assert panel.recordset_edit.cursorPosition() in (column, column + 1)
    assert panel.tree.to_dict() == before
    assert message


def test_validation_errors_on_the_right_nodes_block_search(qtbot: Any, window: MainWindow) -> None:
    panel = window.query_panel
    panel.model.set_root(
        And(
            Series("hmi.sharp_720s"),
            Time(*HOUR),
            Keyword("bitmap_bzero"),
            Keyword("bac", "=", "1"),
            Segment("nosuch"),
        )
    )
    ids = panel.tree.child_ids(panel.tree.root_id)
    kw_bare, kw_unknown, seg = ids[2], ids[3], ids[4]
    qtbot.waitUntil(lambda: kw_bare in panel.model.errors, timeout=30_000)
    errors = panel.model.errors
    assert errors[kw_bare] == "Keyword 'bitmap_bzero' needs to have a comparison to a value."
    assert errors[kw_unknown] == "Keyword: 'bac' is not supported by series: hmi.sharp_720s"
    assert errors[seg].startswith(
        "Unexpected Segments were passed. The series hmi.sharp_720s contains the following Segments"
    )
    assert ids[0] not in errors
    assert ids[1] not in errors
    idx = panel.model.index_of(kw_bare)
    assert panel.model.data(idx, Qt.ItemDataRole.DecorationRole) is not None
    assert panel.model.data(idx, Qt.ItemDataRole.ToolTipRole) == errors[kw_bare]
    with qtbot.waitSignal(window.search_blocked, timeout=30_000) as blocker:
        window.search_action.trigger()
    assert "needs to have a comparison" in blocker.args[0] or "not supported" in blocker.args[0]
    assert "Search blocked" in window.statusBar().currentMessage()
    assert window.results_tab.model is None
    # fixing the nodes clears the marks and lets the count run
    panel.model.remove_nodes([kw_bare, kw_unknown, seg])
    wait_count(qtbot, window, 61)
    assert panel.model.errors == {}


def test_series_browser_lists_filters_and_describes(qtbot: Any, window: MainWindow) -> None:
    browser = window.series_browser
    assert browser.model.rowCount() > 200
    browser.filter_edit.setText("sharp_720")
    assert 0 < browser.proxy.rowCount() < 10
    with qtbot.waitSignal(browser.series_info_loaded, timeout=30_000) as blocker:
        assert browser.select_series("hmi.sharp_720s")
    info = blocker.args[0]
    assert info.primekeys == ("HARPNUM", "T_REC")
    details = browser.details
    sections = [details.topLevelItem(i).text(0) for i in range(details.topLevelItemCount())]
    assert sections[0] == "Prime keys (2)"
    assert sections[2] == "Segments (31)"
    # the selected series feeds the combo boxes of the editors
    c = window.query_panel.completions()
    assert "magnetogram" in c.segments
    assert "HARPNUM" in c.primekeys
    assert "hmi.sharp_720s" in c.series


def test_search_results_lazy_sort_filter_copy(
    qtbot: Any, window: MainWindow, qtmodeltesters: Any, qapp: Any
) -> None:
    from jsocdesk.gui.results import model as results_model

    panel = window.query_panel
    panel.set_record_set_text(AIA)
    wait_count(qtbot, window, 2107)
    window.results_tab.set_columns  # noqa: B018 - the chooser exists
    window.ctx.ui_state.save_list(
        "results/aia.lev1_euv_12s/keys", ["T_REC", "WAVELNTH", "T_OBS", "DATAMEAN", "QUALITY"]
    )
    task = window.search()
    qtbot.waitUntil(task.done, timeout=30_000)
    rs = task.result()
    model = window.results_tab.model
    assert model is not None
    qtmodeltesters(model)
    qtbot.waitUntil(lambda: rs.loaded > 0 and not model.fetching, timeout=30_000)
    assert rs.total == 2107
    while model.canFetchMore():
        model.fetchMore()
        qtbot.waitUntil(lambda: not model.fetching, timeout=30_000)
    assert model.rowCount() == 2107
    assert model.columns == ["T_REC", "WAVELNTH", "T_OBS", "DATAMEAN", "QUALITY"]
    t_rec = model.index(0, 0)
    assert model.data(t_rec).endswith("Z")  # AIA's T_REC is printed in UTC (ISO)
    assert "UTC" in model.data(t_rec, Qt.ItemDataRole.ToolTipRole)
    # MISSING values show as such
    mean = rs.column("DATAMEAN")
    assert mean.missing.any()
    missing_row = int(mean.missing.nonzero()[0][0])
    cell = model.index(missing_row, 3)
    assert model.data(cell) == "MISSING"
    assert model.data(cell, Qt.ItemDataRole.FontRole).italic()

    # sort by wavelength descending, then filter, then copy
    model.sort(1, Qt.SortOrder.DescendingOrder)
    assert model.data(model.index(0, 1)) == "335"
    assert model.data(model.index(2106, 1)) == "94"
    window.results_tab.filter_edit.setText("304")
    with qtbot.waitSignal(model.filter_applied, timeout=30_000):
        window.results_tab.apply_filter()
    shown = [
        [model.data(model.index(r, c)) for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]
    assert all(any("304" in cell for cell in row) for row in shown)
    assert sum(row[1] == "304" for row in shown) == 301
    view = window.results_tab.view
    view.selectionModel().select(model.index(0, 0), view.selectionModel().SelectionFlag.Select)
    view.selectionModel().select(model.index(1, 1), view.selectionModel().SelectionFlag.Select)
    text = view.copy_selection()
    lines = text.splitlines()
    assert lines[0] == "T_REC\tWAVELNTH"
    assert len(lines) == 3
    assert lines[2].endswith("\t304")
    assert qapp.clipboard().text() == text
    # clearing the filter keeps the sort
    window.results_tab.filter_edit.setText("")
    with qtbot.waitSignal(model.filter_applied, timeout=30_000):
        window.results_tab.apply_filter()
    assert model.rowCount() == 2107
    assert model.data(model.index(0, 1)) == "335"
    assert results_model.FILTER_CHUNK > 0

    # the column chooser re-runs the search with the chosen keywords
    with qtbot.waitSignal(window.search_started, timeout=30_000) as started:
        window.results_tab.toggle_column("EXPTIME", True)
    new_rs = started.args[0]
    assert "EXPTIME" in new_rs.keys
    qtbot.waitUntil(lambda: new_rs.loaded > 0, timeout=30_000)
    ui_keys = window.ctx.ui_state.load_list("results/aia.lev1_euv_12s/keys")
    assert ui_keys is not None
    assert "EXPTIME" in ui_keys


def test_keyboard_only_building(qtbot: Any, window: MainWindow) -> None:
    """Add nodes with shortcuts/actions, edit with F2 + typing, move with Alt+arrows."""
    panel = window.query_panel
    view = panel.view
    view.setFocus()
    panel.add_actions["series"].trigger()
    # the editor opened on the new node: type the name and confirm
    qtbot.waitUntil(lambda: view.state() == view.State.EditingState, timeout=5_000)
    editor = view.focusWidget()
    assert editor is not None
    editor.lineEdit().selectAll() if hasattr(editor, "lineEdit") else None
    qtbot.keyClicks(view.focusWidget(), "hmi.v_45s")
    qtbot.keyClick(view.focusWidget(), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: view.state() != view.State.EditingState, timeout=5_000)
    series_id = panel.tree.child_id(panel.tree.root_id, 0)
    node = panel.tree.node(series_id)
    assert isinstance(node, Series)
    assert node.name.lower() == "hmi.v_45s"  # the combo may complete to the canonical case
    panel.add_node("time", Time(*HOUR), edit=False)
    wait_count(qtbot, window, 81)
    # Alt+Up moves the Time node above the Series node
    qtbot.keyClick(view, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert panel.tree.kind(panel.tree.child_id(panel.tree.root_id, 0)) == "time"
    # Delete removes the selected node; Ctrl+Z brings it back
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert panel.tree.child_count(panel.tree.root_id) == 1
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert panel.tree.child_count(panel.tree.root_id) == 2
    assert panel.model.data(panel.model.index(0, 0), Role.KIND) == "and"
    # Insert pops the "add node" menu at the current row; its actions add nodes
    qtbot.keyClick(view, Qt.Key.Key_Insert)
    menu = panel.popup_menu
    assert menu is not None
    qtbot.waitUntil(menu.isVisible, timeout=5_000)
    titles = [a.text() for a in menu.actions()]
    assert "+ Sample" in titles
    qtbot.keyClick(menu, Qt.Key.Key_Escape)


def test_or_queries_regrouped_in_the_tree(qtbot: Any, window: MainWindow) -> None:
    """The seed's OR examples: two series (81 + 2107), two days of one series (81 + 81)."""
    panel = window.query_panel
    model = panel.model
    root = panel.tree.root_id
    model.append_node(root, Time(*HOUR))
    v45 = model.append_node(root, Series("hmi.v_45s"))
    aia = model.append_node(root, Series("aia.lev1_euv_12s"))
    # two Series in one AND branch is a validation error on the second one
    qtbot.waitUntil(lambda: aia in model.errors or v45 in model.errors, timeout=30_000)
    # regroup: drag both Series nodes onto a new OR group
    orr = model.append_node(root, Or())
    mime = model.mimeData([model.index_of(v45), model.index_of(aia)])
    model.dropMimeData(mime, Qt.DropAction.MoveAction, -1, 0, model.index_of(orr))
    assert panel.tree.child_ids(orr) == (v45, aia)
    wait_count(qtbot, window, 81 + 2107)
    assert "(81 + 2107)" in panel.count_label.text()
    assert panel.recordset_edit.text() == f"{V45},{AIA}"

    panel.model.set_root(
        And(
            Or(Time(*HOUR), Time("2014-01-02T00:00", "2014-01-02T01:00")),
            Series("hmi.v_45s"),
        )
    )
    wait_count(qtbot, window, 162)
    assert "(81 + 81)" in panel.count_label.text()
