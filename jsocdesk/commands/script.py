"""``jsocdesk script SESSION.json --for drms|sunpy [--out FILE]``: the query as Python.

Writes a standalone script (:mod:`jsocdesk.core.script`) that searches the session's query,
prints the number of records found, exports them for the query's Notify address, waits and
downloads the files into the folder it is given: ``python script.py OUTDIR``.  It needs only
drms (``--for drms``) or sunpy (``--for sunpy``).

The series' prime-key order comes from the embedded demo catalogue (offline) unless
``--server URL`` names a JSOC-like server; that server is then also the script's default
(otherwise the real JSOC).  ``--merge`` joins OR branches on one series into one record set.
Errors: one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from jsocdesk.commands.search import fail, open_client

COMMAND = "script"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", type=Path, help="session file (.json)")
    parser.add_argument(
        "--for", dest="target", choices=("drms", "sunpy"), required=True, help="library"
    )
    parser.add_argument("--out", type=Path, default=None, help="write here (default: stdout)")
    parser.add_argument(
        "--server",
        metavar="URL",
        help="JSOC-like server: series metadata from it, and the script's default server",
    )
    parser.add_argument("--merge", action="store_true", help="merge OR branches on the same series")


async def _online_infos(query: object, url: str) -> dict[str, object]:
    from jsocdesk.core.jsoc.plan import fetch_series_infos, series_names

    async with open_client(url) as client:
        return dict(await fetch_series_infos(client, series_names(query)))  # type: ignore[arg-type]


def run(args: argparse.Namespace) -> int:
    from jsocdesk.core.atomic import atomic_write_text
    from jsocdesk.core.errors import JsocdeskError
    from jsocdesk.core.script import JSOC_URL, python_script
    from jsocdesk.core.session import load_session

    try:
        query = load_session(args.session).query
        if args.server:
            infos: object = asyncio.run(_online_infos(query, args.server))
        else:
            from jsocdesk.demo.series import series_info

            infos = series_info
        text = python_script(
            query,
            infos,  # type: ignore[arg-type]
            args.target,
            merge=args.merge,
            server=args.server or JSOC_URL,
            source=args.session.name,
        )
        if args.out is None:
            sys.stdout.write(text)
        else:
            atomic_write_text(args.out, text)
    except JsocdeskError as exc:
        from jsocdesk.commands.recordset import _describe

        return fail(COMMAND, _describe(exc))
    except OSError as exc:
        return fail(COMMAND, f"cannot write {args.out}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        return fail(COMMAND, "interrupted")
    return 0
