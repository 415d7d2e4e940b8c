"""Keyword plots: numeric columns as float arrays, and peak-preserving downsampling that
keeps row numbers (so a clicked point is still its record).

:func:`peak_rows` cuts the x-ordered points into buckets and keeps, per bucket, the rows of
the smallest and the largest y: every spike and dip survives, at most ``max_points`` rows
are drawn whatever the size (a million points become a few thousand), vectorised.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from jsocdesk.core.jsoc.columns import Column, ColumnKind

__all__ = ["MAX_POINTS", "is_plottable", "numeric_values", "order_by_x", "peak_rows"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Points drawn per series at most (two per bucket).
MAX_POINTS = 4000


def is_plottable(col: Column) -> bool:
    return col.kind in (ColumnKind.INTEGER, ColumnKind.REAL, ColumnKind.TIME)


def numeric_values(col: Column) -> FloatArray:
    """The column as float64 (times as DRMS seconds), NaN where missing."""
    if not is_plottable(col):
        raise TypeError(f"column {col.name!r} is not numeric")
    out: FloatArray = np.where(col.missing, np.nan, col.values.astype(np.float64))
    return out


def order_by_x(x: FloatArray) -> IntArray:
    """Rows with a finite x, in x order (stable; already sorted listings cost one pass)."""
    rows = np.flatnonzero(np.isfinite(x)).astype(np.int64)
    xs = x[rows]
    if len(xs) > 1 and not bool((np.diff(xs) >= 0).all()):
        rows = rows[np.argsort(xs, kind="stable")]
    return rows


def peak_rows(
    x: FloatArray,
    y: FloatArray,
    order: IntArray | None = None,
    *,
    lo: float | None = None,
    hi: float | None = None,
    max_points: int = MAX_POINTS,
) -> IntArray:
    """Rows to draw for ``y`` against ``x`` within ``[lo, hi]`` (default: all), at most
    ``max_points``: per bucket of consecutive x, the rows of min and max y."""
    rows = order_by_x(x) if order is None else order
    xs = x[rows]
    a = 0 if lo is None else int(np.searchsorted(xs, lo, side="left"))
    b = len(rows) if hi is None else int(np.searchsorted(xs, hi, side="right"))
    rows = rows[a:b]
    rows = rows[np.isfinite(y[rows])]
    n = len(rows)
    if n <= max_points:
        return rows
    buckets = max(1, max_points // 2)
    k = -(-n // buckets)  # rows per bucket
    m = n // k
    yv = y[rows[: m * k]].reshape(m, k)
    base = np.arange(m, dtype=np.int64) * k
    keep = [base + yv.argmin(axis=1), base + yv.argmax(axis=1)]
    if m * k < n:
        tail = y[rows[m * k :]]
        keep.append(np.array([m * k + int(tail.argmin()), m * k + int(tail.argmax())]))
    picked = np.unique(np.concatenate(keep))
    out: IntArray = rows[picked]
    return out
