"""Series metadata as plain values (what ``jsoc_info?op=series_struct`` describes).

The query validator takes a :class:`SeriesInfo`; the client builds one from JSON; the demo
server describes its catalogue with the same shape.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

_T = TypeVar("_T")
_NAME = operator.attrgetter("name")

TIME_TYPES = frozenset({"time"})
INTEGER_TYPES = frozenset({"short", "int", "longlong", "char"})
REAL_TYPES = frozenset({"float", "double"})


def find_named(items: Iterable[_T], name: str, name_of: Callable[[_T], str]) -> _T | None:
    """The first of ``items`` whose name (``name_of(item)``) is ``name``, ignoring case."""
    low = name.lower()
    for item in items:
        if name_of(item).lower() == low:
            return item
    return None


@dataclass(frozen=True)
class PrimeKeyInfo:
    name: str
    slotted: bool = False
    step: str | None = None


@dataclass(frozen=True)
class KeywordInfo:
    name: str
    type: str = "string"
    recscope: str = "variable"
    defval: str = ""
    units: str = ""
    note: str = ""
    linkinfo: str | None = None

    @property
    def is_time(self) -> bool:
        return self.type in TIME_TYPES

    @property
    def is_integer(self) -> bool:
        return self.type in INTEGER_TYPES

    @property
    def is_real(self) -> bool:
        return self.type in REAL_TYPES

    @property
    def is_numeric(self) -> bool:
        return self.is_integer or self.is_real


@dataclass(frozen=True)
class SegmentInfo:
    name: str
    type: str = "int"
    units: str | None = None
    protocol: str = "fits"
    dims: str | None = None
    note: str = ""


@dataclass(frozen=True)
class LinkInfo:
    name: str
    target: str
    kind: str = "DYNAMIC"
    note: str = ""


@dataclass(frozen=True)
class SeriesInfo:
    """Metadata of one series; names keep their canonical case, look-ups ignore case."""

    name: str
    note: str = ""
    primekeys: tuple[str, ...] = ()
    primekeysinfo: tuple[PrimeKeyInfo, ...] = ()
    keywords: tuple[KeywordInfo, ...] = ()
    segments: tuple[SegmentInfo, ...] = ()
    links: tuple[LinkInfo, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def keyword(self, name: str) -> KeywordInfo | None:
        return find_named(self.keywords, name, _NAME)

    def segment(self, name: str) -> SegmentInfo | None:
        return find_named(self.segments, name, _NAME)

    def primekey(self, name: str) -> str | None:
        return find_named(self.primekeys, name, str)

    @property
    def keyword_names(self) -> list[str]:
        return [k.name for k in self.keywords]

    @property
    def segment_names(self) -> list[str]:
        return [s.name for s in self.segments]

    def is_time_key(self, name: str) -> bool:
        kw = self.keyword(name)
        return kw is not None and kw.is_time
