"""Query tree → record sets for one server: validate, fetch series metadata, compile.

Structural problems (no series, a sample without time, …) are reported before any request;
then the ``series_struct`` of every series the query names is fetched (concurrently, through
the client's cache) and the tree is validated against it and compiled by the query core's
compiler.  Only then does anything ask for records.
"""

from __future__ import annotations

import asyncio

from jsocdesk.core.errors import ServerError
from jsocdesk.core.jsoc.client import JsocClient
from jsocdesk.core.jsoc.links import follow_segment_links
from jsocdesk.core.query.compile import CompiledRecordSet, compile_query
from jsocdesk.core.query.dnf import to_dnf
from jsocdesk.core.query.tree import Node, QueryTree
from jsocdesk.core.query.validate import analyze_branch, check
from jsocdesk.core.seriesinfo import SeriesInfo


def series_names(query: Node | QueryTree) -> list[str]:
    """The series the branches of ``query`` name, in order, without duplicates."""
    root = query.root if isinstance(query, QueryTree) else query
    seen: dict[str, str] = {}
    for branch in to_dnf(root):
        parts, _ = analyze_branch(branch)
        if parts.series is not None:
            seen.setdefault(parts.series.name.lower(), parts.series.name)
    return list(seen.values())


async def fetch_series_infos(client: JsocClient, names: list[str]) -> dict[str, SeriesInfo]:
    """``series_struct`` of each name, linked segments sized by what they link to
    (:func:`~jsocdesk.core.jsoc.links.follow_segment_links`); series the server does not
    know are left out (the validator then reports them on their node)."""

    async def one(name: str) -> SeriesInfo | None:
        try:
            info = await client.series_info(name)
        except ServerError:
            return None
        return await follow_segment_links(client, info)

    infos = await asyncio.gather(*(one(n) for n in names))
    return {n.lower(): i for n, i in zip(names, infos, strict=True) if i is not None}


async def compile_for_server(
    client: JsocClient, query: Node | QueryTree, *, merge: bool = False
) -> tuple[list[CompiledRecordSet], dict[str, SeriesInfo]]:
    """Validate and compile ``query`` against the server's metadata.

    Returns the compiled record sets and the metadata used (keyed by lower-cased name).
    Raises :class:`~jsocdesk.core.errors.QueryError` (pointing at the node) before any
    record is requested.
    """
    check(query)  # structure first: no request for a query that cannot compile anyway
    infos = await fetch_series_infos(client, series_names(query))
    return compile_query(query, infos, merge=merge), infos
