"""Start-up helpers: know when the window first painted (to build the panels after it)."""

from __future__ import annotations

import asyncio
import contextlib

from PySide6.QtCore import QEvent, QObject


class FirstPaintWatcher(QObject):
    """Event filter on the main window: :meth:`painted` resolves at its first paint.

    ``announce`` prints ``first-paint`` at that moment (``jsocdesk --measure-startup``, read
    by ``tests/bench/bench_gui.py``).
    """

    def __init__(self, window: QObject, *, announce: bool = False) -> None:
        super().__init__(window)
        self.announce = announce
        self.seen = False
        self._future: asyncio.Future[None] | None = None
        window.installEventFilter(self)

    def eventFilter(self, _obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self.seen:
            self.seen = True
            if self.announce:
                print("first-paint", flush=True)  # noqa: T201
            if self._future is not None and not self._future.done():
                self._future.set_result(None)
        return False

    async def painted(self, wait_s: float) -> None:
        """Return at the first paint, or after ``wait_s`` (some platforms paint late)."""
        if self.seen:
            return
        self._future = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._future, wait_s)
