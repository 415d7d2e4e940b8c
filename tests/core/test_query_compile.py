"""Compiler: DNF, sunpy-identical record-set strings, time scales, merging."""

from __future__ import annotations

import dataclasses

import astropy.units as u
import pytest
from astropy.time import Time as ATime

from jsocdesk.core.errors import QueryError
from jsocdesk.core.query.compile import compile_query, format_tai, record_sets
from jsocdesk.core.query.dnf import to_dnf
from jsocdesk.core.query.tree import (
    And,
    Keyword,
    Notify,
    Or,
    PrimeKey,
    QueryTree,
    Sample,
    Segment,
    Series,
    Time,
    Wavelength,
)
from jsocdesk.core.seriesinfo import SegmentInfo
from tests.core.query_infos import HMI_V_45S, INFOS

HOUR_2014 = Time("2014-01-01T00:00:00", "2014-01-01T01:00:00")
TAI_2014 = "2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI"
# sunpy's test_make_recordset uses TAI-scale times for 2020
HOUR_2020_TAI = Time(
    ATime("2020-01-01T00:00:35", scale="tai"), ATime("2020-01-01T01:00:35", scale="tai")
)
TAI_2020 = "2020.01.01_00:00:35_TAI-2020.01.01_01:00:35_TAI"


def one(query: object, **kw: object) -> str:
    result = record_sets(query, INFOS, **kw)  # type: ignore[arg-type]
    assert len(result) == 1, result
    return result[0]


# --- the strings of the seed guide and of sunpy's tests (protocol §4.3) -------------------


def test_guide_basic_time_series_query() -> None:
    assert one(Series("hmi.v_45s") & HOUR_2014) == f"hmi.v_45s[{TAI_2014}]"


def test_guide_sample_ten_minutes() -> None:
    q = Series("hmi.v_45s") & HOUR_2014 & Sample(10 * u.min)
    assert one(q) == "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI@600.0s]"


def test_guide_tai_time_input_is_kept() -> None:
    q = Series("hmi.v_45s") & Time(
        ATime("2014-01-01T00:00:00", scale="tai"), ATime("2014-01-01T01:00:00", scale="tai")
    )
    assert one(q) == "hmi.v_45s[2014.01.01_00:00:00_TAI-2014.01.01_01:00:00_TAI]"


def test_guide_wavelength_primekey() -> None:
    q = Series("aia.lev1_euv_12s") & HOUR_2014 & Wavelength(304 * u.AA)
    assert one(q) == f"aia.lev1_euv_12s[{TAI_2014}][304]"
    q2 = Series("aia.lev1_euv_12s") & HOUR_2014 & PrimeKey("WAVELNTH", "161")
    assert one(q2) == f"aia.lev1_euv_12s[{TAI_2014}][161]"


def test_guide_aia_without_wavelength_stops_after_time() -> None:
    assert one(Series("aia.lev1_euv_12s") & HOUR_2014) == f"aia.lev1_euv_12s[{TAI_2014}]"


def test_guide_segments_and_keywords_on_sharp() -> None:
    base = Series("hmi.sharp_720s") & HOUR_2014
    assert (
        one(base & (Segment("continuum") & Segment("magnetogram")))
        == f"hmi.sharp_720s[][{TAI_2014}]{{continuum,magnetogram}}"
    )
    assert one(base & (Keyword("bitmap_bzero") == 0)) == (
        f"hmi.sharp_720s[][{TAI_2014}][? bitmap_bzero='0' ?]"
    )
    assert one(base & (Keyword("bitmap_bzero") == 0) & (Keyword("continuum_bscale") > 0)) == (
        f"hmi.sharp_720s[][{TAI_2014}][? bitmap_bzero='0' AND continuum_bscale>'0' ?]"
    )


def test_guide_or_of_series_gives_one_record_set_each() -> None:
    q = HOUR_2014 & (Series("hmi.v_45s") | Series("aia.lev1_euv_12s"))
    assert record_sets(q, INFOS) == [f"hmi.v_45s[{TAI_2014}]", f"aia.lev1_euv_12s[{TAI_2014}]"]


def test_guide_or_of_times() -> None:
    q = (HOUR_2014 | Time("2014-01-02T00:00:00", "2014-01-02T01:00:00")) & Series("hmi.v_45s")
    assert record_sets(q, INFOS) == [
        f"hmi.v_45s[{TAI_2014}]",
        "hmi.v_45s[2014.01.02_00:00:35_TAI-2014.01.02_01:00:35_TAI]",
    ]


def test_sunpy_make_recordset_examples() -> None:
    aia = Series("aia.lev1_euv_12s") & HOUR_2020_TAI & Wavelength(604 * u.AA)
    assert one(aia) == f"aia.lev1_euv_12s[{TAI_2020}][604]"
    foo_bar = dataclasses.replace(
        HMI_V_45S, name="hmi.v_45s", segments=(SegmentInfo("foo"), SegmentInfo("bar"))
    )
    q = Series("hmi.v_45s") & HOUR_2020_TAI & Segment("foo") & Segment("bar")
    assert record_sets(q, {"hmi.v_45s": foo_bar}) == [f"hmi.v_45s[{TAI_2020}]{{foo,bar}}"]
    sharp = (
        Series("hmi.sharp_720s")
        & PrimeKey("HARPNUM", "4864")
        & HOUR_2020_TAI
        & Segment("continuum")
        & Segment("magnetogram")
    )
    assert one(sharp) == f"hmi.sharp_720s[4864][{TAI_2020}]{{continuum,magnetogram}}"
    m45 = (
        Series("hmi.M_45s")
        & Time("2014-01-01T00:00:00", "2014-01-01T00:00:10")
        & Sample(90 * u.s)
        & (Keyword("QUALITY") == 0)
        & Segment("magnetogram")
    )
    assert one(m45) == (
        "hmi.M_45s[2014.01.01_00:00:35_TAI-2014.01.01_00:00:45_TAI@90.0s]"
        "[? QUALITY='0' ?]{magnetogram}"
    )


def test_sunpy_utc_2020_gets_37_seconds() -> None:
    q = Series("hmi.M_45s") & Time("2020/1/1T1:00:36", "2020/1/1T01:00:38")
    assert one(q) == "hmi.M_45s[2020.01.01_01:01:13_TAI-2020.01.01_01:01:15_TAI]"


# --- prime-key walking ---------------------------------------------------------------------


def test_primekeys_walk_in_series_order_and_fill_gaps() -> None:
    q = Series("hmi.v_45s") & PrimeKey("CAMERA", "2") & HOUR_2014
    assert one(q) == f"hmi.v_45s[{TAI_2014}][2]"
    assert one(Series("hmi.v_45s") & PrimeKey("CAMERA", "2")) == "hmi.v_45s[][2]"
    assert one(Series("hmi.sharp_720s") & PrimeKey("HARPNUM", "4864")) == "hmi.sharp_720s[4864]"


def test_time_primekey_is_used_verbatim() -> None:
    q = Series("hmi.v_45s") & PrimeKey("T_REC", "2014.01.01_00:00:45_TAI/3m")
    assert one(q) == "hmi.v_45s[2014.01.01_00:00:45_TAI/3m]"


def test_primekey_names_match_case_insensitively_and_keep_series_spelling() -> None:
    assert one(Series("HMI.V_45S") & PrimeKey("camera", "2")) == "HMI.V_45S[][2]"


def test_wavelength_in_other_units_is_ceiled_angstrom() -> None:
    q = Series("aia.lev1_euv_12s") & HOUR_2014 & Wavelength(17.1 * u.nm)
    assert one(q) == f"aia.lev1_euv_12s[{TAI_2014}][171]"
    q2 = Series("aia.lev1_euv_12s") & HOUR_2014 & Wavelength(304.2 * u.AA)
    assert one(q2) == f"aia.lev1_euv_12s[{TAI_2014}][305]"


def test_keyword_operators_and_quoting() -> None:
    base = Series("hmi.M_45s") & HOUR_2014
    q = (
        base
        & (Keyword("QUALITY") != 1)
        & (Keyword("QUALITY") <= 2)
        & (Keyword("EXPTIME") >= 0.5)
        & (Keyword("EXPTIME") < "it's")
    )
    assert one(q) == (
        f"hmi.M_45s[{TAI_2014}]"
        "[? QUALITY!='1' AND QUALITY<='2' AND EXPTIME>='0.5' AND EXPTIME<'it''s' ?]"
    )


# --- time scales ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ATime("2012-01-01T00:00:00", scale="utc"), "2012.01.01_00:00:34_TAI"),
        (ATime("2014-01-01T00:00:00", scale="utc"), "2014.01.01_00:00:35_TAI"),
        (ATime("2015-06-30T23:59:59", scale="utc"), "2015.07.01_00:00:34_TAI"),
        (ATime("2015-06-30T23:59:60", scale="utc"), "2015.07.01_00:00:35_TAI"),
        (ATime("2015-07-01T00:00:00", scale="utc"), "2015.07.01_00:00:36_TAI"),
        (ATime("2016-12-31T23:59:59", scale="utc"), "2017.01.01_00:00:35_TAI"),
        (ATime("2016-12-31T23:59:60", scale="utc"), "2017.01.01_00:00:36_TAI"),
        (ATime("2017-01-01T00:00:00", scale="utc"), "2017.01.01_00:00:37_TAI"),
        (ATime("2017-01-01T00:00:00", scale="tai"), "2017.01.01_00:00:00_TAI"),
        (ATime("2014-01-01T00:00:32.184", scale="tt"), "2014.01.01_00:00:00_TAI"),
        (ATime("2014-01-01T00:00:00.7", scale="utc"), "2014.01.01_00:00:35_TAI"),
    ],
)
def test_time_scales_utc_in_tai_out(value: ATime, expected: str) -> None:
    assert format_tai(value) == expected
    q = Series("hmi.v_45s") & Time(value, value)
    assert one(q) == f"hmi.v_45s[{expected}-{expected}]"


def test_format_tai_refuses_nodes() -> None:
    with pytest.raises(TypeError):
        format_tai(HOUR_2014)


# --- DNF -----------------------------------------------------------------------------------


def test_dnf_distributes_nested_and_or() -> None:
    t1 = HOUR_2014
    t2 = Time("2014-01-02T00:00:00", "2014-01-02T01:00:00")
    s1, s2 = Segment("a"), Segment("b")
    q = Series("x") & (t1 | t2) & (s1 | s2)
    branches = to_dnf(q)
    assert [b.nodes[1:] for b in branches] == [(t1, s1), (t1, s2), (t2, s1), (t2, s2)]
    # nested deeper: Or(And(a, Or(b, And(c, d))), e)
    a, b, c, d, e = (Series(n) for n in "abcde")
    nested = Or(And(a, Or(b, And(c, d))), e)
    assert [tuple(n.name for n in br.nodes) for br in to_dnf(nested)] == [  # type: ignore[attr-defined]
        ("a", "b"),
        ("a", "c", "d"),
        ("e",),
    ]
    assert to_dnf(And()) == [to_dnf(And())[0]]
    assert to_dnf(And())[0].nodes == ()
    assert to_dnf(Or()) == []


def test_dnf_limit() -> None:
    big = And(*(Or(Segment("a"), Segment("b")) for _ in range(12)))
    with pytest.raises(QueryError, match="more than"):
        to_dnf(big)
    assert len(to_dnf(big, limit=5000)) == 4096


def test_compile_dnf_strings_in_order() -> None:
    q = (
        Series("hmi.sharp_720s")
        & HOUR_2014
        & (PrimeKey("HARPNUM", "1") | PrimeKey("HARPNUM", "2"))
        & (Segment("continuum") | Segment("magnetogram"))
    )
    assert record_sets(q, INFOS) == [
        f"hmi.sharp_720s[1][{TAI_2014}]{{continuum}}",
        f"hmi.sharp_720s[1][{TAI_2014}]{{magnetogram}}",
        f"hmi.sharp_720s[2][{TAI_2014}]{{continuum}}",
        f"hmi.sharp_720s[2][{TAI_2014}]{{magnetogram}}",
    ]


# --- structured result and merging ---------------------------------------------------------


def test_compiled_branch_objects() -> None:
    notify = Notify("me@example.com")
    seg = Segment("magnetogram")
    q = Series("hmi.M_45s") & HOUR_2014 & seg & notify
    (c,) = compile_query(QueryTree(q), INFOS)
    assert c.series == "hmi.M_45s"
    assert c.segments == ("magnetogram",)
    assert c.notify == "me@example.com"
    assert c.parts == (c.record_set,)
    assert str(c) == c.record_set
    assert [n.id for n in c.nodes] == [n.id for n in q.children]


def test_merge_same_series_into_one_comma_separated_set() -> None:
    t2 = Time("2014-01-02T00:00:00", "2014-01-02T01:00:00")
    q = (
        (Series("hmi.v_45s") & HOUR_2014)
        | (Series("aia.lev1_euv_12s") & HOUR_2014)
        | (Series("HMI.v_45s") & t2)
        | (Series("hmi.v_45s") & HOUR_2014)  # identical part: kept once
    )
    merged = compile_query(q, INFOS, merge=True)
    assert [m.record_set for m in merged] == [
        f"hmi.v_45s[{TAI_2014}],HMI.v_45s[2014.01.02_00:00:35_TAI-2014.01.02_01:00:35_TAI]",
        f"aia.lev1_euv_12s[{TAI_2014}]",
    ]
    assert merged[0].parts == tuple(merged[0].record_set.split(","))
    assert len(merged[0].nodes) == 6
    assert len(record_sets(q, INFOS)) == 4


def test_merge_keeps_notify_apart_and_unions_segments() -> None:
    base = Series("hmi.sharp_720s") & HOUR_2014
    q = (
        (base & Segment("continuum") & Notify("a@x.org"))
        | (base & PrimeKey("HARPNUM", "7") & Segment("magnetogram") & Notify("a@x.org"))
        | (base & Notify("b@x.org"))
    )
    merged = compile_query(q, INFOS, merge=True)
    assert len(merged) == 2
    assert merged[0].segments == ("continuum", "magnetogram")
    assert merged[0].notify == "a@x.org"
    assert merged[1].notify == "b@x.org"
    # a part without segment list selects all segments: the union is "all"
    q2 = (base & Segment("continuum")) | (base & PrimeKey("HARPNUM", "7"))
    (m,) = compile_query(q2, INFOS, merge=True)
    assert m.segments == ()


# --- errors --------------------------------------------------------------------------------


def test_branch_without_series_points_at_its_first_node() -> None:
    lone = Time("2014-01-02T00:00:00", "2014-01-02T01:00:00")
    q = (Series("hmi.v_45s") & HOUR_2014) | lone
    with pytest.raises(QueryError) as exc:
        compile_query(q, INFOS)
    assert exc.value.message == "Series must be specified for a JSOC Query"
    assert exc.value.node is lone


def test_empty_query_and_unknown_series() -> None:
    with pytest.raises(QueryError, match="empty"):
        compile_query(And(), INFOS)
    s = Series("no.such")
    with pytest.raises(QueryError, match="does not exist") as exc:
        compile_query(s & HOUR_2014, INFOS)
    assert exc.value.node is s


def test_lookup_forms() -> None:
    q = Series("hmi.v_45s") & HOUR_2014
    expected = [f"hmi.v_45s[{TAI_2014}]"]
    assert record_sets(q, list(INFOS.values())) == expected
    assert record_sets(q, lambda name: INFOS.get("hmi.V_45s")) == expected
