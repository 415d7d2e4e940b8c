"""Persistence of a download queue: versioned JSON, written atomically.

The file lists every item in queue order with its state and resume validators (ETag,
Last-Modified, total size).  On load, items that were ``active`` when the app stopped (or was
killed) come back ``queued``; the engine then resumes their ``.part`` files after checking
that the server still has the same file.  Progress is *not* trusted from the file: the size
of the ``.part`` on disk is the truth.  Likewise a ``done`` item only stays done while its
file (or, for an unpacked archive, every extracted file) is still on disk with its size; if
not (deleted, truncated, replaced) it comes back ``queued`` with no bytes, to be fetched again.
"""

from __future__ import annotations

from pathlib import Path

from jsocdesk.core.download.item import DownloadItem, DownloadState
from jsocdesk.core.download.jsonfile import load_versioned, save_versioned
from jsocdesk.core.errors import DownloadError

FORMAT_VERSION = 1
FILE_NAME = "queue.json"


class QueueStoreError(DownloadError):
    """The queue file cannot be read (corrupt, or written by a newer jsocdesk)."""


class QueueStore:
    """Loads and saves the items of one :class:`DownloadQueue` at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def in_data_dir(cls, data_dir: Path, name: str = FILE_NAME) -> QueueStore:
        return cls(Path(data_dir) / "downloads" / name)

    def load(self) -> list[DownloadItem]:
        data = load_versioned(self.path, "download queue", FORMAT_VERSION, QueueStoreError)
        if data is None:
            return []
        items: list[DownloadItem] = []
        try:
            for raw in data["items"]:
                item = DownloadItem.from_json(raw)
                if item.state is DownloadState.ACTIVE:
                    item.state = DownloadState.QUEUED
                elif item.state is DownloadState.DONE and not item.outputs_present():
                    item.state = DownloadState.QUEUED
                    item.bytes_done = 0
                    item.extracted = []
                    item.error = None
                items.append(item)
        except (ValueError, KeyError, TypeError) as exc:
            raise QueueStoreError(f"download queue {self.path} is corrupt: {exc}") from exc
        return items

    def save(self, items: list[DownloadItem]) -> None:
        save_versioned(self.path, FORMAT_VERSION, "items", [it.to_json() for it in items])

    def __repr__(self) -> str:
        return f"<QueueStore {self.path}>"
