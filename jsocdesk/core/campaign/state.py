"""The persisted state of a campaign: its chunks and where each one is.

A chunk goes ``pending → submitted → ready → downloading → done``; ``failed`` when its
export or its downloads failed more often than allowed (the others carry on).  A chunk
that was too large for the server is replaced in place by its parts, so the chunks always
partition the query.  The state is versioned JSON (``format_version``), written atomically;
a file from a newer jsocdesk is refused, a malformed one raises :class:`CampaignStateError`.
It holds each chunk's export job (request id, files), so a campaign resumes after a restart
or a kill: submitted chunks are followed by request id, ready ones are downloaded again
(finished files are recognised by the download catalogue).
"""

from __future__ import annotations

import gc
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsocdesk.core.atomic import atomic_write_text
from jsocdesk.core.campaign.split import Caps
from jsocdesk.core.errors import JsocdeskError
from jsocdesk.core.events import EventedList, Signal
from jsocdesk.core.jsoc.export import ExportJob
from jsocdesk.core.jsoc.protocol import ExportFile

if TYPE_CHECKING:
    from jsocdesk.core.campaign.plan import CampaignPlan

FORMAT_VERSION = 1


class CampaignStateError(JsocdeskError):
    """A campaign state that cannot be read (corrupt, or from a newer jsocdesk)."""


class ChunkState(StrEnum):
    PENDING = "pending"
    SUBMITTED = "submitted"
    READY = "ready"
    DOWNLOADING = "downloading"
    DONE = "done"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        return self in (ChunkState.DONE, ChunkState.FAILED)


@dataclass(eq=False)
class Chunk:
    """One export of a campaign."""

    recordset: str
    records: int
    est_bytes: float | None = None
    state: ChunkState = ChunkState.PENDING
    attempts: int = 0
    error: str = ""
    job: ExportJob | None = None
    #: export method/protocol of this chunk (empty: the campaign's), its JSOC processing
    method: str = ""
    protocol: str = ""
    process: str | None = None
    files_done: int = 0
    files_failed: int = 0
    bytes_done: int = 0
    submitted_at: float | None = None
    ready_at: float | None = None
    finished_at: float | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])

    @property
    def requestid(self) -> str:
        return self.job.requestid if self.job is not None else ""

    @property
    def n_files(self) -> int:
        return len(self.job.files) if self.job is not None else 0

    @property
    def staging_seconds(self) -> float | None:
        if self.submitted_at is None or self.ready_at is None:
            return None
        return max(0.0, self.ready_at - self.submitted_at)

    def to_dict(self) -> dict[str, Any]:
        job = None
        if self.job is not None:
            job = self.job.to_dict()
            # compact file rows: 100,000 files must load in well under a second
            job["files"] = [[f.record, f.filename, f.url] for f in self.job.files]
        return {
            "id": self.id,
            "recordset": self.recordset,
            "records": self.records,
            "est_bytes": self.est_bytes,
            "state": self.state.value,
            "attempts": self.attempts,
            "error": self.error,
            "job": job,
            "method": self.method,
            "protocol": self.protocol,
            "process": self.process,
            "files_done": self.files_done,
            "files_failed": self.files_failed,
            "bytes_done": self.bytes_done,
            "submitted_at": self.submitted_at,
            "ready_at": self.ready_at,
            "finished_at": self.finished_at,
        }

    @classmethod
    def from_dict(cls, d: Any) -> Chunk:
        if not isinstance(d, dict):
            raise ValueError("chunk: expected an object")
        raw_job = d.get("job")
        job = None
        if raw_job is not None:
            if not isinstance(raw_job, dict):
                raise ValueError("chunk job: expected an object")
            files = raw_job.get("files", [])
            if not isinstance(files, list):
                raise ValueError("chunk job files: expected a list")
            job = ExportJob.from_dict({**raw_job, "files": []})
            job.files = [_file_row(f) for f in files]
        est = d.get("est_bytes")
        return cls(
            id=str(d.get("id") or uuid.uuid4().hex[:12]),
            recordset=str(d["recordset"]),
            records=int(d.get("records", 0)),
            est_bytes=None if est is None else float(est),
            state=ChunkState(d.get("state", "pending")),
            attempts=int(d.get("attempts", 0)),
            error=str(d.get("error", "")),
            job=job,
            method=str(d.get("method", "")),
            protocol=str(d.get("protocol", "")),
            process=_opt_str(d.get("process")),
            files_done=int(d.get("files_done", 0)),
            files_failed=int(d.get("files_failed", 0)),
            bytes_done=int(d.get("bytes_done", 0)),
            submitted_at=_opt_float(d.get("submitted_at")),
            ready_at=_opt_float(d.get("ready_at")),
            finished_at=_opt_float(d.get("finished_at")),
        )


def _file_row(f: Any) -> ExportFile:
    """One file of a chunk's export: the compact ``[record, filename, url]`` row (or the
    export job's own ``{"record", "filename", "url"}`` object); strings only."""
    if isinstance(f, list) and len(f) == 3:
        record, filename, url = f
    elif isinstance(f, dict):
        record, filename, url = f.get("record"), f.get("filename"), f.get("url")
    else:
        raise ValueError("chunk job file: expected [record, filename, url]")
    if not (isinstance(record, str) and isinstance(filename, str) and isinstance(url, str)):
        raise ValueError("chunk job file: record, filename and url must be strings")
    return ExportFile(record, filename, url)


def _opt_str(v: Any) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str):
        raise ValueError("chunk process: expected a string")
    return v


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)


@dataclass(frozen=True)
class CampaignTotals:
    chunks: int
    done: int
    failed: int
    active: int
    records: int
    files: int
    files_done: int
    bytes_done: int
    est_bytes: float | None


class Campaign:
    """A query turned into chunks, with their states.

    ``chunks`` is an :class:`EventedList` (a Qt model adapts it); :attr:`changed` is emitted
    with a chunk whenever its state or progress changes (and after the chunks were replaced,
    with ``None``).  Everything that must survive a restart is in :meth:`to_dict`.
    """

    def __init__(
        self,
        chunks: Iterable[Chunk],
        *,
        email: str,
        method: str = "url",
        protocol: str = "fits",
        query_records: int = 0,
        caps: Caps | None = None,
        bytes_per_record: float | None = None,
        max_attempts: int = 3,
        title: str = "",
        source: Iterable[str] = (),
        folder: str = "",
        campaign_id: str | None = None,
        created: float | None = None,
    ) -> None:
        self.id = campaign_id or uuid.uuid4().hex[:12]
        self.title = title
        #: the record sets of the query this campaign covers (to recognise it on a rerun)
        self.source = list(source)
        #: where its files go (empty: the caller decides)
        self.folder = folder
        self.created = time.time() if created is None else created
        self.email = email
        self.method = method
        self.protocol = protocol
        self.query_records = query_records
        self.caps = caps or Caps()
        self.bytes_per_record = bytes_per_record
        self.max_attempts = max_attempts
        self.chunks: EventedList[Chunk] = EventedList(chunks)
        self.changed = Signal("changed")
        #: when a chunk last changed (the newer of two saved copies wins)
        self.updated = self.created

    @classmethod
    def from_plan(
        cls,
        plan: CampaignPlan,
        *,
        email: str,
        method: str = "url",
        protocol: str = "fits",
        max_attempts: int = 3,
        title: str = "",
        source: Iterable[str] = (),
        folder: str = "",
    ) -> Campaign:
        """A new campaign with one pending chunk per planned chunk."""
        known = [b for b in plan.bytes_per_record if b is not None]
        return cls(
            [
                Chunk(
                    c.recordset,
                    c.records,
                    est_bytes=c.est_bytes,
                    method=plan.blocks[c.block].method,
                    protocol=plan.blocks[c.block].protocol,
                    process=plan.blocks[c.block].process,
                )
                for c in plan.chunks
            ],
            email=email,
            method=method,
            protocol=protocol,
            query_records=plan.total_records,
            caps=plan.caps,
            bytes_per_record=known[0] if len(known) == 1 else None,
            max_attempts=max_attempts,
            title=title,
            source=source or [b.recordset for b in plan.blocks],
            folder=folder,
        )

    def __repr__(self) -> str:
        t = self.totals()
        return f"<Campaign {self.id} {t.done}/{t.chunks} chunks done, {t.failed} failed>"

    @property
    def finished(self) -> bool:
        return all(c.state.finished for c in self.chunks)

    @property
    def succeeded(self) -> bool:
        return all(c.state is ChunkState.DONE for c in self.chunks)

    def index_of(self, chunk: Chunk) -> int:
        for i, c in enumerate(self.chunks):
            if c is chunk:
                return i
        raise ValueError("chunk not in campaign")

    def update(self, chunk: Chunk, **changes: Any) -> None:
        """Change fields of ``chunk`` and announce it."""
        for k, v in changes.items():
            setattr(chunk, k, v)
        self.updated = time.time()
        self.chunks.events.changed.emit(self.index_of(chunk))
        self.changed.emit(chunk)

    def replace_chunk(self, chunk: Chunk, parts: list[Chunk]) -> None:
        """Put ``parts`` in place of ``chunk`` (a chunk the server found too large)."""
        i = self.index_of(chunk)
        del self.chunks[i]
        for k, p in enumerate(parts):
            self.chunks.insert(i + k, p)
        self.updated = time.time()
        self.changed.emit(None)

    def totals(self) -> CampaignTotals:
        est: float | None = 0.0
        done = failed = active = records = files = files_done = bytes_done = 0
        for c in self.chunks:
            records += c.records
            files += c.n_files
            files_done += c.files_done
            bytes_done += c.bytes_done
            if c.state is ChunkState.DONE:
                done += 1
            elif c.state is ChunkState.FAILED:
                failed += 1
            elif c.state is not ChunkState.PENDING:
                active += 1
            est = None if (est is None or c.est_bytes is None) else est + c.est_bytes
        return CampaignTotals(
            len(self.chunks), done, failed, active, records, files, files_done, bytes_done, est
        )

    def observed_staging(self) -> float | None:
        """Mean seconds from submit to ready over the chunks staged so far."""
        times = [s for c in self.chunks if (s := c.staging_seconds) is not None]
        return sum(times) / len(times) if times else None

    # --- persistence -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "id": self.id,
            "title": self.title,
            "source": list(self.source),
            "folder": self.folder,
            "created": self.created,
            "updated": self.updated,
            "email": self.email,
            "method": self.method,
            "protocol": self.protocol,
            "query_records": self.query_records,
            "caps": {
                "max_mb": self.caps.max_mb,
                "max_records": self.caps.max_records,
                "max_span": self.caps.max_span,
                "margin": self.caps.margin,
            },
            "bytes_per_record": self.bytes_per_record,
            "max_attempts": self.max_attempts,
            "chunks": [c.to_dict() for c in self.chunks],
        }

    @classmethod
    def from_dict(cls, d: Any) -> Campaign:
        if not isinstance(d, dict):
            raise CampaignStateError("campaign: expected an object")
        version = d.get("format_version")
        if not isinstance(version, int):
            raise CampaignStateError("campaign: no format_version")
        if version > FORMAT_VERSION:
            raise CampaignStateError(
                f"campaign format {version} is newer than this jsocdesk ({FORMAT_VERSION})"
            )
        try:
            raw_caps = d.get("caps") or {}
            span = raw_caps.get("max_span", Caps.max_span)
            caps = Caps(
                max_mb=float(raw_caps.get("max_mb", Caps.max_mb)),
                max_records=int(raw_caps.get("max_records", Caps.max_records)),
                max_span=None if span is None else float(span),
                margin=float(raw_caps.get("margin", Caps.margin)),
            )
            bpr = d.get("bytes_per_record")
            chunks = [Chunk.from_dict(c) for c in d["chunks"]]
            campaign = cls(
                chunks,
                email=str(d["email"]),
                method=str(d.get("method", "url")),
                protocol=str(d.get("protocol", "fits")),
                query_records=int(d.get("query_records", 0)),
                caps=caps,
                bytes_per_record=None if bpr is None else float(bpr),
                max_attempts=max(1, int(d.get("max_attempts", 3))),
                title=str(d.get("title", "")),
                source=[str(x) for x in d.get("source", [])],
                folder=str(d.get("folder", "")),
                campaign_id=str(d.get("id") or uuid.uuid4().hex[:12]),
                created=float(d.get("created", time.time())),
            )
            campaign.updated = float(d.get("updated", campaign.created))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise CampaignStateError(f"campaign: malformed ({exc})") from None
        return campaign


SECTION_VERSION = 1
#: the most campaigns a session may carry (a hostile file cannot make us build millions)
MAX_SESSION_CAMPAIGNS = 1000


def campaigns_section(campaigns: Iterable[Campaign]) -> dict[str, Any]:
    """The session's ``campaigns`` section (versioned)."""
    return {"format_version": SECTION_VERSION, "campaigns": [c.to_dict() for c in campaigns]}


def parse_campaigns_section(section: Any) -> list[Campaign]:
    """The campaigns of a session's ``campaigns`` section (``None``: none).  Raises
    :class:`~jsocdesk.core.errors.SessionCorrupt` for a malformed or newer section."""
    from jsocdesk.core.errors import SessionCorrupt

    if section is None:
        return []
    if not isinstance(section, dict):
        raise SessionCorrupt("the 'campaigns' section must be an object")
    version = section.get("format_version")
    if not isinstance(version, int) or version > SECTION_VERSION:
        raise SessionCorrupt(f"the 'campaigns' section has an unknown format {version!r}")
    raw = section.get("campaigns", [])
    if not isinstance(raw, list) or len(raw) > MAX_SESSION_CAMPAIGNS:
        raise SessionCorrupt("the 'campaigns' section must hold a list of campaigns")
    try:
        return [Campaign.from_dict(d) for d in raw]
    except CampaignStateError as exc:
        raise SessionCorrupt(f"a campaign in the session is invalid: {exc}") from None


class CampaignStore:
    """Loads and saves one campaign at ``path`` (compact JSON, atomic writes)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def in_data_dir(cls, data_dir: Path, name: str) -> CampaignStore:
        return cls(Path(data_dir) / "campaigns" / f"{name}.json")

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> Campaign | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CampaignStateError(f"campaign {self.path}: {exc}") from exc
        # building 100,000 file rows triggers the cyclic GC over and over for nothing (the
        # objects are all kept): pause it for the load, it runs again right after
        paused = gc.isenabled()
        gc.disable()
        try:
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise CampaignStateError(f"campaign {self.path} is corrupt: {exc}") from exc
            return Campaign.from_dict(data)
        finally:
            if paused:
                gc.enable()

    @staticmethod
    def dumps(campaign: Campaign) -> str:
        return json.dumps(campaign.to_dict(), separators=(",", ":"))

    def save(self, campaign: Campaign) -> None:
        self.write(self.dumps(campaign))

    def write(self, text: str) -> None:
        atomic_write_text(self.path, text)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def __repr__(self) -> str:
        return f"<CampaignStore {self.path}>"
