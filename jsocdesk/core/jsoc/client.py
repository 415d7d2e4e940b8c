"""The async conversation with a JSOC server over one injected :class:`httpx.AsyncClient`.

Every call is an HTTP GET (as drms does it).  Idempotent calls are retried with exponential
backoff and jitter on transport errors and HTTP 5xx; ``exp_request`` (which creates an
export) is retried only when the connection could not even be opened.  Each call has a
connect and read timeout (per attempt) and an overall deadline (all attempts).  Failures
come out typed: :class:`TransportError` (network, timeouts, HTTP errors),
:class:`ProtocolError` (not JSOC's JSON), :class:`ServerError` (JSOC said ``status != 0``,
with JSOC's own message).
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx

from jsocdesk.core.errors import JsocError, ProtocolError, TransportError
from jsocdesk.core.jsoc import protocol
from jsocdesk.core.jsoc.config import USER_AGENT, ServerConfig
from jsocdesk.core.jsoc.polite import Politeness, politeness_for_url, retry_after_seconds
from jsocdesk.core.jsoc.protocol import (
    EmailCheck,
    ExportResponse,
    QueryResult,
    SeriesEntry,
)
from jsocdesk.core.net import MAX_REDIRECTS, RedirectRefused, redact_url, redirect_guard
from jsocdesk.core.seriesinfo import SeriesInfo
from jsocdesk.core.text import clean

_SERIES_NAME_RE = re.compile(r"^\s*([\w.]+)")


@dataclass(frozen=True)
class Timeouts:
    """Seconds: ``connect`` and ``read`` per attempt, ``total`` for a call with its retries."""

    connect: float = 10.0
    read: float = 60.0
    total: float = 180.0

    def httpx_timeout(self) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect, read=self.read, write=self.read, pool=self.connect
        )


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` in total; the n-th retry waits ``min(cap, base * 2**n)`` ± ``jitter``."""

    attempts: int = 4
    base: float = 0.5
    cap: float = 8.0
    jitter: float = 0.25

    def delay(self, retry: int, rng: random.Random) -> float:
        d = min(self.cap, self.base * float(2**retry))
        return max(0.0, d * (1.0 + self.jitter * (2.0 * rng.random() - 1.0)))


@dataclass(frozen=True)
class AnswerLimits:
    """The largest answer body accepted, in bytes: ``listing`` for ``rs_list`` (a million
    rows of a dozen keywords is a few hundred MB), ``answer`` for everything else (an
    ``exp_status`` of 100,000 files is about 20 MB).  A bigger answer is refused while it
    arrives, before it fills the memory."""

    answer: int = 64 << 20
    listing: int = 2 << 30


def series_name_of(recordset: str) -> str:
    """The series of a record-set string (the first one of a comma-separated list)."""
    m = _SERIES_NAME_RE.match(recordset)
    if not m:
        raise ProtocolError(f"no series name in record set {recordset!r}")
    return m.group(1)


def make_http_client(config: ServerConfig, timeouts: Timeouts | None = None) -> httpx.AsyncClient:
    """An :class:`httpx.AsyncClient` suited to ``config`` (TLS verification, UA, timeouts,
    and the connection limit of :func:`api_limits`)."""
    t = timeouts or Timeouts()
    limits = api_limits(config)
    transport: httpx.AsyncBaseTransport | None = None
    if config.verify_tls:
        # aiohttp's C parser moves a big listing about twice as fast as httpcore/h11 (the
        # download engine's numbers in core/download/transport.py); TLS is verified there
        # with certifi, so a server without verification keeps httpx's own transport
        from jsocdesk.core.download.transport import AiohttpTransport

        transport = AiohttpTransport(
            max_connections=limits.max_connections or 1, trust_env=not config.is_loopback
        )
    return httpx.AsyncClient(
        verify=config.verify_tls,
        headers={"User-Agent": USER_AGENT},
        timeout=t.httpx_timeout(),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        event_hooks={"response": [redirect_guard(config.allowed_hosts)]},
        limits=limits,
        trust_env=not config.is_loopback,
        transport=transport,
    )


def api_limits(config: ServerConfig) -> httpx.Limits:
    """Connections for the CGI calls: one toward JSOC (what JSOC asks of its users, see
    :mod:`jsocdesk.core.jsoc.polite`), several toward loopback and custom servers."""
    n = politeness_for_url(config.jsoc_info_url).api_connections
    return httpx.Limits(max_connections=n, max_keepalive_connections=n)


class JsocClient:
    """Typed async access to the JSOC CGIs of one server.

    ``series_info`` answers are cached per lower-cased series name for ``info_ttl`` seconds;
    concurrent requests for the same series share one HTTP exchange.
    """

    def __init__(
        self,
        config: ServerConfig,
        http: httpx.AsyncClient,
        *,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        limits: AnswerLimits | None = None,
        info_ttl: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        politeness: Politeness | None = None,
    ) -> None:
        self.config = config
        self.politeness = politeness or politeness_for_url(config.jsoc_info_url)
        self.http = http
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        self.limits = limits or AnswerLimits()
        self.info_ttl = info_ttl
        self._clock = clock
        self._rng = rng or random.Random()
        self._info_cache: dict[str, tuple[float, SeriesInfo]] = {}
        self._info_inflight: dict[str, asyncio.Task[SeriesInfo]] = {}
        self.requests_sent = 0

    def __repr__(self) -> str:
        return f"<JsocClient {self.config.name} {_short(self.config.jsoc_info_url)}>"

    # --- transport -------------------------------------------------------------------------

    async def _get(
        self,
        url: str | None,
        params: Sequence[tuple[str, str]],
        *,
        idempotent: bool = True,
        limit: int | None = None,
    ) -> bytes:
        if url is None:
            raise JsocError(f"server {self.config.name} does not offer this operation")
        _check_params(params)
        try:
            async with asyncio.timeout(self.timeouts.total):
                return await self._get_with_retries(
                    url, params, idempotent, self.limits.answer if limit is None else limit
                )
        except TimeoutError:
            raise TransportError(
                f"{_short(url)}: no complete answer within {self.timeouts.total:g} s"
            ) from None

    async def _get_with_retries(
        self, url: str, params: Sequence[tuple[str, str]], idempotent: bool, limit: int
    ) -> bytes:
        attempt = 0
        started = self._clock()
        while True:
            try:
                return await self._get_once(url, params, limit)
            except _Retryable as exc:
                attempt += 1
                safe = idempotent or exc.before_send
                if not safe:
                    raise TransportError(f"{exc}; {_UNSURE}") from exc.__cause__
                if attempt >= self.retry.attempts:
                    raise TransportError(str(exc)) from exc.__cause__
                delay = self.retry.delay(attempt - 1, self._rng)
                if isinstance(exc, _Busy):
                    delay = self._busy_delay(exc, delay, self._clock() - started)
                await asyncio.sleep(delay)

    def _busy_delay(self, exc: _Busy, backoff: float, spent: float) -> float:
        """How long to wait after HTTP 429/503: the backoff, or the server's
        ``Retry-After`` when longer; a wait beyond :attr:`Politeness.retry_after_cap` or
        beyond the call's deadline fails the call now, saying how long the server asked."""
        if exc.retry_after is None:
            return backoff
        asked = exc.retry_after
        left = self.timeouts.total - spent
        if asked > self.politeness.retry_after_cap or asked >= left:
            raise TransportError(
                f"{exc}: the server asks to retry in {asked:.0f} s; "
                "try again later (nothing was sent to it meanwhile)"
            ) from None
        return max(backoff, asked)

    async def _get_once(
        self, url: str, params: Sequence[tuple[str, str]], limit: int = 64 << 20
    ) -> bytes:
        self.requests_sent += 1
        try:
            async with self.http.stream(
                "GET", url, params=list(params), timeout=self.timeouts.httpx_timeout()
            ) as response:
                if response.status_code in self.politeness.busy_statuses:
                    raise _busy(url, response)
                if response.status_code >= 500:
                    raise _Retryable(f"{_short(url)}: HTTP {response.status_code}", False)
                if response.status_code >= 400:
                    raise TransportError(f"{_short(url)}: HTTP {response.status_code}")
                return await _read_bounded(response, url, limit)
        except RedirectRefused as exc:
            raise TransportError(str(exc)) from None
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise _Retryable(f"{_short(url)}: cannot connect ({_reason(exc)})", True) from exc
        except httpx.TimeoutException as exc:
            raise _Retryable(f"{_short(url)}: timed out ({_reason(exc)})", False) from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise _Retryable(f"{_short(url)}: {_reason(exc)}", False) from exc

    async def _get_json(self, url: str | None, params: Sequence[tuple[str, str]], what: str) -> Any:
        body = await self._get(url, params)
        return protocol.loads(body, what)

    # --- series ----------------------------------------------------------------------------

    async def series(self, regex: str | None = None) -> list[SeriesEntry]:
        """Series names (with descriptions) matching ``regex`` (case-insensitive, unanchored)."""
        if self.config.show_series_wrapper_url is not None:
            params = (
                [("dbhost", self.config.wrapper_dbhost or "")] if self.config.wrapper_dbhost else []
            )
            if regex:
                params.append(("filter", regex))
            params.append(("info", "1"))
            d = await self._get_json(self.config.show_series_wrapper_url, params, "showextseries")
        else:
            params = [("filter", regex)] if regex else []
            body = await self._get(self.config.show_series_url, params)
            d = protocol.loads_series_list(body)
        return protocol.parse_series_list(d)

    async def series_info(self, name: str, *, follow_links: bool = False) -> SeriesInfo:
        """``series_struct`` of ``name`` (cached).  ``follow_links``: ask with jsoc_info's
        ``l=1`` flag, so that linked segments (``"protocol": "link via lev1"``, dims null)
        are described by the segment they link to (type, protocol, dims of the target)."""
        key = name.strip().lower() + ("\0l" if follow_links else "")
        cached = self._info_cache.get(key)
        now = self._clock()
        if cached is not None and now - cached[0] < self.info_ttl:
            return cached[1]
        task = self._info_inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._fetch_series_info(name.strip(), key, follow_links))
            self._info_inflight[key] = task
            task.add_done_callback(self._forget_inflight)
        return await asyncio.shield(task)

    def _forget_inflight(self, task: asyncio.Task[SeriesInfo]) -> None:
        for key, t in list(self._info_inflight.items()):
            if t is task:
                del self._info_inflight[key]

    async def _fetch_series_info(self, name: str, key: str, follow_links: bool) -> SeriesInfo:
        params = [("op", "series_struct"), ("ds", name)]
        if follow_links:
            params.append(("l", "1"))
        d = await self._get_json(self.config.jsoc_info_url, params, "series_struct")
        info = protocol.parse_series_info(name, d)
        self._info_cache[key] = (self._clock(), info)
        return info

    def forget_series_info(self) -> None:
        self._info_cache.clear()

    # --- records ---------------------------------------------------------------------------

    async def count(self, recordset: str) -> int:
        d = await self._get_json(
            self.config.jsoc_info_url, [("op", "rs_summary"), ("ds", recordset)], "rs_summary"
        )
        return protocol.parse_count(d)

    async def query(
        self,
        recordset: str,
        keys: Iterable[str] = (),
        segments: Iterable[str] = (),
        links: Iterable[str] = (),
        *,
        limit: int | None = None,
        offset: int = 0,
        recinfo: bool = False,
        series: SeriesInfo | None = None,
    ) -> QueryResult:
        """``rs_list``: the requested columns of the records of ``recordset``.

        ``limit`` > 0 returns the first ``limit`` records, < 0 the last ones (JSOC's ``n=``).
        ``offset`` skips that many records first; JSOC has no offset, so this asks for the
        first ``offset + limit`` records and keeps the tail (cost grows with ``offset``; a
        :class:`~jsocdesk.core.results.resultset.ResultSet` pages by record ranges instead).
        Keyword columns are typed from ``series`` (fetched with :meth:`series_info` when not
        given).
        """
        keys, segments, links = _names(keys), _names(segments), _names(links)
        if not (keys or segments or links):
            raise ValueError("at least one key, segment or link must be requested")
        if offset < 0 or (offset and (limit is None or limit <= 0)):
            raise ValueError("offset needs a positive limit (and must not be negative)")
        if offset:
            whole = await self.query(
                recordset,
                keys,
                segments,
                links,
                limit=offset + (limit or 0),
                recinfo=recinfo,
                series=series,
            )
            return whole.tail(offset)
        if series is None and keys:
            series = await self.series_info(series_name_of(recordset))
        params = [("op", "rs_list"), ("ds", recordset)]
        if keys:
            params.append(("key", ",".join(keys)))
        if segments:
            params.append(("seg", ",".join(segments)))
        if links:
            params.append(("link", ",".join(links)))
        if recinfo:
            params.append(("R", "1"))
        if limit:
            params.append(("n", str(int(limit))))
        body = await self._get(self.config.jsoc_info_url, params, limit=self.limits.listing)
        return (
            await asyncio.to_thread(protocol.parse_rs_list, body, series)
            if len(body) > _THREAD_PARSE_BYTES
            else protocol.parse_rs_list(body, series)
        )

    # --- e-mail and exports ----------------------------------------------------------------

    async def check_email(self, address: str) -> EmailCheck:
        # WORKAROUND(jsoc-protocol.md §2.6): checkAddress.sh decodes the address twice, so
        # drms quote_plus()es it before urlencoding; we do the same.
        _check_params([("address", address)])  # before quote_plus encodes it
        d = await self._get_json(
            self.config.check_address_url,
            [("address", quote_plus(address)), ("checkonly", "1")],
            "checkAddress",
        )
        return protocol.parse_email_check(d)

    async def submit_export(
        self,
        recordset: str,
        email: str,
        *,
        method: str = "url",
        protocol_name: str = "fits",
        filenamefmt: str | None = None,
        process: str | None = None,
        requestor: str | None = None,
    ) -> ExportResponse:
        """``jsoc_fetch?op=exp_request``; a failure status comes back in the response.

        Sent in the forms ``jsoc_fetch.c`` reads (its module arguments and the ``SetWebArg``
        list): ``requestor`` (drms sends ``requester``, which the server ignores) and
        ``process`` with the standard processing column ``n=<limit>|<step>…`` (``n=0|no_op``
        for none: what jsoc_fetch.c itself writes into ``jsoc.export_new``), see
        :func:`process_value`.
        """
        params = [
            ("op", "exp_request"),
            ("format", "json"),
            ("ds", recordset),
            ("notify", email),
            ("method", method.lower()),
            ("protocol", protocol_name),
        ]
        if filenamefmt:
            params.append(("filenamefmt", filenamefmt))
        params.append(("process", process_value(process)))
        params.append(("requestor", requestor if requestor is not None else email.split("@")[0]))
        body = await self._get(self.config.jsoc_fetch_url, params, idempotent=False)
        return protocol.parse_export_response(
            protocol.loads(body, "exp_request"), self.config.download_base_url
        )

    async def export_status(self, requestid: str) -> ExportResponse:
        d = await self._get_json(
            self.config.jsoc_fetch_url,
            [("op", "exp_status"), ("requestid", requestid)],
            "exp_status",
        )
        return protocol.parse_export_response(d, self.config.download_base_url)


_LIMIT_FIRST = re.compile(r"^-?\d+(\|.*)?$")


def process_value(process: str | None) -> str:
    """The ``process`` argument as jsoc_fetch.c reads it: ``n=<limit>|<step>,<k>=<v>…``.

    ``None``/``""`` → ``n=0|no_op``; drms's ``0|im_patch,…`` → ``n=0|im_patch,…``; steps
    alone (``im_patch,t=0``) → ``n=0|im_patch,t=0``; a value that already starts with
    ``n=`` is sent as it is.
    """
    text = (process or "").strip()
    if not text:
        return "n=0|no_op"
    if text.startswith("n="):
        return text
    if _LIMIT_FIRST.match(text):
        limit, _, steps = text.partition("|")
        return f"n={limit}|{steps or 'no_op'}"
    return f"n=0|{text}"


#: Bodies bigger than this are parsed in a worker thread so the event loop stays responsive.
_THREAD_PARSE_BYTES = 1 << 20

#: what the user is told when a request that creates something may or may not have arrived
_UNSURE = (
    "the server may or may not have received the export request; running the same "
    "command again is safe (JSOC keeps one pending export per address)"
)


def _check_params(params: Sequence[tuple[str, str]]) -> None:
    """Refuse what cannot be sent: text with lone surrogates (from a session file written
    by anything) is not UTF-8 and would fail deep inside the HTTP library."""
    for name, value in params:
        bad = _SURROGATE.search(value)
        if bad is not None:
            raise JsocError(
                f"cannot send {name}={clean(value, limit=60)!r}: it contains an invalid "
                f"character (U+{ord(bad.group()):04X}) at position {bad.start() + 1}"
            )


_SURROGATE = re.compile("[\ud800-\udfff]")


class AnswerTooLarge(ProtocolError):
    """The server's answer is bigger than :class:`AnswerLimits` allows."""


async def _read_bounded(response: httpx.Response, url: str, limit: int) -> bytes:
    """The body of ``response``, refused (:class:`AnswerTooLarge`) past ``limit`` bytes.

    ``Content-Length`` is checked first; the count of the bytes that arrive is checked
    too (a chunked or lying answer), so at most ``limit`` plus one chunk is ever held.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared[:20]) > limit:
        raise AnswerTooLarge(
            f"{_short(url)}: the answer is {int(declared[:20]):,} bytes, more than the "
            f"{limit:,} accepted"
        )
    # One growing buffer instead of a list of chunks joined at the end: a big listing then
    # needs its size once, not twice, at the peak.
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > limit:
            raise AnswerTooLarge(
                f"{_short(url)}: the answer grew past the {limit:,} bytes accepted; stopped"
            )
    return body  # type: ignore[return-value]  # bytearray is read like bytes


class _Retryable(Exception):
    def __init__(self, message: str, before_send: bool) -> None:
        super().__init__(message)
        self.before_send = before_send


class _Busy(_Retryable):
    """HTTP 429/503: the server turned the request away (it did not run it), so even
    ``exp_request`` may be sent again, after ``retry_after`` seconds when the server says."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message, True)
        self.retry_after = retry_after


def _busy(url: str, response: httpx.Response) -> _Busy:
    after = retry_after_seconds(response.headers.get("Retry-After"))
    reason = "too many requests" if response.status_code == 429 else "busy"
    return _Busy(f"{_short(url)}: HTTP {response.status_code} ({reason})", after)


def _names(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        out.extend(p for p in re.split(r"[\s,]+", item) if p)
    return out


def _short(url: str) -> str:
    """``url`` as shown in messages: no query, no credentials."""
    return redact_url(url)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__
