"""EventedListModel: the base of the table models that adapt one core :class:`EventedList`.

The list's before/after events become ``begin…``/``end…`` calls at once (one row per item,
fixed ``COLUMNS``); subclasses hook in where they keep per-item state (:meth:`_inserted`,
:meth:`_removing`, :meth:`_resetting`, :meth:`_reset_done`, :meth:`_replaced`) and announce
clock-like or throttled columns with :meth:`announce_runs`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt

from jsocdesk.core.events import EventedList, Signal
from jsocdesk.gui.roles import Index, column_title

T = TypeVar("T")


class EventedListModel(QAbstractTableModel, Generic[T]):
    #: the column titles; a subclass sets its own
    COLUMNS: tuple[str, ...] = ()

    def __init__(self, items: EventedList[T], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._list = items
        ev = items.events
        self._connections: tuple[tuple[Signal, Callable[..., None]], ...] = (
            (ev.inserting, self._on_inserting),
            (ev.inserted, self._on_inserted),
            (ev.removing, self._on_removing),
            (ev.removed, self._on_removed),
            (ev.moving, self._on_moving),
            (ev.moved, self._on_moved),
            (ev.changed, self._on_changed),
            (ev.resetting, self._on_resetting),
            (ev.reset, self._on_reset),
        )
        for signal, slot in self._connections:
            signal.connect(slot)

    def detach(self) -> None:
        """Stop following the list (the model is about to be thrown away)."""
        for signal, slot in self._connections:
            signal.disconnect(slot)

    # --- hooks for subclasses ------------------------------------------------------------------
    def _inserted(self, index: int, count: int) -> None:
        """Items ``index..index+count-1`` are in the list (before ``endInsertRows``)."""

    def _removing(self, index: int, count: int) -> None:
        """Items ``index..index+count-1`` are about to leave (before ``beginRemoveRows``)."""

    def _resetting(self) -> None:
        """The whole list is about to be replaced (after ``beginResetModel``)."""

    def _reset_done(self) -> None:
        """The list has its new items (before ``endResetModel``)."""

    def _replaced(self, index: int) -> None:
        """The list says item ``index`` changed (default: its whole row is announced)."""
        self.announce_row(index)

    # --- list events ---------------------------------------------------------------------------
    def _on_inserting(self, index: int, count: int) -> None:
        self.beginInsertRows(QModelIndex(), index, index + count - 1)

    def _on_inserted(self, index: int, count: int) -> None:
        self._inserted(index, count)
        self.endInsertRows()

    def _on_removing(self, index: int, count: int) -> None:
        self._removing(index, count)
        self.beginRemoveRows(QModelIndex(), index, index + count - 1)

    def _on_removed(self, _index: int, _count: int) -> None:
        self.endRemoveRows()

    def _on_moving(self, src: int, dest: int) -> None:
        self.beginMoveRows(QModelIndex(), src, src, QModelIndex(), dest)

    def _on_moved(self, _src: int, _dest: int) -> None:
        self.endMoveRows()

    def _on_changed(self, index: int) -> None:
        self._replaced(index)

    def _on_resetting(self) -> None:
        self.beginResetModel()
        self._resetting()

    def _on_reset(self) -> None:
        self._reset_done()
        self.endResetModel()

    # --- announcing ----------------------------------------------------------------------------
    def announce_row(self, row: int) -> None:
        """``dataChanged`` for every column of ``row``."""
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.COLUMNS) - 1))

    def announce_runs(
        self, rows: range, marked: Callable[[int], bool], first_col: int, last_col: int
    ) -> int:
        """One display ``dataChanged`` (columns ``first_col..last_col``) per contiguous run of
        ``marked`` rows in ``rows``; returns the number of rows announced."""
        announced = 0
        run_start: int | None = None
        for row in range(rows.start, rows.stop + 1):
            hit = row < rows.stop and marked(row)
            if hit and run_start is None:
                run_start = row
            elif not hit and run_start is not None:
                self.dataChanged.emit(
                    self.index(run_start, first_col),
                    self.index(row - 1, last_col),
                    [Qt.ItemDataRole.DisplayRole],
                )
                announced += row - run_start
                run_start = None
        return announced

    # --- reading -------------------------------------------------------------------------------
    def item(self, index: Index) -> T | None:
        if not index.isValid() or not 0 <= index.row() < len(self._list):
            return None
        return self._list[index.row()]

    def items(self, indexes: Sequence[Index]) -> list[T]:
        """The distinct items of ``indexes`` (any column), in row order."""
        rows = sorted({i.row() for i in indexes if i.isValid() and i.row() < len(self._list)})
        return [self._list[r] for r in rows]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._list)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return column_title(self.COLUMNS, section, orientation, role)
