"""ResultTableModel: a QAbstractTableModel over one core :class:`ResultSet`.

* **Lazy rows.**  ``canFetchMore``/``fetchMore`` start one background task (TaskRunner) that
  loads the next page; rows appear when the core's ``rows_inserting``/``rows_inserted``
  events fire.  ``data()`` never does I/O and never raises.
* **Sort and filter in the model**, vectorised with numpy over the loaded columns (a proxy
  model calling ``data()`` a million times would freeze the window).  Both produce a *view*:
  an index array into the loaded rows.  Filtering runs in chunks inside a background task
  that yields to the event loop between chunks.
* Time columns show their scale: ``T_REC`` as ``2014.01.01_00:00:45_TAI`` (TAI) or AIA's
  ``2014-01-01T00:00:01Z`` (UTC); the tooltip says which.  Missing values show ``MISSING``
  (greyed, italic) and sort last.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont

from jsocdesk.core import drmstime
from jsocdesk.core.jsoc.columns import Column, ColumnKind
from jsocdesk.core.results.resultset import ResultSet
from jsocdesk.gui.roles import Index, Role
from jsocdesk.gui.tasks import TaskRunner

IntArray = npt.NDArray[np.int64]

FILTER_CHUNK = 50_000

_MISSING_BRUSH = QBrush(QColor(128, 128, 128))
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)


def _italic() -> QFont:
    f = QFont()
    f.setItalic(True)
    return f


class ResultTableModel(QAbstractTableModel):
    #: (loaded rows, total or -1) after every page / count
    progress_changed = Signal(object, object)
    #: the filter finished (rows shown)
    filter_applied = Signal(int)

    def __init__(
        self,
        result_set: ResultSet,
        tasks: TaskRunner,
        *,
        page_size: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.rs = result_set
        self._tasks = tasks
        self._page_size = page_size or result_set.page_size
        self._task_name = f"results-fetch-{id(self)}"
        self._filter_task_name = f"results-filter-{id(self)}"
        self._fetching = False
        self._columns: list[str] = list(result_set.column_names)
        self._view: IntArray | None = None
        self._sort: tuple[str, Qt.SortOrder] | None = None
        self._filter = ""
        self._missing_font = _italic()
        result_set.rows_inserting.connect(self._on_rs_rows_inserting)
        result_set.rows_inserted.connect(self._on_rs_rows_inserted)
        result_set.total_changed.connect(self._on_rs_total_changed)

    def detach(self) -> None:
        """Stop listening to the result set and cancel its loading (the tab is closing)."""
        self._tasks.cancel(self._task_name)
        self._tasks.cancel(self._filter_task_name)
        for sig, cb in (
            (self.rs.rows_inserting, self._on_rs_rows_inserting),
            (self.rs.rows_inserted, self._on_rs_rows_inserted),
            (self.rs.total_changed, self._on_rs_total_changed),
        ):
            if cb in sig._callbacks:
                sig.disconnect(cb)

    # --- shape ------------------------------------------------------------------------------

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid():
            return 0
        return len(self._view) if self._view is not None else self.rs.loaded

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def source_row(self, row: int) -> int:
        return int(self._view[row]) if self._view is not None else row

    # --- data -------------------------------------------------------------------------------

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        if not (0 <= row < self.rowCount() and 0 <= col < len(self._columns)):
            return None
        name = self._columns[col]
        src = self.source_row(row)
        if role == Qt.ItemDataRole.DisplayRole:
            return self.rs.text(src, name)
        if role == Qt.ItemDataRole.ToolTipRole:
            value = self.rs.value(src, name)
            if value is None:
                return f"{name}: MISSING (no value in the archive)"
            zone = getattr(value, "zone", None)
            if zone:
                scale = "TAI" if zone == "TAI" else "UTC"
                return f"{name}: {value} (time scale {scale})"
            return f"{name}: {value}"
        if role == Qt.ItemDataRole.ForegroundRole:
            return _MISSING_BRUSH if self.rs.value(src, name) is None else None
        if role == Qt.ItemDataRole.FontRole:
            return self._missing_font if self.rs.value(src, name) is None else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            value = self.rs.value(src, name)
            return _RIGHT if isinstance(value, int | float) else None
        if role == Role.RAW:
            return self.rs.value(src, name)
        if role == Role.SORT:
            value = self.rs.value(src, name)
            return getattr(value, "seconds", value)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self._columns):
            name = self._columns[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return name
            if role == Qt.ItemDataRole.ToolTipRole:
                info = self.rs.series.keyword(name) if self.rs.series is not None else None
                if info is not None:
                    unit = f" [{info.units}]" if info.units and info.units != "none" else ""
                    return f"{info.name} ({info.type}){unit}\n{info.note}".strip()
                return name
            return None
        if orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return section + 1
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    # --- lazy loading -----------------------------------------------------------------------

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        if parent.isValid():
            return False
        return not self._fetching and self.rs.can_fetch_more

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        self.fetch_page()

    def fetch_page(self) -> asyncio.Task[int] | None:
        """Start loading the next page (no-op while one is loading or at the end)."""
        if self._fetching or not self.rs.can_fetch_more:
            return None
        self._fetching = True

        def done(_result: object) -> None:
            self._fetching = False
            self.progress_changed.emit(self.rs.loaded, self._total())

        return self._tasks.run(
            self.rs.fetch_next(self._page_size),
            name=self._task_name,
            on_success=done,
            on_failure=done,
            context=f"Loading records of {self.rs.recordset}",
            owner=self,
        )

    @property
    def fetching(self) -> bool:
        return self._fetching

    @property
    def sort_column(self) -> str | None:
        return self._sort[0] if self._sort is not None else None

    async def load_all(self) -> int:
        """Load every remaining page (the sort and the filter then cover every record)."""
        while self.rs.can_fetch_more:
            if self._fetching:
                await asyncio.sleep(0.02)
                continue
            self._fetching = True
            try:
                await self.rs.fetch_next(self._page_size)
            finally:
                self._fetching = False
            self.progress_changed.emit(self.rs.loaded, self._total())
        return self.rs.loaded

    def _total(self) -> int:
        return -1 if self.rs.total is None else self.rs.total

    def _on_rs_total_changed(self, _total: int) -> None:
        self.progress_changed.emit(self.rs.loaded, self._total())

    def _on_rs_rows_inserting(self, start: int, count: int) -> None:
        if self._view is None:
            self.beginInsertRows(QModelIndex(), start, start + count - 1)

    def _on_rs_rows_inserted(self, start: int, count: int) -> None:
        if self._view is None:
            self.endInsertRows()
        else:
            new = np.arange(start, start + count, dtype=np.int64)
            if self._filter:
                new = new[self._match_text(start, start + count, self._filter)]
            if len(new):
                first = len(self._view)
                self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
                self._view = np.concatenate([self._view, new])
                self.endInsertRows()
            if self._sort is not None:
                name, order = self._sort
                self._apply_sort(name, order)
        self.progress_changed.emit(self.rs.loaded, self._total())

    # --- sorting ----------------------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort the loaded rows (and every page that arrives later); ``column < 0``
        goes back to the server's order."""
        if column < 0 or column >= len(self._columns):
            self._sort = None
            if self._view is not None:
                self._relayout(np.sort(self._view))
            return
        self._sort = (self._columns[column], order)
        if self.rs.loaded:
            self._apply_sort(self._columns[column], order)

    def _sort_keys(self, name: str) -> tuple[npt.NDArray[Any], npt.NDArray[np.bool_]]:
        col: Column = self.rs.column(name)
        return col.values, col.missing

    def _apply_sort(self, name: str, order: Qt.SortOrder) -> None:
        values, missing = self._sort_keys(name)
        rows = self._view if self._view is not None else np.arange(self.rs.loaded, dtype=np.int64)
        keys = values[rows]
        miss = missing[rows]
        ranked = np.argsort(keys, kind="stable")
        if order == Qt.SortOrder.DescendingOrder:
            ranked = ranked[::-1]
            # keep equal keys in their original order when descending
            ranked = _stable_reverse(keys, ranked)
        ranked = np.concatenate([ranked[~miss[ranked]], ranked[miss[ranked]]])
        new_view = rows[ranked]
        self._relayout(new_view)

    def _relayout(self, new_view: IntArray) -> None:
        old_rows = self._view if self._view is not None else None
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        old_sources = [
            (int(old_rows[p.row()]) if old_rows is not None else p.row(), p.column())
            for p in persistent
        ]
        self._view = new_view.astype(np.int64, copy=False)
        if persistent:
            position = np.full(self.rs.loaded, -1, dtype=np.int64)
            position[self._view] = np.arange(len(self._view), dtype=np.int64)
            new_list = []
            for src, col in old_sources:
                row = int(position[src]) if 0 <= src < len(position) else -1
                new_list.append(self.index(row, col) if row >= 0 else QModelIndex())
            self.changePersistentIndexList(persistent, new_list)
        self.layoutChanged.emit()

    # --- filtering --------------------------------------------------------------------------

    @property
    def filter_text(self) -> str:
        return self._filter

    def set_filter(self, text: str) -> asyncio.Task[None]:
        """Show only rows matching ``text``: comparisons on columns (``QUALITY > 0``), or
        rows where some visible column contains it (case-insensitive)."""
        self._filter = text.strip()
        return self._tasks.run(
            self._compute_filter(self._filter),
            name=self._filter_task_name,
            context="Filtering results",
            owner=self,
        )

    def filter_problem(self) -> str:
        """Why the filter text cannot be applied as a comparison ("" when it can, or when
        it is a plain search text)."""
        try:
            conditions = parse_conditions(self._filter, self._columns) or []
            if self.rs.loaded:
                for cond in conditions:
                    cond.evaluate(self.rs.column(cond.name), 0, 1)
        except ValueError as exc:
            return str(exc)
        return ""

    def _match_text(self, start: int, stop: int, text: str) -> npt.NDArray[np.bool_]:
        """Rows matching ``text``: ``NAME OP VALUE`` comparisons (``QUALITY > 0``,
        ``CRLT_OBS < -2.995``, joined with ``and``), else a substring of any column."""
        try:
            conditions = parse_conditions(text, self._columns)
        except ValueError:
            return np.zeros(stop - start, dtype=bool)
        if conditions is None:
            return self._match(start, stop, text.lower())
        mask = np.ones(stop - start, dtype=bool)
        try:
            for cond in conditions:
                mask &= cond.evaluate(self.rs.column(cond.name), start, stop)
        except ValueError:  # a value that does not fit the column (filter_problem says)
            return np.zeros(stop - start, dtype=bool)
        return mask

    async def _compute_filter(self, text: str) -> None:
        await asyncio.sleep(0)
        n = self.rs.loaded
        if not text:
            rows: IntArray | None = None
        else:
            parts = []
            for start in range(0, n, FILTER_CHUNK):
                stop = min(n, start + FILTER_CHUNK)
                mask = self._match_text(start, stop, text)
                parts.append(np.nonzero(mask)[0].astype(np.int64) + start)
                await asyncio.sleep(0)
            rows = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        if self.rs.loaded != n:  # a page arrived meanwhile: start again with it included
            await self._compute_filter(text)
            return
        self.beginResetModel()
        self._view = rows
        self.endResetModel()
        if self._sort is not None and self.rs.loaded:
            name, order = self._sort
            self._apply_sort(name, order)
        self.filter_applied.emit(self.rowCount())

    def _match(self, start: int, stop: int, needle: str) -> npt.NDArray[np.bool_]:
        mask = np.zeros(stop - start, dtype=bool)
        if stop <= start:
            return mask
        for name in self._columns:
            col = self.rs.column(name)
            mask |= _column_contains(col, start, stop, needle)
        return mask

    # --- columns ----------------------------------------------------------------------------

    def set_visible_columns(self, names: Sequence[str]) -> None:
        known = [n for n in names if n in self.rs.column_names]
        if known == self._columns:
            return
        self.beginResetModel()
        self._columns = known
        self.endResetModel()

    # --- copying ----------------------------------------------------------------------------

    def selection_tsv(self, indexes: Sequence[QModelIndex], header: bool = True) -> str:
        """The rectangle spanned by ``indexes`` as tab-separated text (one line per row)."""
        cells = {(i.row(), i.column()) for i in indexes if i.isValid()}
        if not cells:
            return ""
        rows = sorted({r for r, _ in cells})
        cols = sorted({c for _, c in cells})
        lines = []
        if header:
            lines.append("\t".join(self._columns[c] for c in cols))
        for r in rows:
            src = self.source_row(r)
            lines.append(
                "\t".join(
                    self.rs.text(src, self._columns[c]) if (r, c) in cells else "" for c in cols
                )
            )
        return "\n".join(lines) + "\n"


def _stable_reverse(keys: npt.NDArray[Any], ranked: IntArray) -> IntArray:
    """Reversing an ascending stable sort reverses ties too; put ties back in row order."""
    sorted_keys = keys[ranked]
    if len(sorted_keys) < 2:
        return ranked
    boundaries = np.nonzero(sorted_keys[1:] != sorted_keys[:-1])[0] + 1
    groups = np.split(ranked, boundaries)
    if len(groups) == len(ranked):
        return ranked
    return np.concatenate([np.sort(g) for g in groups])


def _column_contains(col: Column, start: int, stop: int, needle: str) -> npt.NDArray[np.bool_]:
    values = col.values[start:stop]
    missing = col.missing[start:stop]
    if col.kind is ColumnKind.TEXT:
        found = np.char.find(np.char.lower(values), needle.encode("utf-8", "replace")) >= 0
    elif col.kind is ColumnKind.INTEGER:
        found = np.char.find(values.astype("U"), needle) >= 0
    elif col.kind is ColumnKind.REAL:
        found = np.char.find(np.char.lower(np.char.mod("%g", values)), needle) >= 0
    else:
        found = np.char.find(np.char.lower(time_texts(col, start, stop)), needle) >= 0
    result: npt.NDArray[np.bool_] = np.where(missing, "missing".find(needle) >= 0, found)
    return result


_EPOCH_MS = np.datetime64("1977-01-01T00:00:00", "ms")
_LEAP_STARTS_TAI = np.array(drmstime.LEAP_STARTS_TAI)
_LEAP_OFFSETS = np.array([off for _, off in drmstime.LEAP_TABLE], dtype=np.float64)


def time_texts(col: Column, start: int, stop: int) -> npt.NDArray[np.str_]:
    """The display texts of a TIME column's rows, vectorised (same as ``col.text(i)`` for
    present values; missing rows give arbitrary text)."""
    secs = np.nan_to_num(col.values[start:stop].astype(np.float64))
    utc = col.style == "iso" or col.zone != "TAI"
    if utc:
        idx = np.searchsorted(_LEAP_STARTS_TAI, secs, side="right") - 1
        secs = secs - np.where(idx >= 0, _LEAP_OFFSETS[np.clip(idx, 0, None)], 10.0)
    decimals = max(0, min(col.decimals, 3))
    # truncate to the printed precision exactly as drmstime prints (same margin)
    ms = np.floor(secs * 10**decimals + drmstime.TRUNCATION_MARGIN) * 10 ** (3 - decimals)
    stamps = _EPOCH_MS + ms.astype("int64").astype("timedelta64[ms]")
    text = np.datetime_as_string(stamps, unit="ms" if decimals else "s")
    if decimals:
        text = np.char.rstrip(text, "0123456789")  # "...:ss." then add the wanted digits
        digits = np.char.zfill(
            (ms.astype("int64") % 1000 // 10 ** (3 - decimals)).astype("U"), decimals
        )
        text = np.char.add(text, digits)
    if col.style == "iso":
        return np.char.add(text, "Z")
    text = np.char.replace(np.char.replace(text, "-", "."), "T", "_")
    return np.char.add(text, "_UTC" if utc else "_TAI")


# --- comparisons in the filter box ----------------------------------------------------------

_CONDITION_RE = re.compile(
    r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op><=|>=|==|!=|<>|=|<|>)\s*(?P<value>.+?)\s*$"
)
_AND_RE = re.compile(r"\s+and\s+|\s*&&\s*|\s*,\s*", re.IGNORECASE)
_OPS: dict[str, Any] = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "=": np.equal,
    "==": np.equal,
    "!=": np.not_equal,
    "<>": np.not_equal,
}


@dataclass(frozen=True)
class Condition:
    """``NAME OP VALUE`` on one loaded column; missing values never match."""

    name: str
    op: str
    value: str

    def evaluate(self, col: Column, start: int, stop: int) -> npt.NDArray[np.bool_]:
        values = col.values[start:stop]
        missing = col.missing[start:stop]
        func = _OPS[self.op]
        if col.kind in (ColumnKind.INTEGER, ColumnKind.REAL):
            try:
                number = float(self.value)
            except ValueError:
                raise ValueError(f"{self.name} is a number: {self.value!r} is not") from None
            found = func(values.astype(np.float64), number)
        elif col.kind is ColumnKind.TIME:
            try:
                seconds = drmstime.parse_time_seconds(self.value)
            except ValueError:
                raise ValueError(f"{self.name} is a time: {self.value!r} is not") from None
            found = func(values.astype(np.float64), seconds)
        else:
            texts = np.char.lower(np.char.decode(values, "utf-8", "replace"))
            found = func(texts, self.value.strip("'\"").lower())
        result: npt.NDArray[np.bool_] = np.asarray(found, dtype=bool) & ~missing
        return result


def parse_conditions(text: str, columns: Sequence[str]) -> list[Condition] | None:
    """The comparisons in a filter text, or None when it is a plain search text.

    Raises :class:`ValueError` saying why for a comparison that names no shown column."""
    text = text.strip()
    if not text or not re.search(r"[<>=!]", text):
        return None
    by_lower = {c.lower(): c for c in columns}
    out: list[Condition] = []
    for part in _AND_RE.split(text):
        m = _CONDITION_RE.match(part)
        if m is None:
            raise ValueError(f"Not a comparison: {part!r} (write e.g. QUALITY > 0)")
        name = by_lower.get(m["name"].lower())
        if name is None:
            raise ValueError(f"{m['name']} is not a shown column (add it with Columns…)")
        out.append(Condition(name, m["op"], m["value"]))
    return out
