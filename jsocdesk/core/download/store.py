"""Persistence of a download queue: versioned JSON, written atomically.

The file lists every item in queue order with its state and resume validators (ETag,
Last-Modified, total size).  On load, items that were ``active`` when the app stopped (or was
killed) come back ``queued``; the engine then resumes their ``.part`` files after checking
that the server still has the same file.  Progress is *not* trusted from the file: the size
of the ``.part`` on disk is the truth.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsocdesk.core.atomic import atomic_write_text
from jsocdesk.core.download.item import DownloadItem, DownloadState
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
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            data = json.loads(text)
            version = int(data["format_version"])
        except (ValueError, KeyError, TypeError) as exc:
            raise QueueStoreError(f"download queue {self.path} is corrupt: {exc}") from exc
        if version > FORMAT_VERSION:
            raise QueueStoreError(
                f"download queue {self.path} was written by a newer jsocdesk "
                f"(format {version} > {FORMAT_VERSION})"
            )
        items: list[DownloadItem] = []
        try:
            for raw in data["items"]:
                item = DownloadItem.from_json(raw)
                if item.state is DownloadState.ACTIVE:
                    item.state = DownloadState.QUEUED
                items.append(item)
        except (ValueError, KeyError, TypeError) as exc:
            raise QueueStoreError(f"download queue {self.path} is corrupt: {exc}") from exc
        return items

    def save(self, items: list[DownloadItem]) -> None:
        payload: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "items": [it.to_json() for it in items],
        }
        atomic_write_text(self.path, json.dumps(payload, indent=1))

    def __repr__(self) -> str:
        return f"<QueueStore {self.path}>"
