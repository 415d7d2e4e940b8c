"""ResultSet against the demo server: totals, paging, events, cancellation, fallbacks."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from jsocdesk.core.jsoc.client import JsocClient
from jsocdesk.core.results.resultset import ResultSet, with_recnum_floor
from jsocdesk.demo.faults import Fault
from jsocdesk.demo.server import DemoServer
from tests.core.test_client_transport import with_client

V45_HOUR = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"
KEYS = ["T_REC", "QUALITY", "CRLT_OBS"]


def test_recnum_floor_clause() -> None:
    assert with_recnum_floor("hmi.v_45s[2014.01.01_TAI/1h]", 7) == (
        "hmi.v_45s[2014.01.01_TAI/1h][? recnum > 7 ?]"
    )
    assert with_recnum_floor("hmi.v_45s[2014.01.01_TAI/1h]{Dopplergram}", 7) == (
        "hmi.v_45s[2014.01.01_TAI/1h][? recnum > 7 ?]{Dopplergram}"
    )
    assert with_recnum_floor("hmi.v_45s[x][? QUALITY=0 ?]", 7) is None
    assert with_recnum_floor("hmi.v_45s[a],hmi.v_45s[b]", 7) is None
    assert with_recnum_floor("hmi.v_45s[a,b]", 7) == "hmi.v_45s[a,b][? recnum > 7 ?]"


def _pages(demo_server: DemoServer, recordset: str, page: int) -> tuple[Any, list[Any], Any]:
    events: list[tuple[str, int, int]] = []

    async def body(c: JsocClient) -> tuple[ResultSet, Any]:
        rs = ResultSet(c, recordset, KEYS, page_size=page)
        rs.rows_inserting.connect(lambda s, n: events.append(("inserting", s, n)))
        rs.rows_inserted.connect(lambda s, n: events.append(("inserted", s, n)))
        await rs.fetch_all()
        whole = await c.query(recordset, KEYS)
        return rs, whole

    rs, whole = with_client(demo_server, body)
    return rs, events, whole


def test_pages_add_up_to_the_whole_listing(demo_server: DemoServer) -> None:
    rs, events, whole = _pages(demo_server, V45_HOUR, 10)
    assert rs.total == 81
    assert rs.loaded == 81
    assert rs.at_end
    assert not rs.can_fetch_more
    for name in KEYS:
        assert np.array_equal(rs.column(name).values, whole.keywords[name].values)
    assert [rs.text(i, "T_REC") for i in (0, 80)] == [
        "2014.01.01_00:00:45_TAI",
        "2014.01.01_01:00:45_TAI",
    ]
    starts = [(s, n) for kind, s, n in events if kind == "inserted"]
    assert starts[0] == (0, 10)
    assert sum(n for _, n in starts) == 81
    assert events[0][0] == "inserting"
    assert rs.nbytes > 0


def test_where_clause_falls_back_to_the_last_records(demo_server: DemoServer) -> None:
    rs_text = V45_HOUR + "[? QUALITY >= 0 ?]"
    rs, events, whole = _pages(demo_server, rs_text, 30)
    assert rs.loaded == rs.total == len(whole)
    assert [n for kind, _, n in events if kind == "inserted"] == [30, rs.total - 30]
    assert np.array_equal(rs.column("T_REC").values, whole.keywords["T_REC"].values)


def test_or_sets_are_paged_exactly(demo_server: DemoServer) -> None:
    two = V45_HOUR + ",hmi.v_45s[2014.01.02_00:00:35_TAI-2014.01.02_01:00:35_TAI]"
    rs, _, whole = _pages(demo_server, two, 50)
    assert rs.total == 162
    assert np.array_equal(rs.column("T_REC").values, whole.keywords["T_REC"].values)


def test_row_access_and_errors(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> tuple[ResultSet, int]:
        rs = ResultSet(c, V45_HOUR, KEYS, page_size=20)
        assert await rs.fetch_next() == 20
        before = c.requests_sent
        assert await rs.fetch_next(15) == 15
        assert await rs.fetch_next(5) == 5
        pages = c.requests_sent - before
        whole = await c.query(V45_HOUR, ["T_REC"])
        assert np.array_equal(rs.column("T_REC").values, whole.keywords["T_REC"].values[:40])
        return rs, pages

    rs, pages = with_client(demo_server, body)
    assert pages == 2  # one record-range request per page
    assert len(rs) == 40
    assert rs.row_texts(24)[0] == rs.text(24, "T_REC")
    assert isinstance(rs.value(3, "QUALITY"), int)
    with pytest.raises(IndexError):
        rs.value(40, "T_REC")
    with pytest.raises(KeyError):
        rs.column("NOPE")
    with pytest.raises(ValueError, match="at least one"):
        ResultSet(None, V45_HOUR, [])  # type: ignore[arg-type]


def test_window_pages_without_record_ranges(demo_server: DemoServer) -> None:
    """A record set with its own where-clause cannot take the recnum clause: n= windows."""
    where = V45_HOUR + "[? QUALITY >= 0 ?]"

    async def body(c: JsocClient) -> tuple[list[int], Any, ResultSet]:
        rs = ResultSet(c, where, KEYS, page_size=20)
        got = [await rs.fetch_next(), await rs.fetch_next(15)]
        # after four pages' worth of rows, the rest comes in one request
        got.append(await rs.fetch_next(5))
        return got, await c.query(where, KEYS), rs

    got, whole, rs = with_client(demo_server, body)
    assert got == [20, 15, len(whole) - 35]
    assert rs.at_end
    for name in KEYS:
        assert np.array_equal(rs.column(name).values, whole.keywords[name].values)


def test_empty_record_set(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> tuple[int, ResultSet]:
        rs = ResultSet(c, "hmi.v_45s[1990.01.01_TAI/1h]", KEYS)
        return await rs.fetch_next(), rs

    got, rs = with_client(demo_server, body)
    assert got == 0
    assert rs.total == 0
    assert rs.at_end
    with pytest.raises(LookupError):
        rs.column("T_REC")


def test_cancel_keeps_what_was_loaded(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> tuple[int, bool, int, int]:
        rs = ResultSet(c, V45_HOUR, KEYS, page_size=10)
        await rs.fetch_next()
        demo_server.faults.add(Fault("latency", route="jsoc_info", value=30.0, times=1))
        task = asyncio.ensure_future(rs.fetch_next())
        await asyncio.sleep(0.3)
        cancelled = rs.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        loaded_after_cancel = rs.loaded
        demo_server.faults.clear()
        again = await rs.fetch_next()
        return loaded_after_cancel, cancelled, again, rs.loaded

    assert with_client(demo_server, body) == (10, True, 10, 20)


def test_memory_grows_with_loaded_rows_only(demo_server: DemoServer) -> None:
    day = "hmi.v_45s[2014.01.01_00:00:35_TAI/6h]"  # 480 records

    async def body(c: JsocClient) -> tuple[list[int], list[int], int]:
        rs = ResultSet(c, day, KEYS, page_size=120)
        loaded, sizes = [], []
        while rs.can_fetch_more:
            await rs.fetch_next()
            loaded.append(rs.loaded)
            sizes.append(rs.nbytes)
        return loaded, sizes, rs.total or 0

    loaded, sizes, total = with_client(demo_server, body)
    assert total == 480
    assert loaded == [120, 240, 360, 480]
    per_row = [s / n for s, n in zip(sizes, loaded, strict=True)]
    assert max(per_row) == min(per_row)  # the same bytes per row, page after page
