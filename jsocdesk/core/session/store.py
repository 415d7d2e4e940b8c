"""Load and save sessions: versioned JSON, atomic writes, typed errors only.

* :func:`save_session` writes ``format_version`` :data:`CURRENT_VERSION` JSON through
  :func:`~jsocdesk.core.atomic.atomic_write_text` (temp file beside the target, fsync,
  ``os.replace``): a save interrupted at any point leaves the previous file intact.
* :func:`load_session` reads any version up to the current one (migrating older ones),
  raises :class:`SessionFormatTooNew` for newer files, :class:`SessionCorrupt` for anything
  that is not a valid session, and :class:`SessionError` when the file cannot be read.
  Nothing else escapes (fuzzed).
"""

from __future__ import annotations

import json
import math
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jsocdesk import __version__
from jsocdesk.core.atomic import atomic_write_text
from jsocdesk.core.errors import QueryError, SessionCorrupt, SessionError
from jsocdesk.core.paths import UnreadableFile, read_bounded
from jsocdesk.core.query.tree import And, Group, node_from_dict, node_to_dict
from jsocdesk.core.session.migrations import CURRENT_VERSION, migrate
from jsocdesk.core.session.model import Session

__all__ = [
    "CURRENT_VERSION",
    "dumps_session",
    "load_session",
    "loads_session",
    "save_session",
    "session_from_dict",
    "session_to_dict",
]

#: the largest session file read
MAX_SESSION_BYTES = 64 << 20

_SECTIONS = ("export", "jobs", "downloads")
_KNOWN = frozenset({"format_version", "app", "app_version", "saved_at", "query", *_SECTIONS})


def session_to_dict(session: Session) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format_version": CURRENT_VERSION,
        "app": "jsocdesk",
        "app_version": __version__,
        "saved_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "query": node_to_dict(session.query),
        "export": session.export,
        "jobs": session.jobs,
        "downloads": session.downloads,
    }
    for key, value in session.extra.items():
        doc.setdefault(key, value)
    return doc


def session_from_dict(doc: Any) -> Session:
    """Validate, migrate and convert a parsed JSON document."""
    if not isinstance(doc, dict):
        raise SessionCorrupt("not a jsocdesk session (the top level is not an object)")
    doc = migrate(doc)
    if "query" not in doc:
        raise SessionCorrupt("not a jsocdesk session (no query)")
    try:
        query = node_from_dict(doc["query"])
    except QueryError as exc:
        raise SessionCorrupt(f"the query is invalid: {exc.message}") from None
    except RecursionError:
        raise SessionCorrupt("the query is nested too deeply") from None
    root: Group = query if isinstance(query, Group) else And(query)
    sections: dict[str, dict[str, Any]] = {}
    for name in _SECTIONS:
        value = doc.get(name, {})
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise SessionCorrupt(f"the {name!r} section must be an object")
        sections[name] = value
    extra = {k: v for k, v in doc.items() if k not in _KNOWN}
    return Session(query=root, extra=extra, **sections)


def dumps_session(session: Session) -> str:
    try:
        return json.dumps(session_to_dict(session), indent=2, ensure_ascii=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise SessionError(f"the session cannot be saved as JSON: {exc}") from None


def loads_session(text: str | bytes) -> Session:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SessionCorrupt("not a jsocdesk session (not UTF-8 text)") from None
    try:
        doc = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise SessionCorrupt(
            f"not a jsocdesk session (bad JSON at line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise SessionCorrupt(f"not a jsocdesk session ({exc})"[:300]) from None
    _check_strings(doc)
    return session_from_dict(doc)


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number a session may hold")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _check_strings(doc: Any) -> None:
    """Refuse text that is not valid Unicode (lone surrogates from ``\\ud800`` escapes):
    it cannot be shown, printed or used in a file name."""
    stack = [doc]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            texts: Any = (value,)
        elif isinstance(value, dict):
            texts = value.keys()
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
            continue
        else:
            continue
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise SessionCorrupt(
                    "not a valid session (it contains invalid text: a lone surrogate "
                    f"in {text.encode('utf-8', 'backslashreplace').decode()[:60]!r})"
                ) from None


def load_session(path: str | os.PathLike[str]) -> Session:
    """Read a session file; errors name the file."""
    p = Path(path)
    try:  # bounded: not a FIFO, /dev/zero or a 3 GB file (a session is data from anywhere)
        data = read_bounded(p, MAX_SESSION_BYTES, "session file")
    except UnreadableFile as exc:
        raise SessionError(str(exc)) from None
    try:
        return loads_session(data)
    except SessionError as exc:
        raise type(exc)(f"{p}: {exc}") from None


def save_session(path: str | os.PathLike[str], session: Session) -> None:
    """Write a session atomically (the old file survives any failure mid-way)."""
    text = dumps_session(session)
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise SessionError(f"cannot write {path}: {exc.strerror or exc}") from None
