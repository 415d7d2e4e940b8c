"""Record-set tokenizer/AST (protocol §4.1 grammar) and its error columns."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jsocdesk.core.errors import RecordSetSyntaxError
from jsocdesk.core.query.syntax import (
    Comparison,
    FilterKind,
    ValueItem,
    parse_record_set,
    parse_record_sets,
    parse_where,
    split_value_set,
)

SEED = (
    "hmi.M_45s[2014.01.01_00:00:35_TAI-2014.01.01_00:00:45_TAI@90.0s][? QUALITY='0' ?]{magnetogram}"
)


def test_seed_record_set_structure() -> None:
    spec = parse_record_set(SEED)
    assert spec.series == "hmi.M_45s"
    assert spec.segments == ("magnetogram",)
    assert [f.kind for f in spec.filters] == [FilterKind.VALUE, FilterKind.WHERE]
    value, where = spec.filters
    assert SEED[value.inner : value.inner + len(value.text)] == value.text
    assert SEED[value.start] == "["
    assert SEED[value.end - 1] == "]"
    assert split_value_set(value.text, column=value.inner, time=True) == (
        ValueItem(
            "range",
            "2014.01.01_00:00:35_TAI",
            end="2014.01.01_00:00:45_TAI",
            step="90.0s",
            column=10,
        ),
    )
    assert parse_where(where.text, column=where.inner) == (
        Comparison("QUALITY", "=", "0", True, SEED.index("QUALITY")),
    )
    assert spec.prime_filters == (value,)
    assert spec.where_filters == (where,)


def test_special_filters_and_lists() -> None:
    specs = parse_record_sets("hmi.x[:#1,#5-#9][^][$][ ]{}, aia.y[1,2]{ a , b }")
    assert [s.series for s in specs] == ["hmi.x", "aia.y"]
    first = specs[0]
    assert [f.kind for f in first.filters] == [
        FilterKind.RECNUM,
        FilterKind.FIRST,
        FilterKind.LAST,
        FilterKind.EMPTY,
    ]
    assert first.filters[0].recnums == ((1, 1), (5, 9))
    assert first.segments == ()
    assert first.prime_filters == first.filters[1:]
    assert specs[1].segments == ("a", "b")
    assert specs[1].segments_start is not None
    assert parse_record_set("x{**ALL**}").segments == ("**ALL**",)


def test_where_clause_may_hide_brackets_and_commas_in_quotes() -> None:
    text = "hmi.x[? A='a]b,c?]d' and B>=2 AND C<>'it''s' ?],hmi.y[]"
    specs = parse_record_sets(text)
    assert len(specs) == 2
    where = specs[0].filters[0]
    comps = parse_where(where.text, column=where.inner, source=text)
    assert [(c.name, c.op, c.value, c.quoted) for c in comps] == [
        ("A", "=", "a]b,c?]d", True),
        ("B", ">=", "2", False),
        ("C", "!=", "it's", True),
    ]
    assert text[comps[1].column] == "B"


@pytest.mark.parametrize(
    ("text", "time", "expected"),
    [
        ("4864", False, [ValueItem("single", "4864")]),
        ("1-5@2", False, [ValueItem("range", "1", end="5", step="2")]),
        ("10/5", False, [ValueItem("duration", "10", duration="5")]),
        ("171, 193", None, [ValueItem("single", "171"), ValueItem("single", "193", column=5)]),
        (
            "2013.07.03_08:42_TAI/3m",
            True,
            [ValueItem("duration", "2013.07.03_08:42_TAI", duration="3m")],
        ),
        (
            "2011.04.14_00:30:00_TAI/6h@2h",
            None,
            [ValueItem("duration", "2011.04.14_00:30:00_TAI", duration="6h", step="2h")],
        ),
        (
            "2014-01-01T00:00:00-2014-01-01T01:00:00",
            None,
            [ValueItem("range", "2014-01-01T00:00:00", end="2014-01-01T01:00:00")],
        ),
        ("2010.05.01_TAI", True, [ValueItem("single", "2010.05.01_TAI")]),
        ("2025-01-01T04:33:30.000", None, [ValueItem("single", "2025-01-01T04:33:30.000")]),
    ],
)
def test_split_value_set(text: str, time: bool | None, expected: list[ValueItem]) -> None:
    assert list(split_value_set(text, time=time)) == expected


@pytest.mark.parametrize(
    ("text", "column", "message"),
    [
        ("", 0, "Expected a series name"),
        ("  [1]", 2, "Expected a series name"),
        ("hmi.x[", 5, "Unterminated '['"),
        ("hmi.x[1[2]]", 7, "Unexpected '['"),
        ("hmi.x[?a=1", 5, "Unterminated where-clause"),
        ("hmi.x[? a='1 ?]", 5, "Unterminated quoted literal"),
        ("hmi.x[? ?]", 5, "Empty where-clause"),
        ("hmi.x{a}[1]", 8, "Filters must come before"),
        ("hmi.x{a}{b}", 8, "Only one segment list"),
        ("hmi.x{a", 5, "Unterminated '{'"),
        ("hmi.x{a,,b}", 8, "Empty segment name"),
        ("hmi.x{a-b}", 6, "Not a valid segment name"),
        ("hmi.x[1]]", 8, "Unbalanced"),
        ("hmi.x,", 6, "Expected a series name"),
        ("hmi.x !", 6, "Unexpected '!'"),
        ("hmi..x", 0, "Not a valid series name"),
        ("hmi.x[:5]", 7, "Expected record numbers"),
        ("hmi.x[:#9-#1]", 7, "runs backwards"),
    ],
)
def test_syntax_errors_carry_columns(text: str, column: int, message: str) -> None:
    with pytest.raises(RecordSetSyntaxError) as exc:
        parse_record_sets(text)
    assert message in exc.value.message
    assert exc.value.column == column
    assert exc.value.text == text
    assert f"(column {column + 1})" in str(exc.value)


def test_single_record_set_refuses_lists() -> None:
    with pytest.raises(RecordSetSyntaxError, match="single record set"):
        parse_record_set("a[1],b[2]")


@pytest.mark.parametrize(
    ("sql", "column", "message"),
    [
        ("A='1' OR B='2'", 6, "Only comparisons joined by AND"),
        ("A", 1, "Expected a comparison operator"),
        ("A =", 3, "Expected a value"),
        ("= 1", 0, "Expected a keyword name"),
        ("A = (1)", 4, "Expected a value"),
        ("A = 1 AND", 9, "Expected a keyword name"),
        ("A B", 2, "Expected a comparison operator after 'A'"),
    ],
)
def test_where_errors(sql: str, column: int, message: str) -> None:
    with pytest.raises(RecordSetSyntaxError) as exc:
        parse_where(sql)
    assert message in exc.value.message
    assert exc.value.column == column


@pytest.mark.parametrize(
    ("text", "time", "column", "message"),
    [
        ("1,,2", False, 2, "Empty value"),
        ("2014.01.01_TAI@", True, 15, "Missing step"),
        ("2014.01.01_TAI@x", True, 15, "Not a duration"),
        ("@5s", True, 0, "Missing value before"),
        ("2014.01.01_TAI/xx", True, 15, "Not a duration"),
        ("yesterday", True, 0, "Not a time"),
        ("5@x", False, 2, "Not a step"),
        ("/5", False, 0, "Expected 'start/duration'"),
    ],
)
def test_value_set_errors(text: str, time: bool, column: int, message: str) -> None:
    with pytest.raises(RecordSetSyntaxError) as exc:
        split_value_set(text, time=time)
    assert message in exc.value.message
    assert exc.value.column == column


_ALPHABET = st.sampled_from(list("hmi.v_45sAIA[]{}?'@/-:#^$,=<>! 0123456789TZ_"))


def _error_column(fn: Callable[[], object]) -> int | None:
    try:
        fn()
    except RecordSetSyntaxError as exc:
        return exc.column
    return None


@settings(max_examples=300, deadline=None)
@given(st.text(_ALPHABET, max_size=60) | st.text(max_size=40))
def test_fuzz_only_syntax_errors_escape(text: str) -> None:
    column = _error_column(lambda: parse_record_sets(text))
    if column is not None:
        assert 0 <= column <= len(text)
        return
    for spec in parse_record_sets(text):
        for f in spec.filters:
            calls: list[Callable[[], object]] = []
            if f.kind is FilterKind.VALUE:
                calls = [
                    lambda f=f: split_value_set(f.text, column=f.inner, source=text),
                    lambda f=f: split_value_set(f.text, column=f.inner, source=text, time=True),
                ]
            elif f.kind is FilterKind.WHERE:
                calls = [lambda f=f: parse_where(f.text, column=f.inner, source=text)]
            for call in calls:
                col = _error_column(call)
                assert col is None or 0 <= col <= len(text)
