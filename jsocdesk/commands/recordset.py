"""``jsocdesk recordset SESSION.json``: print the record sets a session's query compiles to.

One record set per line on stdout, in branch order (``--merge`` joins OR branches on the
same series into one comma-separated record set).  Compiling needs each series' prime-key
order: by default it comes from the embedded demo catalogue (offline, no server started);
``--server URL`` asks a JSOC-like server (``series_struct``) instead.

Invalid input (unreadable or corrupt session, a query that does not validate) prints one
line ``jsocdesk recordset: <message>`` on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from jsocdesk.commands.search import fail, open_client
from jsocdesk.core.errors import JsocdeskError, QueryError
from jsocdesk.core.query.compile import CompiledRecordSet, compile_query
from jsocdesk.core.query.tree import Node

COMMAND = "recordset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", type=Path, help="session file (.json)")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="merge OR branches on the same series into one comma-separated record set",
    )
    parser.add_argument(
        "--server",
        metavar="URL",
        help="take series metadata from this JSOC-like server instead of the demo catalogue",
    )


def _describe(exc: JsocdeskError) -> str:
    if isinstance(exc, QueryError) and isinstance(exc.node, Node):
        return f"{exc.message} (at {exc.node.describe()})"
    return str(exc)


def compile_offline(query: Node, *, merge: bool) -> list[CompiledRecordSet]:
    """Compile against the demo catalogue's series metadata."""
    from jsocdesk.demo.series import series_info

    return compile_query(query, series_info, merge=merge)


async def compile_online(query: Node, url: str, *, merge: bool) -> list[CompiledRecordSet]:
    from jsocdesk.core.jsoc.plan import compile_for_server

    async with open_client(url) as client:
        compiled, _ = await compile_for_server(client, query, merge=merge)
    return compiled


def run(args: argparse.Namespace) -> int:
    from jsocdesk.core.session import load_session

    try:
        query = load_session(args.session).query
        if args.server:
            compiled = asyncio.run(compile_online(query, args.server, merge=args.merge))
        else:
            compiled = compile_offline(query, merge=args.merge)
    except JsocdeskError as exc:
        return fail(COMMAND, _describe(exc))
    except KeyboardInterrupt:
        return fail(COMMAND, "interrupted")
    for item in compiled:
        sys.stdout.write(item.record_set + "\n")
    return 0
