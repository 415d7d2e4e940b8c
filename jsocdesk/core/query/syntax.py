"""Record-set syntax: a tokenizer and AST for DRMS record-set strings (protocol §4.1).

This is the low level shared by the client-side parser (:mod:`jsocdesk.core.query.parse`)
and the demo server's evaluator.  It knows the *grammar* only, not series metadata::

    record_sets := record_set ( "," record_set )*
    record_set  := SERIES filter* segments?
    SERIES      := [A-Za-z0-9_.]+
    filter      := "[" "?" sql "?" "]"          → FilterKind.WHERE   (raw SQL text)
                 | "[" "]"                      → FilterKind.EMPTY   (any value)
                 | "[" "^" "]" | "[" "$" "]"    → FilterKind.FIRST / FilterKind.LAST
                 | "[" ":" recnums "]"          → FilterKind.RECNUM  (``:#12``, ``:#1,#5``,
                                                                        ``:#1-#9``)
                 | "[" value_set "]"            → FilterKind.VALUE   (raw text)
    segments    := "{" name ( "," name )* "}"   (``{}`` = no segment, ``{**ALL**}`` = all)

Whitespace is allowed between the parts.  Commas inside ``[...]`` and ``{...}`` belong to
the value list / segment list, not to the record-set list; the SQL of a where-clause may
contain ``]``, ``,`` and ``?`` inside single-quoted literals (``''`` escapes a quote).

Positional prime-key filters bind to the series' prime keys in order; that mapping needs
metadata and happens in the callers.  For one VALUE filter :func:`split_value_set` splits
the value set into items::

    value_set := item ( "," item )*
    item      := value | start "-" end | start "/" duration   each optionally "@" step

``time=True`` disambiguates the ``-`` of a range from the dashes of ISO dates by trying
every dash until both sides parse as times (DRMS does the same by retrying at the dash).
:func:`parse_where` reads the simple where-clauses jsocdesk writes and users paste:
comparisons ``NAME op literal`` joined by ``AND`` (literal quoted ``'...'`` or bare).

Every problem raises :class:`~jsocdesk.core.errors.RecordSetSyntaxError` with the 0-based
column in the *whole* input text.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from jsocdesk.core import drmstime
from jsocdesk.core.errors import RecordSetSyntaxError, TimeFormatError

__all__ = [
    "Comparison",
    "Filter",
    "FilterKind",
    "RecordSetSpec",
    "ValueItem",
    "parse_record_set",
    "parse_record_sets",
    "parse_where",
    "split_value_set",
]

_SERIES_CHARS = re.compile(r"[A-Za-z0-9_.]+")
_SEGMENT_RE = re.compile(r"^(?:[A-Za-z0-9_]+|\*\*ALL\*\*|\*\*NONE\*\*)$")


class FilterKind(enum.Enum):
    VALUE = "value"
    EMPTY = "empty"
    WHERE = "where"
    RECNUM = "recnum"
    FIRST = "first"
    LAST = "last"


@dataclass(frozen=True)
class Filter:
    """One bracket of a record set.

    ``text`` is the inner text stripped of surrounding blanks (for WHERE: the SQL between
    ``[?`` and ``?]``); ``start``/``end`` are the columns of ``[`` and just after ``]``;
    ``inner`` is the column where ``text`` starts.  ``recnums`` holds ``(first, last)``
    pairs for RECNUM filters (``#5`` → ``(5, 5)``).
    """

    kind: FilterKind
    text: str
    start: int
    end: int
    inner: int
    recnums: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class RecordSetSpec:
    """One record set: series, filters in order, optional segment list, source columns."""

    series: str
    filters: tuple[Filter, ...]
    segments: tuple[str, ...] | None
    start: int
    end: int
    series_end: int
    segments_start: int | None = None

    @property
    def prime_filters(self) -> tuple[Filter, ...]:
        """The positional filters (everything but WHERE and RECNUM)."""
        return tuple(f for f in self.filters if f.kind not in (FilterKind.WHERE, FilterKind.RECNUM))

    @property
    def where_filters(self) -> tuple[Filter, ...]:
        return tuple(f for f in self.filters if f.kind is FilterKind.WHERE)


@dataclass(frozen=True)
class ValueItem:
    """One item of a value set.

    ``kind`` is ``"single"`` (``value``), ``"range"`` (``start-end``, inclusive) or
    ``"duration"`` (``start/duration``); ``step`` is the text after ``@`` or ``None``.
    ``column`` is where the item starts in the whole input.
    """

    kind: str
    start: str
    end: str | None = None
    duration: str | None = None
    step: str | None = None
    column: int = 0


@dataclass(frozen=True)
class Comparison:
    """``name op value`` from a where-clause; ``quoted`` tells whether it was ``'...'``."""

    name: str
    op: str
    value: str
    quoted: bool
    column: int


# --- record sets ---------------------------------------------------------------------------


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, message: str, column: int | None = None) -> RecordSetSyntaxError:
        return RecordSetSyntaxError(message, self.text, self.pos if column is None else column)

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def at_end(self) -> bool:
        return self.pos >= len(self.text)


def parse_record_sets(text: str) -> tuple[RecordSetSpec, ...]:
    """Parse a comma-separated list of record sets (at least one)."""
    if not isinstance(text, str):
        raise RecordSetSyntaxError("A record set must be text", repr(text), 0)
    sc = _Scanner(text)
    specs: list[RecordSetSpec] = []
    while True:
        specs.append(_record_set(sc))
        sc.skip_ws()
        if sc.at_end():
            return tuple(specs)
        if sc.peek() != ",":
            raise sc.error(f"Unexpected {sc.peek()!r} after the record set")
        sc.pos += 1


def parse_record_set(text: str) -> RecordSetSpec:
    """Parse exactly one record set (a comma-separated list is an error)."""
    specs = parse_record_sets(text)
    if len(specs) != 1:
        raise RecordSetSyntaxError(
            "Expected a single record set, not a comma-separated list", text, specs[1].start - 1
        )
    return specs[0]


def _record_set(sc: _Scanner) -> RecordSetSpec:
    sc.skip_ws()
    start = sc.pos
    m = _SERIES_CHARS.match(sc.text, sc.pos)
    if m is None:
        if sc.at_end():
            raise sc.error("Expected a series name, found the end of the text")
        raise sc.error(f"Expected a series name, found {sc.peek()!r}")
    series = m.group(0)
    if series.startswith(".") or series.endswith(".") or ".." in series:
        raise sc.error(f"Not a valid series name: {series!r}", start)
    sc.pos = m.end()
    series_end = sc.pos
    filters: list[Filter] = []
    segments: tuple[str, ...] | None = None
    seg_start: int | None = None
    while True:
        sc.skip_ws()
        ch = sc.peek()
        if ch == "[":
            if segments is not None:
                raise sc.error("Filters must come before the segment list {...}")
            filters.append(_filter(sc))
        elif ch == "{":
            if segments is not None:
                raise sc.error("Only one segment list {...} is allowed")
            seg_start = sc.pos
            segments = _segments(sc)
        elif ch in ("", ","):
            break
        elif ch in "]}":
            raise sc.error(f"Unbalanced {ch!r}")
        else:
            raise sc.error(f"Unexpected {ch!r}; expected '[', '{{' or ','")
    return RecordSetSpec(series, tuple(filters), segments, start, sc.pos, series_end, seg_start)


def _filter(sc: _Scanner) -> Filter:
    open_col = sc.pos
    sc.pos += 1
    sc.skip_ws()
    if sc.peek() == "?":
        return _where(sc, open_col)
    inner_start = sc.pos
    close = sc.text.find("]", sc.pos)
    if close < 0:
        raise sc.error("Unterminated '[': missing ']'", open_col)
    nested = sc.text.find("[", sc.pos, close)
    if nested >= 0:
        raise sc.error("Unexpected '[' inside a filter", nested)
    for bad in "{}":
        idx = sc.text.find(bad, sc.pos, close)
        if idx >= 0:
            raise sc.error(f"Unexpected {bad!r} inside a filter", idx)
    raw = sc.text[inner_start:close]
    inner = raw.strip()
    sc.pos = close + 1
    if not inner:
        return Filter(FilterKind.EMPTY, "", open_col, sc.pos, inner_start)
    if inner == "^":
        return Filter(FilterKind.FIRST, inner, open_col, sc.pos, inner_start)
    if inner == "$":
        return Filter(FilterKind.LAST, inner, open_col, sc.pos, inner_start)
    if inner.startswith(":"):
        recnums = _recnums(sc, inner, inner_start + (len(raw) - len(raw.lstrip())))
        return Filter(FilterKind.RECNUM, inner, open_col, sc.pos, inner_start, recnums)
    return Filter(
        FilterKind.VALUE, inner, open_col, sc.pos, inner_start + (len(raw) - len(raw.lstrip()))
    )


_RECNUM_ITEM = re.compile(r"^\s*#\s*(\d+)\s*(?:-\s*#?\s*(\d+)\s*)?$")


def _recnums(sc: _Scanner, inner: str, column: int) -> tuple[tuple[int, int], ...]:
    body = inner[1:]
    out: list[tuple[int, int]] = []
    offset = column + 1
    for part in body.split(","):
        m = _RECNUM_ITEM.match(part)
        if m is None:
            raise sc.error("Expected record numbers like ':#123' or ':#1,#5'", offset)
        first = int(m[1])
        last = int(m[2]) if m[2] is not None else first
        if last < first:
            raise sc.error("Record-number range runs backwards", offset)
        out.append((first, last))
        offset += len(part) + 1
    return tuple(out)


def _where(sc: _Scanner, open_col: int) -> Filter:
    sc.pos += 1  # the '?'
    inner_start = sc.pos
    in_quote = False
    i = sc.pos
    text = sc.text
    while i < len(text):
        ch = text[i]
        if in_quote:
            if ch == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    i += 2
                    continue
                in_quote = False
        elif ch == "'":
            in_quote = True
        elif ch == "?":
            j = i + 1
            while j < len(text) and text[j].isspace():
                j += 1
            if j < len(text) and text[j] == "]":
                raw = text[inner_start:i]
                sql = raw.strip()
                if not sql:
                    raise sc.error("Empty where-clause [? ?]", open_col)
                sc.pos = j + 1
                lead = len(raw) - len(raw.lstrip())
                return Filter(FilterKind.WHERE, sql, open_col, sc.pos, inner_start + lead)
        i += 1
    if in_quote:
        raise sc.error("Unterminated quoted literal in the where-clause", open_col)
    raise sc.error("Unterminated where-clause: missing '?]'", open_col)


def _segments(sc: _Scanner) -> tuple[str, ...]:
    open_col = sc.pos
    close = sc.text.find("}", sc.pos)
    if close < 0:
        raise sc.error("Unterminated '{': missing '}'", open_col)
    body = sc.text[open_col + 1 : close]
    names: list[str] = []
    offset = open_col + 1
    for part in re.split(r"(,)", body):
        if part == ",":
            offset += 1
            continue
        name = part.strip()
        if name:
            if not _SEGMENT_RE.match(name):
                col = offset + (len(part) - len(part.lstrip()))
                raise sc.error(f"Not a valid segment name: {name!r}", col)
            names.append(name)
        elif body.strip():
            raise sc.error("Empty segment name in the segment list", offset)
        offset += len(part)
    sc.pos = close + 1
    return tuple(names)


# --- value sets ----------------------------------------------------------------------------

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER_RE = re.compile(rf"^{_NUMBER}$")
_NUM_RANGE_RE = re.compile(rf"^\s*({_NUMBER})\s*-\s*({_NUMBER})\s*$")


def is_time_literal(text: str) -> bool:
    """Whether ``text`` is a DRMS/ISO time literal that :mod:`drmstime` understands."""
    try:
        drmstime.parse_time(text)
    except TimeFormatError:
        return False
    return True


def is_duration(text: str) -> bool:
    try:
        drmstime.parse_duration(text)
    except TimeFormatError:
        return False
    return True


def split_value_set(
    text: str, *, column: int = 0, time: bool | None = None, source: str | None = None
) -> tuple[ValueItem, ...]:
    """Split the text of a VALUE filter into items.

    ``column`` is where ``text`` starts in ``source`` (the whole input, for error columns).
    ``time=True`` requires time literals (and durations after ``/`` and ``@``),
    ``time=False`` treats values as numbers or plain strings, ``None`` guesses per item.
    """
    src = text if source is None else source
    items: list[ValueItem] = []
    offset = column
    for part in text.split(","):
        stripped = part.strip()
        col = offset + (len(part) - len(part.lstrip()))
        if not stripped:
            raise RecordSetSyntaxError("Empty value in the value list", src, col)
        items.append(_value_item(stripped, col, time, src))
        offset += len(part) + 1
    return tuple(items)


def _value_item(item: str, col: int, time: bool | None, src: str) -> ValueItem:
    body, step = item, None
    if "@" in item:
        at = item.rindex("@")
        body, step = item[:at].strip(), item[at + 1 :].strip()
        step_col = col + at + 1
        if not step:
            raise RecordSetSyntaxError("Missing step after '@'", src, step_col)
        step_is_time = time if time is not None else is_duration(step)
        if step_is_time and not is_duration(step):
            raise RecordSetSyntaxError(f"Not a duration: {step!r}", src, step_col)
        if step_is_time is False and not _NUMBER_RE.match(step) and not is_duration(step):
            raise RecordSetSyntaxError(f"Not a step: {step!r}", src, step_col)
        if not body:
            raise RecordSetSyntaxError("Missing value before '@'", src, col)
    is_time = time if time is not None else _looks_like_time(body)
    if is_time:
        return _time_item(body, step, col, src)
    if "/" in body:
        slash = body.rindex("/")
        start, dur = body[:slash].strip(), body[slash + 1 :].strip()
        if not start or not dur:
            raise RecordSetSyntaxError("Expected 'start/duration'", src, col + slash)
        return ValueItem("duration", start, duration=dur, step=step, column=col)
    m = _NUM_RANGE_RE.match(body)
    if m is not None:
        return ValueItem("range", m[1], end=m[2], step=step, column=col)
    return ValueItem("single", body, step=step, column=col)


def _looks_like_time(body: str) -> bool:
    if _NUMBER_RE.match(body) or _NUM_RANGE_RE.match(body):
        return False
    if is_time_literal(body):
        return True
    if "/" in body:
        slash = body.rindex("/")
        return is_time_literal(body[:slash].strip())
    return any(
        is_time_literal(body[:i].strip()) and is_time_literal(body[i + 1 :].strip())
        for i, ch in enumerate(body)
        if ch == "-"
    )


def _time_item(body: str, step: str | None, col: int, src: str) -> ValueItem:
    if is_time_literal(body):
        return ValueItem("single", body, step=step, column=col)
    if "/" in body:
        slash = body.rindex("/")
        start, dur = body[:slash].strip(), body[slash + 1 :].strip()
        if is_time_literal(start):
            if not is_duration(dur):
                raise RecordSetSyntaxError(f"Not a duration: {dur!r}", src, col + slash + 1)
            return ValueItem("duration", start, duration=dur, step=step, column=col)
    for i, ch in enumerate(body):
        if ch != "-" or i == 0:
            continue
        left, right = body[:i].strip(), body[i + 1 :].strip()
        if is_time_literal(left) and is_time_literal(right):
            return ValueItem("range", left, end=right, step=step, column=col)
    raise RecordSetSyntaxError(f"Not a time, time range or start/duration: {body!r}", src, col)


# --- where-clauses -------------------------------------------------------------------------

_WHERE_TOKEN = re.compile(
    r"""\s*(?:
        (?P<quoted>'(?:[^']|'')*')
      | (?P<op><=|>=|!=|<>|==|=|<|>)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)


def parse_where(sql: str, *, column: int = 0, source: str | None = None) -> tuple[Comparison, ...]:
    """Read ``NAME op literal [AND NAME op literal ...]``.

    Operators ``= == != <> < <= > >=`` (``==`` → ``=``, ``<>`` → ``!=``); literals are
    ``'quoted'`` (``''`` is a quote) or a bare number/word.  Anything richer (OR, functions,
    parentheses) raises :class:`RecordSetSyntaxError`: the server may still accept it, but
    jsocdesk cannot turn it into a tree.
    """
    src = sql if source is None else source
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(sql):
        m = _WHERE_TOKEN.match(sql, pos)
        if m is None or m.end() == pos:
            break
        kind = m.lastgroup or "other"
        tokens.append((kind, m.group(kind), column + m.start(kind)))
        pos = m.end()
    out: list[Comparison] = []
    i = 0
    end_col = column + len(sql)

    def need(what: str) -> tuple[str, str, int]:
        if i >= len(tokens):
            raise RecordSetSyntaxError(f"Expected {what} in the where-clause", src, end_col)
        return tokens[i]

    while True:
        kind, value, col = need("a keyword name")
        if kind != "word":
            raise RecordSetSyntaxError(f"Expected a keyword name, found {value!r}", src, col)
        name, name_col = value, col
        i += 1
        kind, value, col = need("a comparison operator")
        if kind != "op":
            raise RecordSetSyntaxError(
                f"Expected a comparison operator after {name!r}, found {value!r}", src, col
            )
        op = {"==": "=", "<>": "!="}.get(value, value)
        i += 1
        kind, value, col = need("a value")
        if kind == "quoted":
            literal, quoted = value[1:-1].replace("''", "'"), True
        elif kind in ("number", "word"):
            literal, quoted = value, False
        else:
            raise RecordSetSyntaxError(f"Expected a value, found {value!r}", src, col)
        i += 1
        out.append(Comparison(name, op, literal, quoted, name_col))
        if i >= len(tokens):
            if pos < len(sql) and sql[pos:].strip():
                raise RecordSetSyntaxError("Unexpected text in the where-clause", src, column + pos)
            return tuple(out)
        kind, value, col = tokens[i]
        if kind == "word" and value.upper() == "AND":
            i += 1
            continue
        raise RecordSetSyntaxError(
            f"Only comparisons joined by AND are supported here, found {value!r}", src, col
        )
