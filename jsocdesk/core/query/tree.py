"""Query tree: immutable value nodes, AND/OR groups, and the evented :class:`QueryTree`.

Design
======

* **Value nodes are immutable** (frozen dataclasses).  Every node carries an integer ``id``
  that is *not* part of its value: two nodes with the same content compare equal whatever
  their ids, and :func:`dataclasses.replace`-style copies keep the id.  The id is the node's
  identity for the GUI (a Qt item model uses it as ``internalId``) and for error reporting
  (:class:`~jsocdesk.core.errors.QueryError` ``.node`` is the offending node, so its ``id``
  finds the row to mark).
* **Groups** :class:`And` and :class:`Or` hold a tuple of children and nest freely.  Nodes
  combine with ``&`` and ``|`` like sunpy attrs (``Series('hmi.v_45s') & Time(...)``);
  ``And & x`` flattens into one ``And``, ``Or | x`` into one ``Or``.
* **The mutable container** is :class:`QueryTree`.  It owns one root group and offers the
  node-by-node edits a tree view needs (insert a child at a row, remove, move/regroup,
  replace a value, change a group's kind, wrap/unwrap).  Each edit emits a *before* and an
  *after* event (:class:`TreeEvents`) whose arguments map one to one onto Qt's
  ``beginInsertRows``/``endInsertRows``, ``beginRemoveRows``, ``beginMoveRows`` and
  ``dataChanged``.  ``QueryTree.root`` returns an immutable snapshot of the whole tree (what
  the compiler, validator and session store consume).

Node kinds
==========

=================  ==========================================================================
:class:`Series`    ``Series('hmi.v_45s')`` - the data series (required in every branch)
:class:`Time`      ``Time(start, end)``; astropy :class:`~astropy.time.Time` in any scale,
                   ``datetime`` (UTC) or a string (ISO → UTC, or a DRMS literal with zone)
:class:`Wavelength` ``Wavelength(304 * u.AA)`` or ``Wavelength(min, max)``; any spectral unit
:class:`PrimeKey`  ``PrimeKey('HARPNUM', '4864')`` - an explicit prime-key filter (string)
:class:`Segment`   ``Segment('magnetogram')``
:class:`Keyword`   ``Keyword('QUALITY') == 0`` builds a comparison (``==  !=  <  <=  >  >=``);
                   a bare ``Keyword('QUALITY')`` is a (reported) validation error
:class:`Sample`    ``Sample(10 * u.min)`` - cadence, a Quantity convertible to seconds
:class:`Notify`    ``Notify('me@example.com')`` - the e-mail used by exports
:class:`Cutout`    ``Cutout(x, y, width, height, t_ref, tracking=True)`` - an ``im_patch``
                   cutout (sunpy's ``a.jsoc.Cutout``), with rebin/resize options
=================  ==========================================================================

Equality and hashing are by value: times compare by instant (a UTC and a TAI :class:`Time`
for the same instant are equal), wavelengths by their value in Ångström, samples by seconds.
:class:`Keyword` overloads ``==`` like sunpy: comparing with a non-``Keyword`` builds a
comparison node; comparing two ``Keyword`` nodes compares their values.

Serialisation: :func:`node_to_dict` / :func:`node_from_dict` give the JSON-safe form used by
sessions (documented in ``docs/session-format.md``); ids are not persisted.

QueryTree events
================

All ids are node ids; ``parent_id`` is the id of a group (``tree.root_id`` for top level).

* ``inserting(parent_id, row, count)`` / ``inserted(parent_id, row, count)``
* ``removing(parent_id, row, count)`` / ``removed(parent_id, row, count)``
* ``moving(src_parent_id, src_row, dest_parent_id, dest_row)`` / ``moved(...)``: one node;
  ``dest_row`` counts rows of the destination *before* the move (Qt's convention)
* ``changed(node_id)``: the node's value (or a group's kind) changed in place, same id
* ``resetting()`` / ``reset()``: the whole tree was replaced
* ``modified()``: after any of the above (re-validate, mark the session dirty)
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import math
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal, TypeAlias, TypeVar, cast

import astropy.units as u
from astropy.time import ScaleValueError
from astropy.time import Time as AstropyTime

from jsocdesk.core import drmstime
from jsocdesk.core.errors import QueryError, TimeFormatError
from jsocdesk.core.events import EditEvents, Signal

__all__ = [
    "GROUP_KINDS",
    "KEYWORD_OPERATORS",
    "And",
    "Cutout",
    "Group",
    "GroupKind",
    "Keyword",
    "Node",
    "Notify",
    "Or",
    "PrimeKey",
    "QueryTree",
    "Sample",
    "Segment",
    "Series",
    "Time",
    "TreeEvents",
    "Wavelength",
    "new_id",
    "node_from_dict",
    "node_to_dict",
    "quiet_astropy",
    "to_astropy_time",
]

_ids = itertools.count(1)


def new_id() -> int:
    """A fresh node id (process-wide, strictly increasing, never 0)."""
    return next(_ids)


N = TypeVar("N", bound="Node")

#: Comparison operators accepted by :class:`Keyword`, as rendered in a where-clause.
KEYWORD_OPERATORS: tuple[str, ...] = ("=", "!=", "<", "<=", ">", ">=")

_SERIES_RE = re.compile(r"^[A-Za-z0-9_.]+$")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Node:
    """Base of every query node.  ``kind`` is a short stable name (also the JSON ``type``)."""

    kind: ClassVar[str] = "node"
    id: int

    # --- combination like sunpy attrs
    def __and__(self, other: object) -> And:
        if not isinstance(other, Node):
            return NotImplemented
        left = self.children if isinstance(self, And) else (self,)
        right = other.children if isinstance(other, And) else (other,)
        return And(*left, *right)

    def __or__(self, other: object) -> Or:
        if not isinstance(other, Node):
            return NotImplemented
        left = self.children if isinstance(self, Or) else (self,)
        right = other.children if isinstance(other, Or) else (other,)
        return Or(*left, *right)

    # --- helpers
    @property
    def is_group(self) -> bool:
        return False

    def with_id(self: N, node_id: int) -> N:
        """A copy of this node carrying ``node_id`` (same value)."""
        clone = copy.copy(self)
        object.__setattr__(clone, "id", node_id)
        return clone

    def walk(self) -> Iterator[Node]:
        """This node and all its descendants, depth first, in order."""
        yield self

    def describe(self) -> str:
        """Short human text for a tree view (``Time: 2014-01-01 00:00:00 … (UTC)``)."""
        return self.kind


# --- value nodes ---------------------------------------------------------------------------


def _id_field() -> Any:
    return field(default_factory=new_id, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Series(Node):
    """The data series, e.g. ``Series('hmi.v_45s')``; the name is kept as typed."""

    kind: ClassVar[str] = "series"
    name: str
    id: int = _id_field()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise QueryError(f"Series name must be a string, not {type(self.name).__name__}")
        name = self.name.strip()
        if not name:
            raise QueryError("Series name must not be empty")
        if not _SERIES_RE.match(name):
            raise QueryError(f"Not a valid series name: {self.name!r}")
        object.__setattr__(self, "name", name)

    def describe(self) -> str:
        return f"Series: {self.name}"


TimeLike: TypeAlias = "AstropyTime | datetime | str"


@contextlib.contextmanager
def quiet_astropy() -> Iterator[None]:
    """Silence astropy/ERFA warnings ("dubious year" etc.) around time conversions.

    They concern far-future UTC dates; jsocdesk reports real problems as errors instead.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def to_astropy_time(value: TimeLike) -> AstropyTime:
    """astropy ``Time`` (kept as is), naive ``datetime`` (UTC) or a string.

    Strings: anything astropy parses (ISO, ``2014/01/01 00:00``; taken as UTC like sunpy's
    ``parse_time``) or a DRMS literal with zone (``2014.01.01_00:00:35_TAI``).
    """
    with quiet_astropy():
        return _to_astropy_time(value)


def _to_astropy_time(value: TimeLike) -> AstropyTime:
    if isinstance(value, AstropyTime):
        if not value.isscalar:
            raise QueryError("Time takes single instants, not arrays")
        return value
    if isinstance(value, datetime):
        return AstropyTime(value, scale="utc")
    if isinstance(value, str):
        text = value.strip()
        drms_style = "_" in text or text[-1:].isalpha()
        if not drms_style:  # ISO-like: astropy's parser (UTC, like sunpy's parse_time)
            try:
                return AstropyTime(text.replace("/", "-"), scale="utc")
            except (ValueError, TypeError, OverflowError):
                pass
        try:
            secs, zone = drmstime.parse_time(text)
        except TimeFormatError:
            raise QueryError(f"Not a time: {value!r}") from None
        tai = AstropyTime(drmstime.seconds_to_tai_calendar(secs), scale="tai")
        return tai.utc if zone == "UTC" else tai
    raise QueryError(f"Not a time: {value!r} ({type(value).__name__})")


def _instant_key(t: AstropyTime) -> float:
    with quiet_astropy():
        return round(drmstime.from_astropy(t), 6)


@dataclass(frozen=True, init=False, eq=False)
class Time(Node):
    """A time range ``start``-``end`` (inclusive, like sunpy ``a.Time``); any time scale.

    The compiler renders it in TAI (``%Y.%m.%d_%H:%M:%S_TAI``, fractional seconds dropped as
    astropy's ``strftime`` does).
    """

    kind: ClassVar[str] = "time"
    start: AstropyTime
    end: AstropyTime
    id: int

    def __init__(self, start: TimeLike, end: TimeLike, *, id: int | None = None) -> None:
        t0 = to_astropy_time(start)
        t1 = to_astropy_time(end)
        k0, k1 = _instant_key(t0), _instant_key(t1)
        if k0 > k1:
            raise QueryError("End time must be after start time.")
        object.__setattr__(self, "start", t0)
        object.__setattr__(self, "end", t1)
        object.__setattr__(self, "id", new_id() if id is None else id)
        object.__setattr__(self, "_instants", (k0, k1))

    def _key(self) -> tuple[float, float]:
        """(start, end) as DRMS TAI seconds, rounded to µs (computed once)."""
        key: tuple[float, float] = self.__dict__["_instants"]
        return key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Time):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(("time", *self._key()))

    def __repr__(self) -> str:
        return f"Time({self.start.isot!r}, {self.end.isot!r}, scale={self.start.scale!r})"

    def describe(self) -> str:
        return f"Time: {self.start.iso} – {self.end.iso} ({self.start.scale.upper()})"


def _spectral_angstrom(value: Any, what: str) -> float:
    if not isinstance(value, u.Quantity):
        raise QueryError(
            f"{what} must be an astropy Quantity with spectral units "
            f"(e.g. 304 * u.AA), not {value!r}"
        )
    if not value.isscalar:
        raise QueryError(f"{what} must be a single value")
    try:
        return float(value.to_value(u.AA, equivalencies=u.spectral()))
    except u.UnitConversionError:
        raise QueryError(
            f"{what} needs spectral units (length, frequency or energy), not {value.unit}"
        ) from None


@dataclass(frozen=True, init=False, eq=False)
class Wavelength(Node):
    """A wavelength (``Wavelength(304 * u.AA)``) or range (min, max) in any spectral unit.

    Bare numbers are rejected.  JSOC needs ``min == max``; the validator reports otherwise.
    """

    kind: ClassVar[str] = "wavelength"
    min: u.Quantity
    max: u.Quantity
    id: int

    def __init__(
        self,
        min: u.Quantity,
        max: u.Quantity | None = None,
        *,
        id: int | None = None,
    ) -> None:
        lo = _spectral_angstrom(min, "Wavelength")
        hi = _spectral_angstrom(max if max is not None else min, "Wavelength")
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise QueryError("Wavelength must be finite")
        if lo > hi:
            min, max = max, min
        object.__setattr__(self, "min", min)
        object.__setattr__(self, "max", max if max is not None else min)
        object.__setattr__(self, "id", new_id() if id is None else id)

    @property
    def min_angstrom(self) -> float:
        return _spectral_angstrom(self.min, "Wavelength")

    @property
    def max_angstrom(self) -> float:
        return _spectral_angstrom(self.max, "Wavelength")

    def _key(self) -> tuple[float, float]:
        return (round(self.min_angstrom, 6), round(self.max_angstrom, 6))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Wavelength):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(("wavelength", *self._key()))

    def __repr__(self) -> str:
        if self._key()[0] == self._key()[1]:
            return f"Wavelength({self.min!r})"
        return f"Wavelength({self.min!r}, {self.max!r})"

    def describe(self) -> str:
        if self._key()[0] == self._key()[1]:
            return f"Wavelength: {self.min}"
        return f"Wavelength: {self.min} – {self.max}"


def _value_text(value: object, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise QueryError(f"{what} value must be a string, not {value!r}")
    return str(value)


@dataclass(frozen=True)
class PrimeKey(Node):
    """An explicit prime-key filter, the value verbatim (``PrimeKey('HARPNUM', '4864')``)."""

    kind: ClassVar[str] = "primekey"
    name: str
    value: str
    id: int = _id_field()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name.strip()):
            raise QueryError(f"Not a valid prime-key name: {self.name!r}")
        object.__setattr__(self, "name", self.name.strip())
        value = _value_text(self.value, "PrimeKey").strip()
        if any(ch in value for ch in "[]{}"):
            raise QueryError(f"PrimeKey value must not contain brackets or braces: {value!r}")
        object.__setattr__(self, "value", value)

    def describe(self) -> str:
        return f"PrimeKey: {self.name} = {self.value}"


@dataclass(frozen=True)
class Segment(Node):
    """A segment to select (``Segment('magnetogram')``); several AND together."""

    kind: ClassVar[str] = "segment"
    name: str
    id: int = _id_field()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise QueryError(f"Segment name must be a string, not {self.name!r}")
        name = self.name.strip()
        if not name or not re.match(r"^[A-Za-z0-9_]+$", name):
            raise QueryError(f"Not a valid segment name: {self.name!r}")
        object.__setattr__(self, "name", name)

    def describe(self) -> str:
        return f"Segment: {self.name}"


_OP_ALIASES = {
    "==": "=",
    "=": "=",
    "!=": "!=",
    "<>": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
}


@dataclass(frozen=True, eq=False)
class Keyword(Node):
    """A keyword filter.  ``Keyword('QUALITY') == 0`` → ``Keyword('QUALITY', '=', '0')``.

    ``op`` is one of :data:`KEYWORD_OPERATORS` (``==`` is stored as ``=``) and ``value`` is
    the text rendered between single quotes (``str(value)`` like sunpy).  A bare keyword
    (``op is None``) is allowed in a tree but fails validation with sunpy's message.
    """

    kind: ClassVar[str] = "keyword"
    name: str
    op: str | None = None
    value: str | None = None
    id: int = _id_field()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name.strip()):
            raise QueryError(f"Not a valid keyword name: {self.name!r}")
        object.__setattr__(self, "name", self.name.strip())
        if self.op is None:
            if self.value is not None:
                raise QueryError(f"Keyword {self.name!r} has a value but no comparison")
            return
        op = _OP_ALIASES.get(str(self.op).strip())
        if op is None:
            raise QueryError(f"Unsupported keyword comparison: {self.op!r}")
        object.__setattr__(self, "op", op)
        if self.value is None:
            raise QueryError(f"Keyword {self.name!r} needs a value to compare with")
        object.__setattr__(self, "value", _value_text(self.value, "Keyword"))

    @property
    def has_comparison(self) -> bool:
        return self.op is not None

    def _compare(self, op: str, other: object) -> Keyword:
        if self.op is not None:
            raise QueryError(f"Keyword {self.name!r} already has a comparison")
        return Keyword(self.name, op, _value_text(other, "Keyword"))

    def _vkey(self) -> tuple[str, str | None, str | None]:
        return (self.name, self.op, self.value)

    # Comparing with another Keyword compares values (so trees compare); anything else
    # builds a comparison node like sunpy's ``Keyword(...) == 0``.
    def __eq__(self, other: object) -> Any:
        if isinstance(other, Keyword):
            return self._vkey() == other._vkey()
        if isinstance(other, Node):
            return NotImplemented
        return self._compare("=", other)

    def __ne__(self, other: object) -> Any:
        if isinstance(other, Keyword):
            return self._vkey() != other._vkey()
        if isinstance(other, Node):
            return NotImplemented
        return self._compare("!=", other)

    def __lt__(self, other: object) -> Keyword:
        return self._compare("<", other)

    def __le__(self, other: object) -> Keyword:
        return self._compare("<=", other)

    def __gt__(self, other: object) -> Keyword:
        return self._compare(">", other)

    def __ge__(self, other: object) -> Keyword:
        return self._compare(">=", other)

    def __hash__(self) -> int:
        return hash(("keyword", *self._vkey()))

    def __repr__(self) -> str:
        if self.op is None:
            return f"Keyword({self.name!r})"
        return f"Keyword({self.name!r}, {self.op!r}, {self.value!r})"

    def describe(self) -> str:
        if self.op is None:
            return f"Keyword: {self.name} (no comparison)"
        return f"Keyword: {self.name} {self.op} {self.value}"


@dataclass(frozen=True, init=False, eq=False)
class Sample(Node):
    """Sampling cadence: ``Sample(10 * u.min)`` (a Quantity convertible to seconds, > 0)."""

    kind: ClassVar[str] = "sample"
    value: u.Quantity
    id: int

    def __init__(self, value: u.Quantity, *, id: int | None = None) -> None:
        if not isinstance(value, u.Quantity) or not value.isscalar:
            raise QueryError(
                f"Sample must be an astropy Quantity convertible to seconds "
                f"(e.g. 10 * u.min), not {value!r}"
            )
        try:
            secs = float(value.to_value(u.s))
        except u.UnitConversionError:
            raise QueryError(f"Sample must be convertible to seconds, not {value.unit}") from None
        if not math.isfinite(secs) or secs <= 0:
            raise QueryError("Sample must be a positive duration")
        object.__setattr__(self, "value", value)
        object.__setattr__(self, "id", new_id() if id is None else id)

    @property
    def seconds(self) -> float:
        return float(self.value.to_value(u.s))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sample):
            return NotImplemented
        return round(self.seconds, 6) == round(other.seconds, 6)

    def __hash__(self) -> int:
        return hash(("sample", round(self.seconds, 6)))

    def __repr__(self) -> str:
        return f"Sample({self.value!r})"

    def describe(self) -> str:
        return f"Sample: {self.value}"


@dataclass(frozen=True)
class Notify(Node):
    """The notification e-mail an export needs (sunpy's messages for bad values)."""

    kind: ClassVar[str] = "notify"
    email: str
    id: int = _id_field()

    def __post_init__(self) -> None:
        if self.email is None:
            raise QueryError("Notify attribute must contain an email address")
        if not isinstance(self.email, str):
            raise QueryError(f"Notify attribute must be a string, not {self.email!r}")
        if "@" not in self.email:
            raise QueryError(
                "Notify attribute must contain an '@' symbol to be a valid email address"
            )
        object.__setattr__(self, "email", self.email.strip())

    def describe(self) -> str:
        return f"Notify: {self.email}"


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool | int) or value not in (0, 1):
        raise QueryError(f"Cutout {name} must be True or False, not {value!r}")
    return bool(value)


def _arcsec(value: object, name: str) -> float:
    if isinstance(value, u.Quantity):
        unit = value.unit
        try:
            value = float(value.to_value(u.arcsec))
        except u.UnitConversionError:
            raise QueryError(f"Cutout {name} must be an angle, not {unit}") from None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise QueryError(f"Cutout {name} must be a number of arcsec, not {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise QueryError(f"Cutout {name} must be finite")
    return out


@dataclass(frozen=True, init=False)
class Cutout(Node):
    """A server-side cutout (JSOC's ``im_patch``), with sunpy's ``a.jsoc.Cutout`` semantics.

    ``x``/``y``: centre, ``width``/``height``: size, all helioprojective arcsec as seen
    from SDO at ``t_ref`` (ISO UTC, the time the box was drawn for); ``tracking``: the box
    follows solar (differential) rotation from ``t_ref``; ``register``: sub-pixel
    registration; ``nan_off_limb``: off-limb pixels become NaN.  Processing options:
    ``rebin`` (``jsoc_rebin`` scale, e.g. 0.5 halves each axis, boxcar) and ``resize``
    (``jsoc_resize`` to ``resize`` arcsec per pixel, bicubic, centred).
    """

    kind: ClassVar[str] = "cutout"
    x: float
    y: float
    width: float
    height: float
    t_ref: str
    tracking: bool
    register: bool
    nan_off_limb: bool
    rebin: float | None
    resize: float | None
    id: int

    def __init__(
        self,
        x: float | u.Quantity,
        y: float | u.Quantity,
        width: float | u.Quantity,
        height: float | u.Quantity,
        t_ref: TimeLike,
        *,
        tracking: bool = False,
        register: bool = False,
        nan_off_limb: bool = False,
        rebin: float | None = None,
        resize: float | None = None,
        id: int | None = None,
    ) -> None:
        w, h = _arcsec(width, "width"), _arcsec(height, "height")
        if w <= 0 or h <= 0:
            raise QueryError("Cutout width and height must be positive")
        try:
            with quiet_astropy():
                ref = to_astropy_time(t_ref).utc
                t_text = str(AstropyTime(ref, precision=3).isot)
        except (ValueError, TypeError, TimeFormatError, QueryError):
            raise QueryError(f"Cutout reference time is not a time: {t_ref!r}"[:200]) from None
        for name, value in (("rebin", rebin), ("resize", resize)):
            if value is not None and (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise QueryError(f"Cutout {name} must be a positive number, not {value!r}")
        object.__setattr__(self, "x", _arcsec(x, "x"))
        object.__setattr__(self, "y", _arcsec(y, "y"))
        object.__setattr__(self, "width", w)
        object.__setattr__(self, "height", h)
        object.__setattr__(self, "t_ref", t_text)
        object.__setattr__(self, "tracking", _flag(tracking, "tracking"))
        object.__setattr__(self, "register", _flag(register, "register"))
        object.__setattr__(self, "nan_off_limb", _flag(nan_off_limb, "nan_off_limb"))
        object.__setattr__(self, "rebin", None if rebin is None else float(rebin))
        object.__setattr__(self, "resize", None if resize is None else float(resize))
        object.__setattr__(self, "id", new_id() if id is None else id)

    @classmethod
    def from_corners(
        cls,
        bottom_left: tuple[float, float],
        top_right: tuple[float, float],
        t_ref: TimeLike,
        **options: Any,
    ) -> Cutout:
        """The box between two helioprojective corners (arcsec), like sunpy's arguments."""
        (x0, y0), (x1, y1) = bottom_left, top_right
        x0, y0 = _arcsec(x0, "bottom-left x"), _arcsec(y0, "bottom-left y")
        x1, y1 = _arcsec(x1, "top-right x"), _arcsec(y1, "top-right y")
        return cls((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0, t_ref, **options)

    @property
    def bottom_left(self) -> tuple[float, float]:
        return self.x - self.width / 2, self.y - self.height / 2

    @property
    def top_right(self) -> tuple[float, float]:
        return self.x + self.width / 2, self.y + self.height / 2

    def im_patch(self) -> dict[str, object]:
        """The ``im_patch`` arguments, in the order and form sunpy's ``Cutout.value`` has."""
        return {
            "t_ref": self.t_ref,
            "t": int(not self.tracking),  # JSOC's flag disables tracking
            "r": int(self.register),
            "c": int(self.nan_off_limb),
            "locunits": "arcsec",
            "boxunits": "arcsec",
            "x": self.x,
            "y": self.y,
            "width": self.width,
            "height": self.height,
        }

    def process(self) -> str:
        """The processing steps as drms joins them (``im_patch,k=v,…|rebin,…|resize,…``)."""
        steps = ["im_patch," + ",".join(f"{k}={v}" for k, v in self.im_patch().items())]
        if self.rebin is not None:
            steps.append(f"rebin,scale={self.rebin},method=boxcar")
        if self.resize is not None:
            steps.append(f"resize,regrid=1,center_to=0,rescale=1,scale_to={self.resize}")
        return "|".join(steps)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Cutout):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[object, ...]:
        return (
            self.x,
            self.y,
            self.width,
            self.height,
            self.t_ref,
            self.tracking,
            self.register,
            self.nan_off_limb,
            self.rebin,
            self.resize,
        )

    def __repr__(self) -> str:
        return (
            f"Cutout(x={self.x}, y={self.y}, width={self.width}, height={self.height}, "
            f"t_ref={self.t_ref!r}, tracking={self.tracking})"
        )

    def describe(self) -> str:
        extra = []
        if self.tracking:
            extra.append("tracked")
        if self.rebin is not None:
            extra.append(f"rebin ×{self.rebin:g}")
        if self.resize is not None:
            extra.append(f'{self.resize:g}"/px')
        more = f" ({', '.join(extra)})" if extra else ""
        return (
            f'Cutout: {self.width:g}"×{self.height:g}" at ({self.x:g}", {self.y:g}") '
            f"{self.t_ref}{more}"
        )


# --- groups --------------------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class Group(Node):
    """Base of :class:`And` / :class:`Or`: an ordered tuple of child nodes."""

    children: tuple[Node, ...]
    id: int = field(compare=False, repr=False)

    def __init__(self, *children: Node, id: int | None = None) -> None:
        for c in children:
            if not isinstance(c, Node):
                raise QueryError(f"{type(self).__name__} children must be query nodes, not {c!r}")
        object.__setattr__(self, "children", tuple(children))
        object.__setattr__(self, "id", new_id() if id is None else id)

    @property
    def is_group(self) -> bool:
        return True

    def walk(self) -> Iterator[Node]:
        yield self
        for c in self.children:
            yield from c.walk()

    def __len__(self) -> int:
        return len(self.children)

    def __iter__(self) -> Iterator[Node]:
        return iter(self.children)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(c) for c in self.children)})"


@dataclass(frozen=True, init=False, repr=False)
class And(Group):
    """All children hold (``a & b``)."""

    kind: ClassVar[str] = "and"

    def describe(self) -> str:
        return "All of (AND)"


@dataclass(frozen=True, init=False, repr=False)
class Or(Group):
    """Any child holds (``a | b``); each alternative becomes one record set."""

    kind: ClassVar[str] = "or"

    def describe(self) -> str:
        return "Any of (OR)"


GROUP_KINDS: dict[str, type[Group]] = {"and": And, "or": Or}


# --- serialisation -------------------------------------------------------------------------


def _time_text(t: AstropyTime) -> str:
    return str(AstropyTime(t, precision=9).isot)


def node_to_dict(node: Node) -> dict[str, Any]:
    """JSON-safe dict of a node (recursively for groups); ids are not included."""
    if isinstance(node, Group):
        return {"type": node.kind, "children": [node_to_dict(c) for c in node.children]}
    if isinstance(node, Series):
        return {"type": "series", "name": node.name}
    if isinstance(node, Time):
        return {
            "type": "time",
            "start": _time_text(node.start),
            "end": _time_text(node.end),
            "scale": node.start.scale,
            "end_scale": node.end.scale,
        }
    if isinstance(node, Wavelength):
        return {
            "type": "wavelength",
            "min": float(node.min.value),
            "max": float(node.max.value),
            "unit": node.min.unit.to_string(),
            "max_unit": node.max.unit.to_string(),
        }
    if isinstance(node, PrimeKey):
        return {"type": "primekey", "name": node.name, "value": node.value}
    if isinstance(node, Segment):
        return {"type": "segment", "name": node.name}
    if isinstance(node, Keyword):
        return {"type": "keyword", "name": node.name, "op": node.op, "value": node.value}
    if isinstance(node, Sample):
        return {
            "type": "sample",
            "value": float(node.value.value),
            "unit": node.value.unit.to_string(),
        }
    if isinstance(node, Notify):
        return {"type": "notify", "email": node.email}
    if isinstance(node, Cutout):
        return {
            "type": "cutout",
            "x": node.x,
            "y": node.y,
            "width": node.width,
            "height": node.height,
            "t_ref": node.t_ref,
            "tracking": node.tracking,
            "register": node.register,
            "nan_off_limb": node.nan_off_limb,
            "rebin": node.rebin,
            "resize": node.resize,
        }
    raise QueryError(f"Cannot serialise {node!r}")


def _req(d: Mapping[str, Any], key: str, types: type | tuple[type, ...]) -> Any:
    if key not in d:
        raise QueryError(f"{d.get('type', 'node')} node lacks {key!r}")
    value = d[key]
    if not isinstance(value, types) or isinstance(value, bool):
        raise QueryError(f"{d.get('type', 'node')} node: {key!r} has the wrong type")
    return value


def _unit(text: Any) -> u.UnitBase:
    if not isinstance(text, str):
        raise QueryError(f"Not a unit: {text!r}")
    try:
        return u.Unit(text)
    except (ValueError, TypeError):
        raise QueryError(f"Not a unit: {text!r}") from None


def _time_from(text: Any, scale: Any) -> AstropyTime:
    if not isinstance(text, str) or not isinstance(scale, str):
        raise QueryError("time node: start/end/scale must be strings")
    try:
        return AstropyTime(text, scale=scale, format="isot")
    except (ValueError, TypeError, ScaleValueError):
        raise QueryError(f"Not a time: {text!r} (scale {scale!r})") from None


_MAX_DEPTH = 64


def node_from_dict(d: Any) -> Node:
    """Inverse of :func:`node_to_dict`; raises :class:`QueryError` on any malformed input."""
    try:
        with quiet_astropy():
            return _node_from_dict(d, 0)
    except QueryError:
        raise
    except (ValueError, TypeError, ArithmeticError, KeyError, ScaleValueError) as exc:
        raise QueryError(f"Invalid query node ({type(exc).__name__}: {exc})"[:300]) from None


def _node_from_dict(d: Any, _depth: int) -> Node:
    if _depth > _MAX_DEPTH:
        raise QueryError("Query tree is nested too deeply")
    if not isinstance(d, Mapping):
        raise QueryError(f"Not a query node: {d!r}"[:200])
    kind = d.get("type")
    if kind in GROUP_KINDS:
        children = _req(d, "children", list)
        return GROUP_KINDS[kind](*(_node_from_dict(c, _depth + 1) for c in children))
    if kind == "series":
        return Series(_req(d, "name", str))
    if kind == "time":
        scale = _req(d, "scale", str)
        return Time(
            _time_from(d.get("start"), scale), _time_from(d.get("end"), d.get("end_scale", scale))
        )
    if kind == "wavelength":
        unit = _unit(d.get("unit"))
        lo = _req(d, "min", (int, float)) * unit
        hi = _req(d, "max", (int, float)) * _unit(d.get("max_unit", d.get("unit")))
        return Wavelength(lo, hi)
    if kind == "primekey":
        return PrimeKey(_req(d, "name", str), _req(d, "value", str))
    if kind == "segment":
        return Segment(_req(d, "name", str))
    if kind == "keyword":
        op = d.get("op")
        value = d.get("value")
        if op is not None and not isinstance(op, str):
            raise QueryError("keyword node: 'op' must be a string or null")
        if value is not None and not isinstance(value, str):
            raise QueryError("keyword node: 'value' must be a string or null")
        return Keyword(_req(d, "name", str), op, value)
    if kind == "sample":
        return Sample(_req(d, "value", (int, float)) * _unit(d.get("unit")))
    if kind == "notify":
        return Notify(_req(d, "email", str))
    if kind == "cutout":
        num = (int, float)
        return Cutout(
            _req(d, "x", num),
            _req(d, "y", num),
            _req(d, "width", num),
            _req(d, "height", num),
            _req(d, "t_ref", str),
            tracking=d.get("tracking", False),
            register=d.get("register", False),
            nan_off_limb=d.get("nan_off_limb", False),
            rebin=d.get("rebin"),
            resize=d.get("resize"),
        )
    raise QueryError(f"Unknown query node type: {kind!r}"[:200])


# --- the evented container -----------------------------------------------------------------


class TreeEvents(EditEvents):
    """Before/after events of a :class:`QueryTree` (see the module docstring), plus
    ``modified`` after every edit."""

    def __init__(self) -> None:
        super().__init__()
        self.modified = Signal("modified")


GroupKind = Literal["and", "or"]


class QueryTree:
    """The editable query: one root group plus node-by-node edits with events.

    Internally the tree is kept as id → node (leaves), id → kind (groups), id → child ids and
    id → parent id; :attr:`root` builds (and caches) the immutable snapshot.  Inserted nodes
    keep their ids unless an id is already in the tree, in which case the copy gets a fresh id
    (so the same value may appear twice).
    """

    def __init__(self, root: Node | None = None) -> None:
        self.events = TreeEvents()
        self._leaves: dict[int, Node] = {}
        self._kinds: dict[int, type[Group]] = {}
        self._children: dict[int, list[int]] = {}
        self._parent: dict[int, int | None] = {}
        self._snapshot: dict[int, Node] | None = None
        self.root_id = self._adopt(self._as_group(root), None)

    # --- reading
    @property
    def root(self) -> Group:
        """Immutable snapshot of the whole tree (cached until the next edit)."""
        node = self.node(self.root_id)
        assert isinstance(node, Group)
        return node

    def node(self, node_id: int) -> Node:
        """The node with ``node_id``; groups come as immutable snapshots of their subtree."""
        if self._snapshot is None:
            self._snapshot = {}
            self._build(self.root_id, self._snapshot)
        try:
            return self._snapshot[node_id]
        except KeyError:
            raise KeyError(f"no node with id {node_id} in this tree") from None

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._parent

    def __len__(self) -> int:
        """Number of nodes, groups included (the root too)."""
        return len(self._parent)

    def is_group(self, node_id: int) -> bool:
        self._check(node_id)
        return node_id in self._kinds

    def kind(self, node_id: int) -> str:
        self._check(node_id)
        if node_id in self._kinds:
            return self._kinds[node_id].kind
        return self._leaves[node_id].kind

    def parent_id(self, node_id: int) -> int | None:
        self._check(node_id)
        return self._parent[node_id]

    def child_ids(self, node_id: int) -> tuple[int, ...]:
        self._check(node_id)
        return tuple(self._children.get(node_id, ()))

    def child_count(self, node_id: int) -> int:
        self._check(node_id)
        return len(self._children.get(node_id, ()))

    def child_id(self, parent_id: int, row: int) -> int:
        return self._group_children(parent_id)[row]

    def row(self, node_id: int) -> int:
        """Row of the node under its parent (0 for the root)."""
        parent = self.parent_id(node_id)
        return 0 if parent is None else self._children[parent].index(node_id)

    def path(self, node_id: int) -> tuple[int, ...]:
        """Rows from the root down to the node (``()`` for the root)."""
        rows: list[int] = []
        while (parent := self.parent_id(node_id)) is not None:
            rows.append(self._children[parent].index(node_id))
            node_id = parent
        return tuple(reversed(rows))

    def ids(self) -> Iterator[int]:
        """All node ids, depth first from the root."""
        stack = [self.root_id]
        while stack:
            nid = stack.pop()
            yield nid
            stack.extend(reversed(self._children.get(nid, ())))

    # --- editing
    def insert(self, parent_id: int, row: int, node: Node) -> int:
        """Insert ``node`` (a value or a whole group) as child ``row`` of a group; its id."""
        children = self._group_children(parent_id)
        if not 0 <= row <= len(children):
            raise IndexError(f"row {row} out of range 0..{len(children)}")
        if not isinstance(node, Node):
            raise QueryError(f"Not a query node: {node!r}")
        self.events.inserting.emit(parent_id, row, 1)
        nid = self._adopt(node, parent_id)
        children.insert(row, nid)
        self._touch()
        self.events.inserted.emit(parent_id, row, 1)
        self.events.modified.emit()
        return nid

    def append(self, parent_id: int, node: Node) -> int:
        return self.insert(parent_id, self.child_count(parent_id), node)

    def remove(self, node_id: int) -> Node:
        """Remove a node (and its subtree); returns it as an immutable value."""
        parent = self._non_root_parent(node_id)
        value = self.node(node_id)
        row = self._children[parent].index(node_id)
        self.events.removing.emit(parent, row, 1)
        del self._children[parent][row]
        self._forget(node_id)
        self._touch()
        self.events.removed.emit(parent, row, 1)
        self.events.modified.emit()
        return value

    def move(self, node_id: int, dest_parent_id: int, dest_row: int) -> None:
        """Move a node under ``dest_parent_id`` before the row ``dest_row`` had before the move.

        Refuses to move a group into its own subtree.  A move onto itself is a no-op.
        """
        src_parent = self._non_root_parent(node_id)
        dest_children = self._group_children(dest_parent_id)
        if not 0 <= dest_row <= len(dest_children):
            raise IndexError(f"row {dest_row} out of range 0..{len(dest_children)}")
        probe: int | None = dest_parent_id
        while probe is not None:
            if probe == node_id:
                raise QueryError("Cannot move a group into itself")
            probe = self._parent[probe]
        src_row = self._children[src_parent].index(node_id)
        if src_parent == dest_parent_id and dest_row in (src_row, src_row + 1):
            return
        self.events.moving.emit(src_parent, src_row, dest_parent_id, dest_row)
        del self._children[src_parent][src_row]
        final = dest_row - 1 if src_parent == dest_parent_id and dest_row > src_row else dest_row
        self._children[dest_parent_id].insert(final, node_id)
        self._parent[node_id] = dest_parent_id
        self._touch()
        self.events.moved.emit(src_parent, src_row, dest_parent_id, dest_row)
        self.events.modified.emit()

    def replace(self, node_id: int, node: Node) -> int:
        """Replace a node by ``node``; returns the id now at that place.

        Value → value keeps the id and emits ``changed``.  A group → group of the same
        children only changes the kind (``changed``).  Anything else is a remove + insert at
        the same row (new id).  Replacing the root resets the tree.
        """
        self._check(node_id)
        if not isinstance(node, Node):
            raise QueryError(f"Not a query node: {node!r}")
        if node_id in self._leaves and not isinstance(node, Group):
            self._leaves[node_id] = node.with_id(node_id)
            self._touch()
            self.events.changed.emit(node_id)
            self.events.modified.emit()
            return node_id
        if isinstance(node, Group) and node_id in self._kinds:
            current = self.node(node_id)
            assert isinstance(current, Group)
            if current.children == node.children:
                self.set_kind(node_id, cast(GroupKind, node.kind))
                return node_id
        parent = self._parent[node_id]
        if parent is None:
            self.set_root(node)
            return self.root_id
        row = self._children[parent].index(node_id)
        self.remove(node_id)
        return self.insert(parent, row, node)

    def set_kind(self, group_id: int, kind: GroupKind) -> None:
        """Turn an AND group into an OR group or back (same id, same children)."""
        self._check(group_id)
        if group_id not in self._kinds:
            raise QueryError("Only groups have a kind to change")
        if kind not in GROUP_KINDS:
            raise QueryError(f"Unknown group kind: {kind!r}")
        if self._kinds[group_id] is GROUP_KINDS[kind]:
            return
        self._kinds[group_id] = GROUP_KINDS[kind]
        self._touch()
        self.events.changed.emit(group_id)
        self.events.modified.emit()

    def wrap(self, node_id: int, kind: GroupKind) -> int:
        """Put a node into a new group of ``kind`` at its place; returns the group id."""
        parent = self._non_root_parent(node_id)
        row = self._children[parent].index(node_id)
        gid = self.insert(parent, row, GROUP_KINDS[kind]())
        self.move(node_id, gid, 0)
        return gid

    def unwrap(self, group_id: int) -> None:
        """Replace a group by its children (in place)."""
        parent = self._non_root_parent(group_id)
        if group_id not in self._kinds:
            raise QueryError("Only groups can be unwrapped")
        row = self._children[parent].index(group_id)
        for i, child in enumerate(list(self._children[group_id])):
            self.move(child, parent, row + i)
        self.remove(group_id)

    def set_root(self, node: Node | None) -> None:
        """Replace the whole tree (emits ``resetting``/``reset``)."""
        group = self._as_group(node)
        self.events.resetting.emit()
        self._leaves.clear()
        self._kinds.clear()
        self._children.clear()
        self._parent.clear()
        self.root_id = self._adopt(group, None)
        self._touch()
        self.events.reset.emit()
        self.events.modified.emit()

    # --- serialisation
    def to_dict(self) -> dict[str, Any]:
        return node_to_dict(self.root)

    @classmethod
    def from_dict(cls, data: Any) -> QueryTree:
        return cls(node_from_dict(data))

    def __repr__(self) -> str:
        return f"<QueryTree {len(self)} nodes: {self.root!r}>"

    # --- internals
    @staticmethod
    def _as_group(node: Node | None) -> Group:
        if node is None:
            return And()
        if not isinstance(node, Node):
            raise QueryError(f"Not a query node: {node!r}")
        return node if isinstance(node, Group) else And(node)

    def _adopt(self, node: Node, parent: int | None) -> int:
        nid = node.id if node.id not in self._parent else new_id()
        self._parent[nid] = parent
        if isinstance(node, Group):
            self._kinds[nid] = type(node)
            self._children[nid] = [self._adopt(c, nid) for c in node.children]
        else:
            self._leaves[nid] = node if nid == node.id else node.with_id(nid)
        return nid

    def _forget(self, node_id: int) -> None:
        for child in self._children.pop(node_id, []):
            self._forget(child)
        self._kinds.pop(node_id, None)
        self._leaves.pop(node_id, None)
        del self._parent[node_id]

    def _build(self, node_id: int, out: dict[int, Node]) -> Node:
        if node_id in self._leaves:
            node = self._leaves[node_id]
        else:
            kids = [self._build(c, out) for c in self._children[node_id]]
            node = self._kinds[node_id](*kids, id=node_id)
        out[node_id] = node
        return node

    def _touch(self) -> None:
        self._snapshot = None

    def _check(self, node_id: int) -> None:
        if node_id not in self._parent:
            raise KeyError(f"no node with id {node_id} in this tree")

    def _group_children(self, node_id: int) -> list[int]:
        self._check(node_id)
        if node_id not in self._kinds:
            raise QueryError("Only groups have children")
        return self._children[node_id]

    def _non_root_parent(self, node_id: int) -> int:
        self._check(node_id)
        parent = self._parent[node_id]
        if parent is None:
            raise QueryError("The root group cannot be removed or moved")
        return parent
