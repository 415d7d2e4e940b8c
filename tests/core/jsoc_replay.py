"""A loopback HTTP server that answers with recorded JSOC bodies, byte for byte.

Each answer is keyed by CGI name and ``op`` (or ``*`` for any); a list of answers is served
in turn (the last one repeats).  Every request is recorded (path, query, headers), so tests
can check what the real client sent.  The bodies themselves live in the tests, each with
the place in the lm-jps/drms server source it was reconstructed from.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Reply:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class Seen:
    cgi: str
    query: list[tuple[str, str]]
    headers: dict[str, str]

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)


class Replay:
    def __init__(self, answers: dict[tuple[str, str], list[Reply]]) -> None:
        self.answers = {k: list(v) for k, v in answers.items()}
        self.seen: list[Seen] = []
        self.base_url = ""

    def requests(self, cgi: str, op: str | None = None) -> list[Seen]:
        return [s for s in self.seen if s.cgi == cgi and (op is None or s.param("op") == op)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        cgi = request.match_info["cgi"]
        query = list(request.query.items())
        self.seen.append(Seen(cgi, query, dict(request.headers)))
        op = request.query.get("op", "*")
        queue = self.answers.get((cgi, op)) or self.answers.get((cgi, "*"))
        if not queue:
            return web.Response(status=404, text="no recorded answer\n")
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        headers = {"Content-Type": reply.content_type, **reply.headers}
        return web.Response(status=reply.status, body=reply.body, headers=headers)


@contextmanager
def replay(answers: dict[tuple[str, str], list[Reply]]) -> Iterator[Replay]:
    server = Replay(answers)
    started = threading.Event()
    holder: dict[str, object] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        holder["loop"] = loop
        app = web.Application()
        app.router.add_get("/cgi-bin/ajax/{cgi}", server.handle)
        runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        holder["port"] = runner.addresses[0][1]
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(30)
    server.base_url = f"http://127.0.0.1:{holder['port']}/"
    try:
        yield server
    finally:
        loop = holder["loop"]
        assert isinstance(loop, asyncio.AbstractEventLoop)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
