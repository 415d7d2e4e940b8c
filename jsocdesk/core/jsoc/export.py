"""The export lifecycle: submit, poll, finish with files or a clear failure (the method is
chosen by the export plan, :mod:`jsocdesk.core.workflow.plan`).

``ExportJob`` is a small state machine::

    NEW ──submit──▶ PENDING ──poll…──▶ DONE (files)
     │                 │  └────────────▶ FAILED (ExportFailed, clear message)
     └─▶ HELD (ExportQueue: another export of the same e-mail is pending) ──▶ NEW
    any ──cancel()──▶ CANCELLED (locally; JSOC has no cancel call)

Polling backs off (``PollPolicy``); statuses 1, 2 (and 12) keep waiting, 6 ("not found
yet") is tolerated ``not_found_grace`` times, 0 ends with the file list (full download
URLs), 3/4/5/7/25 fail with a message saying what to do.  Status 3 carries a split
suggestion: the record set cut into time ranges small enough to pass.

``ExportQueue`` honours JSOC's rule of one pending export per e-mail address: later jobs of
the same address are HELD until the earlier one ends, and a status 7 caused by an export
made elsewhere (the web page) puts the job back on hold and retries instead of failing.

Jobs serialise to plain dicts (``to_dict``/``from_dict``) so a session can re-attach to a
running export after a restart; ``ExportJob.attach(id)`` follows a request made elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from jsocdesk.core import drmstime
from jsocdesk.core import jsonfields as jf
from jsocdesk.core.errors import ExportFailed, JsocError, TimeFormatError, TransportError
from jsocdesk.core.events import EventedList, Signal
from jsocdesk.core.jsoc.protocol import ExportFile, ExportResponse, ExportStatus
from jsocdesk.core.seriesinfo import SeriesInfo

if TYPE_CHECKING:
    from jsocdesk.core.jsoc.client import JsocClient

FORMAT_VERSION = 1

log = logging.getLogger(__name__)


class JobState(StrEnum):
    NEW = "new"
    HELD = "held"
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class ExportCancelled(ExportFailed):
    """The job was cancelled locally before it ended."""

    def __init__(self, message: str = "Export was cancelled") -> None:
        super().__init__(message, -1)


class ExportTooLarge(ExportFailed):
    """Status 3; ``split`` holds record sets that each stay under the size limit.

    ``size_mb`` is the size the server reported for the request, ``limit_mb`` the cap it
    named in its message (``None`` when it named none), ``count`` the number of files."""

    def __init__(
        self,
        message: str,
        split: list[str],
        *,
        size_mb: float = 0.0,
        limit_mb: float | None = None,
        count: int = 0,
    ) -> None:
        super().__init__(message, int(ExportStatus.TOO_LARGE))
        self.split = split
        self.size_mb = size_mb
        self.limit_mb = limit_mb
        self.count = count


# --- splitting a too-large request ----------------------------------------------------------

_BRACKET = re.compile(r"\[([^\[\]]*)\]")
_LIMIT = re.compile(r"limit of\s*(\d+(?:\.\d+)?)\s*MB", re.IGNORECASE)


def _parse_time(text: str) -> float | None:
    try:
        return drmstime.parse_time_seconds(text)
    except TimeFormatError:
        return None


def size_limit_mb(error: str) -> float | None:
    """The cap a status-3 message names (``"... max byte limit of 100000MB"``), if any."""
    m = _LIMIT.search(error)
    return float(m.group(1)) if m else None


@dataclass(frozen=True)
class TimeRange:
    """The first time range of a record set: where it is (``span``: the bracket's content
    as a slice of the record set), ``start``/``end`` (DRMS seconds; ``end`` is the inclusive
    end of ``a-b`` or the exclusive end of ``a/d``), the sample in seconds and its text."""

    span: tuple[int, int]
    start: float
    end: float
    sample: float | None
    sample_text: str
    half_open: bool

    def replace(self, recordset: str, content: str) -> str:
        """``recordset`` with this range's bracket content replaced by ``content``."""
        return recordset[: self.span[0]] + content + recordset[self.span[1] :]

    @property
    def suffix(self) -> str:
        return f"@{self.sample_text}" if self.sample_text else ""


def find_time_range(recordset: str) -> TimeRange | None:
    """The first bracket of ``recordset`` that holds a time range, or ``None``."""
    for m in _BRACKET.finditer(recordset):
        content = m.group(1).strip()
        rng = _time_range(content)
        if rng is None:
            continue
        start, end, sample = rng
        sample_text = content.split("@", 1)[1].strip() if "@" in content else ""
        half_open = "/" in content.partition("@")[0]
        return TimeRange((m.start(1), m.end(1)), start, end, sample, sample_text, half_open)
    return None


def _time_range(content: str) -> tuple[float, float, float | None] | None:
    """``start-end[@step]`` or ``start/dur[@step]`` → (start, end-exclusive-ish, sample)."""
    body, _, sample_text = content.partition("@")
    sample = None
    if sample_text:
        try:
            sample = drmstime.parse_duration(sample_text)
        except TimeFormatError:
            return None
    if "/" in body:
        a, _, dur = body.partition("/")
        start = _parse_time(a)
        try:
            d = drmstime.parse_duration(dur)
        except TimeFormatError:
            return None
        return (start, start + d, sample) if start is not None else None
    for i, ch in enumerate(body):
        if ch == "-" and i > 0:
            s, e = _parse_time(body[:i]), _parse_time(body[i + 1 :])
            if s is not None and e is not None and e >= s:
                return s, e, sample
    return None


def split_recordset(recordset: str, parts: int, step: float | None = None) -> list[str]:
    """Cut the first time range of ``recordset`` into ``parts`` consecutive record sets.

    With the slot ``step`` of a slotted key the ranges are inclusive ``a-b`` on whole slots
    (``b = next start - step``), which partitions the slots exactly; sampling (``@x``) is
    kept aligned by making every part a multiple of the sample.  Without a step, the parts
    are ``start/duration`` (half-open), exact for unslotted keys.  Returns ``[]`` when the
    record set has no time range to cut.
    """
    if parts < 2:
        return [recordset]
    found = find_time_range(recordset)
    if found is not None:
        start, end, sample, suffix = found.start, found.end, found.sample, found.suffix
        pieces: list[str] = []
        if step:
            slots = round((end - start) / step) + 1
            unit = max(1, round(sample / step)) if sample else 1
            per = math.ceil(slots / parts)
            per = max(unit, math.ceil(per / unit) * unit)
            first = 0
            while first < slots:
                last = min(first + per, slots) - 1
                a = start + first * step
                b = start + last * step
                pieces.append(f"{drmstime.format_tai(a)}-{drmstime.format_tai(b)}{suffix}")
                first += per
        else:
            width = (end - start) / parts
            for i in range(parts):
                a = start + i * width
                pieces.append(f"{drmstime.format_tai(a)}/{width:g}s{suffix}")
        return [found.replace(recordset, p) for p in pieces]
    return []


def slot_step(series: SeriesInfo | None) -> float | None:
    """The slot width (seconds) of the series' slotted time prime key, if it has one."""
    if series is None:
        return None
    for pk in series.primekeysinfo:
        if pk.slotted and pk.step and series.is_time_key(pk.name):
            try:
                return drmstime.parse_duration(pk.step)
            except TimeFormatError:
                return None
    return None


def suggest_split(
    recordset: str, size_mb: float, error: str, series: SeriesInfo | None = None
) -> list[str]:
    limit = size_limit_mb(error) or 100_000.0
    parts = max(2, math.ceil(size_mb / limit) + 1) if size_mb > 0 else 2
    return split_recordset(recordset, parts, slot_step(series))


# --- the job --------------------------------------------------------------------------------


#: the shortest delay between two polls, whatever the policy says
MIN_POLL_DELAY = 0.01


@dataclass(frozen=True)
class PollPolicy:
    """Delays between ``exp_status`` polls: ``first``, growing by ``factor`` up to ``cap``.

    The server's ``wait`` hint (``jsoc_fetch.c``: ``EstTime - now`` for a queued or running
    export) replaces the backoff within ``[first, cap]``: the next poll comes when the server
    expects to be done, never earlier than it says (unless that is beyond ``cap``).
    ``not_found_grace``
    status-6 answers are tolerated; ``max_errors`` consecutive transport failures fail the
    job (it can be re-attached later); status 7 for a foreign pending export is retried for
    ``pending_limit_patience`` seconds.
    """

    first: float = 2.0
    factor: float = 1.5
    cap: float = 30.0
    jitter: float = 0.1
    not_found_grace: int = 5
    max_errors: int = 8
    pending_limit_patience: float = 3600.0
    #: the longest a job waits for JSOC to finish (then it fails; it can be re-attached)
    max_wait: float = 48 * 3600.0

    def delay(self, polls: int, hint: float, rng: random.Random) -> float:
        """Seconds before the next poll, always within ``[0, cap * (1 + jitter)]``.

        The growth is computed in log space (``factor ** polls`` overflows a float after
        ~1,750 polls); a server's ``wait`` hint that is not a finite number is ignored.
        """
        # ``first`` 0 (``--poll 0``) still backs off: from 10 ms, never a busy loop
        first = max(self.first, MIN_POLL_DELAY)
        d = self.cap
        if self.factor <= 1 or polls * math.log(self.factor) < math.log(
            max(self.cap, first) / first
        ):
            d = min(self.cap, first * (self.factor ** max(0, polls)))
        # the server's ``wait`` hint is what JSOC asks: followed (within ``cap``)
        if math.isfinite(hint) and hint > 0:
            d = min(self.cap, max(self.first, hint))
        return max(0.0, d * (1.0 + self.jitter * (2.0 * rng.random() - 1.0)))


@dataclass(eq=False)
class ExportJob:
    """One export request and its lifecycle (see module docstring)."""

    recordset: str
    email: str
    method: str = "url"
    protocol: str = "fits"
    filenamefmt: str | None = None
    process: str | None = None
    requestid: str = ""
    state: JobState = JobState.NEW
    status: ExportStatus | None = None
    files: list[ExportFile] = field(default_factory=list)
    tar_url: str = ""
    size_mb: float = 0.0
    rcount: int = 0
    error: str = ""
    warning: str = ""
    split: list[str] = field(default_factory=list)
    submitted_at: float | None = None
    finished_at: float | None = None
    polls: int = 0
    #: why the job is waiting right now, for the user ("no answer from JSOC, retrying")
    note: str = ""
    series: SeriesInfo | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.changed = Signal("changed")
        self._not_found_left: int | None = None
        self._errors = 0

    # --- constructors / persistence --------------------------------------------------------

    @classmethod
    def attach(cls, requestid: str, email: str = "") -> ExportJob:
        """Follow an export made elsewhere (e.g. on JSOC's web page)."""
        return cls(
            recordset="",
            email=email,
            method="",
            protocol="",
            requestid=requestid,
            state=JobState.PENDING,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "recordset": self.recordset,
            "email": self.email,
            "method": self.method,
            "protocol": self.protocol,
            "filenamefmt": self.filenamefmt,
            "process": self.process,
            "requestid": self.requestid,
            "state": self.state.value,
            "status": None if self.status is None else int(self.status),
            "files": [
                {"record": f.record, "filename": f.filename, "url": f.url} for f in self.files
            ],
            "tar_url": self.tar_url,
            "size_mb": self.size_mb,
            "rcount": self.rcount,
            "error": self.error,
            "warning": self.warning,
            "split": list(self.split),
            "submitted_at": self.submitted_at,
            "finished_at": self.finished_at,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ExportJob:
        """A job from :meth:`to_dict`'s dict; a malformed one raises ``ValueError`` naming the
        field (never an ``OverflowError`` or ``AttributeError`` for a hostile value)."""
        try:
            d = jf.get_object(data, "export job")
            version = jf.get_int(d, "format_version", 1)
            if version > FORMAT_VERSION:
                raise ValueError(f"export job format {version!r} is newer than this jsocdesk")
            try:
                state = JobState(jf.get_str(d, "state", "new"))
            except ValueError:
                raise jf.FieldError(f"'state' {d.get('state')!r} is not a job state") from None
            requestid = jf.get_str(d, "requestid", "")
            # a job that was being submitted when the app stopped is re-submitted; a job
            # on hold goes back into the queue
            if state is JobState.HELD or (state is JobState.PENDING and not requestid):
                state = JobState.NEW
            status_code = jf.get_opt_int(d, "status", lo=-1, hi=1000)
            try:
                status = None if status_code is None else ExportStatus(status_code)
            except ValueError:
                raise jf.FieldError(f"'status' {status_code} is not a JSOC export status") from None
            files = []
            for raw in jf.get_list(d, "files", []):
                f = jf.get_object(raw, "an item of 'files'")
                files.append(
                    ExportFile(
                        jf.get_str(f, "record"), jf.get_str(f, "filename"), jf.get_str(f, "url")
                    )
                )
            split = jf.get_list(d, "split", [])
            if not all(isinstance(p, str) for p in split):
                raise jf.FieldError("'split' must hold record-set strings")
            job = cls(
                recordset=jf.get_str(d, "recordset", ""),
                email=jf.get_str(d, "email", ""),
                method=jf.get_str(d, "method", "url"),
                protocol=jf.get_str(d, "protocol", "fits"),
                filenamefmt=jf.get_opt_str(d, "filenamefmt"),
                process=jf.get_opt_str(d, "process"),
                requestid=requestid,
                state=state,
                status=status,
                files=files,
                tar_url=jf.get_str(d, "tar_url", ""),
                size_mb=jf.get_float(d, "size_mb", 0.0),
                rcount=jf.get_int(d, "rcount", 0),
                error=jf.get_str(d, "error", ""),
                warning=jf.get_str(d, "warning", ""),
                split=[jf.check_text(p, "'split'") for p in split],
                submitted_at=jf.get_opt_float(d, "submitted_at"),
                finished_at=jf.get_opt_float(d, "finished_at"),
            )
        except ValueError as exc:
            raise ValueError(f"export job: {exc}") from None
        return job

    def __repr__(self) -> str:
        ident = self.requestid or self.recordset
        return f"<ExportJob {ident!r} {self.state.value} status={self.status and int(self.status)}>"

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def urls(self) -> list[str]:
        return [self.tar_url] if self.tar_url else [f.url for f in self.files]

    @property
    def status_text(self) -> str:
        if self.state is JobState.HELD:
            return "waiting for the pending export of this e-mail to finish"
        if self.status is None:
            return self.state.value
        if self.state is JobState.DONE and self.warning:
            # a status-0 export that produced no file says why (index.json warning row)
            kind = "done" if self.files or self.tar_url else "done, no files"
            return f"{kind}: {self.warning} [status={int(self.status)}]"
        return f"{self.status.description} [status={int(self.status)}]"

    def _set(self, **changes: Any) -> None:
        for k, v in changes.items():
            setattr(self, k, v)
        self.changed.emit(self)

    def hold(self) -> None:
        if self.state is JobState.NEW:
            self._set(state=JobState.HELD)

    def release(self) -> None:
        if self.state is JobState.HELD:
            self._set(state=JobState.NEW)

    def cancel(self) -> None:
        """Stop following the export (JSOC has no cancel; the request may still finish)."""
        if not self.state.finished:
            self._set(state=JobState.CANCELLED, finished_at=time.time())

    async def submit(self, client: JsocClient) -> ExportResponse:
        if self.state not in (JobState.NEW, JobState.HELD):
            raise RuntimeError(f"cannot submit a job in state {self.state.value}")
        if not self.recordset:
            raise ExportFailed("nothing to export: the job has no record set", 4)
        resp = await client.submit_export(
            self.recordset,
            self.email,
            method=self.method,
            protocol_name=self.protocol,
            filenamefmt=self.filenamefmt,
            process=self.process,
        )
        self.submitted_at = time.time()
        self._apply(resp)
        return resp

    async def poll_once(self, client: JsocClient) -> ExportResponse:
        if not self.requestid:
            raise RuntimeError("this job has no request id to poll")
        resp = await client.export_status(self.requestid)
        self.polls += 1
        self._apply(resp)
        return resp

    def _apply(self, resp: ExportResponse) -> None:
        status = resp.status
        changes: dict[str, Any] = {"status": status}
        if resp.requestid:
            changes["requestid"] = resp.requestid
        if resp.method:
            changes["method"] = resp.method
        if resp.protocol:
            changes["protocol"] = resp.protocol
        if resp.size_mb:
            changes["size_mb"] = resp.size_mb
        if resp.rcount:
            changes["rcount"] = resp.rcount
        if status is ExportStatus.OK:
            changes.update(
                state=JobState.DONE,
                files=list(resp.files),
                tar_url=resp.tar_url if resp.files else "",
                warning="; ".join(resp.warnings),
                error="",
                finished_at=time.time(),
            )
        elif status.is_pending:
            changes["state"] = JobState.PENDING
        else:
            message = self._failure_message(status, resp)
            changes.update(state=JobState.FAILED, error=message, finished_at=time.time())
            if status is ExportStatus.TOO_LARGE:
                changes["split"] = suggest_split(
                    self.recordset, resp.size_mb, resp.error, self.series
                )
        self._set(**changes)

    def _failure_message(self, status: ExportStatus, resp: ExportResponse) -> str:
        jsoc = resp.error.strip()
        rid = self.requestid or resp.requestid
        if status is ExportStatus.TOO_LARGE:
            size = f"{resp.size_mb:g} MB" if resp.size_mb else "too many bytes"
            return (
                f"Export too large ({size}): {jsoc or 'Request too large'}. "
                "Split the time range into smaller exports."
            )
        if status is ExportStatus.DELETED:
            return (
                f"Export {rid} has expired and was deleted by JSOC (kept about a week); "
                "submit it again."
            )
        if status is ExportStatus.PENDING_LIMIT:
            return f"JSOC allows one pending export per e-mail address: {jsoc or 'limit reached'}"
        if status is ExportStatus.NEEDS_OPERATOR:
            return f"Export needs JSOC operator help (data offline): {jsoc}"
        if status is ExportStatus.NOT_FOUND:
            return f"Export {rid} was not found by JSOC"
        return f"Export failed: {jsoc or 'JSOC reported a failure'}"

    def raise_for_failure(self) -> None:
        if self.state is JobState.CANCELLED:
            raise ExportCancelled()
        if self.state is not JobState.FAILED:
            return
        status = int(self.status) if self.status is not None else 4
        if self.status is ExportStatus.TOO_LARGE:
            parts = "\n  ".join(self.split) if self.split else "(no time range to split)"
            raise ExportTooLarge(
                f"{self.error}\nSuggested parts:\n  {parts}",
                list(self.split),
                size_mb=self.size_mb,
                limit_mb=size_limit_mb(self.error),
                count=self.rcount,
            )
        raise ExportFailed(self.error, status)

    async def wait(
        self,
        client: JsocClient,
        policy: PollPolicy | None = None,
        *,
        rng: random.Random | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> list[str]:
        """Poll until the export ends; returns the download URLs or raises ExportFailed."""
        policy = policy or PollPolicy()
        rng = rng or random.Random()
        if self._not_found_left is None:
            self._not_found_left = policy.not_found_grace
        hint = 0.0
        started = time.monotonic()
        while not self.state.finished:
            if self.state is not JobState.PENDING:
                raise RuntimeError(f"cannot wait for a job in state {self.state.value}")
            if time.monotonic() - started > policy.max_wait:
                self._set(
                    state=JobState.FAILED,
                    error=f"JSOC has not finished export {self.requestid} after "
                    f"{policy.max_wait / 3600:g} h; it may still finish: attach "
                    f"{self.requestid} later",
                    finished_at=time.time(),
                )
                break
            await sleep(policy.delay(self.polls, hint, rng))
            if self.state.finished:
                break
            try:
                resp = await self.poll_once(client)
            except TransportError as exc:
                self._errors += 1
                if self._errors >= policy.max_errors:
                    self._set(
                        state=JobState.FAILED,
                        error=f"Lost contact with JSOC while waiting: {exc}",
                        finished_at=time.time(),
                    )
                else:
                    self._set(
                        note=f"no answer from JSOC ({exc}); trying again "
                        f"({self._errors}/{policy.max_errors})"
                    )
                continue
            self._errors = 0
            if self.note:
                self.note = ""
            hint = resp.wait
            if resp.status is ExportStatus.NOT_FOUND:
                self._not_found_left -= 1
                if self._not_found_left < 0:
                    self._set(
                        state=JobState.FAILED,
                        error=f"Export {self.requestid} was not found by JSOC "
                        f"(status 6 after {policy.not_found_grace} retries)",
                        finished_at=time.time(),
                    )
        self.raise_for_failure()
        return self.urls

    async def run(self, client: JsocClient, policy: PollPolicy | None = None) -> list[str]:
        """Submit (unless already submitted) and wait for the end."""
        if self.state in (JobState.NEW, JobState.HELD):
            await self.submit(client)
        if self.state is JobState.PENDING:
            return await self.wait(client, policy)
        self.raise_for_failure()
        return self.urls


# --- the per-e-mail queue -------------------------------------------------------------------


class ExportQueue:
    """Runs export jobs, at most one pending export per e-mail address.

    ``jobs`` is an evented list (a Qt model can adapt it); ``finished`` is emitted with each
    job that ends.  Keeps strong references to its tasks; ``aclose()`` cancels them.
    """

    def __init__(
        self,
        client: JsocClient,
        policy: PollPolicy | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.policy = policy or PollPolicy()
        self.jobs: EventedList[ExportJob] = EventedList()
        self.finished = Signal("finished")
        self._rng = rng or random.Random()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def __repr__(self) -> str:
        return f"<ExportQueue jobs={len(self.jobs)} running={len(self._tasks)}>"

    def _lock_for(self, email: str) -> asyncio.Lock:
        key = email.strip().lower()
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def add(self, job: ExportJob) -> ExportJob:
        """Queue ``job`` (new, or restored with ``from_dict``/``attach``) and start it."""
        if job not in self.jobs:
            self.jobs.append(job)
        if not job.state.finished and id(job) not in self._tasks:
            task = asyncio.ensure_future(self._drive(job))
            self._tasks[id(job)] = task
            task.add_done_callback(self._forget_task)
        return job

    def _forget_task(self, task: asyncio.Task[None]) -> None:
        for key, t in list(self._tasks.items()):
            if t is task:
                del self._tasks[key]

    async def wait(self, job: ExportJob) -> list[str]:
        """Wait for ``job`` to end; returns its URLs or raises its failure.

        A job whose task ended without finishing it (it cannot, see :meth:`_drive`, but a
        waiter must never take "no files" for success) raises :class:`ExportFailed` too.
        """
        task = self._tasks.get(id(job))
        if task is not None:
            await asyncio.wait([task])
        job.raise_for_failure()
        if job.state is not JobState.DONE:
            raise ExportFailed(f"Export ended without a result (state {job.state.value})", 4)
        return job.urls

    def cancel(self, job: ExportJob) -> None:
        job.cancel()
        task = self._tasks.get(id(job))
        if task is not None:
            task.cancel()

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _drive(self, job: ExportJob) -> None:
        try:
            if job.state is JobState.PENDING:
                # re-attached: it already occupies its e-mail's slot
                async with self._lock_for(job.email):
                    await self._follow(job)
            else:
                lock = self._lock_for(job.email)
                if lock.locked():
                    job.hold()
                async with lock:
                    job.release()
                    await self._submit_until_accepted(job)
                    if _pending(job):
                        await self._follow(job)
        except asyncio.CancelledError:
            job.cancel()
            raise
        except JsocError as exc:
            if not job.state.finished:
                job._set(state=JobState.FAILED, error=str(exc), finished_at=time.time())
        except Exception as exc:  # the one path: every failure ends the job
            log.error("export task of %r failed unexpectedly", job, exc_info=True)
            if not job.state.finished:
                job._set(
                    state=JobState.FAILED,
                    error=f"Export failed: unexpected {type(exc).__name__}: {str(exc)[:300]}",
                    finished_at=time.time(),
                )
        finally:
            if job.state.finished:
                self.finished.emit(job)

    async def _submit_until_accepted(self, job: ExportJob) -> None:
        deadline = time.monotonic() + self.policy.pending_limit_patience
        tries = 0
        while True:
            await job.submit(self.client)
            if job.status is not ExportStatus.PENDING_LIMIT or time.monotonic() >= deadline:
                return
            # another export of this address is pending elsewhere: hold and try again
            job._set(state=JobState.HELD, error="", finished_at=None)
            await asyncio.sleep(self.policy.delay(tries, 0.0, self._rng))
            tries += 1

    async def _follow(self, job: ExportJob) -> None:
        with contextlib.suppress(ExportFailed):
            await job.wait(self.client, self.policy, rng=self._rng)


def _pending(job: ExportJob) -> bool:
    return job.state is JobState.PENDING
