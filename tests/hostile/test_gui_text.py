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


def test_exports_and_downloads_tables_show_server_errors_inert(qtbot: Any) -> None:
    from PySide6.QtCore import QModelIndex

    from jsocdesk.core.download import DownloadQueue, DownloadState
    from jsocdesk.core.events import EventedList
    from jsocdesk.core.jsoc.export import ExportJob, JobState
    from jsocdesk.gui.downloads import model as dmodel
    from jsocdesk.gui.exports import model as emodel

    job = ExportJob.attach("JSOC_1")
    job.state, job.error = JobState.FAILED, "Export failed: " + EVIL
    jobs: EventedList[ExportJob] = EventedList()
    jobs.append(job)
    exports = emodel.ExportJobsModel(jobs)
    cell = exports.index(0, emodel.COL_STATUS, QModelIndex())
    no_raw_controls(exports.data(cell))
    no_raw_controls(exports.data(cell, Qt.ItemDataRole.ToolTipRole).replace("\n", ""))

    queue = DownloadQueue()
    item = queue.add("http://u:pw@127.0.0.1:9/SUM1/a.fits", Path("/tmp/hostile-out"))
    queue.set_state(item, DownloadState.ACTIVE)
    queue.set_state(item, DownloadState.FAILED, "HTTP 403 " + EVIL)
    downloads = dmodel.DownloadsModel(queue)
    status = downloads.index(0, dmodel.COL_STATUS, QModelIndex())
    no_raw_controls(downloads.data(status))
    name = downloads.index(0, dmodel.COL_NAME, QModelIndex())
    assert "pw" not in downloads.data(name, Qt.ItemDataRole.ToolTipRole)
