"""Forward migrations of session files, one step per format version.

``MIGRATIONS[n]`` turns a version-``n`` document into a version-``n + 1`` one; :func:`migrate`
chains the steps up to :data:`CURRENT_VERSION`.  Every old version keeps a committed fixture
under ``tests/data/`` that must load forever.

Version 0 is the bare query tree jsocdesk's query API writes (``QueryTree.to_dict()`` /
``node_to_dict``, a dict with a ``"type"`` key and no ``format_version``); step 0 → 1 wraps
it into a session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jsocdesk.core.errors import SessionCorrupt, SessionFormatTooNew

__all__ = ["CURRENT_VERSION", "MIGRATIONS", "detect_version", "migrate"]

#: The format this version writes and the newest it reads.
CURRENT_VERSION = 1

Document = dict[str, Any]


def _v0_to_v1(doc: Document) -> Document:
    return {"format_version": 1, "query": doc, "export": {}, "jobs": {}, "downloads": {}}


MIGRATIONS: dict[int, Callable[[Document], Document]] = {0: _v0_to_v1}


def detect_version(doc: Document) -> int:
    """The format version of a parsed document (0 for a bare query tree)."""
    if "format_version" not in doc:
        if isinstance(doc.get("type"), str):
            return 0
        raise SessionCorrupt("not a jsocdesk session (no format_version)")
    version = doc["format_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise SessionCorrupt(f"format_version must be an integer, not {version!r}"[:200])
    if version < 0:
        raise SessionCorrupt(f"format_version {version} is not valid")
    return version


def migrate(doc: Document, current: int | None = None) -> Document:
    """Bring ``doc`` up to ``current`` (default :data:`CURRENT_VERSION`)."""
    target = CURRENT_VERSION if current is None else current
    version = detect_version(doc)
    if version > target:
        raise SessionFormatTooNew(
            f"this session was written by a newer jsocdesk (session format {version}; this "
            f"version reads formats up to {target}); update jsocdesk to open it"
        )
    while version < target:
        step = MIGRATIONS.get(version)
        if step is None:
            raise SessionCorrupt(f"no migration from session format {version}")
        doc = step(doc)
        version = detect_version(doc)
    return doc
