"""File ▸ Save results as CSV / ECSV…: the results table through :mod:`core.results.table`.

Every record of the current search is saved (rows not loaded yet are loaded first, in the
task runner, cancellable); the columns are the visible ones, in the server's order.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu

from jsocdesk.core.errors import JsocError

if TYPE_CHECKING:
    from jsocdesk.gui.main_window import MainWindow

FILTERS = {"csv": "CSV table (*.csv)", "ecsv": "ECSV table with units and times (*.ecsv)"}


async def save_results_file(window: MainWindow, path: str | Path, fmt: str) -> int:
    """Load every row of the current result set and write it to ``path``."""
    from jsocdesk.core.results.table import save_results

    model = window.results_tab.model
    if model is None:
        raise JsocError("No results to save: search first")
    rs = model.rs
    if not rs.at_end:
        window.statusBar().showMessage(f"Loading all {rs.total or 0:,} records to save them…")
        await rs.fetch_all()
    names = list(model.columns)
    n = await asyncio.to_thread(save_results, rs, path, fmt, names=names)  # type: ignore[arg-type]
    window.statusBar().showMessage(f"Saved {n:,} records to {path}", 10000)
    return n


class ResultsOut:
    """The two Save actions of one window (added to ``menu``) and what they start."""

    def __init__(self, window: MainWindow, menu: QMenu) -> None:
        self.window = window
        self.dialog: QFileDialog | None = None
        self.actions: dict[str, QAction] = {}
        for fmt, label in (("csv", "Save results as &CSV…"), ("ecsv", "Save results as &ECSV…")):
            act = QAction(label, window)
            act.setObjectName(f"save-results-{fmt}")
            act.triggered.connect(lambda _c=False, f=fmt: self.ask(f))
            menu.addAction(act)
            self.actions[fmt] = act

    def ask(self, fmt: str) -> QFileDialog:
        dialog = QFileDialog(self.window, "Save results", str(Path.home()), FILTERS[fmt])
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix(fmt)
        dialog.fileSelected.connect(lambda path: self.save(path, fmt))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        self.dialog = dialog
        return dialog

    def save(self, path: str | Path, fmt: str) -> asyncio.Task[Any]:
        return self.window.ctx.tasks.run(
            save_results_file(self.window, path, fmt),
            name="save-results",
            context=f"Saving results to {path}",
            owner=self.window,
        )
