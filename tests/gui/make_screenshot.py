"""Render docs/screenshots/main-window.png: the main window with a seed query loaded.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python -m tests.gui.make_screenshot``.  It starts
the demo server in-process, types the seed's SHARP query, searches, and grabs the window
with ``QWidget.grab()`` (works offscreen).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "main-window.png"
QUERY = "aia.lev1_euv_12s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI][171]"


def main() -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    tmp = Path(tempfile.mkdtemp(prefix="jsocdesk-shot-"))
    for name in ("CONFIG", "DATA", "CACHE", "LOG"):
        os.environ[f"JSOCDESK_{name}_DIR"] = str(tmp / name.lower())
    app = QApplication(sys.argv[:1])
    from jsocdesk.demo.config import DemoConfig
    from jsocdesk.demo.server import DemoServer
    from jsocdesk.gui.context import AppContext
    from jsocdesk.gui.main_window import MainWindow

    server = DemoServer(DemoConfig(data_dir=tmp / "demo"))
    server.start()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    ctx = AppContext.create(show_error_dialog=False)
    ctx.settings.count_delay_ms = 0
    window = MainWindow(ctx)
    window.resize(1400, 860)
    window.main_splitter.setSizes([430, 970])
    window.right_splitter.setSizes([360, 500])

    async def until(predicate: Any) -> None:
        from PySide6.QtCore import QTimer

        reached = asyncio.Event()
        poll = QTimer()
        poll.timeout.connect(lambda: reached.set() if predicate() else None)
        poll.start(50)
        await reached.wait()
        poll.stop()

    async def scene() -> None:
        window.show()
        ctx.connect(server.base_url)
        await until(lambda: window.series_browser.model.rowCount() > 0)
        window.series_browser.filter_edit.setText("aia.lev1")
        window.series_browser.select_series("aia.lev1_euv_12s")
        task = window.query_panel.set_record_set_text(QUERY)
        if task is not None:
            await task
        await until(lambda: window.query_panel.last_count is not None)
        search = window.search()
        rs = await search
        model = window.results_tab.model
        await until(lambda: rs is not None and rs.loaded > 0 and not model.fetching)
        window.query_panel.view.expandAll()
        window.query_panel.view.resizeColumnToContents(0)
        window.results_tab.view.resizeColumnsToContents()
        await asyncio.sleep(0.3)
        OUT.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(OUT))

    try:
        with loop:
            loop.run_until_complete(scene())
            loop.run_until_complete(ctx.aclose())
    finally:
        server.stop()
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
