"""SeriesListModel: the server's series (name + description) as a two-column table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QSortFilterProxyModel,
    Qt,
)

from jsocdesk.core.jsoc.protocol import SeriesEntry
from jsocdesk.gui.roles import Index, Role, column_title

HEADERS = ("Series", "Description")


class SeriesListModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: list[SeriesEntry] = []

    def set_entries(self, entries: Sequence[SeriesEntry]) -> None:
        self.beginResetModel()
        self._entries = sorted(entries, key=lambda e: e.name.lower())
        self.endResetModel()

    def entry(self, row: int) -> SeriesEntry:
        return self._entries[row]

    def row_of(self, name: str) -> int:
        low = name.lower()
        for i, e in enumerate(self._entries):
            if e.name.lower() == low:
                return i
        return -1

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        e = self._entries[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return e.name if index.column() == 0 else e.note
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{e.name}\n{e.note}" if e.note else e.name
        if role == Role.OBJECT:
            return e
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return column_title(HEADERS, section, orientation, role)


class SeriesFilterProxy(QSortFilterProxyModel):
    """Case-insensitive substring filter on name *or* description."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)
