"""MainWindow: series browser | query builder over the result tabs.

The window composes widgets and wires them; it holds no query or workflow logic of its own.
:meth:`MainWindow.build` creates the panels, the Results, Exports and Downloads tabs over the
window's :class:`~jsocdesk.gui.workflow.Workflow` (the core's export and download queues),
the :class:`~jsocdesk.gui.sessions.controller.SessionController` (File → New session / Open /
Open recent / Save / Save As act on whole sessions) and connects their signals; other
features add tabs with :meth:`MainWindow.add_tab`.  Nobody patches the window: its actions
call the controllers, dropping a session file on it opens the file, closing it asks the
session controller first.

Fast first paint: ``MainWindow(ctx, deferred=True)`` builds only the frame (size, status
bar); the app shows it, lets it paint, then calls :meth:`MainWindow.build`, which imports the
heavy parts (astropy via the query core, numpy via the results) and creates the panels.
Without ``deferred`` (tests, tools) everything is built at once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QWidget,
)

from jsocdesk.core.campaign.workflow import prepare_campaign
from jsocdesk.core.errors import JsocError
from jsocdesk.core.net import redact_url
from jsocdesk.gui.campaigns.panel import CampaignsPanel, ask_to_submit
from jsocdesk.gui.context import AppContext

if TYPE_CHECKING:
    from jsocdesk.core.download.item import DownloadItem
    from jsocdesk.core.jsoc.export import ExportJob
    from jsocdesk.core.results.resultset import ResultSet
    from jsocdesk.core.seriesinfo import SeriesInfo
    from jsocdesk.core.session import Session
    from jsocdesk.gui.downloads.notify import Notifier
    from jsocdesk.gui.downloads.tab import DownloadsTab
    from jsocdesk.gui.exports.tab import ExportsTab
    from jsocdesk.gui.query.panel import QueryPanelWidget
    from jsocdesk.gui.quicklook import QuickLookDialog
    from jsocdesk.gui.results.tab import ResultsTabWidget
    from jsocdesk.gui.series.browser import SeriesBrowserWidget
    from jsocdesk.gui.sessions.controller import SessionController
    from jsocdesk.gui.workflow import Workflow

WINDOW_TITLE = "jsocdesk"
SESSION_SUFFIXES = (".json", ".jsocdesk")
#: the export plan is recomputed this long after the last edit of the query
PLAN_DELAY_MS = 400


class MainWindow(QMainWindow):
    #: a search produced a result set (the results tab shows it)
    search_started = Signal(object)
    #: a search was refused because the query has problems (first message)
    search_blocked = Signal(str)
    #: the window closed (the unsaved-changes guard let it): the app quits after clean-up
    closed = Signal()

    # created by build()
    series_browser: SeriesBrowserWidget
    query_panel: QueryPanelWidget
    results_tab: ResultsTabWidget
    workflow: Workflow
    exports_tab: ExportsTab
    downloads_tab: DownloadsTab
    notifier: Notifier
    sessions: SessionController

    def __init__(
        self, ctx: AppContext, parent: QWidget | None = None, *, deferred: bool = False
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.built = False
        self._shut_down = False
        self.quick_look_dialog: QuickLookDialog | None = None
        self.dialog: QMessageBox | None = None
        self.setObjectName("main-window")
        self.setWindowTitle(WINDOW_TITLE)
        self.resize(1280, 800)
        self.busy_label = QLabel(self)
        self.statusBar().addPermanentWidget(self.busy_label)
        self.server_label = QLabel("Not connected", self)
        self.statusBar().addPermanentWidget(self.server_label)
        #: says plainly when the open session was made against another server
        self.server_warning = QLabel(self)
        self.server_warning.setObjectName("server-warning")
        self.server_warning.setStyleSheet("color: #b42318")
        self.server_warning.hide()
        self.statusBar().addPermanentWidget(self.server_warning)
        ctx.sink.attach(self.statusBar(), self)
        ctx.tasks.busy_changed.connect(self._on_tasks_busy_changed)
        ctx.connected.connect(self._on_ctx_connected)
        for key, apply in (
            ("window/geometry", self.restoreGeometry),
            ("window/state", self.restoreState),
        ):
            state = ctx.ui_state.load_bytes(key)
            if state is not None:
                apply(state)
        if deferred:
            placeholder = QLabel("Loading…", self)
            placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.setCentralWidget(placeholder)
        else:
            self.build()

    def build_browser(self) -> None:
        """Create the series browser first (light imports): the start-up shows the server's
        series list in it while :meth:`build` imports the query builder's heavy parts."""
        if hasattr(self, "series_browser"):
            return
        from jsocdesk.gui.series.browser import SeriesBrowserWidget

        self.series_browser = SeriesBrowserWidget(self.ctx, self)
        self.main_splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.main_splitter.setObjectName("main-splitter")
        self.main_splitter.addWidget(self.series_browser)
        placeholder = QLabel("Loading the query builder…", self)
        placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.main_splitter.addWidget(placeholder)
        self.main_splitter.setStretchFactor(0, 2)
        self.main_splitter.setStretchFactor(1, 5)
        # first-run layout (saved splitter states replace it): room for series descriptions
        self.main_splitter.setSizes([380, max(600, self.width() - 380)])
        self.setCentralWidget(self.main_splitter)
        self.series_browser.series_loaded.connect(self._on_browser_series_loaded)
        if self.ctx.client is not None:  # connected before the browser existed
            self.series_browser.reload()

    def build(self) -> None:
        """Create the panels, tabs, controllers, menus and wiring (once)."""
        if self.built:
            return
        from jsocdesk.gui.downloads.notify import Notifier
        from jsocdesk.gui.downloads.tab import DownloadsTab
        from jsocdesk.gui.exports.tab import ExportsTab
        from jsocdesk.gui.query.panel import QueryPanelWidget
        from jsocdesk.gui.results.tab import ResultsTabWidget
        from jsocdesk.gui.sessions.controller import SessionController
        from jsocdesk.gui.workflow import Workflow

        ctx = self.ctx
        self.build_browser()
        self.query_panel = QueryPanelWidget(ctx, self)
        self.results_tab = ResultsTabWidget(ctx, self)
        self.workflow = Workflow(ctx, self)
        self.notifier = Notifier(self.statusBar(), self)
        self.exports_tab = ExportsTab(ctx, self.workflow.exports, self.query_root, self)
        self.downloads_tab = DownloadsTab(
            self.workflow.downloads,
            status_bar=self.statusBar(),
            notifier=self.notifier,
            parent=self,
        )
        self.campaigns_panel = CampaignsPanel(self.workflow.campaigns.campaigns, self.exports_tab)
        self.exports_tab.add_panel(self.campaigns_panel)
        self.exports_tab.submit_hook = self._submit_campaign
        self.sessions = SessionController(self, ctx, self.capture_session, self.restore_session)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("main-tabs")
        self.tabs.setDocumentMode(True)
        self.add_tab(self.results_tab, "Results")
        self._add_keyword_plot()
        self.add_tab(self.exports_tab, "Exports")
        self.add_tab(self.downloads_tab, "Downloads")

        self.right_splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.right_splitter.setObjectName("right-splitter")
        self.right_splitter.addWidget(self.query_panel)
        self._add_coverage()
        self.right_splitter.addWidget(self.tabs)
        self.right_splitter.setStretchFactor(0, 2)
        self.right_splitter.setStretchFactor(1, 1)
        self.right_splitter.setStretchFactor(2, 3)
        placeholder = self.main_splitter.replaceWidget(1, self.right_splitter)
        if placeholder is not None:
            placeholder.deleteLater()
        # first-run layout again (saved splitter states replace it in restore_ui_state)
        self.main_splitter.setSizes([380, max(600, self.width() - 380)])
        self.right_splitter.setSizes([280, 150, max(400, self.height() - 430)])

        self.series_browser.series_info_loaded.connect(self._on_browser_series_info_loaded)
        self.series_browser.use_series_requested.connect(self._on_browser_use_series_requested)
        self.query_panel.search_requested.connect(self.search)
        self.query_panel.validity_changed.connect(lambda *_a: self._follow_query_series())
        self.query_panel.view.selectionModel().currentChanged.connect(
            lambda *_a: self._follow_query_series()
        )
        self.results_tab.columns_requested.connect(lambda _keys: self.search())
        self._wire_workflow()

        self._build_menus()
        self.setAcceptDrops(True)
        self.built = True
        self.restore_ui_state()
        if self.series_browser.model.rowCount():  # listed before the query builder existed
            self._on_browser_series_loaded(self.series_browser.model.rowCount())
        QTimer.singleShot(0, self, self.sessions.offer_recovery)  # once the window is up
        if ctx.client is not None:  # connected before the panels existed
            self.query_panel.schedule_refresh()

    def _add_coverage(self) -> None:
        """The coverage timeline under the query (:mod:`jsocdesk.gui.coverage`)."""
        from jsocdesk.gui.coverage import CoverageTimeline

        self.coverage = CoverageTimeline(self.ctx, self.query_panel, self)
        self.right_splitter.addWidget(self.coverage)

    def _add_keyword_plot(self) -> None:
        """The Plot tab (:mod:`jsocdesk.gui.keyword_plot`): follows each search's results."""
        from jsocdesk.gui.keyword_plot import KeywordPlot, select_result_row

        self.keyword_plot = KeywordPlot(self)
        self.add_tab(self.keyword_plot, "Plot")
        self.search_started.connect(self.keyword_plot.set_result_set)
        self.keyword_plot.row_clicked.connect(lambda row: select_result_row(self.results_tab, row))

    # --- tabs -------------------------------------------------------------------------------

    def add_tab(self, widget: QWidget, title: str) -> int:
        """Add a tab next to Results (how other features plug in)."""
        return self.tabs.addTab(widget, title)

    # --- workflow wiring ----------------------------------------------------------------------

    def query_root(self) -> Any:
        return self.query_panel.tree.root

    def _wire_workflow(self) -> None:
        wf, sessions = self.workflow, self.sessions
        self._plan_stale = True
        self._plan_timer = QTimer(self)
        self._plan_timer.setSingleShot(True)
        self._plan_timer.setInterval(PLAN_DELAY_MS)
        self._plan_timer.timeout.connect(self._on_plan_timer_timeout)
        wf.export_finished.connect(self._on_workflow_export_finished)
        wf.held_changed.connect(self._on_workflow_held_changed)
        # what the user changes makes the session dirty; transfers and polls do not (their
        # state follows the disk and the server when the session is opened again)
        for ev in (wf.exports.jobs.events, wf.downloads.events, wf.campaigns.campaigns.events):
            for sig in (ev.inserted, ev.removed, ev.moved):
                sig.connect(sessions.mark_dirty)
        self.exports_tab.jobs_added.connect(self._on_exports_tab_jobs_added)
        self.exports_tab.options_changed.connect(sessions.mark_dirty)
        self.downloads_tab.quick_look_requested.connect(self.quick_look)
        for row in (self.exports_tab.folder_row, self.downloads_tab.folder_row):
            row.chosen.connect(self.set_download_folder)
        self._show_download_folder()
        self.downloads_tab.view_requested.connect(self.open_viewer)
        sessions.opened.connect(self._on_sessions_opened)
        self._server_mismatch: str | None = None
        self.query_panel.tree.events.modified.connect(self._on_tree_modified)
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)

    def _submit_campaign(self, entries: list[Any], email: str) -> bool:
        """Submit: a plan too big for one export per record set (or past the guard) is
        planned as a campaign, shown, and run once the user says so."""
        from jsocdesk.core.campaign.workflow import blocks_of_plan, needs_campaign

        blocks = blocks_of_plan(entries)
        client = self.ctx.client
        if client is None or not needs_campaign(blocks, guard=self.workflow.guard):
            return False

        def ask(prepared: Any) -> None:
            def answer(yes: bool) -> None:
                if yes:
                    self.workflow.start_campaign(prepared.campaign)

            self._campaign_question = ask_to_submit(self, prepared.plan, answer)

        self.ctx.tasks.run(
            prepare_campaign(
                client,
                blocks,
                email=email,
                folder=self.workflow.download_folder,
                method=blocks[0].method or "url",
                protocol=blocks[0].protocol or "fits",
            ),
            context="Planning a campaign",
            on_success=ask,
        )
        return True

    def set_download_folder(self, folder: Path) -> None:
        """The user chose where this session's files go (from now on: files already queued
        keep their place)."""
        self.workflow.set_download_folder(folder)
        self._show_download_folder()
        self.sessions.mark_dirty()
        self.statusBar().showMessage(
            f"This session's downloads go to {self.workflow.download_folder} from now on", 8000
        )

    def _show_download_folder(self) -> None:
        for row in (self.exports_tab.folder_row, self.downloads_tab.folder_row):
            row.set_folder(self.workflow.download_folder)

    def capture_session(self) -> Session:
        """The session as the window shows it (the core writes the sections)."""
        return self.workflow.capture(self.query_panel.tree.root, self.exports_tab.options())

    def restore_session(self, session: Session) -> None:
        """Apply ``session``: validated first by the core (paths confined to its folder),
        then applied all or nothing.  Downloads into a folder the user has not chosen wait
        for the user's go (see :meth:`_on_workflow_held_changed`)."""
        state = self.workflow.prepare(session)
        self.query_panel.load_root(session.query)
        self.exports_tab.set_options(state.options)
        # a folder the user chose before is not asked about again, unless the session would
        # replace files already in it
        ask = not self.workflow.is_trusted(state.folder) or state.writes().replaces > 0
        self.workflow.apply(state, hold=ask)
        self._show_download_folder()
        self._plan_stale = True
        mismatch = self.workflow.server_mismatch(state)
        recorded = state.options.server
        # short in the status bar (it shares the line), the whole sentence in the tooltip
        short = f"Session made on {recorded.label}, not this server" if recorded else ""
        self.server_warning.setText(short if mismatch else "")
        self.server_warning.setToolTip(mismatch or "")
        self.server_warning.setVisible(bool(mismatch))
        self._server_mismatch = mismatch

    def _on_sessions_opened(self, _path: Path) -> None:
        if self._server_mismatch:
            self.statusBar().showMessage(self._server_mismatch, 15_000)

    def _on_workflow_held_changed(self, held: bool) -> None:
        if not held:
            return
        writes = self.workflow.pending_writes()
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Download into this folder?",
            "Nothing has been written yet. This session wants to download:\n\n"
            f"{writes.describe()}\n\nDownload there now? (Keep paused leaves every file "
            "as it is; you can resume downloads from the Downloads tab.)",
            QMessageBox.StandardButton.NoButton,
            self,
        )
        box.setObjectName("confirm-downloads")
        box.addButton("Download here", QMessageBox.ButtonRole.AcceptRole)
        box.addButton("Keep paused", QMessageBox.ButtonRole.RejectRole)
        box.finished.connect(lambda _r: self._on_confirm_downloads_answer(box))
        self.dialog = box
        box.open()

    def _on_confirm_downloads_answer(self, box: QMessageBox) -> None:
        clicked = box.clickedButton()
        if clicked is not None and box.buttonRole(clicked) is QMessageBox.ButtonRole.AcceptRole:
            self.workflow.release_held()

    def _on_workflow_export_finished(self, job: ExportJob, items: list[DownloadItem]) -> None:
        from jsocdesk.core.jsoc.export import JobState

        rid = job.requestid or job.recordset
        if job.state is JobState.DONE:
            n = 1 if job.tar_url else len(job.files)
            text = f"{rid}: {n} file(s) ready"
            new = [it for it in items if not it.finished]
            had = len(items) - len(new)
            if new:
                text += (
                    f", downloading {len(new)}"
                    if not self.workflow.held
                    else (", waiting for your go")
                )
                if had:
                    text += f" ({had} already downloaded)"
            elif items:  # a re-export of records already here: say so, not "downloading"
                text += (
                    f"; all {had} already downloaded in {self.workflow.download_folder} "
                    "(nothing new to download)"
                )
            self.notifier.notify("Export ready", text)
        elif job.state is JobState.FAILED:
            self.notifier.notify("Export failed", f"{rid}: {job.error.splitlines()[0]}")

    def _on_exports_tab_jobs_added(self, _jobs: list[Any]) -> None:
        self.tabs.setCurrentWidget(self.exports_tab)

    def _on_tree_modified(self) -> None:
        self._plan_stale = True
        self.sessions.mark_dirty()
        if self.tabs.currentWidget() is self.exports_tab:
            self._plan_timer.start()  # re-plan once the edits pause

    def _on_plan_timer_timeout(self) -> None:
        self._on_tabs_current_changed(self.tabs.currentIndex())

    def _on_tabs_current_changed(self, _index: int) -> None:
        shown = self.tabs.currentWidget() is self.exports_tab
        if shown and self._plan_stale and self.exports_tab.refresh_plan() is not None:
            self._plan_stale = False

    def quick_look(self, item: DownloadItem) -> asyncio.Task[Any]:
        from jsocdesk.gui.quicklook import QuickLookDialog, load_preview_async

        if self.quick_look_dialog is None:
            self.quick_look_dialog = QuickLookDialog(self)
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

    # --- dropping a session file on the window ------------------------------------------------

    @staticmethod
    def dropped_session(event: QDragEnterEvent | QDropEvent) -> Path | None:
        mime = event.mimeData()
        if mime is None or not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile() and url.toLocalFile().lower().endswith(SESSION_SUFFIXES):
                return Path(url.toLocalFile())
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.built and self.dropped_session(event) is not None:
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: Any) -> None:
        if self.built and self.dropped_session(event) is not None:
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        path = self.dropped_session(event) if self.built else None
        if path is None:
            super().dropEvent(event)
            return
        event.acceptProposedAction()
        self.sessions.guard(lambda: self.sessions.open_path(path))

    # --- menus ------------------------------------------------------------------------------

    def _action(self, text: str, slot: Any, shortcut: Any = None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(slot)
        return act

    def _build_menus(self) -> None:
        mb = self.menuBar()
        file_menu = mb.addMenu("&File")
        self.new_action = self._action("&New query", self.new_query, QKeySequence.StandardKey.New)
        self.new_session_action = self._action(
            "New &session", self.sessions.new, QKeySequence("Ctrl+Shift+N")
        )
        self.open_action = self._action(
            "&Open session…", self.sessions.open_dialog, QKeySequence.StandardKey.Open
        )
        self.save_action = self._action(
            "&Save session", self.sessions.save, QKeySequence.StandardKey.Save
        )
        self.save_as_action = self._action(
            "Save session &as…", self.sessions.save_as_dialog, QKeySequence.StandardKey.SaveAs
        )
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        if not self.quit_action.shortcuts():  # no platform theme (plain X11): none bound
            self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.settings_action = self._action(
            "Se&ttings…", self.open_settings, QKeySequence.StandardKey.Preferences
        )
        for act in (self.new_action, self.new_session_action, self.open_action):
            file_menu.addAction(act)
        file_menu.addMenu(self.sessions.recent_menu)
        for act in (self.save_action, self.save_as_action):
            file_menu.addAction(act)
        self.open_images_action = self._action("Open &images…", self.open_images)
        file_menu.addAction(self.open_images_action)
        file_menu.addSeparator()
        from jsocdesk.gui.results_out import ResultsOut

        self.results_out = ResultsOut(self, file_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        edit_menu = mb.addMenu("&Edit")
        stack = self.query_panel.undo_stack
        self.undo_action = stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence("Ctrl+Z"))
        self.redo_action = stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        self.filter_action = self._action(
            "&Filter results", self.focus_filter, QKeySequence.StandardKey.Find
        )
        edit_menu.addAction(self.filter_action)
        self.focus_recordset_action = self._action(
            "Edit record set &text", self.focus_record_set, QKeySequence("Ctrl+L")
        )
        edit_menu.addAction(self.focus_recordset_action)

        query_menu = mb.addMenu("&Query")
        add_menu = query_menu.addMenu("&Add node")
        for act in self.query_panel.add_actions.values():
            add_menu.addAction(act)
        query_menu.addAction(self.query_panel.group_and_action)
        query_menu.addAction(self.query_panel.group_or_action)
        for act in self.query_panel.move_actions:
            query_menu.addAction(act)
        query_menu.addAction(self.query_panel.delete_action)
        query_menu.addSeparator()
        self.search_action = self._action("&Search", self.search, QKeySequence("F5"))
        query_menu.addAction(self.search_action)
        self.count_action = self._action(
            "&Count now", self.query_panel.refresh_now, QKeySequence("Shift+F5")
        )
        query_menu.addAction(self.count_action)
        query_menu.addSeparator()
        from jsocdesk.gui.copy_code import add_copy_actions

        self.copy_code_actions = add_copy_actions(self, query_menu)

        help_menu = mb.addMenu("&Help")
        self.errors_action = self._action("&Error details…", self.ctx.sink.show_details)
        help_menu.addAction(self.errors_action)
        self._add_optional_help_actions(help_menu)

    def _add_optional_help_actions(self, menu: Any) -> None:
        """About and log viewer live in their own modules (packaging); use them if present."""
        import importlib

        for module, func, text in (
            ("jsocdesk.gui.logview", "show_log", "Show &log…"),
            ("jsocdesk.gui.about", "show_about", "&About jsocdesk…"),
        ):
            try:
                mod = importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
                continue
            show = getattr(mod, func, None)
            if callable(show):
                menu.addAction(self._action(text, lambda _c=False, f=show: f(self)))

    # --- wiring -----------------------------------------------------------------------------

    def current_server_text(self) -> str:
        """Which server this run talks to, in words (Settings, the status bar)."""
        from jsocdesk.gui.demo_process import running_demo
        from jsocdesk.gui.settings import JSOC_URL, ServerKind

        url = self.ctx.server_url
        if url is None:
            return "Not connected to a server yet."
        if running_demo(self.ctx) is not None:
            text = f"the demo server at {url}, started by jsocdesk (offline; demo data)"
            s = self.ctx.settings
            if s.server_kind is ServerKind.CUSTOM and s.custom_url:
                text += (
                    f". --demo overrides the saved server {s.custom_url} for this run only; "
                    "without --demo jsocdesk connects to it again"
                )
            elif s.server_kind is ServerKind.JSOC:
                text += ". --demo overrides the saved choice (JSOC) for this run only"
            return text[0].upper() + text[1:] + "."
        if url == JSOC_URL:
            return f"JSOC at {url}."
        return f"The server at {url}."

    def _on_ctx_connected(self, client: Any) -> None:
        server = self.ctx.server
        self.server_label.setText(
            f"Server: {server.label if server else redact_url(self.ctx.server_url or '')}"
        )
        self.server_label.setToolTip(self.current_server_text())
        if self.built:
            self._plan_stale = True
            if self.exports_tab.email():
                self.exports_tab.check_email_now()

    def _on_tasks_busy_changed(self, n: int) -> None:
        self.busy_label.setText(f"{n} task{'s' if n != 1 else ''} running" if n else "")

    def _on_browser_series_loaded(self, _n: int) -> None:
        if not hasattr(self, "query_panel"):
            return  # build() hands the names over
        names = [
            self.series_browser.model.entry(i).name
            for i in range(self.series_browser.model.rowCount())
        ]
        self.query_panel.set_series_names(names)

    def _on_browser_series_info_loaded(self, info: SeriesInfo) -> None:
        self.query_panel.set_current_info(info)

    def _on_browser_use_series_requested(self, name: str) -> None:
        from jsocdesk.core.query.tree import Series

        self.query_panel.add_node("series", Series(name), edit=False)

    def _follow_query_series(self) -> None:
        """The series browser (and its details pane) shows the query's series: the current
        node's when it is a Series, else the query's first; from the metadata the query's
        check fetched (after each check, and when the current node changes)."""
        from jsocdesk.core.query.tree import Series

        panel = self.query_panel
        current = panel.model.node(panel.view.currentIndex())
        names = [current.name] if isinstance(current, Series) else []
        if not names:
            tree = panel.tree
            names = [n.name for n in (tree.node(i) for i in tree.ids()) if isinstance(n, Series)]
        if not names:
            return
        info = panel.info_for(names[0])
        if info is None:
            return  # follows once the query's check fetched it (never a request of its own)
        shown = self.series_browser.selected_series()
        if shown is None or shown.lower() != names[0].lower():
            self.series_browser.select_series(names[0], info)

    def focus_filter(self) -> None:
        self.tabs.setCurrentWidget(self.results_tab)
        self.results_tab.focus_filter()

    def focus_record_set(self) -> None:
        self.query_panel.recordset_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.query_panel.recordset_edit.selectAll()

    # --- settings ---------------------------------------------------------------------------

    def open_settings(self) -> None:
        from jsocdesk.gui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.ctx.settings, self, current=self.current_server_text())
        dialog.accepted.connect(lambda: self._on_settings_accepted(dialog))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self.settings_dialog = dialog

    def _on_settings_accepted(self, dialog: Any) -> None:
        if dialog.apply():
            self.ctx.tasks.run(self.connect_chosen_server(), context="Connecting", owner=self)

    async def connect_chosen_server(self) -> str | None:
        """Connect to the server the settings name (starting the demo server if needed)."""
        from jsocdesk.gui.settings import ServerKind

        if self.ctx.settings.server_kind is ServerKind.DEMO:
            return await self.start_demo()
        url = self.ctx.settings.server_url()
        if url is not None:
            self.ctx.connect(url)
            self.statusBar().showMessage(f"Connected to {url}", 5000)
        return url

    async def start_demo(self) -> str:
        """Run (once) and connect to the demo server."""
        self.statusBar().showMessage("Starting the demo server…")
        url = await self.ctx.start_demo()
        self.statusBar().showMessage(f"Connected to the demo server at {url}", 5000)
        return url

    # --- search -----------------------------------------------------------------------------

    def search(self) -> asyncio.Task[Any]:
        return self.ctx.tasks.run(self._search(), name="search", context="Searching", owner=self)

    async def _search(self) -> ResultSet | None:
        from jsocdesk.gui.query import service

        client = self.ctx.client
        if client is None:
            raise JsocError("Not connected to a JSOC server")
        panel = self.query_panel
        root = panel.tree.root
        names = service.series_names(root)
        infos = await service.fetch_infos(client, names)
        check = service.check_query(root, infos)
        panel.apply_check(check)
        if not check.ok:
            from jsocdesk.gui.query.panel import short_message

            problems = panel.problem_messages() or ["The query is empty"]
            first = problems[0]
            n = len(problems)
            message = (
                f"Search blocked: {n} problem{'s' if n != 1 else ''} in the query "
                f"(marked in the tree). {short_message(first)}"
            )
            self.statusBar().showMessage(message, 15000)
            self.search_blocked.emit(first)
            return None
        # every record set of the query, one per series (an OR over two series: both;
        # the results tab has a selector for them)
        by_series: dict[str, list[str]] = {}
        for c in check.compiled:
            by_series.setdefault(c.series.lower(), []).append(c.record_set)
        parts = [(",".join(sets), infos[series]) for series, sets in by_series.items()]
        self.tabs.setCurrentWidget(self.results_tab)
        rs, model = self.results_tab.show_parts(parts)
        if len(parts) > 1:
            self.statusBar().showMessage(
                f"The query has {len(parts)} record sets (one per series): choose one "
                "above the results",
                10000,
            )
        self.search_started.emit(rs)
        await rs.fetch_count()
        model.fetch_page()
        return rs

    # --- query / sessions -------------------------------------------------------------------

    def open_images(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open images", "", "FITS files (*.fits *.fts *.fit);;All files (*)"
        )
        if paths:
            self.open_viewer(paths)

    def open_viewer(self, paths: list[str] | list[Path]) -> Any:
        """A viewer on ``paths``; its "Use as cutout" box goes into the query."""
        from jsocdesk.gui.viewer import open_viewer

        return open_viewer(paths, self, on_cutout=self.query_panel.use_cutout)

    def new_query(self) -> None:
        """Clear the query tree (the rest of the session stays)."""
        self.query_panel.new_query()

    def open_session_file(self, path: str | Path) -> bool:
        """Open a whole session (``jsocdesk SESSION.json``); a bad file is refused with a
        clear message and changes nothing."""
        return self.sessions.open_path(path)

    def save_session_file(self, path: str | Path) -> bool:
        return self.sessions.save_to(path)

    # --- UI state ---------------------------------------------------------------------------

    def save_ui_state(self) -> None:
        ui = self.ctx.ui_state
        ui.save_bytes("window/geometry", self.saveGeometry())
        ui.save_bytes("window/state", self.saveState())
        if not self.built:
            ui.sync()
            return
        ui.save_bytes("window/main-splitter", self.main_splitter.saveState())
        ui.save_bytes("window/right-splitter", self.right_splitter.saveState())
        ui.save_bytes("window/series-splitter", self.series_browser.splitter.saveState())
        ui.save_bytes("window/query-header", self.query_panel.view.header().saveState())
        self.results_tab.save_header_state()
        ui.sync()

    def restore_ui_state(self) -> None:
        ui = self.ctx.ui_state
        for key, apply in (
            ("window/main-splitter", self.main_splitter.restoreState),
            ("window/right-splitter", self.right_splitter.restoreState),
            ("window/series-splitter", self.series_browser.splitter.restoreState),
            ("window/query-header", self.query_panel.view.header().restoreState),
        ):
            state = ui.load_bytes(key)
            if state is not None:
                apply(state)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.built and not self.sessions.allow_close():
            event.ignore()  # the unsaved-changes guard asks first (non-blocking)
            return
        self.shutdown()
        super().closeEvent(event)
        self.closed.emit()

    def shutdown(self) -> None:
        """Stop the timers and start stopping the transfers (partial files are kept); the
        UI state is saved.  Idempotent; the app awaits ``workflow.aclose()`` afterwards."""
        if self._shut_down:
            return
        self._shut_down = True
        if self.built:
            self.query_panel.stop_timers()
            self._plan_timer.stop()
            self.sessions.autosave_timer.stop()
            for timer in (self.downloads_tab.repaint_timer, self.exports_tab.clock):
                timer.stop()
            self.workflow.start_closing()
            self.notifier.close()
        self.save_ui_state()
        if self.built:
            self.results_tab.shutdown()
