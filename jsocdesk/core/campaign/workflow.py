"""A campaign from a query's record sets to files in a folder: what ``jsocdesk fetch`` and
the window both run.

:func:`prepare_campaign` plans the record sets (or finds the saved campaign of the same
record sets, address and folder, to continue it); :func:`confirm_needed` applies the guard;
:func:`run_campaign` runs it with a :class:`~jsocdesk.core.download.DownloadQueue` whose
engine the caller runs, saving the state after every change.  :func:`chunk_line` is the
one-line description of a chunk both front ends show.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from jsocdesk.core.campaign.files import QueueDownloader
from jsocdesk.core.campaign.plan import Block, CampaignPlan, Guard, Throughput, plan_campaign
from jsocdesk.core.campaign.runner import CampaignRunner, Saver, store_saver
from jsocdesk.core.campaign.split import Caps
from jsocdesk.core.campaign.state import Campaign, CampaignStore, Chunk, ChunkState
from jsocdesk.core.download.queue import DownloadQueue
from jsocdesk.core.errors import JsocError
from jsocdesk.core.jsoc.client import JsocClient, series_name_of
from jsocdesk.core.jsoc.config import is_loopback_url
from jsocdesk.core.jsoc.export import ExportJob, ExportQueue, PollPolicy, size_limit_mb
from jsocdesk.core.text import clean


def campaign_name(source: Sequence[str], email: str, folder: Path | str) -> str:
    """A stable file name for the campaign of these record sets, address and folder."""
    key = json.dumps([list(source), email.strip().lower(), str(folder)])
    return "fetch-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


@dataclass
class Prepared:
    campaign: Campaign
    #: the new plan (``None`` when a saved campaign is continued)
    plan: CampaignPlan | None

    @property
    def resumed(self) -> bool:
        return self.plan is None


async def prepare_campaign(
    client: JsocClient,
    blocks: Sequence[Block],
    *,
    email: str,
    folder: Path,
    store: CampaignStore | None = None,
    method: str = "url",
    protocol: str = "fits",
    caps: Caps | None = None,
    throughput: Throughput | None = None,
) -> Prepared:
    """The campaign to run: the saved one in ``store`` if it covers the same record sets
    for the same address and folder, else a new one from a fresh plan."""
    source = [b.recordset for b in blocks]
    if store is not None:
        saved = store.load()
        if (
            saved is not None
            and saved.source == source
            and saved.email.lower() == email.lower()
            and saved.folder == str(folder)
        ):
            recheck_done(saved)
            return Prepared(saved, None)
    plan = await plan_campaign(client, blocks, caps=caps, throughput=throughput)
    campaign = Campaign.from_plan(
        plan, email=email, method=method, protocol=protocol, source=source, folder=str(folder)
    )
    return Prepared(campaign, plan)


async def campaign_from_too_large(
    client: JsocClient, job: ExportJob, *, caps: Caps | None = None
) -> Campaign:
    """The campaign for an export the server refused as too large (status 3): the cap it
    named in its message, the bytes per record from the size it reported for the request,
    the same method and protocol."""
    count = await client.count(job.recordset)
    limit = size_limit_mb(job.error)
    base = caps or Caps()
    caps = dataclasses.replace(base, max_mb=limit) if limit else base
    per_record = job.size_mb * 1e6 / count if job.size_mb and count else None
    series = job.series
    if series is None:
        with contextlib.suppress(JsocError):
            series = await client.series_info(series_name_of(job.recordset))
    block = Block(job.recordset, series, (), count, job.method, job.protocol)
    plan = await plan_campaign(client, [block], caps=caps, per_record=[per_record])
    campaign = Campaign.from_plan(plan, email=job.email, method=job.method, protocol=job.protocol)
    campaign.bytes_per_record = per_record
    return campaign


def recheck_done(campaign: Campaign) -> None:
    """A continued campaign checks its finished chunks again: their files are recognised as
    downloaded (nothing moves) unless one was deleted meanwhile; a chunk that failed for
    good gets a fresh set of attempts."""
    for chunk in campaign.chunks:
        if chunk.state is ChunkState.DONE and chunk.job is not None:
            chunk.state = ChunkState.READY
        elif chunk.state is ChunkState.FAILED:
            chunk.state = ChunkState.PENDING
            chunk.attempts = 0
            if chunk.job is not None and not chunk.job.files:
                chunk.job = None


def _origin(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
        return parts.scheme.lower(), parts.netloc.lower()
    except ValueError:
        return "", ""


def confine_to_server(campaign: Campaign, base_url: str) -> int:
    """Keep a campaign (from a session: anyone may have written it) downloading only from
    the server it runs against.  File URLs on another host are dropped and their chunk is
    staged again (JSOC answers an identical request with the same export); loopback URLs
    follow a loopback ``base_url`` (the demo server restarted on another port).  Returns
    how many chunks changed."""
    base = _origin(base_url)
    changed = 0
    for chunk in campaign.chunks:
        job = chunk.job
        if job is None or not (job.files or job.tar_url):
            continue
        urls = [f.url for f in job.files] + ([job.tar_url] if job.tar_url else [])
        if all(_origin(u) == base for u in urls):
            continue
        changed += 1
        if is_loopback_url(base_url) and all(is_loopback_url(u) for u in urls):
            job.files = [dataclasses.replace(f, url=_rebase(f.url, base_url)) for f in job.files]
            job.tar_url = _rebase(job.tar_url, base_url) if job.tar_url else ""
            continue
        chunk.job = None
        chunk.files_done = chunk.files_failed = chunk.bytes_done = 0
        chunk.state = ChunkState.PENDING
    return changed


def _rebase(url: str, base: str) -> str:
    parts, new = urlsplit(url), urlsplit(base)
    return urlunsplit((new.scheme, new.netloc, parts.path, parts.query, parts.fragment))


def blocks_of_plan(entries: Sequence[Any]) -> list[Block]:
    """Campaign blocks from the workflow's export plan entries
    (:class:`jsocdesk.core.workflow.PlanEntry`: record set, metadata, segments, count, the
    chosen method and the one size estimate)."""
    return [
        Block(
            e.record_set,
            e.info,
            tuple(e.compiled.segments),
            e.count,
            str(e.method.value),
            str(e.protocol.value),
            per_record=(e.estimate.total_bytes / e.count)
            if e.estimate.total_bytes is not None and e.count
            else None,
            process=e.job("").process,
        )
        for e in entries
    ]


def needs_campaign(
    blocks: Sequence[Block], caps: Caps | None = None, guard: Guard | None = None
) -> bool:
    """True when the record sets (with their counts and per-record estimates; no request
    is made) do not fit one export each, or are past the guard: the window then plans a
    campaign and asks before submitting."""
    caps, guard = caps or Caps(), guard or Guard()
    records = sum(b.count or 0 for b in blocks)
    size = sum((b.count or 0) * (b.per_record or 0.0) for b in blocks)
    if records > guard.max_records or size > guard.max_bytes:
        return True
    for b in blocks:
        n = b.count or 0
        per_chunk = caps.records_per_chunk(b.per_record) if b.per_record else caps.max_records
        if n > per_chunk:
            return True
    return False


def confirm_needed(plan: CampaignPlan | None, guard: Guard | None = None) -> bool:
    """True when the plan is big enough to be shown and confirmed first (a continued
    campaign was confirmed when it started)."""
    return plan is not None and (guard or Guard()).needs_confirmation(plan)


async def run_campaign(
    client: JsocClient,
    campaign: Campaign,
    queue: DownloadQueue,
    folder: Path,
    *,
    store: CampaignStore | None = None,
    save: Saver | None = None,
    policy: PollPolicy | None = None,
    exports: ExportQueue | None = None,
    retry_delay: float = 30.0,
    on_runner: Callable[[CampaignRunner], None] | None = None,
    after_add: Callable[[], Awaitable[None]] | None = None,
    on_job: Callable[[ExportJob], None] | None = None,
    retry_exports: bool = True,
) -> Campaign:
    """Run ``campaign`` to its end; the files go into ``folder`` through ``queue`` (its
    engine must be running).  The state is saved to ``store`` (or with ``save``)."""
    if save is None and store is not None:
        save = store_saver(store)
    runner = CampaignRunner(
        client,
        campaign,
        QueueDownloader(queue, folder, after_add=after_add),
        queue=exports or ExportQueue(client, policy),
        save=save,
        retry_delay=retry_delay,
        on_job=on_job,
        retry_exports=retry_exports,
    )
    if on_runner is not None:
        on_runner(runner)
    try:
        return await runner.run()
    finally:
        if exports is None:
            await runner.queue.aclose()


def chunk_line(campaign: Campaign, chunk: Chunk) -> str:
    """``chunk 2/6 ready: JSOC_… 7 files: <record set>`` (what changed, for a log line)."""
    i = campaign.index_of(chunk) + 1
    n = len(campaign.chunks)
    head = f"chunk {i}/{n} {chunk.state.value}"
    rid = f" {chunk.requestid}" if chunk.requestid else ""
    tar = chunk.job is not None and bool(chunk.job.tar_url)
    if chunk.state is ChunkState.READY:
        files = f" 1 archive of {chunk.n_files} files" if tar else f" {chunk.n_files} files"
    elif chunk.state in (ChunkState.DOWNLOADING, ChunkState.DONE):
        files = f" {chunk.files_done}/{chunk.n_files} files"
    else:
        files = f" {chunk.records} records"
    err = f" ({chunk.error})" if chunk.error else ""
    return printable(f"{head}:{rid}{files}: {chunk.recordset}{err}")


def printable(text: str, limit: int = 400) -> str:
    """``text`` safe for a terminal or a label: the app's one sanitiser
    (:func:`jsocdesk.core.text.clean`), cut at ``limit`` characters."""
    return clean(text, limit=limit)
