"""TaskRunner and ErrorSink on a real qasync loop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from jsocdesk.core.errors import ServerError
from jsocdesk.gui.errors import ErrorSink
from jsocdesk.gui.tasks import TaskRunner
from tests.gui.conftest import wait_task


async def _value(v: Any, delay: float = 0.0) -> Any:
    await asyncio.sleep(delay)
    return v


async def _fail(exc: BaseException, delay: float = 0.0) -> None:
    await asyncio.sleep(delay)
    raise exc


def test_success_callback_gets_result(qtbot: Any, runner: TaskRunner) -> None:
    got: list[int] = []
    task = runner.run(_value(42), on_success=got.append)
    assert wait_task(qtbot, task) == 42
    qtbot.waitUntil(lambda: got == [42])
    assert runner.running == 0


def test_named_task_preempts_older(qtbot: Any, runner: TaskRunner) -> None:
    got: list[str] = []
    first = runner.run(_value("old", 5.0), name="count", on_success=got.append)
    second = runner.run(_value("new", 0.01), name="count", on_success=got.append)
    assert wait_task(qtbot, second) == "new"
    qtbot.waitUntil(first.done)
    assert first.cancelled()
    qtbot.waitUntil(lambda: got == ["new"])  # done-callbacks run one loop turn later
    assert runner.get("count") is None


def test_failure_goes_to_sink_and_callback(qtbot: Any, runner: TaskRunner, sink: ErrorSink) -> None:
    failures: list[BaseException] = []
    with qtbot.waitSignal(sink.error_reported) as blocker:
        runner.run(
            _fail(ServerError("series not found", 1)),
            context="Counting records",
            on_failure=failures.append,
        )
    assert blocker.args == ["Counting records", "series not found [status=1]"]
    assert isinstance(failures[0], ServerError)
    assert "ServerError" in sink.reports[0].details
    sink.reports.clear()


def test_broken_callback_is_reported(qtbot: Any, runner: TaskRunner, sink: ErrorSink) -> None:
    def boom(_: object) -> None:
        raise ValueError("bad callback")

    with qtbot.waitSignal(sink.error_reported):
        runner.run(_value(1), on_success=boom, context="job")
    assert sink.reports[0].message == "ValueError: bad callback"
    sink.reports.clear()


def test_shutdown_cancels_everything(qtbot: Any, runner: TaskRunner) -> None:
    tasks = [runner.run(_value(i, 10.0)) for i in range(5)]
    done = asyncio.ensure_future(runner.shutdown())
    wait_task(qtbot, done)
    assert all(t.cancelled() for t in tasks)
    assert runner.running == 0


def test_error_sink_dialog_is_non_modal(qtbot: Any, qapp: Any) -> None:
    sink = ErrorSink(show_dialog=True)
    try:
        raise RuntimeError("kaput")
    except RuntimeError as exc:
        sink.report(exc, "Test")
    dialog = sink.dialog
    assert dialog is not None
    qtbot.addWidget(dialog)
    assert dialog.isVisible()
    assert not dialog.isModal()
    assert "kaput" in dialog.details_edit.toPlainText()
    dialog.close()


def test_excepthook_routes_to_sink(qapp: Any) -> None:
    sink = ErrorSink(show_dialog=False)
    try:
        raise KeyError("x")
    except KeyError as exc:
        sink.excepthook(type(exc), exc, exc.__traceback__)
    assert sink.reports[0].context == "Unexpected error"
    assert "KeyError" in sink.reports[0].details


@pytest.mark.parametrize("n", [200])
def test_many_concurrent_tasks_and_timers(qtbot: Any, runner: TaskRunner, n: int) -> None:
    from PySide6.QtCore import QTimer

    ticks: list[int] = []
    timer = QTimer()
    timer.setInterval(1)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    results: list[int] = []
    tasks = [runner.run(_value(i, (i % 7) / 1000), on_success=results.append) for i in range(n)]
    for i in range(0, n, 3):
        runner.run(_value(-1, 0.5), name=f"pre{i % 5}")
    qtbot.waitUntil(lambda: all(t.done() for t in tasks), timeout=20_000)
    # on_success runs in the task's done-callback, one loop turn after done(): wait for it
    qtbot.waitUntil(lambda: len(results) >= n, timeout=20_000)
    timer.stop()
    assert sorted(results) == list(range(n))
    assert ticks
