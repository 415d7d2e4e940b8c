"""Workflow: the window's side of the core workflow (stage exports, download, come back).

:class:`Workflow` owns, for one main window, the core objects of the workflow — the
:class:`ExportQueue` (one pending export per e-mail), the :class:`DownloadQueue` with its
:class:`DownloadEngine` and the download catalogue — plus the session's download folder and
server.  Everything that *decides* is the core's (:mod:`jsocdesk.core.workflow`): the plan,
the files of a finished export and their names, the session's sections (parse, confine,
capture).  The window builds its tabs over these objects and wires them
(:class:`~jsocdesk.gui.main_window.MainWindow`); nothing here touches a widget.

Campaigns (:mod:`jsocdesk.gui.campaigns`) run beside the exports: a query too big for one
export is planned and run chunk by chunk into the same download queue, and an export the
server refuses as too large (status 3) becomes a campaign by itself.  They are saved in the
session's ``campaigns`` section (the core's format) and resumed when it is opened again.

Opening a session never writes before the user has seen what it will write: downloads
into a folder the user has not chosen before are restored *held* (paused) until
:meth:`release_held` (the window asks first); finished exports queue their files held too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QStandardPaths

from jsocdesk.core.campaign.plan import Guard
from jsocdesk.core.campaign.state import Campaign, parse_campaigns_section
from jsocdesk.core.campaign.workflow import campaign_from_too_large, confine_to_server
from jsocdesk.core.download.catalog import Catalog, CatalogError
from jsocdesk.core.download.engine import DownloadEngine, EngineOptions
from jsocdesk.core.download.item import DownloadItem, DownloadState
from jsocdesk.core.download.queue import DownloadQueue
from jsocdesk.core.events import Signal
from jsocdesk.core.jsoc.export import ExportJob, ExportQueue, JobState
from jsocdesk.core.jsoc.protocol import ExportStatus
from jsocdesk.core.query.tree import Group
from jsocdesk.core.session import Session
from jsocdesk.core.workflow import (
    ExportOptions,
    PendingWrites,
    ServerIdentity,
    ServerKind,
    WorkflowState,
    apply_workflow,
    enqueue_export,
    parse_workflow,
)
from jsocdesk.gui.campaigns.controller import CampaignsController

if TYPE_CHECKING:
    from jsocdesk.gui.context import AppContext

S = DownloadState
TRUSTED_KEY = "downloads/trusted_folders"
TRUSTED_MAX = 50


def default_download_folder() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
    return Path(base or Path.home()) / "jsocdesk"


class Workflow(QObject):
    """Exports → downloads for one window, and the session's workflow sections.

    Signals (core :class:`~jsocdesk.core.events.Signal`): ``export_finished(job, items)``
    after a finished export's files were queued (``items`` empty when not downloading);
    ``held_changed(bool)`` when downloads start or stop waiting for the user's go.
    """

    def __init__(
        self,
        ctx: AppContext,
        parent: QObject | None = None,
        *,
        engine_options: EngineOptions | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.download_folder = self.default_folder()
        self.auto_download = True
        #: the server of the session as last opened (``None``: not recorded)
        self.session_server: ServerIdentity | None = None
        self.catalog: Catalog | None
        try:
            self.catalog = Catalog.in_data_dir(ctx.paths.data)
        except CatalogError as exc:
            ctx.sink.report(exc, "Download catalogue (files are not recognised this run)")
            self.catalog = None
        self.downloads = DownloadQueue(catalog=self.catalog)
        self.engine = DownloadEngine(
            self.downloads, catalog=self.catalog, options=engine_options or EngineOptions()
        )
        # the client arrives with ctx.connect(); jobs restored before that wait for it
        self.exports = ExportQueue(ctx.client)  # type: ignore[arg-type]
        self.campaigns = CampaignsController(ctx.tasks, ctx.paths.data, self)
        #: past it a plan is shown and confirmed before it is submitted (as a campaign)
        self.guard = Guard()
        #: campaigns of the session being opened (parsed by prepare, applied by apply)
        self._restoring: Any = None
        self.export_finished = Signal("export_finished")
        self.held_changed = Signal("held_changed")
        #: downloads paused until the user confirms the session's folder
        self.held: list[DownloadItem] = []
        self._campaigns_held = False
        self._closing: asyncio.Task[None] | None = None
        ctx.connected.connect(self._on_ctx_connected)
        self.exports.finished.connect(self._on_exports_finished)
        self.downloads.work_available.connect(self.ensure_engine)

    def __repr__(self) -> str:
        return f"<Workflow {self.download_folder} {self.exports!r} {self.downloads!r}>"

    # --- the download folder --------------------------------------------------------------------
    def default_folder(self) -> Path:
        """Where a new session downloads: the folder chosen in Settings, else
        ``~/Downloads/jsocdesk``."""
        chosen = self.ctx.settings.download_folder
        return Path(chosen) if chosen else default_download_folder()

    def trusted_folders(self) -> list[str]:
        return self.ctx.ui_state.load_list(TRUSTED_KEY) or []

    def is_trusted(self, folder: Path) -> bool:
        """A folder the user chose for downloads (or the default one)."""
        real = os.path.realpath(folder)
        defaults = {
            os.path.realpath(default_download_folder()),
            os.path.realpath(self.default_folder()),
        }
        return real in defaults or real in self.trusted_folders()

    def set_download_folder(self, folder: Path) -> None:
        """The user chose ``folder`` for this session's downloads: remembered as trusted, so
        a session of that folder reopens without asking."""
        self.download_folder = Path(os.path.abspath(folder))
        real = os.path.realpath(self.download_folder)
        items = [real, *[f for f in self.trusted_folders() if f != real]][:TRUSTED_MAX]
        self.ctx.ui_state.save_list(TRUSTED_KEY, items)
        self.ctx.ui_state.sync()

    # --- the engine -----------------------------------------------------------------------------
    def ensure_engine(self, *_args: object) -> None:
        """Start the download engine (it then follows the queue) once a loop runs."""
        if self._closing is not None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self.engine.start()

    # --- session sections ----------------------------------------------------------------------
    def capture(self, query: Group, options: ExportOptions) -> Session:
        """The session: ``query``, the tab's ``options`` completed with the folder, the
        auto-download flag and the current server; the jobs and the downloads."""
        options.folder = self.download_folder
        options.auto_download = self.auto_download
        options.server = self.ctx.server or self.session_server
        session = apply_workflow(Session(query=query), options, self.exports.jobs, self.downloads)
        if len(self.campaigns.campaigns):
            session.extra["campaigns"] = self.campaigns.section()
        return session

    def prepare(self, session: Session) -> WorkflowState:
        """Parse and confine the session's sections (raises ``SessionError``; nothing is
        changed).  A demo session opened while the demo runs follows it to its port."""
        state = parse_workflow(session, default_folder=self.default_folder())
        raw = session.extra.get("campaigns")
        parse_campaigns_section(raw)  # all or nothing: a bad section refuses the session
        self._restoring = raw
        current = self.ctx.server
        recorded = state.options.server
        if (
            recorded is not None
            and recorded.kind is ServerKind.DEMO
            and current is not None
            and current.kind is ServerKind.DEMO
            and self.ctx.server_url
        ):
            state.rebase(self.ctx.server_url)
        return state

    def server_mismatch(self, state: WorkflowState) -> str | None:
        """A plain sentence when the session was made against another server."""
        recorded, current = state.options.server, self.ctx.server
        if recorded is None or current is None:
            return None
        return recorded.differs_from(current)

    def apply(self, state: WorkflowState, *, hold: bool) -> None:
        """Replace the jobs and downloads by the session's (already validated).

        ``hold``: the downloads to resume wait (paused) for :meth:`release_held`.
        """
        self.download_folder = state.folder
        self.auto_download = state.options.auto_download
        self.session_server = state.options.server
        for job in list(self.exports.jobs):
            if not job.state.finished:
                self.exports.cancel(job)
        self.exports.jobs.replace_all(state.jobs)
        # stop the transfers of the old queue (partial files stay), then swap the items
        for item in list(self.downloads):
            if item.state in (S.QUEUED, S.ACTIVE):
                self.downloads.pause(item)
        self.held = []
        if hold:
            for item in state.downloads:
                if item.state is S.QUEUED:
                    item.state = S.PAUSED
                    self.held.append(item)
        self.downloads.replace_all(state.downloads)
        self.campaigns.restore(self._restoring)
        self._restoring = None
        self._campaigns_held = hold
        self.held_changed.emit(bool(self.held) or (hold and self._unfinished_campaigns()))
        self.start_campaigns()
        self._follow_jobs()
        self.downloads.work_available.emit()
        self.ensure_engine()

    def pending_writes(self) -> PendingWrites:
        """What resuming the held downloads (and the running exports) will write, where."""
        exports = sum(1 for j in self.exports.jobs if not j.state.finished)
        return PendingWrites.of(
            self.download_folder, self.held, exports if self.auto_download else 0
        )

    def release_held(self) -> None:
        """The user saw what the session writes: trust its folder and resume what was held."""
        self.set_download_folder(self.download_folder)
        held, self.held = self.held, []
        for item in held:
            self.downloads.resume(item)
        self._campaigns_held = False
        self.start_campaigns()
        self.held_changed.emit(False)

    def _follow_jobs(self) -> None:
        """Start (or re-attach to) every unfinished job, once a client exists."""
        if self.ctx.client is None:
            return
        self.exports.client = self.ctx.client
        for job in list(self.exports.jobs):
            if not job.state.finished:
                self.exports.add(job)

    # --- exports → downloads --------------------------------------------------------------------
    def enqueue_export(self, job: ExportJob) -> list[DownloadItem]:
        """Queue the files of a finished export into the session's folder (the core's
        :func:`~jsocdesk.core.workflow.enqueue_export`); held while the folder waits for
        the user's go."""
        items = enqueue_export(self.downloads, job, self.download_folder)
        if self.held or not self.is_trusted(self.download_folder):
            for item in items:
                if item.state is S.QUEUED:
                    self.downloads.pause(item)
                    self.held.append(item)
            if self.held:
                self.held_changed.emit(True)
        self.ensure_engine()
        return items

    # --- campaigns ------------------------------------------------------------------------------
    def _unfinished_campaigns(self) -> bool:
        return any(not c.finished for c in self.campaigns.campaigns)

    def start_campaigns(self) -> None:
        """Run every unfinished campaign that is not running (once a client exists and the
        session's folder has the user's go)."""
        if self.ctx.client is None or self._campaigns_held or self._closing is not None:
            return
        for c in list(self.campaigns.campaigns):
            if not c.finished and not self.campaigns.running(c):
                self.start_campaign(c)

    def start_campaign(self, campaign: Campaign) -> None:
        """Run ``campaign`` into the session's folder through the window's downloads."""
        if self.ctx.client is None:
            self.campaigns.add(campaign)  # runs once connected
            return
        # a campaign from a session downloads only from the server it now runs against
        confine_to_server(campaign, self.ctx.client.config.download_base_url)
        self.ensure_engine()
        self.campaigns.start(self.ctx.client, campaign, self.downloads, self.download_folder)

    def _campaign_instead(self, job: ExportJob) -> None:
        """An export refused as too large: a campaign of its record set replaces it."""
        client = self.ctx.client
        if client is None:
            return

        def start(campaign: Campaign) -> None:
            if job in self.exports.jobs:
                self.exports.jobs.remove(job)
            self.start_campaign(campaign)

        self.ctx.tasks.run(
            campaign_from_too_large(client, job),
            context="Planning a campaign for a too-large export",
            on_success=start,
        )

    def _on_exports_finished(self, job: ExportJob) -> None:
        if job.status is ExportStatus.TOO_LARGE and self.auto_download:
            self._campaign_instead(job)
            return
        items: list[DownloadItem] = []
        if job.state is JobState.DONE and self.auto_download:
            items = self.enqueue_export(job)
        self.export_finished.emit(job, items)

    def _on_ctx_connected(self, client: Any) -> None:
        self.exports.client = client
        self._follow_jobs()
        self.start_campaigns()

    # --- shutdown --------------------------------------------------------------------------------
    def start_closing(self) -> None:
        """Begin :meth:`aclose` now if a loop runs (the window closed, the app quits)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._shutdown())

    async def aclose(self) -> None:
        """Stop transfers (partial files kept, items back to queued) and export polling.

        Idempotent: closing the window starts it; awaiting it again waits for the same work.
        """
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._shutdown())
        await asyncio.shield(self._closing)

    async def _shutdown(self) -> None:
        await self.campaigns.stop_all()  # their state is saved as they stop
        await self.engine.aclose()
        await self.exports.aclose()
        if self.catalog is not None:
            with contextlib.suppress(OSError):
                self.catalog.flush()
