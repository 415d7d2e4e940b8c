"""Byte-identity with sunpy: our compiler vs ``JSOCClient._make_recordset`` on random queries.

Runs only where sunpy is installed (it is not a jsocdesk dependency):
``pip install 'sunpy[net]'`` then ``pytest tests/core/test_query_sunpy_parity.py``.  sunpy
asks the demo server (real loopback HTTP, drms' registry entry pointed at it) for the
series metadata, exactly as it would ask JSOC.

Known, deliberate difference (excluded here): sunpy keeps only the last comparison per
keyword name (``Keyword('Q') > 0, Keyword('Q') < 5`` → ``[? Q<'5' ?]``), silently dropping
a condition; jsocdesk keeps both.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator
from typing import Any

import astropy.units as u
import pytest
from astropy.time import Time as ATime

import jsocdesk.core.query as q
from jsocdesk.core.drmstime import parse_time_seconds, seconds_to_tai_calendar
from tests.demo_server import drms_server_config

sunpy_jsoc = pytest.importorskip("sunpy.net.jsoc", reason="sunpy is not installed")


@pytest.fixture(scope="module")
def sunpy_client() -> Iterator[tuple[Any, Any]]:
    import drms
    from sunpy.net.jsoc.attrs import walker

    from jsocdesk.demo.config import DemoConfig
    from jsocdesk.demo.server import DemoServer

    saved = drms.config._server_configs.get("jsoc")
    with DemoServer(DemoConfig()) as demo:
        drms.config._server_configs["jsoc"] = drms_server_config(demo.base_url)
        try:
            yield sunpy_jsoc.JSOCClient(), walker
        finally:
            drms.config._server_configs["jsoc"] = saved


KEYWORDS = {
    "hmi.v_45s": ["QUALITY"],
    "hmi.M_45s": ["QUALITY"],
    "hmi.sharp_720s": ["bitmap_bzero", "continuum_bscale", "QUALITY"],
    "aia.lev1_euv_12s": ["QUALITY", "EXPTIME"],
}
SEGMENTS = {
    "hmi.v_45s": ["Dopplergram"],
    "hmi.M_45s": ["magnetogram"],
    "hmi.sharp_720s": ["magnetogram", "continuum", "bitmap"],
    "aia.lev1_euv_12s": ["image", "spikes"],
}
OPS = ["==", "!=", "<", "<=", ">", ">="]


def _compare(keyword: Any, op: str, value: object) -> Any:
    return {
        "==": keyword.__eq__,
        "!=": keyword.__ne__,
        "<": keyword.__lt__,
        "<=": keyword.__le__,
        ">": keyword.__gt__,
        ">=": keyword.__ge__,
    }[op](value)


def _random_pair(rng: random.Random) -> tuple[q.Node, list[Any]]:
    from sunpy.net import attrs as a

    series = rng.choice(list(KEYWORDS))
    ours: list[q.Node] = [q.Series(series)]
    theirs: list[Any] = [a.jsoc.Series(series)]
    lo = parse_time_seconds("2000.01.01_00:00:00_TAI")
    hi = parse_time_seconds("2025.01.01_00:00:00_TAI")
    start = rng.uniform(lo, hi)
    end = start + rng.uniform(0, 86400)
    scale = rng.choice(["utc", "tai", "tt"])
    t0 = getattr(ATime(seconds_to_tai_calendar(start), scale="tai"), scale)
    t1 = getattr(ATime(seconds_to_tai_calendar(end), scale="tai"), scale)
    use_time = rng.random() < 0.85
    if use_time:
        ours.append(q.Time(t0, t1))
        theirs.append(a.Time(t0, t1))
        if rng.random() < 0.5:
            smp = rng.choice([10 * u.min, 90 * u.s, 12 * u.s, 0.5 * u.h, 1 * u.d, 45.5 * u.s])
            ours.append(q.Sample(smp))
            theirs.append(a.Sample(smp))
    if series == "aia.lev1_euv_12s" and (rng.random() < 0.6 or not use_time):
        w = rng.choice([171 * u.AA, 17.1 * u.nm, 304 * u.AA, 193.5 * u.AA, 9.4 * u.nm])
        ours.append(q.Wavelength(w))
        theirs.append(a.Wavelength(w))
    if series == "hmi.sharp_720s" and (rng.random() < 0.5 or not use_time):
        v = str(rng.randint(1, 9999))
        ours.append(q.PrimeKey("HARPNUM", v))
        theirs.append(a.jsoc.PrimeKey("HARPNUM", v))
    if series.endswith("45s") and (rng.random() < 0.3 or not use_time):
        ours.append(q.PrimeKey("CAMERA", "2"))
        theirs.append(a.jsoc.PrimeKey("CAMERA", "2"))
    names = rng.sample(KEYWORDS[series], rng.randint(0, min(2, len(KEYWORDS[series]))))
    for name in names:
        op, value = rng.choice(OPS), rng.choice([0, 1, 2.5, "x"])
        ours.append(_compare(q.Keyword(name), op, value))
        theirs.append(_compare(a.jsoc.Keyword(name), op, value))
    for seg in rng.sample(SEGMENTS[series], rng.randint(0, len(SEGMENTS[series]))):
        ours.append(q.Segment(seg))
        theirs.append(a.jsoc.Segment(seg))
    return q.And(*ours), theirs


def test_random_queries_compile_byte_identically(sunpy_client: tuple[Any, Any]) -> None:
    from sunpy.net.attr import AttrAnd

    from jsocdesk.demo.series import series_info

    client, walker = sunpy_client
    rng = random.Random(20140101)
    for _ in range(200):
        ours, theirs = _random_pair(rng)
        blocks = walker.create(AttrAnd(theirs))
        expected = [client._make_recordset(**copy.deepcopy(dict(b))) for b in blocks]
        assert q.record_sets(ours, series_info) == expected


def test_or_blocks_match_sunpy_order(sunpy_client: tuple[Any, Any]) -> None:
    from sunpy.net import attrs as a
    from sunpy.net.attr import and_

    from jsocdesk.demo.series import series_info

    client, walker = sunpy_client
    hour = ("2014-01-01T00:00:00", "2014-01-01T01:00:00")
    day2 = ("2014-01-02T00:00:00", "2014-01-02T01:00:00")
    cases = [
        (
            (a.Time(*hour), a.jsoc.Series("hmi.v_45s") | a.jsoc.Series("aia.lev1_euv_12s")),
            q.Time(*hour) & (q.Series("hmi.v_45s") | q.Series("aia.lev1_euv_12s")),
        ),
        (
            (a.Time(*hour) | a.Time(*day2), a.jsoc.Series("hmi.v_45s")),
            (q.Time(*hour) | q.Time(*day2)) & q.Series("hmi.v_45s"),
        ),
        (
            (
                a.Time(*hour),
                a.jsoc.Series("aia.lev1_euv_12s"),
                a.Wavelength(304 * u.AA) | a.Wavelength(171 * u.AA),
            ),
            q.Time(*hour)
            & q.Series("aia.lev1_euv_12s")
            & (q.Wavelength(304 * u.AA) | q.Wavelength(171 * u.AA)),
        ),
    ]
    for theirs, ours in cases:
        blocks = walker.create(and_(*theirs))
        expected = [client._make_recordset(**copy.deepcopy(dict(b))) for b in blocks]
        assert q.record_sets(ours, series_info) == expected


def test_validation_messages_match_sunpy(sunpy_client: tuple[Any, Any]) -> None:
    from sunpy.net import attrs as a
    from sunpy.net.attr import AttrAnd

    from jsocdesk.demo.series import series_info

    client, walker = sunpy_client
    hour = ("2014-01-01T00:00:00", "2014-01-01T01:00:00")
    sharp, v45, aia = "hmi.sharp_720s", "hmi.v_45s", "aia.lev1_euv_12s"
    cases: list[tuple[list[Any], list[q.Node]]] = [
        ([a.jsoc.Keyword("bitmap_bzero")], [q.Keyword("bitmap_bzero")]),
        ([a.jsoc.Keyword("bac") == 0], [q.Keyword("bac") == 0]),
        ([a.jsoc.Segment("image")], [q.Segment("image")]),
        ([a.jsoc.PrimeKey("CAMERA", "2")], [q.PrimeKey("CAMERA", "2")]),
    ]
    for extra_theirs, extra_ours in cases:
        theirs = [a.Time(*hour), a.jsoc.Series(sharp), *extra_theirs]
        ours = [q.Time(*hour), q.Series(sharp), *extra_ours]
        cases_msg = _sunpy_error(client, walker, AttrAnd(theirs))
        assert q.validate(q.And(*ours), series_info)[0].message == cases_msg
    more: list[tuple[list[Any], list[q.Node]]] = [
        (
            [a.Time(*hour), a.jsoc.Series(v45), a.Wavelength(304 * u.AA)],
            [q.Time(*hour), q.Series(v45), q.Wavelength(304 * u.AA)],
        ),
        (
            [a.Time(*hour), a.jsoc.Series(aia), a.Wavelength(171 * u.AA, 193 * u.AA)],
            [q.Time(*hour), q.Series(aia), q.Wavelength(171 * u.AA, 193 * u.AA)],
        ),
        (
            [a.Time(*hour), a.jsoc.Series(v45), a.jsoc.PrimeKey("T_REC", "2014.01.01_TAI")],
            [q.Time(*hour), q.Series(v45), q.PrimeKey("T_REC", "2014.01.01_TAI")],
        ),
        (
            [
                a.Time(*hour),
                a.jsoc.Series(aia),
                a.Wavelength(171 * u.AA),
                a.jsoc.PrimeKey("WAVELNTH", "171"),
            ],
            [q.Time(*hour), q.Series(aia), q.Wavelength(171 * u.AA), q.PrimeKey("WAVELNTH", "171")],
        ),
        (
            [a.jsoc.Series(v45), a.jsoc.Segment("Dopplergram")],
            [q.Series(v45), q.Segment("Dopplergram")],
        ),
    ]
    for theirs, ours in more:
        expected = _sunpy_error(client, walker, AttrAnd(theirs))
        assert q.validate(q.And(*ours), series_info)[0].message == expected


def _sunpy_error(client: Any, walker: Any, query: Any) -> str:
    try:
        for block in walker.create(query):
            client._lookup_records(copy.deepcopy(dict(block)))
    except (ValueError, TypeError) as exc:
        return str(exc)
    raise AssertionError("sunpy accepted the query")
