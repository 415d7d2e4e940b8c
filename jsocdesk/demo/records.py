"""Record-set evaluation and deterministic synthetic records for the demo server.

A record set (``jsoc-protocol.md`` §4.1) is parsed with :mod:`jsocdesk.core.query.syntax`
and turned into a :class:`Selection`: per prime-key dimension a set of integer indices
(slot numbers for slotted times, positions for listed values, the values themselves for
integers), iterated lazily in prime-key order.  Nothing is materialised, so listing a
million records keeps memory flat; counts without a where-clause are computed, not
iterated.

Keyword values are pure functions of (series, record): times from the slot rules, solar
ephemeris (Meeus' low-precision formulas) for ``CAR_ROT``/``CRLT_OBS``/``CRLN_OBS``/
``DSUN_OBS``, HARP regions that are born and die on a fixed schedule, and a 64-bit mix
hash for everything else — the same request always gives the same values.
"""

from __future__ import annotations

import abc
import functools
import math
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from jsocdesk.core import drmstime
from jsocdesk.core.errors import RecordSetSyntaxError, TimeFormatError
from jsocdesk.core.query import syntax
from jsocdesk.demo.series import (
    HMI_FIRST,
    Kw,
    Seg,
    Series,
    SlotAxis,
    ValuesAxis,
    get_series,
)

MASK64 = (1 << 64) - 1
IMAGES_PER_SLOT = 8  # aia.lev1: images per 12 s slot
IRIS_FIRST = drmstime.parse_time_seconds("2013.07.17_00:00:00_TAI")
IRIS_STEP = 9.6
SUNUM_SERIES = 10**10
AU = 149597870691.0
RSUN_REF = 696000000.0
# Offset between the geocentric B0 of Meeus' formula and SDO's CRLT_OBS, anchored on the
# value drms' live tests read for 2013-07-03 08:42-08:44 TAI (3.14159).
CRLT_OFFSET = 0.0104489


class RecordSetError(Exception):
    """A record set the server cannot evaluate; ``message`` is JSOC's error text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownSeries(RecordSetError):
    def __init__(self, name: str) -> None:
        super().__init__("series not found")
        self.name = name


# --- hashing ---------------------------------------------------------------------------------


def mix(*values: int) -> int:
    """splitmix64 over a few integers: a fast, well-spread deterministic hash."""
    x = 0x9E3779B97F4A7C15
    for v in values:
        x = (x ^ (v & MASK64)) * 0xBF58476D1CE4E5B9 & MASK64
        x = (x ^ (x >> 30)) * 0x94D049BB133111EB & MASK64
        x ^= x >> 31
    return x


def unit(*values: int) -> float:
    """A deterministic number in [0, 1)."""
    return (mix(*values) >> 11) / float(1 << 53)


@functools.cache
def name_code(name: str) -> int:
    return zlib.crc32(name.upper().encode())


# --- solar ephemeris -----------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def ephemeris(t: float) -> tuple[float, float, int, float]:
    """(B0 deg, L0 deg, Carrington rotation, Sun distance m) at DRMS time ``t`` (TAI)."""
    jd = 2443144.5 + (t + 32.184) / 86400.0
    tc = (jd - 2451545.0) / 36525.0
    l0 = 280.46646 + 36000.76983 * tc
    m = math.radians(357.52911 + 35999.05029 * tc)
    c = (
        (1.914602 - 0.004817 * tc) * math.sin(m)
        + (0.019993 - 0.000101 * tc) * math.sin(2 * m)
        + 0.000289 * math.sin(3 * m)
    )
    omega = math.radians(125.04 - 1934.136 * tc)
    lam = l0 + c - 0.00569 - 0.00478 * math.sin(omega)
    k = 73.6667 + 1.3958333 * (jd - 2396758.0) / 36525.0
    theta = (jd - 2398220.0) * 360.0 / 25.38
    inc = math.radians(7.25)
    lk = math.radians(lam - k)
    b0 = math.degrees(math.asin(math.sin(lk) * math.sin(inc)))
    eta = math.degrees(math.atan2(-math.sin(lk) * math.cos(inc), -math.cos(lk)))
    lon = (eta - theta) % 360.0
    crf = 1.0 + (jd - 2398140.2270) / 27.2752316
    car_rot = round(crf - (1.0 - lon / 360.0)) - 1
    e = 0.016708634
    nu = m + math.radians(c)
    dist = 1.000001018 * (1 - e * e) / (1 + e * math.cos(nu)) * AU
    return b0, lon, car_rot, dist


def carrington_start(car_rot: int) -> float:
    """DRMS time (approximately) when Carrington rotation ``car_rot`` starts."""
    jd = 2398140.2270 + car_rot * 27.2752316
    return (jd - 2443144.5) * 86400.0 - 32.184


def current_car_rot(now: float) -> int:
    return ephemeris(now)[2]


# --- HARP regions ---------------------------------------------------------------------------

HARP_T0 = HMI_FIRST + 3 * 86400.0
HARP_GAP = 29600.0  # mean seconds between HARP births (about 8.2 h)
HARP_SALT = 136  # chosen so the sunpy guide's anchors hold (61 SHARPs, HARP 4864)
HARP_MAX_LIFE = 14 * 86400.0


#: HARPs whose number of 720 s records is pinned to a documented value
#: (``hmi.sharp_cea_720s[3604]`` lists 1223 records with sunpy 7.0.5, jsoc-protocol.md §9).
HARP_RECORDS = {3604: 1223}


@functools.lru_cache(maxsize=65536)
def harp_life(n: int) -> tuple[float, float]:
    """(birth, death) DRMS times of HARP ``n``: births on a jittered grid, mixed lifetimes."""
    birth = HARP_T0 + (n - 1 + unit(HARP_SALT, n, 1)) * HARP_GAP
    pinned = HARP_RECORDS.get(n)
    if pinned is not None:
        first_slot = math.ceil(birth / 720.0) * 720.0
        return birth, first_slot + (pinned - 1) * 720.0 + 1.0
    u = unit(HARP_SALT, n, 2)
    life = 0.3 + 2.4 * u if u < 0.5 else 2.5 + 14.0 * (u - 0.5)
    return birth, min(birth + life * 86400.0, birth + HARP_MAX_LIFE)


def harps_alive(lo: float, hi: float) -> range:
    """HARP numbers that may be alive somewhere in [lo, hi] (a superset, cheap)."""
    first = max(1, math.floor((lo - HARP_MAX_LIFE - HARP_T0) / HARP_GAP))
    last = max(0, math.floor((hi - HARP_T0) / HARP_GAP) + 1)
    return range(first, last + 1)


def harp_position(n: int, t: float) -> tuple[float, float]:
    """Stonyhurst (latitude, longitude) in degrees of HARP ``n``'s centre at time ``t``.

    Born east of the central meridian, the region drifts west at the differential-rotation
    rate of its latitude (sunpy's "howard" profile seen from Earth); the demo's images draw
    the region here.
    """
    birth = harp_life(n)[0]
    lat = (unit(HARP_SALT, n, 4) - 0.5) * 60.0
    lon_birth = -70.0 + unit(HARP_SALT, n, 5) * 60.0
    return lat, lon_birth + (t - birth) / 86400.0 * synodic_rate(lat)


#: Differential rotation, sidereal deg/day: sunpy's "howard" profile A + B sin² + C sin⁴.
ROT_A, ROT_B, ROT_C = 14.327, -2.119, -1.832
EARTH_RATE = 0.9856  # deg/day: the Earth's (and SDO's) orbital motion


def synodic_rate(lat_deg: float) -> float:
    """Westward drift (deg/day, Stonyhurst) of a surface feature at latitude ``lat_deg``."""
    s2 = math.sin(math.radians(lat_deg)) ** 2
    return ROT_A + ROT_B * s2 + ROT_C * s2 * s2 - EARTH_RATE


def noaa_number(n: int) -> int:
    """NOAA active-region number of HARP ``n`` (0 for unnumbered regions)."""
    if unit(HARP_SALT, n, 3) < 0.45:
        return 0
    return 11067 + (n * 1080) // 4800


# --- index sets ------------------------------------------------------------------------------


class IndexSet:
    """An ascending set of integers stored as Python ``range`` objects (lazy, O(1) memory)."""

    def __init__(self, ranges: Iterable[range]) -> None:
        rs = sorted((r for r in ranges if len(r) > 0), key=lambda r: (r.start, r.stop))
        self.ranges: list[range] = rs
        self._disjoint = all(rs[i][-1] < rs[i + 1][0] for i in range(len(rs) - 1))

    @classmethod
    def span(cls, lo: int, hi: int) -> IndexSet:
        return cls([range(lo, hi + 1)])

    def __iter__(self) -> Iterator[int]:
        if self._disjoint:
            for r in self.ranges:
                yield from r
            return
        import heapq

        last: int | None = None
        for v in heapq.merge(*self.ranges):
            if v != last:
                yield v
                last = v

    def __len__(self) -> int:
        if self._disjoint:
            return sum(len(r) for r in self.ranges)
        return sum(1 for _ in self)

    def __contains__(self, v: object) -> bool:
        return any(v in r for r in self.ranges)

    def reversed(self) -> Iterator[int]:
        if self._disjoint:
            for r in reversed(self.ranges):
                yield from reversed(r)
            return
        yield from sorted(set(self), reverse=True)

    def clip(self, lo: int, hi: int) -> IndexSet:
        out = []
        for r in self.ranges:
            start = r.start
            if start < lo:
                start += -(-(lo - start) // r.step) * r.step
            stop = min(r.stop, hi + 1)
            if start < stop:
                out.append(range(start, stop, r.step))
        return IndexSet(out)

    def intersect(self, other: IndexSet) -> IndexSet:
        if len(self.ranges) == 1 and len(other.ranges) == 1 and other.ranges[0].step == 1:
            r = other.ranges[0]
            return self.clip(r.start, r.stop - 1)
        if len(other.ranges) == 1 and len(self.ranges) == 1 and self.ranges[0].step == 1:
            r = self.ranges[0]
            return other.clip(r.start, r.stop - 1)
        small, big = (self, other) if len(self) <= len(other) else (other, self)
        return IndexSet(range(v, v + 1) for v in small if v in big)

    @property
    def first(self) -> int | None:
        return min((r[0] for r in self.ranges), default=None)

    @property
    def last(self) -> int | None:
        return max((r[-1] for r in self.ranges), default=None)

    def __repr__(self) -> str:
        return f"IndexSet({self.ranges!r})"


EMPTY = IndexSet([])


# --- records ------------------------------------------------------------------------------


@dataclass(slots=True)
class Record:
    """One record: prime-key values (times as DRMS seconds), record number, main time."""

    series: Series = field(repr=False)
    key: tuple[int, ...]
    primes: dict[str, Any]
    recnum: int
    t: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> str:
        """``series[pk1][pk2]…`` with the prime keys printed in their formats."""
        out = [self.series.name]
        for pk in self.series.primekeys:
            kw = self.series.keyword(pk)
            out.append(f"[{format_value(kw, self.primes[pk]) if kw else self.primes[pk]}]")
        return "".join(out)


def slot_index(ax: SlotAxis, t: float) -> int:
    return math.floor((t - ax.epoch + ax.rounding / 2.0) / ax.step + 1e-9)


def slot_time(ax: SlotAxis, idx: int) -> float:
    return ax.epoch + idx * ax.step


def slot_domain(ax: SlotAxis, now: float) -> tuple[int, int]:
    lo = math.ceil((ax.first - ax.epoch) / ax.step - 1e-9)
    end = ax.last if ax.last is not None else now
    hi = math.floor((end - ax.epoch) / ax.step + 1e-9)
    return lo, hi


# --- value parsing helpers ---------------------------------------------------------------


def _time(text: str) -> float:
    try:
        return drmstime.parse_time_seconds(text)
    except TimeFormatError:
        raise RecordSetError(f"invalid time value '{text}'") from None


def _duration(text: str) -> float:
    try:
        return drmstime.parse_duration(text)
    except TimeFormatError:
        raise RecordSetError(f"invalid duration '{text}'") from None


def _number(text: str) -> float:
    t = text.strip()
    try:
        if t.lower().startswith(("0x", "-0x")):
            return float(int(t, 16))
        return float(t)
    except ValueError:
        raise RecordSetError(f"invalid numeric value '{text}'") from None


def _int(text: str) -> int:
    v = _number(text)
    if not v.is_integer():
        raise RecordSetError(f"invalid integer value '{text}'")
    return int(v)


# --- dimensions --------------------------------------------------------------------------


class Dim(abc.ABC):
    """One prime-key dimension: index domain and filter → IndexSet translation."""

    key: str
    is_time: bool = False

    @abc.abstractmethod
    def domain(self) -> tuple[int, int]: ...

    @abc.abstractmethod
    def select(self, items: Sequence[syntax.ValueItem]) -> IndexSet: ...

    @abc.abstractmethod
    def value(self, idx: int) -> Any: ...


class SlotDim(Dim):
    is_time = True

    def __init__(self, ax: SlotAxis, now: float) -> None:
        self.ax, self.key = ax, ax.key
        self.lo, self.hi = slot_domain(ax, now)

    def domain(self) -> tuple[int, int]:
        return self.lo, self.hi

    def value(self, idx: int) -> float:
        return slot_time(self.ax, idx)

    def select(self, items: Sequence[syntax.ValueItem]) -> IndexSet:
        out = []
        for it in items:
            skip = 1
            if it.step is not None:
                skip = max(1, round(_duration(it.step) / self.ax.step))
            a = slot_index(self.ax, _time(it.start))
            if it.kind == "single":
                out.append(range(a, a + 1))
            elif it.kind == "range":
                assert it.end is not None
                b = slot_index(self.ax, _time(it.end))
                out.append(range(a, b + 1, skip))
            else:
                assert it.duration is not None
                n = max(1, math.floor(_duration(it.duration) / self.ax.step + 1e-9))
                out.append(range(a, a + n, skip))
        return IndexSet(out).clip(self.lo, self.hi)


class ValuesDim(Dim):
    def __init__(self, ax: ValuesAxis, kw: Kw | None) -> None:
        self.key = ax.key
        self.kw = kw
        self.is_time = kw is not None and kw.type == "time"
        self.numeric = kw is not None and kw.type not in ("string", "time")
        self.values: list[Any] = [_time(str(v)) if self.is_time else v for v in ax.values]

    def domain(self) -> tuple[int, int]:
        return 0, len(self.values) - 1

    def value(self, idx: int) -> Any:
        return self.values[idx]

    def _conv(self, text: str) -> Any:
        if self.is_time:
            return _time(text)
        if self.numeric:
            return _number(text)
        return text

    def select(self, items: Sequence[syntax.ValueItem]) -> IndexSet:
        keep: set[int] = set()
        for it in items:
            start = self._conv(it.start)
            step = None
            if it.step is not None:
                step = _duration(it.step) if self.is_time else _number(it.step)
            for i, v in enumerate(self.values):
                if it.kind == "single":
                    ok = v == start
                elif it.kind == "range":
                    assert it.end is not None
                    ok = start <= v <= self._conv(it.end)
                else:
                    assert it.duration is not None
                    dur = _duration(it.duration) if self.is_time else _number(it.duration)
                    ok = start <= v < start + dur
                if ok and step and it.kind != "single":
                    q = (v - start) / step
                    ok = abs(q - round(q)) < 1e-9
                if ok:
                    keep.add(i)
        return IndexSet(range(i, i + 1) for i in sorted(keep))


class IntDim(Dim):
    def __init__(self, key: str, lo: int, hi: int) -> None:
        self.key, self.lo, self.hi = key, lo, hi

    def domain(self) -> tuple[int, int]:
        return self.lo, self.hi

    def value(self, idx: int) -> int:
        return idx

    def select(self, items: Sequence[syntax.ValueItem]) -> IndexSet:
        out = []
        for it in items:
            a = _int(it.start)
            skip = _int(it.step) if it.step is not None else 1
            if skip <= 0:
                raise RecordSetError(f"invalid step '{it.step}'")
            if it.kind == "single":
                out.append(range(a, a + 1))
            elif it.kind == "range":
                assert it.end is not None
                out.append(range(a, _int(it.end) + 1, skip))
            else:
                assert it.duration is not None
                out.append(range(a, a + _int(it.duration), skip))
        return IndexSet(out).clip(self.lo, self.hi)


class IrisTimeDim(Dim):
    """``iris.lev1`` T_OBS: unslotted, monotone in the image index ``i``."""

    is_time = True

    def __init__(self, hi: int) -> None:
        self.key, self.lo, self.hi = "T_OBS", 0, hi

    def domain(self) -> tuple[int, int]:
        return self.lo, self.hi

    @staticmethod
    def t_of(i: int) -> float:
        return IRIS_FIRST + i * IRIS_STEP + round(unit(7, i) * 400) / 100.0

    def _first_ge(self, t: float) -> int:
        i = max(0, math.floor((t - IRIS_FIRST) / IRIS_STEP) - 1)
        while self.t_of(i) < t - 1e-6:
            i += 1
        return i

    def value(self, idx: int) -> float:
        return self.t_of(idx)

    def select(self, items: Sequence[syntax.ValueItem]) -> IndexSet:
        out: list[range] = []
        for it in items:
            a = _time(it.start)
            if it.kind == "single":
                i = self._first_ge(a)
                if abs(self.t_of(i) - a) < 0.005:
                    out.append(range(i, i + 1))
                continue
            b = (
                _time(it.end)
                if it.kind == "range" and it.end
                else a + _duration(it.duration or "0")
            )
            lo = self._first_ge(a)
            hi = self._first_ge(b + (1e-6 if it.kind == "range" else 0)) - 1
            if it.step is not None:
                step = _duration(it.step)
                keep = [
                    i
                    for i in range(lo, hi + 1)
                    if abs(((self.t_of(i) - a) / step) - round((self.t_of(i) - a) / step)) < 1e-9
                ]
                out.extend(range(i, i + 1) for i in keep)
            else:
                out.append(range(lo, hi + 1))
        return IndexSet(out).clip(self.lo, self.hi)


# --- models ---------------------------------------------------------------------------------


class Model(abc.ABC):
    """How the records of a series are laid out over its prime-key dimensions."""

    def __init__(self, series: Series, now: float) -> None:
        self.series = series
        self.now = now
        self.dims: list[Dim] = []
        self.key_dim: dict[str, int] = {}

    def _slot_dim(self) -> SlotDim:
        """The series' slotted time axis as a dimension (for models of slotted series)."""
        slot = self.series.slot_axis()
        assert slot is not None
        return SlotDim(slot, self.now)

    def dim_for_key(self, pk: str) -> tuple[int, Dim] | None:
        i = self.key_dim.get(pk.lower())
        if i is None:
            return None
        return i, self.dims[i]

    def key_select(self, pk: str, items: Sequence[syntax.ValueItem]) -> tuple[int, IndexSet]:
        found = self.dim_for_key(pk)
        assert found is not None
        return found[0], found[1].select(items)

    def key_extreme(self, pk: str, last: bool) -> tuple[int, IndexSet]:
        found = self.dim_for_key(pk)
        assert found is not None
        lo, hi = found[1].domain()
        v = hi if last else lo
        return found[0], IndexSet.span(v, v) if lo <= hi else EMPTY

    @abc.abstractmethod
    def iterate(self, sets: list[IndexSet]) -> Iterator[Record]: ...

    @abc.abstractmethod
    def count(self, sets: list[IndexSet]) -> int: ...

    @abc.abstractmethod
    def from_recnum(self, recnum: int) -> Record | None: ...

    def first_index_for_recnum(self, recnum: int) -> int:
        """Lowest index of the first dimension whose records may have this recnum or more."""
        lo, hi = self.dims[0].domain()
        if recnum <= 1:
            return lo
        r = self.from_recnum(recnum)
        return r.key[0] if r is not None else hi + 1

    def last(self) -> Record | None:
        """The record with the highest prime-key values (the series' last record)."""
        n = self.count(self.full_sets())
        return self.from_recnum(n) if n > 0 else None

    def full_sets(self) -> list[IndexSet]:
        return [IndexSet.span(*d.domain()) for d in self.dims]


class GridModel(Model):
    """Records = product of the dimensions (slot × camera, slot × wavelength …)."""

    def __init__(self, series: Series, now: float) -> None:
        super().__init__(series, now)
        for ax in series.axes:
            if isinstance(ax, SlotAxis):
                dim: Dim = SlotDim(ax, now)
            elif isinstance(ax, ValuesAxis):
                dim = ValuesDim(ax, series.keyword(ax.key))
            else:
                hi = ax.hi if ax.hi is not None else current_car_rot(now) - 1
                dim = IntDim(ax.key, ax.lo, hi)
            self.key_dim[ax.key.lower()] = len(self.dims)
            self.dims.append(dim)
        self.sizes = [d.domain()[1] - d.domain()[0] + 1 for d in self.dims]
        # (key, value function, lowest index, size) per dimension, for the hot _make path.
        self._meta = [
            (d.key, d.value, d.domain()[0], size)
            for d, size in zip(self.dims, self.sizes, strict=True)
        ]
        self._time_dim = next((i for i, d in enumerate(self.dims) if d.is_time), None)

    def _make(self, idx: tuple[int, ...]) -> Record:
        primes: dict[str, Any] = {}
        recnum = 0
        for (key, value, lo, size), i in zip(self._meta, idx, strict=True):
            primes[key] = value(i)
            recnum = recnum * size + (i - lo)
        td = self._time_dim
        t = primes[self._meta[td][0]] if td is not None else None
        return Record(self.series, idx, primes, recnum + 1, t)

    def iterate(self, sets: list[IndexSet]) -> Iterator[Record]:
        def rec(level: int, prefix: tuple[int, ...]) -> Iterator[Record]:
            if level == len(sets):
                yield self._make(prefix)
                return
            for i in sets[level]:
                yield from rec(level + 1, (*prefix, i))

        if len(sets) == 2:
            inner = list(sets[1])
            for a in sets[0]:
                for b in inner:
                    yield self._make((a, b))
            return
        yield from rec(0, ())

    def count(self, sets: list[IndexSet]) -> int:
        n = 1
        for s in sets:
            n *= len(s)
        return n

    def from_recnum(self, recnum: int) -> Record | None:
        if recnum < 1:
            return None
        r = recnum - 1
        idx: list[int] = []
        for d, size in zip(reversed(self.dims), reversed(self.sizes), strict=True):
            r, pos = divmod(r, size)
            idx.append(d.domain()[0] + pos)
        if r:
            return None
        return self._make(tuple(reversed(idx)))


class HarpModel(Model):
    """SHARPs: HARPNUM × T_REC slots while the region is alive."""

    def __init__(self, series: Series, now: float) -> None:
        super().__init__(series, now)
        self.slot = self._slot_dim()
        last = harps_alive(now, now).stop - 1
        while last > 1 and harp_life(last)[0] > now:
            last -= 1
        self.harp = IntDim("HARPNUM", 1, last)
        self.dims = [self.harp, self.slot]
        self.key_dim = {"harpnum": 0, self.slot.key.lower(): 1}

    def harp_slots(self, n: int) -> range:
        birth, death = harp_life(n)
        ax = self.slot.ax
        lo = max(math.ceil((birth - ax.epoch) / ax.step), self.slot.lo)
        hi = min(math.floor((death - ax.epoch) / ax.step), self.slot.hi)
        return range(lo, hi + 1)

    def _candidates(self, sets: list[IndexSet]) -> Iterable[int]:
        """HARP numbers to visit: the requested ones, narrowed to those alive in the slots."""
        harps, slots = sets
        if slots.first is None:
            return ()
        lo_t = slot_time(self.slot.ax, slots.first)
        hi_t = slot_time(self.slot.ax, slots.last if slots.last is not None else slots.first)
        alive = harps_alive(lo_t, hi_t)
        if len(harps) <= len(alive):
            return harps
        return (n for n in alive if n in harps)

    def _slots_of(self, n: int, slots: IndexSet) -> IndexSet:
        life = self.harp_slots(n)
        if len(life) == 0:
            return EMPTY
        return slots.clip(life.start, life.stop - 1)

    def _make(self, n: int, s: int) -> Record:
        t = slot_time(self.slot.ax, s)
        life = self.harp_slots(n)
        return Record(
            self.series,
            (n, s),
            {"HARPNUM": n, self.slot.key: t},
            n * 100000 + (s - life.start),
            t,
        )

    def iterate(self, sets: list[IndexSet]) -> Iterator[Record]:
        for n in self._candidates(sets):
            for s in self._slots_of(n, sets[1]):
                yield self._make(n, s)

    def count(self, sets: list[IndexSet]) -> int:
        return sum(len(self._slots_of(n, sets[1])) for n in self._candidates(sets))

    def last(self) -> Record | None:
        for n in range(self.harp.hi, 0, -1):
            life = self.harp_slots(n)
            if len(life):
                return self._make(n, life.stop - 1)
        return None

    def first_index_for_recnum(self, recnum: int) -> int:
        return max(1, recnum // 100000)

    def from_recnum(self, recnum: int) -> Record | None:
        n, off = divmod(recnum, 100000)
        if not 1 <= n <= self.harp.hi:
            return None
        life = self.harp_slots(n)
        s = life.start + off
        if s not in life:
            return None
        return self._make(n, s)


class ImagesModel(Model):
    """``aia.lev1``: image index i; T_REC = slot(i // 8), FSN = i - first + 1."""

    def __init__(self, series: Series, now: float) -> None:
        super().__init__(series, now)
        self.slot = self._slot_dim()
        self.first = self.slot.lo * IMAGES_PER_SLOT
        self.dims = [IntDim("i", self.first, self.slot.hi * IMAGES_PER_SLOT + 7)]
        self.key_dim = {self.slot.key.lower(): 0, "fsn": 0}

    def key_select(self, pk: str, items: Sequence[syntax.ValueItem]) -> tuple[int, IndexSet]:
        if pk.lower() == "fsn":
            fsns = IntDim("FSN", 1, self.dims[0].domain()[1] - self.first + 1).select(items)
            return 0, IndexSet(
                range(r.start + self.first - 1, r.stop + self.first - 1, r.step)
                for r in fsns.ranges
            )
        slots = self.slot.select(items)
        out = []
        for r in slots.ranges:
            if r.step == 1:
                out.append(range(r.start * IMAGES_PER_SLOT, r.stop * IMAGES_PER_SLOT))
            else:
                out.extend(range(s * IMAGES_PER_SLOT, (s + 1) * IMAGES_PER_SLOT) for s in r)
        return 0, IndexSet(out)

    def _make(self, i: int) -> Record:
        t = slot_time(self.slot.ax, i // IMAGES_PER_SLOT)
        fsn = i - self.first + 1
        return Record(
            self.series,
            (i,),
            {self.slot.key: t, "FSN": fsn},
            fsn,
            t,
            {"wave_pos": i % IMAGES_PER_SLOT},
        )

    def iterate(self, sets: list[IndexSet]) -> Iterator[Record]:
        for i in sets[0]:
            yield self._make(i)

    def count(self, sets: list[IndexSet]) -> int:
        return len(sets[0])

    def from_recnum(self, recnum: int) -> Record | None:
        i = recnum - 1 + self.first
        lo, hi = self.dims[0].domain()
        return self._make(i) if lo <= i <= hi else None


class IrisModel(Model):
    def __init__(self, series: Series, now: float) -> None:
        super().__init__(series, now)
        hi = max(0, math.floor((now - IRIS_FIRST) / IRIS_STEP) - 1)
        self.tdim = IrisTimeDim(hi)
        self.dims = [self.tdim]
        self.key_dim = {"t_obs": 0, "fsn": 0}

    def key_select(self, pk: str, items: Sequence[syntax.ValueItem]) -> tuple[int, IndexSet]:
        if pk.lower() == "fsn":
            fsns = IntDim("FSN", 1, self.tdim.hi + 1).select(items)
            return 0, IndexSet(range(r.start - 1, r.stop - 1, r.step) for r in fsns.ranges)
        return 0, self.tdim.select(items)

    def _make(self, i: int) -> Record:
        t = self.tdim.t_of(i)
        return Record(self.series, (i,), {"T_OBS": t, "FSN": i + 1}, i + 1, t)

    def iterate(self, sets: list[IndexSet]) -> Iterator[Record]:
        for i in sets[0]:
            yield self._make(i)

    def count(self, sets: list[IndexSet]) -> int:
        return len(sets[0])

    def from_recnum(self, recnum: int) -> Record | None:
        return self._make(recnum - 1) if 1 <= recnum <= self.tdim.hi + 1 else None


def make_model(series: Series, now: float) -> Model:
    if series.model == "harp":
        return HarpModel(series, now)
    if series.model == "images":
        return ImagesModel(series, now)
    if series.model == "iris":
        return IrisModel(series, now)
    return GridModel(series, now)


# --- selections ------------------------------------------------------------------------------


@dataclass
class Selection:
    """One evaluated record set: a lazy, ordered, countable collection of records."""

    series: Series
    model: Model
    sets: list[IndexSet]
    segments: tuple[str, ...] | None
    where: tuple[WhereExpr, ...] = ()
    recnums: tuple[tuple[int, int], ...] = ()
    text: str = ""
    #: Lowest record number listed (from a top-level ``recnum > N`` clause); records come
    #: in record-number order, so only the head of the (already clipped) sets is skipped.
    recnum_floor: int | None = None

    def _base(self) -> Iterator[Record]:
        if self.recnums:
            seen: set[int] = set()
            for first, last in self.recnums:
                for rn in range(first, min(last, first + 1_000_000) + 1):
                    if rn in seen:
                        continue
                    seen.add(rn)
                    r = self.model.from_recnum(rn)
                    if r is not None and all(
                        k in s for k, s in zip(r.key, self.sets, strict=False)
                    ):
                        yield r
            return
        it = self.model.iterate(self.sets)
        floor = self.recnum_floor
        if floor is None:
            yield from it
            return
        for r in it:
            if r.recnum >= floor:
                yield r
                break
        yield from it

    def __iter__(self) -> Iterator[Record]:
        if not self.where:
            yield from self._base()
            return
        gen = KeywordGen(self.series)
        for r in self._base():
            if all(evaluate_where(e, gen, r) for e in self.where):
                yield r

    def count(self) -> int:
        if self.where or self.recnums:
            return sum(1 for _ in self)
        n = self.model.count(self.sets)
        if self.recnum_floor is not None:
            for r in self.model.iterate(self.sets):
                if r.recnum >= self.recnum_floor:
                    break
                n -= 1
        return n

    def segment_names(self) -> list[str]:
        """Canonical names of the segments the ``{…}`` filter keeps (all without one)."""
        if self.segments is None or any(s.upper() == "**ALL**" for s in self.segments):
            return [s.name for s in self.series.segments]
        out = []
        for name in self.segments:
            seg = self.series.segment(name)
            if seg is not None and seg.name not in out:
                out.append(seg.name)
        return out


def now_seconds() -> float:
    """The current time as DRMS seconds."""
    import time
    from datetime import UTC, datetime

    return drmstime.utc_calendar_to_seconds(
        datetime.fromtimestamp(time.time(), UTC).replace(tzinfo=None)
    )


def series_name_of(text: str) -> str:
    """The series name at the start of a record-set string (drms' regex)."""
    stripped = text.strip()
    end = 0
    while end < len(stripped) and (stripped[end].isalnum() or stripped[end] in "._"):
        end += 1
    return stripped[:end]


def select(text: str, now: float | None = None) -> list[Selection]:
    """Evaluate a (comma-separated) record-set string.

    Raises :class:`UnknownSeries` or :class:`RecordSetError` (JSOC's message texts).
    """
    if now is None:
        now = now_seconds()
    try:
        specs = syntax.parse_record_sets(text)
    except RecordSetSyntaxError:
        raise RecordSetError(f"invalid record-set specification `{text}`") from None
    out = []
    for spec in specs:
        series = get_series(spec.series)
        if series is None:
            raise UnknownSeries(spec.series)
        out.append(_selection(series, spec, text, now))
    return out


@functools.lru_cache(maxsize=64)
def _model_cached(series_name: str, now_bucket: int) -> Model:
    series = get_series(series_name)
    assert series is not None
    return make_model(series, float(now_bucket))


def _selection(series: Series, spec: syntax.RecordSetSpec, text: str, now: float) -> Selection:
    model = _model_cached(series.name, int(now // 60) * 60)
    sets = model.full_sets()
    primes = list(series.primekeys)
    where: list[WhereExpr] = []
    recnums: list[tuple[int, int]] = []
    pos = 0
    for f in spec.filters:
        if f.kind is syntax.FilterKind.WHERE:
            try:
                where.extend(syntax.parse_where(f.text, column=f.inner, source=text))
            except RecordSetSyntaxError:
                # Richer SQL than jsocdesk writes (OR, NOT, parentheses): JSOC accepts it.
                where.append(parse_where_expr(f.text))
            continue
        if f.kind is syntax.FilterKind.RECNUM:
            recnums.extend(f.recnums)
            continue
        if pos >= len(primes):
            raise RecordSetError(
                f"invalid record-set specification `{text}`: too many prime-key filters"
            )
        pk = primes[pos]
        pos += 1
        if f.kind is syntax.FilterKind.EMPTY:
            continue
        if f.kind in (syntax.FilterKind.FIRST, syntax.FilterKind.LAST):
            d, s = model.key_extreme(pk, f.kind is syntax.FilterKind.LAST)
        else:
            kw = series.keyword(pk)
            is_time = kw is not None and kw.type == "time"
            try:
                items = syntax.split_value_set(f.text, column=f.inner, time=is_time, source=text)
            except RecordSetSyntaxError:
                raise RecordSetError(f"invalid record-set specification `{text}`") from None
            d, s = model.key_select(pk, items)
        sets[d] = sets[d].intersect(s) if s is not EMPTY else EMPTY
    for name in (n for e in where for n in where_names(e)):
        if series.keyword(name) is None and name.lower() not in PSEUDO_COLUMNS:
            raise RecordSetError(f'column "{name.lower()}" does not exist')
    # A top-level "recnum > N" (how clients page) starts the iteration near N instead of
    # filtering from the first record: records are listed in record-number order.
    floor = None
    rest: list[WhereExpr] = []
    for e in where:
        bound = None
        if isinstance(e, syntax.Comparison) and e.name.lower() == "recnum" and e.op in (">", ">="):
            try:
                bound = math.floor(_number(e.value)) + (1 if e.op == ">" else 0)
            except (RecordSetError, OverflowError, ValueError):
                bound = None
            if (
                bound is not None
                and e.op == ">="
                and _number(e.value) != math.floor(_number(e.value))
            ):
                bound += 1
        if bound is None:
            rest.append(e)
        else:
            floor = bound if floor is None else max(floor, bound)
    if floor is not None and not recnums:
        first = model.first_index_for_recnum(floor)
        sets[0] = sets[0].clip(first, sets[0].last if sets[0].last is not None else first)
    elif floor is not None:
        rest.append(syntax.Comparison("recnum", ">=", str(floor), False, 0))
        floor = None
    return Selection(series, model, sets, spec.segments, tuple(rest), tuple(recnums), text, floor)


# --- where-clauses ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BoolOp:
    """``AND`` / ``OR`` / ``NOT`` over where-clause comparisons."""

    op: str
    args: tuple[WhereExpr, ...]


WhereExpr = syntax.Comparison | BoolOp

_SQL_TOKEN = re.compile(
    r"""\s*(?:(?P<quoted>'(?:[^']|'')*')|(?P<op><=|>=|!=|<>|==|=|<|>)|(?P<paren>[()])
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*)|(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<other>\S))""",
    re.VERBOSE,
)


def parse_where_expr(sql: str) -> WhereExpr:
    """``cmp (AND|OR) cmp``, ``NOT``, parentheses; comparisons are ``NAME op literal``."""
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(sql):
        m = _SQL_TOKEN.match(sql, pos)
        if m is None or m.end() == pos:
            break
        kind = m.lastgroup or "other"
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    i = 0

    def peek_word() -> str:
        return tokens[i][1].upper() if i < len(tokens) and tokens[i][0] == "word" else ""

    def fail(what: str) -> RecordSetError:
        return RecordSetError(f"invalid where clause `{sql}`: {what}")

    def chain(word: str, operand: Callable[[], WhereExpr]) -> WhereExpr:
        """``operand (word operand)*``, grouped from the left."""
        nonlocal i
        left = operand()
        while peek_word() == word:
            i += 1
            left = BoolOp(word, (left, operand()))
        return left

    def expr() -> WhereExpr:
        return chain("OR", term)

    def term() -> WhereExpr:
        return chain("AND", factor)

    def factor() -> WhereExpr:
        nonlocal i
        if peek_word() == "NOT":
            i += 1
            return BoolOp("NOT", (factor(),))
        if i < len(tokens) and tokens[i] == ("paren", "("):
            i += 1
            inner = expr()
            if i >= len(tokens) or tokens[i] != ("paren", ")"):
                raise fail("missing ')'")
            i += 1
            return inner
        if i + 3 > len(tokens):
            raise fail("incomplete comparison")
        (k1, name), (k2, op), (k3, value) = tokens[i : i + 3]
        if k1 != "word" or k2 != "op" or k3 not in ("quoted", "number", "word"):
            raise fail(f"unexpected {name!r}")
        i += 3
        quoted = k3 == "quoted"
        literal = value[1:-1].replace("''", "'") if quoted else value
        op = {"==": "=", "<>": "!="}.get(op, op)
        return syntax.Comparison(name, op, literal, quoted, 0)

    if not tokens:
        raise fail("empty")
    out = expr()
    if i != len(tokens):
        raise fail(f"unexpected {tokens[i][1]!r}")
    return out


def where_names(e: WhereExpr) -> Iterator[str]:
    if isinstance(e, syntax.Comparison):
        yield e.name
    else:
        for a in e.args:
            yield from where_names(a)


def evaluate_where(e: WhereExpr, gen: KeywordGen, r: Record) -> bool:
    if isinstance(e, syntax.Comparison):
        return gen.compare(r, e)
    if e.op == "NOT":
        return not evaluate_where(e.args[0], gen, r)
    if e.op == "AND":
        return all(evaluate_where(a, gen, r) for a in e.args)
    return any(evaluate_where(a, gen, r) for a in e.args)


PSEUDO_COLUMNS = ("recnum", "sunum")


def _apply(op: str, a: Any, b: Any) -> bool:
    if op == "=":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


# --- keyword values ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _format_time(fmt: str, value: float) -> str:
    # Cached: records sharing a slot (7 AIA wavelengths, a HARP's siblings) print it once.
    zone, _, dec = fmt.partition(":")
    decimals = int(dec or 0)
    if zone == "iso":
        return drmstime.format_utc_iso(value, decimals)
    return drmstime.format_tai(value, decimals)


def format_value(kw: Kw | None, value: Any) -> str:
    """Print a value the way DRMS prints it with the keyword's format."""
    if value is None:
        return "MISSING"
    if kw is None:
        return str(value)
    fmt = kw.fmt
    if kw.type == "time":
        if not isinstance(value, int | float) or math.isnan(value):
            return "MISSING"
        return _format_time(fmt, float(value))
    if kw.type == "string":
        return str(value)
    try:
        if "x" in fmt or "d" in fmt:
            return fmt % int(value)
        return fmt % float(value)
    except (TypeError, ValueError):
        return str(value)


AIA_INSTRUMENT = {
    94: "AIA_4",
    131: "AIA_1",
    171: "AIA_3",
    193: "AIA_2",
    211: "AIA_2",
    304: "AIA_4",
    335: "AIA_1",
    1600: "AIA_3",
    1700: "AIA_2",
    4500: "AIA_1",
}
AIA_EXPTIME = {
    94: 2.9,
    131: 2.9,
    171: 2.0,
    193: 2.0,
    211: 2.9,
    304: 2.9,
    335: 2.9,
    1600: 1.0,
    1700: 1.0,
    4500: 0.5,
}
AIA_LEV1_WAVES = (94, 131, 171, 193, 211, 304, 335, 1600)
RANGES = {
    "DATAMIN": (-9000.0, -6000.0),
    "DATAMAX": (6000.0, 9000.0),
    "DATAMEDN": (-50.0, 50.0),
    "DATAMEAN": (-80.0, 80.0),
    "DATARMS": (1000.0, 3000.0),
    "DATASKEW": (-0.2, 0.2),
    "DATAKURT": (1.5, 3.5),
    "TSEL": (35.0, 36.0),
    "TFRONT": (34.0, 36.0),
    "USFLUX": (1e20, 5e22),
    "AREA": (50.0, 5000.0),
    "EFF_AREA": (0.1, 30.0),
}


class KeywordGen:
    """Computes keyword values of records of one series (pure functions of the record)."""

    def __init__(self, series: Series) -> None:
        self.series = series
        self.sn = series.number
        slot = series.slot_axis()
        self.cadence = slot.step if slot is not None else 0.0
        self.hmi = series.name.lower().startswith("hmi.")
        self.aia = series.name.lower().startswith("aia.")

    def h(self, r: Record, name: str) -> float:
        return unit(self.sn, r.recnum, name_code(name))

    def missing_image(self, r: Record) -> bool:
        return self.series.model == "grid" and unit(self.sn, r.recnum, 99) < 0.002

    def wavelength(self, r: Record) -> int | float | None:
        if "WAVELNTH" in r.primes:
            return r.primes["WAVELNTH"]  # type: ignore[no-any-return]
        if self.series.model == "images":
            return AIA_LEV1_WAVES[r.extra["wave_pos"]]
        kw = self.series.keyword("WAVELNTH")
        return kw.value if kw is not None and kw.value is not None else None  # type: ignore[return-value]

    def raw(self, r: Record, name: str) -> Any:  # one branch per keyword family
        up = name.upper()
        s = self.series
        if name in r.primes:
            return r.primes[name]
        for pk, v in r.primes.items():
            if pk.upper() == up:
                return v
        kw = s.keyword(name)
        if kw is not None and kw.value is not None:
            return kw.value
        if up in s.values:
            return s.values[up]
        t = r.t
        if up in ("T_REC", "T_START") and s.name == "hmi.synoptic_mr_720s":
            cr = r.primes["CAR_ROT"]
            start, stop = carrington_start(cr), carrington_start(cr + 1)
            return {"T_REC": (start + stop) / 2, "T_START": start}[up]
        if up == "T_STOP":
            if s.name == "hmi.synoptic_mr_720s":
                return carrington_start(r.primes["CAR_ROT"] + 1)
            return (t or 0.0) + 72 * 86400.0 - 45.0
        if t is None:
            t = 0.0
        if up == "T_OBS":
            if self.aia:
                wl = self.wavelength(r) or 171
                return t - 0.88 + AIA_EXPTIME.get(int(wl), 2.0) / 2
            return t - 8.0 if self.hmi and self.cadence == 45.0 else t
        if up in ("DATE__OBS", "DATE-OBS"):
            t_obs = self.raw(r, "T_OBS")
            if self.aia:
                wl = self.wavelength(r) or 171
                return t_obs - AIA_EXPTIME.get(int(wl), 2.0) / 2
            return t_obs - (22.8 if self.cadence == 45.0 else 337.5)
        if up == "DATE":
            return float(math.floor(t + 4 * 86400 + 17 * 3600 + 36 * 60 + self.h(r, up) * 1200))
        if up in ("QUALITY", "QUALLEV1"):
            if self.missing_image(r):
                return 0x80000000
            u = self.h(r, "QUALITY")
            return 0 if u > 0.01 else (0x00000400 if u > 0.004 else 0x00000200)
        if self.missing_image(r) and up.startswith("DATA") and up != "DATAVALS":
            return None
        if up == "INSTRUME":
            if self.aia:
                return AIA_INSTRUMENT.get(int(self.wavelength(r) or 171), "AIA_3")
            if s.name == "iris.lev1":
                return ("FUV", "NUV", "SJI")[r.recnum % 3]
            return "HMI_FRONT2"
        if up == "WAVELNTH":
            return self.wavelength(r)
        if up == "WAVE_STR":
            wl = int(self.wavelength(r) or 0)
            return f"{wl}_THIN" if wl < 1000 else str(wl)
        if up == "FSN":
            if self.aia:
                return 40_000_000 + r.recnum * IMAGES_PER_SLOT // 7
            return r.recnum
        if up == "FID":
            return 0
        if up == "EXPTIME":
            return AIA_EXPTIME.get(int(self.wavelength(r) or 171), 2.0) + self.h(r, up) * 0.001
        if up in ("CAR_ROT", "CRLT_OBS", "CRLN_OBS", "DSUN_OBS", "RSUN_OBS"):
            b0, l0, cr, dist = ephemeris(t)
            if up == "CAR_ROT":
                return cr
            if up == "CRLT_OBS":
                return b0 + CRLT_OFFSET
            if up == "CRLN_OBS":
                return l0
            d = dist + 35_786_000.0 * math.sin(2 * math.pi * (t % 86400.0) / 86400.0) * 0.05
            if up == "DSUN_OBS":
                return d
            return math.degrees(math.asin(RSUN_REF / d)) * 3600.0
        if up in ("OBS_VR", "OBS_VW", "OBS_VN"):
            phase = 2 * math.pi * (t % 86400.0) / 86400.0
            base = {"OBS_VR": 3070.0, "OBS_VW": 29900.0, "OBS_VN": 1200.0}[up]
            return base * math.cos(phase + {"OBS_VR": 0.0, "OBS_VW": 1.2, "OBS_VN": 2.1}[up])
        if up in ("CRPIX1", "CRPIX2"):
            if s.model == "harp":  # disk centre in the patch's pixels (4096² frame)
                from jsocdesk.demo import images  # numpy: only when a SHARP's CRPIX is asked

                g = images.sharp_patch(r, 4096).geometry
                return g.crpix1 if up == "CRPIX1" else g.crpix2
            # the instrument's own frame: 4096² (HMI, AIA), 1024² (MDI)
            centre = 512.5 if s.name.lower().startswith("mdi.") else 2048.5
            return centre + (self.h(r, up) - 0.5) * 8
        if up == "CROTA2":  # HMI's images are upside down; AIA's and MDI's north up
            return (180.08 if self.hmi else 0.02) + (self.h(r, up) - 0.5) * 0.01
        if up == "DATAVALS":
            tot = self.raw(r, "TOTVALS")
            return int(tot) - int(self.raw(r, "MISSVALS"))
        if up == "MISSVALS":
            return 0 if self.h(r, up) > 0.05 else int(self.h(r, "m2") * 3000)
        if up == "HCAMID":
            return 3
        if up == "CAL_FSN":
            return 40_000_000 + int(t // 3600)
        if up == "SOURCE":
            return f"hmi.lev1[:#{int(t // 3.75)}]" if self.hmi else ""
        if s.model == "harp":
            return self.harp_value(r, up)
        if up in ("LMIN", "LMAX", "NDT", "NACOEFF"):
            return r.primes.get(up)
        if up == "VER_NUM":
            return 1 + r.key[0]
        if kw is not None and kw.type == "string":
            return ""
        lo, hi = RANGES.get(up, (0.0, 1000.0))
        v = lo + (hi - lo) * self.h(r, up)
        if kw is not None and kw.type in ("int", "short", "longlong", "char"):
            return int(v)
        return v

    def harp_value(self, r: Record, up: str) -> Any:
        n = r.primes["HARPNUM"]
        birth, death = harp_life(n)
        if up in ("NOAA_AR", "NOAA_NUM", "NOAA_ARS"):
            ar = noaa_number(n)
            if up == "NOAA_AR":
                return ar
            if up == "NOAA_NUM":
                return 1 if ar else 0
            return str(ar) if ar else "MISSING"
        if up in ("T_FRST", "T_LAST"):
            ax = self.series.slot_axis()
            assert ax is not None
            if up == "T_FRST":
                return ax.epoch + math.ceil((birth - ax.epoch) / ax.step) * ax.step
            return ax.epoch + math.floor((death - ax.epoch) / ax.step) * ax.step
        lat, lon = harp_position(n, r.t or birth)
        if up == "LAT_FWT":
            return lat
        if up == "LON_FWT":
            return lon
        if up == "NPIX":
            return int(2000 + unit(HARP_SALT, n, 6) * 60000)
        if up == "CMASK":
            return float(int(500 + unit(HARP_SALT, n, 7) * 20000))
        size = 0.2 + unit(HARP_SALT, n, 8) * 5.0
        base = 1.0 + (self.h(r, up) - 0.5) * 0.1
        scale = {
            "USFLUX": 1e21,
            "TOTUSJZ": 1e12,
            "TOTUSJH": 100.0,
            "ABSNJZH": 10.0,
            "SAVNCPP": 1e12,
            "TOTPOT": 1e22,
            "R_VALUE": 3.0,
            "GWILL": 1e19,
            "MEANGAM": 30.0,
            "MEANGBT": 80.0,
            "MEANGBZ": 90.0,
            "MEANGBH": 50.0,
            "MEANJZD": 0.5,
            "MEANALP": 0.01,
            "MEANJZH": 0.002,
            "MEANPOT": 3000.0,
            "MEANSHR": 30.0,
            "SHRGT45": 15.0,
            "AREA": 800.0,
        }
        if up in scale:
            return scale[up] * size * base
        if up.startswith("ERR"):
            return 0.03 * size * base * (1e20 if up == "ERRVF" else 1.0)
        return self.h(r, up) * 100.0

    def value(self, r: Record, name: str) -> str:
        """The printed value of keyword ``name`` ("Invalid KeyLink" if the series lacks it)."""
        kw = self.resolve(name)
        return "Invalid KeyLink" if kw is None else self.printed(r, kw)

    def resolve(self, name: str) -> Kw | None:
        """The keyword a listed name means (``DATE-OBS`` is an alias of ``DATE__OBS``)."""
        kw = self.series.keyword(name)
        if kw is None and name.upper() == "DATE-OBS":
            kw = self.series.keyword("DATE__OBS")
        return kw

    def printed(self, r: Record, kw: Kw) -> str:
        v = self.raw(r, kw.name)
        if isinstance(v, str) and v == "MISSING":
            return v
        return format_value(kw, v)

    def compare(self, r: Record, c: syntax.Comparison) -> bool:
        if c.name.lower() in PSEUDO_COLUMNS:
            pseudo = r.recnum if c.name.lower() == "recnum" else sunum_of(r)
            try:
                return _apply(c.op, float(pseudo), _number(c.value))
            except RecordSetError:
                return False
        kw = self.series.keyword(c.name)
        if kw is None:
            return False
        v = self.raw(r, kw.name)
        if v is None:
            return False
        a: float | str
        b: float | str
        try:
            if kw.type == "time":
                a, b = float(v), drmstime.parse_time_seconds(c.value)
            elif kw.type == "string":
                a, b = str(v), c.value
            else:
                a, b = float(v), _number(c.value)
        except (TimeFormatError, RecordSetError):
            return False
        return _apply(c.op, a, b)


def resolve_segment(r: Record, seg: Seg) -> tuple[Record, Seg] | None:
    """Follow a linked segment (``link via MDATA``) to the target record's segment."""
    if seg.link is None:
        return r, seg
    li = r.series.link(seg.link)
    target = get_series(li.target) if li is not None else None
    if target is None or r.t is None:
        return None
    kw = target.keyword(target.primekeys[0])
    try:
        (sel,) = select(f"{target.name}[{format_value(kw, r.t)}]")
    except (RecordSetError, ValueError):
        return None
    tseg = target.segment(seg.target or seg.name)
    if tseg is None or tseg.link is not None:
        return None
    if target.model == "images" and "WAVELNTH" in r.primes:
        # aia.lev1 holds every wavelength of a slot: the linked image is the one of r's
        want = r.primes["WAVELNTH"]
        if want not in AIA_LEV1_WAVES:
            # the demo's aia.lev1 models 8 images a slot (no 1700/4500): the image is then
            # the linked segment's, made from r itself
            return r, tseg
        found = next((x for x in sel if AIA_LEV1_WAVES[x.extra["wave_pos"]] == want), None)
    else:
        found = next(iter(sel), None)
    if found is None:
        return None
    return found, tseg


def sunum_of(r: Record) -> int:
    return r.series.number * SUNUM_SERIES + r.recnum // max(1, r.series.unitsize)


#: One storage unit in this many is on tape (offline): deterministic, by storage-unit number.
TAPE_EVERY = 4


def is_online(r: Record) -> bool:
    """Whether the record's storage unit is on disk (every :data:`TAPE_EVERY`-th is on tape)."""
    return sunum_of(r) % TAPE_EVERY != TAPE_EVERY - 1


def segment_path(r: Record, seg_file: str) -> str:
    """The SUMS path of a segment file: ``/SUMnn/D<sunum>/S<slot:05d>/<file>``."""
    sunum = sunum_of(r)
    return f"/SUM{1 + sunum % 99}/D{sunum}/S{r.recnum % max(1, r.series.unitsize):05d}/{seg_file}"


def record_from_path(rel: str, now: float | None = None) -> tuple[Record, str] | None:
    """Invert :func:`segment_path` (``rel`` without the leading ``/``)."""
    parts = rel.strip("/").split("/")
    if len(parts) != 4 or not parts[1].startswith("D") or not parts[2].startswith("S"):
        return None
    try:
        sunum = int(parts[1][1:])
        slot = int(parts[2][1:])
    except ValueError:
        return None
    from jsocdesk.demo.series import series_by_number

    series = series_by_number(sunum // SUNUM_SERIES)
    if series is None or parts[0] != f"SUM{1 + sunum % 99}":
        return None
    recnum = (sunum % SUNUM_SERIES) * max(1, series.unitsize) + slot
    model = _model_cached(series.name, int((now or now_seconds()) // 60) * 60)
    r = model.from_recnum(recnum)
    if r is None or segment_path(r, parts[3]) != "/" + rel.strip("/"):
        return None
    return r, parts[3]
