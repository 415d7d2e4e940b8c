"""Safe local file names for server-provided names.

A JSOC export lists file names chosen by the server (``filenamefmt``) or derived from URLs;
a hostile or broken server could send ``../../.bashrc``, ``/etc/passwd``, ``CON``, names with
NULs or 4 KB long.  :func:`safe_filename` turns any string into one harmless path component
that is valid on Linux, macOS and Windows alike (so a session behaves the same everywhere);
:class:`NameAllocator` gives every download in a folder a distinct name with a deterministic
collision suffix (``name (2).fits``, ``name (3).fits`` ...) and :func:`inside` proves that a
path stays inside the chosen folder.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Collection
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jsocdesk.core.text import UNSAFE_CHARS, strip_surrogates

#: the longest file name we produce, in UTF-8 bytes.  Most file systems allow 255; we keep
#: room for a collision suffix and the ``.part`` extension of the partial file.
MAX_NAME_BYTES = 200

#: names Windows refuses whatever the extension (``CON.txt`` is still the console).
_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in range(10)}
    | {f"LPT{i}" for i in range(10)}
    | {"COM¹", "COM²", "COM³", "LPT¹", "LPT²", "LPT³"}
)
# control characters, separators of every platform, and what Windows forbids in names
_BAD_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_FALLBACK = "download"
PART_SUFFIX = ".part"


def safe_filename(name: str, *, fallback: str = _FALLBACK) -> str:
    """Return a single, harmless file name for a server-provided ``name``.

    Only the last path component is kept (``/SUM1/D2/S0/image.fits`` → ``image.fits``, on
    either separator); control characters, NULs and characters invalid on Windows become
    ``_``; leading dots (hidden files, ``..``) and trailing dots/spaces are stripped; reserved
    device names get a leading ``_``; over-long names are shortened keeping the extension.
    Never returns an empty string, ``.`` or ``..``.
    """
    # lone surrogates cannot be written to a file system; bidi overrides and zero-width
    # characters would make a name look like another one (``a\u202eslif.exe``)
    text = unicodedata.normalize("NFC", strip_surrogates(name))
    text = UNSAFE_CHARS.sub("_", text)
    text = text.replace("\\", "/")
    component = text.rstrip("/").rsplit("/", 1)[-1]
    component = _BAD_CHARS.sub("_", component)
    component = component.strip(" ").lstrip(".").rstrip(". ")
    if not component or set(component) <= {"_"}:
        component = fallback
    stem = component.split(".", 1)[0]
    if stem.upper().rstrip(" ") in _RESERVED:
        component = "_" + component
    if component.lower().endswith(PART_SUFFIX):
        # our own partial files must never be confused with a final name
        component += "_"
    return _shorten(component, MAX_NAME_BYTES)


def filename_from_url(url: str, *, fallback: str = _FALLBACK) -> str:
    """The safe file name a URL's path ends with (percent-decoded)."""
    path = unquote(urlsplit(url).path)
    return safe_filename(path, fallback=fallback)


_RECORD = re.compile(r"^(?P<series>[^\[\]{}]+)(?P<keys>(?:\[[^\[\]]*\])*)\{(?P<seg>[^{}]+)\}$")
_TIME_VALUE = re.compile(r"^\d{4}[.-]\d{2}[.-]\d{2}[_T]")


def name_from_record(record: str, filename: str = "") -> str:
    """A readable, unique local name for a file listed as ``record`` (with ``{segment}``).

    JSOC's quick exports list raw SUMS paths whose names repeat (every HMI Dopplergram is
    ``Dopplergram.fits``), so like drms the name is built from the record instead:
    ``hmi.V_45s[2016.04.01_00:00:00_TAI][2]{Dopplergram}`` + ``.../Dopplergram.fits`` →
    ``hmi.v_45s.20160401_000000_TAI.2.Dopplergram.fits`` (time values lose ``.``, ``:``
    and ``-``).  Falls back to the safe base name of ``filename`` if ``record`` does not
    have that shape.
    """
    m = _RECORD.match(record.strip())
    if not m:
        return safe_filename(filename or record)
    values = [v.strip() for v in re.findall(r"\[([^\[\]]*)\]", m["keys"]) if v.strip()]
    values = [re.sub(r"[.:-]", "", v) if _TIME_VALUE.match(v) else v for v in values]
    seg = m["seg"].strip()
    _, ext = _split_ext(filename.rsplit("/", 1)[-1]) if filename else ("", "")
    if ext and seg.lower().endswith(ext.lower()):
        ext = ""
    return safe_filename(".".join([m["series"].strip().lower(), *values, seg]) + ext)


def _split_ext(name: str) -> tuple[str, str]:
    """``a.b.fits`` → (``a.b``, ``.fits``); extensions longer than 16 chars don't count."""
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > 16:
        return name, ""
    return stem, "." + ext


def _shorten(name: str, max_bytes: int) -> str:
    if len(name.encode("utf-8")) <= max_bytes:
        return name
    stem, ext = _split_ext(name)
    budget = max_bytes - len(ext.encode("utf-8"))
    if budget < 8:  # absurd "extension": cut the whole thing
        stem, ext, budget = name, "", max_bytes
    cut = stem.encode("utf-8")[:budget].decode("utf-8", errors="ignore").rstrip(". ")
    return (cut or _FALLBACK) + ext


def with_suffix_number(name: str, n: int) -> str:
    """``image.fits``, 2 → ``image (2).fits`` (still within :data:`MAX_NAME_BYTES`)."""
    stem, ext = _split_ext(name)
    tail = f" ({n}){ext}"
    room = MAX_NAME_BYTES - len(tail.encode("utf-8"))
    stem = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore")
    return stem + tail


def inside(folder: Path, path: Path) -> bool:
    """True if ``path`` (resolved) lies inside ``folder`` (resolved)."""
    root = os.path.realpath(folder)
    target = os.path.realpath(path)
    return os.path.commonpath([root, target]) == root and target != root


class NameAllocator:
    """Hands out distinct safe names inside one folder, deterministically.

    Names already used by other downloads (``reserved``) and files or partial files already
    on disk count as taken; comparison is case-insensitive so the result is also safe on
    case-insensitive file systems.  Allocating the same sequence of names against the same
    folder state always gives the same result.
    """

    def __init__(
        self,
        folder: Path,
        reserved: Collection[str] = (),
        hints: dict[str, int] | None = None,
    ) -> None:
        """``reserved``: case-folded names used by other downloads (looked up, not copied,
        so a queue can pass its live index).  ``hints``: case-folded base name → last
        collision number handed out, kept by the caller across allocators so that the
        10 000th ``Dopplergram.fits`` does not test 9 999 taken names first."""
        self.folder = Path(folder)
        self._reserved = reserved
        self._taken: set[str] = set()
        self._hints = hints if hints is not None else {}

    def reserve(self, name: str) -> None:
        self._taken.add(name.casefold())

    def is_taken(self, name: str) -> bool:
        """True if this allocator handed out (or was told to reserve) ``name``."""
        return name.casefold() in self._taken

    def _free(self, name: str) -> bool:
        folded = name.casefold()
        if folded in self._taken or folded in self._reserved:
            return False
        folder = self.folder
        return not (
            os.path.lexists(folder / name) or os.path.lexists(folder / (name + PART_SUFFIX))
        )

    def allocate(self, raw_name: str) -> Path:
        base = safe_filename(raw_name)
        folded = base.casefold()
        n = self._hints.get(folded, 1)
        name = base if n == 1 else with_suffix_number(base, n)
        while not self._free(name):
            n += 1
            name = with_suffix_number(base, n)
        self._hints[folded] = n
        self._taken.add(name.casefold())
        # ``name`` is one component (no separator, not ``.``/``..``) and nothing exists under
        # it (``_free`` checked with lexists, so not even a planted symlink): the path is
        # inside the folder by construction, no realpath needed
        if "/" in name or "\\" in name or name in (".", ".."):
            raise ValueError(f"unsafe file name {name!r}")
        return self.folder / name
