"""Validation of a query tree, branch by branch, optionally against series metadata.

:func:`validate` returns *all* problems as :class:`~jsocdesk.core.errors.QueryError` values
(each with ``.node`` = the node to mark in the GUI, deduplicated across branches);
:func:`check` raises the first one.  Without series metadata only the structural rules run;
with it (a mapping ``name → SeriesInfo``, an iterable of ``SeriesInfo`` or a look-up
callable; names match case-insensitively) the prime keys, segments, keywords and
wavelength support are checked too.

Messages reproduce sunpy's ``JSOCClient`` word for word where sunpy has one (protocol
§4.3), in sunpy's order of checks.  Rules sunpy lacks, all reported instead of silently
producing a surprising record set:

* one ``Series``/``Time``/``Wavelength``/``Sample``/``Notify`` per branch, and no prime key
  given twice with different values (use OR for alternatives);
* a ``Sample`` needs a ``Time`` in its branch (sunpy ignores it otherwise);
* ``Time`` on a series without a time-type prime key (sunpy drops it and selects all);
* empty groups, and series the metadata does not know.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsocdesk.core.errors import QueryError
from jsocdesk.core.query.dnf import Branch, to_dnf
from jsocdesk.core.query.tree import (
    And,
    Cutout,
    Group,
    Keyword,
    Node,
    Notify,
    PrimeKey,
    QueryTree,
    Sample,
    Segment,
    Series,
    Time,
    Wavelength,
)
from jsocdesk.core.seriesinfo import SeriesInfo, find_named

__all__ = [
    "PRIMEKEY_LIST_TIME",
    "BranchParts",
    "SeriesLookup",
    "analyze_branch",
    "check",
    "is_time_primekey",
    "series_lookup",
    "validate",
    "validate_branch",
]

#: sunpy's list of time-type prime-key names (used when the metadata does not say).
PRIMEKEY_LIST_TIME = frozenset(
    {
        "T_START",
        "T_REC",
        "T_OBS",
        "MidTime",
        "OBS_DATE",
        "obsdate",
        "DATE_OBS",
        "starttime",
        "stoptime",
        "UTC_StartTime",
    }
)
_TIME_NAMES_LOWER = frozenset(n.lower() for n in PRIMEKEY_LIST_TIME)

SeriesLookup = Mapping[str, SeriesInfo] | Iterable[SeriesInfo] | Callable[[str], SeriesInfo | None]

MSG_NO_SERIES = "Series must be specified for a JSOC Query"
MSG_NO_PRIMEKEY = "Time, Wavelength or an explicit PrimeKey must be specified."
MSG_TIME_BOTH = (
    "Time attribute has been passed both as a Time() and PrimeKey(). Please provide any one "
    "of them or separate them by OR operator."
)
MSG_WAVELENGTH_BOTH = (
    "Wavelength attribute has been passed both as a Wavelength() and PrimeKey(). Please "
    "provide any one of them or separate them by OR operator."
)
MSG_MANY_TIME_KEYS = (
    "Querying of series, having more than 1 Time-type prime-keys is not yet supported. "
    "Alternative is to use only one of the primekey to query for series data."
)
MSG_WAVELENGTH_RANGE = "For JSOC queries Wavelength.min must equal Wavelength.max"


def series_lookup(infos: SeriesLookup | None) -> Callable[[str], SeriesInfo | None] | None:
    """Normalise the accepted metadata forms into a case-insensitive look-up function.

    A callable may return ``None`` or raise :class:`KeyError` for an unknown series; its
    answers are memoised for the life of the returned function (one validate/compile).
    """
    if infos is None:
        return None
    if isinstance(infos, Mapping):
        table = {str(k).lower(): v for k, v in infos.items()}
        return lambda name: table.get(name.lower())
    if callable(infos):
        fn = infos
        memo: dict[str, SeriesInfo | None] = {}

        def call(name: str) -> SeriesInfo | None:
            key = name.lower()
            if key not in memo:
                try:
                    memo[key] = fn(name)
                except KeyError:  # look-ups like jsocdesk.demo.series.series_info raise it
                    memo[key] = None
            return memo[key]

        return call
    by_name = {info.name.lower(): info for info in infos}
    return lambda name: by_name.get(name.lower())


def is_time_primekey(name: str, info: SeriesInfo | None) -> bool:
    """Whether prime key ``name`` is time-typed: the metadata says so, else sunpy's list."""
    if info is not None:
        kw = info.keyword(name)
        if kw is not None:
            return kw.is_time
    return name.lower() in _TIME_NAMES_LOWER


@dataclass
class BranchParts:
    """The leaves of one branch sorted by kind (the first of each single-valued kind)."""

    branch: Branch
    series: Series | None = None
    time: Time | None = None
    wavelength: Wavelength | None = None
    sample: Sample | None = None
    notify: Notify | None = None
    cutout: Cutout | None = None
    primekeys: list[PrimeKey] = field(default_factory=list)
    keywords: list[Keyword] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)

    def primekey(self, name: str) -> PrimeKey | None:
        return find_named(self.primekeys, name, lambda pk: pk.name)


def _itself(node: Node) -> object:
    return node


#: Kinds a branch holds once: node type -> (BranchParts field, what must agree, message).
_ONCE_PER_BRANCH: dict[type[Node], tuple[str, Callable[[Any], object], str]] = {
    Series: (
        "series",
        lambda node: node.name.lower(),
        "Only one Series can be given in a branch; separate several series by OR.",
    ),
    Time: (
        "time",
        _itself,
        "Only one Time can be given in a branch; separate several time ranges by OR.",
    ),
    Wavelength: (
        "wavelength",
        _itself,
        "Only one Wavelength can be given in a branch; separate several wavelengths by OR.",
    ),
    Sample: ("sample", _itself, "Only one Sample can be given in a branch."),
    Notify: ("notify", lambda node: node.email, "Only one Notify e-mail can be given in a branch."),
    Cutout: ("cutout", _itself, "Only one Cutout can be given in a branch."),
}


def analyze_branch(branch: Branch) -> tuple[BranchParts, list[QueryError]]:
    """Sort a branch's leaves by kind; report structural problems (duplicates, bare keys)."""
    parts = BranchParts(branch)
    errors: list[QueryError] = []
    for node in branch.nodes:
        if isinstance(node, Wavelength) and node.min_angstrom != node.max_angstrom:
            errors.append(QueryError(MSG_WAVELENGTH_RANGE, node))
        once = _ONCE_PER_BRANCH.get(type(node))
        if once is not None:
            attr, identity, message = once
            held = getattr(parts, attr)
            if held is None:
                setattr(parts, attr, node)
            elif identity(held) != identity(node):
                errors.append(QueryError(message, node))
        elif isinstance(node, PrimeKey):
            same = parts.primekey(node.name)
            if same is None:
                parts.primekeys.append(node)
            elif same.value != node.value:
                errors.append(
                    QueryError(
                        f"PrimeKey '{node.name}' is given twice in one branch; "
                        "separate several values by OR.",
                        node,
                    )
                )
        elif isinstance(node, Keyword):
            if node.op is None:
                errors.append(
                    QueryError(
                        f"Keyword '{node.name}' needs to have a comparison to a value.", node
                    )
                )
            else:
                parts.keywords.append(node)
        elif isinstance(node, Segment):
            parts.segments.append(node)
    return parts, errors


def validate_branch(
    parts: BranchParts, lookup: Callable[[str], SeriesInfo | None] | None
) -> list[QueryError]:
    """Metadata and combination rules for one analysed branch (sunpy's order of checks)."""
    errors: list[QueryError] = []
    series = parts.series
    if series is None:
        return [QueryError(MSG_NO_SERIES, parts.branch.blame)]
    info: SeriesInfo | None = None
    if lookup is not None:
        info = lookup(series.name)
        if info is None:
            return [QueryError(f"Series '{series.name}' does not exist.", series)]
    name = series.name
    if info is not None:
        pkeys = list(info.primekeys)
        for pk in parts.primekeys:
            if info.primekey(pk.name) is None:
                errors.append(
                    QueryError(
                        f"Unexpected PrimeKeys were passed. The series {name} supports the "
                        f"following Keywords: {pkeys}",
                        pk,
                    )
                )
        if parts.wavelength is not None and info.primekey("WAVELNTH") is None:
            errors.append(
                QueryError(
                    f"The series {name} does not support wavelength attribute. "
                    f"The following primekeys are supported {pkeys}",
                    parts.wavelength,
                )
            )
        segs = info.segment_names
        for seg in parts.segments:
            if info.segment(seg.name) is None:
                errors.append(
                    QueryError(
                        f"Unexpected Segments were passed. The series {name} contains the "
                        f"following Segments {segs}",
                        seg,
                    )
                )
    time_pks = [pk for pk in parts.primekeys if is_time_primekey(pk.name, info)]
    if parts.time is not None:
        errors.extend(QueryError(MSG_TIME_BOTH, pk) for pk in time_pks)
        if info is not None and not any(is_time_primekey(p, info) for p in info.primekeys):
            errors.append(
                QueryError(
                    f"The series {name} has no time-type prime key, so Time cannot be "
                    f"applied. The following primekeys are supported {list(info.primekeys)}",
                    parts.time,
                )
            )
    elif len(time_pks) > 1:
        errors.append(QueryError(MSG_MANY_TIME_KEYS, time_pks[1]))
    wl_pk = parts.primekey("WAVELNTH")
    if parts.wavelength is not None and wl_pk is not None and wl_pk.value:
        errors.append(QueryError(MSG_WAVELENGTH_BOTH, wl_pk))
    if not _has_primekey_value(parts, info):
        errors.append(QueryError(MSG_NO_PRIMEKEY, series))
    if info is not None:
        for kw in parts.keywords:
            if info.keyword(kw.name) is None:
                errors.append(
                    QueryError(f"Keyword: '{kw.name}' is not supported by series: {name}", kw)
                )
    if parts.sample is not None and parts.time is None:
        errors.append(
            QueryError(
                "Sample needs a Time in the same branch (it sets the cadence of the time range).",
                parts.sample,
            )
        )
    return errors


def _has_primekey_value(parts: BranchParts, info: SeriesInfo | None) -> bool:
    """Whether sunpy's prime-key string would be non-empty (its last prime-key check)."""
    if info is not None and not info.primekeys:
        return False
    if parts.time is not None or parts.wavelength is not None:
        return True
    for pk in parts.primekeys:
        special = pk.name.upper() == "WAVELNTH" or is_time_primekey(pk.name, info)
        if pk.value or not special:
            return True
    return False


def _empty_groups(node: Node, is_root: bool) -> list[QueryError]:
    out: list[QueryError] = []
    if isinstance(node, Group):
        if not node.children:
            if is_root:
                out.append(QueryError("The query is empty: add a Series and a Time.", node))
            else:
                kind = "AND" if isinstance(node, And) else "OR"
                out.append(QueryError(f"Empty {kind} group: add nodes to it or remove it.", node))
        for child in node.children:
            out.extend(_empty_groups(child, False))
    return out


def validate(query: Node | QueryTree, infos: SeriesLookup | None = None) -> list[QueryError]:
    """All problems of ``query`` (empty list when it compiles)."""
    root = query.root if isinstance(query, QueryTree) else query
    errors = _empty_groups(root, True)
    if errors:
        return errors
    try:
        branches = to_dnf(root)
    except QueryError as exc:
        return [exc]
    lookup = series_lookup(infos)
    seen: set[tuple[str, int | None]] = set()
    out: list[QueryError] = []
    for branch in branches:
        parts, problems = analyze_branch(branch)
        problems.extend(validate_branch(parts, lookup))
        for err in problems:
            key = (err.message, getattr(err.node, "id", None))
            if key not in seen:
                seen.add(key)
                out.append(err)
    return out


def check(query: Node | QueryTree, infos: SeriesLookup | None = None) -> None:
    """Raise the first problem of ``query`` as :class:`QueryError`."""
    errors = validate(query, infos)
    if errors:
        raise errors[0]
