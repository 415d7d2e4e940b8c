"""ResultsTabWidget: the lazy results table with a filter box, column chooser and TSV copy."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from jsocdesk.core.results.resultset import ResultSet
from jsocdesk.core.seriesinfo import SeriesInfo
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.results.model import ResultTableModel

FILTER_DELAY_MS = 250
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
        self.columns_button = QToolButton(self)
        self.columns_button.setText("Columns…")
        self.columns_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.columns_menu = QMenu(self)
        self.columns_button.setMenu(self.columns_menu)
        self.columns_menu.aboutToShow.connect(self._fill_columns_menu)
        self.status_label = QLabel("No search yet", self)
        self.status_label.setObjectName("results-status")
        self.view = ResultsTableView(self)

        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.columns_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status_label)

        self._fit_columns_pending = False
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self.apply_filter)

    # --- result sets ------------------------------------------------------------------------

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
        if key is not None:
            self._ctx.ui_state.save_bytes(key, self.view.horizontalHeader().saveState())

    def restore_header_state(self) -> None:
        key = self._header_key()
        state = self._ctx.ui_state.load_bytes(key) if key else None
        if state is not None:
            self.view.horizontalHeader().restoreState(state)
        # no layout saved for this series yet: fit the columns to the first page of rows
        self._fit_columns_pending = state is None

    def _on_model_progress_changed(self, loaded: int, _total: int) -> None:
        if loaded > 0 and self._fit_columns_pending:
            self._fit_columns_pending = False
            header = self.view.horizontalHeader()
            header.setResizeContentsPrecision(200)  # sample rows, never the whole result
            self.view.resizeColumnsToContents()
        self._update_status()

    def _update_status(self) -> None:
        m = self.model
        if m is None:
            return
        total = m.rs.total
        loaded = m.rs.loaded
        shown = m.rowCount()
        text = (
            f"{loaded:,} of {total:,} records loaded" if total is not None else f"{loaded:,} loaded"
        )
        if m.filter_text:
            text += f" · {shown:,} match “{m.filter_text}”"
        if m.fetching:
            text += " · loading…"
        self.status_label.setText(text)

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

    def _fill_columns_menu(self) -> None:
        menu = self.columns_menu
        menu.clear()
        if self.info is None or self.model is None:
            menu.addAction("Search first").setEnabled(False)
            return
        current = set(self.model.columns)
        for name, text in PSEUDO_KEYS.items():
            act = menu.addAction(f"{text} — {name}")
            act.setCheckable(True)
            act.setChecked(name in current)
            act.toggled.connect(lambda on, name=name: self.toggle_column(name, on))
        menu.addSeparator()
        for kw in self.info.keywords:
            act = menu.addAction(kw.name)
            act.setCheckable(True)
            act.setChecked(kw.name in current)
            act.setToolTip(f"{kw.type} {kw.units} {kw.note}".strip())
            act.toggled.connect(lambda on, name=kw.name: self.toggle_column(name, on))

    def toggle_column(self, name: str, on: bool) -> None:
        if self.model is None or self.info is None:
            return
        keys = [k for k in self.model.rs.keys if k != name]
        if on:
            order = {k.name: i for i, k in enumerate(self.info.keywords)}
            keys.append(name)
            keys.sort(key=lambda k: order.get(k, len(order)))
        self.set_columns(keys)

    def set_columns(self, keys: Sequence[str]) -> None:
        if self.info is None or not keys:
            return
        self._ctx.ui_state.save_list(f"results/{self.info.name.lower()}/keys", list(keys))
        if self.model is not None and all(k in self.model.rs.column_names for k in keys):
            self.model.set_visible_columns(list(keys))
            return
        self.columns_requested.emit(list(keys))

    def shutdown(self) -> None:
        self.save_header_state()
        if self.model is not None:
            self.model.detach()

    def summary(self) -> dict[str, Any]:
        m = self.model
        return {} if m is None else {"loaded": m.rs.loaded, "total": m.rs.total}
