"""ExportsTab: plan, submit and follow the JSOC exports of the current query.

Top: the *plan*: the core's export plan (:func:`jsocdesk.core.workflow.make_export_plan`,
what ``jsocdesk export``/``fetch`` run), one row per compiled record set of the query
(same-series branches merged when "Merge" is on), each with a method and a protocol.  The
automatic choice (from the record count and the core's size estimate) is pre-selected and
explained; the user may override it.

Middle: the Notify e-mail, checked with ``checkAddress`` as it is typed (debounced; one
named task, so a newer keystroke cancels the older check).  An unregistered address gets a
clear message saying how to register; Submit stays disabled until the address is registered.

Bottom: the jobs of the core :class:`ExportQueue` (:class:`ExportJobsModel`): request id,
status text, time waiting, polls.  Jobs of the same address wait for the pending one (JSOC
allows one pending export per e-mail) and say so.  Attach follows a request id made elsewhere;
Cancel stops following a request; a job that failed with status 3 (too large) offers to split
its time range into exports small enough to pass.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from jsocdesk.core.jsoc.export import ExportJob, ExportQueue, JobState
from jsocdesk.core.jsoc.protocol import EmailCheck, ExportStatus
from jsocdesk.core.query.tree import Node
from jsocdesk.core.text import clean
from jsocdesk.core.workflow import (
    ExportMethod,
    ExportOptions,
    ExportPlan,
    ExportProtocol,
    PlanEntry,
    make_export_plan,
)
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.demo_process import DEMO_EMAIL, running_demo
from jsocdesk.gui.downloads.folder import DownloadFolderRow
from jsocdesk.gui.downloads.format import human_bytes
from jsocdesk.gui.exports.model import COL_RECORDSET, COL_STATUS, ExportJobsModel

METHODS = tuple(m.value for m in ExportMethod)
PROTOCOLS = tuple(p.value for p in ExportProtocol)
EMAIL_CHECK_DELAY_MS = 400
REGISTER_URL = "http://jsoc.stanford.edu/ajax/register_email.html"
TASK_EMAIL = "exports.check-email"
#: the jobs table and the plan show at least this many rows
JOBS_VISIBLE_ROWS = 6
PLAN_VISIBLE_ROWS = 3
TASK_PLAN = "exports.plan"


def email_message(check: EmailCheck, address: str, *, demo: bool = False) -> str:
    """What the e-mail field says about ``check`` (HTML); in demo mode it never sends the
    user to the real JSOC registration page."""
    addr = html.escape(address)
    if check.registered:
        where = "the demo server" if demo else "JSOC exports"
        return f"<span style='color:#1a7f37'>✔ {addr} is registered for {where}.</span>"
    if check.status == -2 or not address:
        return f"<span style='color:#b42318'>✘ {html.escape(check.message or 'Not valid')}</span>"
    if demo:
        return (
            f"<span style='color:#b42318'>✘ {addr} is not registered on the demo server.</span> "
            f"In demo mode use <b>{DEMO_EMAIL}</b> (no real JSOC account is needed)."
        )
    return (
        f"<span style='color:#b42318'>✘ {addr} is not registered with JSOC "
        f"({html.escape(check.message)}).</span> Register it once at "
        f"<a href='{REGISTER_URL}'>{REGISTER_URL}</a> and answer the confirmation e-mail; "
        "exports can be submitted as soon as JSOC confirms the address."
    )


class ExportsTab(QWidget):
    #: jobs were submitted or attached (list of ExportJob)
    jobs_added = Signal(list)
    #: an option the session keeps changed (e-mail, merge, headers, methods)
    options_changed = Signal()
    #: the plan was recomputed (list of PlanRow)
    plan_ready = Signal(list)
    #: the e-mail check answered (registered: bool, message)
    email_checked = Signal(bool, str)

    def __init__(
        self,
        ctx: AppContext,
        queue: ExportQueue,
        query: Callable[[], Node],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.queue = queue
        self._query = query
        self.plan: list[PlanEntry] = []
        #: user overrides kept across plan refreshes: record set → (method, protocol)
        self.overrides: dict[str, tuple[str, str]] = {}
        self.email_registered: bool | None = None
        self._checked_address: str | None = None
        self._prefilling = False

        # --- plan ---------------------------------------------------------------------------
        plan_box = QGroupBox("Export plan for the current query", self)
        self.merge_check = QCheckBox("Merge branches on the same series", plan_box)
        self.merge_check.setChecked(True)
        self.headers_check = QCheckBox("FITS headers with the keywords", plan_box)
        self.headers_check.setChecked(True)
        self.refresh_button = QPushButton("Refresh plan", plan_box)
        self.plan_table = QTableWidget(0, 5, plan_box)
        self.plan_table.setHorizontalHeaderLabels(
            ["Record set", "Records", "Method", "Protocol", "Why"]
        )
        self.plan_table.verticalHeader().setVisible(False)
        self.plan_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        ph = self.plan_table.horizontalHeader()
        ph.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        ph.resizeSection(0, 420)
        ph.setStretchLastSection(True)
        plan_rows = PLAN_VISIBLE_ROWS * self.plan_table.verticalHeader().defaultSectionSize()
        self.plan_table.setMinimumHeight(plan_rows + ph.sizeHint().height() + 4)
        self.plan_label = QLabel("Press Refresh plan (or open this tab) to plan the export.")
        self.plan_label.setWordWrap(True)
        self.plan_label.setTextFormat(Qt.TextFormat.PlainText)  # it quotes server errors
        top = QHBoxLayout()
        top.addWidget(self.merge_check)
        top.addWidget(self.headers_check)
        top.addStretch(1)
        top.addWidget(self.refresh_button)
        plan_layout = QVBoxLayout(plan_box)
        plan_layout.addLayout(top)
        plan_layout.addWidget(self.plan_table, 1)
        plan_layout.addWidget(self.plan_label)

        # --- e-mail and submit ---------------------------------------------------------------
        self.email_edit = QLineEdit(self)
        self.email_edit.setPlaceholderText("registered e-mail address (JSOC Notify)")
        self.email_edit.setClearButtonEnabled(True)
        self.email_label = QLabel(self)
        self.email_label.setWordWrap(True)
        self.email_label.setTextFormat(Qt.TextFormat.RichText)
        self.email_label.setOpenExternalLinks(True)
        self.submit_button = QPushButton("Submit export", self)
        self.submit_button.setEnabled(False)
        self.attach_edit = QLineEdit(self)
        self.attach_edit.setPlaceholderText("JSOC_YYYYMMDD_NNN")
        self.attach_button = QPushButton("Attach", self)
        form = QFormLayout()
        email_row = QHBoxLayout()
        email_row.addWidget(self.email_edit, 1)
        email_row.addWidget(self.submit_button)
        form.addRow("Notify e-mail:", email_row)
        form.addRow("", self.email_label)
        self.demo_label = QLabel(self)
        self.demo_label.setObjectName("demo-email-note")
        self.demo_label.setWordWrap(True)
        self.demo_label.hide()
        form.addRow("", self.demo_label)
        attach_row = QHBoxLayout()
        attach_row.addWidget(self.attach_edit, 1)
        attach_row.addWidget(self.attach_button)
        form.addRow("Follow request id:", attach_row)
        self.folder_row = DownloadFolderRow(self)
        form.addRow("", self.folder_row)

        # --- jobs ----------------------------------------------------------------------------
        self.model = ExportJobsModel(queue.jobs, self)
        self.jobs_view = QTableView(self)
        self.jobs_view.setModel(self.model)
        self.jobs_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.jobs_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.jobs_view.verticalHeader().setVisible(False)
        jh = self.jobs_view.horizontalHeader()
        jh.resizeSection(0, 160)
        jh.resizeSection(COL_RECORDSET, 300)
        jh.resizeSection(COL_STATUS, 360)
        jh.setStretchLastSection(True)
        # room for several jobs (it was ~1.5 rows tall under the plan and the form)
        rows = JOBS_VISIBLE_ROWS * self.jobs_view.verticalHeader().defaultSectionSize()
        self.jobs_view.setMinimumHeight(rows + jh.sizeHint().height() + 4)
        self.cancel_button = QPushButton("Cancel", self)
        self.split_button = QPushButton("Split time range", self)
        self.remove_button = QPushButton("Remove finished", self)
        self.job_label = QLabel(self)
        self.job_label.setWordWrap(True)
        self.job_label.setTextFormat(Qt.TextFormat.PlainText)
        buttons = QHBoxLayout()
        for b in (self.cancel_button, self.split_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        jobs_box = QWidget(self)
        jobs_layout = QVBoxLayout(jobs_box)
        jobs_layout.setContentsMargins(0, 0, 0, 0)
        jobs_layout.addLayout(form)
        jobs_layout.addWidget(self.jobs_view, 1)
        jobs_layout.addLayout(buttons)
        jobs_layout.addWidget(self.job_label)
        self._jobs_layout = jobs_layout
        #: set by the window: called with the plan and the address before submitting;
        #: True when it took the plan over (a campaign), so no plain exports are queued
        self.submit_hook: Callable[[list[PlanEntry], str], bool] | None = None

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(plan_box)
        splitter.addWidget(jobs_box)
        # in a scroll area: the tab never forces a minimum size on the window
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(splitter)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)
        splitter.setMinimumHeight(640)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scroll)

        # --- wiring ----------------------------------------------------------------------------
        self._email_timer = QTimer(self)
        self._email_timer.setSingleShot(True)
        self._email_timer.setInterval(EMAIL_CHECK_DELAY_MS)
        self._email_timer.timeout.connect(self.check_email_now)
        self.email_edit.textChanged.connect(self._on_email_text_changed)
        self.refresh_button.clicked.connect(self.refresh_plan)
        self.merge_check.toggled.connect(self._on_plan_option_toggled)
        self.headers_check.toggled.connect(self._on_plan_option_toggled)
        self.submit_button.clicked.connect(self.submit)
        self.attach_button.clicked.connect(self._on_attach_clicked)
        self.attach_edit.returnPressed.connect(self._on_attach_clicked)
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.split_button.clicked.connect(self.split_selected)
        self.remove_button.clicked.connect(self.remove_finished)
        self.jobs_view.selectionModel().selectionChanged.connect(self._update_job_actions)
        self.model.dataChanged.connect(self._update_job_actions)
        # after the change is delivered: rows are not removed while a row's signal runs
        self.model.dataChanged.connect(
            lambda *_a: QTimer.singleShot(0, self, self._merge_same_requests)
        )
        self.model.rowsInserted.connect(self._update_job_actions)
        self.model.rowsRemoved.connect(self._update_job_actions)
        self.clock = QTimer(self)
        self.clock.setInterval(1000)
        self.clock.timeout.connect(self.model.tick)
        self.clock.start()
        self._update_job_actions()
        if ctx.settings.email:
            self.email_edit.setText(ctx.settings.email)
        ctx.connected.connect(self._on_ctx_connected)
        if ctx.client is not None:
            self._on_ctx_connected(ctx.client)

    @property
    def demo(self) -> bool:
        """The app talks to its demo server (not JSOC)."""
        return running_demo(self.ctx) is not None

    def _on_ctx_connected(self, _client: object) -> None:
        if self.demo:
            self.demo_label.setText(
                f"Demo mode: the demo server accepts <b>{DEMO_EMAIL}</b>, prefilled here; "
                "exports stay on this machine and no real JSOC account is needed."
            )
            self.demo_label.show()
            if self.email() != DEMO_EMAIL:
                self._prefill(DEMO_EMAIL)
        else:
            self.demo_label.hide()
            if self.email() == DEMO_EMAIL:
                self._prefill(self.ctx.settings.email)

    def _prefill(self, address: str) -> None:
        """Put a default address in the field: not a change of the session's options."""
        self._prefilling = True
        try:
            self.email_edit.setText(address)
        finally:
            self._prefilling = False

    def detach(self) -> None:
        self.clock.stop()
        self._email_timer.stop()
        self.model.detach()

    # --- options (kept in the session) ---------------------------------------------------------
    def options(self) -> ExportOptions:
        """The tab's part of the session's export options (e-mail, merge, headers, methods)."""
        return ExportOptions(
            email=self.email_edit.text().strip(),
            merge=self.merge_check.isChecked(),
            headers=self.headers_check.isChecked(),
            methods=dict(self.overrides),
        )

    def set_options(self, options: ExportOptions) -> None:
        if options.email:
            self.email_edit.setText(options.email)
        for value, box in (
            (options.merge, self.merge_check),
            (options.headers, self.headers_check),
        ):
            box.blockSignals(True)
            box.setChecked(value)
            box.blockSignals(False)
        self.overrides = dict(options.methods)

    # --- plan ----------------------------------------------------------------------------------
    def refresh_plan(self) -> asyncio.Task[Any] | None:
        client = self.ctx.client
        if client is None:
            self.plan_label.setText("Not connected to a JSOC server.")
            return None
        self.plan_label.setText("Planning…")
        return self.ctx.tasks.run(
            make_export_plan(
                client,
                self._query(),
                merge=self.merge_check.isChecked(),
                headers=self.headers_check.isChecked(),
                overrides=self.overrides,
            ),
            name=TASK_PLAN,
            on_success=self._on_plan_ready,
            on_failure=self._on_plan_failed,
            context="Planning the export",
        )

    def _on_plan_option_toggled(self, _on: bool) -> None:
        self.options_changed.emit()
        self.refresh_plan()

    def _on_plan_failed(self, exc: BaseException) -> None:
        self.plan = []
        self.plan_table.setRowCount(0)
        self.plan_label.setText(f"Cannot plan the export: {clean(str(exc))}")
        self._update_submit()

    def _on_plan_ready(self, result: ExportPlan) -> None:
        rows, notify = result.entries, result.notify
        self.plan = rows
        self.plan_table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            self._fill_plan_row(r, row)
        total = result.total_records
        if result.problem:
            self.plan_label.setText(f"The query cannot be exported yet: {result.problem}")
        elif rows:
            size = result.total_bytes
            estimate = f", ≈ {human_bytes(size)} (uncompressed estimate)" if size else ""
            text = f"{len(rows)} export(s), {total} record(s){estimate}."
            self.plan_label.setText("\n".join([text, *(f"⚠ {w}" for w in result.warnings)]))
        else:
            self.plan_label.setText("The query has nothing to export.")
        if notify and not self.email_edit.text().strip():
            self.email_edit.setText(notify)
        self._update_submit()
        self.plan_ready.emit(rows)

    def _fill_plan_row(self, r: int, row: PlanEntry) -> None:
        from PySide6.QtWidgets import QTableWidgetItem

        rs_item = QTableWidgetItem(row.compiled.record_set)
        rs_item.setToolTip(row.compiled.record_set)
        self.plan_table.setItem(r, 0, rs_item)
        count_item = QTableWidgetItem(str(row.count))
        count_item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.plan_table.setItem(r, 1, count_item)
        method = QComboBox(self.plan_table)
        method.addItems(list(METHODS))
        method.setCurrentText(row.method)
        protocol = QComboBox(self.plan_table)
        protocol.addItems(list(PROTOCOLS))
        protocol.setCurrentText(row.protocol)
        self.plan_table.setCellWidget(r, 2, method)
        self.plan_table.setCellWidget(r, 3, protocol)
        why = QTableWidgetItem(row.explanation)
        why.setToolTip(row.explanation)
        self.plan_table.setItem(r, 4, why)

        def changed(_text: str, row: PlanEntry = row, r: int = r) -> None:
            row.override(method.currentText(), protocol.currentText())
            if row.is_auto:
                self.overrides.pop(row.compiled.record_set, None)
            else:
                self.overrides[row.compiled.record_set] = (row.method.value, row.protocol.value)
            item = self.plan_table.item(r, 4)
            if item is not None:
                item.setText(row.explanation)
                item.setToolTip(row.explanation)
            self.options_changed.emit()

        method.currentTextChanged.connect(changed)
        protocol.currentTextChanged.connect(changed)

    def method_combo(self, row: int) -> QComboBox:
        w = self.plan_table.cellWidget(row, 2)
        assert isinstance(w, QComboBox)
        return w

    def protocol_combo(self, row: int) -> QComboBox:
        w = self.plan_table.cellWidget(row, 3)
        assert isinstance(w, QComboBox)
        return w

    # --- e-mail ----------------------------------------------------------------------------------
    def _on_email_text_changed(self, _text: str) -> None:
        self.email_registered = None
        self._checked_address = None
        self.email_label.setText("Checking the address…" if self.email() else "")
        self._update_submit()
        self._email_timer.start()
        if not self._prefilling:
            self.options_changed.emit()

    def email(self) -> str:
        return self.email_edit.text().strip()

    def check_email_now(self) -> asyncio.Task[Any] | None:
        self._email_timer.stop()
        address = self.email()
        client = self.ctx.client
        if not address:
            self.ctx.tasks.cancel(TASK_EMAIL)
            return None
        if client is None:
            self.email_label.setText("Not connected: the address is checked once connected.")
            return None

        def done(check: EmailCheck, address: str = address) -> None:
            if address != self.email():
                return  # typed on meanwhile; a newer check is on its way
            self.email_registered = check.registered
            self._checked_address = address
            demo = self.demo
            self.email_label.setText(email_message(check, address, demo=demo))
            if check.registered and not demo:  # the demo address is no one's real address
                self.ctx.settings.email = address
            self._update_submit()
            self.email_checked.emit(check.registered, check.message)

        return self.ctx.tasks.run(
            client.check_email(address),
            name=TASK_EMAIL,
            on_success=done,
            context="Checking the e-mail address",
        )

    def _update_submit(self) -> None:
        self.submit_button.setEnabled(bool(self.plan) and self.email_registered is True)

    # --- submit / attach -------------------------------------------------------------------------
    def submit(self) -> list[ExportJob]:
        """Queue one export job per plan row (the queue holds same-address jobs)."""
        if not self.plan or self.email_registered is not True:
            return []
        if self.submit_hook is not None and self.submit_hook(list(self.plan), self.email()):
            return []
        jobs = [row.job(self.email()) for row in self.plan]
        for job in jobs:
            self.queue.add(job)
        self.jobs_added.emit(jobs)
        return jobs

    def add_panel(self, panel: QWidget) -> None:
        """Show ``panel`` (the campaigns) under the jobs."""
        self._jobs_layout.addWidget(panel, 1)

    def attach(self, requestid: str) -> ExportJob | None:
        rid = requestid.strip()
        if not rid:
            return None
        if self.ctx.client is None:
            self.job_label.setText("Not connected to a JSOC server: cannot follow a request.")
            return None
        for job in self.queue.jobs:
            if job.requestid == rid:
                # one row per request: a finished one is not followed a second time
                done = "is already followed" if not job.state.finished else "is already listed"
                self.job_label.setText(f"{rid} {done} ({job.status_text}).")
                self.select_job(job)
                return job
        job = ExportJob.attach(rid, self.email())
        self.queue.add(job)
        self.attach_edit.clear()
        self.jobs_added.emit([job])
        return job

    def _on_attach_clicked(self) -> None:
        self.attach(self.attach_edit.text())

    # --- job actions -----------------------------------------------------------------------------
    def select_job(self, job: ExportJob) -> None:
        self.jobs_view.selectRow(self.queue.jobs.index(job))

    def selected_jobs(self) -> list[ExportJob]:
        return self.model.items(self.jobs_view.selectionModel().selectedRows())

    def cancel_selected(self) -> None:
        for job in self.selected_jobs():
            if not job.state.finished:
                self.queue.cancel(job)

    def split_selected(self) -> list[ExportJob]:
        """Replace each selected too-large job by exports of its split time range."""
        new: list[ExportJob] = []
        for job in self.selected_jobs():
            if not self.can_split(job):
                continue
            for part in job.split:
                new.append(
                    ExportJob(
                        recordset=part,
                        email=job.email,
                        method=job.method,
                        protocol=job.protocol,
                        series=job.series,
                        process=job.process,
                    )
                )
            self.queue.jobs.remove(job)
        for j in new:
            self.queue.add(j)
        if new:
            self.job_label.setText(f"Split into {len(new)} exports.")
            self.jobs_added.emit(new)
        return new

    @staticmethod
    def can_split(job: ExportJob) -> bool:
        return (
            job.state is JobState.FAILED
            and job.status is ExportStatus.TOO_LARGE
            and bool(job.split)
        )

    def _merge_same_requests(self) -> None:
        """JSOC answers an identical request with the id it already gave: the same export.
        Keep one row for it (the first), and say so, instead of listing it twice."""
        seen: dict[str, ExportJob] = {}
        for job in list(self.queue.jobs):
            rid = job.requestid
            if not rid or rid == "VOID":
                continue
            first = seen.setdefault(rid, job)
            if first is job:
                continue
            self.queue.cancel(job)  # stop following the copy; the first row follows it
            self.queue.jobs.remove(job)
            self.job_label.setText(
                f"JSOC answered with {rid} again: it is the same export as the row "
                "already listed, which follows it (identical requests share one id)."
            )

    def remove_finished(self) -> None:
        for job in [j for j in self.queue.jobs if j.state.finished]:
            self.queue.jobs.remove(job)

    def _update_job_actions(self, *_args: object) -> None:
        jobs = self.selected_jobs()
        self.cancel_button.setEnabled(any(not j.state.finished for j in jobs))
        splittable = [j for j in jobs if self.can_split(j)]
        self.split_button.setEnabled(bool(splittable))
        if splittable:
            parts = sum(len(j.split) for j in splittable)
            self.split_button.setText(f"Split time range ({parts} exports)")
            self.split_button.setToolTip("\n".join(p for j in splittable for p in j.split))
        else:
            self.split_button.setText("Split time range")
            self.split_button.setToolTip("Offered when JSOC refuses an export as too large")
