"""SettingsDialog: which server to talk to (JSOC / demo / custom URL), e-mail, count delay.

Non-modal-safe: opened with ``open()``; ``accepted`` applies the choices and the window
reconnects in a background task.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from jsocdesk.core.jsoc.polite import EXPLANATION as POLITENESS
from jsocdesk.gui.settings import ServerKind, UserSettings


class SettingsDialog(QDialog):
    def __init__(
        self, settings: UserSettings, parent: QWidget | None = None, *, current: str = ""
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("jsocdesk — settings")
        self._settings = settings
        #: the server this run really talks to (the choice below may differ: --demo and
        #: --server override it for one run)
        self.current_label = QLabel(current or "Not connected to a server yet.", self)
        self.current_label.setObjectName("current-server")
        self.current_label.setWordWrap(True)
        self.current_label.setTextFormat(Qt.TextFormat.PlainText)
        self.jsoc_radio = QRadioButton("JSOC (jsoc.stanford.edu)", self)
        self.demo_radio = QRadioButton("Demo server (offline, started by jsocdesk)", self)
        self.custom_radio = QRadioButton("Other server:", self)
        self.group = QButtonGroup(self)
        for i, b in enumerate((self.jsoc_radio, self.demo_radio, self.custom_radio)):
            self.group.addButton(b, i)
        self.url_edit = QLineEdit(settings.custom_url, self)
        self.url_edit.setPlaceholderText("http://host:port/")
        self.email_edit = QLineEdit(settings.email, self)
        self.email_edit.setPlaceholderText("registered JSOC export address")
        self.delay_spin = QSpinBox(self)
        self.delay_spin.setRange(0, 5000)
        self.delay_spin.setSuffix(" ms")
        self.delay_spin.setValue(settings.count_delay_ms)
        {
            ServerKind.JSOC: self.jsoc_radio,
            ServerKind.DEMO: self.demo_radio,
            ServerKind.CUSTOM: self.custom_radio,
        }[settings.server_kind].setChecked(True)
        self.custom_radio.toggled.connect(self.url_edit.setEnabled)
        self.url_edit.setEnabled(self.custom_radio.isChecked())
        # why JSOC is slower than the demo: the politeness rules (core/jsoc/polite.py)
        self.politeness_label = QLabel(POLITENESS, self)
        self.politeness_label.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Now using", self.current_label)
        server_box = QVBoxLayout()
        for w in (
            self.jsoc_radio,
            self.demo_radio,
            self.custom_radio,
            self.url_edit,
            self.politeness_label,
        ):
            server_box.addWidget(w)
        form.addRow("Server at start-up", server_box)
        form.addRow("Export e-mail", self.email_edit)
        self.folder_edit = QLineEdit(settings.download_folder, self)
        self.folder_edit.setObjectName("default-folder")
        self.folder_edit.setPlaceholderText("~/Downloads/jsocdesk")
        self.folder_button = QPushButton("Choose…", self)
        self.folder_button.clicked.connect(self.choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.folder_button)
        form.addRow("Downloads of new sessions", folder_row)
        self.folder_dialog: QFileDialog | None = None
        form.addRow("Live count delay", self.delay_spin)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def choose_folder(self) -> QFileDialog:
        dialog = QFileDialog(self, "Default download folder", self.folder_edit.text())
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(self.folder_edit.setText)
        self.folder_dialog = dialog
        dialog.open()
        return dialog

    def chosen_kind(self) -> ServerKind:
        if self.demo_radio.isChecked():
            return ServerKind.DEMO
        if self.custom_radio.isChecked() and self.url_edit.text().strip():
            return ServerKind.CUSTOM
        return ServerKind.JSOC

    def apply(self) -> bool:
        """Store the choices; True when the server changed."""
        s = self._settings
        before = (s.server_kind, s.custom_url)
        s.server_kind = self.chosen_kind()
        s.custom_url = self.url_edit.text().strip()
        s.email = self.email_edit.text().strip()
        s.count_delay_ms = self.delay_spin.value()
        s.download_folder = self.folder_edit.text().strip()
        s.sync()
        return (s.server_kind, s.custom_url) != before
