"""An httpx transport that moves the bytes with aiohttp.

The engine speaks httpx (one shared ``httpx.AsyncClient``, httpx's exceptions and
responses), but httpx's own transport (httpcore + h11 over anyio, 64 KiB reads) costs much
more CPU per byte than aiohttp's C-accelerated parser, and CPU per byte is loop time taken
from Qt.  Same run, same demo server, 4 × 256 MiB over loopback (``bench_download``,
``bench_loop_latency``): the engine moved 925 MB/s over this transport and 521 MB/s over
httpx's own, and the worst loop stall during the transfers was 4-35 ms against 11-212 ms.
So the engine uses this transport by default; ``EngineOptions(transport="httpx")`` switches
back, and the engine's tests run under both.

Only what the engine needs is mapped: streaming GETs without redirects (httpx follows them),
raw bytes (no decompression: the engine asks for ``identity``), httpx timeouts
(``connect``/``read``; a read timeout is aiohttp's ``sock_read``: no byte for that long) and
aiohttp's errors turned into the httpx errors they correspond to.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import certifi
import httpx

#: bytes handed to httpx per chunk (aiohttp buffers up to this much per connection)
CHUNK = 256 * 1024


def _httpx_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error that means what the aiohttp/asyncio error means."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(str(exc) or "connect timeout", request=request)
    if isinstance(exc, aiohttp.SocketTimeoutError | TimeoutError):
        return httpx.ReadTimeout(str(exc) or "read timeout", request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(exc), request=request)
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(str(exc) or type(exc).__name__, request=request)
    return httpx.ReadError(str(exc) or type(exc).__name__, request=request)


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(CHUNK):
                yield chunk
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _httpx_error(exc, self._request) from exc

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx requests sent by one ``aiohttp.ClientSession`` (created on first use, on the
    running loop)."""

    def __init__(self, *, max_connections: int = 10, trust_env: bool = True) -> None:
        self._max_connections = max_connections
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None
        # the same CA bundle as httpx (certifi), also inside frozen app bundles; built here
        # because the engine constructs its client on a worker thread (loading CAs is slow)
        self._ssl = ssl.create_default_context(cafile=certifi.where())

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, ssl=self._ssl),
                auto_decompress=False,
                trust_env=self._trust_env,  # HTTP(S)_PROXY / NO_PROXY, like httpx
                read_bufsize=CHUNK,
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._open()
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "host"]
        # httpx has turned a URL's user:password into an Authorization header already;
        # aiohttp refuses a request that carries both
        url = (
            request.url.copy_with(username=None, password=None)
            if request.url.userinfo
            else request.url
        )
        try:
            response = await session.request(
                request.method,
                str(url),
                headers=headers,
                data=request.content if request.method not in ("GET", "HEAD") else None,
                allow_redirects=False,
                timeout=timeout,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _httpx_error(exc, request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            extensions={"reason_phrase": (response.reason or "").encode("latin-1", "replace")},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
