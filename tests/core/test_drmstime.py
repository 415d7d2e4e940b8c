from __future__ import annotations

import pytest
from astropy.time import Time

from jsocdesk.core import drmstime as dt
from jsocdesk.core.errors import TimeFormatError


@pytest.mark.parametrize(
    ("utc", "tai"),
    [
        ("2014-01-01T00:00:00", "2014.01.01_00:00:35_TAI"),  # 35 s in 2014
        ("2012-01-01T00:00:00", "2012.01.01_00:00:34_TAI"),  # 34 s before mid-2012
        ("2016-01-01T00:00:00", "2016.01.01_00:00:36_TAI"),
        ("2017-01-01T00:00:00", "2017.01.01_00:00:37_TAI"),  # just after the 2016 leap second
        ("2016-12-31T23:59:59", "2017.01.01_00:00:35_TAI"),  # 36 s before it
        ("2020-01-01T01:00:36", "2020.01.01_01:01:13_TAI"),
    ],
)
def test_utc_to_tai_matches_drms_leap_table(utc: str, tai: str) -> None:
    secs = dt.parse_time_seconds(utc)
    assert dt.format_tai(secs) == tai
    # and astropy agrees
    assert dt.format_tai(dt.from_astropy(Time(utc, scale="utc"))) == tai


def test_leap_second_itself_is_distinct() -> None:
    a = dt.parse_time_seconds("2016-12-31T23:59:59Z")
    b = dt.parse_time_seconds("2016-12-31T23:59:60Z")
    c = dt.parse_time_seconds("2017-01-01T00:00:00Z")
    assert (b - a, c - b) == (1, 1)


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("2014.01.01_00:00:45_TAI", "2014.01.01_00:00:45_TAI"),
        ("2010.05.01_TAI", "2010.05.01_00:00:00_TAI"),
        ("2013.07.03_08:42_TAI", "2013.07.03_08:42:00_TAI"),
        ("2020-10-17_22:12:00_TAI", "2020.10.17_22:12:00_TAI"),
        ("2014-01-01T00:00:01Z", "2014.01.01_00:00:36_TAI"),
        ("2025-01-01T04:33:30.000", "2025.01.01_04:34:07_TAI"),
    ],
)
def test_parse_forms(text: str, printed: str) -> None:
    assert dt.format_tai(dt.parse_time_seconds(text)) == printed


def test_iso_printing_is_utc() -> None:
    secs = dt.parse_time_seconds("2014.01.01_00:00:36_TAI")
    assert dt.format_utc_iso(secs) == "2014-01-01T00:00:01Z"
    assert dt.format_utc_iso(secs + 0.2, decimals=2) == "2014-01-01T00:00:01.20Z"


def test_astropy_roundtrip_keeps_scale() -> None:
    secs = dt.parse_time_seconds("2014.01.01_00:00:45_TAI")
    t = dt.to_astropy(secs, "utc")
    assert isinstance(t, Time)
    assert t.scale == "utc"
    assert t.isot == "2014-01-01T00:00:10.000"
    assert dt.from_astropy(t) == pytest.approx(secs, abs=1e-6)


@pytest.mark.parametrize("bad", ["", "foo", "1600", "2014.13.01_TAI", "2014.01.01_25:00_TAI"])
def test_bad_times_raise_typed(bad: str) -> None:
    with pytest.raises(TimeFormatError):
        dt.parse_time_seconds(bad)


@pytest.mark.parametrize(
    ("text", "secs"), [("3m", 180), ("90.0s", 90), ("6h", 21600), ("1d", 86400), ("600", 600)]
)
def test_durations(text: str, secs: float) -> None:
    assert dt.parse_duration(text) == secs


@pytest.mark.parametrize(
    ("text", "decimals"),
    [
        ("2014-01-01T00:00:01.10Z", 2),
        ("2013-12-31T23:59:39.20Z", 2),
        ("2025-06-30T12:34:56.99Z", 2),
        ("2014-01-01T00:00:01.5Z", 1),
    ],
)
def test_fractional_seconds_survive_printing(text: str, decimals: int) -> None:
    assert dt.format_utc_iso(dt.parse_time_seconds(text), decimals) == text
