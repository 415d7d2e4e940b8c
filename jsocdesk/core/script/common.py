"""What both script flavours share: the plan of a query, literal and comment helpers.

Everything that comes from a session (series names, keyword values, e-mail addresses) is
written into the script as a Python literal (``repr``) or as sanitised comment text, so a
hostile session cannot add code to the script it generates.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from jsocdesk.core.query.compile import CompiledRecordSet, compile_query
from jsocdesk.core.query.dnf import to_dnf
from jsocdesk.core.query.tree import Group, Node, QueryTree
from jsocdesk.core.query.validate import BranchParts, SeriesLookup, analyze_branch, series_lookup

__all__ = [
    "JSOC_URL",
    "TARGETS",
    "Branch",
    "ScriptPlan",
    "ScriptTarget",
    "comment",
    "plan_script",
    "py_number",
    "py_str",
    "py_strs",
]

#: The real JSOC: the server a generated script talks to unless told otherwise.
JSOC_URL = "http://jsoc.stanford.edu/"

ScriptTarget = Literal["drms", "sunpy"]
TARGETS: tuple[ScriptTarget, ...] = ("drms", "sunpy")

#: Longest comment line taken from session text (the rest is cut with an ellipsis).
MAX_COMMENT = 160


@dataclass(frozen=True)
class Branch:
    """One OR branch of the query: its parts and the record set it compiles to."""

    parts: BranchParts
    record_set: str
    primekeys: tuple[str, ...]


@dataclass(frozen=True)
class ScriptPlan:
    """Everything a script needs, computed once from the query and the series metadata.

    ``exports`` are the record sets to search and export (merged when asked); ``branches``
    the unmerged DNF branches (sunpy expresses each as one alternative); ``email`` the first
    Notify address of the query (``None`` without one) and ``emails`` all of them.
    """

    exports: tuple[CompiledRecordSet, ...]
    branches: tuple[Branch, ...]
    keys: Mapping[str, tuple[str, ...]]
    email: str | None
    emails: tuple[str, ...]
    merged: bool
    server: str

    def keys_of(self, block: CompiledRecordSet) -> tuple[str, ...]:
        return self.keys.get(block.series.lower(), ("*recnum*",))

    @property
    def merges_branches(self) -> bool:
        """Whether merging joined at least two branches into one record set."""
        return any(len(b.parts) > 1 for b in self.exports)


def plan_script(
    query: Node | QueryTree,
    infos: SeriesLookup,
    *,
    merge: bool = False,
    server: str = JSOC_URL,
) -> ScriptPlan:
    """Validate and compile ``query``; raises :class:`~jsocdesk.core.errors.QueryError`."""
    root: Node = query.root if isinstance(query, QueryTree) else query
    if not isinstance(root, Group):
        from jsocdesk.core.query.tree import And

        root = And(root)
    lookup = series_lookup(infos)
    assert lookup is not None
    unmerged = compile_query(root, lookup)
    exports = compile_query(root, lookup, merge=True) if merge else unmerged
    keys: dict[str, tuple[str, ...]] = {}
    branches: list[Branch] = []
    for dnf_branch, block in zip(to_dnf(root), unmerged, strict=True):
        parts, _ = analyze_branch(dnf_branch)
        info = lookup(block.series)
        assert info is not None
        primekeys = tuple(info.primekeys) or ("*recnum*",)
        keys.setdefault(block.series.lower(), primekeys)
        branches.append(Branch(parts, block.record_set, primekeys))
    emails = tuple(dict.fromkeys(b.notify for b in unmerged if b.notify))
    return ScriptPlan(
        exports=tuple(exports),
        branches=tuple(branches),
        keys=keys,
        email=emails[0] if emails else None,
        emails=emails,
        merged=merge,
        server=server,
    )


def comment(text: str, limit: int = MAX_COMMENT) -> str:
    """``text`` made safe for one ``#`` comment line: printable, one line, bounded."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    clean = " ".join(clean.split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def py_str(text: str) -> str:
    """A double-quoted Python string literal for any text (JSON's escapes are Python's)."""
    return json.dumps(str(text))


def py_strs(items: Iterable[str]) -> str:
    return "[" + ", ".join(py_str(i) for i in items) + "]"


def py_number(value: float) -> str:
    """A float as a short Python literal (``10`` for 10.0, ``30.4``)."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))
