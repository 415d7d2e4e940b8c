"""Logging to a rotating file in the user's log directory (Qt-free).

The desktop app calls :func:`setup_logging` once at start-up; the "Show log" action opens
:func:`log_file_path`.  The directory comes from :class:`jsocdesk.core.paths.AppPaths`, so
``JSOCDESK_LOG_DIR`` (set by the test suite) redirects it.  Calling :func:`setup_logging` again
replaces the handler instead of adding a second one, so repeated starts inside one process
(tests) never duplicate lines.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from jsocdesk import __version__
from jsocdesk.core.paths import AppPaths

LOG_FILE_NAME = "jsocdesk.log"
#: one file is rotated when it reaches this size; ``BACKUP_COUNT`` old files are kept
MAX_BYTES = 1_000_000
BACKUP_COUNT = 5
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

_HANDLER_NAME = "jsocdesk-file"


def log_file_path(paths: AppPaths | None = None) -> Path:
    """The current log file (it may not exist yet if logging was never set up)."""
    paths = paths or AppPaths.from_environment()
    return paths.log / LOG_FILE_NAME


def setup_logging(
    paths: AppPaths | None = None,
    *,
    level: int = logging.INFO,
    max_bytes: int = MAX_BYTES,
    backup_count: int = BACKUP_COUNT,
) -> Path:
    """Send the ``jsocdesk`` logger tree to a rotating file; return the file's path.

    Only the ``jsocdesk`` logger is configured, not the root logger, so the libraries'
    chatter stays out of the file and no global logging state of the host process changes.
    """
    path = log_file_path(paths)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path,
        maxBytes=max_bytes,
        backupCount=backup_count,
        encoding="utf-8",
        errors="backslashreplace",  # a server's lone surrogate must not break logging
        delay=True,
    )
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger = logging.getLogger("jsocdesk")
    _remove_own_handlers(logger)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.info(
        "jsocdesk %s started (Python %s, %s)", __version__, sys.version.split()[0], sys.platform
    )
    return path


def shutdown_logging() -> None:
    """Detach and close the file handler installed by :func:`setup_logging`."""
    _remove_own_handlers(logging.getLogger("jsocdesk"))


def _remove_own_handlers(logger: logging.Logger) -> None:
    for handler in list(logger.handlers):
        if handler.get_name() == _HANDLER_NAME:
            logger.removeHandler(handler)
            handler.close()
