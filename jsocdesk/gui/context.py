"""AppContext: what the windows of one app instance share — composition, no globals.

It owns the long-lived objects (paths, settings, UI state, the error sink, the task runner)
and, once a server is chosen, the HTTP client and the :class:`JsocClient`.  Widgets receive
the context in their constructor instead of reaching for module globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jsocdesk.core.events import Signal
from jsocdesk.core.paths import AppPaths
from jsocdesk.gui.errors import ErrorSink
from jsocdesk.gui.settings import UiState, UserSettings
from jsocdesk.gui.tasks import TaskRunner

if TYPE_CHECKING:
    import httpx

    from jsocdesk.core.jsoc.client import JsocClient


@dataclass
class AppContext:
    paths: AppPaths
    settings: UserSettings
    ui_state: UiState
    sink: ErrorSink
    tasks: TaskRunner
    server_url: str | None = None
    client: JsocClient | None = None
    #: emitted with the new client after :meth:`connect`
    connected: Signal = field(default_factory=lambda: Signal("connected"))
    _http: httpx.AsyncClient | None = None
    #: objects whose lifetime is the app's (the demo server process, ...)
    keep: list[Any] = field(default_factory=list)

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

    def connect(self, base_url: str) -> JsocClient:
        """Talk to the JSOC server (or demo server) at ``base_url`` from now on."""
        from jsocdesk.core.jsoc.client import JsocClient, make_http_client
        from jsocdesk.core.jsoc.config import ServerConfig

        config = ServerConfig.from_spec(base_url)
        old_http = self._http
        self._http = make_http_client(config)
        self.client = JsocClient(config, self._http)
        self.server_url = base_url
        if old_http is not None:
            self.tasks.run(old_http.aclose(), context="Closing the old connection")
        self.connected.emit(self.client)
        return self.client

    async def aclose(self) -> None:
        await self.tasks.shutdown()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        self.settings.sync()
        self.ui_state.sync()
