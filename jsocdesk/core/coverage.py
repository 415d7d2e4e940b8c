"""Coverage of a query over time: records per bin, gaps, flagged and image-less records.

Fed by a cheap listing of two keywords, ``T_REC`` and ``QUALITY``, loaded page by page
through the client's fast path (:class:`~jsocdesk.core.results.resultset.ResultSet`: columnar
pages parsed off the event loop), so a million records cost two numbers each and the loading
can be cancelled between pages.  Binning is vectorised (``np.bincount``).

* bins are chosen from the span (:func:`choose_bin`): 1 minute to 30 days, about
  :data:`TARGET_BINS` of them;
* a *gap* is a bin without records inside the span;
* *flagged* records have ``QUALITY != 0``; *no image* ones have the ``0x80000000`` bit set
  (JSOC's ``drms.image_exists(quality)`` is false: they are dropped from exports).

Times are DRMS seconds (TAI since 1977.01.01), as the listing's time columns hold them;
:func:`to_unix` converts them for a date axis (UTC, leap seconds applied).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from jsocdesk.core import drmstime

if TYPE_CHECKING:
    from jsocdesk.core.jsoc.client import JsocClient
    from jsocdesk.core.seriesinfo import SeriesInfo

__all__ = [
    "NICE_BINS",
    "NO_IMAGE_BIT",
    "TARGET_BINS",
    "Coverage",
    "CoverageListing",
    "bin_label",
    "bin_records",
    "choose_bin",
    "from_unix",
    "load_listing",
    "to_unix",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Bin widths to choose from (seconds): minutes to days.
NICE_BINS: tuple[int, ...] = (
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
    2 * 86400,
    7 * 86400,
    30 * 86400,
)
#: About this many bins over a span.
TARGET_BINS = 400
#: QUALITY bit meaning "no image" (``drms.image_exists`` is false).
NO_IMAGE_BIT = 0x80000000
#: Rows per listing page (two numbers each).
LISTING_PAGE = 50_000
#: Most bins one coverage holds (a typo guard: a 30-day bin over 1000 years).
MAX_BINS = 100_000

_DRMS_EPOCH_UNIX = -(drmstime.EPOCH - datetime(1970, 1, 1)).total_seconds()
_LEAPS_TAI = np.array(drmstime.LEAP_STARTS_TAI, dtype=np.float64)
_LEAP_OFFSETS = np.array([off for _, off in drmstime.LEAP_TABLE], dtype=np.float64)


def to_unix(seconds: npt.ArrayLike) -> FloatArray:
    """DRMS TAI seconds → Unix seconds (UTC), vectorised."""
    s = np.asarray(seconds, dtype=np.float64)
    i = np.searchsorted(_LEAPS_TAI, s, side="right") - 1
    offset = np.where(i >= 0, _LEAP_OFFSETS[np.clip(i, 0, None)], 10.0)
    out: FloatArray = s - offset - _DRMS_EPOCH_UNIX
    return out


def from_unix(unix: npt.ArrayLike) -> FloatArray:
    """Unix seconds (UTC) → DRMS TAI seconds (inverse of :func:`to_unix`)."""
    u = np.asarray(unix, dtype=np.float64) + _DRMS_EPOCH_UNIX
    # a UTC instant's offset: the leap entries whose UTC start is at or before it
    starts_utc = _LEAPS_TAI - _LEAP_OFFSETS
    i = np.searchsorted(starts_utc, u, side="right") - 1
    offset = np.where(i >= 0, _LEAP_OFFSETS[np.clip(i, 0, None)], 10.0)
    out: FloatArray = u + offset
    return out


def choose_bin(span: float, target: int = TARGET_BINS) -> int:
    """The smallest nice bin width giving at most ``target`` bins over ``span`` seconds."""
    for width in NICE_BINS:
        if span / width <= target:
            return width
    return NICE_BINS[-1]


def bin_label(seconds: float) -> str:
    """``1 min``, ``15 min``, ``2 h``, ``1 d``, ``7 d``."""
    if seconds < 3600:
        return f"{seconds / 60:g} min"
    if seconds < 86400:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 86400:g} d"


@dataclass(frozen=True)
class Coverage:
    """Records per bin from ``start`` in steps of ``bin_seconds`` (DRMS seconds)."""

    start: float
    bin_seconds: float
    counts: IntArray
    flagged: IntArray
    no_image: IntArray

    @property
    def n_bins(self) -> int:
        return len(self.counts)

    @property
    def end(self) -> float:
        return self.start + self.n_bins * self.bin_seconds

    @property
    def edges(self) -> FloatArray:
        return self.start + self.bin_seconds * np.arange(self.n_bins + 1, dtype=np.float64)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    @property
    def gaps(self) -> npt.NDArray[np.bool_]:
        empty: npt.NDArray[np.bool_] = self.counts == 0
        return empty

    def gap_runs(self) -> list[tuple[float, float]]:
        """(start, end) of every run of empty bins, in DRMS seconds."""
        empty = np.concatenate([[False], self.gaps, [False]])
        change = np.flatnonzero(np.diff(empty.astype(np.int8)))
        starts, stops = change[0::2], change[1::2]
        return [
            (self.start + a * self.bin_seconds, self.start + b * self.bin_seconds)
            for a, b in zip(starts.tolist(), stops.tolist(), strict=True)
        ]

    def summary(self) -> str:
        gaps = len(self.gap_runs())
        parts = [f"{self.total:,} records", f"{bin_label(self.bin_seconds)} bins"]
        parts.append(f"{gaps} gap{'s' if gaps != 1 else ''}")
        flagged, no_image = int(self.flagged.sum()), int(self.no_image.sum())
        if flagged:
            parts.append(f"{flagged:,} with QUALITY ≠ 0")
        if no_image:
            parts.append(f"{no_image:,} without image")
        return " · ".join(parts)


def bin_records(
    times: npt.ArrayLike,
    quality: npt.ArrayLike | None,
    start: float,
    end: float,
    bin_seconds: float | None = None,
    *,
    target: int = TARGET_BINS,
) -> Coverage:
    """Bin record times (DRMS seconds) over ``[start, end]`` (a record at ``end`` counts in
    the last bin); records outside are ignored."""
    if not end > start:
        end = start + 60.0
    width = float(bin_seconds or choose_bin(end - start, target))
    n = min(MAX_BINS, max(1, int(np.ceil((end - start) / width))))
    t = np.asarray(times, dtype=np.float64)
    inside = (t >= start) & (t <= end)  # both ends inclusive, like a Time node
    where = np.clip(np.floor((t[inside] - start) / width), 0, n - 1).astype(np.int64)
    counts = np.bincount(where, minlength=n)[:n].astype(np.int64)
    if quality is None:
        zeros = np.zeros(n, dtype=np.int64)
        return Coverage(start, width, counts, zeros, zeros.copy())
    q = np.asarray(quality, dtype=np.int64)[inside]
    flagged = np.bincount(where[q != 0], minlength=n)[:n].astype(np.int64)
    no_image = np.bincount(where[(q & NO_IMAGE_BIT) != 0], minlength=n)[:n].astype(np.int64)
    return Coverage(start, width, counts, flagged, no_image)


class CoverageListing:
    """``T_REC`` (DRMS seconds) and ``QUALITY`` of the records of a record set, gathered page
    by page (:meth:`add`); the arrays are joined once, when first read.

    :meth:`coverage` bins it: when the times are sorted (JSOC lists in prime-key order) the
    bin counts are differences of ``searchsorted`` positions, so re-binning a million
    records for a zoom costs microseconds; otherwise ``bincount``.
    """

    def __init__(self, record_set: str, total: int = 0) -> None:
        self.record_set = record_set
        self.total = total
        self._chunks: list[tuple[FloatArray, IntArray | None]] = []
        self._joined: tuple[FloatArray, IntArray | None] | None = None
        self._index: tuple[FloatArray, FloatArray, FloatArray] | None = None

    def __len__(self) -> int:
        return sum(len(t) for t, _ in self._chunks)

    def add(self, times: npt.ArrayLike, quality: npt.ArrayLike | None) -> None:
        t = np.asarray(times, dtype=np.float64)
        q = None if quality is None else np.asarray(quality, dtype=np.int64)
        self._chunks.append((t, q))
        self._joined = None
        self._index = None

    def _join(self) -> tuple[FloatArray, IntArray | None]:
        if self._joined is None:
            if not self._chunks:
                self._joined = (np.zeros(0), None)
            else:
                times = np.concatenate([t for t, _ in self._chunks])
                qs = [q for _, q in self._chunks if q is not None]
                quality: IntArray | None = None
                if len(qs) == len(self._chunks):
                    quality = np.concatenate(qs)
                self._joined = (times, quality)
                self._chunks = [self._joined]
        return self._joined

    @property
    def times(self) -> FloatArray:
        return self._join()[0]

    @property
    def quality(self) -> IntArray | None:
        return self._join()[1]

    @property
    def span(self) -> tuple[float, float]:
        t = self.times
        t = t[np.isfinite(t)]
        if len(t) == 0:
            return (0.0, 60.0)
        return (float(t.min()), float(t.max()))

    def _sorted_index(self) -> tuple[FloatArray, FloatArray, FloatArray] | None:
        """(times, times of flagged records, times of image-less records), if sorted."""
        if self._index is None:
            times, quality = self._join()
            if len(times) > 1 and not bool((np.diff(times) >= 0).all()):
                return None
            q = quality if quality is not None else np.zeros(len(times), dtype=np.int64)
            self._index = (times, times[q != 0], times[(q & NO_IMAGE_BIT) != 0])
        return self._index

    def coverage(
        self,
        start: float,
        end: float,
        bin_seconds: float | None = None,
        *,
        target: int = TARGET_BINS,
    ) -> Coverage:
        """The records over ``[start, end]`` in bins (see :func:`bin_records`)."""
        index = self._sorted_index()
        if index is None:
            return bin_records(self.times, self.quality, start, end, bin_seconds, target=target)
        if not end > start:
            end = start + 60.0
        width = float(bin_seconds or choose_bin(end - start, target))
        n = min(MAX_BINS, max(1, int(np.ceil((end - start) / width))))
        edges = start + width * np.arange(n + 1, dtype=np.float64)
        edges[-1] = max(edges[-1], end)

        def counts(t: FloatArray) -> IntArray:
            pos = np.searchsorted(t, edges, side="left")
            pos[-1] = np.searchsorted(t, end, side="right")  # the end is inclusive
            out: IntArray = np.diff(pos).astype(np.int64)
            return out

        times, flagged, no_image = index
        return Coverage(start, width, counts(times), counts(flagged), counts(no_image))


def _time_key(info: SeriesInfo | None) -> str:
    if info is not None:
        for name in ("T_REC", "T_OBS"):
            if info.keyword(name) is not None:
                return name
        for pk in info.primekeys:
            kw = info.keyword(pk)
            if kw is not None and kw.is_time:
                return pk
    return "T_REC"


async def load_listing(
    client: JsocClient,
    record_set: str,
    info: SeriesInfo | None = None,
    *,
    page: int = LISTING_PAGE,
    on_page: Callable[[CoverageListing, FloatArray, IntArray | None], Any] | None = None,
) -> CoverageListing:
    """List the time and QUALITY of every record, page by page (cancel the task to stop).

    ``on_page(listing, times, quality)`` sees each new page's values (the listing so far
    holds them too), so a consumer can bin just the new records.
    """
    from jsocdesk.core.results.resultset import ResultSet

    if info is None:
        from jsocdesk.core.jsoc.client import series_name_of

        info = await client.series_info(series_name_of(record_set))
    tkey = _time_key(info)
    keys = [tkey] + (["QUALITY"] if info is not None and info.keyword("QUALITY") else [])
    rs = ResultSet(client, record_set, keys, page_size=page, series=info)
    total = await rs.fetch_count()
    listing = CoverageListing(record_set, total)
    while not rs.at_end:
        start = rs.loaded
        got = await rs.fetch_next()
        if got == 0:
            break
        cols = rs.columns_since(start)
        tcol = cols[tkey]
        times = np.where(tcol.missing, np.nan, tcol.values).astype(np.float64)
        quality = None
        if "QUALITY" in cols:
            qcol = cols["QUALITY"]
            quality = np.where(qcol.missing, 0, qcol.values).astype(np.int64)
        listing.add(times, quality)
        if on_page is not None:
            on_page(listing, times, quality)
        await asyncio.sleep(0)
    return listing
