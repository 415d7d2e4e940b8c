"""The JSOC CGI programs of the demo server (``/cgi-bin/ajax/<name>``).

Each handler reads the (already URL-decoded) query, answers HTTP 200 with JSON like JSOC's
programs do, and goes through the fault plan of its route.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from jsocdesk.demo import records, series, transport
from jsocdesk.demo.exports import ExportManager
from jsocdesk.demo.faults import Fault
from jsocdesk.demo.jsocjson import Answer, quote
from jsocdesk.demo.listing import Streamed, rs_list, series_struct

if TYPE_CHECKING:
    from jsocdesk.demo.server import DemoApp

Params = Mapping[str, str]
Handler = Callable[
    [web.Request, Params], Awaitable["Streamed | Answer | bytes | dict[str, Any] | Path"]
]

log = logging.getLogger(__name__)

#: Where a request carries the faults that fired for it.
FAULTS_KEY = web.RequestKey("demo_faults", list)

#: checkAddress.py's validation pattern (matched at the start, like ``re.match``).
EMAIL_RE = re.compile(r"\s*[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,6}")


def _write_sums_file(
    path: Path, rec: records.Record, seg: series.Seg, size: int, image_size: int | None
) -> None:
    # astropy.io.fits is imported on first use, in a worker thread (keeps start-up short).
    from jsocdesk.demo import fitsgen

    fitsgen.write_segment(path, rec, seg, size, full=False, image_size=image_size)


class JsocApi:
    def __init__(self, app: DemoApp) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._pending_registration: set[str] = set()
        self._user_ids: dict[str, int] = {}
        self._handlers: dict[str, Handler] = {
            "show_series": self.show_series,
            "showextseries": self.showextseries,
            "jsoc_info": self.jsoc_info,
            "checkAddress.sh": self.check_address,
            "jsoc_fetch": self.jsoc_fetch,
        }
        self.exports = ExportManager(app)
        self._making: dict[str, asyncio.Future[bool]] = {}

    def routes(self) -> list[str]:
        return list(self._handlers)

    async def handle(self, name: str, request: web.Request) -> web.StreamResponse:
        faults = self.app.faults.take(name, request.path_qs)
        request[FAULTS_KEY] = faults
        params: dict[str, str] = dict(request.query)
        if request.method == "POST":
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        started = time.monotonic()
        try:
            result = await self._handlers[name](request, params)
        except Exception as exc:  # JSOC reports failures inside the JSON
            log.exception("demo %s failed for %s", name, request.path_qs)
            result = Answer({"status": 1, "error": f"{name}: internal error: {exc}"})
        if isinstance(result, Streamed):
            return await self._send_stream(request, result, faults)
        if isinstance(result, Path):
            return await transport.send_file(
                request, result, faults, self.app.stopping, content_type="application/json"
            )
        if isinstance(result, Answer):
            if isinstance(result.obj, dict) and "runtime" in result.obj:
                # json_insert_runtime(): "%0.3f" seconds
                result.obj["runtime"] = float(f"{time.monotonic() - started:.3f}")
            body = result.body()
        elif isinstance(result, bytes):
            body = result
        else:  # the Python programs (checkAddress.py, showextseries.py): json.dumps
            from jsocdesk.demo.server import json_bytes

            body = json_bytes(result)
        return await transport.send_bytes(request, body, faults, self.app.stopping)

    async def _send_stream(
        self, request: web.Request, streamed: Streamed, faults: list[Fault]
    ) -> web.StreamResponse:
        """Send a generated JSON body chunk by chunk; generation runs in a worker thread."""
        loop = asyncio.get_running_loop()
        it = iter(streamed.chunks)
        if transport.body_fault(faults) is not None or any(
            f.kind in ("latency", "http_error", "busy") for f in faults
        ):
            body = await loop.run_in_executor(None, lambda: b"".join(it))
            return await transport.send_bytes(request, body, faults, self.app.stopping)
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        while True:
            chunk = await loop.run_in_executor(None, next, it, None)
            if chunk is None:
                break
            await resp.write(chunk)
        await resp.write_eof()
        return resp

    async def materialize(self, rel: str, path: Path) -> bool:
        """Create the file behind a not-yet-written ``/SUM…`` segment path.

        Returns False when the path names no record segment.  Concurrent requests for the
        same file share one generation.
        """
        pending = self._making.get(rel)
        if pending is not None:
            return await asyncio.shield(pending)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bool] = loop.create_future()
        self._making[rel] = fut
        try:
            found = await loop.run_in_executor(None, records.record_from_path, rel)
            ok = False
            if found is not None:
                rec, fname = found
                seg = next((g for g in rec.series.segments if g.file == fname), None)
                if seg is not None:
                    size, side = self.app.config.segment_bytes, self.app.config.image_size
                    await loop.run_in_executor(None, _write_sums_file, path, rec, seg, size, side)
                    ok = True
            fut.set_result(ok)
            return ok
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved here; waiting requests re-raise it
            raise
        finally:
            self._making.pop(rel, None)

    async def close(self) -> None:
        await self.exports.close()

    # --- checkAddress.sh --------------------------------------------------------------------

    def address_status(self, address: str) -> tuple[int, str]:
        """checkAddress.py's (status, msg) for an already-decoded address (checkonly)."""
        if not address:
            return -2, "Missing required argument 'address'."
        if not EMAIL_RE.match(address):
            return -2, "Not a valid email address."
        if self.app.is_registered(address):
            return 2, "Email address is valid and registered."
        with self._lock:
            if address.lower() in self._pending_registration:
                return 3, "Email-address registration is pending. Please wait and try again later."
        return 4, "email address has been neither validated nor registered"

    async def check_address(self, request: web.Request, params: Params) -> dict[str, Any]:
        # drms quotes the address before urlencoding it: decode a second time (checkAddress.py).
        address = urllib.parse.unquote(params.get("address", "")).strip()
        status, msg = self.address_status(address)
        checkonly = params.get("checkonly", "0") not in ("", "0")
        if status == 4 and not checkonly:
            with self._lock:
                self._pending_registration.add(address.lower())
            status = 1
            msg = (
                "Your email address has not been registered for use with the JSOC export "
                "system. Starting registration process: a confirmation e-mail has been sent."
            )
        uid = None
        if status == 2:
            with self._lock:
                uid = self._user_ids.setdefault(address.lower(), 1000 + len(self._user_ids))
        return {"status": status, "msg": msg, "user_id": uid}

    # --- jsoc_fetch ---------------------------------------------------------------------------

    async def jsoc_fetch(self, request: web.Request, params: Params) -> Answer | Path:
        op = params.get("op", "")
        if op == "exp_request":
            lost = any(f.kind == "files_lost" for f in request.get(FAULTS_KEY, []))
            made = await self.exports.request(dict(params), request.remote or "", files_lost=lost)
            return Answer(made)
        if op == "exp_status":
            faults = request.get(FAULTS_KEY, [])
            status6 = any(f.kind == "status6" for f in faults)
            got = self.exports.status(params.get("requestid"), status6=status6)
            return got if isinstance(got, Path) else Answer(got)
        return Answer({"status": 4, "error": f"jsoc_fetch: unknown op '{op}'"})

    # --- show_series / showextseries -----------------------------------------------------------

    @staticmethod
    def _filter_names(pattern: str | None) -> list[series.Series]:
        """Series whose names match a case-insensitive POSIX-ish regex (``NOT `` inverts)."""
        items = list(series.catalogue().values())
        if not pattern:
            return items
        invert = pattern.startswith("NOT ")
        rx = re.compile(pattern[4:] if invert else pattern, re.IGNORECASE)
        return [s for s in items if bool(rx.search(s.name)) != invert]

    async def show_series(self, request: web.Request, params: Params) -> bytes:
        """show_series.c writes its JSON with printf(): the layout below, the note
        json_escape()d, the name not; a filter that does not compile answers
        ``{"status":1,"errmsg":Series filter format error}`` (unquoted: not valid JSON)."""
        try:
            found = self._filter_names(params.get("filter"))
        except re.error:
            return b'{"status":1,"errmsg":Series filter format error}\n'
        rows = [
            f'  {{"name":"{s.name}","primekeys":"{", ".join(s.primekeys)}","note":{quote(s.note)}}}'
            for s in found
        ]
        text = '{"status":0,\n "names":[\n' + ",\n".join(rows) + f'],\n"n":{len(rows)}}}\n'
        return text.encode("utf-8", "replace")

    async def showextseries(self, request: web.Request, params: Params) -> dict[str, Any]:
        """showextseries.py runs show_series and json.loads() its output: a bad filter
        (show_series prints no valid JSON) becomes "Unable to run command: '...'"; success
        has ``errMsg: ""``."""
        pattern = params.get("filter")
        try:
            found = self._filter_names(pattern)
        except re.error:
            dbhost = params.get("dbhost", "")
            command = f"show_series -qz JSOC_DBHOST={dbhost} {pattern}"
            return {"errMsg": f"Unable to run command: '{command}'.", "seriesList": []}
        if params.get("info", "0") not in ("", "0"):
            return {
                "errMsg": "",
                "seriesList": [{s.name: {"description": s.note}} for s in found],
            }
        return {"errMsg": "", "seriesList": [s.name for s in found]}

    # --- jsoc_info --------------------------------------------------------------------------

    async def jsoc_info(self, request: web.Request, params: Params) -> Streamed | Answer:
        """jsoc_info.c: errors (JSONDIE) and rs_list are compact, series_struct and
        rs_summary go through json_format_string()."""
        got = await self._jsoc_info(params)
        if isinstance(got, Streamed):
            return got
        obj, pretty = got
        return Answer(obj, pretty=pretty and obj.get("status") == 0)

    async def _jsoc_info(self, params: Params) -> Streamed | tuple[dict[str, Any], bool]:
        op = params.get("op", "")
        ds = params.get("ds", "")
        if op == "series_struct":
            follow = params.get("l", "0") not in ("", "0")  # jsoc_info's -l flag
            struct: dict[str, Any] = await self._in_thread(series_struct, ds, follow)
            return struct, True
        if op in ("rs_list", "rs_summary"):
            if not ds.strip():
                return {"status": 1, "error": "jsoc_info: no record-set specification (ds)"}, False
            try:
                limit = int(params.get("n", "0") or "0")
            except ValueError:
                return {"status": 1, "error": f"jsoc_info: invalid n={params.get('n')!r}"}, False
            try:
                sels = await self._in_thread(records.select, ds)
            except records.UnknownSeries:
                return {"status": 1, "error": " jsoc_info: series not found."}, False
            except records.RecordSetError as exc:
                return {"status": 1, "error": f" jsoc_info: {exc.message}"}, False
            if op == "rs_summary":
                total = await self._in_thread(lambda: sum(s.count() for s in sels))
                if limit:
                    total = min(total, abs(limit))
                return {"count": total, "runtime": 0.0, "status": 0}, True
            listed: Streamed | dict[str, Any] = await self._in_thread(
                rs_list,
                sels,
                key=params.get("key", ""),
                seg=params.get("seg", ""),
                link=params.get("link", ""),
                recinfo=params.get("R", "0") not in ("", "0"),
                limit=limit,
                segment_bytes=self.app.config.segment_bytes,
            )
            return listed if isinstance(listed, Streamed) else (listed, False)
        return {"status": 1, "error": f"jsoc_info: unknown op '{op}'"}, False

    @staticmethod
    async def _in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lambda: fn(*args, **kwargs))
