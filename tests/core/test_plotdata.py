"""Keyword plot data: numeric columns and peak-preserving downsampling with row numbers."""

from __future__ import annotations

import numpy as np

from jsocdesk.core.jsoc.columns import Column, ColumnKind
from jsocdesk.core.plotdata import numeric_values, order_by_x, peak_rows


def test_small_series_are_drawn_whole_in_x_order() -> None:
    x = np.array([3.0, 1.0, np.nan, 2.0])
    y = np.array([30.0, 10.0, 5.0, np.nan])
    assert order_by_x(x).tolist() == [1, 3, 0]
    assert peak_rows(x, y).tolist() == [1, 0]  # NaN x or y are left out


def test_a_million_points_keep_every_spike_and_their_rows() -> None:
    rng = np.random.default_rng(1)
    n = 1_000_000
    x = np.arange(n, dtype=np.float64)
    y = rng.normal(0, 1, n)
    y[123_456] = 50.0
    y[987_654] = -40.0
    rows = peak_rows(x, y, max_points=4000)
    assert len(rows) <= 4002
    assert 123_456 in rows
    assert 987_654 in rows
    assert bool((np.diff(x[rows]) > 0).all())
    # a zoomed window is downsampled again, inside the window only
    part = peak_rows(x, y, lo=100_000, hi=130_000, max_points=1000)
    assert x[part].min() >= 100_000
    assert x[part].max() <= 130_000
    assert 123_456 in part


def test_unsorted_x_is_ordered_first() -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, 50_000)
    y = x * 2
    rows = peak_rows(x, y, max_points=500)
    assert len(rows) <= 502
    assert bool((np.diff(x[rows]) >= 0).all())
    assert int(np.argmax(y)) in rows


def test_numeric_values_mask_missing() -> None:
    col = Column(
        "Q", ColumnKind.INTEGER, np.array([1, 2, 3], dtype=np.int64), np.array([False, True, False])
    )
    v = numeric_values(col)
    assert v[0] == 1.0
    assert np.isnan(v[1])
