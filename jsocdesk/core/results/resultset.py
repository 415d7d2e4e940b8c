"""A lazily loaded, columnar listing of the records of one record set.

``ResultSet`` asks ``rs_summary`` for the total, then loads pages of rows on demand with
:meth:`ResultSet.fetch_next`.  Rows are stored as typed numpy columns per page, so memory
grows with the rows loaded (about 8 bytes per numeric value) and a million rows are fine.

Paging.  JSOC's ``rs_list`` has no offset, only ``n=`` (first n, or last n when negative).
Pages after the first are therefore asked for as *record ranges*: the record set plus a
``[? recnum > LAST ?]`` clause, ``n=page``, with ``*recnum*`` requested alongside the
columns.  That is exact when the server lists records in record-number order, which the
result set checks on every page (record numbers must increase strictly and continue after
the previous page).  When the check fails, or the record set cannot take an extra clause
(several comma-separated sets, or it already has a ``[? ... ?]`` clause), or the server
does not know ``recnum`` in where clauses, the result set falls back to exact ``n=`` forms:
the last page (and :meth:`ResultSet.fetch_all`) asks for the last ``remaining`` records
(``n=-remaining``); other pages ask for the first ``loaded + page`` records and keep the
tail (more transfer, same result), until ``loaded`` reaches four pages, when the rest comes
in one request (so the transfer stays linear in the listing; memory stays proportional to
the rows loaded).
"""

from __future__ import annotations

import asyncio
import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from jsocdesk.core.errors import ProtocolError
from jsocdesk.core.events import Signal
from jsocdesk.core.jsoc.columns import Column, DrmsTime
from jsocdesk.core.seriesinfo import SeriesInfo

if TYPE_CHECKING:
    from jsocdesk.core.jsoc.client import JsocClient
    from jsocdesk.core.jsoc.protocol import QueryResult

RECNUM = "*recnum*"
#: Without record ranges, pages are windows ``n=loaded+page``; once ``loaded`` reaches this
#: many pages, the rest comes in one request instead (keeps the total transfer linear).
_WINDOW_LIMIT = 4
_SEGMENT_SUFFIX = re.compile(r"\{[^{}]*\}\s*$")


@dataclass(frozen=True)
class _Page:
    start: int
    count: int
    columns: dict[str, Column]


def with_recnum_floor(recordset: str, last_recnum: int) -> str | None:
    """``recordset`` restricted to records after ``last_recnum``, or ``None`` if unsafe."""
    text = recordset.strip()
    if "[?" in text or _top_level_comma(text):
        return None
    m = _SEGMENT_SUFFIX.search(text)
    clause = f"[? recnum > {int(last_recnum)} ?]"
    if m:
        return text[: m.start()].rstrip() + clause + text[m.start() :]
    return text + clause


def _top_level_comma(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            return True
    return False


class ResultSet:
    """Rows of ``recordset`` with columns ``keys`` (+ ``segments``), loaded page by page.

    Events (Qt models translate them one to one): ``rows_inserting(start, count)`` /
    ``rows_inserted(start, count)`` around every page, ``total_changed(total)``.
    """

    def __init__(
        self,
        client: JsocClient,
        recordset: str,
        keys: Iterable[str] = (),
        segments: Iterable[str] = (),
        *,
        page_size: int = 5000,
        series: SeriesInfo | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be >= 1")
        self.client = client
        self.recordset = recordset.strip()
        self.keys = [k for k in keys if k]
        self.segments = [s for s in segments if s]
        if not (self.keys or self.segments):
            raise ValueError("a result set needs at least one key or segment")
        self.page_size = page_size
        self.series = series
        self.total: int | None = None
        self.rows_inserting = Signal("rows_inserting")
        self.rows_inserted = Signal("rows_inserted")
        self.total_changed = Signal("total_changed")
        self._pages: list[_Page] = []
        self._starts: list[int] = []
        self._loaded = 0
        self._last_recnum: int | None = None
        self._ranges_ok = True
        self._all = False
        self._done = False
        self._cache: dict[str, Column] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[object] | None = None

    def __repr__(self) -> str:
        return (
            f"<ResultSet {self.recordset!r} loaded={self._loaded} total={self.total} "
            f"pages={len(self._pages)}>"
        )

    # --- state -----------------------------------------------------------------------------

    @property
    def column_names(self) -> list[str]:
        return [*self.keys, *self.segments]

    @property
    def loaded(self) -> int:
        return self._loaded

    def __len__(self) -> int:
        return self._loaded

    @property
    def at_end(self) -> bool:
        return self._done or (self.total is not None and self._loaded >= self.total)

    @property
    def can_fetch_more(self) -> bool:
        return not self.at_end

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for p in self._pages for c in p.columns.values())

    # --- loading ---------------------------------------------------------------------------

    async def fetch_count(self) -> int:
        total = await self.client.count(self.recordset)
        self.total = total
        self.total_changed.emit(total)
        if total == 0:
            self._done = True
        return total

    async def fetch_next(self, n: int | None = None) -> int:
        """Load up to ``n`` (default: ``page_size``) more rows; returns how many arrived."""
        async with self._lock:
            self._task = asyncio.current_task()
            try:
                return await self._fetch_next(n or self.page_size)
            finally:
                self._task = None

    async def fetch_all(self) -> int:
        """Load every remaining row (the rest in one request once ranges are unusable)."""
        added = 0
        self._all = True
        try:
            while not self.at_end:
                got = await self.fetch_next()
                if got == 0:
                    break
                added += got
        finally:
            self._all = False
        return added

    def cancel(self) -> bool:
        """Cancel the page being loaded (if any); already loaded rows stay."""
        task = self._task
        if task is None or task.done():
            return False
        return task.cancel()

    async def _fetch_next(self, n: int) -> int:
        if self.total is None and self._loaded == 0 and not self._done:
            return await self._first_page(n)
        if self.total is None:
            await self.fetch_count()
        if self.at_end:
            return 0
        if self.series is None and self.keys:
            from jsocdesk.core.jsoc.client import series_name_of

            self.series = await self.client.series_info(series_name_of(self.recordset))
        assert self.total is not None
        remaining = self.total - self._loaded
        want = min(n, remaining)
        if self._loaded == 0:
            return self._append(await self._query(self.recordset, want))
        if self._ranges_ok and self._last_recnum is not None:
            ranged = with_recnum_floor(self.recordset, self._last_recnum)
            if ranged is not None:
                result = await self._query(ranged, want)
                if self._continues(result):
                    return self._append(result)
            self._ranges_ok = False
        if want >= remaining or self._all or self._loaded >= _WINDOW_LIMIT * want:
            # the last ``remaining`` records (n < 0) are exactly the ones not loaded yet
            return self._append(await self._query(self.recordset, -remaining))
        # a window: the first loaded+want records, of which the first ``loaded`` are known
        result = await self._query(self.recordset, self._loaded + want)
        return self._append(result, skip=self._loaded)

    async def _first_page(self, n: int) -> int:
        """The first page before any count: when fewer than ``n`` records come back, that
        is the whole record set and its size is the total, so no ``rs_summary`` is needed
        (one request instead of two for every small search; JSOC asks its users to keep
        the load down).  A full page asks for the count as before."""
        if self.series is None and self.keys:
            from jsocdesk.core.jsoc.client import series_name_of

            self.series = await self.client.series_info(series_name_of(self.recordset))
        result = await self._query(self.recordset, n)
        if len(result) < n:
            self.total = len(result)
            self.total_changed.emit(self.total)
            if self.total == 0:
                self._done = True
                return 0
            return self._append(result)
        if await self.fetch_count() == 0:
            return 0
        return self._append(result)  # cut to the count if the archive shrank meanwhile

    async def _query(self, recordset: str, limit: int) -> QueryResult:
        keys = [*self.keys] if any(k.lower() == RECNUM for k in self.keys) else [*self.keys, RECNUM]
        return await self.client.query(
            recordset, keys, self.segments, limit=limit, series=self.series
        )

    def _recnums(self, result: QueryResult) -> np.ndarray | None:
        for name, col in result.keywords.items():
            if name.lower() == RECNUM:
                return col.values if not bool(col.missing.any()) else None
        return None

    def _continues(self, result: QueryResult) -> bool:
        rec = self._recnums(result)
        if rec is None or len(rec) == 0:
            return False
        if self._last_recnum is not None and int(rec[0]) <= self._last_recnum:
            return False
        return bool(len(rec) < 2 or (np.diff(rec) > 0).all())

    def _append(self, result: QueryResult, skip: int = 0) -> int:
        count = len(result) - skip
        if count <= 0:
            self._done = True
            return 0
        if self.total is not None and self._loaded + count > self.total:
            # the archive grew since the count; keep what the total promised
            count = self.total - self._loaded
        rec = self._recnums(result)
        if rec is not None and self._ranges_ok:
            if not (len(rec) < 2 or bool((np.diff(rec) > 0).all())):
                self._ranges_ok = False
            self._last_recnum = int(rec[skip + count - 1])
        columns: dict[str, Column] = {}
        by_lower = {k.lower(): v for k, v in result.columns.items()}
        for name in self.column_names:
            col = result.columns.get(name) or by_lower.get(name.lower())
            if col is None:
                raise ProtocolError(f"rs_list answer has no column {name!r}")
            columns[name] = col if len(col) == count else col.take(skip, skip + count)
        start = self._loaded
        self.rows_inserting.emit(start, count)
        self._pages.append(_Page(start, count, columns))
        self._starts.append(start)
        self._loaded += count
        self._cache.clear()
        self.rows_inserted.emit(start, count)
        return count

    # --- reading ---------------------------------------------------------------------------

    def column(self, name: str) -> Column:
        """All loaded rows of one column (concatenated once, then cached)."""
        col = self._cache.get(name)
        if col is None:
            if name not in self.column_names:
                raise KeyError(name)
            if not self._pages:
                raise LookupError("no rows loaded")
            col = Column.concat([p.columns[name] for p in self._pages])
            self._cache[name] = col
        return col

    def columns_since(self, start: int, names: Sequence[str] | None = None) -> dict[str, Column]:
        """The rows from ``start`` on of ``names`` (default: all), concatenating only the
        pages that hold them: what a consumer following ``rows_inserted`` needs without
        copying the whole listing again for every page."""
        wanted = list(names or self.column_names)
        i = max(0, bisect.bisect_right(self._starts, start) - 1)
        pages = self._pages[i:]
        if not pages or start >= self._loaded:
            raise LookupError(f"no rows loaded from {start}")
        skip = start - pages[0].start
        out: dict[str, Column] = {}
        for name in wanted:
            col = Column.concat([p.columns[name] for p in pages])
            out[name] = col.take(skip, len(col)) if skip else col
        return out

    def _locate(self, row: int) -> tuple[_Page, int]:
        if not 0 <= row < self._loaded:
            raise IndexError(row)
        i = bisect.bisect_right(self._starts, row) - 1
        page = self._pages[i]
        return page, row - page.start

    def value(self, row: int, name: str) -> int | float | str | DrmsTime | None:
        page, i = self._locate(row)
        return page.columns[name].value(i)

    def text(self, row: int, name: str) -> str:
        page, i = self._locate(row)
        return page.columns[name].text(i)

    def row_texts(self, row: int, names: Sequence[str] | None = None) -> list[str]:
        page, i = self._locate(row)
        return [page.columns[n].text(i) for n in (names or self.column_names)]
