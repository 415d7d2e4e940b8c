"""The UNMODIFIED drms client against the demo server (registry replacement, §1.1)."""

from __future__ import annotations

from typing import Any

import drms
import pandas as pd
import pytest

from jsocdesk.demo.server import DemoServer
from tests.demo_server import DEMO_EMAIL

V45_HOUR = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"


@pytest.fixture
def client(drms_jsoc: Any) -> drms.Client:
    return drms.Client()


def test_client_talks_to_the_demo_server(drms_jsoc: Any, demo_server: DemoServer) -> None:
    assert drms.Client()._server.url_jsoc_info.startswith(demo_server.base_url)


def test_series_list(client: drms.Client) -> None:
    names = [n.lower() for n in client.series()]
    for n in ("hmi.v_45s", "hmi.m_720s", "hmi.ic_720s", "aia.lev1", "aia.lev1_euv_12s", "mdi.fd_v"):
        assert n in names
    for schema in ("aia", "hmi", "mdi"):
        got = client.series(rf"{schema}\.")
        assert got
        assert all(n.startswith(f"{schema}.") for n in got)
    assert client.series(r"hmi\.m_") == [
        "hmi.M_45s",
        "hmi.M_45s_dcon",
        "hmi.M_720s",
        "hmi.M_720s_dcon",
        "hmi.M_720s_dconS",
        "hmi.m_720s_mod",
        "hmi.m_720s_nrt",
    ]
    full = client.series(r"aia\.lev1$", full=True)
    assert list(full.name) == ["aia.lev1"]
    assert full.note[0] == "AIA Level 1"


@pytest.mark.parametrize(
    ("series", "pkeys", "segments"),
    [
        ("hmi.v_45s", ["T_REC", "CAMERA"], ["Dopplergram"]),
        ("hmi.m_720s", ["T_REC", "CAMERA"], ["magnetogram"]),
        ("hmi.v_sht_2drls", ["LMIN", "NACOEFF"], ["split", "rot", "err"]),
        ("aia.lev1", ["T_REC", "FSN"], []),
        ("aia.lev1_euv_12s", ["T_REC", "WAVELNTH"], ["image", "spikes"]),
        ("aia.response", ["T_START", "WAVE_STR"], []),
        ("iris.lev1", ["T_OBS", "FSN"], []),
        ("mdi.fd_m_lev182", ["T_REC"], []),
        ("hmi.sharp_720s", ["HARPNUM", "T_REC"], ["continuum", "magnetogram"]),
        ("hmi.sharp_cea_720s", ["HARPNUM", "T_REC"], ["Br"]),
        ("hmi.ic_720s", ["T_REC", "CAMERA"], ["continuum"]),
        ("hmi.b_720s", ["T_REC"], ["field"]),
        ("aia.lev1_uv_24s", ["T_REC", "WAVELNTH"], ["image"]),
        ("aia.lev1_vis_1h", ["T_REC", "WAVELNTH"], ["image"]),
        ("mdi.fd_v", ["T_REC"], ["data"]),
        ("hmi.synoptic_mr_720s", ["CAR_ROT"], ["synopMr"]),
        ("hmi.m_45s", ["T_REC", "CAMERA"], ["magnetogram"]),
    ],
)
def test_series_info(
    client: drms.Client, series: str, pkeys: list[str], segments: list[str]
) -> None:
    info = client.info(series)
    assert info.name.lower() == series
    for pk in pkeys:
        assert pk in info.primekeys
        assert pk in info.keywords.index
        assert pk in client.pkeys(series)
        assert pk in client.keys(series)
    for seg in segments:
        assert seg in info.segments.index


def test_pkeys_and_sharp_keys(client: drms.Client) -> None:
    assert client.pkeys("hmi.m_720s") == ["T_REC", "CAMERA"]
    keys = client.keys("hmi.sharp_720s")
    assert keys[:8] == [
        "cparms_sg000",
        "magnetogram_bzero",
        "magnetogram_bscale",
        "cparms_sg001",
        "bitmap_bzero",
        "bitmap_bscale",
        "cparms_sg002",
        "Dopplergram_bzero",
    ]
    assert keys[-2:] == ["ERRJHT", "ERRVF"]
    si = client.info("hmi.sharp_720s")
    assert list(si.segments.index)[:3] == ["magnetogram", "bitmap", "Dopplergram"]
    assert si.segments.loc["continuum"].to_dict() == {
        "type": "int",
        "units": "DN/s",
        "protocol": "fits",
        "dims": "VARxVAR",
        "note": "",
    }
    assert si.keywords.loc["cparms_sg000"].defval == "compress Rice"


def test_seed_counts(client: drms.Client) -> None:
    k = client.query(V45_HOUR, key="T_REC, TELESCOP, INSTRUME, WAVELNTH, CAR_ROT")
    assert len(k) == 81
    assert k.T_REC.iloc[0] == "2014.01.01_00:00:45_TAI"
    assert set(k.INSTRUME) == {"HMI_FRONT2"}
    assert set(k.CAR_ROT) == {2145}
    k = client.query(
        "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI@600.0s]", key="T_REC"
    )
    assert len(k) == 7
    k = client.query(
        "aia.lev1_euv_12s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]", key="T_REC,WAVELNTH"
    )
    assert len(k) == 2107
    assert k.T_REC.iloc[0] == "2014-01-01T00:00:01Z"
    k = client.query(
        "hmi.sharp_720s[][2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]", key="**ALL**"
    )
    assert len(k) == 61


def test_query_basic_key_seg(client: drms.Client) -> None:
    ds = "hmi.v_45s[2013.07.03_08:42_TAI/3m]"
    k, s = client.query(ds, key="T_REC, CRLT_OBS", seg="Dopplergram")
    assert len(k) == len(s) == 4
    assert "T_REC" in k.columns
    assert "CRLT_OBS" in k.columns
    assert "Dopplergram" in s.columns
    assert ((k.CRLT_OBS - 3.14159).abs() < 1e-4).all()
    assert len(client.query(ds, key="T_REC")) == 4
    assert len(client.query(ds, seg="Dopplergram")) == 4


def test_query_link_and_invalid_names(client: drms.Client) -> None:
    ds = "hmi.B_720s[2013.07.03_08:42_TAI/40m]"
    assert len(client.query(ds, link="MDATA")) == 3
    k, s, li = client.query(ds, key="foo", link="bar", seg="baz")
    assert len(k) == len(s) == len(li) == 3
    assert (k.foo == "Invalid KeyLink").all()
    assert (s.baz == "InvalidSegName").all()
    assert (li.bar == "Invalid_Link").all()


def test_query_pkeys_and_recindex(client: drms.Client) -> None:
    k = client.query("hmi.v_45s[2013.07.03_08:42_TAI/3m]", key="T_REC", pkeys=True)
    assert list(k.columns) == client.pkeys("hmi.v_45s")
    assert len(k) == 4
    k = client.query("hmi.V_45s[2013.07.03_08:42_TAI/4m]", key="T_REC", rec_index=True)
    assert len(k) == 5
    assert all("hmi.V_45s" in name for name in k.index)


def test_query_errors(client: drms.Client) -> None:
    with pytest.raises(drms.DrmsQueryError):
        client.query("foo", key="T_REC")
    with pytest.raises(drms.DrmsQueryError):
        client.query("hmi.v_45s[2014.01.01_00:00:35_TAI", key="T_REC")
    with pytest.raises(ValueError, match="At least one key"):
        client.query("hmi.v_45s[2013.07.03_08:42_TAI/3m]")


def test_query_hexadecimal_and_constants(client: drms.Client) -> None:
    client.query(V45_HOUR, key="**ALL**")
    client.query("hmi.M_720s[2011.04.14_00:30:00_TAI/6h@2h]", key="**ALL**")
    k, s = client.query("hmi.synoptic_mr_720s[2150]", key="**ALL**", seg="synopMr")
    assert len(k) == len(s) == 1


def test_query_limits_and_empty(client: drms.Client) -> None:
    assert len(client.query(V45_HOUR, key="T_REC", n=5)) == 5
    last = client.query(V45_HOUR, key="T_REC", n=-2)
    assert list(last.T_REC) == ["2014.01.01_01:00:00_TAI", "2014.01.01_01:00:45_TAI"]
    assert len(client.query(V45_HOUR, key="T_REC", n=10**30)) == 81
    assert len(client.query("mdi.fd_v[2020.01.01_00:00:00_TAI/1h]", key="T_REC")) == 0


def test_check_email(client: drms.Client, demo_server: DemoServer) -> None:
    assert client.check_email("demo@example.com")
    for bad in ("notregistered@example.com", "not-valid", ""):
        assert not client.check_email(bad)
        with pytest.raises(ValueError, match="Email address is invalid or not registered"):
            drms.Client(email=bad)
    demo_server.register_email("fresh@example.org")
    assert drms.Client(email="fresh@example.org").email == "fresh@example.org"


def test_linked_segments_follow_mdata(client: drms.Client, demo_server: DemoServer) -> None:
    segs = client.info("hmi.B_720s").segments
    assert segs.loc["vlos_mag"].protocol == "link via MDATA"
    assert pd.isna(segs.loc["vlos_mag"].dims)
    s = client.query("hmi.B_720s[2013.07.03_08:42_TAI/40m]", seg="field,vlos_mag")
    assert len(s) == 3
    me = client.query("hmi.ME_720s_fd10[2013.07.03_08:42_TAI/40m]", seg="vlos_mag")
    assert list(s.vlos_mag) == list(me.vlos_mag)
    assert s.field[0] != me.vlos_mag[0]
    e = drms.Client(email=DEMO_EMAIL).export(
        "hmi.B_720s[2013.07.03_08:48_TAI]{field,vlos_mag}", method="url", protocol="fits"
    )
    assert e.wait(timeout=60, sleep=0.1)
    assert sorted(e.data.filename) == [
        "hmi.b_720s.20130703_084800_TAI.field.fits",
        "hmi.b_720s.20130703_084800_TAI.vlos_mag.fits",
    ]
