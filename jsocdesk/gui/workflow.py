"""Workflow: the glue that completes the window — stage exports, download, come back tomorrow.

:func:`install_workflow` composes, for one :class:`~jsocdesk.gui.main_window.MainWindow`:

* the core :class:`ExportQueue` (one pending export per e-mail) and the **Exports** tab;
* the core :class:`DownloadQueue` + :class:`DownloadEngine` (with the download catalogue, so
  files fetched before are recognised and shown done) and the **Downloads** tab;
* an export that ends with files queues them for download into the session's folder, and a
  desktop notification (tray, else status bar) says so;
* a :class:`SessionController` whose session holds the query tree, the export options, the
  export jobs (re-attached on open) and the download queue (resumed on open): File → New /
  Open / Open recent / Save / Save As are re-pointed at it, ``window.open_session_file``
  (used for ``jsocdesk SESSION.json``) too, and a session file dropped on the window opens;
* quick look: a double-clicked FITS download shows its header and a thumbnail.

Nothing here subclasses the window: the workflow holds it, adds tabs through
``MainWindow.add_tab`` and watches it with an event filter (drops).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QStandardPaths, QTimer
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QMenu

from jsocdesk.core.download.catalog import (
    Catalog,
    CatalogError,
    archive_member_keys,
    catalog_key,
)
from jsocdesk.core.download.engine import DownloadEngine, EngineOptions
from jsocdesk.core.download.item import DownloadItem, DownloadState
from jsocdesk.core.download.queue import DownloadQueue
from jsocdesk.core.errors import SessionCorrupt
from jsocdesk.core.jsoc.export import ExportJob, ExportQueue, JobState
from jsocdesk.core.jsoc.protocol import ExportFile
from jsocdesk.core.query.tree import Node
from jsocdesk.core.session import Session
from jsocdesk.gui.downloads.notify import Notifier
from jsocdesk.gui.downloads.tab import DownloadsTab
from jsocdesk.gui.exports.tab import ExportsTab
from jsocdesk.gui.quicklook import QuickLookDialog, load_preview_async
from jsocdesk.gui.sessions.controller import AUTOSAVE_MS, SessionController

if TYPE_CHECKING:
    from jsocdesk.gui.context import AppContext
    from jsocdesk.gui.main_window import MainWindow

S = DownloadState
DOWNLOADS_FORMAT = 1
SESSION_SUFFIXES = (".json", ".jsocdesk")
#: the export plan is recomputed this long after the last edit of the query
PLAN_DELAY_MS = 400


def default_download_folder() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
    return Path(base or Path.home()) / "jsocdesk"


_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


def local_name(file: ExportFile) -> str:
    """A file name for an exported file.

    Names JSOC built from ``filenamefmt`` (``hmi.v_45s.20140101_000000_TAI.2.Dopplergram.fits``)
    are kept; ``as-is`` files are stored under their segment name only (``Dopplergram.fits``),
    so the record spec is folded into the name instead
    (``hmi.v_45s.2014.01.01_00.00.00_TAI.2.Dopplergram.fits``).
    """
    base = PurePosixPath(file.filename).name or PurePosixPath(file.url).name
    series = file.record.split("[", 1)[0].split("{", 1)[0]
    if series and base.lower().startswith(series.lower() + "."):
        return base
    keys = re.findall(r"\[([^\]]*)\]", file.record)
    stem = ".".join([series, *keys]) if series else ""
    stem = _UNSAFE.sub("_", stem.replace(":", ".")).strip("._")
    return f"{stem}.{base}" if stem else base


def parse_jobs(section: dict[str, Any]) -> list[ExportJob]:
    raw = section.get("items", [])
    if not isinstance(raw, list):
        raise SessionCorrupt("the 'jobs' section must hold a list of items")
    try:
        return [ExportJob.from_dict(d) for d in raw]
    except ValueError as exc:
        raise SessionCorrupt(f"an export job in the session is invalid: {exc}") from None


def parse_downloads(section: dict[str, Any]) -> list[DownloadItem]:
    version = section.get("format_version", DOWNLOADS_FORMAT)
    if not isinstance(version, int) or version > DOWNLOADS_FORMAT:
        raise SessionCorrupt(
            f"the downloads section has format {version!r}, newer than this jsocdesk reads"
        )
    raw = section.get("items", [])
    if not isinstance(raw, list):
        raise SessionCorrupt("the 'downloads' section must hold a list of items")
    items: list[DownloadItem] = []
    try:
        for d in raw:
            if not isinstance(d, dict):
                raise TypeError("an item is not an object")
            item = DownloadItem.from_json(d)
            if item.state is S.ACTIVE:  # was running when saved: resume it
                item.state = S.QUEUED
            items.append(item)
    except (KeyError, TypeError, ValueError) as exc:
        raise SessionCorrupt(f"a download in the session is invalid: {exc}") from None
    return items


class Workflow(QObject):
    def __init__(
        self,
        window: MainWindow,
        ctx: AppContext,
        *,
        autosave_ms: int = AUTOSAVE_MS,
        engine_options: EngineOptions | None = None,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.ctx = ctx
        self.download_folder = default_download_folder()
        self.auto_download = True
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
        self.notifier = Notifier(window.statusBar(), self)
        self.exports_tab = ExportsTab(ctx, self.exports, self.query_root, window)
        self.downloads_tab = DownloadsTab(
            self.downloads, status_bar=window.statusBar(), notifier=self.notifier, parent=window
        )
        window.add_tab(self.exports_tab, "Exports")
        window.add_tab(self.downloads_tab, "Downloads")
        self.sessions = SessionController(
            window, ctx, self.capture, self.restore, autosave_ms=autosave_ms
        )
        self.quick_look_dialog: QuickLookDialog | None = None
        self._plan_stale = True
        self._plan_timer = QTimer(self)
        self._plan_timer.setSingleShot(True)
        self._plan_timer.setInterval(PLAN_DELAY_MS)
        self._plan_timer.timeout.connect(self._on_plan_timer_timeout)
        self._closing: asyncio.Task[None] | None = None

        ctx.connected.connect(self._on_ctx_connected)
        self.exports.finished.connect(self._on_exports_finished)
        for ev in (self.exports.jobs.events, self.downloads.events):
            for sig in (ev.inserted, ev.removed, ev.moved, ev.reset):
                sig.connect(self.sessions.mark_dirty)
        self.downloads.state_changed.connect(self.sessions.mark_dirty)
        self.downloads.work_available.connect(self.ensure_engine)
        self.exports_tab.jobs_added.connect(self._on_exports_tab_jobs_added)
        self.exports_tab.options_changed.connect(self.sessions.mark_dirty)
        self.downloads_tab.quick_look_requested.connect(self.quick_look)
        self.downloads_tab.view_requested.connect(self.window.open_viewer)
        window.query_panel.tree.events.modified.connect(self._on_tree_modified)
        window.tabs.currentChanged.connect(self._on_window_tab_changed)
        self._rewire_file_menu()
        window.setAcceptDrops(True)
        window.installEventFilter(self)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_app_about_to_quit)
        QTimer.singleShot(0, self, self._start)  # once the window is up; dropped if it is gone

    # --- plumbing ------------------------------------------------------------------------------
    def query_root(self) -> Node:
        return self.window.query_panel.tree.root

    def _start(self) -> None:
        self.sessions.offer_recovery()

    def ensure_engine(self, *_args: object) -> None:
        """Start the download engine (it then follows the queue) once a loop runs.

        Called whenever the queue has work (``work_available``) and after a session is
        restored; without a running loop (a window built before the loop starts) the next
        call starts it.
        """
        if self._closing is not None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self.engine.start()

    def _rewire_file_menu(self) -> None:
        """Open / Save / Save As act on whole sessions; add New session and Open recent.

        The window's own "New query" (Ctrl+N) keeps clearing just the query tree.
        """
        w = self.window
        pairs = (
            (w.open_action, self.sessions.open_dialog),
            (w.save_action, self.sessions.save),
            (w.save_as_action, self.sessions.save_as_dialog),
        )
        for action, slot in pairs:
            with contextlib.suppress(RuntimeError, TypeError):
                action.triggered.disconnect()
            action.triggered.connect(slot)
        self.new_session_action = QAction("New &session", w)
        self.new_session_action.setShortcut(QKeySequence("Ctrl+Shift+N"))
        self.new_session_action.triggered.connect(self.sessions.new)
        for menu_action in w.menuBar().actions():
            menu = menu_action.menu()
            if isinstance(menu, QMenu) and w.save_action in menu.actions():
                menu.insertAction(w.open_action, self.new_session_action)
                menu.insertMenu(w.save_action, self.sessions.recent_menu)
                break
        # the command line (`jsocdesk SESSION.json`) opens through the window: route it here
        w.open_session_file = self.sessions.open_path  # type: ignore[method-assign,assignment]
        w.save_session_file = self.sessions.save_to  # type: ignore[method-assign,assignment]

    # --- session state -------------------------------------------------------------------------
    def capture(self) -> Session:
        export = dict(self.exports_tab.options())
        export["folder"] = str(self.download_folder)
        export["auto_download"] = self.auto_download
        return Session(
            query=self.window.query_panel.tree.root,
            export=export,
            jobs={"items": [job.to_dict() for job in self.exports.jobs]},
            downloads={
                "format_version": DOWNLOADS_FORMAT,
                "items": [item.to_json() for item in self.downloads],
            },
        )

    def restore(self, session: Session) -> None:
        """Apply ``session``: everything is validated first, then applied (all or nothing)."""
        jobs = parse_jobs(session.jobs)
        items = parse_downloads(session.downloads)
        folder = session.export.get("folder")
        auto = session.export.get("auto_download", True)
        if folder is not None and not isinstance(folder, str):
            raise SessionCorrupt("export option 'folder' must be a string")

        self.window.query_panel.load_root(session.query)
        self.exports_tab.set_options(session.export)
        self.download_folder = Path(folder) if folder else default_download_folder()
        self.auto_download = bool(auto)
        self._plan_stale = True

        for job in list(self.exports.jobs):
            if not job.state.finished:
                self.exports.cancel(job)
        self.exports.jobs.replace_all([])
        for job in jobs:
            self.exports.jobs.append(job)
        self._follow_jobs()

        # stop the transfers of the old queue (partial files stay), then swap the items
        for item in list(self.downloads):
            if item.state in (S.QUEUED, S.ACTIVE):
                self.downloads.pause(item)
        self.downloads.replace_all(items)
        self.downloads.work_available.emit()
        self.ensure_engine()

    def _follow_jobs(self) -> None:
        """Start (or re-attach to) every unfinished job, once a client exists."""
        if self.ctx.client is None:
            return
        self.exports.client = self.ctx.client
        for job in list(self.exports.jobs):
            if not job.state.finished:
                self.exports.add(job)

    # --- exports → downloads -------------------------------------------------------------------
    def enqueue_export(self, job: ExportJob) -> list[DownloadItem]:
        """Queue the files of a finished export for download into the session's folder."""
        folder = self.download_folder
        items: list[DownloadItem] = []
        if job.tar_url:
            # one archive, unpacked by the engine once verified; its members are catalogued
            name = PurePosixPath(job.tar_url).name or f"{job.requestid}.tar"
            members = archive_member_keys(job.files, job.protocol)
            items.append(
                self.downloads.add(job.tar_url, folder, name=name, unpack=True, member_keys=members)
            )
        else:
            for f in job.files:
                items.append(
                    self.downloads.add(
                        f.url,
                        folder,
                        name=local_name(f),
                        key=catalog_key(f.record, f.filename, job.protocol),
                    )
                )
        self.ensure_engine()
        return items

    def _on_exports_finished(self, job: ExportJob) -> None:
        rid = job.requestid or job.recordset
        if job.state is JobState.DONE:
            n = 1 if job.tar_url else len(job.files)
            text = f"{rid}: {n} file(s) ready"
            if self.auto_download:
                self.enqueue_export(job)
                text += ", downloading"
            self.notifier.notify("Export ready", text)
        elif job.state is JobState.FAILED:
            self.notifier.notify("Export failed", f"{rid}: {job.error.splitlines()[0]}")

    def _on_exports_tab_jobs_added(self, _jobs: list[ExportJob]) -> None:
        self.window.tabs.setCurrentWidget(self.exports_tab)

    def _on_ctx_connected(self, client: Any) -> None:
        self.exports.client = client
        self._follow_jobs()
        self._plan_stale = True
        if self.exports_tab.email():
            self.exports_tab.check_email_now()

    def _on_tree_modified(self) -> None:
        self._plan_stale = True
        self.sessions.mark_dirty()
        if self.window.tabs.currentWidget() is self.exports_tab:
            self._plan_timer.start()  # re-plan once the edits pause

    def _on_plan_timer_timeout(self) -> None:
        if self.window.tabs.currentWidget() is self.exports_tab:
            self._on_window_tab_changed(self.window.tabs.currentIndex())

    def _on_window_tab_changed(self, _index: int) -> None:
        shown = self.window.tabs.currentWidget() is self.exports_tab
        if shown and self._plan_stale and self.exports_tab.refresh_plan() is not None:
            self._plan_stale = False

    # --- quick look ------------------------------------------------------------------------------
    def quick_look(self, item: DownloadItem) -> asyncio.Task[Any]:
        if self.quick_look_dialog is None:
            self.quick_look_dialog = QuickLookDialog(self.window)
        dialog = self.quick_look_dialog
        dialog.show_loading(item.target)
        dialog.show()
        dialog.raise_()
        return self.ctx.tasks.run(
            load_preview_async(item.target),
            name="quick-look",
            on_success=dialog.show_preview,
            on_failure=dialog.show_failure,
            context=f"Quick look at {item.target.name}",
        )

    # --- dropping a session file on the window -------------------------------------------------
    @staticmethod
    def dropped_session(event: QDragEnterEvent | QDropEvent) -> Path | None:
        mime = event.mimeData()
        if mime is None or not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile() and url.toLocalFile().lower().endswith(SESSION_SUFFIXES):
                return Path(url.toLocalFile())
        return None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window:
            kind = event.type()
            if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
                assert isinstance(event, QDragEnterEvent | QDropEvent)
                if self.dropped_session(event) is not None:
                    event.acceptProposedAction()
                    return True
            elif kind == QEvent.Type.Drop:
                assert isinstance(event, QDropEvent)
                path = self.dropped_session(event)
                if path is not None:
                    event.acceptProposedAction()
                    self.sessions._guard(lambda: self.sessions.open_path(path))
                    return True
            elif kind == QEvent.Type.Close and self._closing is None:
                # the session guard may still refuse this close: look again after it
                QTimer.singleShot(0, self._on_window_closed)
        return False

    def _on_window_closed(self) -> None:
        if not shiboken6.isValid(self.window):
            return
        if not self.window.isVisible() and self._closing is None:
            self._closing = asyncio.ensure_future(self._shutdown())

    def _on_app_about_to_quit(self) -> None:
        # the app stops its loop soon after: stop the transfers now (partial files are kept)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._closing is None and shiboken6.isValid(self):
            self._closing = asyncio.ensure_future(self._shutdown())

    # --- shutdown --------------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Stop transfers (partial files kept, items back to queued) and export polling.

        Idempotent: closing the window starts it; awaiting it again waits for the same work.
        """
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._shutdown())
        await asyncio.shield(self._closing)

    async def _shutdown(self) -> None:
        for timer in (self.downloads_tab.repaint_timer, self.exports_tab.clock):
            if shiboken6.isValid(timer):
                timer.stop()
        await self.engine.aclose()
        await self.exports.aclose()
        if self.catalog is not None:
            with contextlib.suppress(OSError):
                self.catalog.flush()
        if shiboken6.isValid(self.notifier):
            self.notifier.close()


def install_workflow(window: MainWindow, ctx: AppContext, **options: Any) -> Workflow:
    """Add Exports, Downloads and sessions to ``window`` (see the module docstring)."""
    return Workflow(window, ctx, **options)
