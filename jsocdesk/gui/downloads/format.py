"""Human-readable sizes, speeds and durations for progress displays."""

from __future__ import annotations

_UNITS = ("B", "KB", "MB", "GB", "TB")


def human_bytes(n: float | None) -> str:
    """``1536`` → ``"1.5 KB"`` (decimal units, like file managers); ``None`` → ``"?"``."""
    if n is None:
        return "?"
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1000 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def human_speed(bytes_per_second: float) -> str:
    return f"{human_bytes(bytes_per_second)}/s" if bytes_per_second > 0 else ""


def human_duration(seconds: float | None) -> str:
    """``75`` → ``"1:15"``, ``3700`` → ``"1:01:40"``; ``None`` → ``""``."""
    if seconds is None:
        return ""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
