"""The downloads of a ready chunk, through a :class:`DownloadQueue` run by its engine.

:class:`QueueDownloader` adds the files of a chunk's finished export to the queue (a
``url-tar`` export as one archive to unpack), waits until each of them has ended, keeps the
chunk's progress figures current, and raises :class:`ChunkDownloadFailed` when some failed
(``expired`` when the server answered 404/410: the export is gone and must be staged
again).  Files already downloaded (the queue or the catalogue knows their key) count as
done at once, which is how a resumed campaign skips what it has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from jsocdesk.core.campaign.runner import ChunkDownloadFailed
from jsocdesk.core.campaign.state import Campaign, Chunk
from jsocdesk.core.download.catalog import archive_member_keys, catalog_key
from jsocdesk.core.download.item import FINISHED_STATES, DownloadItem, DownloadState
from jsocdesk.core.download.names import name_from_record
from jsocdesk.core.download.queue import DownloadQueue
from jsocdesk.core.jsoc.export import ExportJob


@dataclass(frozen=True)
class WantedFile:
    """One download of an export: a file, or (``member_keys`` set) an archive to unpack."""

    url: str
    name: str
    key: str | None
    member_keys: dict[str, str] | None = None
    files: int = 1


def files_of_job(job: ExportJob, queue: DownloadQueue | None = None) -> list[WantedFile]:
    """The downloads of a finished export: its files with their local names and keys; a
    ``url-tar`` export is one archive unless every one of its files is already known."""
    singles: list[WantedFile] = []
    for f in job.files:
        key = catalog_key(f.record, f.filename, job.protocol)
        name = (
            name_from_record(f.record, f.filename)
            if f.record.endswith("}")
            else f.filename.rsplit("/", 1)[-1]
        )
        singles.append(WantedFile(f.url, name, key))
    if job.tar_url and not _all_known(singles, queue):
        tar_name = job.tar_url.rsplit("/", 1)[-1]
        members = archive_member_keys(job.files, job.protocol)
        return [WantedFile(job.tar_url, tar_name, None, members, len(singles))]
    return singles


def _all_known(files: list[WantedFile], queue: DownloadQueue | None) -> bool:
    if queue is None or queue.catalog is None or not files:
        return False
    catalog = queue.catalog
    return all(w.key and catalog.lookup(w.key) is not None for w in files)


class QueueDownloader:
    """A :class:`~jsocdesk.core.campaign.runner.ChunkDownloader` over ``queue`` into
    ``folder``; the queue's engine must be running (``DownloadEngine.start()``)."""

    def __init__(
        self,
        queue: DownloadQueue,
        folder: Path,
        *,
        after_add: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.queue = queue
        self.folder = Path(folder)
        #: run once a chunk's files are queued (``DownloadEngine.save_now``: a kill right
        #: after still finds them under the same names)
        self.after_add = after_add

    async def download(self, campaign: Campaign, chunk: Chunk) -> None:
        job = chunk.job
        if job is None:
            raise ChunkDownloadFailed("the chunk has no export to download")
        wanted = files_of_job(job, self.queue)
        items: list[tuple[DownloadItem, int]] = []
        for w in wanted:
            item = self.queue.add(
                w.url,
                self.folder,
                name=w.name,
                key=w.key,
                unpack=w.member_keys is not None,
                member_keys=w.member_keys,
            )
            if item.state in (DownloadState.FAILED, DownloadState.CANCELLED):
                self.queue.retry(item)
            elif item.state is DownloadState.PAUSED:
                self.queue.resume(item)
            items.append((item, w.files))
        if self.after_add is not None:
            await self.after_add()
        ours = {it.id for it, _ in items}
        changed = asyncio.Event()

        def on_state(item: DownloadItem, _old: DownloadState) -> None:
            if item.id in ours:
                changed.set()

        self.queue.state_changed.connect(on_state)
        try:
            while True:
                self._report(campaign, chunk, items)
                if all(it.state in FINISHED_STATES for it, _ in items):
                    break
                changed.clear()
                await changed.wait()
        finally:
            self.queue.state_changed.disconnect(on_state)
        failed = [it for it, _ in items if it.state is not DownloadState.DONE]
        if failed:
            first = failed[0]
            expired = all(_gone(it) for it in failed)
            raise ChunkDownloadFailed(
                f"{len(failed)} of {len(items)} downloads failed "
                f"({first.target.name}: {first.error or first.state.value})",
                expired=expired,
            )

    @staticmethod
    def _report(campaign: Campaign, chunk: Chunk, items: list[tuple[DownloadItem, int]]) -> None:
        done = sum(n for it, n in items if it.state is DownloadState.DONE)
        failed = sum(n for it, n in items if it.state is DownloadState.FAILED)
        size = sum(it.bytes_done for it, _ in items)
        if (done, failed, size) != (chunk.files_done, chunk.files_failed, chunk.bytes_done):
            campaign.update(chunk, files_done=done, files_failed=failed, bytes_done=size)


def _gone(item: DownloadItem) -> bool:
    text = (item.error or "").lower()
    return item.state is DownloadState.FAILED and ("404" in text or "410" in text)
