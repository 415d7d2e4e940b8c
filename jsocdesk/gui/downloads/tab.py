"""DownloadsTab: the download manager of the window.

* the table (:class:`DownloadsView` over :class:`DownloadsModel`) with a progress delegate;
* actions on the selection (toolbar, context menu, keys): pause, resume, cancel, retry, open,
  show in folder; and on everything: pause all, resume all, remove finished;
* ONE repaint timer (:data:`REPAINT_MS`) that flushes the model's dirty rows *that are on
  screen* and refreshes the totals (tab label + a permanent status-bar label);
* a notification when a batch of downloads ends (everything that was queued is finished).

Opening files goes through :class:`QDesktopServices`; double-clicking a completed FITS file
asks for a quick look instead (:attr:`DownloadsTab.quick_look_requested`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMenu,
    QStatusBar,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from jsocdesk.core.download.item import DownloadItem, DownloadState
from jsocdesk.core.download.queue import DownloadQueue, QueueTotals
from jsocdesk.gui.downloads.folder import DownloadFolderRow
from jsocdesk.gui.downloads.format import human_bytes, human_duration, human_speed
from jsocdesk.gui.downloads.model import DownloadsModel
from jsocdesk.gui.downloads.notify import Notifier
from jsocdesk.gui.downloads.view import DownloadsView

S = DownloadState
REPAINT_MS = 300
FITS_SUFFIXES = (".fits", ".fts", ".fit", ".fits.gz")


def totals_text(t: QueueTotals, *, stalled: bool = False) -> str:
    """The totals line; ``stalled``: every active download receives nothing (no ETA)."""
    if t.count == 0:
        return "No downloads"
    parts = [f"{t.done} of {t.count - t.cancelled} done"]
    if t.failed:
        parts.append(f"{t.failed} failed")
    if t.active:
        parts.append(f"{t.active} active")
    parts.append(f"{human_bytes(t.bytes_done)} / {human_bytes(t.bytes_total)}")
    if t.active and stalled:
        parts.append("stalled")
    elif t.active and t.speed > 0:
        parts.append(human_speed(t.speed))
        eta = human_duration(t.eta)
        if eta:
            parts.append(f"{eta} left")
    return " · ".join(parts)


def is_fits(path: Path) -> bool:
    return path.name.lower().endswith(FITS_SUFFIXES)


class DownloadsTab(QWidget):
    #: a completed FITS file was double-clicked (DownloadItem)
    quick_look_requested = Signal(object)
    #: "View images": the selected downloaded FITS files, for the image viewer
    view_requested = Signal(list)
    #: totals text changed (for a tab title or a status bar)
    totals_changed = Signal(str)

    def __init__(
        self,
        queue: DownloadQueue,
        *,
        status_bar: QStatusBar | None = None,
        notifier: Notifier | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.queue = queue
        self.model = DownloadsModel(queue, self)
        self.view = DownloadsView(self)
        self.view.setModel(self.model)
        self.notifier = notifier
        self.status_label = QLabel(self)
        self._status_bar = status_bar
        if status_bar is not None:
            self.totals_label: QLabel = QLabel(status_bar)
            status_bar.addPermanentWidget(self.totals_label)
        else:
            self.totals_label = QLabel(self)
        self._batch_done = 0
        self._batch_failed = 0
        self._last_totals = ""

        self.toolbar = QToolBar(self)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.act_pause = self._action("Pause", self.pause_selected, "P")
        self.act_resume = self._action("Resume", self.resume_selected, "R")
        self.act_cancel = self._action("Cancel", self.cancel_selected, "Del")
        self.act_retry = self._action("Retry", self.retry_selected, "Ctrl+R")
        self.toolbar.addSeparator()
        self.act_open = self._action("Open", self.open_selected, "Return")
        self.act_show = self._action("Show in folder", self.show_selected_in_folder, "Ctrl+Return")
        self.act_view = self._action("View images", self.view_selected)
        self.act_copy_map = self._action("Copy as sunpy.map.Map(…)", self.copy_selected_as_map)
        self.toolbar.addSeparator()
        self.act_pause_all = self._action("Pause all", queue.pause_all)
        self.act_resume_all = self._action("Resume all", queue.resume_all)
        self.act_clear = self._action("Remove finished", self.remove_finished)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.folder_row = DownloadFolderRow(self)
        layout.addWidget(self.folder_row)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.status_label)

        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._on_view_context_menu)
        self.view.item_activated.connect(self._on_view_item_activated)
        self.view.selectionModel().selectionChanged.connect(self._update_actions)
        self.model.dataChanged.connect(self._update_actions)
        queue.state_changed.connect(self._on_queue_state_changed)

        self.repaint_timer = QTimer(self)
        self.repaint_timer.setInterval(REPAINT_MS)
        self.repaint_timer.timeout.connect(self.refresh)
        # the timer runs while something may change on screen; an idle queue stops it
        ev = queue.events
        self._wake_signals = (ev.changed, ev.inserted, ev.removed, ev.moved, ev.reset)
        for sig in self._wake_signals:
            sig.connect(self.wake)
        ev.inserted.connect(self._on_queue_inserted)
        # the totals follow a changed list at once (a reopened session's 161 files showed
        # "No downloads" until the next repaint tick)
        for sig in (ev.inserted, ev.removed, ev.reset):
            sig.connect(self._refresh_totals)
        self._update_actions()
        self.wake()
        self.refresh()  # stops the timer again if there is nothing to follow

    def _action(self, text: str, slot: Any, shortcut: str | None = None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        act.triggered.connect(slot)
        self.toolbar.addAction(act)
        self.addAction(act)
        return act

    def detach(self) -> None:
        """Stop following the queue (before the tab is discarded)."""
        self.repaint_timer.stop()
        for sig in self._wake_signals:
            sig.disconnect(self.wake)
        self.queue.events.inserted.disconnect(self._on_queue_inserted)
        for sig in (self.queue.events.inserted, self.queue.events.removed, self.queue.events.reset):
            sig.disconnect(self._refresh_totals)
        self.queue.state_changed.disconnect(self._on_queue_state_changed)
        self.model.detach()
        if self._status_bar is not None:
            self._status_bar.removeWidget(self.totals_label)

    # --- the one timer ------------------------------------------------------------------------
    def wake(self, *_args: object) -> None:
        """Make sure the repaint timer runs (something in the queue changed)."""
        if not self.repaint_timer.isActive():
            self.repaint_timer.start()

    def _refresh_totals(self, *_args: object) -> None:
        active = [it for it in self.queue if it.state is S.ACTIVE]
        stalled = bool(active) and all(it.stalled() for it in active)
        text = totals_text(self.queue.totals(), stalled=stalled)
        if text != self._last_totals:
            self._last_totals = text
            self.totals_label.setText(text)
            self.totals_changed.emit(text)

    def refresh(self) -> None:
        """Repaint visible dirty rows and refresh the totals (called by the repaint timer)."""
        if self.model.pending_repaints:
            first, last = self.view.visible_rows()
            if not self.view.isVisible():
                last = -1  # nothing on screen: nothing to repaint, data() reads live values
            self.model.flush(first, last)
        self._refresh_totals()
        if self.queue.idle and not self.model.pending_repaints:
            self.repaint_timer.stop()  # nothing moves: sleep until the queue wakes us

    # --- selection commands ------------------------------------------------------------------
    def selected_items(self) -> list[DownloadItem]:
        return self.view.selected_items()

    def pause_selected(self) -> None:
        for item in self.selected_items():
            self.queue.pause(item)

    def resume_selected(self) -> None:
        for item in self.selected_items():
            self.queue.resume(item)

    def cancel_selected(self) -> None:
        for item in self.selected_items():
            self.queue.cancel(item)

    def retry_selected(self) -> None:
        for item in self.selected_items():
            self.queue.retry(item)

    def open_selected(self) -> None:
        for item in self.selected_items():
            if item.state is S.DONE:
                self.open_item(item)

    def show_selected_in_folder(self) -> None:
        folders = dict.fromkeys(it.target.parent for it in self.selected_items())
        for folder in folders:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    def view_selected(self) -> list[Path]:
        """Ask for the image viewer on the selected downloaded FITS files (a time series)."""
        paths = [i.target for i in self.selected_items() if i.state is S.DONE and is_fits(i.target)]
        if paths:
            self.view_requested.emit(paths)
        return paths

    def open_item(self, item: DownloadItem) -> bool:
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(item.target)))

    def copy_selected_as_map(self) -> str:
        """The selected downloaded FITS files as a ``sunpy.map.Map(...)`` call (clipboard)."""
        from PySide6.QtWidgets import QApplication

        from jsocdesk.core.script.snippets import sunpy_map_call

        paths = [it.target for it in self.selected_items() if it.state is S.DONE]
        paths = [p for p in paths if is_fits(p)]
        if not paths:
            return ""
        text = sunpy_map_call(paths)
        QApplication.clipboard().setText(text)
        return text

    def remove_finished(self) -> None:
        for item in [it for it in self.queue if it.state in (S.DONE, S.CANCELLED)]:
            self.queue.remove_item(item)

    def _update_actions(self, *_args: object) -> None:
        items = self.selected_items()
        states = {it.state for it in items}
        self.act_pause.setEnabled(bool(states & {S.QUEUED, S.ACTIVE}))
        self.act_resume.setEnabled(S.PAUSED in states)
        self.act_cancel.setEnabled(bool(states & {S.QUEUED, S.ACTIVE, S.PAUSED, S.FAILED}))
        self.act_retry.setEnabled(bool(states & {S.FAILED, S.CANCELLED}))
        self.act_open.setEnabled(S.DONE in states)
        self.act_view.setEnabled(S.DONE in states)
        self.act_copy_map.setEnabled(any(it.state is S.DONE and is_fits(it.target) for it in items))
        self.act_show.setEnabled(bool(items))

    # --- events --------------------------------------------------------------------------------
    def _on_view_item_activated(self, item: DownloadItem) -> None:
        if item.state is not S.DONE:
            return
        if is_fits(item.target):
            self.quick_look_requested.emit(item)
        else:
            self.open_item(item)

    def _on_view_context_menu(self, pos: QPoint) -> None:
        menu = QMenu(self)
        for act in (
            self.act_pause,
            self.act_resume,
            self.act_cancel,
            self.act_retry,
            None,
            self.act_open,
            self.act_view,
            self.act_show,
            self.act_copy_map,
        ):
            if act is None:
                menu.addSeparator()
            else:
                menu.addAction(act)
        menu.popup(self.view.viewport().mapToGlobal(pos))

    def _on_queue_inserted(self, *_args: object) -> None:
        self.status_label.setText("")  # a new batch: the last one's summary is stale

    def _on_queue_state_changed(self, item: DownloadItem, _old: DownloadState) -> None:
        if item.state in (S.QUEUED, S.ACTIVE) and self.status_label.text():
            self.status_label.setText("")  # a new batch: the last one's summary is stale
        if item.state is S.DONE:
            self._batch_done += 1
        elif item.state is S.FAILED:
            self._batch_failed += 1
        if item.finished and self.queue.idle and (self._batch_done or self._batch_failed):
            message = f"{self._batch_done} file(s) downloaded"
            if self._batch_failed:
                message += f", {self._batch_failed} failed"
            self._batch_done = self._batch_failed = 0
            self._refresh_totals()  # the totals say the same as the summary, at once
            if self.notifier is not None:
                self.notifier.notify("Downloads finished", message)
            self.status_label.setText(f"{message} (at {time.strftime('%H:%M')})")
