"""Typed columns of JSOC record listings, converted vectorised from JSOC's string values.

``rs_list`` prints every keyword value as a JSON string: numbers in the keyword's DRMS
format, ``MISSING`` for missing values, ``QUALITY`` in hex (``0x00000000``), times as
``2014.01.01_00:00:45_TAI`` or ISO ``2014-01-01T00:00:01Z``.  A million of them must become
numbers without a million Python objects, so the conversions here work on numpy byte-string
arrays (``S<n>``) and fall back to per-value parsing only for rows that do not fit the fast
layouts.  Times become DRMS TAI seconds (float64) while the column remembers the zone and
style the server printed them in, so ``T_REC`` stays visibly TAI and AIA's ISO ``T_REC``
stays visibly UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from jsocdesk.core import drmstime
from jsocdesk.core.errors import TimeFormatError

MISSING = b"MISSING"

BytesArray = npt.NDArray[np.bytes_]
BoolArray = npt.NDArray[np.bool_]

_DRMS_EPOCH_US = np.datetime64("1977-01-01T00:00:00", "us").astype(np.int64)
_LEAP_UTC_SECONDS = np.array(
    [drmstime.tai_calendar_to_seconds(d) for d, _ in drmstime.LEAP_TABLE], dtype=np.float64
)
_LEAP_OFFSETS = np.array([off for _, off in drmstime.LEAP_TABLE], dtype=np.float64)


class ColumnKind(StrEnum):
    INTEGER = "integer"
    REAL = "real"
    TIME = "time"
    TEXT = "text"


class DrmsTime(NamedTuple):
    """One instant as DRMS seconds (TAI since 1977.01.01) plus the zone it is shown in."""

    seconds: float
    zone: str = "TAI"
    style: str = "drms"
    decimals: int = 0

    def __str__(self) -> str:
        return format_time(self.seconds, self.zone, self.style, self.decimals)

    def to_astropy(self) -> Any:
        """:class:`astropy.time.Time` in the column's scale (``tai`` or ``utc``)."""
        return drmstime.to_astropy(self.seconds, "tai" if self.zone == "TAI" else "utc")


def format_time(seconds: float, zone: str, style: str, decimals: int) -> str:
    if style == "iso":
        return drmstime.format_utc_iso(seconds, decimals)
    if zone == "TAI":
        return drmstime.format_tai(seconds, decimals)
    return drmstime.format_utc(seconds, decimals)


@dataclass(eq=False)
class Column:
    """One column of a listing.

    ``values`` is int64 (INTEGER), float64 (REAL, and TIME as DRMS TAI seconds) or a numpy
    byte-string array (TEXT, UTF-8).  ``missing`` marks ``MISSING`` (and unparsable) values.
    """

    name: str
    kind: ColumnKind
    values: npt.NDArray[Any]
    missing: BoolArray
    zone: str = ""
    style: str = ""
    decimals: int = 0

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __repr__(self) -> str:
        return f"<Column {self.name!r} {self.kind.value} n={len(self)}>"

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes + self.missing.nbytes)

    def is_missing(self, i: int) -> bool:
        return bool(self.missing[i])

    def value(self, i: int) -> int | float | str | DrmsTime | None:
        """The Python value of row ``i`` (``None`` when missing)."""
        if self.missing[i]:
            return None
        v = self.values[i]
        if self.kind is ColumnKind.INTEGER:
            return int(v)
        if self.kind is ColumnKind.REAL:
            return float(v)
        if self.kind is ColumnKind.TIME:
            return DrmsTime(float(v), self.zone, self.style, self.decimals)
        return bytes(v).decode("utf-8", "replace")

    def text(self, i: int) -> str:
        """Row ``i`` as display text; missing values show as ``MISSING``."""
        v = self.value(i)
        if v is None:
            return "MISSING"
        if isinstance(v, float):
            return f"{v:g}"
        return str(v)

    def to_list(self) -> list[int | float | str | DrmsTime | None]:
        return [self.value(i) for i in range(len(self))]

    def to_astropy(self) -> Any:
        """A TIME column as one :class:`astropy.time.Time` array in its own scale."""
        if self.kind is not ColumnKind.TIME:
            raise TypeError(f"column {self.name!r} is not a time column")
        from astropy.time import Time, TimeDelta

        epoch = Time("1977-01-01T00:00:00", scale="tai")
        t = epoch + TimeDelta(self.values, format="sec")
        return t.tai if self.zone == "TAI" else t.utc

    def take(self, start: int, stop: int) -> Column:
        return Column(
            self.name,
            self.kind,
            self.values[start:stop],
            self.missing[start:stop],
            self.zone,
            self.style,
            self.decimals,
        )

    @staticmethod
    def concat(parts: list[Column]) -> Column:
        if not parts:
            raise ValueError("nothing to concatenate")
        first = parts[0]
        if len(parts) == 1:
            return first
        kinds = {p.kind for p in parts}
        if len(kinds) != 1:
            # A page had a value the others could not be typed with: fall back to text.
            parts = [p.as_text() for p in parts]
            first = parts[0]
        values = np.concatenate([p.values for p in parts])
        missing = np.concatenate([p.missing for p in parts])
        return Column(
            first.name, first.kind, values, missing, first.zone, first.style, first.decimals
        )

    def as_text(self) -> Column:
        if self.kind is ColumnKind.TEXT:
            return self
        texts = [self.text(i).encode() for i in range(len(self))]
        return Column(self.name, ColumnKind.TEXT, np.array(texts, dtype=np.bytes_), self.missing)


# --- conversions ---------------------------------------------------------------------------


def to_column(name: str, kind: ColumnKind, raw: BytesArray) -> Column:
    """Convert a byte-string array of JSOC values into a typed column."""
    if kind is ColumnKind.INTEGER:
        return _integer_column(name, raw)
    if kind is ColumnKind.REAL:
        return _real_column(name, raw)
    if kind is ColumnKind.TIME:
        return _time_column(name, raw)
    return Column(name, ColumnKind.TEXT, raw, raw == MISSING)


def _integer_column(name: str, raw: BytesArray) -> Column:
    missing = raw == MISSING
    n = raw.shape[0]
    width = raw.dtype.itemsize
    out = np.zeros(n, dtype=np.int64)
    if n == 0:
        return Column(name, ColumnKind.INTEGER, out, missing)
    chars = raw.view(np.uint8).reshape(n, width)
    is_hex = (chars[:, 0] == ord("0")) & ((chars[:, 1] | 0x20) == ord("x")) if width > 1 else None
    if is_hex is not None and bool(is_hex.all()) and width > 2:
        digits = _HEX_TABLE[chars[:, 2:]]
        if bool((digits >= 0).all()):
            weights = 16 ** np.arange(width - 3, -1, -1, dtype=np.int64)
            out = digits.astype(np.int64) @ weights
            return Column(name, ColumnKind.INTEGER, out, missing)
    if width <= 18:
        # same-width plain digits (CAMERA, CAR_ROT, ...): a few vector ops, no parsing
        dec = chars - ord("0")
        if bool((dec <= 9).all()):  # uint8: anything below '0' wraps above 9
            out = dec[:, 0].astype(np.int64)
            for j in range(1, width):
                out = out * 10 + dec[:, j]
            return Column(name, ColumnKind.INTEGER, out, missing)
    ok = ~missing
    if is_hex is not None:
        ok &= ~is_hex
    try:
        out[ok] = raw[ok].astype(np.int64)
        rest = np.flatnonzero(~ok & ~missing)
    except ValueError:
        rest = np.flatnonzero(~missing)
    for i in rest:
        try:
            out[i] = int(bytes(raw[i]), 0)
        except (ValueError, OverflowError):
            try:
                out[i] = int(float(bytes(raw[i])))
            except (ValueError, OverflowError):
                missing[i] = True
    return Column(name, ColumnKind.INTEGER, out, missing)


_HEX_TABLE = np.full(256, -1, dtype=np.int8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX_TABLE[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEX_TABLE[_c] = 10 + _i


_POW10 = 10.0 ** np.arange(23)


def _fixed_decimals(raw: BytesArray) -> npt.NDArray[np.float64] | None:
    """Plain decimals (``-117.757228``, ``65.3``: optional ``-``, digits, at most one ``.``,
    at most 15 digits) parsed with a few vector operations, or ``None``.

    The digits form an integer ``m`` below 2**53 and ``10**d`` is exact for ``d <= 22``, so
    ``m / 10**d`` (one IEEE division, correctly rounded) is exactly the double that
    ``float(text)`` gives for the decimal ``text``.
    """
    n = raw.shape[0]
    width = raw.dtype.itemsize
    if n == 0 or width > 17:
        return None
    chars = raw.view(np.uint8).reshape(n, width)
    digit = (chars >= ord("0")) & (chars <= ord("9"))
    dot = chars == ord(".")
    minus = chars[:, 0] == ord("-")
    used = chars != 0
    # nothing but digits, one optional dot, a leading minus and the zero padding at the end
    if not bool((digit | dot | ~used)[:, 1:].all()):
        return None
    if not bool((digit[:, 0] | dot[:, 0] | minus).all()):
        return None
    ndigits = np.count_nonzero(digit, axis=1)
    if int(ndigits.max()) > 15 or not bool((ndigits > 0).all()):
        return None
    ndots = np.count_nonzero(dot, axis=1)
    if int(ndots.max()) > 1:
        return None
    length = np.count_nonzero(used, axis=1)
    if not bool((used[:, :-1] | ~used[:, 1:]).all()):  # no byte after the padding starts
        return None
    mant = np.zeros(n, dtype=np.int64)
    values09 = chars - np.uint8(ord("0"))  # 0..9 where digit (other bytes are not used)
    for j in range(width):
        mant = np.where(digit[:, j], mant * 10 + values09[:, j], mant)
    decimals = np.where(ndots > 0, length - 1 - np.argmax(dot, axis=1), 0)
    values = mant / _POW10[decimals]
    return np.where(minus, -values, values)


def _real_column(name: str, raw: BytesArray) -> Column:
    missing = raw == MISSING
    if not bool(missing.any()):
        fast = _fixed_decimals(raw)
        if fast is not None:
            return Column(name, ColumnKind.REAL, fast, missing)
    src = raw
    if bool(missing.any()):
        src = raw.copy()
        src[missing] = b"nan"
    try:
        out = src.astype(np.float64)
    except ValueError:
        out = np.empty(raw.shape[0], dtype=np.float64)
        for i in range(raw.shape[0]):
            try:
                out[i] = float(bytes(src[i]))
            except ValueError:
                out[i] = np.nan
                missing[i] = True
    return Column(name, ColumnKind.REAL, out, missing)


# Fast layouts: DRMS ``YYYY.MM.DD_hh:mm:ss[.f]_ZZZ`` and ISO ``YYYY-MM-DDThh:mm:ss[.f]Z``.
_DRMS_SEPS = {4: ord("."), 7: ord("."), 10: ord("_"), 13: ord(":"), 16: ord(":")}
_ISO_SEPS = {4: ord("-"), 7: ord("-"), 10: ord("T"), 13: ord(":"), 16: ord(":")}


def _time_column(name: str, raw: BytesArray) -> Column:
    n = raw.shape[0]
    missing = raw == MISSING
    out = np.full(n, np.nan, dtype=np.float64)
    present = np.flatnonzero(~missing)
    if present.size == 0:
        return Column(name, ColumnKind.TIME, out, missing, "TAI", "drms", 0)
    sample = bytes(raw[present[0]])
    fast = _fast_times(raw[present], sample)
    if fast is not None:
        values, zone, style, decimals = fast
        out[present] = values
        return Column(name, ColumnKind.TIME, out, missing, zone, style, decimals)
    zone, style, decimals = "TAI", "drms", 0
    first = True
    for i in present:
        text = bytes(raw[i]).decode("latin1")
        try:
            secs, z = drmstime.parse_time(text)
        except TimeFormatError:
            missing[i] = True
            continue
        out[i] = secs
        if first:
            first = False
            zone = z
            style = "iso" if "T" in text else "drms"
            decimals = _decimals_of(text)
    return Column(name, ColumnKind.TIME, out, missing, zone, style, decimals)


def _decimals_of(text: str) -> int:
    core = text.rstrip("Z").split("_")
    sec = core[1] if len(core) > 1 else core[0]
    if "." in sec[-8:]:
        return len(sec.rsplit(".", 1)[1])
    return 0


def _fast_times(
    raw: BytesArray, sample: bytes
) -> tuple[npt.NDArray[np.float64], str, str, int] | None:
    n = raw.shape[0]
    width = raw.dtype.itemsize
    if len(sample) != width or width < 20:
        return None
    if sample.endswith(b"Z") and sample[10:11] == b"T":
        seps, style, zone, body = _ISO_SEPS, "iso", "UTC", width - 1
    elif sample[10:11] == b"_" and sample[-4:-3] == b"_":
        seps, style, zone, body = _DRMS_SEPS, "drms", sample[-3:].decode("latin1"), width - 4
        if zone not in ("TAI", "UTC"):
            return None
    elif sample[10:11] == b"_" and sample[-3:] == b"_UT":
        # sprint_ut(): "2014.01.05_17:46:02_UT" (*dirmtime*, DATE-like keywords)
        seps, style, zone, body = _DRMS_SEPS, "drms", "UTC", width - 3
    else:
        return None
    chars = raw.view(np.uint8).reshape(n, width)
    # every row must have the sample's layout (same suffix, same separators)
    suffix = np.frombuffer(sample[body:], dtype=np.uint8)
    if not bool((chars[:, body:] == suffix).all()):
        return None
    for pos, ch in seps.items():
        if not bool((chars[:, pos] == ch).all()):
            return None
    decimals = 0
    if body > 19:
        if sample[19:20] != b"." or not bool((chars[:, 19] == ord(".")).all()):
            return None
        decimals = body - 20
        if decimals > 6:
            return None
    iso = np.array(chars[:, :body])
    iso[:, 4] = ord("-")
    iso[:, 7] = ord("-")
    iso[:, 10] = ord("T")
    text = iso.view(f"S{body}").ravel()
    try:
        micro = text.astype("datetime64[us]").astype(np.int64)
    except ValueError:
        return None
    seconds = (micro - _DRMS_EPOCH_US).astype(np.float64) / 1e6
    if zone == "UTC":
        idx = np.searchsorted(_LEAP_UTC_SECONDS, seconds, side="right") - 1
        seconds = seconds + np.where(idx >= 0, _LEAP_OFFSETS[np.maximum(idx, 0)], 10.0)
    return seconds, zone, style, decimals
