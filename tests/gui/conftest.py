"""GUI test fixtures: offscreen Qt, one qasync loop that re-raises loop errors at each test's
teardown, model testers."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
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


#: The session's loop, kept referenced until the interpreter exits: a qasync loop that is
#: freed while Qt still delivers one of its timers segfaults (the loop is never freed mid-run).
_LOOPS: list[qasync.QEventLoop] = []


@pytest.fixture(scope="package", autouse=True)
def gui_thread_gc(qapp: Any) -> Iterator[None]:
    """While the GUI tests run, the cyclic GC runs only on the GUI thread (as in the app,
    gui/app.py): a collection triggered by another thread (the in-process demo server's) that
    frees a Qt object in a cycle deadlocks on Qt's and Python's locks."""
    import gc

    from pyqtgraph.util.garbage_collector import GarbageCollector

    collector = GarbageCollector(interval=0.2)
    yield
    collector.timer.stop()
    gc.enable()
    gc.collect()


@pytest.fixture(scope="session")
def qasync_loop(qapp: Any) -> Iterator[qasync.QEventLoop]:
    """One qasync loop for the whole session, inside pytest-qt's application.

    ``already_running=True`` marks it as running under the Qt event loop that pytest-qt pumps
    (``qtbot.waitUntil``/``waitSignal``), exactly like in the app.  A single loop, never
    stopped between tests: ``stop()`` would call ``QApplication.exit()`` (every later qtbot
    wait would return at once), and a loop closed while its ``call_later`` timers are still
    registered with Qt must not be freed.  Tests use it through :func:`qloop`.
    """
    loop = qasync.QEventLoop(qapp, already_running=True)
    _LOOPS.append(loop)
    # It is the running loop only while a test that asked for ``qloop`` runs.
    asyncio._set_running_loop(None)
    yield loop
    asyncio._set_running_loop(loop)
    _drain(loop)
    asyncio._set_running_loop(None)
    loop.stop()  # no qtbot wait follows: QApplication.exit() is harmless now
    loop.close()


@pytest.fixture
def qloop(qasync_loop: qasync.QEventLoop) -> Iterator[qasync.QEventLoop]:
    """The session's qasync loop as this test's running loop.

    Exceptions that reach the loop's handler fail the test at teardown; tasks still alive
    then are cancelled and pumped to their end.  ``asyncio._set_running_loop`` is the hook
    asyncio exports (``asyncio.events.__all__``) for loops run by someone else: Qt runs this
    one, so asyncio must be told while the test runs, and told again when it is over (plain
    ``asyncio.run`` in later tests needs no running loop).
    """
    loop = qasync_loop
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    asyncio.set_event_loop(loop)
    asyncio._set_running_loop(loop)
    try:
        yield loop
    finally:
        _drain(loop)
        asyncio._set_running_loop(None)
        asyncio.set_event_loop(None)
        loop.set_exception_handler(None)
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
def qtmodeltesters(request: pytest.FixtureRequest) -> Iterator[Callable[[Any], None]]:
    """``qtmodeltesters(model)``: pytest-qt's model tester for each of several models of one
    test (the ``qtmodeltester`` fixture holds one: a second ``check()`` would drop the
    first model's tester).  Each is pytest-qt's ``ModelTester``, i.e. Qt's
    QAbstractItemModelTester; pytest-qt fails the test on any ``qt.modeltest`` report."""
    from pytestqt.modeltest import ModelTester

    testers: list[ModelTester] = []

    def check(model: Any) -> None:
        tester = ModelTester(request.config)
        tester.check(model)
        testers.append(tester)

    yield check
    testers.clear()
