"""Where jsocdesk keeps its files: platformdirs, overridable (tests use tmp dirs).

``JSOCDESK_CONFIG_DIR``, ``JSOCDESK_DATA_DIR``, ``JSOCDESK_CACHE_DIR`` and
``JSOCDESK_LOG_DIR`` override the platform defaults; the test suite sets all of them.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import platformdirs

from jsocdesk.core.errors import JsocdeskError

APP_NAME = "jsocdesk"


@dataclass(frozen=True)
class AppPaths:
    config: Path
    data: Path
    cache: Path
    log: Path

    @classmethod
    def from_environment(cls) -> AppPaths:
        def pick(var: str, default: str) -> Path:
            value = os.environ.get(var)
            return Path(value) if value else Path(default)

        return cls(
            config=pick("JSOCDESK_CONFIG_DIR", platformdirs.user_config_dir(APP_NAME)),
            data=pick("JSOCDESK_DATA_DIR", platformdirs.user_data_dir(APP_NAME)),
            cache=pick("JSOCDESK_CACHE_DIR", platformdirs.user_cache_dir(APP_NAME)),
            log=pick("JSOCDESK_LOG_DIR", platformdirs.user_log_dir(APP_NAME)),
        )

    @property
    def demo_data(self) -> Path:
        """The demo server's data directory (its exports and files persist across runs, so
        a demo session's partial downloads resume against the same copies)."""
        return self.cache / "demo-server"

    def ensure(self) -> AppPaths:
        for p in (self.config, self.data, self.cache, self.log):
            p.mkdir(parents=True, exist_ok=True)
        return self


class UnsafePath(JsocdeskError, ValueError):
    """A path from data (a session file, a server answer) would leave its folder."""

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


def confine(root: str | os.PathLike[str], path: str | os.PathLike[str]) -> Path:
    """The absolute path of ``path`` inside ``root``, or :class:`UnsafePath`.

    The one check every writer of a path that came from data uses (session targets, server
    file names, archive members).  ``path`` may be relative to ``root`` (``a.fits``,
    ``sub/a.fits``) or absolute when it already lies inside ``root``.  Refused: empty paths,
    NULs, ``..`` components, a Windows drive or UNC prefix, anything that names ``root``
    itself, and a path that leaves ``root`` through a symbolic link of an existing
    directory on the way (``root`` itself may be a link: it is resolved first).  The result
    is ``realpath(root) / relative`` with the last component unresolved, so a link planted at
    the final name is not followed here (writers open with ``O_EXCL`` or replace it).
    """
    text = os.fspath(path)
    if isinstance(text, bytes):  # pragma: no cover - typed callers pass str
        text = text.decode("utf-8", "surrogateescape")
    if not text or "\x00" in text:
        raise UnsafePath(f"unusable path {text!r}", text)
    base = Path(os.path.realpath(root))
    norm = text.replace("\\", "/")
    if (len(norm) > 1 and norm[1] == ":") or norm.startswith("//"):
        raise UnsafePath(f"{text!r} names another drive or host", text)
    candidate = Path(norm)
    if candidate.is_absolute():
        lexical_root = Path(os.path.abspath(root))
        rel: PurePosixPath | None = None
        for anchor in (lexical_root, base):
            try:
                rel = PurePosixPath(Path(os.path.normpath(norm)).relative_to(anchor).as_posix())
                break
            except ValueError:
                continue
        if rel is None or ".." in PurePosixPath(norm).parts:
            raise UnsafePath(f"{text!r} is outside the folder {str(base)!r}", text)
    else:
        rel = PurePosixPath(norm)
        if ".." in rel.parts:
            raise UnsafePath(f"{text!r} leaves the folder {str(base)!r} (..)", text)
    parts = [p for p in rel.parts if p not in ("", ".")]
    if not parts:
        raise UnsafePath(f"{text!r} names the folder itself, not a file in it", text)
    target = base.joinpath(*parts)
    # every existing directory on the way must still be inside the folder (no link escape)
    parent = os.path.realpath(target.parent)
    if os.path.commonpath([str(base), parent]) != str(base):
        raise UnsafePath(f"{text!r} leads outside the folder {str(base)!r} (link)", text)
    return target


class UnreadableFile(JsocdeskError, OSError):
    """A file given as data is not a regular file of a sensible size."""


def read_bounded(path: str | os.PathLike[str], limit: int, what: str = "file") -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Refuses (:class:`UnreadableFile`) what is not a regular file after following links —
    a FIFO (which would block the reader forever), ``/dev/zero`` or ``/dev/urandom``
    (endless), a directory — and files over ``limit`` bytes, without reading them.  The
    open is non-blocking, so not even opening a FIFO without a writer hangs.
    """
    p = os.fspath(path)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise UnreadableFile(f"cannot read {p}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = (
                "a FIFO"
                if stat.S_ISFIFO(st.st_mode)
                else "a device"
                if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "a directory"
                if stat.S_ISDIR(st.st_mode)
                else "not a regular file"
            )
            raise UnreadableFile(f"cannot read {p}: it is {kind}, not a {what}")
        if st.st_size > limit:
            raise UnreadableFile(
                f"cannot read {p}: {st.st_size:,} bytes, more than a {what} may have ({limit:,})"
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # grew while we read (or a lying file system)
                raise UnreadableFile(f"cannot read {p}: more than {limit:,} bytes")
        return b"".join(chunks)
    except OSError as exc:
        if isinstance(exc, UnreadableFile):
            raise
        raise UnreadableFile(f"cannot read {p}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
