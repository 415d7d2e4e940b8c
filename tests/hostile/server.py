"""A hostile JSOC on 127.0.0.1: the demo server's answers, except where a test says otherwise.

:class:`HostileJsoc` runs a small aiohttp app on its own loop in a thread.  Every request is
forwarded to an upstream demo server unless an override matches it: ``hostile.on(route,
handler, match=...)`` where ``route`` is the CGI name (``jsoc_fetch``, ``jsoc_info``,
``checkAddress.sh``) or ``files``, ``match`` a substring of the path and query (``op=
exp_status``), and ``handler(request, upstream)`` an async function answering with any
shape a broken or malicious server could send (``upstream(request)`` fetches the real
answer so a handler can tamper with it).  ``hostile.hits[route]`` counts requests.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

Upstream = Callable[[web.Request], Awaitable[tuple[int, dict[str, str], bytes]]]
Handler = Callable[[web.Request, Upstream], Awaitable[web.StreamResponse]]

_HOP = {"content-length", "transfer-encoding", "connection", "content-encoding", "date", "server"}


@dataclass
class _Rule:
    route: str
    match: str
    handler: Handler
    times: int | None


def route_of(path: str) -> str:
    if "/cgi-bin/ajax/" in path:
        return path.rsplit("/", 1)[-1]
    return "files"


class HostileJsoc:
    def __init__(self, upstream_base: str) -> None:
        self.upstream_base = upstream_base.rstrip("/")
        self.rules: list[_Rule] = []
        self.hits: Counter[str] = Counter()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.stopping = asyncio.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def on(
        self, route: str, handler: Handler, *, match: str = "", times: int | None = None
    ) -> None:
        self.rules.append(_Rule(route, match, handler, times))

    async def upstream(self, request: web.Request) -> tuple[int, dict[str, str], bytes]:
        assert self._session is not None
        url = self.upstream_base + str(request.rel_url)
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("range",)}
        async with self._session.get(url, headers=headers) as r:
            body = await r.read()
            kept = {k: v for k, v in r.headers.items() if k.lower() not in _HOP}
            return r.status, kept, body

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        route = route_of(request.path)
        self.hits[route] += 1
        where = str(request.rel_url)
        for rule in self.rules:
            if rule.route in (route, "*") and rule.match in where:
                if rule.times is not None:
                    if rule.times <= 0:
                        continue
                    rule.times -= 1
                return await rule.handler(request, self.upstream)
        status, headers, body = await self.upstream(request)
        return web.Response(status=status, headers=headers, body=body)

    def start(self) -> HostileJsoc:
        ready = threading.Event()

        async def setup() -> None:
            self._session = aiohttp.ClientSession(auto_decompress=False)
            app = web.Application()
            app.router.add_route("GET", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            server: Any = getattr(site, "_server", None)
            self.port = server.sockets[0].getsockname()[1]

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(setup())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._teardown())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="hostile-jsoc", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    async def _teardown(self) -> None:
        self.stopping.set()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self.stopping.set)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._thread = None


def json_answer(obj: Any, status: int = 200, reason: str | None = None) -> web.Response:
    import json

    return web.Response(
        status=status, reason=reason, body=json.dumps(obj).encode(), content_type="application/json"
    )


def raw_answer(body: bytes, status: int = 200, reason: str | None = None) -> web.Response:
    return web.Response(status=status, reason=reason, body=body, content_type="application/json")
