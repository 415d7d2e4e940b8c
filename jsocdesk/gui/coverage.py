"""The coverage timeline under the query: records per bin, gaps, flagged records; drag a
span to set the query's Time node (undoable).

Data: :mod:`jsocdesk.core.coverage` (listing of ``T_REC``/``QUALITY`` through the fast path,
vectorised binning).  Drawing: pyqtgraph step curves (a few hundred bins whatever the
record count), re-binned for the visible range after zooming (debounced).

Mouse: wheel zooms the time axis, Ctrl+drag (or the middle button) pans, a left drag selects
a span: released, it becomes the Time node (one undo step).  The listing loads by itself
after each count of up to :data:`AUTO_LOAD_LIMIT` records, otherwise on "Load coverage"; it
runs in the task runner under one name, so a newer query (or Cancel) stops the older one.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from jsocdesk.core import coverage as cov
from jsocdesk.core import drmstime

if TYPE_CHECKING:
    from jsocdesk.gui.context import AppContext
    from jsocdesk.gui.query.panel import QueryPanelWidget

TASK = "coverage.listing"
#: Counts up to this load the coverage by themselves.
AUTO_LOAD_LIMIT = 200_000
REBIN_DELAY_MS = 80
COLOURS = {
    "records": (70, 120, 200),
    "flagged": (230, 150, 30),
    "no_image": (200, 40, 40),
    "gap": (150, 150, 150),
}


def _swatch(name: str, text: str) -> str:
    r, g, b = COLOURS[name]
    return f"<span style='color:rgb({r},{g},{b})'>■</span> {text}"


LEGEND = "&nbsp;&nbsp;&nbsp;" + " &nbsp;".join(
    _swatch(n, t)
    for n, t in (
        ("records", "records"),
        ("flagged", "QUALITY ≠ 0"),
        ("no_image", "no image"),
        ("gap", "gap"),
    )
)


class SpanViewBox(pg.ViewBox):  # type: ignore[misc]
    """A ViewBox whose left drag selects a time span (Ctrl+drag / middle drag pans)."""

    span_dragging = Signal(float, float)
    span_finished = Signal(float, float)

    def __init__(self) -> None:
        super().__init__(enableMenu=False)
        self.setMouseEnabled(x=True, y=False)

    def mouseDragEvent(self, ev: Any, axis: Any = None) -> None:
        mods = ev.modifiers()
        if ev.button() != Qt.MouseButton.LeftButton or mods & Qt.KeyboardModifier.ControlModifier:
            if (
                ev.button() == Qt.MouseButton.LeftButton
                or ev.button() == Qt.MouseButton.MiddleButton
            ):
                self._pan(ev)
                return
            super().mouseDragEvent(ev, axis)
            return
        ev.accept()
        x0 = self.mapSceneToView(ev.buttonDownScenePos()).x()
        x1 = self.mapSceneToView(ev.scenePos()).x()
        lo, hi = min(x0, x1), max(x0, x1)
        if ev.isFinish():
            self.span_finished.emit(lo, hi)
        else:
            self.span_dragging.emit(lo, hi)

    def _pan(self, ev: Any) -> None:
        ev.accept()
        last = self.mapSceneToView(ev.lastScenePos())
        now = self.mapSceneToView(ev.scenePos())
        dx = last.x() - now.x()
        self.translateBy(x=dx, y=0)

    def wheelEvent(self, ev: Any, axis: Any = None) -> None:
        super().wheelEvent(ev, axis=0)


class CoverageTimeline(QWidget):
    """The timeline widget; ``panel`` is the query panel whose Time node it sets."""

    #: a span was selected (DRMS TAI seconds)
    span_selected = Signal(float, float)
    #: a coverage was drawn (the :class:`~jsocdesk.core.coverage.Coverage`)
    drawn = Signal(object)

    def __init__(
        self, ctx: AppContext, panel: QueryPanelWidget | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("coverage-timeline")
        self.ctx = ctx
        self.panel = panel
        self.listing: cov.CoverageListing | None = None
        self.coverage: cov.Coverage | None = None
        self.span: tuple[float, float] | None = None  # the query's time span (DRMS s)
        self.record_set = ""
        self.loading: asyncio.Task[Any] | None = None  # the listing being loaded (or last)

        self.summary_label = QLabel("Coverage: no query yet", self)
        self.summary_label.setObjectName("coverage-summary")
        self.summary_label.setTextFormat(Qt.TextFormat.RichText)
        self.load_button = QPushButton("Load coverage", self)
        self.load_button.clicked.connect(self.load_current)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        top = QHBoxLayout()
        top.setContentsMargins(4, 0, 4, 0)
        top.addWidget(self.summary_label, 1)
        top.addWidget(self.load_button)
        top.addWidget(self.cancel_button)

        self.view_box = SpanViewBox()
        axis = pg.DateAxisItem(orientation="bottom", utcOffset=0)
        self.plot = pg.PlotWidget(viewBox=self.view_box, axisItems={"bottom": axis})
        self.plot.setObjectName("coverage-plot")
        self.plot.setBackground("w")
        self.plot.setMinimumHeight(40)
        self.plot.setLabel("left", "records")
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=True, y=False)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for name in ("gap", "records", "flagged", "no_image"):
            colour = COLOURS[name]
            self.curves[name] = self.plot.plot(
                [0, 1],
                [0],
                stepMode="center",
                fillLevel=0,
                brush=(*colour, 160 if name == "records" else 220),
                pen=pg.mkPen(colour, width=1),
                name=name,
            )
        self.region = pg.LinearRegionItem(movable=False, brush=(60, 160, 90, 60))
        self.region.setZValue(10)
        self.region.hide()
        self.plot.addItem(self.region)
        self.view_box.span_dragging.connect(self._on_span_dragging)
        self.view_box.span_finished.connect(self._on_span_finished)
        self.view_box.sigXRangeChanged.connect(self._on_range_changed)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.plot, 1)

        self._rebin_timer = QTimer(self)
        self._rebin_timer.setSingleShot(True)
        self._rebin_timer.setInterval(REBIN_DELAY_MS)
        self._rebin_timer.timeout.connect(self.rebin_visible)
        self._drawing = False
        if panel is not None:
            panel.count_updated.connect(self._on_panel_count_updated)

    # --- feeding ----------------------------------------------------------------------------

    def _current(self) -> tuple[str, Any, tuple[float, float] | None] | None:
        """(record set, series info, query span) of the panel's query (first series)."""
        from jsocdesk.core.query.tree import Time

        check = getattr(self.panel, "check", None)
        if check is None or not check.ok:
            return None
        first = check.compiled[0]
        same = [c for c in check.compiled if c.series.lower() == first.series.lower()]
        span: tuple[float, float] | None = None
        for c in same:
            for node in c.nodes:
                if isinstance(node, Time):
                    lo = drmstime.from_astropy(node.start)
                    hi = drmstime.from_astropy(node.end)
                    span = (lo, hi) if span is None else (min(span[0], lo), max(span[1], hi))
        info = check.infos.get(first.series.lower())
        return ",".join(c.record_set for c in same), info, span

    def _on_panel_count_updated(self, total: object, _bytes: object) -> None:
        current = self._current()
        if current is None:
            return
        n = int(str(total))
        if n <= AUTO_LOAD_LIMIT:
            self.load(*current)
        elif current[0] != self.record_set:
            self.summary_label.setText(
                f"Coverage: {n:,} records — press Load coverage to list their times"
            )

    def load_current(self) -> asyncio.Task[Any] | None:
        current = self._current()
        if current is None:
            self.summary_label.setText("Coverage: the query has no record set yet")
            return None
        return self.load(*current)

    def load(
        self, record_set: str, info: Any = None, span: tuple[float, float] | None = None
    ) -> asyncio.Task[Any] | None:
        client = self.ctx.client
        if client is None:
            return None
        if record_set != self.record_set:
            self.region.hide()  # an older selection does not describe the new query
        self.record_set = record_set
        self.span = span
        self.summary_label.setText("Coverage: listing record times…")
        self.cancel_button.setEnabled(True)

        async def run() -> cov.CoverageListing:
            try:
                listing = await cov.load_listing(client, record_set, info, on_page=self._on_page)
                self.set_listing(listing, span)
                return listing
            finally:
                if shiboken6.isValid(self.cancel_button):  # the window may be gone
                    self.cancel_button.setEnabled(False)

        self.loading = self.ctx.tasks.run(
            run(), name=TASK, context="Listing the coverage", owner=self
        )
        return self.loading

    def cancel(self) -> bool:
        stopped = self.ctx.tasks.cancel(TASK)
        self.cancel_button.setEnabled(False)
        if stopped:
            loaded = len(self.listing) if self.listing is not None else 0
            self.summary_label.setText(f"Coverage: cancelled after {loaded:,} records")
        return stopped

    def _on_page(self, listing: cov.CoverageListing, times: Any, quality: Any) -> None:
        """Bin just the new page over the query's span and add it to what is drawn."""
        if self.listing is not listing or self.coverage is None:
            first = self.listing is None or self.listing.record_set != listing.record_set
            self.listing = listing
            finite = times[np.isfinite(times)]
            extent = (float(finite.min()), float(finite.max())) if len(finite) else None
            start, end = _union(self.span or extent or (0.0, 60.0), extent)
            self.span = (start, end)
            self.coverage = cov.bin_records(times, quality, start, end)
            if first:
                self._set_x_range(start, end)
        else:
            c = self.coverage
            new = cov.bin_records(times, quality, c.start, c.end, c.bin_seconds)
            self.coverage = cov.Coverage(
                c.start,
                c.bin_seconds,
                c.counts + new.counts[: c.n_bins],
                c.flagged + new.flagged[: c.n_bins],
                c.no_image + new.no_image[: c.n_bins],
            )
        self._draw(self.coverage)
        self.summary_label.setText(
            f"Coverage: {len(listing):,} of {listing.total:,} records listed…"
        )

    # --- drawing ----------------------------------------------------------------------------

    def set_listing(
        self, listing: cov.CoverageListing, span: tuple[float, float] | None = None
    ) -> cov.Coverage:
        """Show ``listing`` over ``span`` (default: its own extent)."""
        first = self.listing is not listing and (
            self.listing is None or self.listing.record_set != listing.record_set
        )
        self.listing = listing
        # slotted keys: JSOC selects the slot an end falls in, so records may lie a little
        # outside the Time node's range; the span covers them
        start, end = _union(span or listing.span, listing.span if len(listing) else None)
        self.span = (start, end)
        if first:
            self._set_x_range(start, end)
        coverage = self.rebin_visible() if not first else None
        if coverage is None:
            coverage = listing.coverage(start, end)
            self._draw(coverage)
        return coverage

    def _set_x_range(self, start: float, end: float) -> None:
        lo, hi = cov.to_unix([start, end])
        self._drawing = True
        try:
            self.view_box.setXRange(float(lo), float(hi), padding=0.02)
        finally:
            self._drawing = False

    def _draw(self, coverage: cov.Coverage) -> None:
        self.coverage = coverage
        x = cov.to_unix(coverage.edges)
        peak = max(1, int(coverage.counts.max()) if coverage.n_bins else 1)
        gap = np.where(coverage.gaps, -0.08 * peak, 0.0)
        self.curves["records"].setData(x, coverage.counts.astype(np.float64))
        self.curves["flagged"].setData(x, coverage.flagged.astype(np.float64))
        self.curves["no_image"].setData(x, coverage.no_image.astype(np.float64))
        self.curves["gap"].setData(x, gap)
        self.view_box.setYRange(-0.1 * peak, 1.05 * peak, padding=0)
        self.summary_label.setText(f"Coverage: {coverage.summary()}{LEGEND}")
        self.drawn.emit(coverage)

    def _on_range_changed(self, *_args: object) -> None:
        if not self._drawing and self.listing is not None:
            self._rebin_timer.start()

    def rebin_visible(self) -> cov.Coverage | None:
        """Re-bin the stored listing for the visible time range (after zoom/pan)."""
        if self.listing is None:
            return None
        lo, hi = self.view_box.viewRange()[0]
        start, end = (float(v) for v in cov.from_unix([lo, hi]))
        if self.span is not None:  # outside the query's span nothing is missing
            start, end = max(start, self.span[0]), min(end, self.span[1])
            if end <= start:
                start, end = self.span
        coverage = self.listing.coverage(start, end)
        self._drawing = True
        try:
            self._draw(coverage)
        finally:
            self._drawing = False
        return coverage

    # --- span → Time node -------------------------------------------------------------------

    def _on_span_dragging(self, lo: float, hi: float) -> None:
        self.region.setRegion((lo, hi))
        self.region.show()

    def _on_span_finished(self, lo: float, hi: float) -> None:
        self.region.setRegion((lo, hi))
        self.region.show()
        start, end = (round(float(v)) for v in cov.from_unix([lo, hi]))
        if end <= start:
            self.region.hide()
            return
        self.span_selected.emit(float(start), float(end))
        if self.panel is not None:
            set_time_span(self.panel, float(start), float(end))

    def viewport_x(self, t: float) -> int:
        """The viewport x coordinate of time ``t`` (DRMS seconds)."""
        x = float(cov.to_unix([t])[0])
        scene = self.view_box.mapViewToScene(QPointF(x, 0))
        px: float = self.plot.mapFromScene(scene).x()
        return round(px)


def _union(span: tuple[float, float], other: tuple[float, float] | None) -> tuple[float, float]:
    if other is None:
        return span
    return (min(span[0], other[0]), max(span[1], other[1]))


def set_time_span(panel: QueryPanelWidget, start: float, end: float) -> int:
    """Make ``start``–``end`` (DRMS seconds) the query's time range, as one undoable edit:
    the Time node(s) get it (in their own scale), or a Time node is added.  Returns its id."""
    from astropy.time import Time as AstropyTime

    from jsocdesk.core.query.tree import Time
    from jsocdesk.gui.roles import Role

    t0 = AstropyTime(drmstime.seconds_to_tai_calendar(start), scale="tai")
    t1 = AstropyTime(drmstime.seconds_to_tai_calendar(end), scale="tai")
    tree, model = panel.tree, panel.model
    ids = [i for i in tree.ids() if tree.kind(i) == "time"]
    if not ids:
        return panel.add_node("time", Time(t0.utc, t1.utc), edit=False)
    old = tree.node(ids[0])
    assert isinstance(old, Time)
    scale = old.start.scale if old.start.scale in ("utc", "tai", "tt") else "utc"
    new = Time(getattr(t0, scale), getattr(t1, scale))
    model.setData(model.index_of(ids[0], 1), new, Role.OBJECT)
    return ids[0]
