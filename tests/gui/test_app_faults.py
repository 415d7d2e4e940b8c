"""Failures of background work reach the user (status bar + details dialog); a newer edit
cancels an older count still in flight.  Faults are injected into the demo server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import shiboken6

from jsocdesk.demo.faults import Fault
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.main_window import MainWindow
from tests.gui.conftest import close_app, connect_window

V45 = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"
V45_10MIN = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI@600.0s]"


@pytest.fixture
def window(qtbot: Any, qloop: Any, demo_server: Any) -> Iterator[MainWindow]:
    ctx = AppContext.create(show_error_dialog=True)
    ctx.settings.count_delay_ms = 0
    w = MainWindow(ctx)
    w.show()
    connect_window(qtbot, w, demo_server.base_url)
    yield w
    if ctx.sink.dialog is not None and shiboken6.isValid(ctx.sink.dialog):
        ctx.sink.dialog.close()
    close_app(qtbot, w, ctx)  # the typed queries are discarded


def test_failed_count_is_shown_then_recovers(
    qtbot: Any, window: MainWindow, demo_server: Any
) -> None:
    sink = window.ctx.sink
    demo_server.faults.add(
        Fault(route="jsoc_info", kind="http_error", value=500, match="rs_summary")
    )
    panel = window.query_panel
    with qtbot.waitSignal(sink.error_reported, timeout=60_000) as blocker:
        panel.set_record_set_text(V45)
    context, message = blocker.args
    assert context == "Counting records"
    assert "500" in message
    assert "Counting records" in window.statusBar().currentMessage()
    dialog = sink.dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert not dialog.isModal()
    assert "TransportError" in dialog.details_edit.toPlainText()
    assert panel.count_label.text() == "Count failed"
    # the window keeps working: the server heals, the next count succeeds
    demo_server.faults.clear()
    sink.reports.clear()
    panel.refresh_now()
    qtbot.waitUntil(
        lambda: panel.last_count is not None and panel.last_count.total == 81, timeout=30_000
    )
    assert not sink.reports


def test_newer_edit_cancels_count_in_flight(
    qtbot: Any, window: MainWindow, demo_server: Any
) -> None:
    panel = window.query_panel
    # the first count hangs on the server for a long time
    demo_server.faults.add(
        Fault(route="jsoc_info", kind="latency", value=30.0, match="rs_summary", times=1)
    )
    panel.set_record_set_text(V45)
    qtbot.waitUntil(lambda: demo_server.faults.hits.get("latency", 0) == 1, timeout=30_000)
    slow = window.ctx.tasks.get("query-refresh")
    assert slow is not None
    assert not slow.done()
    finished: list[tuple[str, str]] = []
    window.ctx.tasks.task_finished.connect(lambda name, how: finished.append((name, how)))
    panel.set_record_set_text(V45_10MIN)
    qtbot.waitUntil(
        lambda: panel.last_count is not None and panel.last_count.total == 7, timeout=30_000
    )
    # the cancellation and its task_finished (from the done-callback) are not ordered against
    # the new count's answer: wait for them instead of assuming they came first
    qtbot.waitUntil(slow.done, timeout=30_000)
    assert slow.cancelled()
    qtbot.waitUntil(lambda: ("query-refresh", "cancelled") in finished, timeout=30_000)
    assert "7 records" in panel.count_label.text()
    assert not window.ctx.sink.reports
