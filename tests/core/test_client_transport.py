"""JsocClient transport against the demo server: retries, timeouts, faults, bad JSON."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

import pytest

from jsocdesk.core.errors import JsocError, ProtocolError, TransportError
from jsocdesk.core.jsoc.client import JsocClient, RetryPolicy, Timeouts, make_http_client
from jsocdesk.core.jsoc.config import ServerConfig
from jsocdesk.demo.faults import Fault
from jsocdesk.demo.server import DemoServer

T = TypeVar("T")

FAST_RETRY = RetryPolicy(attempts=3, base=0.01, cap=0.05, jitter=0.5)


def with_client(
    server: DemoServer,
    body: Callable[[JsocClient], Awaitable[T]],
    *,
    timeouts: Timeouts | None = None,
    retry: RetryPolicy = FAST_RETRY,
    config: ServerConfig | None = None,
) -> T:
    cfg = config or ServerConfig.for_base_url(server.base_url)

    async def main() -> T:
        async with make_http_client(cfg, timeouts) as http:
            client = JsocClient(cfg, http, timeouts=timeouts, retry=retry, rng=random.Random(5))
            return await body(client)

    return asyncio.run(main())


def test_check_email_statuses(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> list[Any]:
        return [
            await c.check_email("demo@example.com"),
            await c.check_email("notregistered@example.com"),
            await c.check_email("not-valid"),
            await c.check_email(""),
        ]

    good, unknown, invalid, empty = with_client(demo_server, body)
    assert good.registered
    assert good.status == 2
    assert (unknown.status, unknown.registered) == (4, False)
    assert (invalid.status, empty.status) == (-2, -2)


def test_http_5xx_is_retried_then_succeeds(demo_server: DemoServer) -> None:
    demo_server.faults.add(Fault("http_error", route="checkAddress.sh", value=503, times=2))

    async def body(c: JsocClient) -> tuple[bool, int]:
        check = await c.check_email("demo@example.com")
        return check.registered, c.requests_sent

    assert with_client(demo_server, body) == (True, 3)


def test_http_5xx_beyond_the_budget_is_a_transport_error(demo_server: DemoServer) -> None:
    demo_server.faults.add(Fault("http_error", route="checkAddress.sh", value=500))

    async def body(c: JsocClient) -> int:
        with pytest.raises(TransportError, match="HTTP 500"):
            await c.check_email("demo@example.com")
        return c.requests_sent

    assert with_client(demo_server, body) == FAST_RETRY.attempts


def test_http_4xx_is_not_retried(demo_server: DemoServer) -> None:
    demo_server.faults.add(Fault("http_error", route="checkAddress.sh", value=404))

    async def body(c: JsocClient) -> int:
        with pytest.raises(TransportError, match="HTTP 404"):
            await c.check_email("demo@example.com")
        return c.requests_sent

    assert with_client(demo_server, body) == 1


@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_broken_bodies_are_retried(demo_server: DemoServer, kind: str) -> None:
    demo_server.faults.add(Fault(kind, route="checkAddress.sh", at=5, times=1))  # type: ignore[arg-type]

    async def body(c: JsocClient) -> tuple[bool, int]:
        check = await c.check_email("demo@example.com")
        return check.registered, c.requests_sent

    assert with_client(demo_server, body) == (True, 2)


def test_read_timeout_then_retry(demo_server: DemoServer) -> None:
    demo_server.faults.add(Fault("latency", route="checkAddress.sh", value=2.0, times=1))

    async def body(c: JsocClient) -> tuple[bool, int]:
        check = await c.check_email("demo@example.com")
        return check.registered, c.requests_sent

    fast = Timeouts(connect=2.0, read=0.3, total=10.0)
    assert with_client(demo_server, body, timeouts=fast) == (True, 2)


def test_overall_deadline_covers_all_attempts(demo_server: DemoServer) -> None:
    demo_server.faults.add(Fault("stall", route="checkAddress.sh", value=float("inf"), at=1))

    async def body(c: JsocClient) -> None:
        with pytest.raises(TransportError, match=r"within 0\.5 s"):
            await c.check_email("demo@example.com")

    with_client(
        demo_server,
        body,
        timeouts=Timeouts(connect=1.0, read=5.0, total=0.5),
        retry=RetryPolicy(attempts=10, base=0.01, cap=0.01),
    )


def test_connection_refused_is_a_transport_error(demo_server: DemoServer) -> None:
    cfg = ServerConfig.for_base_url("http://127.0.0.1:9/")

    async def body(c: JsocClient) -> int:
        with pytest.raises(TransportError, match="cannot connect"):
            await c.check_email("demo@example.com")
        return c.requests_sent

    assert with_client(demo_server, body, config=cfg) == FAST_RETRY.attempts


def test_cut_json_is_a_protocol_error(demo_server: DemoServer) -> None:
    # advertise (and send) 10 bytes less than the JSON document: a clean but cut body
    demo_server.faults.add(Fault("wrong_length", route="checkAddress.sh", value=-10))

    async def body(c: JsocClient) -> None:
        with pytest.raises(ProtocolError, match="malformed JSON"):
            await c.check_email("demo@example.com")

    with_client(demo_server, body)


def test_non_json_page_is_a_protocol_error(demo_server: DemoServer) -> None:
    cfg = ServerConfig.for_base_url(demo_server.base_url)
    cfg = replace(cfg, check_address_url=demo_server.base_url)  # the plain-text root page

    async def body(c: JsocClient) -> None:
        with pytest.raises(ProtocolError):
            await c.check_email("demo@example.com")

    with_client(demo_server, body, config=cfg)


def test_missing_cgi_is_reported(demo_server: DemoServer) -> None:
    cfg = replace(ServerConfig.for_base_url(demo_server.base_url), check_address_url=None)

    async def body(c: JsocClient) -> None:
        with pytest.raises(JsocError, match="does not offer"):
            await c.check_email("demo@example.com")

    with_client(demo_server, body, config=cfg)


def test_backoff_delays_grow_and_are_capped() -> None:
    p = RetryPolicy(attempts=6, base=0.5, cap=4.0, jitter=0.0)
    rng = random.Random(0)
    assert [p.delay(i, rng) for i in range(5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    jittered = RetryPolicy(base=1.0, cap=8.0, jitter=0.25)
    for _ in range(50):
        assert 0.75 <= jittered.delay(0, rng) <= 1.25
