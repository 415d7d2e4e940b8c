"""SeriesBrowserWidget: filter box, series table, and the selected series' details."""

from __future__ import annotations

from PySide6.QtCore import QItemSelection, QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from jsocdesk.core.jsoc.protocol import SeriesEntry
from jsocdesk.core.seriesinfo import SeriesInfo
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.series.model import SeriesFilterProxy, SeriesListModel


class SeriesDetailsWidget(QTreeWidget):
    """Prime keys, keywords (type, units, note), segments and links of one series."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setColumnCount(4)
        self.setHeaderLabels(["Name", "Type", "Units", "Note"])
        self.setRootIsDecorated(True)
        self.setAlternatingRowColors(True)
        self.setUniformRowHeights(True)
        self.info: SeriesInfo | None = None

    def show_info(self, info: SeriesInfo | None) -> None:
        self.info = info
        self.clear()
        if info is None:
            return
        pk = QTreeWidgetItem(self, [f"Prime keys ({len(info.primekeys)})"])
        slotted = {p.name: p for p in info.primekeysinfo}
        for name in info.primekeys:
            kw = info.keyword(name)
            p = slotted.get(name)
            kind = f"slotted, step {p.step}" if p is not None and p.slotted else ""
            QTreeWidgetItem(
                pk,
                [
                    name,
                    kw.type if kw else "",
                    kw.units if kw else "",
                    kind or (kw.note if kw else ""),
                ],
            )
        kws = QTreeWidgetItem(self, [f"Keywords ({len(info.keywords)})"])
        for k in info.keywords:
            QTreeWidgetItem(kws, [k.name, k.type, k.units or "", k.note])
        segs = QTreeWidgetItem(self, [f"Segments ({len(info.segments)})"])
        for s in info.segments:
            dims = f"{s.protocol} {s.dims}" if s.dims else s.protocol
            QTreeWidgetItem(segs, [s.name, f"{s.type} ({dims})", s.units or "", s.note])
        if info.links:
            links = QTreeWidgetItem(self, [f"Links ({len(info.links)})"])
            for link in info.links:
                QTreeWidgetItem(links, [link.name, link.kind, link.target, link.note])
        pk.setExpanded(True)
        segs.setExpanded(True)
        for col in range(3):
            self.resizeColumnToContents(col)


class SeriesBrowserWidget(QWidget):
    #: a series was selected (name)
    series_selected = Signal(str)
    #: the selected series' metadata arrived
    series_info_loaded = Signal(object)
    #: the user asked to use a series in the query (double click / Enter)
    use_series_requested = Signal(str)
    #: the list of series arrived (number of series)
    series_loaded = Signal(int)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self._given_info: SeriesInfo | None = None
        self.model = SeriesListModel(self)
        self.proxy = SeriesFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter series (name or description)…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._on_filter_edit_text_changed)

        self.table = QTableView(self)
        self.table.setObjectName("series-table")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.table.setWordWrap(False)
        self.table.setTabKeyNavigation(False)  # Tab moves on to the next widget
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        self.table.activated.connect(self._on_table_activated)

        self.status_label = QLabel("Not connected", self)
        self.details = SeriesDetailsWidget(self)

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.filter_edit)
        top_layout.addWidget(self.table, 1)
        top_layout.addWidget(self.status_label)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("series-splitter")
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        ctx.connected.connect(self._on_ctx_connected)

    # --- loading ----------------------------------------------------------------------------

    def _on_ctx_connected(self, _client: object) -> None:
        self.reload()

    def reload(self) -> None:
        client = self._ctx.client
        if client is None:
            return
        self.status_label.setText("Loading series…")
        self._ctx.tasks.run(
            client.series(),
            name="series-list",
            on_success=self._on_series_listed,
            on_failure=lambda _e: self.status_label.setText("Could not list series"),
            context="Listing series",
            owner=self,
        )

    def _on_series_listed(self, entries: list[SeriesEntry]) -> None:
        self.model.set_entries(entries)
        self.status_label.setText(f"{len(entries)} series")
        self.series_loaded.emit(len(entries))

    def _on_filter_edit_text_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        shown = self.proxy.rowCount()
        total = self.model.rowCount()
        self.status_label.setText(f"{shown} of {total} series" if text else f"{total} series")

    # --- selection --------------------------------------------------------------------------

    def selected_series(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.model.entry(self.proxy.mapToSource(rows[0]).row()).name

    def select_series(self, name: str, info: SeriesInfo | None = None) -> bool:
        """Select ``name`` in the table; with its ``info`` (already known), the details
        show it without asking the server again."""
        row = self.model.row_of(name)
        if row < 0:
            return False
        self._given_info = info
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            self.filter_edit.clear()
            index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectRow(index.row())
        self.table.scrollTo(index)
        return True

    def _on_table_selection_changed(self, _sel: QItemSelection, _desel: QItemSelection) -> None:
        name = self.selected_series()
        if name is None:
            return
        self.series_selected.emit(name)
        given, self._given_info = self._given_info, None
        if given is not None and given.name.lower() == name.lower():
            self._on_series_info(given)
            return
        client = self._ctx.client
        if client is None:
            return
        self._ctx.tasks.run(
            client.series_info(name),
            name="series-info",
            on_success=self._on_series_info,
            context=f"Describing {name}",
            owner=self,
        )

    def _on_series_info(self, info: SeriesInfo) -> None:
        self.details.show_info(info)
        self.series_info_loaded.emit(info)

    def _on_table_activated(self, index: QModelIndex) -> None:
        self.use_series_requested.emit(self.model.entry(self.proxy.mapToSource(index).row()).name)
