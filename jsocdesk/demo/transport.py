"""Sending response bodies, honestly or with the faults of :mod:`jsocdesk.demo.faults`.

Without body faults, files go through :class:`aiohttp.web.FileResponse` (sendfile, HEAD,
single ``Range``) and bytes through :class:`aiohttp.web.Response`.  With a body fault the
bytes are written by hand so they can be cut, stalled or followed by a TCP reset; ``Range``
is still honoured so resume logic can be tested against a faulty server.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from jsocdesk.demo.faults import BODY_KINDS, Fault

CHUNK = 256 * 1024


async def apply_pre_faults(faults: list[Fault], stopping: asyncio.Event) -> web.Response | None:
    """Latency and HTTP-error faults; returns the error response if one fired."""
    for f in faults:
        if f.kind == "latency" and f.value > 0:
            await _sleep_or_stop(f.value, stopping)
    for f in faults:
        if f.kind == "http_error":
            code = int(f.value)
            return web.Response(status=code, text=f"demo fault: HTTP {code}\n")
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
    if fault is None:
        headers = {"Content-Type": content_type} if content_type else None
        return web.FileResponse(path, headers=headers)
    size = await asyncio.get_running_loop().run_in_executor(None, lambda: path.stat().st_size)
    try:
        rng = request.http_range
    except ValueError:
        return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
    start, stop = 0, size
    partial = False
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
        request, 206 if partial else 200, headers, stop - start, chunks(), fault, stopping
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
) -> web.StreamResponse:
    resp = web.StreamResponse(status=status, headers=headers)
    advertised = length
    if fault.kind == "wrong_length":
        advertised = max(0, length + int(fault.value))
    resp.content_length = advertised
    resp.force_close()
    await resp.prepare(request)
    if request.method == "HEAD":
        return resp
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
                await _sleep_or_stop(fault.value, stopping)
                if stopping.is_set():
                    _abort(request, rst=True)
                    return resp
                cut = None
                rest = data[len(head) :]
                if rest:
                    await resp.write(rest)
                    sent += len(rest)
                continue
            await _drain(request)
            _abort(request, rst=fault.kind == "reset")
            return resp
        await resp.write(data)
        sent += len(data)
    if fault.kind == "wrong_length":
        await _drain(request)
        _abort(request, rst=False)
        return resp
    await resp.write_eof()
    return resp


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
