"""Query ▸ Copy as Python (drms / sunpy): the query as a standalone script on the clipboard.

A thin call into :func:`jsocdesk.core.script.python_script`: the series metadata comes from
the connected server, the script talks to the real JSOC unless run with ``--server URL``.
Same-series OR branches are merged, as the export plan merges them by default.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QMenu

from jsocdesk.core.errors import JsocError, QueryError

if TYPE_CHECKING:
    from jsocdesk.gui.main_window import MainWindow

LABELS = {"drms": "Copy as &Python (drms)", "sunpy": "Copy as Python (&sunpy)"}


async def script_text(window: MainWindow, target: str) -> str:
    """The script of the window's current query for ``target`` (raises typed errors)."""
    from jsocdesk.core.script import python_script
    from jsocdesk.gui.query import service

    client = window.ctx.client
    if client is None:
        raise JsocError("Not connected to a JSOC server")
    root = window.query_panel.tree.root
    infos = await service.fetch_infos(client, service.series_names(root))
    source = window.sessions.path.name if window.sessions.path else None
    return python_script(root, infos, target, merge=True, source=source)  # type: ignore[arg-type]


async def copy_script(window: MainWindow, target: str) -> str | None:
    try:
        text = await script_text(window, target)
    except QueryError as exc:
        window.statusBar().showMessage(f"Cannot copy the query as Python: {exc.message}", 15000)
        return None
    QGuiApplication.clipboard().setText(text)
    window.statusBar().showMessage(
        f"Copied a {target} script to the clipboard: python script.py OUTDIR", 10000
    )
    return text


def add_copy_actions(window: MainWindow, menu: QMenu) -> dict[str, QAction]:
    """Add the two actions to ``menu``; their tasks run in the window's task runner."""
    actions: dict[str, QAction] = {}

    def trigger(target: str) -> asyncio.Task[Any]:
        return window.ctx.tasks.run(
            copy_script(window, target),
            name=f"copy-{target}",
            context="Copying the query as Python",
            owner=window,
        )

    for target, label in LABELS.items():
        act = QAction(label, window)
        act.setObjectName(f"copy-as-{target}")
        act.triggered.connect(lambda _checked=False, t=target: trigger(t))
        menu.addAction(act)
        actions[target] = act
    return actions
