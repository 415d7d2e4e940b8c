"""AppContext: what the windows of one app instance share — composition, no globals.

It owns the long-lived objects (paths, settings, UI state, the error sink, the task runner)
and, once a server is chosen, the HTTP client, the :class:`JsocClient` and the server's
:class:`~jsocdesk.core.workflow.ServerIdentity` (what a session records).  When the app
runs the demo server it holds the one handle on it (:attr:`AppContext.demo`), started by
:meth:`AppContext.start_demo` on the persistent demo data directory and stopped by
:meth:`AppContext.aclose` without blocking the GUI thread.  Widgets receive the context in
their constructor instead of reaching for module globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jsocdesk.core.events import Signal
from jsocdesk.core.paths import AppPaths
from jsocdesk.gui.errors import ErrorSink
from jsocdesk.gui.settings import UiState, UserSettings
from jsocdesk.gui.tasks import TaskRunner

if TYPE_CHECKING:
    from collections.abc import Sequence

    import httpx

    from jsocdesk.core.jsoc.client import JsocClient
    from jsocdesk.core.workflow.server import ServerIdentity
    from jsocdesk.gui.demo_process import DemoServerProcess


@dataclass
class AppContext:
    paths: AppPaths
    settings: UserSettings
    ui_state: UiState
    sink: ErrorSink
    tasks: TaskRunner
    server_url: str | None = None
    client: JsocClient | None = None
    #: which server the client talks to (set by :meth:`connect`)
    server: ServerIdentity | None = None
    #: the demo server this app runs (``None`` until :meth:`start_demo`)
    demo: DemoServerProcess | None = None
    #: emitted with the new client after :meth:`connect`
    connected: Signal = field(default_factory=lambda: Signal("connected"))
    _http: httpx.AsyncClient | None = None

    @classmethod
    def create(cls, *, show_error_dialog: bool = True) -> AppContext:
        paths = AppPaths.from_environment().ensure()
        sink = ErrorSink(show_dialog=show_error_dialog)
        return cls(
            paths=paths,
            settings=UserSettings(paths.config),
            ui_state=UiState(paths.config),
            sink=sink,
            tasks=TaskRunner(sink),
        )

    def connect(self, base_url: str, identity: ServerIdentity | None = None) -> JsocClient:
        """Talk to the JSOC server (or demo server) at ``base_url`` from now on.

        ``identity``: which server that is (default: JSOC for JSOC's host, else a custom
        server at ``base_url``; :meth:`start_demo` passes the demo's)."""
        from jsocdesk.core.jsoc.client import JsocClient, make_http_client
        from jsocdesk.core.jsoc.config import ServerConfig
        from jsocdesk.core.workflow.server import ServerIdentity

        config = ServerConfig.from_spec(base_url)
        old_http = self._http
        self._http = make_http_client(config)
        self.client = JsocClient(config, self._http)
        self.server_url = base_url
        self.server = identity or ServerIdentity.for_url(base_url)
        if old_http is not None:
            self.tasks.run(old_http.aclose(), context="Closing the old connection")
        self.connected.emit(self.client)
        return self.client

    async def start_demo(self, extra_args: Sequence[str] = ()) -> str:
        """Run the demo server (once; its data directory persists across runs, so a demo
        session's files are the same) and connect to it; returns its base URL."""
        from jsocdesk.core.workflow.server import ServerIdentity
        from jsocdesk.gui.demo_process import DemoServerProcess

        if self.demo is None or not self.demo.running:
            args = ["--data-dir", str(self.paths.demo_data), *extra_args]
            self.demo = DemoServerProcess(extra_args=args)
            await self.demo.start()
        assert self.demo.url is not None
        if self.server_url != self.demo.url:
            self.connect(self.demo.url, ServerIdentity.demo())
        return self.demo.url

    async def aclose(self) -> None:
        await self.tasks.shutdown()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self.demo is not None:
            await self.demo.aclose()
        self.settings.sync()
        self.ui_state.sync()
