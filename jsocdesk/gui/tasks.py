"""TaskRunner: the one way the GUI runs async work.

* keeps a strong reference to every task until it ends (asyncio only keeps weak ones);
* a *named* task is preemptive: starting a new task under a name cancels the previous one
  (the live record count restarts as the user types);
* ``on_success(result)`` runs when a task returns, ``on_failure(exc)`` when it raises; either
  way the failure also goes to the :class:`~jsocdesk.gui.errors.ErrorSink` — the single place
  where errors are shown — unless it is a cancellation.  Both run from the task's
  done-callback, which asyncio schedules one loop turn *after* ``task.done()`` turns true:
  whoever needs their effect waits for that effect (or ``task_finished``), not for ``done()``;
* a task started for a widget (``owner=``) is cancelled when that widget is destroyed, and
  its callbacks never run on a deleted widget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Signal

from jsocdesk.gui.errors import ErrorSink

T = TypeVar("T")
U = TypeVar("U")


class TaskRunner(QObject):
    #: number of running tasks changed
    busy_changed = Signal(int)
    #: a task ended (name or "", "ok" | "failed" | "cancelled")
    task_finished = Signal(str, str)

    def __init__(self, sink: ErrorSink, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sink = sink
        self._tasks: set[asyncio.Task[Any]] = set()
        self._named: dict[str, asyncio.Task[Any]] = {}
        self._closed = False

    def run(
        self,
        coro: Coroutine[Any, Any, T],
        *,
        name: str | None = None,
        on_success: Callable[[T], object] | None = None,
        on_failure: Callable[[BaseException], object] | None = None,
        context: str = "",
        owner: QObject | None = None,
    ) -> asyncio.Task[T]:
        if name is not None:
            self.cancel(name)
        task: asyncio.Task[T] = asyncio.ensure_future(coro)
        if self._closed:  # shutting down: a late timer's work never starts
            task.cancel()
        self._tasks.add(task)
        if name is not None:
            self._named[name] = task
        label = context or name or str(getattr(coro, "__qualname__", "task"))

        if owner is not None:
            owner.destroyed.connect(task.cancel)

        def done(t: asyncio.Task[T]) -> None:
            self._tasks.discard(t)
            if owner is not None and shiboken6.isValid(owner):
                owner.destroyed.disconnect(task.cancel)
            if name is not None and self._named.get(name) is t:
                del self._named[name]
            self.busy_changed.emit(len(self._tasks))
            if t.cancelled():
                self.task_finished.emit(name or "", "cancelled")
                return
            alive = owner is None or shiboken6.isValid(owner)
            exc = t.exception()
            if exc is None:
                if on_success is not None and alive:
                    self._call(on_success, t.result(), label)
                self.task_finished.emit(name or "", "ok")
                return
            self._sink.report(exc, label)
            if on_failure is not None and alive:
                self._call(on_failure, exc, label)
            self.task_finished.emit(name or "", "failed")

        task.add_done_callback(done)
        self.busy_changed.emit(len(self._tasks))
        return task

    def _call(self, callback: Callable[[U], object], arg: U, label: str) -> None:
        try:
            callback(arg)
        except Exception as exc:  # noqa: BLE001 - a broken callback is reported, not lost
            self._sink.report(exc, f"{label} (callback)")

    def get(self, name: str) -> asyncio.Task[Any] | None:
        return self._named.get(name)

    def cancel(self, name: str) -> bool:
        task = self._named.pop(name, None)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def shutdown(self) -> None:
        """Cancel everything and wait until every task has really ended; tasks started
        afterwards (a late timer) are cancelled at once."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
