"""The downloads of a ready chunk, through a :class:`DownloadQueue` run by its engine.

:class:`QueueDownloader` adds the files of a chunk's finished export to the queue (the
workflow's :func:`~jsocdesk.core.workflow.export_downloads`: its local names and catalogue
keys, a ``url-tar`` export as one archive to unpack), waits until each of them has ended, keeps the
chunk's progress figures current, and raises :class:`ChunkDownloadFailed` when some failed
(``expired`` when the server answered 404/410: the export is gone and must be staged
again).  Files already downloaded (the queue or the catalogue knows their key) count as
done at once, which is how a resumed campaign skips what it has.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from jsocdesk.core.campaign.runner import ChunkDownloadFailed
from jsocdesk.core.campaign.state import Campaign, Chunk
from jsocdesk.core.download.item import FINISHED_STATES, DownloadItem, DownloadState
from jsocdesk.core.download.queue import DownloadQueue
from jsocdesk.core.workflow.files import export_downloads


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
        # the workflow's one "files of a finished export" step: names, keys, url-tar archives
        wanted = export_downloads(job, self.queue.catalog)
        items: list[tuple[DownloadItem, int]] = []
        for w in wanted:
            item = self.queue.add(
                w.url,
                self.folder,
                name=w.name,
                key=w.key,
                unpack=w.unpack,
                member_keys=w.member_keys,
            )
            if item.state in (DownloadState.FAILED, DownloadState.CANCELLED):
                self.queue.retry(item)
            elif item.state is DownloadState.PAUSED:
                self.queue.resume(item)
            items.append((item, len(job.files) if w.unpack else 1))
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
