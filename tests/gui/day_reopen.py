"""The second half of ``test_day.py``, in a new process: the restarted app.

``python tests/gui/day_reopen.py SESSION`` starts the demo server on its data folder (the
same as the first process': the environment names the app's folders; a new port, as a
restarted ``jsocdesk --demo`` does), builds the window,
opens the session as a person does (Ctrl+O, the path typed into the file dialog, Enter) and
prints one JSON line: the record set, the export jobs (id, state), how many downloads are
done with their files on disk, and the download folder.  Exit 1 when something is missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import PySide6.QtWidgets
import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFileDialog, QLineEdit

SHOTS = os.environ.get("JSOCDESK_SCREENSHOTS", "")


async def until(check: Any, seconds: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while not check():
        if loop.time() > end:
            raise TimeoutError(f"timed out waiting for {check}")
        await asyncio.sleep(0.02)


async def day_two(session: Path) -> dict[str, Any]:
    from jsocdesk.core.download.item import DownloadState
    from jsocdesk.gui.context import AppContext
    from jsocdesk.gui.main_window import MainWindow

    ctx = AppContext.create(show_error_dialog=False)
    window = MainWindow(ctx)
    window.resize(1500, 950)
    window.show()
    window.activateWindow()
    wf = window.workflow
    try:
        await ctx.start_demo()  # the same data folder: a new port, the same files
        await until(lambda: window.series_browser.model.rowCount() > 0)
        QTest.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
        dialog = window.sessions.dialog
        assert isinstance(dialog, QFileDialog)
        await until(dialog.isVisible)
        name_edit = dialog.findChild(QLineEdit, "fileNameEdit")
        assert name_edit is not None
        QApplication.clipboard().setText(str(session))  # a long path: pasted
        QTest.keyClick(name_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        QTest.keyClick(name_edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
        box = dialog.findChild(QDialogButtonBox)
        assert box is not None
        button = box.button(QDialogButtonBox.StandardButton.Open)
        assert button is not None
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        panel = window.query_panel
        await until(lambda: panel.tree.child_count(panel.tree.root_id) > 0)
        queue = wf.downloads
        await until(lambda: len(queue) > 0 and all(it.finished for it in queue), 60.0)
        await until(lambda: panel.recordset_edit.text() != "")
        if SHOTS:
            window.tabs.setCurrentWidget(window.downloads_tab)
            QApplication.processEvents()
            window.grab().save(str(Path(SHOTS) / "12-reopened.png"))
        done = [it for it in queue if it.state is DownloadState.DONE and it.target.is_file()]
        return {
            "recordset": panel.recordset_edit.text(),
            "jobs": [[j.requestid, j.state.value] for j in wf.exports.jobs],
            "downloads_done": len(done),
            "folder": str(wf.download_folder),
            "title": window.windowTitle(),
        }
    finally:
        window.close()
        await wf.aclose()
        await ctx.aclose()


def main() -> int:
    session = Path(sys.argv[1])
    app = QApplication([sys.argv[0]])
    app.setQuitOnLastWindowClosed(False)  # the coroutine closes the window and goes on
    assert PySide6.QtWidgets
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        found = loop.run_until_complete(day_two(session))
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
