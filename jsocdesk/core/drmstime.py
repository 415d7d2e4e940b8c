"""DRMS time literals and TAI/UTC arithmetic without astropy in the hot path.

DRMS keeps times as seconds since ``1977.01.01_00:00:00_TAI`` and prints them as
``YYYY.MM.DD_hh:mm:ss_TAI`` (or ISO ``YYYY-MM-DDThh:mm:ssZ`` for zone ``ISO``, in UTC).
A literal without a zone is UTC (``timeio.c``).  This module converts both ways with a
leap-second table (TAI-UTC), fast enough for a million records, and bridges to
:class:`astropy.time.Time` for user-facing values.
"""

from __future__ import annotations

import bisect
import math
import re
from datetime import datetime, timedelta

from jsocdesk.core.errors import TimeFormatError

#: The DRMS epoch, as a naive TAI calendar datetime.
EPOCH = datetime(1977, 1, 1)

#: (UTC date from which it holds, TAI-UTC in seconds), from the IERS bulletin C series.
LEAP_TABLE: tuple[tuple[datetime, int], ...] = (
    (datetime(1972, 1, 1), 10),
    (datetime(1972, 7, 1), 11),
    (datetime(1973, 1, 1), 12),
    (datetime(1974, 1, 1), 13),
    (datetime(1975, 1, 1), 14),
    (datetime(1976, 1, 1), 15),
    (datetime(1977, 1, 1), 16),
    (datetime(1978, 1, 1), 17),
    (datetime(1979, 1, 1), 18),
    (datetime(1980, 1, 1), 19),
    (datetime(1981, 7, 1), 20),
    (datetime(1982, 7, 1), 21),
    (datetime(1983, 7, 1), 22),
    (datetime(1985, 7, 1), 23),
    (datetime(1988, 1, 1), 24),
    (datetime(1990, 1, 1), 25),
    (datetime(1991, 1, 1), 26),
    (datetime(1992, 7, 1), 27),
    (datetime(1993, 7, 1), 28),
    (datetime(1994, 7, 1), 29),
    (datetime(1996, 1, 1), 30),
    (datetime(1997, 7, 1), 31),
    (datetime(1999, 1, 1), 32),
    (datetime(2006, 1, 1), 33),
    (datetime(2009, 1, 1), 34),
    (datetime(2012, 7, 1), 35),
    (datetime(2015, 7, 1), 36),
    (datetime(2017, 1, 1), 37),
)

_UTC_STARTS = [d for d, _ in LEAP_TABLE]
#: The same instants expressed as DRMS TAI seconds, for TAI -> UTC look-ups.
LEAP_STARTS_TAI: tuple[float, ...] = tuple(
    (d - EPOCH).total_seconds() + off for d, off in LEAP_TABLE
)

#: Printing truncates to the requested precision like DRMS' sprint_time, plus this margin
#: (a thousandth of a tick) against float error: around 1.2e9 s a double is only good to
#: ~2e-7 s, so 01.10 s must not come out as 01.09 s.
TRUNCATION_MARGIN = 1e-3


def tai_minus_utc_at_utc(utc: datetime) -> int:
    """TAI-UTC (s) in force at a UTC calendar time (10 s before 1972)."""
    i = bisect.bisect_right(_UTC_STARTS, utc) - 1
    return LEAP_TABLE[i][1] if i >= 0 else 10


def tai_minus_utc_at_tai(tai_seconds: float) -> int:
    """TAI-UTC (s) in force at an instant given as DRMS TAI seconds."""
    i = bisect.bisect_right(LEAP_STARTS_TAI, tai_seconds) - 1
    return LEAP_TABLE[i][1] if i >= 0 else 10


# --- calendar <-> seconds -------------------------------------------------------------------


def tai_calendar_to_seconds(dt: datetime) -> float:
    """A naive TAI calendar datetime -> DRMS seconds."""
    return (dt - EPOCH).total_seconds()


def utc_calendar_to_seconds(dt: datetime) -> float:
    """A naive UTC calendar datetime -> DRMS (TAI) seconds."""
    return (dt - EPOCH).total_seconds() + tai_minus_utc_at_utc(dt)


def seconds_to_tai_calendar(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def seconds_to_utc_calendar(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds - tai_minus_utc_at_tai(seconds))


# --- parsing -------------------------------------------------------------------------------

_TIME_RE = re.compile(
    r"""^\s*
    (?P<y>\d{4})[.\-/](?P<mo>\d{1,2})[.\-/](?P<d>\d{1,2})
    (?:[_T ](?P<h>\d{1,2})(?::(?P<mi>\d{1,2})(?::(?P<s>\d{1,2}(?:\.\d*)?))?)?)?
    (?:_?(?P<zone>Z|TAI|UTC|UT|TT|GMT))?
    \s*$""",
    re.VERBOSE | re.IGNORECASE,
)


def parse_time(text: str) -> tuple[float, str]:
    """Parse a DRMS/ISO time literal.

    Returns ``(drms_tai_seconds, zone)`` where zone is ``"TAI"``, ``"UTC"`` or ``"TT"``
    (``Z``/``UT``/``GMT``/no zone all mean UTC).  Raises :class:`TimeFormatError`.
    """
    m = _TIME_RE.match(text)
    if not m:
        raise TimeFormatError(f"Not a time: {text!r}")
    try:
        sec_text = m["s"] or "0"
        whole = int(float(sec_text))
        frac = float(sec_text) - whole
        leap = whole == 60
        dt = datetime(
            int(m["y"]),
            int(m["mo"]),
            int(m["d"]),
            int(m["h"] or 0),
            int(m["mi"] or 0),
            59 if leap else whole,
        )
    except ValueError as exc:
        raise TimeFormatError(f"Not a time: {text!r} ({exc})") from None
    zone = (m["zone"] or "UTC").upper()
    if zone in ("Z", "UT", "GMT"):
        zone = "UTC"
    if zone == "TAI":
        secs = tai_calendar_to_seconds(dt)
    elif zone == "TT":
        secs = tai_calendar_to_seconds(dt) - 32.184
    else:
        secs = utc_calendar_to_seconds(dt)
    return secs + frac + (1 if leap else 0), zone


def parse_time_seconds(text: str) -> float:
    return parse_time(text)[0]


# --- printing ------------------------------------------------------------------------------


def _split(seconds: float, decimals: int) -> tuple[datetime, str]:
    scale = 10**decimals
    ticks = math.floor(seconds * scale + TRUNCATION_MARGIN)
    whole, frac = divmod(ticks, scale)
    frac_text = f".{frac:0{decimals}d}" if decimals > 0 else ""
    return EPOCH + timedelta(seconds=whole), frac_text


def format_tai(seconds: float, decimals: int = 0) -> str:
    """DRMS seconds -> ``YYYY.MM.DD_hh:mm:ss[.f]_TAI``."""
    dt, frac = _split(seconds, decimals)
    return dt.strftime("%Y.%m.%d_%H:%M:%S") + frac + "_TAI"


def format_utc_iso(seconds: float, decimals: int = 0) -> str:
    """DRMS seconds -> ``YYYY-MM-DDThh:mm:ss[.f]Z`` (UTC), DRMS' ``ISO`` zone."""
    dt, frac = _split(seconds - tai_minus_utc_at_tai(seconds), decimals)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def format_utc(seconds: float, decimals: int = 0) -> str:
    """DRMS seconds -> ``YYYY.MM.DD_hh:mm:ss[.f]_UTC``."""
    dt, frac = _split(seconds - tai_minus_utc_at_tai(seconds), decimals)
    return dt.strftime("%Y.%m.%d_%H:%M:%S") + frac + "_UTC"


# --- durations -----------------------------------------------------------------------------

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhdu]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "u": 1e-6}


def parse_duration(text: str) -> float:
    """``3m`` / ``6h`` / ``90.0s`` / ``1d`` / ``600`` -> seconds."""
    m = _DURATION_RE.match(text)
    if not m:
        raise TimeFormatError(f"Not a duration: {text!r}")
    return float(m[1]) * _UNIT_SECONDS[m[2].lower()]


# --- astropy bridge ------------------------------------------------------------------------


def to_astropy(seconds: float, scale: str = "tai") -> object:
    """DRMS seconds -> :class:`astropy.time.Time` in ``scale`` (imported lazily)."""
    from astropy.time import Time

    t = Time(seconds_to_tai_calendar(seconds), scale="tai")
    return getattr(t, scale)


def from_astropy(t: object) -> float:
    """:class:`astropy.time.Time` (any scale) -> DRMS seconds."""
    from astropy.time import Time

    if not isinstance(t, Time):
        raise TimeFormatError(f"Not an astropy Time: {t!r}")
    tai = t.tai
    dt = tai.to_datetime()
    return tai_calendar_to_seconds(dt)
