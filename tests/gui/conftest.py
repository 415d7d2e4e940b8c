"""GUI test fixtures: offscreen Qt, a qasync loop that re-raises loop errors at teardown."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

pytest.importorskip("PySide6")
import PySide6.QtWidgets
import qasync
from PySide6.QtCore import QCoreApplication, QDeadlineTimer

from jsocdesk.gui.errors import ErrorSink
from jsocdesk.gui.tasks import TaskRunner

assert PySide6.QtWidgets  # the import order above is the point


def _drain(loop: asyncio.AbstractEventLoop, timeout_ms: int = 5000) -> None:
    """Cancel the tasks still alive and pump Qt events until they are gone."""
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in tasks:
        t.cancel()
    deadline = QDeadlineTimer(timeout_ms)
    while any(not t.done() for t in tasks) and not deadline.hasExpired():
        QCoreApplication.processEvents()
    for t in tasks:
        if t.done() and not t.cancelled() and t.exception() is not None:
            t.exception()  # retrieved: reported by the test that owned it


def _kill_loop_timers(loop: Any) -> None:
    """Unregister the Qt timers a closed qasync loop still has.

    WORKAROUND(qasync 0.28): ``close()`` only flags the loop's ``_SimpleTimer`` as stopped;
    each pending ``call_later`` (httpx timeouts: up to a minute) stays registered and later
    fires into Python on that orphaned QObject.  If the cyclic GC frees the closed loop
    during such a callback, Qt returns into a deleted object and the process segfaults in
    ``QCoreApplication::notifyInternal2``.  Killing the timers now makes the old loop inert.
    """
    timer = loop._timer
    callbacks = getattr(timer, "_SimpleTimer__callbacks", {})
    for timer_id in list(callbacks):
        timer.killTimer(timer_id)
    callbacks.clear()


@pytest.fixture
def qloop(qapp: Any) -> Iterator[qasync.QEventLoop]:
    """A qasync loop *running* inside the pytest-qt application.

    ``already_running=True`` makes asyncio see it as the running loop, so coroutines progress
    while pytest-qt pumps Qt events (``qtbot.waitUntil``/``waitSignal``), exactly like in the
    app.  Exceptions that reach the loop's handler fail the test at teardown.
    """
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    try:
        yield loop
    finally:
        _drain(loop)
        # WORKAROUND(qasync 0.28): stop() would call QApplication.exit(), which makes the
        # *next* test's qtbot waits return at once; mark the loop stopped without it.
        loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
        asyncio.events._set_running_loop(None)
        loop.close()
        _kill_loop_timers(loop)
        asyncio.set_event_loop(None)
    if errors:
        first = errors[0]
        exc = first.get("exception")
        if isinstance(exc, BaseException):
            raise AssertionError(f"event loop error: {first.get('message')}") from exc
        raise AssertionError(f"event loop error: {first}")


@pytest.fixture
def sink(qapp: Any) -> Iterator[ErrorSink]:
    """The error sink; a test that leaves unexpected reports in it fails."""
    s = ErrorSink(show_dialog=False)
    yield s
    leftover = [f"{r.context}: {r.message}\n{r.details}" for r in s.reports]
    assert not leftover, "unexpected errors reported:\n" + "\n".join(leftover)


@pytest.fixture
def runner(qloop: qasync.QEventLoop, sink: ErrorSink) -> Iterator[TaskRunner]:
    r = TaskRunner(sink)
    yield r
    r.cancel_all()


def wait_task(qtbot: Any, task: asyncio.Future[Any], timeout: int = 20_000) -> Any:
    """Pump events until ``task`` is done; return its result (or raise its exception)."""
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()


def close_app(qtbot: Any, window: Any, ctx: Any) -> None:
    """Close an app's window as a user would (unsaved changes: the guard asks, the answer is
    Discard), then shut its workflow and context down and delete the window."""
    from PySide6.QtWidgets import QMessageBox

    if window.isVisible():
        window.close()
        if window.isVisible():
            box = window.sessions.dialog
            assert isinstance(box, QMessageBox)
            box.button(QMessageBox.StandardButton.Discard).click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    wait_task(qtbot, asyncio.ensure_future(window.workflow.aclose()))
    close_context(qtbot, ctx)
    window.deleteLater()


def connect_window(qtbot: Any, window: Any, url: str) -> None:
    """Connect a main window's context to the server at ``url``; wait for its series list."""
    with qtbot.waitSignal(window.series_browser.series_loaded, timeout=30_000):
        window.ctx.connect(url)


def close_context(qtbot: Any, ctx: Any) -> None:
    """``ctx.aclose()`` pumped to its end (its error, if any, is raised)."""
    wait_task(qtbot, asyncio.ensure_future(ctx.aclose()), timeout=30_000)


@pytest.fixture
def model_tester(qapp: Any) -> Iterator[Any]:
    """``model_tester(model)`` attaches Qt's QAbstractItemModelTester (QtTest) to a model.

    The tester re-checks the whole model after every signal.  It reports in Warning mode (the
    Fatal mode would abort the interpreter) through the ``qt.modeltest`` logging category;
    this fixture captures those messages with its own Qt message handler and fails the test
    on any of them.
    """
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtTest import QAbstractItemModelTester

    testers: list[Any] = []
    failures: list[str] = []

    def handler(_mode: Any, context: Any, message: str) -> None:
        if "FAIL!" in message or (context is not None and context.category == "qt.modeltest"):
            failures.append(message)

    previous = qInstallMessageHandler(handler)

    def attach(model: Any) -> Any:
        tester = QAbstractItemModelTester(
            model, QAbstractItemModelTester.FailureReportingMode.Warning
        )
        testers.append(tester)
        return tester

    attach.failures = failures  # type: ignore[attr-defined]
    try:
        yield attach
    finally:
        qInstallMessageHandler(previous)
    assert not failures, "QAbstractItemModelTester:\n" + "\n".join(failures)
