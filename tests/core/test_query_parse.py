"""Parser: record-set strings → trees; round trip with the compiler; fuzzing."""

from __future__ import annotations

from typing import Any

import astropy.units as u
import pytest
from astropy.time import Time as ATime
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jsocdesk.core import drmstime
from jsocdesk.core.errors import QueryError, RecordSetSyntaxError
from jsocdesk.core.query.compile import record_sets
from jsocdesk.core.query.parse import guess_primekeys, parse_query
from jsocdesk.core.query.tree import (
    And,
    Keyword,
    Node,
    Or,
    PrimeKey,
    Sample,
    Segment,
    Series,
    Time,
    Wavelength,
)
from jsocdesk.core.seriesinfo import SeriesInfo
from tests.core.query_infos import AIA_LEV1_EUV_12S, HMI_M_45S, HMI_SHARP_720S, HMI_V_45S, INFOS

TAI_2014 = "2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI"
HOUR_TAI = Time(
    ATime("2014-01-01T00:00:35", scale="tai"), ATime("2014-01-01T01:00:35", scale="tai")
)


@pytest.mark.parametrize("with_info", [True, False])
def test_seed_strings_parse_to_the_trees_that_compile_to_them(with_info: bool) -> None:
    infos = INFOS if with_info else None
    cases: list[tuple[str, Node]] = [
        (
            "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI@600.0s]",
            And(Series("hmi.v_45s"), HOUR_TAI, Sample(600 * u.s)),
        ),
        (
            f"hmi.sharp_720s[4864][{TAI_2014}]{{continuum,magnetogram}}",
            And(
                Series("hmi.sharp_720s"),
                PrimeKey("HARPNUM", "4864"),
                HOUR_TAI,
                Segment("continuum"),
                Segment("magnetogram"),
            ),
        ),
        (
            "hmi.M_45s[2014.01.01_00:00:35_TAI-2014.01.01_00:00:45_TAI@90.0s]"
            "[? QUALITY='0' ?]{magnetogram}",
            And(
                Series("hmi.M_45s"),
                Time("2014.01.01_00:00:35_TAI", "2014.01.01_00:00:45_TAI"),
                Sample(90 * u.s),
                Keyword("QUALITY", "=", "0"),
                Segment("magnetogram"),
            ),
        ),
        (
            f"aia.lev1_euv_12s[{TAI_2014}][604]",
            And(Series("aia.lev1_euv_12s"), HOUR_TAI, Wavelength(604 * u.AA)),
        ),
    ]
    for text, tree in cases:
        assert parse_query(text, infos) == tree
        assert record_sets(parse_query(text, infos), INFOS) == [text]


def test_user_pasted_forms() -> None:
    # start/duration stays verbatim; ISO without zone is UTC; comma lists become OR
    tree = parse_query(
        "hmi.v_45s[2013.07.03_08:42_TAI/3m], hmi.V_45s[2014-01-01T00:00:00-2014-01-01T01:00:00]",
        INFOS,
    )
    assert tree == Or(
        And(Series("hmi.v_45s"), PrimeKey("T_REC", "2013.07.03_08:42_TAI/3m")),
        And(Series("hmi.V_45s"), Time("2014-01-01T00:00:00", "2014-01-01T01:00:00")),
    )
    assert record_sets(tree, INFOS) == [
        "hmi.v_45s[2013.07.03_08:42_TAI/3m]",
        f"hmi.V_45s[{TAI_2014}]",
    ]
    # where-clause with bare literals and several comparisons; {**ALL**} = every segment
    tree = parse_query("hmi.M_45s[2014.01.01_TAI/1d@6h][? QUALITY = 0 and EXPTIME>1.5 ?]{**ALL**}")
    assert tree == And(
        Series("hmi.M_45s"),
        PrimeKey("T_REC", "2014.01.01_TAI/1d@6h"),
        Keyword("QUALITY", "=", "0"),
        Keyword("EXPTIME", ">", "1.5"),
    )
    # [^]/[$] and lists on other keys, wavelength lists stay prime keys
    assert parse_query("aia.lev1_euv_12s[$][171,193]", INFOS) == And(
        Series("aia.lev1_euv_12s"), PrimeKey("T_REC", "$"), PrimeKey("WAVELNTH", "171,193")
    )
    # a reversed range is kept verbatim rather than refused
    assert parse_query("hmi.v_45s[2014.01.02_TAI-2014.01.01_TAI]", INFOS) == And(
        Series("hmi.v_45s"), PrimeKey("T_REC", "2014.01.02_TAI-2014.01.01_TAI")
    )


def test_family_heuristics_without_metadata() -> None:
    assert guess_primekeys("hmi.sharp_cea_720s") == ("HARPNUM", "T_REC")
    assert guess_primekeys("aia.lev1_uv_24s") == ("T_REC", "WAVELNTH")
    assert guess_primekeys("aia.lev1") == ("T_REC", "FSN")
    assert guess_primekeys("iris.lev1") == ("T_OBS", "FSN")
    assert guess_primekeys("hmi.M_720s") == ("T_REC", "CAMERA")
    assert guess_primekeys("mdi.fd_m_lev182") == ("T_REC",)
    assert parse_query("hmi.v_45s[][2]") == And(Series("hmi.v_45s"), PrimeKey("CAMERA", "2"))
    assert parse_query("iris.lev1[2014.01.01_TAI][5]") == And(
        Series("iris.lev1"), PrimeKey("T_OBS", "2014.01.01_TAI"), PrimeKey("FSN", "5")
    )


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("hmi.v_45s[:#12]", 9, "Record-number filters"),
        ("hmi.v_45s[][2][3]", 14, "More filters than prime keys"),
        ("mdi.x[2014.01.01_TAI][3]", 21, "More filters than prime keys"),
        ("hmi.v_45s[2014.01.01_TAI]{}", 25, "empty segment list"),
        ("hmi.v_45s[2014.01.01_TAI]{**ALL**,a}", 25, "can only stand alone"),
        ("hmi.v_45s[yesterday]", 10, "Not a time"),
        ("hmi.v_45s[? QUALITY = 0 OR 1=1 ?]", 24, "Only comparisons joined by AND"),
        ("hmi.v_45s[2014.01.01_TAI-2014.01.02_TAI@0s]", 10, "positive"),
        ("hmi.v_45s[][1,,2]", 14, "Empty value"),
    ],
)
def test_errors_are_typed_with_columns(text: str, column: int, message: str) -> None:
    with pytest.raises(RecordSetSyntaxError) as exc:
        parse_query(text, INFOS)
    assert message in exc.value.message
    assert exc.value.column == column


# --- property: parse(compile(t)) == t for the trees the compiler produces -----------------

_TAI_2000 = drmstime.parse_time_seconds("2000.01.01_00:00:00_TAI")
_TAI_2024 = drmstime.parse_time_seconds("2024.06.01_00:00:00_TAI")


@st.composite
def times(draw: st.DrawFn) -> Time:
    start = draw(st.integers(int(_TAI_2000), int(_TAI_2024)))
    length = draw(st.integers(0, 10 * 86400))
    scale = draw(st.sampled_from(["tai", "utc"]))
    t0 = ATime(drmstime.seconds_to_tai_calendar(start), scale="tai")
    t1 = ATime(drmstime.seconds_to_tai_calendar(start + length), scale="tai")
    if scale == "utc":
        t0, t1 = t0.utc, t1.utc
    return Time(t0, t1)


_VALUE_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8
)


@st.composite
def branches(draw: st.DrawFn) -> And:
    info: SeriesInfo = draw(
        st.sampled_from([HMI_V_45S, HMI_M_45S, HMI_SHARP_720S, AIA_LEV1_EUV_12S])
    )
    nodes: list[Node] = [Series(draw(st.sampled_from([info.name, info.name.lower()])))]
    for key in info.primekeys:
        if key == "T_REC":
            choice = draw(st.sampled_from(["none", "time", "time+sample", "verbatim"]))
            if choice.startswith("time"):
                nodes.append(draw(times()))
                if choice == "time+sample":
                    secs = draw(st.integers(1, 2 * 86400)) / draw(st.sampled_from([1, 2, 4]))
                    nodes.append(Sample(secs * u.s))
            elif choice == "verbatim":
                nodes.append(
                    PrimeKey(
                        "T_REC",
                        draw(
                            st.sampled_from(
                                [
                                    "2014.01.01_00:00:45_TAI",
                                    "2013.07.03_08:42_TAI/3m",
                                    "2011.04.14_00:30:00_TAI/6h@2h",
                                    "^",
                                    "$",
                                ]
                            )
                        ),
                    )
                )
        elif key == "WAVELNTH":
            choice = draw(st.sampled_from(["none", "wavelength", "verbatim"]))
            if choice == "wavelength":
                nodes.append(Wavelength(draw(st.integers(1, 20000)) * u.AA))
            elif choice == "verbatim":
                nodes.append(PrimeKey("WAVELNTH", draw(st.sampled_from(["171,193", "94-335"]))))
        elif draw(st.booleans()):
            value = draw(st.from_regex(r"\A[0-9]{1,6}(-[0-9]{1,6})?\Z") | st.sampled_from("^$"))
            nodes.append(PrimeKey(key, value))
    if len(nodes) == 1:
        nodes.append(draw(times()))
    keyword_names = [k.name for k in info.keywords]
    for _ in range(draw(st.integers(0, 3))):
        nodes.append(
            Keyword(
                draw(st.sampled_from(keyword_names)),
                draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="])),
                draw(_VALUE_TEXT),
            )
        )
    for _ in range(draw(st.integers(0, 3))):
        nodes.append(Segment(draw(st.sampled_from(info.segment_names))))
    return And(*nodes)


trees = branches() | st.lists(branches(), min_size=2, max_size=4).map(lambda bs: Or(*bs))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_parse_inverts_compile(tree: Node) -> None:
    text = ",".join(record_sets(tree, INFOS))
    back = parse_query(text, INFOS)
    assert back == tree
    assert ",".join(record_sets(back, INFOS)) == text


# --- fuzz: only typed errors ---------------------------------------------------------------

_PIECES = st.sampled_from(
    [
        "hmi.v_45s",
        "aia.lev1_euv_12s",
        "hmi.sharp_720s",
        "x",
        "[",
        "]",
        "[]",
        "{",
        "}",
        "[?",
        "?]",
        "'",
        ",",
        "@",
        "/",
        "-",
        ":#",
        "^",
        "$",
        "2014.01.01_00:00:35_TAI",
        "2014-01-01T00:00:00",
        "9999.99.99_99:99:99_TAI",
        "0000.01.01_TAI",
        "3m",
        "600.0s",
        "0s",
        "QUALITY",
        "=",
        "<>",
        " AND ",
        " OR ",
        "171",
        "1e999",
        "**ALL**",
        "magnetogram",
        " ",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=14).map("".join) | st.text(max_size=30), st.booleans())
def test_fuzz_parser_raises_only_typed_errors(text: str, with_info: bool) -> None:
    try:
        tree = parse_query(text, INFOS if with_info else None)
    except (RecordSetSyntaxError, QueryError):
        return
    assert isinstance(tree, And | Or)


def test_parse_requires_text() -> None:
    bad: Any = 5
    with pytest.raises(RecordSetSyntaxError):
        parse_query(bad)
