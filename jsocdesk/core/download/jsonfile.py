"""Versioned JSON files of the download engine (the queue, the catalogue).

A file is ``{"format_version": N, "<rows>": [...]}``, written atomically; a reader refuses
corrupt files and files newer than it understands with its own typed error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsocdesk.core.atomic import atomic_write_text, sweep_temp_files
from jsocdesk.core.errors import DownloadError


def load_versioned(
    path: Path, what: str, version: int, error: type[DownloadError]
) -> dict[str, Any] | None:
    """The document at ``path``, ``None`` when there is no file.

    ``what`` names the file in messages (``"download queue"``); raises ``error`` when the
    file is not JSON with an integer ``format_version`` or its version is above ``version``.
    """
    # loading is start-up: leftovers of writes killed mid-way go (older than a few minutes)
    sweep_temp_files(path.parent)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{what} {path} cannot be read: {exc}") from None
    try:
        data = json.loads(text)
        found = int(data["format_version"])
    except (ValueError, KeyError, TypeError) as exc:
        raise error(f"{what} {path} is corrupt: {exc}") from exc
    if found > version:
        raise error(f"{what} {path} was written by a newer jsocdesk (format {found} > {version})")
    doc: dict[str, Any] = data
    return doc


class SaveError(DownloadError):
    """A state file of the downloads could not be written (a full disk, permissions)."""


def save_versioned(path: Path, version: int, rows_key: str, rows: list[dict[str, Any]]) -> None:
    """Write ``{"format_version": version, rows_key: rows}`` atomically.

    A file-system failure (``ENOSPC``, ``EACCES``…) comes out as :class:`SaveError` naming
    the file; the previous file is intact.
    """
    payload: dict[str, Any] = {"format_version": version, rows_key: rows}
    try:
        atomic_write_text(path, json.dumps(payload, indent=1))
    except OSError as exc:
        raise SaveError(f"cannot save {path}: {exc.strerror or exc}") from None
