"""Server text in the window: inert plain text in the status bar, error dialog and
notifications; the window's default server is JSOC over verified https."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow

from jsocdesk.core.errors import ServerError
from tests.hostile.test_server_answers import EVIL, no_raw_controls


def test_error_sink_shows_server_text_inert(qtbot: Any) -> None:
    from jsocdesk.gui.errors import ErrorSink

    window = QMainWindow()
    qtbot.addWidget(window)
    sink = ErrorSink(show_dialog=True)
    sink.attach(window.statusBar(), window)
    sink.report(ServerError("<a href='file:///etc'>click</a> " + EVIL + "\ud800", 4), "Export")
    shown = window.statusBar().currentMessage()
    no_raw_controls(shown)
    dialog = sink.dialog
    assert dialog is not None
    assert dialog.summary_label.textFormat() is Qt.TextFormat.PlainText
    no_raw_controls(dialog.summary_label.text())
    no_raw_controls(dialog.details_edit.toPlainText().replace("\n", ""))
    dialog.close()


def test_notifications_show_server_text_inert(qtbot: Any) -> None:
    from jsocdesk.gui.downloads.notify import Notifier

    window = QMainWindow()
    qtbot.addWidget(window)
    notifier = Notifier(window.statusBar())
    notifier.notify("Downloads", "failed: " + EVIL)
    no_raw_controls(window.statusBar().currentMessage())
    no_raw_controls(notifier.history[-1][1])
    notifier.close()


def test_window_default_server_is_verified_https(tmp_path: Path) -> None:
    from jsocdesk.core.jsoc.config import ServerConfig
    from jsocdesk.gui.settings import UserSettings

    url = UserSettings(tmp_path).server_url()
    assert url is not None
    assert url.startswith("https://jsoc.stanford.edu/")
    config = ServerConfig.from_spec(url)
    assert config.verify_tls
    assert config.jsoc_info_url == ServerConfig.jsoc().jsoc_info_url
