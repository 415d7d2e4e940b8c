"""The files of a finished export: what to download, under which local name, into a folder.

One naming rule (:func:`local_name`) for every exported file, whoever downloads it (the
window, ``jsocdesk fetch``):

* a file listed with its segment (``url_quick``/``as-is``:
  ``hmi.v_45s[2014.01.01_00:00:45_TAI][2]{Dopplergram}`` + ``.../S00008/Dopplergram.fits``)
  is named after its record like drms does (:func:`~jsocdesk.core.download.names.name_from_record`):
  ``hmi.v_45s.20140101_000045_TAI.2.Dopplergram.fits``;
* a file JSOC named from ``filenamefmt`` (``hmi.v_45s.20140101_000045_TAI.2.Dopplergram.fits``,
  it starts with the series name) keeps its name;
* any other file gets the record's key values folded in front of its base name, by the same
  rule.

Every name is made safe (:func:`~jsocdesk.core.download.names.safe_filename`) and unique in
its folder by the download queue.  A ``url-tar`` export is one archive, unpacked into the
folder with its members' (safe) names — for ``fits`` exports the same names as above.

:func:`enqueue_export` is the one step from a finished :class:`ExportJob` to download items.
A file the catalogue already has elsewhere is not downloaded again: the download engine
hard-links (or copies) it into the requested folder, so a reported path always holds its
file (see :meth:`DownloadEngine <jsocdesk.core.download.engine.DownloadEngine>`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from jsocdesk.core.download.catalog import Catalog, archive_member_keys, catalog_key
from jsocdesk.core.download.names import filename_from_url, name_from_record, safe_filename
from jsocdesk.core.jsoc.protocol import ExportFile

if TYPE_CHECKING:
    from jsocdesk.core.download.item import DownloadItem
    from jsocdesk.core.download.queue import DownloadQueue
    from jsocdesk.core.jsoc.export import ExportJob

__all__ = ["ExportDownload", "enqueue_export", "export_downloads", "local_name"]


def local_name(file: ExportFile) -> str:
    """The local file name of an exported file (see the module docstring)."""
    record = file.record.strip()
    base = PurePosixPath(file.filename.replace("\\", "/")).name or filename_from_url(file.url)
    if record.endswith("}"):
        return name_from_record(record, base)
    series = record.split("[", 1)[0].split("{", 1)[0].strip().lower()
    if not series or base.lower().startswith(series + "."):
        return safe_filename(base)
    return name_from_record(f"{record}{{{base}}}", base)


@dataclass(frozen=True)
class ExportDownload:
    """One download of a finished export: a file, or (``member_keys`` set) the ``url-tar``
    archive to unpack, with the catalogue key of each member by its base name."""

    url: str
    name: str
    key: str | None
    member_keys: dict[str, str] | None = field(default=None, hash=False)

    @property
    def unpack(self) -> bool:
        return self.member_keys is not None


def export_downloads(job: ExportJob, catalog: Catalog | None = None) -> list[ExportDownload]:
    """What to download for the finished ``job``.

    A ``url-tar`` export is one archive to unpack, unless ``catalog`` already has every one
    of its files on disk: then its files are listed one by one (the engine then links or
    copies them from where they are, nothing is downloaded).
    """
    singles = [
        ExportDownload(f.url, local_name(f), catalog_key(f.record, f.filename, job.protocol))
        for f in job.files
    ]
    if job.tar_url and not _all_catalogued(singles, catalog):
        name = safe_filename(PurePosixPath(job.tar_url).name or f"{job.requestid}.tar")
        members = archive_member_keys(job.files, job.protocol)
        return [ExportDownload(job.tar_url, name, None, members)]
    return singles


def _all_catalogued(files: list[ExportDownload], catalog: Catalog | None) -> bool:
    if catalog is None or not files:
        return False
    return all(f.key is not None and catalog.lookup(f.key) is not None for f in files)


def enqueue_export(queue: DownloadQueue, job: ExportJob, folder: Path) -> list[DownloadItem]:
    """Queue the files of the finished ``job`` for download into ``folder``; returns the
    items (existing ones when the queue already has the same files)."""
    return [
        queue.add(
            d.url, Path(folder), name=d.name, key=d.key, unpack=d.unpack, member_keys=d.member_keys
        )
        for d in export_downloads(job, queue.catalog)
    ]
