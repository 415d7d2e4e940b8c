"""The JSOC CGI programs of the demo server (``/cgi-bin/ajax/<name>``).

Each handler reads the (already URL-decoded) query, answers HTTP 200 with JSON like JSOC's
programs do, and goes through the fault plan of its route.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from jsocdesk.demo import transport

if TYPE_CHECKING:
    from jsocdesk.demo.server import DemoApp

Params = Mapping[str, str]
Handler = Callable[[web.Request, Params], Awaitable[web.StreamResponse | dict[str, Any]]]

#: checkAddress.py's validation pattern (matched at the start, like ``re.match``).
EMAIL_RE = re.compile(r"\s*[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,6}")


class JsocApi:
    def __init__(self, app: DemoApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._pending_registration: set[str] = set()
        self._user_ids: dict[str, int] = {}
        self._handlers: dict[str, Handler] = {
            "checkAddress.sh": self.check_address,
        }

    def routes(self) -> list[str]:
        return list(self._handlers)

    async def handle(self, name: str, request: web.Request) -> web.StreamResponse:
        faults = self.app.faults.take(name, request.path_qs)
        params: dict[str, str] = dict(request.query)
        if request.method == "POST":
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        started = time.monotonic()
        result = await self._handlers[name](request, params)
        if isinstance(result, web.StreamResponse):
            return result
        if "runtime" in result:
            result["runtime"] = round(time.monotonic() - started, 3)
        from jsocdesk.demo.server import json_bytes

        return await transport.send_bytes(request, json_bytes(result), faults, self.app.stopping)

    async def materialize(self, rel: str, path: Path) -> bool:
        """Create the file behind a not-yet-written ``/SUM…`` path; False if none exists."""
        return False

    async def close(self) -> None:
        return None

    # --- checkAddress.sh --------------------------------------------------------------------

    async def check_address(self, request: web.Request, params: Params) -> dict[str, Any]:
        raw = params.get("address")
        if not raw:
            return {"status": -2, "msg": "Missing required argument 'address'.", "user_id": None}
        # drms quotes the address before urlencoding it: decode a second time (checkAddress.py).
        address = urllib.parse.unquote(raw).strip()
        if not EMAIL_RE.match(address):
            return {"status": -2, "msg": "Not a valid email address.", "user_id": None}
        key = address.lower()
        if self.app.is_registered(address):
            with self._lock:
                uid = self._user_ids.setdefault(key, 1000 + len(self._user_ids))
            return {"status": 2, "msg": "Email address is valid and registered.", "user_id": uid}
        checkonly = params.get("checkonly", "0") not in ("", "0")
        with self._lock:
            pending = key in self._pending_registration
            if not checkonly and not pending:
                self._pending_registration.add(key)
                return {
                    "status": 1,
                    "msg": "Your email address has not been registered for use with the JSOC "
                    "export system. Starting registration process: a confirmation e-mail "
                    "has been sent.",
                    "user_id": None,
                }
        if pending:
            return {
                "status": 3,
                "msg": "Email-address registration is pending. Please wait and try again later.",
                "user_id": None,
            }
        return {
            "status": 4,
            "msg": "email address has been neither validated nor registered",
            "user_id": None,
        }
