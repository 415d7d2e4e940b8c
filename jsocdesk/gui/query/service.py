"""The query core as the GUI calls it: fetch the metadata a tree needs, validate, compile,
parse, count.  Async where the client is involved; everything else is the core's."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

from jsocdesk.core.errors import QueryError
from jsocdesk.core.jsoc.client import JsocClient
from jsocdesk.core.jsoc.plan import fetch_series_infos
from jsocdesk.core.query.compile import CompiledRecordSet, compile_query
from jsocdesk.core.query.parse import parse_query
from jsocdesk.core.query.syntax import parse_record_sets
from jsocdesk.core.query.tree import Node, Series
from jsocdesk.core.query.validate import validate
from jsocdesk.core.seriesinfo import SeriesInfo
from jsocdesk.core.workflow.plan import estimate_compiled


def series_names(root: Node) -> list[str]:
    return list(dict.fromkeys(n.name for n in root.walk() if isinstance(n, Series)))


async def fetch_infos(client: JsocClient, names: list[str]) -> dict[str, SeriesInfo]:
    """Metadata of every named series the server knows (the core's look-up: a series the
    server answers "does not exist" for is left out and the validator reports it on its
    node; a network failure propagates and is shown as one)."""
    return await fetch_series_infos(client, names)


@dataclass
class QueryCheck:
    """What the app knows about the current tree after metadata arrived."""

    errors: list[QueryError] = field(default_factory=list)
    compiled: list[CompiledRecordSet] = field(default_factory=list)
    infos: Mapping[str, SeriesInfo] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.compiled)

    @property
    def text(self) -> str:
        return ",".join(c.record_set for c in self.compiled)


def check_query(root: Node, infos: Mapping[str, SeriesInfo] | None) -> QueryCheck:
    """Validate (against ``infos`` when known) and compile; without metadata only the
    structural rules run and nothing is compiled (the prime-key order is unknown)."""
    errors = validate(root, infos)
    if errors or infos is None:
        return QueryCheck(errors=errors, infos=infos or {})
    try:
        compiled = compile_query(root, infos)
    except QueryError as exc:
        return QueryCheck(errors=[exc], infos=infos)
    return QueryCheck(compiled=compiled, infos=infos)


def record_set_series(text: str) -> list[str]:
    """Series named in a record-set string (raises :class:`RecordSetSyntaxError`)."""
    return list(dict.fromkeys(spec.series for spec in parse_record_sets(text)))


def parse_text(text: str, infos: Mapping[str, SeriesInfo]) -> Node:
    """A record-set string → query tree, with the series' metadata for positional keys."""
    return parse_query(text, infos)


@dataclass(frozen=True)
class CountResult:
    total: int
    per_record_set: tuple[int, ...]
    estimated_bytes: int


async def count_records(client: JsocClient, check: QueryCheck) -> CountResult:
    """Count every record set; the size is the core's estimate (the same as the export
    plan's)."""
    counts = await asyncio.gather(*(client.count(c.record_set) for c in check.compiled))
    size = estimate_compiled(check.compiled, check.infos, counts)
    return CountResult(sum(counts), tuple(counts), size)
