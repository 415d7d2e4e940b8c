"""The Plot tab: numeric keywords of the results against T_REC (or another keyword).

Any numeric column of the current results can be a series (tick it in the list; several at
once, one colour each); X is the first time column or any numeric one.  A million points are
drawn as a few thousand per series (:func:`jsocdesk.core.plotdata.peak_rows`: min and max
per bucket, so spikes survive), re-done for the visible range after a zoom.  Clicking a
point selects its row in the results table; hovering a point shows its record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from jsocdesk.core import coverage as cov
from jsocdesk.core import plotdata
from jsocdesk.core.jsoc.columns import ColumnKind

if TYPE_CHECKING:
    from jsocdesk.core.results.resultset import ResultSet

REDRAW_DELAY_MS = 120
PALETTE = [
    (31, 119, 180),
    (214, 39, 40),
    (44, 160, 44),
    (148, 103, 189),
    (255, 127, 14),
    (23, 190, 207),
    (140, 86, 75),
    (227, 119, 194),
]


class KeywordPlot(QWidget):
    #: a point was clicked: its row in the result set
    row_clicked = Signal(int)
    #: the plot was redrawn (number of points drawn)
    drawn = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("keyword-plot")
        self.rs: ResultSet | None = None
        self._x_name = ""
        self._order: np.ndarray | None = None
        self._cache: dict[str, np.ndarray] = {}
        self.items: dict[str, pg.ScatterPlotItem] = {}

        self.x_combo = QComboBox(self)
        self.x_combo.setObjectName("plot-x")
        self.x_combo.currentTextChanged.connect(self._on_x_changed)
        self.y_list = QListWidget(self)
        self.y_list.setObjectName("plot-y")
        self.y_list.itemChanged.connect(lambda _item: self.schedule_redraw())
        self.status = QLabel("Search first: the plot shows the loaded results.", self)
        self.status.setWordWrap(True)
        side = QVBoxLayout()
        side.addWidget(QLabel("X axis", self))
        side.addWidget(self.x_combo)
        side.addWidget(QLabel("Series (numeric keywords)", self))
        side.addWidget(self.y_list, 1)
        side.addWidget(self.status)

        self.date_axis = pg.DateAxisItem(orientation="bottom", utcOffset=0)
        self.plot = pg.PlotWidget(axisItems={"bottom": self.date_axis})
        self.plot.setObjectName("plot-view")
        self.plot.setBackground("w")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.legend = self.plot.addLegend(offset=(10, 10))
        self.hover_label = QLabel(" ", self)
        self.hover_label.setObjectName("plot-hover")
        self.hover_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # a long record must not widen the layout (the plot would move under the mouse)
        self.hover_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.plot.getViewBox().sigXRangeChanged.connect(self._on_range_changed)

        layout = QHBoxLayout(self)
        side_box = QWidget(self)
        side_box.setLayout(side)
        side_box.setMaximumWidth(260)
        layout.addWidget(side_box)
        right = QVBoxLayout()
        right.addWidget(self.plot, 1)
        right.addWidget(self.hover_label)
        layout.addLayout(right, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_DELAY_MS)
        self._timer.timeout.connect(self.redraw)
        self._ranging = False
        self._hover_owner: Any = None

    # --- data --------------------------------------------------------------------------------

    def set_result_set(self, rs: ResultSet) -> None:
        if self.rs is not None:
            self.rs.rows_inserted.disconnect(self._on_rows_inserted)
        self.rs = rs
        self._cache.clear()
        self._order = None
        rs.rows_inserted.connect(self._on_rows_inserted)
        self._fill_choices()

    def detach(self) -> None:
        if self.rs is not None:
            self.rs.rows_inserted.disconnect(self._on_rows_inserted)
            self.rs = None

    def _on_rows_inserted(self, _start: int, _count: int) -> None:
        self._cache.clear()
        self._order = None
        if self.x_combo.count() == 0:
            self._fill_choices()
        self.schedule_redraw()

    def _kinds(self) -> dict[str, ColumnKind]:
        rs = self.rs
        if rs is None or rs.loaded == 0:
            return {}
        out = {}
        for name in rs.column_names:
            col = rs.column(name)
            if plotdata.is_plottable(col):
                out[name] = col.kind
        return out

    def _fill_choices(self) -> None:
        kinds = self._kinds()
        self.x_combo.blockSignals(True)
        self.y_list.blockSignals(True)
        self.x_combo.clear()
        self.y_list.clear()
        times = [n for n, k in kinds.items() if k is ColumnKind.TIME]
        numbers = [n for n, k in kinds.items() if k is not ColumnKind.TIME]
        self.x_combo.addItems(times + numbers)
        for i, name in enumerate(numbers):
            item = QListWidgetItem(name, self.y_list)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if i == 0 else Qt.CheckState.Unchecked)
        self.x_combo.blockSignals(False)
        self.y_list.blockSignals(False)
        self._x_name = self.x_combo.currentText()
        self.schedule_redraw()

    def checked_series(self) -> list[str]:
        return [
            self.y_list.item(i).text()
            for i in range(self.y_list.count())
            if self.y_list.item(i).checkState() == Qt.CheckState.Checked
        ]

    def set_series(self, x: str, ys: list[str]) -> None:
        """Choose the axes as the user would (X combo, ticks in the list)."""
        self.x_combo.setCurrentText(x)
        for i in range(self.y_list.count()):
            item = self.y_list.item(i)
            item.setCheckState(
                Qt.CheckState.Checked if item.text() in ys else Qt.CheckState.Unchecked
            )
        self.redraw()

    def _values(self, name: str) -> np.ndarray:
        v = self._cache.get(name)
        if v is None and self.rs is not None:
            col = self.rs.column(name)
            v = plotdata.numeric_values(col)
            if col.kind is ColumnKind.TIME:
                v = cov.to_unix(v)
            self._cache[name] = v
        assert v is not None
        return v

    def _on_x_changed(self, name: str) -> None:
        self._x_name = name
        self._order = None
        self.redraw(reset_range=True)

    # --- drawing -----------------------------------------------------------------------------

    def schedule_redraw(self) -> None:
        self._timer.start()

    def _on_range_changed(self, *_args: object) -> None:
        if not self._ranging:
            self.schedule_redraw()

    def redraw(self, reset_range: bool = False) -> int:
        rs = self.rs
        wanted = self.checked_series() if rs is not None and rs.loaded and self._x_name else []
        for name in [n for n in self.items if n not in wanted]:
            self.plot.removeItem(self.items.pop(name))
            self.legend.removeItem(name)
        if rs is None or not wanted:
            return 0
        x = self._values(self._x_name)
        if self._order is None:
            self._order = plotdata.order_by_x(x)
        is_time = self.rs is not None and self.rs.column(self._x_name).kind is ColumnKind.TIME
        self.plot.getPlotItem().setAxisItems(
            {"bottom": self.date_axis if is_time else pg.AxisItem("bottom")}
        )
        self.plot.setLabel("bottom", self._x_name)
        lo = hi = None
        if not reset_range and self.plot.getViewBox().state["autoRange"][0] is False:
            lo, hi = self.plot.getViewBox().viewRange()[0]
        total = 0
        for i, name in enumerate(wanted):
            y = self._values(name)
            rows = plotdata.peak_rows(x, y, self._order, lo=lo, hi=hi)
            item = self.items.get(name)
            if item is None:
                colour = PALETTE[i % len(PALETTE)]
                item = pg.ScatterPlotItem(
                    size=5,
                    pen=None,
                    brush=pg.mkBrush(*colour, 200),
                    hoverable=True,
                    hoverSize=9,
                    tip=None,  # one tooltip for all series: see _on_points_hovered
                    name=name,
                )
                item.sigClicked.connect(self._on_points_clicked)
                item.sigHovered.connect(self._on_points_hovered)
                self.plot.addItem(item)
                self.items[name] = item
            item.setData(x=x[rows], y=y[rows], data=rows)
            total += len(rows)
        if reset_range:
            self._ranging = True
            try:
                self.plot.getViewBox().enableAutoRange()
            finally:
                self._ranging = False
        shown = ", ".join(wanted)
        self.status.setText(
            f"{rs.loaded:,} records; {total:,} points drawn ({shown} against {self._x_name})"
        )
        self.drawn.emit(total)
        return total

    def record_text(self, row: int) -> str:
        if self.rs is None or not 0 <= row < self.rs.loaded:
            return ""
        names = self.rs.column_names
        return "\n".join(f"{n} = {t}" for n, t in zip(names, self.rs.row_texts(row), strict=True))

    def _on_points_hovered(self, item: Any, points: Any, *_args: Any) -> None:
        """Show the hovered record (tooltip and the line under the plot); a series the
        mouse is not over does not clear what another one shows."""
        vb = self.plot.getViewBox()
        if len(points):
            text = self.record_text(int(points[0].data()))
            self._hover_owner = item
            vb.setToolTip(text)
            self.hover_label.setText(text.replace("\n", "   "))
        elif self._hover_owner is item:
            self._hover_owner = None
            vb.setToolTip("")

    def _on_points_clicked(self, _item: Any, points: Any, *_args: Any) -> None:
        if len(points):
            self.row_clicked.emit(int(points[0].data()))


def select_result_row(results_tab: Any, row: int) -> bool:
    """Select source row ``row`` in the results view (through its sort/filter), scroll to it."""
    model = results_tab.model
    if model is None:
        return False
    view_row = row if model.rowCount() > row and model.source_row(row) == row else -1
    if view_row < 0:
        view_row = next((r for r in range(model.rowCount()) if model.source_row(r) == row), -1)
    if view_row < 0:
        return False
    view = results_tab.view
    view.selectRow(view_row)
    view.scrollTo(model.index(view_row, 0))
    return True
