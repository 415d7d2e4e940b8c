"""ExportJobsModel: a table model adapting the evented job list of one core ExportQueue.

The list's before/after events become ``begin…``/``end…`` calls; each job's ``changed``
signal becomes ``dataChanged`` of its row.  The "Waiting" column (time since submission) is a
clock: :meth:`ExportJobsModel.tick` announces it for the unfinished jobs, called once a second
by the Exports tab.  Jobs on hold say which request they wait for: JSOC allows one pending
export per e-mail address.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor

from jsocdesk.core.events import EventedList
from jsocdesk.core.jsoc.export import ExportJob, JobState
from jsocdesk.core.text import clean
from jsocdesk.gui.downloads.format import human_duration
from jsocdesk.gui.listmodel import EventedListModel
from jsocdesk.gui.roles import Index, Role

COLUMNS = ("Request", "Record set", "Method", "Status", "Waiting", "Polls", "Files")
COL_ID, COL_RECORDSET, COL_METHOD, COL_STATUS, COL_WAITING, COL_POLLS, COL_FILES = range(
    len(COLUMNS)
)


def waiting_seconds(job: ExportJob, now: float | None = None) -> float | None:
    if job.submitted_at is None:
        return None
    end = job.finished_at if job.finished_at is not None else (now or time.time())
    return max(0.0, end - job.submitted_at)


class ExportJobsModel(EventedListModel[ExportJob]):
    COLUMNS = COLUMNS

    def __init__(self, jobs: EventedList[ExportJob], parent: Any = None) -> None:
        super().__init__(jobs, parent)
        self.jobs = jobs
        self._slots: dict[int, Callable[[ExportJob], None]] = {}
        for job in jobs:
            self._follow(job)

    def detach(self) -> None:
        super().detach()
        for job in self.jobs:
            self._unfollow(job)

    # --- per-job signals ---------------------------------------------------------------------
    def _follow(self, job: ExportJob) -> None:
        if id(job) in self._slots:
            return
        slot = self._on_job_changed
        job.changed.connect(slot)
        self._slots[id(job)] = slot

    def _unfollow(self, job: ExportJob) -> None:
        slot = self._slots.pop(id(job), None)
        if slot is not None:
            job.changed.disconnect(slot)

    def _on_job_changed(self, job: ExportJob) -> None:
        try:
            row = self.jobs.index_of(job)
        except ValueError:
            return
        self.announce_row(row)

    # --- list events ---------------------------------------------------------------------------
    def _inserted(self, index: int, count: int) -> None:
        for i in range(index, index + count):
            self._follow(self.jobs[i])

    def _removing(self, index: int, count: int) -> None:
        for i in range(index, index + count):
            self._unfollow(self.jobs[i])

    def _replaced(self, index: int) -> None:
        # an item replaced in place: follow the new object
        job = self.jobs[index]
        for key in [k for k in self._slots if k not in {id(j) for j in self.jobs}]:
            self._slots.pop(key)
        self._follow(job)
        self.announce_row(index)

    def _resetting(self) -> None:
        for job in self.jobs:
            self._unfollow(job)
        self._slots.clear()

    def _reset_done(self) -> None:
        for job in self.jobs:
            self._follow(job)

    # --- the clock ---------------------------------------------------------------------------
    def tick(self) -> None:
        """Announce the Waiting column of unfinished jobs (one ``dataChanged`` per run)."""
        self.announce_runs(
            range(len(self.jobs)),
            lambda row: not self.jobs[row].state.finished,
            COL_WAITING,
            COL_WAITING,
        )

    def flags(self, index: Index) -> Qt.ItemFlag:
        if self.item(index) is None:
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        job = self.item(index)
        if job is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.display(job, col)
        if role == Role.OBJECT:
            return job
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_RECORDSET:
                return job.recordset
            if job.error:
                return clean(job.error, keep_newlines=True)  # server text: shown inert
            if job.state is JobState.HELD:
                return self.held_text(job)
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if job.state is JobState.FAILED:
                return QBrush(QColor(180, 30, 30))
            if job.state is JobState.HELD:
                return QBrush(QColor(120, 120, 120))
        return None

    def held_text(self, job: ExportJob) -> str:
        """ "waits for JSOC_… (JSOC allows one pending export per e-mail)"."""
        blocker = next(
            (
                j
                for j in self.jobs
                if j is not job
                and j.state is JobState.PENDING
                and j.email.strip().lower() == job.email.strip().lower()
            ),
            None,
        )
        who = blocker.requestid if blocker is not None and blocker.requestid else "another export"
        return (
            f"Waiting for {who} to finish: JSOC allows one pending export per e-mail "
            f"address ({job.email})"
        )

    def display(self, job: ExportJob, col: int) -> str:
        if col == COL_ID:
            return job.requestid or "—"
        if col == COL_RECORDSET:
            return job.recordset or "(attached)"
        if col == COL_METHOD:
            return f"{job.method}/{job.protocol}" if job.method else ""
        if col == COL_STATUS:
            if job.state is JobState.HELD:
                return self.held_text(job)
            if job.state is JobState.FAILED:
                return clean(job.error.splitlines()[0], limit=300) if job.error else "failed"
            if job.state is JobState.CANCELLED:
                return "cancelled"
            if job.state is JobState.NEW:
                return "submitting…"
            return job.status_text
        if col == COL_WAITING:
            return human_duration(waiting_seconds(job))
        if col == COL_POLLS:
            return str(job.polls) if job.polls else ""
        if job.state is JobState.DONE:
            return "1 tar" if job.tar_url else str(len(job.files))
        return ""
