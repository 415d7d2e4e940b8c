"""Where the window used to diverge from the core: a network failure while fetching series
metadata is not "does not exist"; Attach does not add a second row for a listed request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jsocdesk.core.jsoc.export import ExportJob, JobState
from jsocdesk.core.jsoc.protocol import ExportStatus
from jsocdesk.core.query.tree import And, Series, Time
from jsocdesk.demo.faults import Fault
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.main_window import MainWindow
from tests.gui.conftest import close_app

HOUR = Time("2014-01-01T00:00:00", "2014-01-01T01:00:00")


@pytest.fixture
def window(qtbot: Any, qloop: Any, demo_server: Any) -> Iterator[MainWindow]:
    ctx = AppContext.create(show_error_dialog=False)
    ctx.settings.count_delay_ms = 0
    w = MainWindow(ctx)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitSignal(w.series_browser.series_loaded, timeout=30_000):
        ctx.connect(demo_server.base_url)
    yield w
    close_app(qtbot, w, ctx)


def test_network_failure_is_not_series_does_not_exist(
    qtbot: Any, window: MainWindow, demo_server: Any
) -> None:
    sink = window.ctx.sink
    # a failure that is not JSOC's answer (and is not retried, so the test stays short)
    demo_server.faults.add(
        Fault(route="jsoc_info", kind="http_error", value=403, match="series_struct")
    )
    panel = window.query_panel
    with qtbot.waitSignal(sink.error_reported, timeout=60_000) as blocker:
        panel.tree.set_root(And(Series("hmi.v_45s"), HOUR))
    _context, message = blocker.args
    assert "403" in message
    assert "does not exist" not in message
    assert not any("does not exist" in e.message for e in panel.check.errors)
    sink.reports.clear()
    # a series the server really does not know is reported on its node
    demo_server.faults.clear()
    panel.tree.set_root(And(Series("hmi.no_such_series"), HOUR))
    qtbot.waitUntil(lambda: bool(panel.check.errors), timeout=30_000)
    assert "no_such_series" in panel.check.errors[0].message
    assert not sink.reports


def test_attach_does_not_add_a_second_row(qtbot: Any, window: MainWindow) -> None:
    tab = window.exports_tab
    queue = window.workflow.exports
    done = ExportJob(
        "hmi.v_45s[x]",
        "a@b.org",
        requestid="JSOC_20140101_001",
        state=JobState.DONE,
        status=ExportStatus.OK,
    )
    queue.jobs.append(done)
    tab.attach_edit.setText("JSOC_20140101_001")
    tab.attach_button.click()
    assert list(queue.jobs) == [done]
    assert "JSOC_20140101_001 is already listed" in tab.job_label.text()
    assert tab.selected_jobs() == [done]
