"""Safe extraction of a downloaded ``url-tar`` export (blocking: run it on a worker thread).

A tar comes from a server we do not control, so nothing in it is trusted:

* only regular files are extracted; directories are ignored, links (symbolic or hard),
  devices and FIFOs are skipped and reported;
* members whose path is absolute or contains ``..`` are skipped and reported; other paths
  are flattened to their last component and made safe by :func:`~.names.safe_filename`,
  with the deterministic collision suffix of :class:`~.names.NameAllocator` (``a (2).fits``);
* each file is written to a fresh ``NAME.part`` (``O_EXCL``: never through a planted link),
  checked against the member's size, optionally fsynced and renamed to its final name, so no
  half file ever carries a final name;
* if anything fails (a corrupt tar, a full disk) or the extraction is cancelled, the files
  this run extracted are removed again and :class:`UnpackError` is raised: the archive is
  still there for a retry.
"""

from __future__ import annotations

import contextlib
import os
import tarfile
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from jsocdesk.core.download.names import PART_SUFFIX, NameAllocator, inside
from jsocdesk.core.errors import DownloadError

_CHUNK = 1 << 20


class UnpackError(DownloadError):
    """The archive could not be extracted (nothing of this run is left behind)."""


@dataclass(frozen=True)
class ExtractedFile:
    member: str  # the name inside the archive
    path: Path  # where it was written
    size: int


@dataclass
class UnpackResult:
    files: list[ExtractedFile] = field(default_factory=list)
    #: (member name, reason) of every member that was not extracted
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _unsafe_reason(member: tarfile.TarInfo) -> str | None:
    """Why ``member`` must not be extracted, or ``None`` if it is a plain file we may take."""
    if member.issym():
        return "symbolic link"
    if member.islnk():
        return "hard link"
    if member.ischr() or member.isblk():
        return "device"
    if member.isfifo():
        return "FIFO"
    if not member.isreg():
        return "not a regular file"
    name = member.name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if ".." in PurePosixPath(name).parts:
        return "path leaves the folder (..)"
    return None


def unpack_tar(
    archive: Path,
    folder: Path,
    *,
    reserved: Collection[str] = (),
    skip: Collection[str] = (),
    fsync: bool = True,
    cancel: threading.Event | None = None,
) -> UnpackResult:
    """Extract the regular files of ``archive`` into ``folder`` (see the module doc).

    ``reserved``: case-folded names other downloads will use in ``folder``; ``skip``: base
    names of members not to extract (already downloaded earlier); ``cancel``: set it to stop
    at the next chunk (the files of this run are then removed and :class:`UnpackError`
    raised).
    """
    folder = Path(folder)
    allocator = NameAllocator(folder, reserved)
    result = UnpackResult()
    try:
        with tarfile.open(archive, "r:*") as tf:
            for member in tf:
                _check(cancel)
                if member.isdir():
                    continue
                reason = _unsafe_reason(member)
                if reason is not None:
                    result.skipped.append((member.name, reason))
                    continue
                base = PurePosixPath(member.name.replace("\\", "/")).name
                if base in skip:
                    continue
                target = allocator.allocate(base)
                if not inside(folder, target):  # by construction; a last line of defence
                    result.skipped.append((member.name, "path leaves the folder"))
                    continue
                source = tf.extractfile(member)
                if source is None:
                    result.skipped.append((member.name, "no data"))
                    continue
                with source:
                    size = _write_file(source, target, member.size, fsync, cancel)
                result.files.append(ExtractedFile(member.name, target, size))
            _check(cancel)
    except (OSError, tarfile.TarError, EOFError, UnpackError) as exc:
        for done in result.files:
            with contextlib.suppress(OSError):
                done.path.unlink()
        if isinstance(exc, UnpackError):
            raise
        raise UnpackError(f"cannot unpack {archive.name}: {exc}") from exc
    return result


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise UnpackError("unpacking was cancelled")


def _write_file(
    source: IO[bytes], target: Path, size: int, fsync: bool, cancel: threading.Event | None
) -> int:
    part = target.with_name(target.name + PART_SUFFIX)
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
    written = 0
    try:
        try:
            while block := source.read(_CHUNK):
                _check(cancel)
                view = memoryview(block)
                while view:
                    n = os.write(fd, view)
                    view = view[n:]
                written += len(block)
            if written != size:
                raise UnpackError(f"{target.name}: {written} bytes, the archive says {size}")
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(part, target)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
    return written
