"""The coverage timeline under the query, driven with the mouse against the demo server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from jsocdesk.core import drmstime
from jsocdesk.core.query.tree import And, Series, Time
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.main_window import MainWindow
from tests.gui.conftest import close_app, connect_window

HOUR = ("2014-01-01T00:00", "2014-01-01T01:00")


@pytest.fixture
def window(qtbot: Any, qloop: Any, demo_server: Any, qtmodeltesters: Any) -> Iterator[MainWindow]:
    ctx = AppContext.create(show_error_dialog=False)
    ctx.settings.count_delay_ms = 20
    w = MainWindow(ctx)
    qtmodeltesters(w.query_panel.model)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    connect_window(qtbot, w, demo_server.base_url)
    yield w
    close_app(qtbot, w, ctx)
    leftover = [f"{r.context}: {r.message}\n{r.details}" for r in ctx.sink.reports]
    assert not leftover, "\n".join(leftover)


def drag(qtbot: Any, widget: Any, x0: int, x1: int, modifier: Any = None) -> None:
    mods = modifier or Qt.KeyboardModifier.NoModifier
    y = widget.height() // 2
    QTest.mousePress(widget, Qt.MouseButton.LeftButton, mods, QPoint(x0, y))
    for i in range(1, 9):
        QTest.mouseMove(widget, QPoint(x0 + (x1 - x0) * i // 8, y), 5)
    QTest.mouseRelease(widget, Qt.MouseButton.LeftButton, mods, QPoint(x1, y), 5)


def loaded(timeline: Any, total: int) -> bool:
    """The listing of ``total`` records is complete and drawn (not just its pages)."""
    task = timeline.loading
    return (
        task is not None
        and task.done()
        and timeline.coverage is not None
        and timeline.coverage.total == total
    )


def test_timeline_loads_by_itself_and_a_dragged_span_sets_the_time_node(
    qtbot: Any, window: MainWindow
) -> None:
    timeline = window.coverage
    panel = window.query_panel
    panel.model.set_root(And(Series("hmi.v_45s"), Time(*HOUR)))
    qtbot.waitUntil(lambda: loaded(timeline, 81), timeout=30_000)
    assert timeline.coverage is not None
    assert timeline.coverage.bin_seconds == 60
    assert "81 records · 1 min bins" in timeline.summary_label.text()
    before = panel.recordset_edit.text()

    t0 = drmstime.parse_time_seconds("2014.01.01_00:10:00_UTC")
    t1 = drmstime.parse_time_seconds("2014.01.01_00:20:00_UTC")
    vp = timeline.plot.viewport()
    with qtbot.waitSignal(timeline.span_selected, timeout=5000) as blocker:
        drag(qtbot, vp, timeline.viewport_x(t0), timeline.viewport_x(t1))
    lo, hi = blocker.args
    assert abs(lo - t0) < 30  # a pixel is a few seconds here
    assert abs(hi - t1) < 30
    time_id = next(i for i in panel.tree.ids() if panel.tree.kind(i) == "time")
    node = panel.tree.node(time_id)
    assert isinstance(node, Time)
    assert node.start.scale == "utc"  # the node keeps its scale
    assert abs(drmstime.from_astropy(node.start) - lo) < 1
    qtbot.waitUntil(lambda: panel.recordset_edit.text() != before, timeout=10_000)
    assert panel.recordset_edit.text().startswith("hmi.v_45s[2014.01.01_00:")
    # the new span is listed again by itself; one undo restores the hour
    qtbot.waitUntil(lambda: timeline.coverage is not None and timeline.coverage.total < 81)
    panel.undo_stack.undo()
    qtbot.waitUntil(lambda: panel.recordset_edit.text() == before, timeout=10_000)


def test_zoom_rebins_and_ctrl_drag_pans(qtbot: Any, window: MainWindow) -> None:
    timeline = window.coverage
    window.query_panel.model.set_root(
        And(Series("hmi.v_45s"), Time("2014-01-01T00:00", "2014-01-03T00:00"))
    )
    qtbot.waitUntil(lambda: loaded(timeline, 3841), timeout=30_000)  # as the count says
    assert timeline.coverage is not None
    assert timeline.coverage.bin_seconds == 600  # two days: 10-minute bins
    vp = timeline.plot.viewport()
    centre = QPoint(vp.width() // 2, vp.height() // 2)
    for _ in range(6):
        QTest.mouseMove(vp, centre)
        qtbot.wait(10)
        from PySide6.QtGui import QWheelEvent

        ev = QWheelEvent(
            centre.toPointF(),
            vp.mapToGlobal(centre).toPointF(),
            QPoint(0, 0),
            QPoint(0, 120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        from PySide6.QtWidgets import QApplication

        QApplication.sendEvent(vp, ev)
    qtbot.waitUntil(
        lambda: timeline.coverage is not None and timeline.coverage.bin_seconds < 600,
        timeout=5000,
    )
    zoomed = timeline.view_box.viewRange()[0]
    drag(qtbot, vp, vp.width() // 2, vp.width() // 4, Qt.KeyboardModifier.ControlModifier)
    panned = timeline.view_box.viewRange()[0]
    assert panned[0] > zoomed[0]  # dragged left: later times come into view
    assert abs((panned[1] - panned[0]) - (zoomed[1] - zoomed[0])) < 1
    assert window.query_panel.undo_stack.count() == 1  # panning set no Time node


def test_keyword_plot_click_selects_the_row_and_hover_shows_the_record(
    qtbot: Any, window: MainWindow
) -> None:
    from tests.gui.conftest import wait_task

    window.query_panel.model.set_root(And(Series("hmi.v_45s"), Time(*HOUR)))
    rs = wait_task(qtbot, window.search())
    qtbot.waitUntil(lambda: rs.loaded == 81, timeout=20_000)
    plot = window.keyword_plot
    window.tabs.setCurrentWidget(plot)
    qtbot.waitUntil(lambda: plot.x_combo.count() > 0, timeout=5000)
    assert plot.x_combo.currentText() == "T_REC"
    numeric = [plot.y_list.item(i).text() for i in range(plot.y_list.count())]
    assert "QUALITY" in numeric
    assert "CAMERA" in numeric
    plot.set_series("T_REC", ["CAMERA", "QUALITY"])  # two series at once
    assert set(plot.items) == {"CAMERA", "QUALITY"}
    plot.set_series("T_REC", ["CAMERA"])
    qtbot.waitUntil(lambda: not plot._timer.isActive(), timeout=5000)
    item = plot.items["CAMERA"]
    points = item.points()
    assert len(points) == 81
    target = points[40]
    row = int(target.data())
    vb = plot.plot.getViewBox()
    vp = plot.plot.viewport()

    def hover() -> bool:
        """Move onto the point as a person would, again if the view was still settling
        (pyqtgraph rate-limits move events: pause between them)."""
        pos = plot.plot.mapFromScene(vb.mapViewToScene(target.pos()))
        for dx in (1, 0):
            QTest.mouseMove(vp, pos + QPoint(dx, 0))
            qtbot.wait(120)
        return f"T_REC = {rs.text(row, 'T_REC')}" in vb.toolTip()

    qtbot.waitUntil(hover, timeout=10_000)
    pos = plot.plot.mapFromScene(vb.mapViewToScene(target.pos()))
    assert rs.text(row, "T_REC") in vb.toolTip()
    assert plot.hover_label.text().startswith(f"T_REC = {rs.text(row, 'T_REC')}")
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
    selected = window.results_tab.view.selectionModel().selectedRows()
    assert [i.row() for i in selected] == [row]
    # keyword against keyword
    plot.set_series("CAMERA", ["QUALITY"])
    assert plot.plot.getPlotItem().getAxis("bottom").labelText == "CAMERA"


def test_large_query_loads_on_request_and_cancels(qtbot: Any, window: MainWindow) -> None:
    timeline = window.coverage
    window.query_panel.set_record_set_text("aia.lev1_euv_12s[2014.01.01_00:00:00_TAI/20d]")
    qtbot.waitUntil(lambda: "press Load coverage" in timeline.summary_label.text(), timeout=30_000)
    assert timeline.loading is None  # a million records are not listed by themselves
    QTest.mouseClick(timeline.load_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "records listed…" in timeline.summary_label.text(), timeout=60_000)
    assert timeline.cancel_button.isEnabled()
    QTest.mouseClick(timeline.cancel_button, Qt.MouseButton.LeftButton)
    task = timeline.loading
    assert task is not None
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.cancelled()
    assert "cancelled after" in timeline.summary_label.text()
    assert not timeline.cancel_button.isEnabled()
    assert timeline.listing is not None
    assert 0 < len(timeline.listing) < timeline.listing.total
