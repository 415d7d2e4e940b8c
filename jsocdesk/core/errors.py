"""Typed error hierarchy of the core.

Every error the core raises on purpose derives from :class:`JsocdeskError`, so the GUI and
the CLI can catch one type and show ``str(err)`` as a one-line message.
"""

from __future__ import annotations

from typing import Any


class JsocdeskError(Exception):
    """Base class of every error raised on purpose by jsocdesk."""


# --- query ---------------------------------------------------------------------------------


class QueryError(JsocdeskError, ValueError):
    """A query tree cannot be compiled or does not validate.

    ``node`` is the offending node (or ``None`` when the error concerns the whole tree), so
    the GUI can put an inline marker on it.
    """

    def __init__(self, message: str, node: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.node = node


class RecordSetSyntaxError(JsocdeskError, ValueError):
    """A record-set string is malformed; ``column`` is the 0-based offset of the problem."""

    def __init__(self, message: str, text: str, column: int) -> None:
        super().__init__(f"{message} (column {column + 1})")
        self.message = message
        self.text = text
        self.column = column


class TimeFormatError(JsocdeskError, ValueError):
    """A DRMS/ISO time literal cannot be understood."""


# --- persistence ---------------------------------------------------------------------------


class SessionError(JsocdeskError):
    """A session file cannot be read or written."""


class SessionFormatTooNew(SessionError):
    """The session file was written by a newer jsocdesk than this one."""


class SessionCorrupt(SessionError):
    """The session file is not a valid session (bad JSON, wrong shape)."""


class SessionUnsafe(SessionCorrupt):
    """The session would write outside the folder it names (a path escapes the folder)."""


# --- JSOC conversation ---------------------------------------------------------------------


class JsocError(JsocdeskError):
    """Anything that went wrong while talking to a JSOC server."""


class TransportError(JsocError):
    """The HTTP exchange itself failed (connection refused/reset, timeout, HTTP 5xx)."""


class ProtocolError(JsocError):
    """The server answered, but not with the JSON shape JSOC uses."""


class ServerError(JsocError):
    """JSOC answered with ``status != 0``; carries JSOC's own message and status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(f"{message} [status={status}]")
        self.message = message
        self.status = status


class ExportFailed(ServerError):
    """An export request ended in a failure status (3, 4, 5, 7, ...)."""


class DownloadError(JsocdeskError):
    """A transfer failed for good (after its retries) or cannot start."""
