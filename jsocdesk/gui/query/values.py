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

Time instants typed into the Time editor (:func:`parse_instant`): ISO (``2014-01-01
00:00:00``, ``2014-01-01T00:00``), DRMS literals (``2014.01.01_00:00:35_TAI``, their zone
wins), ``now``, and offsets ``-1d`` / ``now-6h`` / ``+30m`` (from now; in the end field a
``+`` offset counts from the start).  A whole range pasted into one field
(``2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI``, ``START/1h``, ``START → END``) fills
both (:func:`parse_range`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import astropy.units as u
from astropy.time import Time as AstropyTime
from astropy.time import TimeDelta

from jsocdesk.core import drmstime
from jsocdesk.core.errors import QueryError, TimeFormatError
from jsocdesk.core.query.tree import (
    Cutout,
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
    if isinstance(node, Cutout):
        return cutout_text(node)
    return node.describe()


#: ``X, Y  W x H @ T_REF [tracked] [register] [nan-off-limb] [rebin S] [resize A]``
_CUTOUT_RE = re.compile(
    r'^\s*(-?[\d.]+(?:e-?\d+)?)"?\s*,\s*(-?[\d.]+(?:e-?\d+)?)"?\s+'
    r'([\d.]+(?:e-?\d+)?)"?\s*[x×]\s*([\d.]+(?:e-?\d+)?)"?\s*@\s*(\S+)\s*(.*)$',
    re.IGNORECASE,
)


def cutout_text(node: Cutout) -> str:
    """A Cutout as editable text (centre and size in arcsec, reference time, options)."""
    words = [f'{node.x:g}", {node.y:g}" {node.width:g}" x {node.height:g}" @ {node.t_ref}']
    if node.tracking:
        words.append("tracked")
    if node.register:
        words.append("register")
    if node.nan_off_limb:
        words.append("nan-off-limb")
    if node.rebin is not None:
        words.append(f"rebin {node.rebin:g}")
    if node.resize is not None:
        words.append(f"resize {node.resize:g}")
    return " ".join(words)


def parse_cutout(text: str) -> Cutout:
    m = _CUTOUT_RE.match(text)
    if not m:
        raise QueryError(
            'A cutout is written \'X, Y W x H @ TIME\' in arcsec (e.g. -300", 200" 240" x 160" '
            "@ 2014-01-01T00:00:00 tracked), optionally with register, nan-off-limb, "
            "rebin S, resize ARCSEC"
        )
    words = m[6].lower().split()
    flags = {"tracking": False, "register": False, "nan_off_limb": False}
    sizes: dict[str, float | None] = {"rebin": None, "resize": None}
    i = 0
    while i < len(words):
        w = words[i]
        if w in ("tracked", "tracking"):
            flags["tracking"] = True
        elif w == "register":
            flags["register"] = True
        elif w in ("nan-off-limb", "nan_off_limb"):
            flags["nan_off_limb"] = True
        elif w in ("rebin", "resize") and i + 1 < len(words):
            try:
                sizes[w] = float(words[i + 1])
            except ValueError:
                raise QueryError(f"{w} needs a number, not {words[i + 1]!r}") from None
            i += 1
        else:
            raise QueryError(f"Unknown cutout option {w!r}")
        i += 1
    try:
        x, y, w, h = (float(m[k]) for k in range(1, 5))
    except ValueError:
        raise QueryError("Cutout centre and size must be numbers of arcsec") from None
    return Cutout(
        x,
        y,
        w,
        h,
        m[5],
        tracking=flags["tracking"],
        register=flags["register"],
        nan_off_limb=flags["nan_off_limb"],
        rebin=sizes["rebin"],
        resize=sizes["resize"],
    )


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
    if isinstance(old, Cutout):
        return parse_cutout(text)
    raise QueryError(f"Cannot edit a {old.kind} node as text")


# --- typed time instants and ranges (the Time editor) -------------------------------------

TIME_HINT = "e.g. 2014-01-01 00:00, 2014.01.01_00:00:35_TAI, now, -1d, +1h"
_OFFSET_RE = re.compile(
    r"^(?P<now>now)?\s*(?:(?P<sign>[+-])\s*(?P<n>\d+(?:\.\d*)?|\.\d+)\s*"
    r"(?P<unit>s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|hours?|d|days?|w|weeks?))?$",
    re.IGNORECASE,
)
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
_ZONED = re.compile(r"(?:_|\d)(?:TAI|UTC|UT|TT|GMT|Z)\s*$", re.IGNORECASE)
_DURATION_TAIL = re.compile(r"^(?P<start>.+?)\s*/\s*(?P<dur>\d+(?:\.\d*)?\s*[smhd])$", re.I)


def now_utc() -> AstropyTime:
    return AstropyTime(datetime.now(UTC).replace(tzinfo=None, microsecond=0), scale="utc")


def parse_instant(
    text: str,
    scale: str = "utc",
    *,
    now: AstropyTime | None = None,
    start: AstropyTime | None = None,
) -> AstropyTime:
    """One instant as typed (see the module doc); raises :class:`QueryError` saying how
    to write one.  Text without a zone is read in ``scale``."""
    body = text.strip()
    if not body:
        raise QueryError(f"Empty time: type one, {TIME_HINT}")
    m = _OFFSET_RE.match(body)
    if m and (m["now"] or m["sign"]):
        base = now if now is not None else now_utc()
        if not m["now"] and m["sign"] == "+" and start is not None:
            base = start
        if not m["sign"]:
            return base
        seconds = float(m["n"]) * _UNIT_S[m["unit"][0].lower()]
        delta = TimeDelta(seconds if m["sign"] == "+" else -seconds, format="sec")
        return base + delta
    if _ZONED.search(body):
        try:
            secs, zone = drmstime.parse_time(body)
        except TimeFormatError:
            raise QueryError(f"Not a time: {text.strip()!r} ({TIME_HINT})") from None
        tai = AstropyTime(drmstime.seconds_to_tai_calendar(secs), scale="tai")
        return tai.utc if zone == "UTC" else tai
    iso = body.replace("/", "-")
    dotted = re.match(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})(?:[_ T](.*))?$", iso)
    if dotted:  # a DRMS literal without its zone: read it in the editor's scale
        iso = f"{dotted[1]}-{dotted[2]}-{dotted[3]}" + (f" {dotted[4]}" if dotted[4] else "")
    try:
        return AstropyTime(iso.replace("_", " "), scale=scale)
    except (ValueError, TypeError, OverflowError):
        raise QueryError(f"Not a time: {text.strip()!r} ({TIME_HINT})") from None


def parse_range(
    text: str, scale: str = "utc", *, now: AstropyTime | None = None
) -> tuple[AstropyTime, AstropyTime] | None:
    """A whole range typed or pasted into one field, or None when ``text`` is one instant.

    ``A → B`` / ``A to B`` / ``A .. B``, DRMS ``A-B`` and ``A/1h``."""
    body = text.strip()
    parts = _RANGE_SPLIT.split(body)
    if len(parts) == 2 and all(parts):
        t0 = parse_instant(parts[0], scale, now=now)
        return t0, parse_instant(parts[1], scale, now=now, start=t0)
    m = _DURATION_TAIL.match(body)
    if m:
        t0 = parse_instant(m["start"], scale, now=now)
        try:
            seconds = drmstime.parse_duration(m["dur"].replace(" ", ""))
        except TimeFormatError:
            return None
        return t0, t0 + TimeDelta(seconds, format="sec")
    for i, ch in enumerate(body):  # DRMS A-B: a dash with an instant on each side
        if ch != "-" or i == 0:
            continue
        left, right = body[:i].strip(), body[i + 1 :].strip()
        if not left or not right or not right[0].isdigit() or len(right) < 8:
            continue
        try:
            t0 = parse_instant(left, scale, now=now)
            t1 = parse_instant(right, scale, now=now)
        except QueryError:
            continue
        return t0, t1
    return None
