"""Sessions in the window: title and modified mark, save/open/recent, refusing corrupt and newer
files without changing anything, autosave + crash recovery, the non-blocking close guard."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import astropy.units as u
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from jsocdesk.core.query.tree import And, Sample, Series, Time
from jsocdesk.core.session import CURRENT_VERSION
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.main_window import MainWindow
from jsocdesk.gui.sessions.controller import RECOVERY_OF, SessionController
from tests.gui.conftest import close_app

SEED = And(
    Series("hmi.v_45s"),
    Time("2014-01-01T00:00:00", "2014-01-01T01:00:00"),
    Sample(10 * u.min),
)
OTHER = And(Series("hmi.m_45s"), Time("2014-01-01T00:00:00", "2014-01-01T00:05:00"))
FIXTURE_V1 = Path(__file__).resolve().parents[1] / "data" / "session_v1.json"


class Win:
    def __init__(self, qtbot: Any, autosave_ms: int | None = None) -> None:
        self.ctx = AppContext.create(show_error_dialog=False)
        self.window = MainWindow(self.ctx)
        self.wf = self.window
        if autosave_ms is not None:
            self.sessions.autosave_timer.setInterval(autosave_ms)
        self.window.show()
        qtbot.waitExposed(self.window)

    @property
    def sessions(self) -> SessionController:
        return self.wf.sessions

    @property
    def tree(self) -> Any:
        return self.window.query_panel.tree

    def dialog(self) -> QMessageBox:
        box = self.sessions.dialog
        assert isinstance(box, QMessageBox)
        assert box.isVisible()
        return box

    def answer(self, button: QMessageBox.StandardButton) -> None:
        self.dialog().button(button).click()

    def close(self, qtbot: Any) -> None:
        close_app(qtbot, self.window, self.ctx)


@pytest.fixture
def wins(qtbot: Any, qloop: Any) -> Iterator[Callable[..., Win]]:
    made: list[Win] = []

    def make(**kw: Any) -> Win:
        w = Win(qtbot, **kw)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close(qtbot)
    reports = [f"{r.context}: {r.message}" for w in made for r in w.ctx.sink.reports]
    assert not reports, reports


def test_title_modified_mark_save_and_reopen(
    qtbot: Any, wins: Callable[..., Win], tmp_path: Path
) -> None:
    w = wins()
    assert w.window.windowTitle() == "untitled[*] — jsocdesk"
    assert not w.window.isWindowModified()
    w.tree.set_root(SEED)
    assert w.window.isWindowModified()
    w.wf.exports_tab.email_edit.setText("someone@example.com")
    path = tmp_path / "mine.json"
    assert w.sessions.save_to(path)
    assert w.window.windowTitle() == "mine.json[*] — jsocdesk"
    assert not w.window.isWindowModified()
    doc = json.loads(path.read_text())
    assert doc["format_version"] == CURRENT_VERSION
    assert doc["export"]["email"] == "someone@example.com"
    assert doc["jobs"] == {"format_version": 1, "items": []}
    assert doc["downloads"] == {"format_version": 1, "items": []}
    assert w.sessions.recent()[0] == str(path.resolve())

    w2 = wins()
    assert w2.sessions.open_path(path)
    assert w2.tree.root == SEED
    assert w2.wf.exports_tab.email() == "someone@example.com"
    assert w2.window.windowTitle() == "mine.json[*] — jsocdesk"
    # File → Open recent lists it and opens it
    w2.tree.set_root(OTHER)
    assert w2.sessions.save_to(tmp_path / "other.json")
    w2.sessions.recent_menu.aboutToShow.emit()
    texts = [a.text() for a in w2.sessions.recent_menu.actions()]
    assert texts[:2] == ["&1 other.json", "&2 mine.json"]
    w2.sessions.recent_menu.actions()[1].trigger()
    assert w2.tree.root == SEED
    assert w2.sessions.path == path
    # the committed v1 fixture opens
    assert w2.sessions.open_path(FIXTURE_V1)
    assert len(w2.tree.root.children) == 3


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{ not json", "bad JSON"),
        (json.dumps({"format_version": 99, "query": {"type": "and", "children": []}}), "newer"),
        (json.dumps({"format_version": 1, "query": {"type": "bogus"}}), "query"),
        (
            json.dumps(
                {
                    "format_version": 1,
                    "query": {"type": "and", "children": []},
                    "jobs": {"items": [{"state": "no-such-state"}]},
                }
            ),
            "export job",
        ),
        (
            json.dumps(
                {
                    "format_version": 1,
                    "query": {"type": "and", "children": []},
                    "downloads": {"format_version": 7, "items": []},
                }
            ),
            "newer",
        ),
    ],
    ids=["corrupt-json", "newer-format", "bad-query", "bad-job", "newer-downloads"],
)
def test_bad_files_give_a_clear_message_and_change_nothing(
    qtbot: Any, wins: Callable[..., Win], tmp_path: Path, content: str, expected: str
) -> None:
    w = wins()
    w.tree.set_root(SEED)
    good = tmp_path / "good.json"
    assert w.sessions.save_to(good)
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    failures: list[str] = []
    w.sessions.open_failed.connect(failures.append)
    assert not w.sessions.open_path(bad)
    assert len(failures) == 1
    assert expected in failures[0]
    box = w.dialog()
    assert "Nothing was changed" in box.text()
    assert expected in box.text()
    assert expected in w.window.statusBar().currentMessage()
    box.close()
    # nothing changed: same query, same file, not modified
    assert w.tree.root == SEED
    assert w.sessions.path == good
    assert not w.window.isWindowModified()


def test_autosave_and_crash_recovery(qtbot: Any, wins: Callable[..., Win], tmp_path: Path) -> None:
    w = wins(autosave_ms=50)
    path = tmp_path / "work.json"
    w.tree.set_root(OTHER)
    assert w.sessions.save_to(path)
    assert not w.sessions.has_recovery()
    w.tree.set_root(SEED)  # unsaved change
    qtbot.waitUntil(w.sessions.has_recovery, timeout=10_000)
    doc = json.loads(w.sessions.recovery_path.read_text())
    assert doc[RECOVERY_OF] == str(path)
    assert json.loads(path.read_text())["query"]["children"][0]["name"] == "hmi.m_45s"
    # "crash": the window is never closed; the next start offers the recovery
    w.sessions.autosave_timer.stop()

    w2 = wins()
    qtbot.waitUntil(lambda: isinstance(w2.sessions.dialog, QMessageBox), timeout=5_000)
    box = w2.dialog()
    assert "did not close properly" in box.text()
    with qtbot.waitSignal(w2.sessions.recovered, timeout=5_000):
        w2.answer(QMessageBox.StandardButton.Yes)
    assert w2.tree.root == SEED
    assert w2.sessions.path == path
    assert w2.window.isWindowModified()  # restored changes are still unsaved
    assert w2.window.windowTitle() == "work.json[*] — jsocdesk"
    assert w2.sessions.has_recovery()
    assert w2.sessions.save_to(path)
    assert not w2.sessions.has_recovery()

    # declining a recovery removes it
    w2.tree.set_root(OTHER)
    assert w2.sessions.autosave()
    w3 = wins()
    qtbot.waitUntil(lambda: isinstance(w3.sessions.dialog, QMessageBox), timeout=5_000)
    w3.answer(QMessageBox.StandardButton.Discard)
    assert not w3.sessions.has_recovery()
    assert len(w3.tree.root.children) == 0


def test_close_with_unsaved_changes_asks_without_blocking(
    qtbot: Any, wins: Callable[..., Win], tmp_path: Path
) -> None:
    w = wins()
    w.tree.set_root(SEED)
    w.window.close()
    # the question is asked with open(): we are back here, the window is still open
    assert w.window.isVisible()
    box = w.dialog()
    assert box.windowModality() is Qt.WindowModality.WindowModal  # open(), not exec()
    assert "unsaved changes" in box.text()
    w.answer(QMessageBox.StandardButton.Cancel)
    assert w.window.isVisible()
    assert w.window.isWindowModified()

    # Save (no file yet): the save dialog opens; choosing a file saves, then the window closes
    w.window.close()
    w.answer(QMessageBox.StandardButton.Save)
    from PySide6.QtWidgets import QFileDialog

    dialog = w.sessions.dialog
    assert isinstance(dialog, QFileDialog)
    target = tmp_path / "closing.json"
    dialog.fileSelected.emit(str(target))
    assert target.is_file()
    qtbot.waitUntil(lambda: not w.window.isVisible(), timeout=5_000)
    assert not w.sessions.has_recovery()


def test_new_session_asks_then_clears(qtbot: Any, wins: Callable[..., Win]) -> None:
    w = wins()
    w.tree.set_root(SEED)
    w.wf.new_session_action.trigger()
    w.answer(QMessageBox.StandardButton.Discard)
    assert len(w.tree.root.children) == 0
    assert not w.window.isWindowModified()
    assert w.wf.new_session_action.shortcut().toString() == "Ctrl+Shift+N"
