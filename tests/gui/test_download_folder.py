"""The download folder (issue 15): shown in the Exports and Downloads tabs, chosen per
session with Choose…, a default for new sessions in Settings — with real clicks and typing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox, QFileDialog, QLineEdit

from jsocdesk.gui.context import AppContext
from jsocdesk.gui.main_window import MainWindow
from tests.gui.conftest import close_app


@pytest.fixture
def window(qtbot: Any, qloop: Any) -> Iterator[MainWindow]:
    ctx = AppContext.create(show_error_dialog=False)
    w = MainWindow(ctx)
    w.show()
    qtbot.waitExposed(w)
    yield w
    close_app(qtbot, w, ctx)


def test_the_folder_is_chosen_per_session_and_defaults_from_settings(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    rows = (window.exports_tab.folder_row, window.downloads_tab.folder_row)
    start = window.workflow.download_folder
    assert all(r.path_label.text() == str(start) for r in rows)
    # Choose… in the Downloads tab: a folder dialog; the path pasted, Choose clicked
    chosen = tmp_path / "session-files"
    chosen.mkdir()
    QTest.mouseClick(rows[1].choose_button, Qt.MouseButton.LeftButton)
    dialog = rows[1].dialog
    assert isinstance(dialog, QFileDialog)
    qtbot.waitUntil(dialog.isVisible)
    dialog.setDirectory(str(tmp_path))
    name = dialog.findChild(QLineEdit, "fileNameEdit")
    assert name is not None
    QTest.keyClicks(name, chosen.name)
    box = dialog.findChild(QDialogButtonBox)
    assert box is not None
    accept = box.button(QDialogButtonBox.StandardButton.Open)
    assert accept is not None
    QTest.mouseClick(accept, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.workflow.download_folder == chosen)
    assert all(r.path_label.text() == str(chosen) for r in rows)  # both tabs show it
    assert window.workflow.is_trusted(chosen)
    assert window.sessions.dirty
    # Settings: the default folder of new sessions, typed
    default = tmp_path / "all-my-jsoc"
    window.settings_action.trigger()
    settings = window.settings_dialog
    settings.folder_edit.setFocus()
    QTest.keyClicks(settings.folder_edit, str(default))
    QTest.mouseClick(
        settings.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok),
        Qt.MouseButton.LeftButton,
    )
    assert window.ctx.settings.download_folder == str(default)
    assert window.workflow.download_folder == chosen  # this session keeps its own
    window.sessions.mark_clean()
    window.new_session_action.trigger()  # a new session starts in the default
    qtbot.waitUntil(lambda: window.workflow.download_folder == default)
    assert all(r.path_label.text() == str(default) for r in rows)
