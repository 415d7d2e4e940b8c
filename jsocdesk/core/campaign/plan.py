"""Planning a campaign before anything is submitted.

For each record set of the query: its count (``rs_summary``, one cheap request); when it is
too big for one export (records or estimated bytes over :class:`Caps`), the listing of its
time prime key (``rs_list`` of one column) and the cut into chunks on time boundaries
(:mod:`.split`).  The plan gives the records and estimated size of each chunk, the number of
exports and the expected time at the observed throughput; :class:`Guard` says when a plan is
big enough to be shown and confirmed before submitting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from jsocdesk.core.campaign.split import CannotSplit, Caps, ChunkSpec, split_on_times
from jsocdesk.core.jsoc.client import JsocClient
from jsocdesk.core.jsoc.export import find_time_range, slot_step
from jsocdesk.core.seriesinfo import SeriesInfo


@dataclass(frozen=True)
class Throughput:
    """What was observed: download speed (bytes/s) and the time JSOC took to stage one
    export (seconds, submit → files ready).  ``None`` = not observed yet."""

    bytes_per_s: float | None = None
    staging_s: float | None = None

    def expected_seconds(self, chunk_bytes: Sequence[float]) -> float | None:
        """Staging of the first chunk, then for each chunk the longer of its download and
        the staging of the next (they overlap: the next chunk is staged while this one
        downloads).  ``None`` without an observed speed."""
        if not chunk_bytes or not self.bytes_per_s or self.bytes_per_s <= 0:
            return None
        stage = self.staging_s or 0.0
        total = stage
        for i, b in enumerate(chunk_bytes):
            download = b / self.bytes_per_s
            total += max(download, stage) if i + 1 < len(chunk_bytes) else download
        return total


@dataclass(frozen=True)
class Block:
    """One record set of the query with what the plan needs to know about it: its series'
    metadata, the segments it exports, its count when already known (else the plan asks),
    and the export method/protocol chosen for it (empty: the campaign's)."""

    recordset: str
    series: SeriesInfo | None = None
    segments: tuple[str, ...] = ()
    count: int | None = None
    method: str = ""
    protocol: str = ""
    #: estimated bytes of one record when the caller has them (else the plan estimates)
    per_record: float | None = None
    #: JSOC processing of the export (``process=n=…``: cutouts), carried to every chunk
    process: str | None = None


@dataclass(frozen=True)
class PlannedChunk:
    spec: ChunkSpec
    block: int
    est_bytes: float | None

    @property
    def recordset(self) -> str:
        return self.spec.recordset

    @property
    def records(self) -> int:
        return self.spec.records


@dataclass(frozen=True)
class CampaignPlan:
    blocks: tuple[Block, ...]
    chunks: tuple[PlannedChunk, ...]
    #: the query's own count per block (``rs_summary``); the chunks' counts add up to it
    counts: tuple[int, ...]
    bytes_per_record: tuple[float | None, ...]
    caps: Caps
    throughput: Throughput = field(default_factory=Throughput)
    notes: tuple[str, ...] = ()

    @property
    def n_exports(self) -> int:
        return len(self.chunks)

    @property
    def total_records(self) -> int:
        return sum(self.counts)

    @property
    def total_bytes(self) -> float | None:
        sizes = [c.est_bytes for c in self.chunks]
        return None if any(s is None for s in sizes) else float(sum(s or 0.0 for s in sizes))

    @property
    def expected_seconds(self) -> float | None:
        sizes = [c.est_bytes or 0.0 for c in self.chunks]
        return self.throughput.expected_seconds(sizes)

    @property
    def is_campaign(self) -> bool:
        """More than one export is needed."""
        return len(self.chunks) > 1

    def describe(self, max_lines: int = 12) -> list[str]:
        """The plan as a few lines of text (the CLI prints them, the window shows them)."""
        total = self.total_bytes
        eta = self.expected_seconds
        head = (
            f"{self.total_records:,} records, {_size(total)} in {self.n_exports} "
            f"export{'s' if self.n_exports != 1 else ''}"
            f" (caps {self.caps.max_mb:,.0f} MB, {self.caps.max_records:,} records per export)"
        )
        lines = [head, f"expected time: {_duration(eta)}"]
        shown = self.chunks if len(self.chunks) <= max_lines else self.chunks[: max_lines - 1]
        for i, c in enumerate(shown, 1):
            flag = "  (one instant exceeds the caps)" if c.spec.oversize else ""
            size = _size(c.est_bytes)
            lines.append(f"  {i:>4}. {c.records:>7,} records {size:>10}  {c.recordset}{flag}")
        if len(shown) < len(self.chunks):
            rest = self.chunks[len(shown) :]
            lines.append(f"  … {len(rest)} more chunks, {sum(c.records for c in rest):,} records")
        lines.extend(self.notes)
        return lines


@dataclass(frozen=True)
class Guard:
    """Above ``max_bytes`` (estimated) or ``max_records`` a plan is shown and confirmed
    before anything is submitted (the CLI then needs ``--yes`` when not interactive)."""

    max_bytes: float = 10e9
    max_records: int = 10_000

    def needs_confirmation(self, plan: CampaignPlan) -> bool:
        size = plan.total_bytes
        return (
            plan.total_records > self.max_records
            or (size is not None and size > self.max_bytes)
            or any(c.spec.oversize for c in plan.chunks)
        )


def bytes_per_record(series: SeriesInfo | None, segments: Sequence[str]) -> float | None:
    """Estimated bytes of one record's files: the workflow's one size estimator
    (:func:`jsocdesk.core.workflow.record_bytes`); ``None`` without metadata."""
    from jsocdesk.core.workflow.plan import record_bytes

    if series is None:
        return None
    size = record_bytes(series, segments)
    return float(size) if size else None


def time_key(series: SeriesInfo | None) -> tuple[str, float | None] | None:
    """The series' time prime key and its slot width (``None`` when unslotted)."""
    if series is None:
        return None
    for pk in series.primekeysinfo:
        if series.is_time_key(pk.name):
            return pk.name, slot_step(series) if pk.slotted else None
    for name in series.primekeys:
        if series.is_time_key(name):
            return name, None
    return None


def plan_block(
    block: Block,
    times: np.ndarray | None,
    count: int,
    caps: Caps,
    *,
    per_record: float | None,
    index: int = 0,
) -> tuple[list[PlannedChunk], list[str]]:
    """The chunks of one block from its count and (when it must be cut) its time listing."""
    notes: list[str] = []
    per_chunk = caps.records_per_chunk(per_record) if per_record else caps.max_records
    if times is None:
        spec = ChunkSpec(block.recordset, count, math.nan, math.nan, oversize=count > per_chunk)
        if spec.oversize:
            notes.append(f"{block.recordset}: no time range to cut on; it may exceed the caps")
        specs = [spec]
    else:
        tk = time_key(block.series)
        try:
            specs = split_on_times(
                block.recordset,
                times,
                per_chunk=per_chunk,
                max_span=caps.max_span,
                slot=tk[1] if tk else None,
            )
        except CannotSplit as exc:
            notes.append(f"{block.recordset}: {exc}; it may exceed the caps")
            specs = [ChunkSpec(block.recordset, count, math.nan, math.nan, oversize=True)]
        if len(times) != count:
            notes.append(
                f"{block.recordset}: the listing has {len(times):,} records, the count "
                f"{count:,} (the archive changed between the two requests?)"
            )
    chunks = [
        PlannedChunk(s, index, None if per_record is None else s.records * per_record)
        for s in specs
    ]
    return chunks, notes


async def list_times(client: JsocClient, recordset: str, key: str) -> np.ndarray:
    """The time key of every record of ``recordset`` (DRMS seconds, prime-key order)."""
    result = await client.query(recordset, [key])
    col = result.keywords.get(key) or next(iter(result.keywords.values()))
    values: np.ndarray = np.asarray(col.values, dtype=np.float64).copy()
    values[np.asarray(col.missing)] = np.nan
    return values


async def plan_campaign(
    client: JsocClient,
    blocks: Sequence[Block],
    *,
    caps: Caps | None = None,
    throughput: Throughput | None = None,
    per_record: Sequence[float | None] | None = None,
) -> CampaignPlan:
    """Plan ``blocks`` (record sets of one query): see the module docstring.

    ``per_record``: bytes of one record per block when known better than the estimate
    (e.g. from the size a server reported); default :func:`bytes_per_record`.
    """
    caps = caps or Caps()
    chunks: list[PlannedChunk] = []
    counts: list[int] = []
    sizes: list[float | None] = []
    notes: list[str] = []
    for i, block in enumerate(blocks):
        count = block.count if block.count is not None else await client.count(block.recordset)
        bpr = per_record[i] if per_record is not None else block.per_record
        if bpr is None:
            bpr = bytes_per_record(block.series, block.segments)
        tk = time_key(block.series)
        per_chunk = caps.records_per_chunk(bpr) if bpr else caps.max_records
        times = None
        if (
            tk is not None
            and count > 0
            and (count > per_chunk or not _span_fits(block.recordset, caps))
        ):
            times = await list_times(client, block.recordset, tk[0])
        part, more = plan_block(block, times, count, caps, per_record=bpr, index=i)
        chunks.extend(part)
        notes.extend(more)
        counts.append(count)
        sizes.append(bpr)
        if bpr is None:
            notes.append(f"{block.recordset}: file sizes unknown; chunks cut by records only")
    return CampaignPlan(
        tuple(blocks),
        tuple(chunks),
        tuple(counts),
        tuple(sizes),
        caps,
        throughput or Throughput(),
        tuple(notes),
    )


def _span_fits(recordset: str, caps: Caps) -> bool:
    """The record set's own time range is shorter than the span limit (no listing needed)."""
    if caps.max_span is None:
        return True
    rng = find_time_range(recordset)
    return rng is not None and rng.end - rng.start < caps.max_span


def with_throughput(plan: CampaignPlan, throughput: Throughput) -> CampaignPlan:
    return replace(plan, throughput=throughput)


def _size(n: float | None) -> str:
    if n is None:
        return "size unknown"
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,.0f} B"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown until a download speed is observed"
    s = round(seconds)
    if s >= 86400:
        return f"{s / 86400:.1f} days"
    if s >= 3600:
        return f"{s // 3600} h {s // 60 % 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


__all__ = [
    "Block",
    "CampaignPlan",
    "Guard",
    "PlannedChunk",
    "Throughput",
    "bytes_per_record",
    "list_times",
    "plan_block",
    "plan_campaign",
    "time_key",
]
