"""ResultsTabWidget: the lazy results table with a filter box, column chooser and TSV copy."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QHideEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from jsocdesk.core.errors import JsocError
from jsocdesk.core.results.resultset import ResultSet
from jsocdesk.core.seriesinfo import SeriesInfo
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.results.model import ResultTableModel

FILTER_DELAY_MS = 250
RESULT_PAGE_SIZE = 5000
#: keywords shown by default after the prime keys, when the series has them
DEFAULT_EXTRA_KEYS = ("T_OBS", "QUALITY", "EXPTIME", "WAVELNTH", "CAR_ROT", "CRLT_OBS")
MAX_DEFAULT_COLUMNS = 8
#: JSOC pseudo-keywords the Columns menu offers besides the series' keywords
PSEUDO_KEYS = {"*online*": "Online (Y) or on tape (N)"}


def default_keys(info: SeriesInfo) -> list[str]:
    keys = list(info.primekeys)
    for name in DEFAULT_EXTRA_KEYS:
        kw = info.keyword(name)
        if kw is not None and kw.name not in keys:
            keys.append(kw.name)
    return keys[:MAX_DEFAULT_COLUMNS]


class ResultsTableView(QTableView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("results-table")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setSortingEnabled(True)
        self.setWordWrap(False)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setDefaultSectionSize(22)
        self.horizontalHeader().setSectionsMovable(True)
        self.horizontalHeader().setStretchLastSection(True)
        self.copy_action = QAction("Copy as TSV", self)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.copy_action.triggered.connect(self.copy_selection)
        self.addAction(self.copy_action)

    def copy_selection(self) -> str:
        model = self.model()
        if not isinstance(model, ResultTableModel):
            return ""
        text = model.selection_tsv(self.selectionModel().selectedIndexes())
        if text:
            QApplication.clipboard().setText(text)
        return text


class ColumnsChooser(QFrame):
    """The Columns… popup: a search box over the series' keywords, one checkable row each.

    The shown columns come first, in the user's order; ticking a keyword appends it at the
    end, unticking removes it (nothing is re-sorted into the series' order).  Enter in the
    search box ticks the first match."""

    #: the new column list
    columns_chosen = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setObjectName("columns-chooser")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.search = QLineEdit(self)
        self.search.setObjectName("columns-search")
        self.search.setPlaceholderText("Search keywords…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_text_changed)
        self.search.returnPressed.connect(self._on_search_return_pressed)
        self.list = QListWidget(self)
        self.list.setObjectName("columns-list")
        self.list.itemChanged.connect(self._on_list_item_changed)
        self.hint = QLabel("Ticked columns are shown in this order; new ones go last.", self)
        self.hint.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.hint)
        self.resize(320, 420)
        self._keys: list[str] = []
        self._filling = False

    def set_columns(self, info: SeriesInfo, shown: Sequence[str]) -> None:
        self._filling = True
        try:
            self._keys = list(shown)
            self.list.clear()
            by_name = {k.name: k for k in info.keywords}
            names = [
                *shown,
                *(p for p in PSEUDO_KEYS if p not in shown),  # *online*: on tape or not
                *(k.name for k in info.keywords if k.name not in shown),
            ]
            for name in names:
                item = QListWidgetItem(name, self.list)
                kw = by_name.get(name)
                if kw is not None:
                    item.setToolTip(f"{kw.type} {kw.units or ''} {kw.note}".strip())
                elif name in PSEUDO_KEYS:
                    item.setToolTip(PSEUDO_KEYS[name])
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(
                    Qt.CheckState.Checked if name in shown else Qt.CheckState.Unchecked
                )
        finally:
            self._filling = False
        self._on_search_text_changed(self.search.text())

    def columns(self) -> list[str]:
        return list(self._keys)

    def hideEvent(self, event: QHideEvent) -> None:
        # back to the window it belongs to (the keyboard goes on where the user was; not
        # every platform re-activates it after a popup)
        owner = self.parentWidget()
        if owner is not None:
            owner.window().activateWindow()
            owner.setFocus(Qt.FocusReason.PopupFocusReason)
        super().hideEvent(event)

    def item(self, name: str) -> QListWidgetItem | None:
        found = self.list.findItems(name, Qt.MatchFlag.MatchFixedString)
        return found[0] if found else None

    def _on_search_text_changed(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.list.count()):
            it = self.list.item(i)
            hay = f"{it.text()} {it.toolTip()}".lower()
            it.setHidden(bool(needle) and needle not in hay)

    def _on_search_return_pressed(self) -> None:
        for i in range(self.list.count()):
            it = self.list.item(i)
            if not it.isHidden():
                checked = it.checkState() == Qt.CheckState.Checked
                it.setCheckState(Qt.CheckState.Unchecked if checked else Qt.CheckState.Checked)
                return

    def _on_list_item_changed(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        name = item.text()
        keys = [k for k in self._keys if k != name]
        if item.checkState() == Qt.CheckState.Checked:
            keys.append(name)
        if not keys:  # at least one column stays
            self._filling = True
            item.setCheckState(Qt.CheckState.Checked)
            self._filling = False
            return
        self._keys = keys
        self.columns_chosen.emit(list(keys))


class ResultsTabWidget(QWidget):
    #: the user changed the columns: new keyword list (the search is re-run with them)
    columns_requested = Signal(list)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.model: ResultTableModel | None = None
        self.info: SeriesInfo | None = None

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setObjectName("results-filter")
        self.filter_edit.setPlaceholderText("Filter loaded rows (Ctrl+F)…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._on_filter_edit_text_changed)
        self.filter_edit.setToolTip(
            "Text found in any column, or comparisons on shown columns: "
            "QUALITY > 0, CRLT_OBS < -2.995, T_REC >= 2014.01.01_00:30_TAI (join with 'and')"
        )
        self.columns_button = QToolButton(self)
        self.columns_button.setObjectName("columns-button")
        self.columns_button.setText("Columns…")
        self.columns_button.clicked.connect(self.open_columns_chooser)
        self.columns_chooser = ColumnsChooser(self)
        self.columns_chooser.columns_chosen.connect(self.set_columns)
        self.recordset_label = QLabel("Record set:", self)
        self.recordset_combo = QComboBox(self)
        self.recordset_combo.setObjectName("recordset-selector")
        self.recordset_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.recordset_combo.setMinimumContentsLength(40)
        self.recordset_combo.activated.connect(self.select_part)
        self.status_label = QLabel("No search yet", self)
        self.status_label.setObjectName("results-status")
        self.status_label.setWordWrap(True)
        self.load_all_button = QPushButton("Load all", self)
        self.load_all_button.setObjectName("load-all")
        self.load_all_button.setToolTip("Load every record, so sorting and filtering see all")
        self.load_all_button.clicked.connect(self.load_all)
        self.load_all_button.hide()
        self.view = ResultsTableView(self)
        #: the query's record sets: (record set, series info) per series
        self.parts: list[tuple[str, SeriesInfo]] = []
        self._part_sets: dict[int, ResultSet] = {}

        top = QHBoxLayout()
        top.addWidget(self.recordset_label)
        top.addWidget(self.recordset_combo, 1)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.columns_button)
        self.recordset_label.hide()
        self.recordset_combo.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(self.load_all_button)
        layout.addLayout(bottom)

        self._fit_columns_pending = False
        self.view.horizontalHeader().sortIndicatorChanged.connect(
            lambda *_a: QTimer.singleShot(0, self._update_status)
        )
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filter)

    # --- result sets ------------------------------------------------------------------------

    def show_parts(self, parts: Sequence[tuple[str, SeriesInfo]]) -> tuple[ResultSet, Any]:
        """Show a query's record sets (one per series of an OR): a selector above the table
        when there are several; the first is shown (or the one shown before, when the query
        still has it).  Returns its result set and model."""
        shown = self.model.rs.recordset if self.model is not None else None
        self.parts = list(parts)
        self._part_sets = {}
        # a re-run (new columns, F5 again) stays on the record set the user was looking at
        keep = next((i for i, (r, _info) in enumerate(self.parts) if r == shown), 0)
        combo = self.recordset_combo
        combo.clear()
        for i, (recordset, info) in enumerate(self.parts):
            combo.addItem(f"{i + 1}. {recordset}")
            combo.setItemData(i, info.name, Qt.ItemDataRole.ToolTipRole)
        several = len(self.parts) > 1
        self.recordset_label.setVisible(several)
        combo.setVisible(several)
        combo.setCurrentIndex(keep)
        rs = self._part_result_set(keep)
        return rs, self.show_result_set(rs, self.parts[keep][1])

    def _part_result_set(self, i: int) -> ResultSet:
        rs = self._part_sets.get(i)
        if rs is None:
            client = self._ctx.client
            if client is None:
                raise JsocError("Not connected to a JSOC server")
            recordset, info = self.parts[i]
            rs = ResultSet(
                client, recordset, self.keys_for(info), page_size=RESULT_PAGE_SIZE, series=info
            )
            self._part_sets[i] = rs
        return rs

    def select_part(self, i: int) -> asyncio.Task[Any] | None:
        """Show the query's ``i``-th record set (the selector), counting and loading it."""
        if not 0 <= i < len(self.parts):
            return None
        self.recordset_combo.setCurrentIndex(i)
        rs = self._part_result_set(i)
        model = self.show_result_set(rs, self.parts[i][1])

        async def load() -> None:
            if rs.total is None:
                await rs.fetch_count()
            if rs.loaded == 0:
                model.fetch_page()
            else:
                self._update_status()

        return self._ctx.tasks.run(load(), name="results-part", context="Searching", owner=self)

    def _update_part_counts(self) -> None:
        for i, rs in self._part_sets.items():
            if rs.total is not None and i < self.recordset_combo.count():
                self.recordset_combo.setItemText(
                    i, f"{i + 1}. {self.parts[i][0]} — {rs.total:,} records"
                )

    def show_result_set(self, rs: ResultSet, info: SeriesInfo | None = None) -> ResultTableModel:
        old = self.model
        if old is not None:
            self.save_header_state()
            old.detach()
        self.info = info
        model = ResultTableModel(rs, self._ctx.tasks, parent=self)
        model.progress_changed.connect(self._on_model_progress_changed)
        model.filter_applied.connect(lambda _n: self._update_status())
        self.model = model
        # rows come in the server's order until the user clicks a header
        self.view.setSortingEnabled(False)
        self.view.setModel(model)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.restore_header_state()
        self.view.setSortingEnabled(True)
        if old is not None:
            old.deleteLater()
        self.status_label.setText(f"Searching {rs.recordset}…")
        if self.filter_edit.text():
            model.set_filter(self.filter_edit.text())
        return model

    def _header_key(self) -> str | None:
        if self.model is None:
            return None
        series = self.info.name.lower() if self.info else "unknown"
        return f"results/{series}/header"

    def save_header_state(self) -> None:
        key = self._header_key()
        if key is not None and self.model is not None:
            self._ctx.ui_state.save_bytes(key, self.view.horizontalHeader().saveState())
            self._ctx.ui_state.save_list(key + "-columns", self.model.columns)

    def restore_header_state(self) -> None:
        key = self._header_key()
        state = self._ctx.ui_state.load_bytes(key) if key else None
        # a header state saved for other columns would hide or squash these (the T_REC
        # column drew no cells after Columns… changed the list): use it only for the same
        saved_for = self._ctx.ui_state.load_list(key + "-columns") if key else None
        if state is not None and (self.model is None or saved_for != self.model.columns):
            state = None
        if state is not None:
            self.view.horizontalHeader().restoreState(state)
        # no layout saved for this series yet: fit the columns to the first page of rows
        self._fit_columns_pending = state is None

    def _on_model_progress_changed(self, loaded: int, _total: int) -> None:
        if loaded > 0 and self._fit_columns_pending:
            self._fit_columns_pending = False
            self.fit_columns()
        self._update_part_counts()
        self._update_status()

    def fit_columns(self) -> None:
        header = self.view.horizontalHeader()
        header.setResizeContentsPrecision(200)  # sample rows, never the whole result
        self.view.resizeColumnsToContents()

    def _update_status(self) -> None:
        m = self.model
        if m is None:
            return
        total = m.rs.total
        loaded = m.rs.loaded
        shown = m.rowCount()
        partial = total is not None and loaded < total
        text = (
            f"{loaded:,} of {total:,} records loaded" if total is not None else f"{loaded:,} loaded"
        )
        problem = m.filter_problem() if m.filter_text else ""
        if problem:
            text += f" · filter: {problem}"
        elif m.filter_text:
            among = " loaded" if partial else ""
            text += f" · {shown:,} of the{among} records match “{m.filter_text}”"
        if m.sort_column is not None:
            text += (
                f" · sorted by {m.sort_column} among the {loaded:,} loaded records only "
                "(Load all sorts every record)"
                if partial
                else f" · sorted by {m.sort_column}"
            )
        if m.fetching:
            text += " · loading…"
        self.status_label.setText(text)
        self.load_all_button.setVisible(
            partial and (m.sort_column is not None or bool(m.filter_text))
        )

    def load_all(self) -> asyncio.Task[Any] | None:
        """Load every record of the shown record set (sort and filter then see them all)."""
        m = self.model
        if m is None:
            return None
        self.load_all_button.setEnabled(False)

        def done(_result: object) -> None:
            self.load_all_button.setEnabled(True)
            self._update_status()

        return self._ctx.tasks.run(
            m.load_all(),
            name="results-load-all",
            on_success=done,
            on_failure=done,
            context=f"Loading every record of {m.rs.recordset}",
            owner=self,
        )

    # --- filter -----------------------------------------------------------------------------

    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    def _on_filter_edit_text_changed(self, _text: str) -> None:
        self._filter_timer.start()

    def apply_filter(self) -> asyncio.Task[None] | None:
        self._filter_timer.stop()
        if self.model is None:
            return None
        return self.model.set_filter(self.filter_edit.text())

    # --- columns ----------------------------------------------------------------------------

    def chosen_keys(self) -> list[str] | None:
        if self.info is None:
            return None
        return self._ctx.ui_state.load_list(f"results/{self.info.name.lower()}/keys")

    def keys_for(self, info: SeriesInfo) -> list[str]:
        saved = self._ctx.ui_state.load_list(f"results/{info.name.lower()}/keys")
        keys = [k for k in (saved or []) if info.keyword(k) is not None or k in PSEUDO_KEYS]
        return keys or default_keys(info)

    def open_columns_chooser(self) -> None:
        chooser = self.columns_chooser
        if self.info is None or self.model is None:
            self._ctx_status("Search first: the columns are the searched series' keywords")
            return
        chooser.set_columns(self.info, self.model.columns)
        below = self.columns_button.mapToGlobal(self.columns_button.rect().bottomRight())
        chooser.move(below.x() - chooser.width(), below.y())
        chooser.show()
        chooser.search.setFocus(Qt.FocusReason.PopupFocusReason)

    def _ctx_status(self, message: str) -> None:
        self.status_label.setText(message)

    def toggle_column(self, name: str, on: bool) -> None:
        """Show or hide one column (a shown column goes last: the user's order is kept)."""
        if self.model is None or self.info is None:
            return
        keys = [k for k in self.model.columns if k != name]
        if on:
            keys.append(name)
        self.set_columns(keys)

    def set_columns(self, keys: Sequence[str]) -> None:
        if self.info is None or not keys:
            return
        self._ctx.ui_state.save_list(f"results/{self.info.name.lower()}/keys", list(keys))
        if self.model is not None and all(k in self.model.rs.column_names for k in keys):
            self.model.set_visible_columns(list(keys))
            self.fit_columns()
            return
        self.columns_requested.emit(list(keys))

    def shutdown(self) -> None:
        self.save_header_state()
        if self.model is not None:
            self.model.detach()

    def summary(self) -> dict[str, Any]:
        m = self.model
        return {} if m is None else {"loaded": m.rs.loaded, "total": m.rs.total}
