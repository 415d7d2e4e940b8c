"""A local catalogue of downloaded files: record/segment key → path and size.

The key is the record spec with its segment as JSOC lists it in an export
(``hmi.v_45s[2014.01.01_00:00:00_TAI][2]{Dopplergram}``), so the same file is recognised
whatever folder or export it came from and is never fetched twice.  An entry only counts while
its file is still on disk with the recorded size.  Stored as versioned JSON, written
atomically; writes are batched (:meth:`Catalog.flush`) so thousands of completions do not
rewrite the file thousands of times.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from jsocdesk.core.download.jsonfile import load_versioned, save_versioned
from jsocdesk.core.errors import DownloadError

FORMAT_VERSION = 1
FILE_NAME = "catalog.json"


class CatalogError(DownloadError):
    """The catalogue file cannot be read (corrupt, or written by a newer jsocdesk)."""


def catalog_key(record: str, filename: str = "", protocol: str = "as-is") -> str:
    """The catalogue key of one exported file.

    ``as-is`` exports list ``record`` with its segment (``hmi.m_45s[...][2]{magnetogram}``):
    that is the key.  Records listed without a segment (``fits`` exports) get the file's base
    name as segment.  Files of other protocols (FITS with headers, images) differ from the
    raw segment, so the protocol is appended (``...{magnetogram}|fits``).
    """
    key = record if record.endswith("}") else f"{record}{{{filename.rsplit('/', 1)[-1]}}}"
    proto = protocol.lower()
    return key if proto in ("", "as-is") else f"{key}|{proto}"


class _ExportedFile(Protocol):
    @property
    def record(self) -> str: ...
    @property
    def filename(self) -> str: ...


def archive_member_keys(files: Iterable[_ExportedFile], protocol: str) -> dict[str, str]:
    """Catalogue key of each file of a ``url-tar`` export, by the member's base name (what
    :func:`~jsocdesk.core.download.unpack.unpack_tar` extracts)."""
    return {
        f.filename.rsplit("/", 1)[-1]: catalog_key(f.record, f.filename, protocol) for f in files
    }


@dataclass(frozen=True)
class CatalogEntry:
    key: str
    path: Path
    size: int
    url: str
    completed: float  # POSIX time


class Catalog:
    """Record/segment keys of completed downloads, persisted in ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._entries: dict[str, CatalogEntry] = {}
        self._dirty = False
        self._load()

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> Catalog:
        return cls(Path(data_dir) / "downloads" / FILE_NAME)

    def _load(self) -> None:
        data = load_versioned(self.path, "download catalogue", FORMAT_VERSION, CatalogError)
        if data is None:
            return
        for raw in data.get("entries", []):
            e = CatalogEntry(
                key=str(raw["key"]),
                path=Path(str(raw["path"])),
                size=int(raw["size"]),
                url=str(raw.get("url", "")),
                completed=float(raw.get("completed", 0.0)),
            )
            self._entries[e.key] = e

    def lookup(self, key: str) -> CatalogEntry | None:
        """The entry for ``key`` if its file still exists with the recorded size."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        try:
            if os.stat(entry.path).st_size == entry.size:
                return entry
        except OSError:
            pass
        return None

    def record(self, key: str, path: Path, size: int, url: str = "") -> None:
        self._entries[key] = CatalogEntry(key, Path(path), size, url, time.time())
        self._dirty = True

    def forget(self, key: str) -> None:
        if self._entries.pop(key, None) is not None:
            self._dirty = True

    @property
    def dirty(self) -> bool:
        return self._dirty

    def flush(self) -> None:
        """Write pending changes (atomically); no-op when nothing changed."""
        snapshot = self.take_snapshot()
        if snapshot is not None:
            try:
                self.write_snapshot(snapshot)
            except Exception:
                self._dirty = True
                raise

    def take_snapshot(self) -> list[CatalogEntry] | None:
        """The entries to write if something changed (marks the catalogue clean); cheap, so
        the caller can take it on the event loop and write it on a worker thread."""
        if not self._dirty:
            return None
        self._dirty = False
        return list(self._entries.values())

    def mark_dirty(self) -> None:
        self._dirty = True

    def write_snapshot(self, entries: list[CatalogEntry]) -> None:
        rows = [
            {
                "key": e.key,
                "path": str(e.path),
                "size": e.size,
                "url": e.url,
                "completed": e.completed,
            }
            for e in entries
        ]
        save_versioned(self.path, FORMAT_VERSION, "entries", rows)

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<Catalog {self.path} ({len(self)} entries)>"
