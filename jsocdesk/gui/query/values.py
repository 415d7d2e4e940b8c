"""Node values as text and back: what the Value column shows and accepts when typed.

==========  ===================================  =========================================
kind        text                                 example
==========  ===================================  =========================================
series      the name                             ``hmi.v_45s``
time        ``START → END [UTC|TAI]``            ``2014-01-01 00:00 → 2014-01-01 01:00 UTC``
wavelength  a quantity                           ``171 Angstrom``, ``17.1 nm``
primekey    ``NAME = VALUE``                     ``HARPNUM = 4864``
segment     the name                             ``magnetogram``
keyword     ``NAME OP VALUE`` or a bare name     ``QUALITY = 0``
sample      a quantity of time                   ``10 min``
notify      the e-mail                           ``me@example.com``
==========  ===================================  =========================================

In a time range ``to``, ``..`` and ``–`` work as well as ``→``.
"""

from __future__ import annotations

import re

import astropy.units as u
from astropy.time import Time as AstropyTime

from jsocdesk.core.errors import QueryError
from jsocdesk.core.query.tree import (
    Keyword,
    Node,
    Notify,
    PrimeKey,
    Sample,
    Segment,
    Series,
    Time,
    Wavelength,
)

TIME_SCALES = ("UTC", "TAI")

_RANGE_SPLIT = re.compile(r"\s*(?:→|\.\.|\bto\b|–)\s*")
_KEYWORD_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:(==|!=|<>|<=|>=|=|<|>)\s*(.*?))?\s*$")
_PRIMEKEY_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def time_text(t: AstropyTime) -> str:
    text = str(t.iso)
    return text[:-4] if text.endswith(".000") else text


def quantity_text(q: u.Quantity) -> str:
    value = float(q.value)
    number = f"{value:g}" if value != int(value) or abs(value) >= 1e15 else str(int(value))
    return f"{number} {q.unit.to_string()}"


def value_text(node: Node) -> str:
    if isinstance(node, Series):
        return node.name
    if isinstance(node, Time):
        return f"{time_text(node.start)} → {time_text(node.end)} {node.start.scale.upper()}"
    if isinstance(node, Wavelength):
        if node.min_angstrom == node.max_angstrom:
            return quantity_text(node.min)
        return f"{quantity_text(node.min)} → {quantity_text(node.max)}"
    if isinstance(node, PrimeKey):
        return f"{node.name} = {node.value}"
    if isinstance(node, Segment):
        return node.name
    if isinstance(node, Keyword):
        return node.name if node.op is None else f"{node.name} {node.op} {node.value}"
    if isinstance(node, Sample):
        return quantity_text(node.value)
    if isinstance(node, Notify):
        return node.email
    return node.describe()


def parse_quantity(text: str) -> u.Quantity:
    try:
        q = u.Quantity(text.strip())
    except (TypeError, ValueError):
        raise QueryError(f"Not a quantity with units: {text!r}") from None
    if q.unit == u.dimensionless_unscaled:
        raise QueryError(f"{text!r} needs units (e.g. 171 Angstrom, 10 min)")
    return q


def parse_time_range(text: str) -> tuple[AstropyTime, AstropyTime]:
    body = text.strip()
    scale = "utc"
    for s in TIME_SCALES:
        if body.upper().endswith(" " + s):
            scale = s.lower()
            body = body[: -len(s)].strip()
            break
    parts = _RANGE_SPLIT.split(body)
    if len(parts) != 2 or not all(parts):
        raise QueryError("A time range is written 'START → END [UTC|TAI]'")
    try:
        start = AstropyTime(parts[0].replace("/", "-"), scale=scale)
        end = AstropyTime(parts[1].replace("/", "-"), scale=scale)
    except ValueError as exc:
        raise QueryError(f"Not a time: {exc}") from None
    return start, end


def node_from_text(old: Node, text: str) -> Node:
    """A node of ``old``'s kind built from typed text (raises :class:`QueryError`)."""
    text = text.strip()
    if isinstance(old, Series):
        return Series(text)
    if isinstance(old, Time):
        return Time(*parse_time_range(text))
    if isinstance(old, Wavelength):
        parts = _RANGE_SPLIT.split(text)
        if len(parts) == 2:
            return Wavelength(parse_quantity(parts[0]), parse_quantity(parts[1]))
        return Wavelength(parse_quantity(text))
    if isinstance(old, PrimeKey):
        m = _PRIMEKEY_RE.match(text)
        if not m:
            raise QueryError("A prime key filter is written 'NAME = VALUE'")
        return PrimeKey(m[1], m[2])
    if isinstance(old, Segment):
        return Segment(text)
    if isinstance(old, Keyword):
        m = _KEYWORD_RE.match(text)
        if not m:
            raise QueryError("A keyword filter is written 'NAME OP VALUE' (OP: = != < <= > >=)")
        if m[2] is None:
            return Keyword(m[1])
        return Keyword(m[1], m[2], m[3].strip("'\""))
    if isinstance(old, Sample):
        return Sample(parse_quantity(text))
    if isinstance(old, Notify):
        return Notify(text)
    raise QueryError(f"Cannot edit a {old.kind} node as text")
