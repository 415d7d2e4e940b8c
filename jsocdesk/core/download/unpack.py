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
  still there for a retry;
* extracting again after a kill is idempotent: a file already at a member's name with the
  member's exact bytes *is* that member (it was renamed into place complete) and is taken
  as it is, not written again as ``NAME (2).fits``; a ``NAME.part`` left by the killed run
  (no other download of the queue uses that name) is removed first;
* bounded: at most ``max_bytes`` in total and ``max_members`` files (a tar bomb stops with
  :class:`UnpackError`, and what it wrote is removed).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tarfile
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from jsocdesk.core.download.names import PART_SUFFIX, NameAllocator, safe_filename
from jsocdesk.core.errors import DownloadError
from jsocdesk.core.paths import UnsafePath, confine

_CHUNK = 1 << 20
#: default bounds of one extraction (see :func:`unpack_tar`)
MAX_MEMBERS = 1_000_000


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
    max_bytes: int | None = None,
    max_members: int = MAX_MEMBERS,
) -> UnpackResult:
    """Extract the regular files of ``archive`` into ``folder`` (see the module doc).

    ``reserved``: case-folded names other downloads will use in ``folder``; ``skip``: base
    names of members not to extract (already downloaded earlier); ``cancel``: set it to stop
    at the next chunk (the files of this run are then removed and :class:`UnpackError`
    raised).  ``max_bytes`` (default: 64 × the archive's size, at least 1 GiB) and
    ``max_members`` bound what one archive may write.
    """
    folder = Path(folder)
    allocator = NameAllocator(folder, reserved)
    result = UnpackResult()
    written: list[Path] = []  # files this run created (removed again on failure)
    if max_bytes is None:
        max_bytes = max(64 * os.path.getsize(archive), 1 << 30)
    total = 0
    count = 0
    try:
        with tarfile.open(archive, "r:*") as tf:
            for member in tf:
                _check(cancel)
                if member.isdir():
                    continue
                count += 1
                if count > max_members:
                    raise UnpackError(
                        f"{archive.name}: more than {max_members:,} files; not unpacked"
                    )
                reason = _unsafe_reason(member)
                if reason is not None:
                    result.skipped.append((member.name, reason))
                    continue
                base = PurePosixPath(member.name.replace("\\", "/")).name
                if base in skip:
                    continue
                total += member.size
                if total > max_bytes:
                    raise UnpackError(
                        f"{archive.name}: its files would take more than {max_bytes:,} bytes "
                        "(an archive bomb?); not unpacked"
                    )
                earlier = _earlier_copy(tf, member, folder, base, allocator, reserved)
                if earlier is not None:
                    result.files.append(ExtractedFile(member.name, earlier, member.size))
                    continue
                target = allocator.allocate(base)
                try:  # inside by construction; the one path check of every writer
                    confine(folder, target.name)
                except UnsafePath:
                    result.skipped.append((member.name, "path leaves the folder"))
                    continue
                source = tf.extractfile(member)
                if source is None:
                    result.skipped.append((member.name, "no data"))
                    continue
                with source:
                    size = _write_file(source, target, member.size, fsync, cancel)
                written.append(target)
                result.files.append(ExtractedFile(member.name, target, size))
            _check(cancel)
    except (OSError, tarfile.TarError, EOFError, UnpackError) as exc:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        if isinstance(exc, UnpackError):
            raise
        raise UnpackError(f"cannot unpack {archive.name}: {exc}") from exc
    return result


def _earlier_copy(
    tf: tarfile.TarFile,
    member: tarfile.TarInfo,
    folder: Path,
    base: str,
    allocator: NameAllocator,
    reserved: Collection[str],
) -> Path | None:
    """The file a killed earlier extraction of ``member`` left at its name, if it holds the
    member's exact bytes (then it is reserved and returned); clears a stale ``NAME.part``."""
    name = safe_filename(base)
    folded = name.casefold()
    if folded in reserved or allocator.is_taken(name):
        return None
    path = folder / name
    part = folder / (name + PART_SUFFIX)
    with contextlib.suppress(OSError):
        if stat.S_ISREG(os.lstat(part).st_mode):
            part.unlink()  # written by a run that was killed; no download uses this name
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_size != member.size:
        return None
    source = tf.extractfile(member)
    if source is None:
        return None
    with source, open(path, "rb") as mine:
        while True:
            a = source.read(_CHUNK)
            if a != mine.read(len(a) or 1):
                return None
            if not a:
                break
    allocator.reserve(name)
    return path


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
