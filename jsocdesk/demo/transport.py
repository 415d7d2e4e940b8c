"""Sending response bodies, honestly or with the faults of :mod:`jsocdesk.demo.faults`.

Without body faults, files go through :class:`aiohttp.web.FileResponse` (sendfile, HEAD,
single ``Range``) and bytes through :class:`aiohttp.web.Response`.  With a body fault the
bytes are written by hand so they can be cut, stalled or followed by a TCP reset; ``Range``
is still honoured so resume logic can be tested against a faulty server.

Files carry the same validators on both paths (aiohttp's ``ETag`` ``"<mtime_ns>-<size>"``
in hex and ``Last-Modified``), and ``If-Range`` is understood with either: a validator that
does not match the file (a strong ETag compared exactly, a date not after the file's
modification time) turns a range request into a ``200`` with the whole body.  A client
that disconnects during a stall or mid-body ends the response quietly.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from multidict import CIMultiDict

from jsocdesk.demo.faults import BODY_KINDS, Fault

CHUNK = 256 * 1024
#: How often a stalled response looks whether its client is still connected (seconds).
_CLIENT_POLL = 0.05


async def apply_pre_faults(faults: list[Fault], stopping: asyncio.Event) -> web.Response | None:
    """Latency and HTTP-error faults; returns the error response if one fired."""
    for f in faults:
        if f.kind == "latency" and f.value > 0:
            await _sleep_or_stop(f.value, stopping)
    for f in faults:
        if f.kind == "http_error":
            code = int(f.value)
            return web.Response(status=code, text=f"demo fault: HTTP {code}\n")
        if f.kind == "busy":
            code = int(f.value) or 429
            return web.Response(
                status=code, text=f"demo fault: busy ({code})\n", headers={"Retry-After": str(f.at)}
            )
    return None


def body_fault(faults: list[Fault]) -> Fault | None:
    for f in faults:
        if f.kind in BODY_KINDS:
            return f
    return None


async def _sleep_or_stop(seconds: float, stopping: asyncio.Event) -> None:
    timeout = None if math.isinf(seconds) else seconds
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), timeout)


def file_etag(st: os.stat_result) -> str:
    """The quoted ETag aiohttp's :class:`~aiohttp.web.FileResponse` gives this file."""
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


def if_range_matches(request: web.BaseRequest, st: os.stat_result) -> bool:
    """Whether the request's ``Range`` applies: no ``If-Range``, or one naming this file.

    An entity tag must equal the file's (strong comparison: a weak tag never matches);
    a date must not be before the file's modification time (aiohttp's own rule).  An
    unreadable date is ignored, as aiohttp does.
    """
    value = request.headers.get(hdrs.IF_RANGE)
    if value is None:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        return value == file_etag(st)
    date = request.if_range
    return date is None or st.st_mtime <= date.timestamp()


class _WholeFileResponse(web.FileResponse):
    """A :class:`~aiohttp.web.FileResponse` that ignores the request's ``Range`` (its
    ``If-Range`` named another version of the file)."""

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        headers = CIMultiDict(request.headers)
        headers.popall(hdrs.RANGE, None)
        headers.popall(hdrs.IF_RANGE, None)
        return await super().prepare(request.clone(headers=headers))


async def send_file(
    request: web.Request,
    path: Path,
    faults: list[Fault],
    stopping: asyncio.Event,
    *,
    content_type: str | None = None,
) -> web.StreamResponse:
    pre = await apply_pre_faults(faults, stopping)
    if pre is not None:
        return pre
    fault = body_fault(faults)
    if fault is None and hdrs.IF_RANGE not in request.headers:
        headers = {"Content-Type": content_type} if content_type else None
        return web.FileResponse(path, headers=headers)
    st = await asyncio.get_running_loop().run_in_executor(None, path.stat)
    ranged = if_range_matches(request, st)
    if fault is None:
        headers = {"Content-Type": content_type} if content_type else None
        if ranged:
            return web.FileResponse(path, headers=headers)
        return _WholeFileResponse(path, headers=headers)
    size = st.st_size
    start, stop = 0, size
    partial = False
    if ranged:
        try:
            rng = request.http_range
        except ValueError:
            return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        if rng.start is not None or rng.stop is not None:
            if rng.start is None:  # suffix range "-N"
                start, stop = max(0, size + int(rng.stop or 0)), size
            else:
                start = rng.start
                stop = size if rng.stop is None else min(rng.stop, size)
            if start >= size or start >= stop:
                return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
            partial = True
    headers = {
        "Content-Type": content_type or "application/octet-stream",
        "Accept-Ranges": "bytes",
        "ETag": file_etag(st),
    }
    if partial:
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"

    async def chunks() -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        with path.open("rb") as fh:
            fh.seek(start)
            left = stop - start
            while left > 0:
                data = await loop.run_in_executor(None, fh.read, min(CHUNK, left))
                if not data:
                    return
                left -= len(data)
                yield data

    return await _send_faulty(
        request,
        206 if partial else 200,
        headers,
        stop - start,
        chunks(),
        fault,
        stopping,
        last_modified=st.st_mtime,
    )


async def send_bytes(
    request: web.Request,
    body: bytes,
    faults: list[Fault],
    stopping: asyncio.Event,
    *,
    content_type: str = "application/json",
    status: int = 200,
) -> web.StreamResponse:
    pre = await apply_pre_faults(faults, stopping)
    if pre is not None:
        return pre
    fault = body_fault(faults)
    if fault is None:
        return web.Response(status=status, body=body, content_type=content_type)

    async def one() -> AsyncIterator[bytes]:
        yield body

    headers = {"Content-Type": content_type}
    return await _send_faulty(request, status, headers, len(body), one(), fault, stopping)


async def _send_faulty(
    request: web.Request,
    status: int,
    headers: dict[str, str],
    length: int,
    chunks: AsyncIterator[bytes],
    fault: Fault,
    stopping: asyncio.Event,
    *,
    last_modified: float | None = None,
) -> web.StreamResponse:
    resp = web.StreamResponse(status=status, headers=headers)
    if last_modified is not None:
        resp.last_modified = last_modified  # formatted as aiohttp's FileResponse does
    advertised = length
    if fault.kind == "wrong_length":
        advertised = max(0, length + int(fault.value))
    resp.content_length = advertised
    resp.force_close()
    await resp.prepare(request)
    if request.method == "HEAD":
        return resp
    # A client that went away makes aiohttp raise "Cannot write to closing transport".
    with contextlib.suppress(ConnectionResetError):
        await _write_faulty(request, resp, chunks, fault, stopping)
    return resp


async def _write_faulty(
    request: web.Request,
    resp: web.StreamResponse,
    chunks: AsyncIterator[bytes],
    fault: Fault,
    stopping: asyncio.Event,
) -> None:
    cut = fault.at if fault.kind in ("reset", "truncate", "stall") else None
    sent = 0
    async for data in chunks:
        if cut is not None and sent + len(data) >= cut:
            head = data[: cut - sent]
            if head:
                await resp.write(head)
                sent += len(head)
            if fault.kind == "stall":
                await _drain(request)
                await _stall(request, fault.value, stopping)
                if stopping.is_set() or _client_gone(request):
                    _abort(request, rst=True)
                    return
                cut = None
                rest = data[len(head) :]
                if rest:
                    await resp.write(rest)
                    sent += len(rest)
                continue
            await _drain(request)
            _abort(request, rst=fault.kind == "reset")
            return
        await resp.write(data)
        sent += len(data)
    if fault.kind == "wrong_length":
        await _drain(request)
        _abort(request, rst=False)
        return
    await resp.write_eof()


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _stall(request: web.Request, seconds: float, stopping: asyncio.Event) -> None:
    """Wait ``seconds`` (``inf``: for ever), until the server stops or the client leaves."""
    loop = asyncio.get_running_loop()
    deadline = None if math.isinf(seconds) else loop.time() + seconds
    while not stopping.is_set() and not _client_gone(request):
        step = _CLIENT_POLL if deadline is None else min(_CLIENT_POLL, deadline - loop.time())
        if step <= 0:
            return
        await _sleep_or_stop(step, stopping)


async def _drain(request: web.Request) -> None:
    """Give the kernel a moment to put buffered bytes on the wire before we cut."""
    transport = request.transport
    for _ in range(50):
        if transport is None or transport.get_write_buffer_size() == 0:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.02)


def _abort(request: web.Request, *, rst: bool) -> None:
    transport = request.transport
    if transport is None:
        return
    if rst:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()
