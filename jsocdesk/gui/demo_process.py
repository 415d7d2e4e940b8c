"""The embedded demo JSOC server as a child process (``jsocdesk --demo``).

Runs ``python -m jsocdesk serve-demo --port 0`` with :class:`QProcess` (no thread, no blocking
read): the server prints its base URL on its first stdout line, which resolves
:meth:`DemoServerProcess.start`.  :meth:`aclose` stops it when the app quits without
blocking the GUI thread: it closes the server's stdin (it exits on EOF), waits for the
``finished`` signal, then terminates and at last kills it, each step bounded.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from PySide6.QtCore import QObject, QProcess, Signal

#: the address the demo server registers by default (jsocdesk.demo.config; checked by a
#: test): the window prefills it in demo mode, so a demo export needs no real account
DEMO_EMAIL = "demo@example.com"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_MS = 3000


class DemoServerProcess(QObject):
    started = Signal(str)
    #: the server ended (exit code) — unexpectedly unless stop() was called
    finished = Signal(int)

    def __init__(self, parent: QObject | None = None, extra_args: list[str] | None = None) -> None:
        super().__init__(parent)
        self._proc = QProcess(self)
        self._proc.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self._proc.readyReadStandardOutput.connect(self._on_proc_stdout)
        self._proc.finished.connect(self._on_proc_finished)
        self._proc.errorOccurred.connect(self._on_proc_error)
        self._extra_args = list(extra_args or [])
        self._buffer = b""
        self._future: asyncio.Future[str] | None = None
        self._ended: asyncio.Future[None] | None = None
        self.url: str | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._proc.state() != QProcess.ProcessState.NotRunning

    def launch(self) -> None:
        """Start the child process now, without waiting (no event loop needed): the app
        launches it before it builds its window, so both start up at the same time."""
        if self.running or self.url is not None:
            return
        # --exit-on-stdin-eof: if this app dies, the closed pipe stops the server too
        args = [
            "-m",
            "jsocdesk",
            "serve-demo",
            "--port",
            "0",
            "--exit-on-stdin-eof",
            *self._extra_args,
        ]
        self._proc.start(sys.executable, args)

    async def start(self) -> str:
        """Start the server (unless :meth:`launch` did); return its base URL once it
        printed it."""
        if self.url is not None and self.running:
            return self.url
        self._future = asyncio.get_running_loop().create_future()
        self._resolve()  # the URL may have arrived while no loop was waiting for it
        self.launch()
        try:
            return await asyncio.wait_for(asyncio.shield(self._future), START_TIMEOUT_S)
        except BaseException:
            self._proc.kill()
            raise

    def _on_proc_stdout(self) -> None:
        self._buffer += bytes(self._proc.readAllStandardOutput().data())
        if self.url is None and b"\n" in self._buffer:
            line = self._buffer.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
            url = next((t for t in line.split() if t.startswith("http")), "")
            if not url.startswith("http"):
                self._fail(f"demo server printed {line!r} instead of its URL")
                return
            self.url = url if url.endswith("/") else url + "/"
            self._resolve()
            self.started.emit(self.url)
        if len(self._buffer) > 65536:
            self._buffer = b""

    def _resolve(self) -> None:
        if self.url is not None and self._future is not None and not self._future.done():
            self._future.set_result(self.url)

    def _fail(self, message: str) -> None:
        if self._future is not None and not self._future.done():
            stderr = bytes(self._proc.readAllStandardError().data()).decode("utf-8", "replace")
            detail = f"{message}\n{stderr.strip()}" if stderr.strip() else message
            self._future.set_exception(RuntimeError(detail))

    def _on_proc_error(self, error: QProcess.ProcessError) -> None:
        if not self._stopping:
            self._fail(f"demo server could not run: {error.name}")

    def _on_proc_finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self._fail(f"demo server exited with code {code} before printing its URL")
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(None)
        if not self._stopping:
            self.finished.emit(code)

    async def aclose(self) -> None:
        """Stop the server without blocking: EOF on its stdin, then terminate, then kill,
        each given :data:`STOP_TIMEOUT_MS`."""
        if not self.running:
            return
        self._stopping = True
        self._ended = asyncio.get_running_loop().create_future()
        for step in (self._proc.closeWriteChannel, self._proc.terminate, self._proc.kill):
            step()
            try:
                await asyncio.wait_for(asyncio.shield(self._ended), STOP_TIMEOUT_MS / 1000)
            except TimeoutError:
                continue
            return


def running_demo(ctx: Any) -> DemoServerProcess | None:
    """The app's demo server, when the context is connected to it (None: another server)."""
    demo = getattr(ctx, "demo", None)
    if isinstance(demo, DemoServerProcess) and demo.running and demo.url == ctx.server_url:
        return demo
    return None
