"""CGI routes over raw HTTP: shapes, errors, faults on streamed answers, memory flatness."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from jsocdesk.demo.faults import Fault
from jsocdesk.demo.server import DemoServer
from tests.demo_server import demo_process

V45_HOUR = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"


def get(server: DemoServer, cgi: str, **params: str) -> httpx.Response:
    return httpx.get(server.cgi_url + cgi, params=params, timeout=60)


def test_show_series_kis_style(demo_server: DemoServer) -> None:
    d = get(demo_server, "show_series", filter=r"hmi\.v_45s$").json()
    assert d["status"] == 0
    assert d["n"] == 1
    assert d["names"] == [
        {
            "name": "hmi.V_45s",
            "primekeys": "T_REC, CAMERA",
            "note": "Dopplergrams with a cadence of 45 seconds",
        }
    ]
    inverted = get(demo_server, "show_series", filter=r"NOT ^hmi\.").json()
    assert inverted["n"] > 0
    assert not any(n["name"].startswith("hmi.") for n in inverted["names"])
    # show_series.c prints {"status":1,"errmsg":Series filter format error} (not valid JSON)
    bad = get(demo_server, "show_series", filter="(").text
    assert bad.strip() == '{"status":1,"errmsg":Series filter format error}'
    # The KIS-style location /cgi-bin/<name> answers too.
    kis = httpx.get(demo_server.base_url + "cgi-bin/show_series", params={"filter": "iris"})
    assert [n["name"] for n in kis.json()["names"]] == ["iris.lev1"]


def test_showextseries_info(demo_server: DemoServer) -> None:
    d = get(demo_server, "showextseries", dbhost="hmidb2", filter=r"aia\.lev1_", info="1").json()
    assert d["errMsg"] == ""  # showextseries.py: errMsg starts as '' and stays so
    assert d["seriesList"][0] == {
        "aia.lev1_euv_12s": {"description": "AIA Level 1, 12 second cadence"}
    }
    bad = get(demo_server, "showextseries", filter="[").json()
    assert bad["seriesList"] == []
    assert bad["errMsg"]


def test_series_struct_shape(demo_server: DemoServer) -> None:
    d = get(demo_server, "jsoc_info", op="series_struct", ds="hmi.m_720s").json()
    assert d["status"] == 0
    assert d["primekeys"] == ["T_REC", "CAMERA"]
    assert d["primekeysinfo"][0] == {"name": "T_REC", "slotted": 1, "step": "720"}
    assert d["dbindex"] == ["T_REC_index", "CAMERA"]
    assert d["Interval"]["FirstRecord"] == "hmi.M_720s[2010.04.30_19:00:00_TAI][1]"
    assert d["Interval"]["MaxRecnum"] >= d["Interval"]["FirstRecnum"]
    names = [k["name"] for k in d["keywords"]]
    assert {"T_REC_step", "T_REC_epoch", "cparms_sg000", "magnetogram_bscale"} <= set(names)
    assert get(demo_server, "jsoc_info", op="series_struct", ds="nope").json()["status"] == 1
    b = get(demo_server, "jsoc_info", op="series_struct", ds="hmi.b_720s").json()
    linked = next(g for g in b["segments"] if g["name"] == "vlos_mag")
    assert linked == {
        "name": "vlos_mag",
        "type": "int",
        "units": None,
        "protocol": "link via MDATA",
        "dims": None,
        "note": "",
    }
    assert b["links"][0]["name"] == "MDATA"


def test_rs_summary_and_bad_requests(demo_server: DemoServer) -> None:
    assert get(demo_server, "jsoc_info", op="rs_summary", ds=V45_HOUR).json()["count"] == 81
    assert get(demo_server, "jsoc_info", op="rs_summary", ds=V45_HOUR, n="5").json()["count"] == 5
    for params in (
        {"op": "rs_list", "ds": "", "key": "T_REC"},
        {"op": "rs_list", "ds": V45_HOUR, "key": "T_REC", "n": "lots"},
        {"op": "rs_list", "ds": "hmi.v_45s[[2014]]", "key": "T_REC"},
        {"op": "rs_list", "ds": "nope.nope[1]", "key": "T_REC"},
        {"op": "rs_list", "ds": f"{V45_HOUR},aia.lev1[^]", "key": "**ALL**"},
        {"op": "explode"},
    ):
        r = get(demo_server, "jsoc_info", **params)
        assert r.status_code == 200
        assert r.json()["status"] == 1, params


def test_rs_list_shape(demo_server: DemoServer) -> None:
    d = get(
        demo_server,
        "jsoc_info",
        op="rs_list",
        ds=V45_HOUR + "{Dopplergram}",
        key="t_rec,*recnum*,*sunum*,*spec*",
        seg="Dopplergram,nope",
        R="1",
        n="3",
    ).json()
    assert d["count"] == 3
    assert d["status"] == 0
    assert [k["name"] for k in d["keywords"]] == ["t_rec", "*recnum*", "*sunum*", "*spec*"]
    assert d["keywords"][0]["values"][0] == "2014.01.01_00:00:45_TAI"
    dop, nope = d["segments"]
    assert dop["values"][0].startswith("/SUM")
    assert dop["dims"][0] == "4096x4096"
    assert dop["cparms"][0] == "compress Rice"
    assert nope["values"] == ["InvalidSegName"] * 3
    assert d["recinfo"][0] == {"name": "hmi.V_45s[2014.01.01_00:00:45_TAI][2]", "online": 1}
    assert d["links"] == []
    empty = get(
        demo_server, "jsoc_info", op="rs_list", ds="mdi.fd_v[2020.01.01/1h]", key="T_REC"
    ).json()
    assert empty["count"] == 0
    assert "keywords" not in empty


def test_post_is_accepted(demo_server: DemoServer) -> None:
    r = httpx.post(demo_server.cgi_url + "jsoc_info", data={"op": "rs_summary", "ds": V45_HOUR})
    assert r.json()["count"] == 81


@pytest.mark.parametrize("kind", ["reset", "truncate"])
def test_faults_on_streamed_rs_list(demo_server: DemoServer, kind: str) -> None:
    demo_server.faults.add(Fault(kind, route="jsoc_info", at=100, match="rs_list", times=1))
    params = {"op": "rs_list", "ds": V45_HOUR, "key": "T_REC"}
    with pytest.raises(httpx.TransportError):
        get(demo_server, "jsoc_info", **params)
    assert get(demo_server, "jsoc_info", **params).json()["count"] == 81


def test_latency_and_error_on_cgi(demo_server: DemoServer) -> None:
    demo_server.faults.add(Fault("latency", route="*", value=0.01, times=2))
    demo_server.faults.add(Fault("http_error", route="showextseries", value=502, times=1))
    assert get(demo_server, "showextseries").status_code == 502
    assert get(demo_server, "showextseries").json()["errMsg"] == ""
    assert demo_server.faults.hits["latency"] == 2


def _rss_kb(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmHWM", "VmRSS")):
            key, value, _unit = line.split()
            out[key.rstrip(":")] = int(value)
    return out


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_listing_many_records_keeps_server_memory_flat(tmp_path: Path) -> None:
    with demo_process() as (proc, base):
        warm = {"op": "rs_list", "ds": V45_HOUR, "key": "T_REC"}
        httpx.get(base + "cgi-bin/ajax/jsoc_info", params=warm)
        before = _rss_kb(proc.pid)["VmHWM"]
        params: dict[str, Any] = {
            "op": "rs_list",
            "ds": "hmi.v_45s[2014.01.01_00:00:00_TAI/200d]",
            "key": "T_REC,QUALITY",
            "n": "200000",
        }
        size = 0
        with httpx.stream("GET", base + "cgi-bin/ajax/jsoc_info", params=params, timeout=300) as r:
            for chunk in r.iter_bytes():
                size += len(chunk)
        assert size > 200000 * 2 * 15
        grown = _rss_kb(proc.pid)["VmHWM"] - before
        # The answer is ~8 MB of JSON (~30 MB as Python strings): generating it must hold
        # neither the text nor the records; caches and worker threads may add a little.
        assert grown < 10_000, f"server peak RSS grew by {grown} kB"


@pytest.mark.parametrize(
    "ds",
    [
        "hmi.v_45s[2014.01.01_00:00:00_TAI/1d]",
        "hmi.sharp_720s[][2014.01.01_00:00:00_TAI/2d]",
        "aia.lev1[2014.01.01_00:00:00_TAI/30m]",
    ],
)
def test_paging_with_recnum_where_clause(demo_server: DemoServer, ds: str) -> None:
    def page(spec: str, n: int) -> tuple[list[str], list[int]]:
        d = get(
            demo_server, "jsoc_info", op="rs_list", ds=spec, key="*spec*,*recnum*", n=str(n)
        ).json()
        if d["count"] == 0:
            return [], []
        specs, recnums = (k["values"] for k in d["keywords"])
        return specs, [int(v) for v in recnums]

    everything, _ = page(ds, 0)
    assert len(everything) > 1000
    got: list[str] = []
    last: int | None = None
    while True:
        spec = ds if last is None else f"{ds}[? recnum > {last} ?]"
        specs, recnums = page(spec, 700)
        if not specs:
            break
        assert recnums == sorted(recnums)
        assert last is None or recnums[0] > last
        got += specs
        last = recnums[-1]
    assert got == everything
