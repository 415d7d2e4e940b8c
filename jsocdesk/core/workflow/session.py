"""The session's ``export``, ``jobs`` and ``downloads`` sections: one parser, one writer.

:func:`workflow_sections` writes the three sections from live objects;
:func:`parse_workflow` reads them back into a :class:`WorkflowState`, validating everything
before anything is applied (a caller applies it all or nothing).  Section format (each
carries ``format_version`` :data:`SECTION_VERSION`; files without it are version 1):

* ``export``: :class:`ExportOptions` — ``email``, ``merge``, ``headers``, ``methods``
  (record set → ``[method, protocol]``), ``folder`` (absolute path of the download folder),
  ``auto_download``, ``server`` (:class:`~.server.ServerIdentity` as ``{"kind": ...}``);
* ``jobs``: ``{"items": [ExportJob.to_dict(), ...]}``;
* ``downloads``: ``{"items": [DownloadItem.to_json(), ...]}``.

Session files come from anywhere, so the parser is strict: a wrong type, an out-of-range or
non-finite number or invalid text gives :class:`~jsocdesk.core.errors.SessionCorrupt`
naming the item and field; a download whose target is not a plain file directly inside the
session's folder (an absolute path elsewhere, ``../``, a sub-directory, a link out of the
folder) gives :class:`~jsocdesk.core.errors.SessionUnsafe`.  Restored downloads follow the
disk, not the file: a partial download counts the bytes of its ``.part`` file, a ``done``
download whose file is gone (or has another size) is queued again, one that was ``active``
is queued.

:meth:`WorkflowState.writes` says what opening the session will write where, for the user
to see before anything is written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsocdesk.core import jsonfields as jf
from jsocdesk.core.download.item import DownloadItem, DownloadState
from jsocdesk.core.download.names import safe_filename
from jsocdesk.core.errors import SessionCorrupt, SessionUnsafe
from jsocdesk.core.jsoc.export import ExportJob
from jsocdesk.core.jsoc.protocol import ExportFile
from jsocdesk.core.paths import UnsafePath, confine
from jsocdesk.core.session.model import Session
from jsocdesk.core.workflow.plan import ExportMethod, ExportProtocol
from jsocdesk.core.workflow.server import ServerIdentity, is_loopback_url, rebase_url

__all__ = [
    "SECTION_VERSION",
    "ExportOptions",
    "PendingWrites",
    "WorkflowState",
    "apply_workflow",
    "parse_downloads",
    "parse_export_options",
    "parse_jobs",
    "parse_workflow",
    "workflow_sections",
]

S = DownloadState
SECTION_VERSION = 1


@dataclass
class ExportOptions:
    """The export options a session keeps (the Exports tab's, and the download folder)."""

    email: str = ""
    merge: bool = True
    headers: bool = True
    #: the user's method choices: record set → (method, protocol)
    methods: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: the download folder (``None``: the app's default)
    folder: Path | None = None
    auto_download: bool = True
    #: the server the session was made against (``None``: not recorded, older files)
    server: ServerIdentity | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "format_version": SECTION_VERSION,
            "email": self.email,
            "merge": self.merge,
            "headers": self.headers,
            "methods": {rs: list(mp) for rs, mp in self.methods.items()},
            "folder": None if self.folder is None else str(self.folder),
            "auto_download": self.auto_download,
        }
        if self.server is not None:
            d["server"] = self.server.to_dict()
        return d


def _section_version(section: Mapping[str, Any], name: str) -> None:
    version = jf.get_int(section, "format_version", SECTION_VERSION)
    if version > SECTION_VERSION:
        raise SessionCorrupt(
            f"the {name} section has format {version}, newer than this jsocdesk reads "
            f"({SECTION_VERSION}); update jsocdesk to open it"
        )


def parse_export_options(section: Mapping[str, Any]) -> ExportOptions:
    """The ``export`` section (unknown keys are ignored; missing ones take defaults)."""
    try:
        _section_version(section, "export")
        methods: dict[str, tuple[str, str]] = {}
        raw_methods = section.get("methods")
        if raw_methods is not None:
            for rs, mp in jf.get_object(raw_methods, "'methods'").items():
                jf.check_text(rs, "'methods'")
                if (
                    isinstance(mp, list)
                    and len(mp) == 2
                    and ExportMethod.parse(mp[0]) is not None
                    and ExportProtocol.parse(mp[1]) is not None
                ):
                    methods[rs] = (mp[0], mp[1])
                else:
                    raise jf.FieldError(f"'methods': {mp!r:.60} is not [method, protocol]")
        folder_text = jf.get_opt_str(section, "folder")
        folder = None
        if folder_text:
            if "\x00" in folder_text or not os.path.isabs(folder_text):
                raise jf.FieldError(f"'folder' must be an absolute path, not {folder_text!r:.80}")
            folder = Path(os.path.normpath(folder_text))
        server = section.get("server")
        return ExportOptions(
            email=jf.get_str(section, "email", "").strip(),
            merge=jf.get_bool(section, "merge", True),
            headers=jf.get_bool(section, "headers", True),
            methods=methods,
            folder=folder,
            auto_download=jf.get_bool(section, "auto_download", True),
            server=None if server is None else ServerIdentity.from_dict(server),
        )
    except jf.FieldError as exc:
        raise SessionCorrupt(f"the export options are invalid: {exc}") from None


def parse_jobs(section: Mapping[str, Any]) -> list[ExportJob]:
    """The ``jobs`` section: the export jobs to show and re-attach."""
    try:
        _section_version(section, "jobs")
        raw = jf.get_list(section, "items", [])
    except jf.FieldError as exc:
        raise SessionCorrupt(f"the jobs section is invalid: {exc}") from None
    jobs = []
    for i, d in enumerate(raw, start=1):
        try:
            jobs.append(ExportJob.from_dict(d))
        except ValueError as exc:
            raise SessionCorrupt(f"export job {i} of the session is invalid: {exc}") from None
    return jobs


def _confine(folder: Path, target_text: str, what: str) -> Path:
    """The target of a download, if it is a plain file name directly in ``folder``.

    :func:`jsocdesk.core.paths.confine` (the one path check of every writer) first, then
    this section's stricter rule: one safe name directly in the folder.
    """
    refused = SessionUnsafe(
        f"{what} would write {target_text!r:.200}, which is not a file directly in the "
        f"session's download folder {str(folder)!r}"
    )
    if "\x00" in target_text:
        raise SessionUnsafe(f"{what}: its target is not a valid path")
    try:
        confined = confine(folder, target_text)
    except UnsafePath:
        raise refused from None
    name = confined.name
    if confined.parent != Path(os.path.realpath(folder)) or safe_filename(name) != name:
        raise refused
    if os.path.islink(confined):  # a link planted at the name: never written through
        raise refused
    return folder / name


def _part_size(item: DownloadItem) -> int:
    try:
        return item.part_path.stat().st_size
    except OSError:
        return 0


def parse_downloads(section: Mapping[str, Any], folder: Path) -> list[DownloadItem]:
    """The ``downloads`` section, every target confined to ``folder`` (see the module doc);
    states follow the disk."""
    try:
        _section_version(section, "downloads")
        raw = jf.get_list(section, "items", [])
    except jf.FieldError as exc:
        raise SessionCorrupt(f"the downloads section is invalid: {exc}") from None
    folder = Path(os.path.normpath(folder))
    items: list[DownloadItem] = []
    ids: set[str] = set()
    targets: set[str] = set()
    for i, d in enumerate(raw, start=1):
        what = f"download {i} of the session"
        try:
            item = DownloadItem.from_json(d)
        except ValueError as exc:
            raise SessionCorrupt(f"{what} is invalid: {exc}") from None
        item.target = _confine(folder, str(item.target), what)
        for name, _size in item.extracted:
            if not name or safe_filename(name) != name:
                raise SessionUnsafe(
                    f"{what} lists an unpacked file {name!r:.100} outside its folder"
                )
        if item.id in ids:
            raise SessionCorrupt(f"{what} repeats the id {item.id!r:.60}")
        if item.target.name.casefold() in targets and item.state is not S.CANCELLED:
            raise SessionCorrupt(f"{what} repeats the target {item.target.name!r}")
        ids.add(item.id)
        if item.state is not S.CANCELLED:
            targets.add(item.target.name.casefold())
        _follow_disk(item)
        items.append(item)
    return items


def _follow_disk(item: DownloadItem) -> None:
    if item.state is S.ACTIVE:  # was running when saved: resume it
        item.state = S.QUEUED
    if item.state is S.DONE:
        if not item.outputs_present():  # deleted or changed since: fetch it again
            item.state = S.QUEUED
            item.bytes_done = 0
            item.extracted = []
            item.error = None
    elif item.state is not S.CANCELLED:
        item.bytes_done = _part_size(item)


@dataclass(frozen=True)
class PendingWrites:
    """What opening a session will write: into which folder, how many downloads (and how
    many bytes they already have), how many of them would replace a file that is already
    there, how many running exports will download there."""

    folder: Path
    downloads: int
    partial_bytes: int
    exports: int
    replaces: int = 0

    @classmethod
    def of(cls, folder: Path, items: Iterable[DownloadItem], exports: int) -> PendingWrites:
        """The writes of resuming ``items`` (blocking: a ``stat`` per item)."""
        waiting = list(items)
        return cls(
            folder,
            len(waiting),
            sum(it.bytes_done for it in waiting),
            exports,
            sum(1 for it in waiting if os.path.lexists(it.target)),
        )

    @property
    def nothing(self) -> bool:
        return self.downloads == 0 and self.exports == 0

    def describe(self) -> str:
        parts = []
        if self.downloads:
            have = f", {self.partial_bytes:,} bytes already here" if self.partial_bytes else ""
            parts.append(f"{self.downloads} download(s) to resume{have}")
        if self.replaces:
            parts.append(f"{self.replaces} of them would replace a file already there")
        if self.exports:
            parts.append(f"{self.exports} running export(s) whose files will be downloaded")
        return f"{'; '.join(parts) or 'nothing'} — into {self.folder}"


@dataclass
class WorkflowState:
    """The workflow part of a session, parsed and validated."""

    options: ExportOptions
    jobs: list[ExportJob]
    downloads: list[DownloadItem]
    folder: Path

    def writes(self) -> PendingWrites:
        waiting = [it for it in self.downloads if it.state in (S.QUEUED, S.ACTIVE)]
        exports = sum(1 for j in self.jobs if not j.state.finished)
        return PendingWrites.of(self.folder, waiting, exports if self.options.auto_download else 0)

    def rebase(self, base_url: str) -> int:
        """Move every loopback URL (a demo session's) to ``base_url``; returns how many
        changed.  For reopening a demo session on the demo server's new port."""
        changed = 0
        for item in self.downloads:
            if is_loopback_url(item.url):
                new = rebase_url(item.url, base_url)
                changed += new != item.url
                item.url = new
        for job in self.jobs:
            files = [
                ExportFile(f.record, f.filename, rebase_url(f.url, base_url))
                if is_loopback_url(f.url)
                else f
                for f in job.files
            ]
            changed += sum(a.url != b.url for a, b in zip(files, job.files, strict=True))
            job.files = files
            if job.tar_url and is_loopback_url(job.tar_url):
                new = rebase_url(job.tar_url, base_url)
                changed += new != job.tar_url
                job.tar_url = new
        return changed


def parse_workflow(session: Session, *, default_folder: Path) -> WorkflowState:
    """Parse and validate the three sections of ``session`` (nothing is applied).

    ``default_folder`` is the download folder when the session names none.  Raises
    :class:`~jsocdesk.core.errors.SessionCorrupt` (or its :class:`SessionUnsafe`)."""
    options = parse_export_options(session.export)
    folder = options.folder or Path(os.path.abspath(default_folder))
    jobs = parse_jobs(session.jobs)
    downloads = parse_downloads(session.downloads, folder)
    return WorkflowState(options, jobs, downloads, Path(os.path.normpath(folder)))


def workflow_sections(
    options: ExportOptions, jobs: Iterable[ExportJob], downloads: Iterable[DownloadItem]
) -> dict[str, dict[str, Any]]:
    """The ``export``, ``jobs`` and ``downloads`` sections for these objects."""
    return {
        "export": options.to_dict(),
        "jobs": {"format_version": SECTION_VERSION, "items": [j.to_dict() for j in jobs]},
        "downloads": {
            "format_version": SECTION_VERSION,
            "items": [it.to_json() for it in downloads],
        },
    }


def apply_workflow(
    session: Session,
    options: ExportOptions,
    jobs: Iterable[ExportJob],
    downloads: Iterable[DownloadItem],
) -> Session:
    """``session`` with its three sections written from these objects (returned)."""
    sections = workflow_sections(options, jobs, downloads)
    session.export, session.jobs, session.downloads = (
        sections["export"],
        sections["jobs"],
        sections["downloads"],
    )
    return session
