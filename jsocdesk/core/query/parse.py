"""Parse a record-set string (as pasted from JSOC pages or drms scripts) into a query tree.

:func:`parse_query` is the inverse of :func:`~jsocdesk.core.query.compile.compile_query`:
for every tree the compiler produces (see "canonical form" below),
``parse_query(",".join(record_sets(t))) == t``.

Canonical form of one record set ``series[f1][f2]...[? where ?]{segs}``::

    And(Series, <prime-key nodes in filter order>, <Keyword...>, <Segment...>)

and of a comma-separated list, ``Or`` of those.  Prime-key filters bind positionally to
the series' prime keys (from :class:`SeriesInfo` when given).  For each filter:

* ``[]`` skips the key (no node);
* on a time-typed key, one ``start-end`` range → :class:`Time` (TAI/UTC/ISO literals; no
  zone means UTC, like DRMS), followed by :class:`Sample` when it has ``@step``; any other
  form (single time, ``start/duration``, lists, ``[^]``/``[$]``) → ``PrimeKey(key, text)``,
  which the compiler passes through verbatim;
* on ``WAVELNTH``, a single integer → ``Wavelength(n * u.AA)``; anything else a PrimeKey;
* on other keys → ``PrimeKey(key, text)``.

A where-clause becomes :class:`Keyword` comparisons (only comparisons joined by ``AND``;
``==`` → ``=``, ``<>`` → ``!=``); ``{**ALL**}`` means every segment (no Segment nodes).

Without metadata for a series, prime-key names come from documented family rules
(:data:`FAMILY_PRIMEKEYS`: SHARP/HARP → ``HARPNUM, T_REC``; ``aia.lev1_*`` →
``T_REC, WAVELNTH``; ``aia.lev1`` → ``T_REC, FSN``; ``iris.lev1`` → ``T_OBS, FSN``;
other ``hmi.*`` → ``T_REC, CAMERA``; anything else → ``T_REC``).

Errors: malformed text raises :class:`RecordSetSyntaxError` (with the column); what the
tree cannot express (``[:#recnum]``, an empty segment list ``{}``, more filters than prime
keys) raises it too, pointing at the construct.  Nothing else escapes.
"""

from __future__ import annotations

import re

import astropy.units as u
from astropy.time import Time as AstropyTime

from jsocdesk.core import drmstime
from jsocdesk.core.errors import QueryError, RecordSetSyntaxError, TimeFormatError
from jsocdesk.core.query.syntax import (
    Filter,
    FilterKind,
    RecordSetSpec,
    parse_record_sets,
    parse_where,
    split_value_set,
)
from jsocdesk.core.query.tree import (
    And,
    Group,
    Keyword,
    Node,
    Or,
    PrimeKey,
    Sample,
    Segment,
    Series,
    Time,
    Wavelength,
    to_astropy_time,
)
from jsocdesk.core.query.validate import SeriesLookup, is_time_primekey, series_lookup
from jsocdesk.core.seriesinfo import SeriesInfo

__all__ = ["FAMILY_PRIMEKEYS", "guess_primekeys", "parse_query"]

#: Prime-key orders assumed when no :class:`SeriesInfo` is available (first match wins).
FAMILY_PRIMEKEYS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"^hmi\.(sharp|mharp|harp|bharp)", re.I), ("HARPNUM", "T_REC")),
    (re.compile(r"^aia\.lev1_", re.I), ("T_REC", "WAVELNTH")),
    (re.compile(r"^aia\.lev1$", re.I), ("T_REC", "FSN")),
    (re.compile(r"^iris\.lev1$", re.I), ("T_OBS", "FSN")),
    (re.compile(r"^hmi\.", re.I), ("T_REC", "CAMERA")),
    (re.compile(r".*"), ("T_REC",)),
)

_INTEGER_RE = re.compile(r"^\d+$")


def guess_primekeys(series: str) -> tuple[str, ...]:
    """Prime-key names assumed for ``series`` without metadata (see module docstring)."""
    for pattern, keys in FAMILY_PRIMEKEYS:
        if pattern.match(series):
            return keys
    return ("T_REC",)


def parse_query(text: str, infos: SeriesLookup | None = None) -> Group:
    """Parse record-set text into a tree (``And`` for one record set, ``Or`` for a list)."""
    specs = parse_record_sets(text)
    lookup = series_lookup(infos)
    branches = [_branch(spec, text, lookup) for spec in specs]
    if len(branches) == 1:
        return branches[0]
    return Or(*branches)


def _branch(spec: RecordSetSpec, text: str, lookup: object) -> And:
    info: SeriesInfo | None = None
    if callable(lookup):
        found = lookup(spec.series)
        info = found if isinstance(found, SeriesInfo) else None
    pkeys = info.primekeys if info is not None else guess_primekeys(spec.series)
    nodes: list[Node] = [_node(lambda: Series(spec.series), text, spec.start)]
    keywords: list[Node] = []
    position = 0
    for f in spec.filters:
        if f.kind is FilterKind.WHERE:
            for comp in parse_where(f.text, column=f.inner, source=text):
                keywords.append(
                    _node(lambda c=comp: Keyword(c.name, c.op, c.value), text, comp.column)
                )
            continue
        if f.kind is FilterKind.RECNUM:
            raise RecordSetSyntaxError(
                "Record-number filters [:#...] cannot be represented in a query tree",
                text,
                f.start,
            )
        if position >= len(pkeys):
            raise RecordSetSyntaxError(
                f"More filters than prime keys: the series {spec.series} has "
                f"{len(pkeys)} ({', '.join(pkeys) or 'none'})",
                text,
                f.start,
            )
        key = pkeys[position]
        position += 1
        nodes.extend(_prime_nodes(f, key, is_time_primekey(key, info), text))
    nodes.extend(keywords)
    if spec.segments is not None:
        if not spec.segments:
            raise RecordSetSyntaxError(
                "An empty segment list {} (no segments) cannot be represented in a query tree",
                text,
                spec.segments_start or spec.start,
            )
        if spec.segments not in (("**ALL**",),):
            for name in spec.segments:
                if name.startswith("**"):
                    raise RecordSetSyntaxError(
                        f"{name} can only stand alone in a segment list",
                        text,
                        spec.segments_start or spec.start,
                    )
                nodes.append(_node(lambda n=name: Segment(n), text, spec.segments_start or 0))
    return And(*nodes)


def _prime_nodes(f: Filter, key: str, is_time: bool, text: str) -> list[Node]:
    if f.kind is FilterKind.EMPTY:
        return []
    if f.kind in (FilterKind.FIRST, FilterKind.LAST):
        return [_node(lambda: PrimeKey(key, f.text), text, f.start)]
    items = split_value_set(f.text, column=f.inner, time=True if is_time else None, source=text)
    if is_time and len(items) == 1 and items[0].kind == "range":
        item = items[0]
        assert item.end is not None
        start = _time(item.start, text, item.column)
        end = _time(item.end, text, item.column)
        if start <= end:
            out: list[Node] = [_node(lambda: Time(start, end), text, item.column)]
            if item.step is not None:
                secs = _duration(item.step, text, item.column)
                out.append(_node(lambda: Sample(secs * u.s), text, item.column))
            return out
    if (
        key.upper() == "WAVELNTH"
        and len(items) == 1
        and items[0].kind == "single"
        and items[0].step is None
        and _INTEGER_RE.match(items[0].start)
    ):
        value = int(items[0].start)
        return [_node(lambda: Wavelength(value * u.AA), text, f.inner)]
    return [_node(lambda: PrimeKey(key, f.text), text, f.inner)]


def _time(literal: str, text: str, column: int) -> AstropyTime:
    try:
        return to_astropy_time(literal)
    except QueryError as exc:
        raise RecordSetSyntaxError(exc.message, text, column) from None
    except (OverflowError, ValueError):
        raise RecordSetSyntaxError("Time value out of range", text, column) from None


def _duration(step: str, text: str, column: int) -> float:
    try:
        return drmstime.parse_duration(step)
    except TimeFormatError as exc:
        raise RecordSetSyntaxError(str(exc), text, column) from None
    except (OverflowError, ValueError):
        raise RecordSetSyntaxError("Duration out of range", text, column) from None


def _node(build: object, text: str, column: int) -> Node:
    """Build a node; a value the node refuses becomes a syntax error at ``column`` (also
    a number too large for a float, such as a 400-digit prime-key value)."""
    assert callable(build)
    try:
        node = build()
    except QueryError as exc:
        raise RecordSetSyntaxError(exc.message, text, column) from None
    except (OverflowError, ValueError):
        raise RecordSetSyntaxError("Value out of range", text, column) from None
    assert isinstance(node, Node)
    return node
