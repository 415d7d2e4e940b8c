"""Issue 15's result traps walked with real input: every record set of an OR query, an honest
sort, comparisons in the filter box, and the searchable Columns chooser (the user's order
kept, every column drawn)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from jsocdesk.gui.context import AppContext
from jsocdesk.gui.main_window import MainWindow
from tests.gui.conftest import close_context, connect_window

V45 = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"
AIA = "aia.lev1_euv_12s[2014.01.01_00:00:00_TAI-2014.01.01_01:00:00_TAI]"
AIA_DAY = "aia.lev1_euv_12s[2014.01.01_00:00:00_TAI-2014.01.01_06:00:00_TAI]"


@pytest.fixture
def window(qtbot: Any, qloop: Any, demo_server: Any, qtmodeltesters: Any) -> Iterator[MainWindow]:
    ctx = AppContext.create(show_error_dialog=False)
    ctx.settings.count_delay_ms = 20
    w = MainWindow(ctx)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitActive(w)
    connect_window(qtbot, w, demo_server.base_url)
    w.model_tester = qtmodeltesters  # type: ignore[attr-defined]
    yield w
    w.close()
    close_context(qtbot, ctx)
    leftover = [f"{r.context}: {r.message}\n{r.details}" for r in ctx.sink.reports]
    assert not leftover, "\n".join(leftover)


def type_query_and_search(qtbot: Any, w: MainWindow, text: str) -> None:
    panel = w.query_panel
    panel.recordset_edit.setFocus()
    QTest.keyClicks(panel.recordset_edit, text)
    QTest.keyClick(panel.recordset_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: panel.last_count is not None, timeout=30_000)
    with qtbot.waitSignal(w.search_started, timeout=30_000):
        QTest.keyClick(panel.view, Qt.Key.Key_F5)
    tab = w.results_tab
    qtbot.waitUntil(lambda: tab.model is not None and tab.model.rs.loaded > 0, timeout=30_000)
    w.model_tester(tab.model)  # type: ignore[attr-defined]


def test_an_or_query_over_two_series_shows_each_record_set(qtbot: Any, window: MainWindow) -> None:
    type_query_and_search(qtbot, window, f"{V45},{AIA}")
    tab = window.results_tab
    combo = tab.recordset_combo
    assert combo.isVisible()
    assert combo.count() == 2
    assert tab.model is not None
    assert tab.model.rs.total == 81
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Down)  # the second record set
    qtbot.waitUntil(
        lambda: (
            tab.model is not None
            and tab.model.rs.series is not None
            and tab.model.rs.series.name == "aia.lev1_euv_12s"
            and tab.model.rs.loaded > 0
        ),
        timeout=30_000,
    )
    assert tab.model.rs.total == 2107  # 7 wavelengths every 12 s, both ends included
    assert "2,107 records" in combo.itemText(1)
    QTest.keyClick(combo, Qt.Key.Key_Up)  # back: the first one, not fetched again
    qtbot.waitUntil(lambda: tab.model is not None and tab.model.rs.total == 81)


def test_sorting_a_partly_loaded_result_says_so_and_load_all_sorts_everything(
    qtbot: Any, window: MainWindow
) -> None:
    type_query_and_search(qtbot, window, AIA_DAY)
    tab = window.results_tab
    model = tab.model
    assert model is not None
    qtbot.waitUntil(lambda: not model.fetching)
    assert model.rs.total == 12607
    assert model.rs.loaded < model.rs.total
    header = tab.view.horizontalHeader()
    col = model.columns.index("WAVELNTH")
    x = header.sectionViewportPosition(col) + header.sectionSize(col) // 2
    QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    qtbot.waitUntil(lambda: "loaded records only" in tab.status_label.text())
    assert tab.load_all_button.isVisible()
    QTest.mouseClick(tab.load_all_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: model.rs.loaded == model.rs.total, timeout=60_000)
    qtbot.waitUntil(lambda: "sorted by WAVELNTH" in tab.status_label.text())
    assert "only" not in tab.status_label.text()
    assert not tab.load_all_button.isVisible()
    shown = [model.data(model.index(r, col), Qt.ItemDataRole.DisplayRole) for r in range(50)]
    assert shown == sorted(shown, key=float)


def test_numeric_comparisons_in_the_filter(qtbot: Any, window: MainWindow) -> None:
    type_query_and_search(qtbot, window, V45)
    tab = window.results_tab
    model = tab.model
    assert model is not None
    qtbot.waitUntil(lambda: model.rs.loaded == 81)
    crlt = model.rs.column("CRLT_OBS")
    expected = int(np.count_nonzero(crlt.values[:81] < -2.995))
    assert 0 < expected < 81
    tab.filter_edit.setFocus()
    QTest.keyClicks(tab.filter_edit, "CRLT_OBS < -2.995")
    qtbot.waitUntil(lambda: model.filter_text == "CRLT_OBS < -2.995", timeout=5000)
    qtbot.waitUntil(lambda: model.rowCount() == expected, timeout=5000)
    quality = model.rs.column("QUALITY")
    QTest.keyClick(tab.filter_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(tab.filter_edit, "quality > 0")
    q_expected = int(np.count_nonzero((quality.values[:81] > 0) & ~quality.missing[:81]))
    qtbot.waitUntil(lambda: model.filter_text == "quality > 0", timeout=5000)
    qtbot.waitUntil(lambda: model.rowCount() == q_expected, timeout=5000)
    QTest.keyClick(tab.filter_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(tab.filter_edit, "NOPE > 1")
    qtbot.waitUntil(lambda: "not a shown column" in tab.status_label.text(), timeout=5000)


def test_the_columns_chooser_searches_and_keeps_the_users_order(
    qtbot: Any, window: MainWindow
) -> None:
    type_query_and_search(qtbot, window, V45)
    tab = window.results_tab
    assert tab.model is not None
    before = tab.model.columns
    assert before[0] == "T_REC"
    QTest.mouseClick(tab.columns_button, Qt.MouseButton.LeftButton)
    chooser = tab.columns_chooser
    qtbot.waitUntil(chooser.isVisible)
    assert chooser.height() < window.height()  # not a screen-filling menu
    QTest.keyClicks(chooser.search, "datamean")
    visible = [
        chooser.list.item(i).text()
        for i in range(chooser.list.count())
        if not chooser.list.item(i).isHidden()
    ]
    assert visible == ["DATAMEAN"]
    with qtbot.waitSignal(window.search_started, timeout=30_000):
        QTest.keyClick(chooser.search, Qt.Key.Key_Return)  # ticks the first match
    qtbot.waitUntil(lambda: tab.model is not None and tab.model.rs.loaded > 0, timeout=30_000)
    assert tab.model.columns == [*before, "DATAMEAN"]  # appended, not re-sorted
    _assert_every_column_drawn(tab)
    # untick T_OBS with the keyboard: the rest keeps its order, T_REC still draws
    QTest.keyClick(chooser.search, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(chooser.search, "T_OBS")
    item = chooser.item("T_OBS")
    assert item is not None
    chooser.list.setCurrentItem(item)
    chooser.list.setFocus()
    QTest.keyClick(chooser.list, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: tab.model is not None and "T_OBS" not in tab.model.columns)
    assert tab.model.columns == [c for c in [*before, "DATAMEAN"] if c != "T_OBS"]
    _assert_every_column_drawn(tab)
    QTest.keyClick(chooser.list, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not chooser.isVisible())


def _assert_every_column_drawn(tab: Any) -> None:
    header = tab.view.horizontalHeader()
    model = tab.model
    for col in range(model.columnCount()):
        assert not header.isSectionHidden(col), model.columns[col]
        assert header.sectionSize(col) > 20, model.columns[col]
        rect = tab.view.visualRect(model.index(0, col))
        assert rect.width() > 20, model.columns[col]
        assert model.data(model.index(0, col), Qt.ItemDataRole.DisplayRole)
