"""Vectorised display texts used by the results filter match the column's own texts."""

from __future__ import annotations

import numpy as np
import pytest

from jsocdesk.core.jsoc.columns import ColumnKind, to_column
from jsocdesk.gui.results.model import time_texts


@pytest.mark.parametrize(
    "raw",
    [
        # HMI T_REC (TAI) around the 2012 and 2017 leap seconds, with a MISSING value
        [
            "2014.01.01_00:00:45_TAI",
            "2017.01.01_00:00:36_TAI",
            "MISSING",
            "2012.06.30_23:59:59_TAI",
        ],
        # AIA T_REC, ISO in UTC
        ["2014-01-01T00:00:01Z", "2016-12-31T23:59:59Z", "2014-01-01T00:00:13Z"],
        # AIA T_OBS / HMI DATE__OBS with hundredths
        ["2014-01-01T00:00:01.10Z", "2013-12-31T23:59:39.20Z"],
        ["2014.01.01_00:00:45.5_TAI", "2014.01.01_00:00:46.0_TAI"],
    ],
)
def test_time_texts_match_column_text(raw: list[str]) -> None:
    col = to_column("T", ColumnKind.TIME, np.array([r.encode() for r in raw]))
    texts = time_texts(col, 0, len(col))
    for i in range(len(col)):
        if not col.is_missing(i):
            assert texts[i] == col.text(i)
            if col.decimals == 0:
                assert texts[i] == raw[i]
