"""The campaign behind ``jsocdesk fetch``: plan, guard, export chunk by chunk, download.

Thin over :mod:`jsocdesk.core.campaign.workflow`: the record sets of the session's query
(with the automatic export method of each) are planned — one export when they fit the
server's caps, chunks on time boundaries when not — and the plan is printed first.  Above
the guard's threshold the plan must be confirmed: a question on a terminal, ``--yes``
otherwise.  The campaign's state is saved in the data dir (one file per record sets,
address and folder) after every change, so a killed ``fetch`` run again continues where it
stopped.  Chunk changes are printed as lines on stderr, the downloads as the progress bar.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

from jsocdesk.commands.search import fail, load_session_file


async def _blocks(client: Any, args: argparse.Namespace) -> tuple[list[Any], str] | int:
    """The session's record sets as campaign blocks (the core's export plan: count,
    metadata, segments, method and its size estimate) and the address to use, or an exit
    status."""
    from jsocdesk.commands.export import checked_address, session_plan
    from jsocdesk.core.campaign.workflow import blocks_of_plan

    plan = await session_plan(client, load_session_file(args.session), args)
    email = await checked_address(client, plan, args, "fetch")
    if isinstance(email, int):
        return email
    blocks = blocks_of_plan(plan.entries)
    return blocks, email


def _report_waits(job: Any) -> None:
    """Each chunk's export says on stderr why it waits (the export command's reporter)."""
    from jsocdesk.commands.export import _WaitReporter

    job.changed.connect(_WaitReporter())


def _confirm(lines: list[str], yes: bool) -> bool | None:
    """True to go on, False when the user said no, None when not interactive."""
    if yes:
        return True
    if not sys.stdin.isatty():
        return None
    sys.stderr.write("This is a big request. Submit it? [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


class ChunkLog:
    """Prints a line on stderr when a chunk changes state (or the chunks are re-cut)."""

    def __init__(self, campaign: Any, bar: Any) -> None:
        self.campaign = campaign
        self.bar = bar
        self._seen: dict[str, str] = {}

    def __call__(self, chunk: Any) -> None:
        from jsocdesk.core.campaign.workflow import chunk_line

        if chunk is None:
            self._write(f"chunks re-cut to fit the server: {len(self.campaign.chunks)} exports")
            return
        if self._seen.get(chunk.id) == chunk.state.value:
            return
        self._seen[chunk.id] = chunk.state.value
        self._write(chunk_line(self.campaign, chunk))

    def _write(self, text: str) -> None:
        from jsocdesk.core.campaign.workflow import printable
        from jsocdesk.core.text import write_control

        if self.bar.tty:
            write_control(sys.stderr, "\r\x1b[K")  # our own erase-line, not server text
        sys.stderr.write(printable(text) + "\n")
        sys.stderr.flush()


async def fetch_campaign(args: argparse.Namespace, url: str | None) -> int:
    """``jsocdesk fetch``: see the module docstring."""
    from jsocdesk.commands.fetch import ProgressBar, parse_rate, report_downloads
    from jsocdesk.commands.search import open_client
    from jsocdesk.core.campaign import CampaignStore
    from jsocdesk.core.campaign.workflow import (
        campaign_name,
        confirm_needed,
        prepare_campaign,
        printable,
        run_campaign,
    )
    from jsocdesk.core.download import (
        Catalog,
        ConcurrencyLimits,
        DownloadEngine,
        DownloadQueue,
        DownloadState,
        EngineOptions,
        QueueStore,
    )
    from jsocdesk.core.jsoc.export import PollPolicy
    from jsocdesk.core.paths import AppPaths

    out = Path(args.out)  # resolved by the command before the loop starts
    data = AppPaths.from_environment().data
    async with open_client(url) as client:
        got = await _blocks(client, args)
        if isinstance(got, int):
            return got
        blocks, email = got
        store = CampaignStore.in_data_dir(
            data, campaign_name([b.recordset for b in blocks], email, out)
        )
        prepared = await prepare_campaign(client, blocks, email=email, folder=out, store=store)
        campaign = prepared.campaign
        if prepared.plan is not None:
            lines = prepared.plan.describe()
            for line in lines:
                sys.stderr.write(f"plan: {printable(line)}\n")
            if confirm_needed(prepared.plan):
                ok = _confirm(lines, args.yes)
                if ok is None:
                    return fail(
                        "fetch",
                        "the plan above is past the size/record threshold; run again with "
                        "--yes to submit it",
                    )
                if not ok:
                    return fail("fetch", "not submitted")
        else:
            t = campaign.totals()
            sys.stderr.write(
                f"continuing the saved campaign: {t.done} of {t.chunks} chunks done "
                f"({store.path})\n"
            )
        store.save(campaign)  # before anything is submitted: a kill now finds the plan

        tag = hashlib.sha1(str(out).encode("utf-8")).hexdigest()[:12]
        qstore = QueueStore.in_data_dir(data, f"fetch-{tag}.json")
        limits = ConcurrencyLimits(total=max(4, args.connections), per_host=args.connections)
        queue = DownloadQueue(qstore.load(), limits=limits, catalog=Catalog.in_data_dir(data))
        for item in queue:  # a rerun retries what failed last time
            if item.state is DownloadState.FAILED:
                queue.retry(item)
        partial = [
            it.part_path.stat().st_size
            for it in queue
            if it.state is DownloadState.QUEUED and it.part_path.exists()
        ]
        if partial:
            sys.stderr.write(
                f"found {len(partial)} partial files ({sum(partial) / 1e6:,.1f} MB): "
                "resuming them\n"
            )
        bandwidth = parse_rate(args.limit_rate) if args.limit_rate else None
        engine = DownloadEngine(
            queue, store=qstore, catalog=queue.catalog, options=EngineOptions(bandwidth=bandwidth)
        )
        bar = ProgressBar()
        queue.progressed.connect(bar.update)
        campaign.changed.connect(ChunkLog(campaign, bar))
        engine.start()
        try:
            campaign = await run_campaign(
                client,
                campaign,
                queue,
                out,
                store=store,
                policy=PollPolicy(first=args.poll, cap=max(args.poll, 30.0)),
                retry_delay=args.retry_delay,
                after_add=engine.save_now,
                on_job=_report_waits,
                retry_exports=False,  # a failed export ends in a clear error; rerun resumes
            )
        finally:
            await engine.aclose()
            bar.finish(queue.totals())
    if engine.save_error:  # e.g. a full disk under the data dir: a rerun may not resume
        sys.stderr.write(
            printable(f"warning: the download state was not saved: {engine.save_error}") + "\n"
        )
    failed_chunks = [c for c in campaign.chunks if c.state.value != "done"]
    unexported = [
        c
        for c in failed_chunks
        if c.job is None or not c.job.state.finished or c.job.state.value != "done"
    ]
    if unexported and not any(c.files_done for c in campaign.chunks):
        # nothing was downloaded: the export's own one-line error, exit status 2
        return fail("fetch", printable(unexported[0].error or "the export failed"))
    for c in failed_chunks:
        sys.stderr.write(
            printable(f"failed: chunk {c.recordset}: {c.error or c.state.value}") + "\n"
        )
    status = report_downloads(queue, out)
    return 1 if failed_chunks or status or engine.save_error else 0
