"""Start-up order (issue 15): the demo server is launched before the window is built, the
series list is shown before the query builder's heavy imports, and ``--measure-startup
--demo`` reports the three moments ``make bench`` times (never timed here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.gui.conftest import close_context


def test_measure_startup_demo_reports_paint_usable_ready_in_order(tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    for name in ("CONFIG", "DATA", "CACHE", "LOG"):
        env[f"JSOCDESK_{name}_DIR"] = str(tmp_path / name.lower())
    done = subprocess.run(
        [sys.executable, "-m", "jsocdesk", "--measure-startup", "--demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line]
    assert lines == ["first-paint", "usable", "ready"], done.stdout


def test_window_shows_the_series_list_before_the_query_builder_exists(
    qtbot: Any, qloop: Any, demo_server: Any
) -> None:
    """build_browser() alone lists the server's series; build() hands the names to the query
    builder afterwards (they complete the Series editor)."""
    from jsocdesk.gui.context import AppContext
    from jsocdesk.gui.main_window import MainWindow

    ctx = AppContext.create(show_error_dialog=False)
    window = MainWindow(ctx, deferred=True)
    qtbot.addWidget(window)
    window.show()
    window.build_browser()
    with qtbot.waitSignal(window.series_browser.series_loaded, timeout=30_000):
        ctx.connect(demo_server.base_url)
    assert not hasattr(window, "query_panel")
    shown = window.series_browser.proxy.rowCount()
    assert shown > 10
    window.build()
    assert len(window.query_panel.series_names) == shown
    assert "hmi.V_45s" in window.query_panel.series_names
    assert window.main_splitter.widget(1) is window.right_splitter
    close_context(qtbot, ctx)
