"""One place where every failure of the app ends up: status bar + a non-modal details dialog.

Background tasks (:mod:`jsocdesk.gui.tasks`), the asyncio loop's exception handler and
``sys.excepthook`` all call :meth:`ErrorSink.report`.  Nothing is swallowed: the one-line
message goes to the status bar, the full traceback to the details dialog, and every report is
kept in :attr:`ErrorSink.reports` for the dialog and for tests.  The dialog is shown with
``show()`` — never ``exec()``, so no nested event loop runs inside a coroutine — and is
deliberately *not* window-modal (``open()`` would be): a failure in a background task must
not lock the window the user is working in.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)

from jsocdesk.core.errors import JsocdeskError
from jsocdesk.core.text import clean

log = logging.getLogger(__name__)

STATUS_TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class ErrorReport:
    context: str
    message: str
    details: str
    exception: BaseException | None


def one_line(exc: BaseException) -> str:
    """The message a user sees: our typed errors are written for users, others get a type."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if isinstance(exc, JsocdeskError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ErrorDetailsDialog(QDialog):
    """Non-modal dialog listing the reports with their tracebacks."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("jsocdesk — errors")
        self.setModal(False)
        self.resize(720, 420)
        self.summary_label = QLabel(self)
        self.summary_label.setWordWrap(True)
        # server text must never be read as rich text (links, images, fake markup)
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.details_edit = QPlainTextEdit(self)
        self.details_edit.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary_label)
        layout.addWidget(self.details_edit, 1)
        layout.addWidget(buttons)

    def show_reports(self, reports: list[ErrorReport]) -> None:
        last = reports[-1]
        self.summary_label.setText(f"{last.context}: {last.message}")
        chunks = [f"== {r.context}: {r.message}\n{r.details}" for r in reversed(reports)]
        self.details_edit.setPlainText("\n".join(chunks))


class ErrorSink(QObject):
    """Collects failures; shows them in a status bar and a details dialog."""

    #: (context, one-line message)
    error_reported = Signal(str, str)

    def __init__(self, parent: QObject | None = None, *, show_dialog: bool = True) -> None:
        super().__init__(parent)
        self.reports: list[ErrorReport] = []
        self.show_dialog = show_dialog
        self._status_bar: QStatusBar | None = None
        self._dialog_parent: QWidget | None = None
        self._dialog: ErrorDetailsDialog | None = None

    def attach(self, status_bar: QStatusBar | None, dialog_parent: QWidget | None) -> None:
        self._status_bar = status_bar
        self._dialog_parent = dialog_parent

    @property
    def dialog(self) -> ErrorDetailsDialog | None:
        return self._dialog

    def report(self, exc: BaseException, context: str = "Error") -> ErrorReport:
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        entry = ErrorReport(context, one_line(exc), details, exc)
        self._add(entry)
        return entry

    def report_message(self, message: str, context: str = "Error") -> ErrorReport:
        entry = ErrorReport(context, message, message, None)
        self._add(entry)
        return entry

    def _add(self, entry: ErrorReport) -> None:
        # messages quote servers and files: shown as inert plain text, never raw
        entry = ErrorReport(
            clean(entry.context, limit=200),
            clean(entry.message),
            clean(entry.details, limit=20_000, keep_newlines=True),
            entry.exception,
        )
        self.reports.append(entry)
        log.error("%s: %s\n%s", entry.context, entry.message, entry.details)
        if self._status_bar is not None:
            self._status_bar.showMessage(f"{entry.context}: {entry.message}", STATUS_TIMEOUT_MS)
        if self.show_dialog:
            self.show_details()
        self.error_reported.emit(entry.context, entry.message)

    def show_details(self) -> None:
        if not self.reports:
            return
        if self._dialog is None:
            self._dialog = ErrorDetailsDialog(self._dialog_parent)
        self._dialog.show_reports(self.reports)
        if not self._dialog.isVisible():
            self._dialog.show()
        self._dialog.raise_()

    # --- hooks ------------------------------------------------------------------------------

    def excepthook(
        self, etype: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        """``sys.excepthook``: Qt slots that raise end up here instead of aborting."""
        if value.__traceback__ is None and tb is not None:
            value = value.with_traceback(tb)
        self.report(value, "Unexpected error")

    def loop_exception_handler(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        """asyncio exception handler: exceptions nobody awaited."""
        exc = context.get("exception")
        if isinstance(exc, BaseException):
            self.report(exc, context.get("message") or "Background error")
        else:
            self.report_message(str(context.get("message", context)), "Background error")

    def install(self) -> None:
        sys.excepthook = self.excepthook
