"""``jsocdesk search SESSION.json``: count and list the records a session's query selects.

For every record set the query compiles to, prints ``<record set>: <N> records`` and a
table of the first ``--limit`` rows.  ``--server URL`` talks to a JSOC-like server at URL,
``--demo`` starts the embedded demo server in-process for the duration of the command;
without either, the real JSOC.  Errors: one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

#: Columns shown when ``--keys`` is not given (sunpy's JSOC table), if the series has them.
DEFAULT_KEYS = ("T_REC", "TELESCOP", "INSTRUME", "WAVELNTH", "CAR_ROT")


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", type=Path, help="session file (.json)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--server", metavar="URL", help="base URL of a JSOC-like server")
    where.add_argument(
        "--demo", action="store_true", help="start the embedded demo server and use it"
    )
    parser.add_argument("--merge", action="store_true", help="merge OR branches on the same series")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_server_arguments(parser)
    parser.add_argument("--keys", default="", help="comma-separated keywords to show")
    parser.add_argument(
        "--limit", type=int, default=10, help="rows to print per record set (0 = none)"
    )


def say(text: str = "") -> None:
    from jsocdesk.core.text import clean

    sys.stdout.write(clean(text, limit=None, keep_newlines=True) + "\n")


def fail(command: str, message: str) -> int:
    from jsocdesk.core.text import clean

    sys.stderr.write(f"jsocdesk {command}: {clean(message)}\n")
    return 2


def load_session_file(path: Path) -> Any:
    """A session file (typed errors for unreadable/newer/corrupt files)."""
    from jsocdesk.core.session import load_session

    return load_session(path)


def load_query(path: Path) -> Any:
    """The query tree of a session file (typed errors for unreadable/newer/corrupt files)."""
    return load_session_file(path).query


@contextlib.contextmanager
def server_url(args: argparse.Namespace) -> Iterator[str | None]:
    """The base URL to use; ``--demo`` runs the demo server for the duration, on its
    persistent data directory (the window's demo uses the same one: the same files)."""
    if getattr(args, "demo", False):
        from jsocdesk.core.paths import AppPaths
        from jsocdesk.demo.config import DemoConfig
        from jsocdesk.demo.server import DemoServer

        data = AppPaths.from_environment().demo_data
        with DemoServer(DemoConfig(data_dir=data)) as demo:
            yield demo.base_url
    else:
        yield args.server


@contextlib.asynccontextmanager
async def open_client(url: str | None) -> AsyncIterator[Any]:
    from jsocdesk.core.jsoc.client import JsocClient, make_http_client
    from jsocdesk.core.jsoc.config import ServerConfig

    config = ServerConfig.from_spec(url)
    async with make_http_client(config) as http:
        yield JsocClient(config, http)


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = [
        " ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
        " ".join("-" * w for w in widths),
    ]
    lines += [" ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def default_keys(info: Any) -> list[str]:
    """Prime keys then sunpy's usual columns, those the series has (``*recnum*`` if none)."""
    if info is None:
        return ["*recnum*"]
    names = dict.fromkeys([*info.primekeys, *DEFAULT_KEYS])
    return [k for k in names if info.keyword(k) is not None] or ["*recnum*"]


async def _search(args: argparse.Namespace, url: str | None) -> int:
    from jsocdesk.core.jsoc.plan import compile_for_server
    from jsocdesk.core.results.resultset import ResultSet

    query = load_query(args.session)
    wanted = [k for k in (p.strip() for p in args.keys.split(",")) if k]
    total = 0
    async with open_client(url) as client:
        compiled, infos = await compile_for_server(client, query, merge=args.merge)
        for block in compiled:
            info = infos.get(block.series.lower())
            keys = wanted or default_keys(info)
            rs = ResultSet(
                client, block.record_set, keys, page_size=max(args.limit, 1), series=info
            )
            count = await rs.fetch_count()
            total += count
            say(f"{block.record_set}: {count} records")
            if args.limit > 0 and count > 0:
                await rs.fetch_next(min(args.limit, count))
                rows = [rs.row_texts(i) for i in range(min(args.limit, rs.loaded))]
                say(format_table(rs.column_names, rows))
                if count > len(rows):
                    say(f"... {count - len(rows)} more")
            say()
    if len(compiled) > 1:
        say(f"total: {total} records in {len(compiled)} record sets")
    return 0


def run_with_server(
    command: str,
    args: argparse.Namespace,
    main: Callable[[argparse.Namespace, str | None], Coroutine[Any, Any, int]],
    describe: Callable[[Exception], str] = str,
) -> int:
    """``asyncio.run(main(args, url))`` with the server ``args`` name; typed errors and
    Ctrl-C become one line on stderr and exit status 2."""
    from jsocdesk.core.errors import JsocdeskError

    try:
        with server_url(args) as url:
            return asyncio.run(main(args, url))
    except JsocdeskError as exc:
        return fail(command, describe(exc))
    except KeyboardInterrupt:
        return fail(command, "interrupted")


def run(args: argparse.Namespace) -> int:
    return run_with_server("search", args, _search)
