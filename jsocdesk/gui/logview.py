"""Help → Show log: the rotating log file (:mod:`jsocdesk.logsetup`) in a read-only viewer.

The viewer shows the file's tail (at most :data:`TAIL_BYTES`, cut at a line start, so a long
log never loads megabytes onto the GUI thread), reloads on demand, and hands the file or its
folder to the desktop (:class:`QDesktopServices`) for a real editor.  It is non-modal and
reused: :func:`show_log` raises the viewer already open under ``parent``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QFontDatabase, QTextCursor
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from jsocdesk.logsetup import log_file_path

#: at most this much of the end of the log file is shown
TAIL_BYTES = 256 * 1024
NO_LOG_TEXT = "No log has been written yet."


def read_tail(path: Path, limit: int = TAIL_BYTES) -> tuple[str, bool]:
    """The last ``limit`` bytes of ``path``, starting at a line; and whether it was cut."""
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        start = max(0, size - limit)
        fh.seek(start)
        data = fh.read()
    truncated = start > 0
    if truncated:
        newline = data.find(b"\n")
        data = data[newline + 1 :] if newline >= 0 else b""
    return data.decode("utf-8", errors="replace"), truncated


class LogViewer(QDialog):
    def __init__(self, path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("logViewer")
        self.setModal(False)
        self.path = path if path is not None else log_file_path()
        self.setWindowTitle(f"jsocdesk log — {self.path.name}")

        self.path_label = QLabel()
        self.path_label.setWordWrap(True)
        self.text = QPlainTextEdit()
        self.text.setObjectName("logText")
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.reload_button = QPushButton("Reload")
        self.open_button = QPushButton("Open in editor")
        self.folder_button = QPushButton("Open folder")
        for button in (self.reload_button, self.open_button, self.folder_button):
            buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        self.reload_button.clicked.connect(self.reload)
        self.open_button.clicked.connect(self._on_open_clicked)
        self.folder_button.clicked.connect(self._on_folder_clicked)
        buttons.rejected.connect(self.close)

        layout = QVBoxLayout(self)
        layout.addWidget(self.path_label)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.resize(820, 520)
        self.reload()

    def reload(self) -> None:
        """Show the current tail of the log file and scroll to its end."""
        try:
            content, truncated = read_tail(self.path)
        except FileNotFoundError:
            content, truncated = "", False
        except OSError as exc:
            content, truncated = f"Cannot read the log: {exc}", False
        exists = self.path.is_file()
        note = f" (last {TAIL_BYTES // 1024} KiB)" if truncated else ""
        self.path_label.setText(f"{self.path}{note}")
        self.text.setPlainText(content if exists else NO_LOG_TEXT)
        self.open_button.setEnabled(exists)
        self.folder_button.setEnabled(self.path.parent.is_dir())
        self.text.moveCursor(QTextCursor.MoveOperation.End)

    def _on_open_clicked(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path)))

    def _on_folder_clicked(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.path.parent)))


def show_log(parent: QWidget | None = None, path: Path | None = None) -> LogViewer:
    """Show the log viewer (reloaded; reusing the one open under ``parent``) without blocking."""
    viewer = parent.findChild(LogViewer) if parent is not None else None
    if viewer is None or (path is not None and viewer.path != path):
        viewer = LogViewer(path, parent)
    else:
        viewer.reload()
    viewer.show()
    viewer.raise_()
    viewer.activateWindow()
    return viewer
