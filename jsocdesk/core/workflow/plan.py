"""The export plan: what to export, how, and roughly how big — one estimator, one choice.

A query compiles to record sets (:func:`~jsocdesk.core.jsoc.plan.compile_for_server`);
:func:`make_export_plan` counts each, estimates its files with :func:`estimate_record_set`
and picks the automatic method with :func:`choose_method` (which says why).  The window's
Exports tab, its count label and the ``export``/``fetch`` commands all call these, so they
agree on methods, estimates and reasons.

The estimate is what series metadata allows before an export: per selected segment,
``dims`` × bytes of the segment type (the uncompressed array; JSOC's FITS files are usually
Rice-compressed and smaller), :data:`GENERIC_SEGMENT_BYTES` for ``generic`` segments or
segments without dimensions, :data:`VARIABLE_SEGMENT_BYTES` for ``VARxVAR`` (SHARP patches).
It is always labelled an estimate.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from jsocdesk.core.errors import QueryError
from jsocdesk.core.jsoc.export import ExportJob
from jsocdesk.core.jsoc.links import is_linked
from jsocdesk.core.jsoc.plan import compile_for_server
from jsocdesk.core.jsoc.tape import TapeStatus, tape_status
from jsocdesk.core.query.compile import CompiledRecordSet
from jsocdesk.core.seriesinfo import SegmentInfo, SeriesInfo

if TYPE_CHECKING:
    from jsocdesk.core.jsoc.client import JsocClient
    from jsocdesk.core.query.tree import Node, QueryTree

__all__ = [
    "GENERIC_SEGMENT_BYTES",
    "MANY_FILES",
    "SMALL_FILE_BYTES",
    "VARIABLE_SEGMENT_BYTES",
    "ExportMethod",
    "ExportPlan",
    "ExportProtocol",
    "MethodChoice",
    "PlanEntry",
    "SizeEstimate",
    "choose_method",
    "estimate_record_set",
    "make_export_plan",
    "record_bytes",
    "segment_bytes",
]


class ExportMethod(StrEnum):
    """JSOC export methods jsocdesk uses (``jsoc-protocol.md`` §2.7–2.9)."""

    URL_QUICK = "url_quick"  # online data answered at once, raw files as stored
    URL = "url"  # staged export, one file per record segment
    URL_TAR = "url-tar"  # staged export packed into one tar

    @classmethod
    def parse(cls, text: object) -> ExportMethod | None:
        """The method named ``text`` (``None`` if it is not one)."""
        return next((m for m in cls if m.value == text), None)


class ExportProtocol(StrEnum):
    AS_IS = "as-is"  # the segment files as stored in SUMS
    FITS = "fits"  # FITS with the record's keywords in the header

    @classmethod
    def parse(cls, text: object) -> ExportProtocol | None:
        return next((p for p in cls if p.value == text), None)


# --- the one size estimator -------------------------------------------------------------------

TYPE_BYTES = {"char": 1, "short": 2, "int": 4, "longlong": 8, "float": 4, "double": 8}
#: ``generic`` segments (logs, text) and segments without dimensions
GENERIC_SEGMENT_BYTES = 100_000
#: ``VARxVAR`` segments (SHARP patches): about a megabyte
VARIABLE_SEGMENT_BYTES = 1_000_000


def segment_bytes(segment: SegmentInfo) -> int | None:
    """Estimated bytes of one file of ``segment`` (see the module docstring); ``None`` for a
    linked segment whose target is not known (its files are the linked series' files, of
    any size: never assumed small)."""
    if is_linked(segment):
        return None
    if segment.protocol.lower() == "generic" or not segment.dims:
        return GENERIC_SEGMENT_BYTES
    try:
        sizes = [int(d) for d in segment.dims.lower().split("x")]
    except ValueError:
        return VARIABLE_SEGMENT_BYTES
    if any(s < 0 for s in sizes) or len(sizes) > 8:
        return VARIABLE_SEGMENT_BYTES
    return math.prod(sizes) * TYPE_BYTES.get(segment.type, 4)


def _chosen(info: SeriesInfo, segments: Sequence[str]) -> list[SegmentInfo]:
    if not segments:
        return list(info.segments)
    found = (info.segment(s) for s in segments)
    return [s for s in found if s is not None]


def record_bytes(info: SeriesInfo, segments: Sequence[str] = ()) -> int | None:
    """Estimated bytes of one record's files: the named segments, or all when none is
    (``None`` when one of them cannot be sized)."""
    sizes = [segment_bytes(s) for s in _chosen(info, segments)]
    return None if any(b is None for b in sizes) else sum(b for b in sizes if b is not None)


@dataclass(frozen=True)
class SizeEstimate:
    """The files a record set will export: how many, and roughly how many bytes.

    ``file_bytes`` is the mean estimated size of one file (``None`` without metadata).
    """

    records: int
    files: int
    total_bytes: int | None
    file_bytes: float | None


def estimate_record_set(
    info: SeriesInfo | None, segments: Sequence[str], records: int
) -> SizeEstimate:
    """The :class:`SizeEstimate` of ``records`` records exporting ``segments`` (all if
    empty) of the series ``info`` describes.  Without metadata: one file per record, size
    unknown."""
    if info is None:
        return SizeEstimate(records, records, None, None)
    chosen = _chosen(info, segments)
    if not chosen:
        return SizeEstimate(records, records, None, None)
    rbytes = record_bytes(info, segments)
    if rbytes is None:
        return SizeEstimate(records, records * len(chosen), None, None)
    return SizeEstimate(records, records * len(chosen), records * rbytes, rbytes / len(chosen))


# --- the automatic method ---------------------------------------------------------------------

#: At least this many files, each estimated below :data:`SMALL_FILE_BYTES` → one tar.
MANY_FILES = 100
SMALL_FILE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class MethodChoice:
    method: ExportMethod
    protocol: ExportProtocol
    reason: str


def choose_method(*, headers: bool, n_files: int, file_bytes: float | None = None) -> MethodChoice:
    """The automatic export method, with the reason shown to the user.

    * many small files → ``url-tar`` (one download instead of hundreds);
    * FITS headers wanted → ``url`` + ``fits`` (JSOC writes the keywords into each file);
    * raw segment files, no headers needed → ``url_quick`` + ``as-is`` (no staging when the
      data are online: JSOC answers at once).
    """
    protocol = ExportProtocol.FITS if headers else ExportProtocol.AS_IS
    if n_files >= MANY_FILES and file_bytes is not None and file_bytes < SMALL_FILE_BYTES:
        return MethodChoice(
            ExportMethod.URL_TAR, protocol, f"{n_files} small files: one tar is faster to fetch"
        )
    if headers:
        return MethodChoice(
            ExportMethod.URL,
            ExportProtocol.FITS,
            "FITS files with the record's keywords in the header",
        )
    return MethodChoice(
        ExportMethod.URL_QUICK, ExportProtocol.AS_IS, "raw segment files as stored, no staging"
    )


# --- the plan ------------------------------------------------------------------------------------


@dataclass
class PlanEntry:
    """One export the plan proposes: a compiled record set and how to export it.

    ``method``/``protocol`` start as the automatic choice; a user's override replaces them
    (:meth:`override`), :attr:`explanation` says which it is and why.
    """

    compiled: CompiledRecordSet
    info: SeriesInfo | None
    estimate: SizeEstimate
    auto: MethodChoice
    method: ExportMethod = field(default=ExportMethod.URL)
    protocol: ExportProtocol = field(default=ExportProtocol.FITS)
    #: how many of its records are on tape (surveyed when the plan was asked to)
    tape: TapeStatus | None = None

    def __post_init__(self) -> None:
        self.method, self.protocol = self.auto.method, self.auto.protocol

    @property
    def record_set(self) -> str:
        return self.compiled.record_set

    @property
    def count(self) -> int:
        return self.estimate.records

    @property
    def is_auto(self) -> bool:
        return (self.method, self.protocol) == (self.auto.method, self.auto.protocol)

    def override(self, method: ExportMethod | str, protocol: ExportProtocol | str) -> None:
        """The user's choice (``ValueError`` for a name that is no method/protocol)."""
        self.method, self.protocol = ExportMethod(method), ExportProtocol(protocol)

    @property
    def explanation(self) -> str:
        auto = f"{self.auto.method}/{self.auto.protocol}"
        warning = self.tape.warning() if self.tape is not None else None
        note = f" ⚠ {warning}" if warning else ""
        if self.is_auto:
            return f"Automatic: {self.auto.reason}{note}"
        return f"Your choice (automatic would be {auto}: {self.auto.reason}){note}"

    def job(self, email: str) -> ExportJob:
        """The export job for this entry."""
        return ExportJob(
            recordset=self.record_set,
            email=email,
            method=self.method.value,
            protocol=self.protocol.value,
            series=self.info,
            process=self.compiled.export_process if self.compiled.process else None,
        )


@dataclass
class ExportPlan:
    """The exports a query needs (one :class:`PlanEntry` per compiled record set).

    ``problem`` is why the query cannot be exported (it does not compile: the node is in
    ``problem_error``); ``notify`` the first Notify address of the query.
    """

    entries: list[PlanEntry]
    notify: str | None = None
    problem: str = ""
    problem_error: QueryError | None = None
    #: the e-mail the session's export options name ("" when none)
    email: str = ""

    @property
    def total_records(self) -> int:
        return sum(e.count for e in self.entries)

    @property
    def total_files(self) -> int:
        return sum(e.estimate.files for e in self.entries)

    @property
    def total_bytes(self) -> int | None:
        """Estimated bytes of every entry (``None`` if one has no estimate)."""
        sizes = [e.estimate.total_bytes for e in self.entries]
        return None if any(s is None for s in sizes) else sum(s for s in sizes if s is not None)

    @property
    def warnings(self) -> list[str]:
        """What the user should know before exporting (records on tape, …)."""
        tapes = (e.tape.warning() for e in self.entries if e.tape is not None)
        return [w for w in tapes if w]

    def raise_for_problem(self) -> None:
        if self.problem_error is not None:
            raise self.problem_error

    def apply_overrides(self, overrides: Mapping[str, tuple[str, str]]) -> None:
        """Apply the user's (method, protocol) choices, by record set; invalid ones are
        ignored."""
        for entry in self.entries:
            choice = overrides.get(entry.record_set)
            if choice is None:
                continue
            method, protocol = ExportMethod.parse(choice[0]), ExportProtocol.parse(choice[1])
            if method is not None and protocol is not None:
                entry.override(method, protocol)

    def force(self, method: ExportMethod | None = None, *, headers: bool = True) -> None:
        """Use ``method`` for every entry (the CLI's ``--method``), with the protocol the
        headers option implies."""
        if method is None:
            return
        protocol = ExportProtocol.FITS if headers else ExportProtocol.AS_IS
        for entry in self.entries:
            entry.override(method, protocol)

    def jobs(self, email: str) -> list[ExportJob]:
        return [e.job(email) for e in self.entries]


async def make_export_plan(
    client: JsocClient,
    query: Node | QueryTree,
    *,
    merge: bool = True,
    headers: bool = True,
    overrides: Mapping[str, tuple[str, str]] | None = None,
    survey_tape: bool = True,
) -> ExportPlan:
    """Compile ``query`` against the server, count every record set, estimate its files and
    choose the methods (then apply the user's ``overrides``).  With ``survey_tape`` (the
    default) each record set's ``*online*`` status is listed too
    (:func:`~jsocdesk.core.jsoc.tape.tape_status`) and :attr:`ExportPlan.warnings` says how
    much must come from tape.

    A query that does not compile is not a failure of the plan: its problem is returned in
    :attr:`ExportPlan.problem` (raise it with :meth:`ExportPlan.raise_for_problem`); server
    and transport failures propagate as :class:`~jsocdesk.core.errors.JsocError`.
    """
    try:
        compiled, infos = await compile_for_server(client, query, merge=merge)
    except QueryError as exc:
        return ExportPlan([], None, exc.message, exc)
    counts = await asyncio.gather(*(client.count(c.record_set) for c in compiled))
    tapes: Sequence[TapeStatus | None] = [None] * len(compiled)
    if survey_tape:
        tapes = await asyncio.gather(
            *(tape_status(client, c.record_set, n) for c, n in zip(compiled, counts, strict=True))
        )
    entries: list[PlanEntry] = []
    notify: str | None = None
    for c, count, tape in zip(compiled, counts, tapes, strict=True):
        info = infos.get(c.series.lower())
        estimate = estimate_record_set(info, c.segments, count)
        auto = choose_method(
            headers=headers, n_files=estimate.files, file_bytes=estimate.file_bytes
        )
        entries.append(PlanEntry(c, info, estimate, auto, tape=tape))
        notify = notify or c.notify
    plan = ExportPlan(entries, notify)
    if overrides:
        plan.apply_overrides(overrides)
    return plan


def estimate_compiled(
    compiled: Sequence[CompiledRecordSet],
    infos: Mapping[str, SeriesInfo],
    counts: Sequence[int],
) -> int:
    """Estimated bytes of exporting ``compiled`` with ``counts`` records each (the live
    count label); record sets without metadata count 0."""
    total = 0
    for c, n in zip(compiled, counts, strict=True):
        size = estimate_record_set(infos.get(c.series.lower()), c.segments, n).total_bytes
        total += size or 0
    return total
