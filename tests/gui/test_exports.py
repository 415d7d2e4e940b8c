"""The Exports tab against the demo server: plan, e-mail check, submit, status-7 queueing,
attach, cancel, split; QAbstractItemModelTester on the jobs model."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import astropy.units as u
import pytest

from jsocdesk.core.events import EventedList
from jsocdesk.core.jsoc.export import ExportJob, ExportQueue, JobState, PollPolicy
from jsocdesk.core.jsoc.protocol import ExportFile, ExportResponse, ExportStatus
from jsocdesk.core.query.tree import And, Notify, Or, Sample, Series, Time
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.exports.model import COL_ID, COL_STATUS, COL_WAITING, ExportJobsModel
from jsocdesk.gui.exports.tab import REGISTER_URL, ExportsTab
from tests.demo_server import DEMO_EMAIL
from tests.gui.conftest import close_context, wait_task

FAST = PollPolicy(first=0.05, factor=1.5, cap=0.3, jitter=0.0)

V45 = And(
    Series("hmi.v_45s"),
    Time("2014-01-01T00:00:00", "2014-01-01T01:00:00"),
    Sample(10 * u.min),
)
M45 = And(
    Series("hmi.m_45s"),
    Time("2014-01-01T00:00:00", "2014-01-01T00:10:00"),
)


@pytest.fixture
def ctx(qloop: Any, qtbot: Any) -> Iterator[AppContext]:
    c = AppContext.create(show_error_dialog=False)
    yield c
    close_context(qtbot, c)
    leftover = [f"{r.context}: {r.message}" for r in c.sink.reports]
    assert not leftover, leftover


def make_tab(qtbot: Any, ctx: AppContext, root: Any) -> tuple[ExportsTab, ExportQueue]:
    assert ctx.client is not None
    queue = ExportQueue(ctx.client, FAST)
    tab = ExportsTab(ctx, queue, lambda: root)
    qtbot.addWidget(tab)
    tab.resize(1100, 700)
    tab.show()
    return tab, queue


def plan(qtbot: Any, tab: ExportsTab) -> None:
    with qtbot.waitSignal(tab.plan_ready, timeout=20_000):
        tab.refresh_plan()


def set_email(qtbot: Any, tab: ExportsTab, address: str) -> tuple[bool, str]:
    with qtbot.waitSignal(tab.email_checked, timeout=20_000) as blocker:
        tab.email_edit.setText(address)
    return blocker.args[0], blocker.args[1]


def close_queue(qtbot: Any, tab: ExportsTab, queue: ExportQueue) -> None:
    tab.detach()
    wait_task(qtbot, asyncio.ensure_future(queue.aclose()))


def submit_elsewhere(qtbot: Any, ctx: AppContext, recordset: str) -> ExportResponse:
    """An export request made outside the app (JSOC's web page), for DEMO_EMAIL."""
    assert ctx.client is not None
    return wait_task(qtbot, asyncio.ensure_future(ctx.client.submit_export(recordset, DEMO_EMAIL)))


def test_plan_email_check_and_submit_to_done(
    qtbot: Any, ctx: AppContext, demo_server: Any, qtmodeltester: Any
) -> None:
    ctx.connect(demo_server.base_url)
    tab, queue = make_tab(qtbot, ctx, V45)
    qtmodeltester.check(tab.model)
    plan(qtbot, tab)
    assert len(tab.plan) == 1
    row = tab.plan[0]
    assert row.compiled.record_set == (
        "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI@600.0s]"
    )
    assert row.count == 7
    # the automatic choice is pre-selected and explained
    assert (row.method, row.protocol) == ("url", "fits")
    assert tab.method_combo(0).currentText() == "url"
    assert tab.protocol_combo(0).currentText() == "fits"
    why = tab.plan_table.item(0, 4).text()
    assert why.startswith("Automatic: FITS files")
    # a user override is explained and kept in the options
    tab.method_combo(0).setCurrentText("url_quick")
    tab.protocol_combo(0).setCurrentText("as-is")
    assert tab.plan_table.item(0, 4).text().startswith("Your choice (automatic would be url/fits")
    assert tab.options().methods == {row.compiled.record_set: ("url_quick", "as-is")}
    tab.method_combo(0).setCurrentText("url")
    tab.protocol_combo(0).setCurrentText("fits")
    assert tab.options().methods == {}

    # unregistered: a clear message with how to register; no submit
    registered, _msg = set_email(qtbot, tab, "stranger@example.org")
    assert registered is False
    assert "not registered" in tab.email_label.text()
    assert REGISTER_URL in tab.email_label.text()
    assert not tab.submit_button.isEnabled()
    assert tab.submit() == []
    # registered: submit, watch it go to done
    registered, _msg = set_email(qtbot, tab, DEMO_EMAIL)
    assert registered is True
    assert ctx.settings.email == DEMO_EMAIL
    assert tab.submit_button.isEnabled()
    (job,) = tab.submit()
    qtbot.waitUntil(lambda: job.state is JobState.PENDING, timeout=20_000)
    assert job.requestid.startswith("JSOC_")
    assert tab.model.data(tab.model.index(0, COL_ID)) == job.requestid
    qtbot.waitUntil(lambda: job.state is JobState.DONE, timeout=20_000)
    assert tab.model.data(tab.model.index(0, COL_STATUS)) == "done, files ready [status=0]"
    assert len(job.files) == 7
    assert job.polls >= 1
    assert tab.model.data(tab.model.index(0, COL_WAITING)) != ""
    close_queue(qtbot, tab, queue)


def test_typing_checks_the_address_once_debounced(
    qtbot: Any, ctx: AppContext, demo_server: Any
) -> None:
    ctx.connect(demo_server.base_url)
    tab, queue = make_tab(qtbot, ctx, V45)
    checks: list[bool] = []
    tab.email_checked.connect(lambda ok, _m: checks.append(ok))
    with qtbot.waitSignal(tab.email_checked, timeout=20_000):
        for i in range(1, len(DEMO_EMAIL) + 1):
            tab.email_edit.setText(DEMO_EMAIL[:i])  # keystrokes
    assert checks == [True]
    invalid, msg = set_email(qtbot, tab, "not-an-address")
    assert invalid is False
    assert "valid" in tab.email_label.text()
    assert msg
    close_queue(qtbot, tab, queue)


def test_status7_queueing_shown_in_the_ui(
    qtbot: Any, ctx: AppContext, demo_server_factory: Any, qtmodeltester: Any
) -> None:
    server = demo_server_factory(export_delay=1.5)
    ctx.connect(server.base_url)
    # two branches on different series: two exports, same address → one waits for the other
    query = Or(V45, And(*M45, Notify(DEMO_EMAIL)))
    tab, queue = make_tab(qtbot, ctx, query)
    qtmodeltester.check(tab.model)
    plan(qtbot, tab)
    assert [r.compiled.series for r in tab.plan] == ["hmi.v_45s", "hmi.m_45s"]
    assert tab.email() == DEMO_EMAIL  # taken from the query's Notify node
    qtbot.waitUntil(lambda: tab.email_registered is True, timeout=20_000)
    first, second = tab.submit()
    qtbot.waitUntil(lambda: first.state is JobState.PENDING, timeout=20_000)
    assert second.state is JobState.HELD
    held = tab.model.data(tab.model.index(1, COL_STATUS))
    assert held == (
        f"Waiting for {first.requestid} to finish: JSOC allows one pending export per "
        f"e-mail address ({DEMO_EMAIL})"
    )
    qtbot.waitUntil(lambda: second.state is JobState.PENDING, timeout=20_000)
    assert first.state is JobState.DONE
    qtbot.waitUntil(lambda: second.state is JobState.DONE, timeout=20_000)

    # a pending export made elsewhere (JSOC's web page): the server answers 7, the job waits
    foreign = submit_elsewhere(
        qtbot, ctx, "hmi.v_45s[2014.01.02_00:00:00_TAI-2014.01.02_00:10:00_TAI]"
    )
    assert foreign.status is ExportStatus.QUEUED
    third = queue.add(ExportJob("hmi.m_45s[2014.01.03_00:00:00_TAI/5m]", DEMO_EMAIL))
    qtbot.waitUntil(lambda: third.state is JobState.HELD, timeout=20_000)
    assert "one pending export per e-mail" in tab.model.data(tab.model.index(2, COL_STATUS))
    qtbot.waitUntil(lambda: third.state is JobState.DONE, timeout=30_000)
    close_queue(qtbot, tab, queue)


def test_attach_cancel_and_remove(qtbot: Any, ctx: AppContext, demo_server_factory: Any) -> None:
    server = demo_server_factory(export_delay=1.0)
    ctx.connect(server.base_url)
    tab, queue = make_tab(qtbot, ctx, V45)
    made = submit_elsewhere(
        qtbot, ctx, "hmi.v_45s[2014.01.01_00:00:00_TAI-2014.01.01_00:05:00_TAI]"
    )
    tab.attach_edit.setText(made.requestid)
    tab.attach_button.click()
    (job,) = list(queue.jobs)
    assert job.requestid == made.requestid
    assert tab.attach(made.requestid) is job  # followed once
    qtbot.waitUntil(lambda: job.state is JobState.DONE, timeout=20_000)
    assert job.files

    other = submit_elsewhere(
        qtbot, ctx, "hmi.v_45s[2014.01.01_02:00:00_TAI-2014.01.01_02:05:00_TAI]"
    )
    followed = tab.attach(other.requestid)
    assert followed is not None
    tab.jobs_view.selectRow(1)
    assert tab.cancel_button.isEnabled()
    tab.cancel_button.click()
    assert followed.state is JobState.CANCELLED
    assert tab.model.data(tab.model.index(1, COL_STATUS)) == "cancelled"
    tab.remove_button.click()
    assert tab.model.rowCount() == 0
    close_queue(qtbot, tab, queue)


def test_too_large_offers_a_split(qtbot: Any, ctx: AppContext, demo_server_factory: Any) -> None:
    server = demo_server_factory(segment_bytes=400_000, size_cap_mb=2)
    ctx.connect(server.base_url)
    tab, queue = make_tab(qtbot, ctx, V45)
    plan(qtbot, tab)
    set_email(qtbot, tab, DEMO_EMAIL)
    (job,) = tab.submit()
    qtbot.waitUntil(lambda: job.state.finished, timeout=20_000)
    assert job.status is ExportStatus.TOO_LARGE
    assert job.split
    assert "too large" in tab.model.data(tab.model.index(0, COL_STATUS)).lower()
    assert not tab.split_button.isEnabled()  # nothing selected
    tab.jobs_view.selectRow(0)
    assert tab.split_button.isEnabled()
    assert f"({len(job.split)} exports)" in tab.split_button.text()
    new = tab.split_selected()
    assert [j.recordset for j in new] == job.split
    assert job not in list(queue.jobs)
    assert all(j.method == job.method for j in new)
    # each part is small enough: they all end with files
    qtbot.waitUntil(lambda: all(j.state.finished for j in new), timeout=30_000)
    assert all(j.state is JobState.DONE for j in new), [j.error for j in new]
    assert sum(len(j.files) for j in new) == 7
    close_queue(qtbot, tab, queue)


def test_jobs_model_under_rapid_updates(qapp: Any, qtmodeltester: Any) -> None:
    jobs: EventedList[ExportJob] = EventedList()
    model = ExportJobsModel(jobs)
    qtmodeltester.check(model)
    for i in range(12):
        jobs.append(ExportJob(f"hmi.v_45s[2014.01.0{i % 9 + 1}]", DEMO_EMAIL))
    for rnd in range(30):
        for i, job in enumerate(list(jobs)):
            if i % 2 == rnd % 2:
                job._set(
                    state=JobState.PENDING,
                    requestid=f"JSOC_20260101_{i:03d}",
                    status=ExportStatus.PROCESSING,
                    submitted_at=1000.0,
                    polls=rnd,
                )
        model.tick()
        if rnd % 7 == 6:
            jobs.move(0, len(jobs))
            del jobs[3]
            jobs.insert(2, ExportJob("aia.lev1_euv_12s[2014.01.01]", "x@example.com"))
            jobs[4] = ExportJob("hmi.m_45s[2014.01.01]", DEMO_EMAIL, state=JobState.HELD)
    jobs[0]._set(
        state=JobState.DONE,
        files=[ExportFile("r", "f.fits", "http://127.0.0.1/f.fits")],
        finished_at=1060.0,
    )
    assert model.data(model.index(0, 6)) == "1"
    assert model.data(model.index(0, COL_WAITING)) == "1:00"
    jobs.replace_all(list(jobs)[:5])
    for r in range(model.rowCount()):
        for c in range(model.columnCount()):
            model.data(model.index(r, c))
    model.detach()
    assert len(jobs[0].changed) == 0


def test_a_query_that_does_not_compile_is_explained_not_reported(
    qtbot: Any, ctx: AppContext, demo_server: Any
) -> None:
    ctx.connect(demo_server.base_url)
    tab, queue = make_tab(qtbot, ctx, And(Time("2014-01-01T00:00:00", "2014-01-01T01:00:00")))
    plan(qtbot, tab)
    assert tab.plan == []
    assert tab.plan_label.text().startswith("The query cannot be exported yet: ")
    assert not tab.submit_button.isEnabled()
    assert ctx.sink.reports == []  # the query panel marks the node; no error dialog
    close_queue(qtbot, tab, queue)


def test_an_identical_request_is_listed_once_and_the_jobs_table_has_room(
    qtbot: Any, ctx: AppContext, demo_server: Any, qtmodeltester: Any
) -> None:
    """Issue 15: the same request id appeared twice; the jobs table was ~1.5 rows tall."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    ctx.connect(demo_server.base_url)
    tab, queue = make_tab(qtbot, ctx, V45)
    qtmodeltester.check(tab.model)
    plan(qtbot, tab)
    registered, _msg = set_email(qtbot, tab, DEMO_EMAIL)
    assert registered is True
    QTest.mouseClick(tab.submit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: queue.jobs and queue.jobs[0].state is JobState.DONE, timeout=20_000)
    rid = queue.jobs[0].requestid
    QTest.mouseClick(tab.submit_button, Qt.MouseButton.LeftButton)  # the same export again
    qtbot.waitUntil(lambda: "again" in tab.job_label.text(), timeout=20_000)
    assert [j.requestid for j in queue.jobs] == [rid]
    assert tab.model.rowCount() == 1
    # attaching it by hand does not add a second row either
    tab.attach_edit.setFocus()
    QTest.keyClicks(tab.attach_edit, rid)
    QTest.keyClick(tab.attach_edit, Qt.Key.Key_Return)
    assert tab.model.rowCount() == 1
    assert "already listed" in tab.job_label.text()
    row_height = tab.jobs_view.verticalHeader().defaultSectionSize()
    assert tab.jobs_view.height() >= 5 * row_height
    close_queue(qtbot, tab, queue)


def test_plan_warns_when_records_are_on_tape(qtbot: Any, ctx: AppContext, demo_server: Any) -> None:
    """The demo keeps every 4th storage unit on tape: the seed hour has some of them."""
    ctx.connect(demo_server.base_url)
    hour = And(Series("hmi.v_45s"), Time("2014-01-01T00:00:00", "2014-01-01T01:00:00"))
    tab, queue = make_tab(qtbot, ctx, hour)
    plan(qtbot, tab)
    assert "records are on tape" in tab.plan_label.text()
    why = tab.plan_table.item(0, 4)
    assert why is not None
    assert "on tape" in why.text()
    close_queue(qtbot, tab, queue)
    # one record of an online storage unit: no warning
    one = And(Series("hmi.v_45s"), Time("2014-01-01T00:00:45", "2014-01-01T00:00:45"))
    tab, queue = make_tab(qtbot, ctx, one)
    plan(qtbot, tab)
    assert tab.plan_label.text().startswith("1 export(s), 1 record(s)")
    assert "tape" not in tab.plan_label.text()
    close_queue(qtbot, tab, queue)
