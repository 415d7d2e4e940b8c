"""SessionController: the document side of the window — New, Open, Save, Save As, Recent,
autosave with crash recovery, the title with a modified mark, and the unsaved-changes guard.

The controller does not know what a session contains: ``capture()`` builds a core
:class:`~jsocdesk.core.session.Session` from the window's state and ``restore(session)``
applies one (the workflow supplies both).  Loading is all-or-nothing: the file is read,
migrated and ``restore`` validates every section before it changes anything; a file written by
a newer jsocdesk, or a corrupt one, gives a clear message and leaves the window as it was.

Autosave: every :data:`AUTOSAVE_MS` while the session is dirty, the session is written to a
recovery file in the data directory (never over the user's file).  A clean close, a save and a
discard remove it; if it is still there at the next start, the app offers to restore it.

Dialogs are non-blocking (``open()`` + signals): nothing here runs a nested event loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMainWindow, QMenu, QMessageBox

from jsocdesk.core.atomic import atomic_write_text
from jsocdesk.core.errors import SessionError
from jsocdesk.core.session import Session, dumps_session, load_session, loads_session
from jsocdesk.gui.context import AppContext

AUTOSAVE_MS = 30_000
RECENT_KEY = "sessions/recent"
RECENT_MAX = 10
FILE_FILTER = "jsocdesk sessions (*.json *.jsocdesk);;All files (*)"
APP_TITLE = "jsocdesk"
#: top-level key of a recovery file naming the file the session came from
RECOVERY_OF = "recovery_of"


class SessionController(QObject):
    #: the modified flag changed
    dirty_changed = Signal(bool)
    #: a session file was opened (path)
    opened = Signal(object)
    #: the session was saved (path)
    saved = Signal(object)
    #: opening failed; nothing changed (message)
    open_failed = Signal(str)
    #: a recovery file was restored
    recovered = Signal()

    def __init__(
        self,
        window: QMainWindow,
        ctx: AppContext,
        capture: Callable[[], Session],
        restore: Callable[[Session], None],
        *,
        autosave_ms: int = AUTOSAVE_MS,
    ) -> None:
        super().__init__(window)
        self.window = window
        self.ctx = ctx
        self._capture = capture
        self._restore = restore
        self.path: Path | None = None
        self.ctx = ctx
        self.dirty = False
        self._loading = False
        self._close_confirmed = False
        self._after_save: Callable[[], None] | None = None
        self.recovery_path = ctx.paths.data / "recovery" / "autosave.json"
        self.dialog: QMessageBox | QFileDialog | None = None
        self.recent_menu = QMenu("Open &recent", window)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(autosave_ms)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self.update_title()

    # --- state ---------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else "untitled"

    def mark_dirty(self, *_args: object) -> None:
        if self._loading or self.dirty:
            return
        self.dirty = True
        self.update_title()
        self.dirty_changed.emit(True)

    def mark_clean(self) -> None:
        was = self.dirty
        self.dirty = False
        self.update_title()
        if was:
            self.dirty_changed.emit(False)

    def update_title(self) -> None:
        self.window.setWindowTitle(f"{self.name}[*] — {APP_TITLE}")
        self.window.setWindowModified(self.dirty)

    # --- new / open ------------------------------------------------------------------------------
    def new(self) -> None:
        self.guard(self._new_now)

    def _new_now(self) -> None:
        self._apply(Session(), None)

    def open_dialog(self) -> QFileDialog:
        start = str(self.path.parent) if self.path is not None else str(Path.home())
        dialog = QFileDialog(self.window, "Open session", start, FILE_FILTER)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda p: self.guard(lambda: self.open_path(p)))
        self.dialog = dialog
        dialog.open()
        return dialog

    def open_path(self, path: str | Path) -> bool:
        """Open ``path``; on any problem show a message and change nothing."""
        p = Path(path)
        try:
            session = load_session(p)
        except SessionError as exc:
            self._refuse(p, str(exc))
            return False
        if not self._apply(session, p):
            return False
        self.add_recent(p)
        self.window.statusBar().showMessage(f"Opened {p}", 5000)
        self.opened.emit(p)  # after the message: a listener may say more
        return True

    def _apply(self, session: Session, path: Path | None) -> bool:
        self._loading = True
        try:
            self._restore(session)
        except SessionError as exc:
            self._refuse(path, str(exc))
            return False
        finally:
            self._loading = False
        self.path = path
        self.remove_recovery()
        self.mark_clean()
        return True

    def _refuse(self, path: Path | None, message: str) -> None:
        where = str(path) if path is not None else "the session"
        text = f"Cannot open {where}.\n\n{message}\n\nNothing was changed."
        self.window.statusBar().showMessage(f"Cannot open {where}: {message}", 15_000)
        box = QMessageBox(QMessageBox.Icon.Warning, "Cannot open session", text, parent=self.window)
        self.dialog = box
        box.open()
        self.open_failed.emit(message)

    # --- save ------------------------------------------------------------------------------------
    def save(self) -> bool:
        if self.path is None:
            self.save_as_dialog()
            return False
        return self.save_to(self.path)

    def save_as_dialog(self) -> QFileDialog:
        start = str(self.path) if self.path is not None else str(Path.home() / "session.json")
        dialog = QFileDialog(self.window, "Save session", start, FILE_FILTER)
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("json")
        dialog.fileSelected.connect(self.save_to)
        dialog.rejected.connect(self._on_save_dialog_rejected)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _on_save_dialog_rejected(self) -> None:
        self._after_save = None

    def save_to(self, path: str | Path) -> bool:
        p = Path(path)
        try:
            text = dumps_session(self._capture())
            atomic_write_text(p, text)
        except (SessionError, OSError) as exc:
            self.ctx.sink.report(exc, f"Saving {p}")
            self._after_save = None
            return False
        self.path = p
        self.remove_recovery()
        self.mark_clean()
        self.add_recent(p)
        self.window.statusBar().showMessage(f"Saved {p}", 5000)
        self.saved.emit(p)
        then, self._after_save = self._after_save, None
        if then is not None:
            then()
        return True

    # --- recent ----------------------------------------------------------------------------------
    def recent(self) -> list[str]:
        return self.ctx.ui_state.load_list(RECENT_KEY) or []

    def add_recent(self, path: Path) -> None:
        entry = str(path.resolve())
        items = [entry, *[p for p in self.recent() if p != entry]][:RECENT_MAX]
        self.ctx.ui_state.save_list(RECENT_KEY, items)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        items = self.recent()
        if not items:
            act = self.recent_menu.addAction("(no recent sessions)")
            act.setEnabled(False)
            return
        for i, p in enumerate(items, start=1):
            act = self.recent_menu.addAction(f"&{i} {Path(p).name}")
            act.setToolTip(p)
            act.setData(p)
            act.triggered.connect(lambda _c=False, p=p: self.guard(lambda: self.open_path(p)))
        self.recent_menu.addSeparator()
        clear = self.recent_menu.addAction("Clear list")
        clear.triggered.connect(lambda: self.ctx.ui_state.save_list(RECENT_KEY, []))

    # --- autosave and recovery -------------------------------------------------------------------
    def autosave(self) -> bool:
        """Write the recovery file if the session is dirty; True if written."""
        if not self.dirty:
            return False
        session = self._capture()
        session.extra[RECOVERY_OF] = str(self.path) if self.path is not None else None
        try:
            atomic_write_text(self.recovery_path, dumps_session(session))
        except (SessionError, OSError) as exc:
            self.ctx.sink.report(exc, "Autosave")
            return False
        return True

    def remove_recovery(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.recovery_path.unlink()

    def has_recovery(self) -> bool:
        return self.recovery_path.is_file()

    def offer_recovery(self) -> QMessageBox | None:
        """At start-up: if a recovery file exists, ask (non-blocking) whether to restore it."""
        if not self.has_recovery():
            return None
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Restore unsaved session?",
            "jsocdesk did not close properly last time. Restore the session with the changes "
            "that were not saved?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard,
            self.window,
        )
        box.setDefaultButton(QMessageBox.StandardButton.Yes)
        box.finished.connect(lambda _r: self._on_recovery_answer(box))
        self.dialog = box
        box.open()
        return box

    def _on_recovery_answer(self, box: QMessageBox) -> None:
        if box.clickedButton() is box.button(QMessageBox.StandardButton.Yes):
            self.recover()
        else:
            self.remove_recovery()

    def recover(self) -> bool:
        """Restore the recovery file; the session stays dirty (it was never saved)."""
        try:
            text = self.recovery_path.read_bytes()
            session = loads_session(text)
        except (OSError, SessionError) as exc:
            self._refuse(self.recovery_path, str(exc))
            return False
        origin = session.extra.pop(RECOVERY_OF, None)
        path = Path(origin) if isinstance(origin, str) and origin else None
        if not self._apply(session, path):
            return False
        self.dirty = False
        self.mark_dirty()
        self.autosave()  # keep the recovery file until the user saves or discards
        self.recovered.emit()
        return True

    # --- the unsaved-changes guard ---------------------------------------------------------------
    def guard(self, then: Callable[[], Any]) -> None:
        """Run ``then`` now if the session is clean, else ask Save / Discard / Cancel first."""
        if not self.dirty:
            then()
            return
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Unsaved changes",
            f"The session “{self.name}” has unsaved changes. Save them first?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            self.window,
        )
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        box.finished.connect(lambda _r: self._on_guard_answer(box, then))
        self.dialog = box
        box.open()

    def _on_guard_answer(self, box: QMessageBox, then: Callable[[], Any]) -> None:
        clicked = box.clickedButton()
        if clicked is box.button(QMessageBox.StandardButton.Save):
            self._after_save = then
            if self.path is None:
                self.save_as_dialog()
            else:
                self.save_to(self.path)
        elif clicked is box.button(QMessageBox.StandardButton.Discard):
            self.remove_recovery()
            self.dirty = False
            then()

    def _close_now(self) -> None:
        self._close_confirmed = True
        self.window.close()

    def allow_close(self) -> bool:
        """Whether the window may close now: a dirty session asks Save / Discard / Cancel
        first (non-blocking; the window closes again once answered).  A clean close removes
        the recovery file."""
        if self.dirty and not self._close_confirmed:
            self.guard(self._close_now)
            return False
        if not self.dirty:
            self.remove_recovery()  # a clean close: nothing to recover next time
        return True
