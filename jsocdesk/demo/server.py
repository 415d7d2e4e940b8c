"""The demo JSOC server: JSOC's web API on 127.0.0.1, served by aiohttp.

Two ways to run it:

* in-process, on its own event loop in a background thread (tests on any loop, benchmarks)::

      with DemoServer(DemoConfig(export_delay=0.2)) as srv:
          base = srv.base_url              # "http://127.0.0.1:PORT/"
          srv.faults.add(Fault("reset", route="files", at=1000, times=1))
          srv.register_email("me@example.com")

* as a child process: ``jsocdesk serve-demo --port 0 [--data-dir DIR]`` prints the base URL
  on the first line of stdout (the GUI's ``--demo`` mode starts it that way).

Routes: ``/cgi-bin/ajax/{show_series,showextseries,jsoc_info,jsoc_fetch,checkAddress.sh}``
(also under ``/cgi-bin/`` like the KIS server), static ``GET/HEAD /SUM…`` (segment files are
generated on first access; export directories and tar files are written by the export
manager), ``/_demo/faults`` and ``/_demo/emails`` for run-time control, ``/`` (a liveness
page).  CGI answers are always HTTP 200 + JSON unless a fault says otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from jsocdesk.demo import transport
from jsocdesk.demo.config import DemoConfig
from jsocdesk.demo.faults import Fault, FaultPlan


class DemoApp:
    """Routes and state of one server; runs on whatever loop serves its aiohttp app."""

    def __init__(self, config: DemoConfig, data_dir: Path) -> None:
        self.config = config
        self.data_dir = data_dir.resolve()
        self.faults = FaultPlan(config.faults)
        self._emails_lock = threading.Lock()
        self._registered = {e.lower() for e in config.registered_emails}
        self.stopping = asyncio.Event()
        #: every request received, as "METHOD /path?query" (what a client cost the server)
        self.request_log: list[str] = []
        from jsocdesk.demo.api import JsocApi

        self.api = JsocApi(self)

    # --- e-mail registry (thread-safe) ----------------------------------------------------

    def register_email(self, address: str) -> None:
        with self._emails_lock:
            self._registered.add(address.lower())

    def unregister_email(self, address: str) -> None:
        with self._emails_lock:
            self._registered.discard(address.lower())

    def is_registered(self, address: str) -> bool:
        with self._emails_lock:
            return address.lower() in self._registered

    def registered_emails(self) -> list[str]:
        with self._emails_lock:
            return sorted(self._registered)

    # --- aiohttp wiring -------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024, middlewares=[self._log_request])
        for prefix in ("/cgi-bin/ajax/", "/cgi-bin/"):
            for name in self.api.routes():
                app.router.add_route("GET", prefix + name, self._cgi_handler(name))
                app.router.add_route("POST", prefix + name, self._cgi_handler(name))
        app.router.add_route("GET", "/{tail:SUM[0-9]+/.*}", self.handle_file)
        app.router.add_route("HEAD", "/{tail:SUM[0-9]+/.*}", self.handle_file)
        app.router.add_route("*", "/_demo/faults", self.handle_faults)
        app.router.add_route("*", "/_demo/emails", self.handle_emails)
        app.router.add_route("GET", "/", self.handle_root)
        return app

    @web.middleware
    async def _log_request(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/_demo/"):
            self.request_log.append(f"{request.method} {request.path_qs}")
        response: web.StreamResponse = await handler(request)
        return response

    def _cgi_handler(self, name: str) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await self.api.handle(name, request)

        return handler

    async def handle_root(self, request: web.Request) -> web.Response:
        return web.Response(text="jsocdesk demo JSOC server\n")

    # --- static files ----------------------------------------------------------------------

    def safe_path(self, rel: str) -> Path | None:
        """Map a URL path below ``/`` to a path inside the data dir, or None if it escapes."""
        parts = [p for p in rel.split("/") if p]
        if not parts or any(p in (".", "..") or "\\" in p or "\0" in p for p in parts):
            return None
        candidate = self.data_dir.joinpath(*parts)
        try:
            resolved = candidate.resolve()
        except (OSError, RuntimeError):
            return None
        if not resolved.is_relative_to(self.data_dir):
            return None
        return resolved

    async def handle_file(self, request: web.Request) -> web.StreamResponse:
        rel = request.match_info["tail"]
        faults = self.faults.take("files", request.path_qs)
        path = self.safe_path(rel)
        if path is None:
            raise web.HTTPNotFound()
        if not path.is_file():
            made = await self.api.materialize(rel, path)
            if not made:
                raise web.HTTPNotFound()
        ctype = "application/fits" if path.suffix == ".fits" else None
        if path.suffix == ".tar":
            ctype = "application/x-tar"
        elif path.suffix == ".json":
            ctype = "application/json"
        elif path.suffix in (".txt", ".out", ".2d"):
            ctype = "text/plain"
        return await transport.send_file(
            request, path, faults, self.stopping, content_type=ctype or "application/octet-stream"
        )

    # --- run-time control --------------------------------------------------------------------

    async def handle_faults(self, request: web.Request) -> web.Response:
        if request.method == "DELETE":
            self.faults.clear()
        elif request.method == "POST":
            try:
                payload = await request.json()
                items = payload if isinstance(payload, list) else [payload]
                for item in items:
                    self.faults.add(Fault.from_dict(item))
            except (ValueError, TypeError) as exc:
                return web.json_response({"status": 1, "error": str(exc)}, status=400)
        elif request.method != "GET":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST", "DELETE"])
        return web.json_response(
            {
                "status": 0,
                "faults": [f.to_dict() for f in self.faults.snapshot()],
                "hits": dict(self.faults.hits),
            }
        )

    async def handle_emails(self, request: web.Request) -> web.Response:
        if request.method in ("POST", "DELETE"):
            try:
                payload = await request.json()
            except ValueError as exc:
                return web.json_response({"status": 1, "error": str(exc)}, status=400)
            addresses = payload if isinstance(payload, list) else [payload]
            for a in addresses:
                if not isinstance(a, str):
                    return web.json_response({"status": 1, "error": "strings only"}, status=400)
                if request.method == "POST":
                    self.register_email(a)
                else:
                    self.unregister_email(a)
        elif request.method != "GET":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST", "DELETE"])
        return web.json_response({"status": 0, "emails": self.registered_emails()})


def json_bytes(obj: Any) -> bytes:
    return json.dumps(obj).encode("latin-1", "replace")


class DemoServer:
    """A demo JSOC server on 127.0.0.1 running on its own loop in a daemon thread."""

    def __init__(self, config: DemoConfig | None = None) -> None:
        self.config = config or DemoConfig()
        self._own_dir = self.config.data_dir is None
        if self._own_dir:
            self.data_dir = Path(tempfile.mkdtemp(prefix="jsocdesk-demo-"))
        else:
            assert self.config.data_dir is not None
            self.data_dir = Path(self.config.data_dir)
            self.data_dir.mkdir(parents=True, exist_ok=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._app: DemoApp | None = None
        self.port: int | None = None
        self._error: BaseException | None = None

    # --- public API ---------------------------------------------------------------------------

    @property
    def app(self) -> DemoApp:
        if self._app is None:
            raise RuntimeError("demo server not started")
        return self._app

    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("demo server not started")
        return f"http://{self.config.host}:{self.port}/"

    @property
    def cgi_url(self) -> str:
        return self.base_url + "cgi-bin/ajax/"

    @property
    def faults(self) -> FaultPlan:
        return self.app.faults

    @property
    def request_log(self) -> list[str]:
        """Every request served so far (``"GET /cgi-bin/ajax/jsoc_info?op=..."``)."""
        return self.app.request_log

    def register_email(self, address: str) -> None:
        self.app.register_email(address)

    def unregister_email(self, address: str) -> None:
        self.app.unregister_email(address)

    def start(self) -> str:
        """Start serving; returns the base URL (``http://127.0.0.1:PORT/``)."""
        if self._thread is not None:
            return self.base_url
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="jsocdesk-demo-server", daemon=True
        )
        self._thread.start()
        ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"demo server failed to start: {self._error}") from self._error
        return self.base_url

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = None
        self._loop = None
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> DemoServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self.base_url if self.port else "stopped"
        return f"<DemoServer {state} data_dir={self.data_dir}>"

    # --- thread body ----------------------------------------------------------------------------

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            self._app, self._runner, self.port = loop.run_until_complete(
                start_app(self.config, self.data_dir)
            )
        except BaseException as exc:  # noqa: BLE001  # reported to start()'s caller
            self._error = exc
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(stop_app(self._app, self._runner))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()


async def start_app(config: DemoConfig, data_dir: Path) -> tuple[DemoApp, web.AppRunner, int]:
    """Build and bind the server on the running loop; returns (app, runner, port)."""
    demo = DemoApp(config, data_dir)
    runner = web.AppRunner(
        demo.make_app(), access_log=None, shutdown_timeout=config.shutdown_timeout
    )
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    port = 0
    server = runner.server
    for s in runner.sites:
        srv = getattr(s, "_server", None)
        if srv is not None and srv.sockets:
            port = srv.sockets[0].getsockname()[1]
    if not port or server is None:
        await runner.cleanup()
        raise RuntimeError("could not determine the bound port")
    return demo, runner, port


async def stop_app(demo: DemoApp, runner: web.AppRunner) -> None:
    demo.stopping.set()
    await demo.api.close()
    with contextlib.suppress(Exception):
        await runner.cleanup()
