"""JsocClient against the demo server: every info endpoint, typed values, cache, errors."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from jsocdesk.core import drmstime
from jsocdesk.core.errors import ServerError
from jsocdesk.core.jsoc.client import JsocClient, series_name_of
from jsocdesk.core.jsoc.columns import ColumnKind, DrmsTime
from jsocdesk.demo.server import DemoServer
from tests.core.test_client_transport import with_client

V45_HOUR = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"


def test_series_list_and_filter(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> tuple[Any, Any]:
        return await c.series(), await c.series(r"hmi\.m_")

    everything, hmi_m = with_client(demo_server, body)
    names = {e.name.lower() for e in everything}
    assert {"hmi.v_45s", "hmi.m_720s", "aia.lev1_euv_12s", "hmi.sharp_720s"} <= names
    assert all(e.name.lower().startswith("hmi.m_") for e in hmi_m)
    assert "hmi.M_45s" in [e.name for e in hmi_m]
    assert any(e.note for e in everything)


def test_series_info_is_cached_with_a_ttl(demo_server: DemoServer) -> None:
    now = [0.0]

    async def body(c: JsocClient) -> tuple[int, int, int]:
        c._clock = lambda: now[0]
        infos = await asyncio.gather(*(c.series_info("HMI.V_45S") for _ in range(5)))
        assert all(i is infos[0] for i in infos)
        first = c.requests_sent
        await c.series_info("hmi.v_45s")
        cached = c.requests_sent
        now[0] = c.info_ttl + 1
        await c.series_info("hmi.v_45s")
        return first, cached, c.requests_sent

    assert with_client(demo_server, body) == (1, 1, 2)


def test_series_info_content(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> Any:
        return await c.series_info("hmi.sharp_720s")

    info = with_client(demo_server, body)
    assert info.primekeys == ("HARPNUM", "T_REC")
    assert info.keyword_names[:3] == ["cparms_sg000", "magnetogram_bzero", "magnetogram_bscale"]
    assert len(info.segments) == 31
    assert info.segment("continuum") is not None


def test_unknown_series_is_a_server_error(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> None:
        with pytest.raises(ServerError) as info:
            await c.series_info("nosuch.series")
        assert info.value.status != 0
        with pytest.raises(ServerError):
            await c.query("foo", ["T_REC"])
        with pytest.raises(ServerError):
            await c.count("nosuch.series[2014.01.01_TAI]")

    with_client(demo_server, body)


def test_count_and_query_of_the_seed_hour(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> tuple[int, Any]:
        n = await c.count(V45_HOUR)
        res = await c.query(V45_HOUR, ["T_REC", "QUALITY", "CRLT_OBS", "CAMERA", "INSTRUME"])
        return n, res

    n, res = with_client(demo_server, body)
    assert n == 81
    assert res.count == 81
    assert len(res) == 81
    t = res.keywords["T_REC"]
    assert t.kind is ColumnKind.TIME
    assert t.zone == "TAI"
    assert t.text(0) == "2014.01.01_00:00:45_TAI"
    assert t.text(80) == "2014.01.01_01:00:45_TAI"
    assert t.value(1) == DrmsTime(drmstime.parse_time_seconds("2014.01.01_00:01:30_TAI"))
    assert res.keywords["QUALITY"].kind is ColumnKind.INTEGER
    assert res.keywords["CRLT_OBS"].kind is ColumnKind.REAL
    assert res.keywords["CAMERA"].to_list() == [2] * 81 or set(res.keywords["CAMERA"].to_list())
    assert res.keywords["INSTRUME"].text(0).startswith("HMI")


def test_query_limit_segments_links_recinfo(demo_server: DemoServer) -> None:
    rs = "hmi.v_45s[2013.07.03_08:42_TAI/3m]"

    async def body(c: JsocClient) -> tuple[Any, Any, Any, Any]:
        first = await c.query(rs, ["T_REC"], limit=2)
        last = await c.query(rs, ["T_REC"], limit=-1)
        segs = await c.query(rs, segments=["Dopplergram"], recinfo=True)
        odd = await c.query("hmi.B_720s[2013.07.03_08:42_TAI/40m]", ["foo"], ["baz"], ["bar"])
        return first, last, segs, odd

    first, last, segs, odd = with_client(demo_server, body)
    assert len(first) == 2
    assert len(last) == 1
    assert last.keywords["T_REC"].values[0] > first.keywords["T_REC"].values[1]
    assert len(segs) == 4
    assert segs.segments["Dopplergram"].text(0).startswith("/SUM")
    assert segs.recinfo is not None
    assert all("hmi.V_45s" in name for name in segs.recinfo.names)
    assert len(odd) == 3
    assert odd.keywords["foo"].text(0) == "Invalid KeyLink"
    assert odd.segments["baz"].text(0) == "InvalidSegName"
    assert odd.links["bar"].text(0) == "Invalid_Link"


def test_query_needs_something_to_list(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> int:
        with pytest.raises(ValueError, match="at least one"):
            await c.query(V45_HOUR)
        return c.requests_sent

    assert with_client(demo_server, body) == 0


def test_values_match_drms(demo_server: DemoServer, drms_jsoc: Any) -> None:
    """The same record set through drms (pandas) and through us gives the same numbers."""
    import drms

    keys = ["T_REC", "QUALITY", "CRLT_OBS", "CAR_ROT", "DSUN_OBS", "T_OBS"]
    df = drms.Client().query(V45_HOUR, key=keys)

    async def body(c: JsocClient) -> Any:
        return await c.query(V45_HOUR, keys)

    res = with_client(demo_server, body)
    assert list(df["T_REC"]) == [res.keywords["T_REC"].text(i) for i in range(81)]
    assert list(df["T_OBS"]) == [res.keywords["T_OBS"].text(i) for i in range(81)]
    assert [None if math.isnan(v) else int(v) for v in df["CAR_ROT"]] == res.keywords[
        "CAR_ROT"
    ].to_list()
    # drms 0.9 turns hex QUALITY strings into NaN; compare with the raw strings instead
    raw = drms.Client().query(V45_HOUR, key="QUALITY", convert_numeric=False)
    assert [int(v, 16) for v in raw["QUALITY"]] == res.keywords["QUALITY"].to_list()
    for k in ("CRLT_OBS", "DSUN_OBS"):
        ours = [math.nan if v is None else v for v in res.keywords[k].to_list()]
        assert list(df[k]) == pytest.approx(ours, nan_ok=True)


def test_series_name_of() -> None:
    assert series_name_of(" hmi.v_45s[2014]{x}") == "hmi.v_45s"
    assert series_name_of("aia.lev1_euv_12s[..],aia.lev1[..]") == "aia.lev1_euv_12s"


def test_series_through_show_series_without_the_wrapper(demo_server: DemoServer) -> None:
    from dataclasses import replace

    from jsocdesk.core.jsoc.config import ServerConfig

    cfg = replace(ServerConfig.for_base_url(demo_server.base_url), show_series_wrapper_url=None)

    async def body(c: JsocClient) -> Any:
        return await c.series(r"aia\.")

    entries = with_client(demo_server, body, config=cfg)
    assert entries
    assert all(e.name.lower().startswith("aia.") for e in entries)


def test_cut_listing_is_a_protocol_error(demo_server: DemoServer) -> None:
    from jsocdesk.core.errors import ProtocolError
    from jsocdesk.demo.faults import Fault

    demo_server.faults.add(Fault("wrong_length", route="jsoc_info", value=-40, match="rs_list"))

    async def body(c: JsocClient) -> None:
        await c.series_info("hmi.v_45s")
        with pytest.raises(ProtocolError):
            await c.query(V45_HOUR, ["T_REC", "QUALITY"])

    with_client(demo_server, body)


def test_query_offset_keeps_the_tail(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> tuple[Any, Any]:
        whole = await c.query(V45_HOUR, ["T_REC"], recinfo=True)
        page = await c.query(V45_HOUR, ["T_REC"], limit=10, offset=30, recinfo=True)
        with pytest.raises(ValueError, match="offset"):
            await c.query(V45_HOUR, ["T_REC"], offset=3)
        return whole, page

    whole, page = with_client(demo_server, body)
    assert len(page) == page.count == 10
    assert list(page.keywords["T_REC"].values) == list(whole.keywords["T_REC"].values[30:40])
    assert page.recinfo is not None
    assert page.recinfo.names == whole.recinfo.names[30:40]
