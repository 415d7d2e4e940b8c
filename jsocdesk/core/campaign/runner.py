"""Running a campaign: one export at a time per e-mail, each chunk downloaded once ready.

The runner stages the chunks in order through an :class:`ExportQueue` (which holds JSOC's
rule of one pending export per e-mail address, and waits out a status 7 caused by an export
made elsewhere).  As soon as a chunk's export is ready its files are handed to the
:class:`ChunkDownloader` (in a task of its own) and the next chunk is submitted, so JSOC
stages chunk *n+1* while chunk *n* downloads.

Failures stay local to their chunk:

* status 3 (too large): the runner learns the server's cap and the real bytes per record
  from the answer, lists the chunk's times and replaces the chunk by parts that fit;
* "too many records": likewise with half the records;
* any other export failure, or downloads that failed: the chunk is retried after
  ``retry_delay`` (other chunks go on meanwhile) up to the campaign's ``max_attempts``,
  then marked failed;
* an export that expired before its files were fetched (status 5, HTTP 404) is submitted
  again as a retry.

The campaign is saved after every change of a chunk's state, so :meth:`CampaignRunner.run`
on a campaign loaded from its store continues where it stopped: submitted chunks are
followed by request id, ready and downloading ones are downloaded (finished files are
recognised), done ones are left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from jsocdesk.core.campaign.plan import list_times, time_key
from jsocdesk.core.campaign.split import CannotSplit, split_on_times
from jsocdesk.core.campaign.state import Campaign, CampaignStore, Chunk, ChunkState
from jsocdesk.core.errors import ExportFailed, JsocdeskError, JsocError
from jsocdesk.core.jsoc.client import JsocClient, series_name_of
from jsocdesk.core.jsoc.export import (
    ExportJob,
    ExportQueue,
    ExportTooLarge,
    JobState,
    PollPolicy,
    find_time_range,
)
from jsocdesk.core.seriesinfo import SeriesInfo

log = logging.getLogger(__name__)

S = ChunkState


class ChunkDownloadFailed(JsocError):
    """Some files of a chunk could not be downloaded (``expired``: the export is gone)."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class ChunkDownloader(Protocol):
    """Fetches the files of a ready chunk (``chunk.job`` holds them); reports progress with
    ``campaign.update(chunk, files_done=…, bytes_done=…)``; raises
    :class:`ChunkDownloadFailed` when some files failed."""

    async def download(self, campaign: Campaign, chunk: Chunk) -> None: ...


Saver = Callable[[Campaign], Awaitable[None]]


def store_saver(store: CampaignStore) -> Saver:
    """A saver writing to ``store``: the snapshot is taken on the loop, serialised and
    written on a worker thread.  Snapshots are numbered and a write never replaces a newer
    one (a save whose caller was cancelled still finishes on its thread, maybe late)."""
    lock = threading.Lock()
    state = {"taken": 0, "written": 0}

    def write(version: int, doc: dict[str, object]) -> None:
        text = json.dumps(doc, separators=(",", ":"))
        with lock:
            if version > state["written"]:
                store.write(text)
                state["written"] = version

    async def save(campaign: Campaign) -> None:
        state["taken"] += 1
        await asyncio.to_thread(write, state["taken"], campaign.to_dict())

    return save


class CampaignRunner:
    """Runs ``campaign`` to its end (see the module docstring)."""

    def __init__(
        self,
        client: JsocClient,
        campaign: Campaign,
        downloader: ChunkDownloader,
        *,
        queue: ExportQueue | None = None,
        policy: PollPolicy | None = None,
        save: Saver | None = None,
        series: SeriesInfo | None = None,
        retry_delay: float = 30.0,
        on_job: Callable[[ExportJob], None] | None = None,
        retry_exports: bool = True,
    ) -> None:
        self.client = client
        self.campaign = campaign
        self.downloader = downloader
        self._own_queue = queue is None
        self.queue = queue or ExportQueue(client, policy)
        self._save = save
        self.series = series  # default for chunks whose series metadata cannot be fetched
        self.retry_delay = retry_delay
        #: called with each export job before it is queued (the CLI prints why it waits)
        self.on_job = on_job
        #: False: an export that failed (not too large) fails its chunk at once — the CLI,
        #: where JSOC may have made the export and the user reruns to resume
        self.retry_exports = retry_exports
        self._not_before: dict[str, float] = {}
        self._downloads: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()

    # --- the loop ------------------------------------------------------------------------

    async def run(self) -> Campaign:
        """Stage and download every chunk; returns the campaign (check ``succeeded``)."""
        try:
            for resumed in list(self.campaign.chunks):
                if resumed.state in (S.READY, S.DOWNLOADING):
                    self._start_download(resumed)
            while True:
                chunk = self._next_to_stage()
                if chunk is not None:
                    await self._stage(chunk)
                    continue
                if self.campaign.finished and not self._downloads:
                    break
                await self._idle()
        finally:
            await self._stop_downloads()
            if self._own_queue:
                await self.queue.aclose()
            await self.save()
        return self.campaign

    async def save(self) -> None:
        if self._save is not None:
            await self._save(self.campaign)

    def _next_to_stage(self) -> Chunk | None:
        now = time.monotonic()
        for chunk in self.campaign.chunks:
            if chunk.state is S.SUBMITTED:
                return chunk  # resumed: at most one is pending at a time
        for chunk in self.campaign.chunks:
            if chunk.state is S.PENDING and self._not_before.get(chunk.id, 0.0) <= now:
                return chunk
        return None

    async def _idle(self) -> None:
        """Wait for a download to end or the next retry to come due."""
        waits = [
            t
            for c in self.campaign.chunks
            if c.state is S.PENDING
            if (t := self._not_before.get(c.id)) is not None
        ]
        timeout = max(0.0, min(waits) - time.monotonic()) if waits else None
        if timeout is None and not self._downloads:
            # nothing to wait for: chunks are neither staged nor downloading (cannot happen
            # unless the campaign was edited behind our back)
            raise RuntimeError("campaign has unfinished chunks that nothing works on")
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    # --- staging -------------------------------------------------------------------------

    async def _stage(self, chunk: Chunk) -> None:
        if chunk.state is S.PENDING and await self._presplit(chunk):
            return
        series = await self._series_of(chunk)
        job = chunk.job if chunk.state is S.SUBMITTED and chunk.job is not None else None
        if job is None or job.state in (JobState.FAILED, JobState.CANCELLED):
            job = ExportJob(
                chunk.recordset,
                self.campaign.email,
                method=chunk.method or self.campaign.method,
                protocol=chunk.protocol or self.campaign.protocol,
                process=chunk.process,
                series=series,
            )
        else:
            job.series = series
        if job.state is JobState.DONE:  # stopped after the export ended: nothing to wait for
            await self._ready(chunk)
            return
        saved = asyncio.Event()
        last_id = [job.requestid]

        def on_change(j: ExportJob) -> None:
            # the request id is known: save it at once, so a kill now re-attaches to it
            if j.requestid and j.requestid != last_id[0]:
                last_id[0] = j.requestid
                saved.set()

        self.campaign.update(
            chunk,
            state=S.SUBMITTED,
            job=job,
            error="",
            submitted_at=chunk.submitted_at if job.requestid else time.time(),
        )
        await self.save()
        job.changed.connect(on_change)
        if self.on_job is not None:
            self.on_job(job)
        self.queue.add(job)
        waiter = asyncio.ensure_future(self.queue.wait(job))
        saver: asyncio.Future[Any] = asyncio.ensure_future(saved.wait())
        try:
            while True:
                if saver.done():
                    saver = asyncio.ensure_future(saved.wait())
                done, _ = await asyncio.wait({waiter, saver}, return_when=asyncio.FIRST_COMPLETED)
                if saver in done:
                    saved.clear()
                    self.campaign.update(chunk)
                    await self.save()
                if waiter in done:
                    break
            waiter.result()
        except ExportTooLarge as exc:
            await self._too_large(chunk, exc)
            return
        except ExportFailed as exc:
            await self._export_failed(chunk, exc)
            return
        finally:
            job.changed.disconnect(on_change)
            waiter.cancel()
            saver.cancel()
        await self._ready(chunk)

    async def _ready(self, chunk: Chunk) -> None:
        self.campaign.update(chunk, state=S.READY, ready_at=time.time(), error="")
        await self.save()
        self._start_download(chunk)

    async def _series_of(self, chunk: Chunk) -> SeriesInfo | None:
        """The metadata of the chunk's series (cached by the client)."""
        try:
            return await self.client.series_info(series_name_of(chunk.recordset))
        except JsocError:
            return self.series

    async def _presplit(self, chunk: Chunk) -> bool:
        """Cut a pending chunk that is known (from a learned size) not to fit."""
        bpr = self.campaign.bytes_per_record
        per_chunk = self.campaign.caps.records_per_chunk(bpr) if bpr else None
        if per_chunk is None or chunk.records <= per_chunk:
            return False
        return await self._split(chunk, per_chunk, "")

    async def _too_large(self, chunk: Chunk, exc: ExportTooLarge) -> None:
        caps = self.campaign.caps
        if exc.limit_mb:
            caps = dataclasses.replace(caps, max_mb=exc.limit_mb)
        bpr = self.campaign.bytes_per_record
        if exc.size_mb and chunk.records:
            bpr = exc.size_mb * 1e6 / chunk.records
        self.campaign.caps, self.campaign.bytes_per_record = caps, bpr
        per_chunk = caps.records_per_chunk(bpr) if bpr else max(1, chunk.records // 2)
        per_chunk = min(per_chunk, max(1, chunk.records - 1))
        message = str(exc).splitlines()[0]
        if not await self._split(chunk, per_chunk, message):
            self.campaign.update(chunk, state=S.FAILED, error=message, finished_at=time.time())
            await self.save()

    async def _split(self, chunk: Chunk, per_chunk: int, reason: str) -> bool:
        """Replace ``chunk`` by parts of at most ``per_chunk`` records; False if it cannot
        be cut (a single instant, no time range)."""
        tk = time_key(await self._series_of(chunk))
        if tk is None or find_time_range(chunk.recordset) is None:
            return False
        try:
            times = await list_times(self.client, chunk.recordset, tk[0])
            specs = split_on_times(
                chunk.recordset, times, per_chunk=per_chunk, max_span=None, slot=tk[1]
            )
        except (CannotSplit, JsocError) as exc:
            log.warning("cannot split %s: %s", chunk.recordset, exc)
            return False
        if len(specs) < 2:
            return False
        bpr = self.campaign.bytes_per_record
        parts = [
            Chunk(
                s.recordset,
                s.records,
                est_bytes=None if bpr is None else s.records * bpr,
                error=f"split: {reason}" if reason else "",
                method=chunk.method,
                protocol=chunk.protocol,
                process=chunk.process,
            )
            for s in specs
        ]
        log.info("chunk %s split into %d parts (%s)", chunk.recordset, len(parts), reason)
        self.campaign.replace_chunk(chunk, parts)
        await self.save()
        return True

    async def _export_failed(self, chunk: Chunk, exc: ExportFailed) -> None:
        message = str(exc).splitlines()[0]
        if "too many records" in message.lower() and chunk.records > 1:
            caps = self.campaign.caps
            self.campaign.caps = dataclasses.replace(
                caps, max_records=max(1, min(caps.max_records, chunk.records // 2))
            )
            if await self._split(chunk, max(1, chunk.records // 2), message):
                return
        if not self.retry_exports:
            self.campaign.update(
                chunk,
                state=S.FAILED,
                attempts=chunk.attempts + 1,
                error=message,
                finished_at=time.time(),
            )
            await self.save()
            return
        await self._retry_or_fail(chunk, message)

    async def _retry_or_fail(self, chunk: Chunk, message: str) -> None:
        attempts = chunk.attempts + 1
        if attempts >= self.campaign.max_attempts:
            self.campaign.update(
                chunk, state=S.FAILED, attempts=attempts, error=message, finished_at=time.time()
            )
        else:
            self._not_before[chunk.id] = time.monotonic() + self.retry_delay
            self.campaign.update(
                chunk, state=S.PENDING, attempts=attempts, error=f"will retry: {message}", job=None
            )
        await self.save()
        self._wake.set()

    # --- downloading ---------------------------------------------------------------------

    def _start_download(self, chunk: Chunk) -> None:
        if chunk.id in self._downloads:
            return
        task = asyncio.ensure_future(self._download(chunk))
        self._downloads[chunk.id] = task

        def done(t: asyncio.Task[None], cid: str = chunk.id) -> None:
            if self._downloads.get(cid) is t:
                del self._downloads[cid]
            self._wake.set()

        task.add_done_callback(done)

    async def _download(self, chunk: Chunk) -> None:
        while True:
            self.campaign.update(chunk, state=S.DOWNLOADING)
            await self.save()
            try:
                try:
                    await self.downloader.download(self.campaign, chunk)
                except (JsocdeskError, OSError) as exc:
                    if isinstance(exc, ChunkDownloadFailed):
                        raise
                    # the folder cannot be written, a file name cannot be made, …: this
                    # chunk's downloads failed; the campaign goes on
                    raise ChunkDownloadFailed(f"downloads failed: {exc}") from exc
            except ChunkDownloadFailed as exc:
                if exc.expired:
                    # the export is gone: stage the chunk again (counts as an attempt)
                    await self._retry_or_fail(chunk, f"export expired: {exc}")
                    return
                attempts = chunk.attempts + 1
                if attempts >= self.campaign.max_attempts:
                    self.campaign.update(
                        chunk,
                        state=S.FAILED,
                        attempts=attempts,
                        error=str(exc),
                        finished_at=time.time(),
                    )
                    await self.save()
                    return
                self.campaign.update(chunk, attempts=attempts, error=f"will retry downloads: {exc}")
                await asyncio.sleep(self.retry_delay)
                continue
            self.campaign.update(chunk, state=S.DONE, error="", finished_at=time.time())
            await self.save()
            return

    async def _stop_downloads(self) -> None:
        tasks = list(self._downloads.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
