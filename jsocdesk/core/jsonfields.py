"""Typed reads of fields of decoded JSON objects that may come from anywhere.

Persisted objects (download items, export jobs, session sections) are read through these
helpers so that a hostile or damaged file gives one clear :class:`FieldError` (a
``ValueError``) naming the field — never ``OverflowError`` (``1e999``), ``AttributeError``
(``[1, 2]`` where an object belongs) or a ``TypeError`` from deep inside.  Numbers are
bounded, booleans are not integers, strings must be valid Unicode (no lone surrogates).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_INT",
    "FieldError",
    "check_text",
    "get_bool",
    "get_float",
    "get_int",
    "get_list",
    "get_object",
    "get_opt_int",
    "get_opt_str",
    "get_str",
    "get_str_map",
]

#: the largest integer any persisted count, size or id may hold (2**63 - 1)
MAX_INT = (1 << 63) - 1
_MISSING = object()


class FieldError(ValueError):
    """A field of a JSON object is missing or has the wrong type or range."""


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_text(value: str, where: str) -> str:
    """``value`` if it is valid Unicode text (no lone UTF-16 surrogates, which cannot be
    written to a file name, a terminal or a label)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise FieldError(f"{where}: contains invalid text (a lone surrogate)") from None
    return value


def get_object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise FieldError(f"{where}: expected an object, not {_describe(value)}")
    return value


def _get(d: Mapping[str, Any], key: str, default: Any) -> Any:
    value = d.get(key, default)
    if value is _MISSING:
        raise FieldError(f"{key!r} is missing")
    return value


def get_str(d: Mapping[str, Any], key: str, default: Any = _MISSING) -> str:
    value = _get(d, key, default)
    if not isinstance(value, str):
        raise FieldError(f"{key!r} must be a string, not {_describe(value)}")
    return check_text(value, repr(key))


def get_opt_str(d: Mapping[str, Any], key: str) -> str | None:
    value = d.get(key)
    return None if value is None else get_str(d, key)


def get_int(
    d: Mapping[str, Any],
    key: str,
    default: Any = _MISSING,
    *,
    lo: int = 0,
    hi: int = MAX_INT,
) -> int:
    """An integer in ``[lo, hi]``; a float with an integral value (``3.0``) is accepted."""
    value = _get(d, key, default)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"{key!r} must be an integer, not {_describe(value)}")
    if not lo <= value <= hi:
        raise FieldError(f"{key!r} = {_describe(value)} is out of range [{lo}, {hi}]")
    return value


def get_opt_int(d: Mapping[str, Any], key: str, *, lo: int = 0, hi: int = MAX_INT) -> int | None:
    return None if d.get(key) is None else get_int(d, key, lo=lo, hi=hi)


def get_float(
    d: Mapping[str, Any], key: str, default: Any = _MISSING, *, lo: float = 0.0, hi: float = 1e300
) -> float:
    value = _get(d, key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(f"{key!r} must be a number, not {_describe(value)}")
    number = float(value)
    if not (math.isfinite(number) and lo <= number <= hi):
        raise FieldError(f"{key!r} = {_describe(value)} is out of range")
    return number


def get_opt_float(d: Mapping[str, Any], key: str) -> float | None:
    return None if d.get(key) is None else get_float(d, key)


def get_bool(d: Mapping[str, Any], key: str, default: Any = _MISSING) -> bool:
    value = _get(d, key, default)
    if not isinstance(value, bool):
        raise FieldError(f"{key!r} must be true or false, not {_describe(value)}")
    return value


def get_list(d: Mapping[str, Any], key: str, default: Any = _MISSING) -> list[Any]:
    value = _get(d, key, default)
    if value is None and default is not _MISSING:
        return []
    if not isinstance(value, list):
        raise FieldError(f"{key!r} must be a list, not {_describe(value)}")
    return value


def get_str_map(d: Mapping[str, Any], key: str) -> dict[str, str]:
    """An object of strings (missing or ``null``: empty)."""
    value = d.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(f"{key!r} must be an object of strings, not {_describe(value)}")
    out: dict[str, str] = {}
    for k, v in value.items():
        if not isinstance(v, str):
            raise FieldError(f"{key!r}: {_describe(k)} must map to a string")
        out[check_text(k, repr(key))] = check_text(v, repr(key))
    return out
