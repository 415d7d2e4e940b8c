"""Compile a query tree into JSOC record-set strings, one per DNF branch.

Each branch is rendered exactly like sunpy's ``JSOCClient._make_recordset`` (protocol
§4.3), so for every query sunpy accepts the string is byte-identical::

    series + [pk1][pk2]... + [? K1<op>'v1' AND K2<op>'v2' ?] + {seg1,seg2}

* prime keys are walked in the series' order (from its :class:`SeriesInfo`); a time-typed
  key takes the time filter, ``WAVELNTH`` the wavelength, other keys their ``PrimeKey``
  value, keys without a value ``[]``; the walk stops once every given value is used;
* the time filter is ``<start>-<end>[@<seconds>s]`` with both ends converted to TAI and
  printed with astropy's ``strftime("%Y.%m.%d_%H:%M:%S_TAI")`` (what sunpy calls, so the
  same rounding), the sample as Python prints the float (``@600.0s``); without a ``Time``,
  a time-typed ``PrimeKey`` value is used verbatim;
* the wavelength is ``str(int(ceil(value in Å)))`` (``17.1 nm`` → ``171``);
* keyword values are always single-quoted (a quote inside a value is doubled, SQL style);
  ``==`` is written ``=``.

The tree is validated first (:mod:`jsocdesk.core.query.validate`); the first problem is
raised as :class:`~jsocdesk.core.errors.QueryError` pointing at its node.

``merge=True`` goes beyond sunpy: branches on the same series (case-insensitive) with the
same notification address are joined into one comma-separated record set, in the position
of their first branch, so one export serves them all (identical parts are kept once).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from jsocdesk.core.errors import QueryError
from jsocdesk.core.query.dnf import to_dnf
from jsocdesk.core.query.tree import Keyword, Node, QueryTree, Time, quiet_astropy
from jsocdesk.core.query.validate import (
    BranchParts,
    SeriesLookup,
    analyze_branch,
    check,
    is_time_primekey,
    series_lookup,
)
from jsocdesk.core.seriesinfo import SeriesInfo

__all__ = [
    "CompiledRecordSet",
    "compile_query",
    "format_keyword_clause",
    "format_tai",
    "record_sets",
    "render_branch",
]

TAI_FORMAT = "%Y.%m.%d_%H:%M:%S_TAI"


@dataclass(frozen=True)
class CompiledRecordSet:
    """One record set to search/export.

    ``parts`` are the per-branch record sets joined into ``record_set`` (one element unless
    merged); ``nodes`` are the leaves of the branches involved (for highlighting);
    ``segments`` is the union of the selected segments in order (empty = all);
    ``process`` the export processing of the branch's :class:`Cutout` (``im_patch,…``, the
    string drms builds from sunpy's ``a.jsoc.Cutout``), None without one.
    """

    record_set: str
    series: str
    segments: tuple[str, ...]
    notify: str | None
    nodes: tuple[Node, ...]
    parts: tuple[str, ...]
    process: str | None = None

    @property
    def export_process(self) -> str:
        """The ``process=n`` value of an export request (``0`` = no record limit)."""
        return f"0|{self.process}" if self.process else "0"

    def __str__(self) -> str:
        return self.record_set


def format_tai(t: object) -> str:
    """An astropy ``Time`` (any scale) as sunpy prints it: TAI, whole seconds."""
    if isinstance(t, Time):
        raise TypeError("format_tai takes an astropy Time, not a Time node")
    with quiet_astropy():
        return str(t.tai.strftime(TAI_FORMAT))  # type: ignore[attr-defined]


def format_sample(seconds: float) -> str:
    return f"@{float(seconds)}s"


def format_wavelength(angstrom: float) -> str:
    return str(math.ceil(angstrom))


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def format_keyword_clause(keywords: list[Keyword]) -> str:
    """``[? K1='v1' AND K2>'v2' ?]`` (empty string for no keywords)."""
    terms = [f"{k.name}{k.op}{_quote(k.value or '')}" for k in keywords]
    return f"[? {' AND '.join(terms)} ?]" if terms else ""


def render_branch(
    parts: BranchParts, info: SeriesInfo, time_cache: dict[Time, str] | None = None
) -> str:
    """The record set of one validated branch (sunpy's ``_make_recordset``).

    ``time_cache`` memoises the TAI range text of :class:`Time` nodes across the branches
    of one query (astropy's conversion dominates the cost of compiling).
    """
    assert parts.series is not None
    sample = format_sample(parts.sample.seconds) if parts.sample is not None else ""
    entries: dict[str, str] = {}
    others: list[tuple[str, str]] = []
    time_text = ""
    wavelength_text = ""
    for pk in parts.primekeys:
        if is_time_primekey(pk.name, info):
            time_text = time_text or pk.value
        elif pk.name.upper() == "WAVELNTH":
            wavelength_text = pk.value
        else:
            others.append((pk.name.lower(), pk.value))
    if parts.time is not None:
        cache = {} if time_cache is None else time_cache
        span = cache.get(parts.time)
        if span is None:
            span = cache[parts.time] = (
                f"{format_tai(parts.time.start)}-{format_tai(parts.time.end)}"
            )
        time_text = span + sample
    if parts.wavelength is not None:
        wavelength_text = format_wavelength(parts.wavelength.min_angstrom)
    for key, value in others:
        entries[key] = value
    if time_text:
        entries["\0time"] = time_text
    if wavelength_text:
        entries["wavelnth"] = wavelength_text
    pkstr = ""
    for pkey in info.primekeys:
        if not entries:
            break
        if is_time_primekey(pkey, info):
            pkstr += f"[{entries.pop(chr(0) + 'time', '')}]"
        else:
            pkstr += f"[{entries.pop(pkey.lower(), '')}]"
    if not pkstr:
        raise QueryError(
            "Time, Wavelength or an explicit PrimeKey must be specified.", parts.series
        )
    segment = ""
    if parts.segments:
        segment = "{" + ",".join(s.name for s in parts.segments) + "}"
    return f"{parts.series.name}{pkstr}{format_keyword_clause(parts.keywords)}{segment}"


def compile_query(
    query: Node | QueryTree, infos: SeriesLookup, *, merge: bool = False
) -> list[CompiledRecordSet]:
    """Validate and compile ``query``; one :class:`CompiledRecordSet` per branch (or merged)."""
    root = query.root if isinstance(query, QueryTree) else query
    lookup = series_lookup(infos)
    assert lookup is not None
    check(root, lookup)
    out: list[CompiledRecordSet] = []
    time_cache: dict[Time, str] = {}
    for branch in to_dnf(root):
        parts, _ = analyze_branch(branch)
        assert parts.series is not None
        info = lookup(parts.series.name)
        assert info is not None
        text = render_branch(parts, info, time_cache)
        out.append(
            CompiledRecordSet(
                record_set=text,
                series=parts.series.name,
                segments=_unique(s.name for s in parts.segments),
                notify=parts.notify.email if parts.notify is not None else None,
                nodes=branch.nodes,
                parts=(text,),
                process=parts.cutout.process() if parts.cutout is not None else None,
            )
        )
    if not out:
        raise QueryError("The query has no alternatives to compile.", root)
    return _merge(out) if merge else out


def record_sets(query: Node | QueryTree, infos: SeriesLookup, *, merge: bool = False) -> list[str]:
    """Just the strings of :func:`compile_query`."""
    return [c.record_set for c in compile_query(query, infos, merge=merge)]


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def _merge(items: list[CompiledRecordSet]) -> list[CompiledRecordSet]:
    groups: dict[tuple[str, str | None, str | None], list[CompiledRecordSet]] = {}
    for item in items:
        groups.setdefault((item.series.lower(), item.notify, item.process), []).append(item)
    out: list[CompiledRecordSet] = []
    for members in groups.values():
        parts = _unique(p for m in members for p in m.parts)
        first = members[0]
        out.append(
            CompiledRecordSet(
                record_set=",".join(parts),
                series=first.series,
                # a part without a segment list selects every segment
                segments=()
                if any(not m.segments for m in members)
                else _unique(s for m in members for s in m.segments),
                notify=first.notify,
                nodes=tuple(n for m in members for n in m.nodes),
                parts=parts,
                process=first.process,
            )
        )
    return out
