"""Render docs/screenshots/coverage-timeline.png and keyword-plot.png in a real X session.

Run under Xvfb: ``Xvfb :17 -screen 0 1600x1000x24 & DISPLAY=:17 QT_QPA_PLATFORM=xcb
.venv/bin/python -m tests.gui.make_look_screenshots``.  It starts the demo server in-process,
builds a two-day hmi.v_45s query with a hole (two Time nodes OR-ed: the gap between them
shows; the demo has flagged and image-less records),
lets the coverage timeline list it, drags a span on it with the mouse (the selection is shown
before the button is released), then searches with a few numeric columns and plots the
observer's radial velocity and the Dopplergram mean against T_REC.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
COLUMNS = ["T_REC", "CAMERA", "QUALITY", "OBS_VR", "DATAMEAN", "DATARMS", "CRLT_OBS"]


def main() -> int:
    import qasync
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    tmp = Path(tempfile.mkdtemp(prefix="jsocdesk-shot-"))
    for name in ("CONFIG", "DATA", "CACHE", "LOG"):
        os.environ[f"JSOCDESK_{name}_DIR"] = str(tmp / name.lower())
    app = QApplication(sys.argv[:1])
    from jsocdesk.core import drmstime
    from jsocdesk.core.query.tree import And, Notify, Or, Series, Time
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
    window.resize(1440, 900)
    window.main_splitter.setSizes([360, 1080])
    window.right_splitter.setSizes([250, 230, 420])

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
        window.series_browser.select_series("hmi.v_45s")
        window.query_panel.model.set_root(
            And(
                Series("hmi.v_45s"),
                Or(
                    Time("2014-01-01T00:00", "2014-01-01T15:00"),
                    Time("2014-01-01T19:30", "2014-01-03T00:00"),
                ),
                Notify("solar@example.com"),
            )
        )
        window.query_panel.view.expandAll()
        timeline = window.coverage
        await until(lambda: timeline.coverage is not None and timeline.coverage.total > 3000)
        await asyncio.sleep(0.5)
        # drag a span with the mouse; grab while the button is still down
        vp = timeline.plot.viewport()
        t0 = drmstime.parse_time_seconds("2014.01.02_03:00:00_UTC")
        t1 = drmstime.parse_time_seconds("2014.01.02_15:00:00_UTC")
        x0, x1, y = timeline.viewport_x(t0), timeline.viewport_x(t1), vp.height() // 2
        QTest.mousePress(
            vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x0, y)
        )
        for i in range(1, 11):
            QTest.mouseMove(vp, QPoint(x0 + (x1 - x0) * i // 10, y))
            await asyncio.sleep(0.03)
        await asyncio.sleep(0.3)
        SHOTS.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(SHOTS / "coverage-timeline.png"))
        QTest.mouseRelease(
            vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x1, y)
        )
        await asyncio.sleep(0.5)
        window.query_panel.undo_stack.undo()  # back to the two days for the plot

        info = await ctx.client.series_info("hmi.v_45s")  # type: ignore[union-attr]
        window.results_tab.info = info
        window.results_tab.set_columns(COLUMNS)
        rs = await window.search()
        await until(lambda: rs is not None and rs.loaded >= min(rs.total or 0, 5000))
        plot = window.keyword_plot
        window.tabs.setCurrentWidget(plot)
        await until(lambda: plot.x_combo.count() > 0)
        plot.set_series("T_REC", ["OBS_VR", "DATAMEAN"])
        await asyncio.sleep(0.5)
        item = plot.items["OBS_VR"]
        target = item.points()[len(item.points()) // 3]
        vb = plot.plot.getViewBox()
        pos = plot.plot.mapFromScene(vb.mapViewToScene(target.pos()))
        for dx in (2, 0):
            QTest.mouseMove(plot.plot.viewport(), pos + QPoint(dx, 0))
            await asyncio.sleep(0.15)
        await asyncio.sleep(0.3)
        window.grab().save(str(SHOTS / "keyword-plot.png"))

    try:
        with loop:
            loop.run_until_complete(scene())
            loop.run_until_complete(ctx.aclose())
    finally:
        server.stop()
    print(f"wrote {SHOTS / 'coverage-timeline.png'} and {SHOTS / 'keyword-plot.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
