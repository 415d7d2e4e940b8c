"""``jsocdesk export SESSION.json --email ADDR``: stage an export and print its files.

Each record set of the session's query becomes one export (``--merge``, or a session saved
with "merge" on, joins OR branches on the same series into one).  The plan is the core's
(:func:`jsocdesk.core.workflow.make_export_plan`, what the window's Exports tab shows): the
method is chosen automatically (or as the session's user chose it) unless ``--method`` is
given: ``url``/``fits`` when FITS headers are wanted (default), ``url_quick``/``as-is``
with ``--raw``, ``url-tar`` for many small files.  Exports of the same address run one
after the other (JSOC allows one pending export per e-mail).  Prints, per export, a
``# <record set> -> <request id> (<method>/<protocol>)`` line and then one download URL per
line.  ``--plan`` prints the plan instead (record set, records, files, estimated bytes,
method/protocol and why; tab-separated) and submits nothing.  Errors: one line on stderr,
exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from jsocdesk.commands.search import (
    add_server_arguments,
    fail,
    load_session_file,
    open_client,
    run_with_server,
    say,
)

METHODS = ("auto", "url", "url_quick", "url-tar")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_server_arguments(parser)
    parser.add_argument(
        "--email",
        default=None,
        help="registered JSOC address (default: the session's e-mail, else its Notify)",
    )
    parser.add_argument("--method", choices=METHODS, default="auto", help="export method")
    parser.add_argument(
        "--raw", action="store_true", help="raw segment files (as-is), no FITS headers needed"
    )
    parser.add_argument(
        "--poll", type=float, default=2.0, help="first delay between status polls (seconds)"
    )
    parser.add_argument(
        "--plan",
        action="store_true",
        help="print the export plan (records, files, size estimate, method and why) and stop",
    )


async def session_plan(client: Any, session: Any, args: argparse.Namespace) -> Any:
    """The core's export plan of ``session`` (what the window's Exports tab shows).

    The session's own export options (merge, FITS headers, the user's method choices) apply
    unless the command line says otherwise (``--merge``, ``--raw``, ``--method``).
    """
    from jsocdesk.core.workflow import ExportMethod, make_export_plan
    from jsocdesk.core.workflow.session import parse_export_options

    recorded = bool(session.export)
    options = parse_export_options(session.export)
    headers = not args.raw and (options.headers if recorded else True)
    merge = args.merge or (options.merge if recorded else False)
    plan = await make_export_plan(
        client,
        session.query,
        merge=merge,
        headers=headers,
        overrides=options.methods if args.method == "auto" else None,
    )
    plan.raise_for_problem()
    if args.method != "auto":
        plan.force(ExportMethod(args.method), headers=headers)
    plan.email = options.email
    return plan


def plan_lines(plan: Any) -> list[str]:
    """One tab-separated line per export of ``plan``: record set, records, files, estimated
    bytes, method/protocol, and why."""
    lines = []
    for e in plan.entries:
        size = "?" if e.estimate.total_bytes is None else str(e.estimate.total_bytes)
        lines.append(
            f"{e.record_set}\t{e.count} records\t{e.estimate.files} files\t~{size} bytes\t"
            f"{e.method}/{e.protocol}\t{e.explanation}"
        )
    return lines


async def checked_address(
    client: Any, plan: Any, args: argparse.Namespace, command: str
) -> str | int:
    """The address to export with (``--email``, else the session's export e-mail, else the
    query's Notify), checked with JSOC; or the exit status after a one-line error."""
    email: str | None = args.email or plan.email or plan.notify
    if not email:
        return fail(
            command, "an e-mail address is needed: --email ADDR, or a session with an e-mail"
        )
    check = await client.check_email(email)
    if not check.registered:
        return fail(
            command,
            f"{email} is not registered with JSOC ({check.message}); register it at "
            "http://jsoc.stanford.edu/ajax/register_email.html",
        )
    return email


async def queue_exports(
    client: Any, session: Any, args: argparse.Namespace, command: str
) -> tuple[Any, list[Any]] | int:
    """Plan the exports of ``session`` (the core's export plan: the same methods, estimates
    and reasons as the window), check the address and queue one export per record set.

    The session's own export options (merge, FITS headers, the user's method choices, the
    e-mail) apply unless the command line says otherwise; the address is ``--email``, else
    the session's export e-mail, else the query's Notify.  Returns (the
    :class:`ExportQueue`, its jobs in order), or the exit status after a one-line error
    naming ``command``.
    """
    from jsocdesk.core.jsoc.export import ExportQueue, PollPolicy

    plan = await session_plan(client, session, args)
    email = await checked_address(client, plan, args, command)
    if isinstance(email, int):
        return email
    queue = ExportQueue(client, PollPolicy(first=args.poll, cap=max(args.poll, 30.0)))
    jobs = []
    for job in plan.jobs(email):
        job.changed.connect(_WaitReporter())  # the user sees why it waits
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


async def run_exports(
    client: Any,
    session: Any,
    args: argparse.Namespace,
    command: str,
    finished: Callable[[Any], None],
    describe: Callable[[Exception], str] = str,
) -> int:
    """Queue the exports of ``session`` (:func:`queue_exports`), wait for each in order and
    hand it to ``finished``; returns 0, or the exit status after a one-line error (the
    first failed export ends the command)."""
    from jsocdesk.core.errors import ExportFailed

    queued = await queue_exports(client, session, args, command)
    if isinstance(queued, int):
        return queued
    queue, jobs = queued
    try:
        for job in jobs:
            try:
                await queue.wait(job)
            except ExportFailed as exc:
                return fail(command, describe(exc))
            finished(job)
    finally:
        await queue.aclose()
    return 0


async def _export(args: argparse.Namespace, url: str | None) -> int:
    def show(job: Any) -> None:
        ident = job.requestid or "(immediate)"
        say(f"# {job.recordset} -> {ident} ({job.method}/{job.protocol})")
        for u in job.urls:
            say(u)

    session = load_session_file(args.session)
    async with open_client(url) as client:
        if args.plan:
            for line in plan_lines(await session_plan(client, session, args)):
                say(line)
            return 0
        return await run_exports(client, session, args, "export", show, _one_line)


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
