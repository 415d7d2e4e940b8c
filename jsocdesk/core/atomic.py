"""Atomic file writes: temp file in the same directory, fsync, os.replace.

A write through a symbolic link replaces the file the link points to, not the link (a
session file kept in a synced folder and linked from elsewhere stays linked).  A process
killed mid-write leaves its ``.NAME.XXXX.tmp`` behind; the next write of the same file
removes such leftovers once they are older than :data:`STALE_TEMP_SECONDS` (younger ones
may belong to a writer that is still running), and :func:`sweep_temp_files` does it for a
whole folder at start-up.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from pathlib import Path

#: a temporary file older than this is a leftover of a killed writer
STALE_TEMP_SECONDS = 600.0
_TEMP = re.compile(r"^\..+\.[A-Za-z0-9_]{6,}\.tmp$")


def _real_target(path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    if target.is_symlink():
        return Path(os.path.realpath(target))
    return target


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old or the new content.

    The data goes to a temporary file beside ``path`` (beside the link's target when ``path``
    is a symbolic link), is flushed and fsynced, then renamed over it; the directory is
    fsynced too so the rename survives a power loss.
    """
    target = _real_target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    _fsync_dir(target.parent)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _remove_stale_temps(target: Path, max_age: float = STALE_TEMP_SECONDS) -> None:
    prefix = f".{target.name}."
    try:
        names = [n for n in os.listdir(target.parent) if n.startswith(prefix)]
    except OSError:
        return
    _remove_old(target.parent, [n for n in names if _TEMP.match(n)], max_age)


def sweep_temp_files(directory: str | os.PathLike[str], max_age: float = STALE_TEMP_SECONDS) -> int:
    """Remove the leftover temporary files of killed atomic writes in ``directory`` (not
    recursive); returns how many were removed."""
    try:
        names = [n for n in os.listdir(directory) if _TEMP.match(n)]
    except OSError:
        return 0
    return _remove_old(Path(directory), names, max_age)


def _remove_old(directory: Path, names: list[str], max_age: float) -> int:
    now = time.time()
    removed = 0
    for name in names:
        path = directory / name
        with contextlib.suppress(OSError):
            st = path.lstat()
            if now - st.st_mtime >= max_age and not path.is_symlink():
                path.unlink()
                removed += 1
    return removed


def _fsync_dir(directory: Path) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
