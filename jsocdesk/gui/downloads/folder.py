"""DownloadFolderRow: where this session's files go — shown, chosen, opened.

The Exports and the Downloads tab each show one (the same folder: the session's).  Choose…
opens a folder dialog (non-modal, ``open()``); the window hands the choice to the workflow
(:meth:`~jsocdesk.gui.workflow.Workflow.set_download_folder`).  Open folder shows it in the
desktop's file manager (creating it first: a new session's folder may not exist yet).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget


class DownloadFolderRow(QWidget):
    #: the user chose a folder (Path)
    chosen = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.folder: Path | None = None
        self.title = QLabel("Download folder:", self)
        self.path_label = QLabel("—", self)
        self.path_label.setObjectName("download-folder")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.choose_button = QPushButton("Choose…", self)
        self.choose_button.setObjectName("choose-folder")
        self.choose_button.setToolTip("Choose where this session's files are downloaded")
        self.choose_button.clicked.connect(self.choose)
        self.open_button = QPushButton("Open folder", self)
        self.open_button.setObjectName("open-folder")
        self.open_button.clicked.connect(self.open_folder)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.path_label, 1)
        layout.addWidget(self.choose_button)
        layout.addWidget(self.open_button)
        #: the folder dialog while it is open
        self.dialog: QFileDialog | None = None

    def set_folder(self, folder: Path) -> None:
        self.folder = folder
        self.path_label.setText(str(folder))
        self.path_label.setToolTip(f"This session's files are downloaded into {folder}")

    def choose(self) -> QFileDialog:
        start = str(self.folder) if self.folder is not None and self.folder.is_dir() else ""
        dialog = QFileDialog(self, "Download folder for this session", start or str(Path.home()))
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(lambda p: self.chosen.emit(Path(p)))
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        dialog.open()
        return dialog

    def open_folder(self) -> bool:
        if self.folder is None:
            return False
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self.path_label.setToolTip(f"Cannot create {self.folder}: {exc}")
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.folder)))
