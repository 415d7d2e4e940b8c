"""``jsocdesk export SESSION.json --email ADDR``: stage an export and print its files.

Each record set of the session's query becomes one export (``--merge`` joins OR branches
on the same series into one).  The method is chosen automatically unless ``--method`` is
given: ``url``/``fits`` when FITS headers are wanted (default), ``url_quick``/``as-is``
with ``--raw``, ``url-tar`` for many small files.  Exports of the same address run one
after the other (JSOC allows one pending export per e-mail).  Prints, per export, a
``# <record set> -> <request id> (<method>/<protocol>)`` line and then one download URL per
line.  Errors: one line on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from jsocdesk.commands.search import (
    add_server_arguments,
    fail,
    load_query,
    open_client,
    run_with_server,
    say,
)

METHODS = ("auto", "url", "url_quick", "url-tar")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_server_arguments(parser)
    parser.add_argument(
        "--email", default=None, help="registered JSOC address (default: the query's Notify)"
    )
    parser.add_argument("--method", choices=METHODS, default="auto", help="export method")
    parser.add_argument(
        "--raw", action="store_true", help="raw segment files (as-is), no FITS headers needed"
    )
    parser.add_argument(
        "--poll", type=float, default=2.0, help="first delay between status polls (seconds)"
    )


def _notify_of(compiled: Any) -> str | None:
    for block in compiled:
        if block.notify:
            return str(block.notify)
    return None


async def queue_exports(
    client: Any, query: Any, args: argparse.Namespace, command: str
) -> tuple[Any, list[Any]] | int:
    """Compile ``query`` against the server, check the address and queue one export per
    record set (``--method auto``: chosen per record set from its count and file sizes).

    Returns (the :class:`ExportQueue`, its jobs in order), or the exit status after a
    one-line error naming ``command``.
    """
    from jsocdesk.core.jsoc.export import ExportJob, ExportQueue, PollPolicy, auto_method
    from jsocdesk.core.jsoc.plan import compile_for_server

    compiled, infos = await compile_for_server(client, query, merge=args.merge)
    email = args.email or _notify_of(compiled)
    if not email:
        return fail(command, "an e-mail address is needed: --email ADDR or a Notify node")
    check = await client.check_email(email)
    if not check.registered:
        return fail(
            command,
            f"{email} is not registered with JSOC ({check.message}); register it at "
            "http://jsoc.stanford.edu/ajax/register_email.html",
        )
    queue = ExportQueue(client, PollPolicy(first=args.poll, cap=max(args.poll, 30.0)))
    jobs: list[ExportJob] = []
    for block in compiled:
        info = infos.get(block.series.lower())
        if args.method == "auto":
            choice = await auto_method(
                client, block.record_set, headers=not args.raw, segments=block.segments, series=info
            )
            method, protocol = choice.method, choice.protocol
        else:
            method, protocol = args.method, ("as-is" if args.raw else "fits")
        job = ExportJob(block.record_set, email, method=method, protocol=protocol, series=info)
        job.changed.connect(_WaitReporter())
        jobs.append(queue.add(job))
    return queue, jobs


class _WaitReporter:
    """One stderr line each time the reason an export waits changes (the user sees why)."""

    def __init__(self) -> None:
        self._last = ""

    def __call__(self, job: Any) -> None:
        if job.state.finished or (job.state.value == "new" and not job.note):
            return
        text = job.note or job.status_text
        if text != self._last:
            self._last = text
            ident = job.requestid or "(submitting)"
            sys.stderr.write(f"export {ident}: {text}\n")


async def _export(args: argparse.Namespace, url: str | None) -> int:
    from jsocdesk.core.errors import ExportFailed

    query = load_query(args.session)
    async with open_client(url) as client:
        queued = await queue_exports(client, query, args, "export")
        if isinstance(queued, int):
            return queued
        queue, jobs = queued
        try:
            for job in jobs:
                try:
                    urls = await queue.wait(job)
                except ExportFailed as exc:
                    return fail("export", _one_line(exc))
                ident = job.requestid or "(immediate)"
                say(f"# {job.recordset} -> {ident} ({job.method}/{job.protocol})")
                for u in urls:
                    say(u)
        finally:
            await queue.aclose()
    return 0


def _one_line(exc: Exception) -> str:
    from jsocdesk.core.jsoc.export import ExportTooLarge

    if isinstance(exc, ExportTooLarge):
        head = str(exc).splitlines()[0]
        if exc.split:
            return f"{head} Suggested parts: " + " | ".join(exc.split)
        return head
    return str(exc)


def run(args: argparse.Namespace) -> int:
    return run_with_server("export", args, _export, describe=_one_line)
