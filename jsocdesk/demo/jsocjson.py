"""JSON text as JSOC's C programs write it.

JSOC's CGIs (``jsoc_info``, ``jsoc_fetch``, ``show_series``, ``jsoc_export_make_index``)
build their answers with the small json library in ``lm-jps/drms`` ``base/libs/json/json.c``:

* ``json_escape()`` turns ``\\`` and ``"`` into ``\\\\`` and ``\\"``, **every** ``/`` into
  ``\\/``, ``\\b \\f \\n \\r \\t`` into their two-character escapes and other control
  characters into ``\\u00XX``; bytes >= 0x80 pass through unchanged (no ``\\uXXXX``).
  The programs call it on keyword values, segment paths, dims, cparms, notes, record specs and
  error messages; a few fields go in without it (segment ``units`` and ``protocol`` and link
  ``name``/``target`` in ``series_struct``, the ``name`` of each ``rs_list`` column,
  ``show_series`` names): wrap those in :class:`Verbatim`.
* ``json_tree_to_string()`` writes compact text (no space after ``:`` or ``,``): that is
  what ``rs_list`` and the ``jsoc_fetch`` answers send.
* ``json_format_string()`` re-indents that text (``{``/``}``/``,`` start a new line,
  indented with tabs; ``:`` becomes ``": "``; arrays stay on the line): ``series_struct``,
  ``rs_summary`` and the export's ``index.json`` are sent that way.

The Python programs (``checkAddress.py``, ``showextseries.py``) use Python's ``json.dumps``
instead (``", "`` and ``": "``, ``/`` unescaped, non-ASCII as ``\\uXXXX``).
"""

from __future__ import annotations

import re
from json.encoder import encode_basestring
from typing import Any


class Verbatim(str):
    """A string JSOC inserts with ``json_new_string`` alone (no ``json_escape``)."""


def quote(text: str) -> str:
    """``"`` + ``json_escape(text)`` + ``"``."""
    # encode_basestring escapes \\, ", \b \f \n \r \t and \u00XX exactly like json_escape and
    # leaves non-ASCII alone (json_escape copies bytes >= 0x80); only '/' is left to do.
    out: str = encode_basestring(text)
    return out.replace("/", "\\/") if "/" in out else out


def _value(obj: Any) -> str:
    if obj is None:
        return "null"
    if obj is True:
        return "true"
    if obj is False:
        return "false"
    if isinstance(obj, Verbatim):
        return f'"{obj}"'
    if isinstance(obj, str):
        return quote(obj)
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, float):
        return repr(obj) if obj == obj and obj not in (float("inf"), float("-inf")) else "null"
    if isinstance(obj, dict):
        return "{" + ",".join(f"{quote(str(k))}:{_value(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(_value(v) for v in obj) + "]"
    raise TypeError(f"cannot write {type(obj).__name__} as JSOC JSON")


def compact(obj: Any) -> str:
    """``json_tree_to_string()``: the compact text."""
    return _value(obj)


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}:,]|\s+')


def format_string(text: str) -> str:
    """``json_format_string()``: JSOC's re-indentation of compact JSON text."""
    depth = 0

    def step(m: re.Match[str]) -> str:
        nonlocal depth
        tok = m.group(0)
        if tok == "{":
            depth += 1
            return "{\n" + "\t" * depth
        if tok == "}":
            depth -= 1
            return "\n" + "\t" * depth + "}"
        if tok == ":":
            return ": "
        if tok == ",":
            return ",\n" + "\t" * depth
        if tok[0] == '"':
            return tok
        return ""  # insignificant white space is dropped

    return _TOKEN.sub(step, text)


def pretty(obj: Any) -> str:
    """What ``series_struct``/``rs_summary``/``index.json`` look like."""
    return format_string(compact(obj))


def encode(text: str) -> bytes:
    """JSOC writes its C strings' bytes: UTF-8 here."""
    return text.encode("utf-8", "replace")


class Answer:
    """A JSON answer to be written the JSOC way (compact, or re-indented with ``pretty``)."""

    __slots__ = ("obj", "pretty")

    def __init__(self, obj: Any, *, pretty: bool = False) -> None:
        self.obj = obj
        self.pretty = pretty

    def __repr__(self) -> str:
        return f"Answer({self.obj!r}, pretty={self.pretty})"

    def body(self) -> bytes:
        # the C programs end their answer with printf("%s\n", json)
        return encode((pretty(self.obj) if self.pretty else compact(self.obj)) + "\n")
