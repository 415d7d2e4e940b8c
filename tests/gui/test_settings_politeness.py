"""The settings dialog explains why JSOC is treated more gently than the demo server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from jsocdesk.core.jsoc.polite import EXPLANATION
from jsocdesk.gui.settings import ServerKind, UserSettings
from jsocdesk.gui.settings_dialog import SettingsDialog


def test_settings_say_what_politeness_means(qtbot: Any, tmp_path: Path) -> None:
    settings = UserSettings(tmp_path / "config")
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    label = dialog.politeness_label
    assert label.isVisible()
    assert label.text() == EXPLANATION
    assert "one connection" in label.text()
    assert "demo server" in label.text()
    # choosing the demo with a real click keeps the explanation next to the choice
    QTest.mouseClick(dialog.demo_radio, Qt.MouseButton.LeftButton)
    assert dialog.chosen_kind() is ServerKind.DEMO
    assert label.isVisible()
