"""Exports through jsoc_fetch: every status path, with the unmodified drms client and raw HTTP."""

from __future__ import annotations

import hashlib
import tarfile
import time
from pathlib import Path
from typing import Any

import drms
import httpx
import pytest
from astropy.io import fits

from jsocdesk.demo.faults import Fault
from jsocdesk.demo.server import DemoServer
from tests.demo_server import DEMO_EMAIL

SHT = "hmi.v_sht_2drls[2024.09.19_00:00:00_TAI]{split,rot,err}"
SHARP = "hmi.sharp_720s[4864][2014.11.30_00:00_TAI]{continuum, magnetogram}"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def server_file(server: DemoServer, url: str) -> Path:
    return server.data_dir / url[len(server.base_url) :]


def fetch(server: DemoServer, **params: str) -> dict[str, Any]:
    r = httpx.get(server.cgi_url + "jsoc_fetch", params=params)
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def request(server: DemoServer, ds: str, **extra: str) -> dict[str, Any]:
    params = {
        "op": "exp_request",
        "format": "json",
        "ds": ds,
        "notify": DEMO_EMAIL,
        "method": "url",
        "protocol": "fits",
    }
    params.update(extra)
    return fetch(server, **params)


def wait_done(server: DemoServer, rid: str) -> dict[str, Any]:
    seen = []
    for _ in range(400):
        d = fetch(server, op="exp_status", requestid=rid)
        seen.append(int(d["status"]))
        if int(d["status"]) not in (1, 2, 6):
            d["_seen"] = seen
            return d
        time.sleep(0.02)
    raise AssertionError(f"export {rid} never finished: {seen[-5:]}")


def test_url_quick_as_is_and_download(
    drms_jsoc: Any, demo_server: DemoServer, tmp_path: Path
) -> None:
    c = drms.Client(email=DEMO_EMAIL)
    r = c.export(SHT, method="url_quick", protocol="as-is", requester=False)
    assert r.wait(timeout=60)
    assert r.has_succeeded()
    assert r.id is None
    assert r.protocol == "as-is"
    assert len(r.urls) == 9
    for rec in r.data.record:
        assert rec.lower().startswith("hmi.v_sht_2drls[2024.09.19_00:00:00_tai]")
        assert rec.endswith(("{split}", "{rot}", "{err}"))
    for name, url in zip(r.urls.filename, r.urls.url, strict=True):
        assert name.endswith(("err.2d", "rot.2d", "splittings.out"))
        assert url.endswith(("err.2d", "rot.2d", "splittings.out"))
    got = r.download(tmp_path)
    for local, url in zip(got.download, got.url, strict=True):
        assert sha(Path(local)) == sha(server_file(demo_server, url))


def test_url_as_is_through_the_queue(
    drms_jsoc: Any, demo_server: DemoServer, tmp_path: Path
) -> None:
    c = drms.Client(email=DEMO_EMAIL)
    r = c.export(SHT, method="url", protocol="as-is", requester=False)
    assert r.id.startswith("JSOC_")
    assert r.wait(timeout=60, sleep=0.1)
    assert r.has_succeeded()
    assert len(r.urls) == 9
    assert all(rec.endswith(("{split}", "{rot}", "{err}")) for rec in r.data.record)
    assert r.keywords.endswith(".keywords.txt")
    got = r.download(tmp_path)
    assert {Path(p).name.rsplit(".", 1)[-1] for p in got.download} <= {"2d", "out", "1", "2"}


def test_fits_export_headers_and_bytes(
    drms_jsoc: Any, demo_server: DemoServer, tmp_path: Path
) -> None:
    c = drms.Client(email=DEMO_EMAIL)
    r = c.export(SHARP, method="url", protocol="fits")
    assert r.wait(timeout=60, sleep=0.1)
    assert r.has_succeeded()
    assert len(r.urls) == 2
    for rec in r.data.record:
        assert rec.lower().startswith("hmi.sharp_720s[4864]")
        assert rec.lower().endswith("2014.11.30_00:00:00_tai]")
    assert sorted(f.rsplit(".", 2)[-2] for f in r.data.filename) == ["continuum", "magnetogram"]
    assert r.data.filename.iloc[0] == "hmi.sharp_720s.4864.20141130_000000_TAI.continuum.fits"
    got = r.download(tmp_path)
    for local, url in zip(got.download, got.url, strict=True):
        assert sha(Path(local)) == sha(server_file(demo_server, url))
        with fits.open(local) as hdul:
            h = hdul[0].header
            assert h["HARPNUM"] == 4864
            assert h["T_REC"] == "2014.11.30_00:00:00_TAI"
            assert h["INSTRUME"] == "HMI_SIDE1"
            assert hdul[0].data.ndim == 2
    # Same request again within 24 h: same id, nothing new.
    again = c.export(SHARP, method="url", protocol="fits")
    assert again.id == r.id


def test_fits_files_are_deterministic(demo_server_factory: Any) -> None:
    digests = []
    for _ in range(2):
        srv = demo_server_factory()
        d = request(srv, SHARP)
        done = wait_done(srv, d["requestid"])
        f = srv.data_dir / done["dir"].lstrip("/") / done["data"][0]["filename"]
        digests.append(sha(f))
    assert digests[0] == digests[1]


def test_url_tar(drms_jsoc: Any, demo_server: DemoServer, tmp_path: Path) -> None:
    c = drms.Client(email=DEMO_EMAIL)
    r = c.export(SHARP, method="url-tar", protocol="fits")
    assert r.wait(timeout=60, sleep=0.1)
    assert r.tarfile.endswith(f"{r.id}.tar")
    assert len(r.urls) == 1
    got = r.download(tmp_path)
    local = Path(got.download[0])
    assert sha(local) == sha(server_file(demo_server, got.url[0]))
    with tarfile.open(local) as tf:
        names = sorted(tf.getnames())
    assert names == sorted(r.data.filename)


def test_status_moves_2_1_0_and_index_shape(demo_server_factory: Any) -> None:
    srv = demo_server_factory(export_delay=1.2)
    d = request(srv, SHARP)
    assert d["status"] == 2
    assert d["requestid"].startswith("JSOC_")
    assert {"wait", "rcount", "size", "method", "protocol"} <= d.keys()
    done = wait_done(srv, d["requestid"])
    seen = done.pop("_seen")
    assert seen[0] == 2
    assert 1 in seen
    assert seen[-1] == 0
    assert done["status"] == "0"
    assert done["count"] == "2"
    assert done["keywords"] == "**IN FITS FILES**"
    assert done["dir"].startswith("/SUM")
    assert {"version", "requestid", "method", "protocol", "size", "exptime", "data"} <= done.keys()


def test_status6_fault_is_retried_by_drms(drms_jsoc: Any, demo_server: DemoServer) -> None:
    demo_server.faults.add(Fault("status6", route="jsoc_fetch", match="exp_status", times=2))
    c = drms.Client(email=DEMO_EMAIL)
    r = c.export(SHARP, method="url", protocol="fits")
    assert r.wait(timeout=60, sleep=0.1)
    assert r.has_succeeded()
    assert demo_server.faults.hits["status6"] == 2


def test_status4_paths(demo_server: DemoServer) -> None:
    d = request(demo_server, SHARP, notify="stranger@example.com")
    assert d["status"] == 4
    assert "neither validated nor registered" in d["error"]
    d = request(demo_server, "no.such_series[2014.01.01]")
    assert d["status"] == 4
    assert "does not exist" in d["error"]
    d = request(demo_server, "hmi.v_45s[2014.01.01_00:00:35_TAI")
    assert d["status"] == 4
    assert d["error"].startswith("Bad record-set query")
    d = request(
        demo_server,
        "mdi.fd_v[2020.01.01_00:00:00_TAI/1h]{data}",
        method="url_quick",
        protocol="as-is",
    )
    assert (d["status"], d["error"]) == (4, "There are no files in this RecordSet")
    d = request(demo_server, SHARP, **{"process=n": "0|explode,x=1"})
    assert d["status"] == 4
    for bad in ("", "nonsense", "JSOC_2024_1"):
        assert fetch(demo_server, op="exp_status", requestid=bad)["status"] == 4
    assert fetch(demo_server, op="exp_status", requestid="JSOC_20200101_999")["status"] == 4
    assert fetch(demo_server, op="nothing")["status"] == 4


def test_status3_size_cap(demo_server_factory: Any) -> None:
    srv = demo_server_factory(size_cap_mb=1, segment_bytes=2_000_000)
    d = request(srv, SHARP)
    assert d["status"] == 3
    assert d["requestid"] == "VOID"
    assert d["error"] == "Request exceeds max byte limit of 1MB"


def test_too_many_records(demo_server_factory: Any) -> None:
    srv = demo_server_factory(max_export_records=10)
    d = request(srv, "hmi.v_45s[2014.01.01_00:00:35_TAI/1h]{Dopplergram}")
    assert d["status"] == 4
    assert "too many records" in d["error"]


def test_status7_one_pending_per_email_and_per_client(demo_server_factory: Any) -> None:
    srv = demo_server_factory(export_delay=30.0, max_pending_per_client=2)
    first = request(srv, SHARP)
    assert first["status"] == 2
    second = request(srv, "hmi.sharp_720s[4864][2014.11.30_00:12_TAI]{continuum}")
    assert second["status"] == 7
    assert first["requestid"] in second["error"]
    srv.register_email("other@example.com")
    srv.register_email("third@example.com")
    ok = request(
        srv, "hmi.sharp_720s[4864][2014.11.30_00:24_TAI]{continuum}", notify="other@example.com"
    )
    assert ok["status"] == 2
    third = request(
        srv, "hmi.sharp_720s[4864][2014.11.30_00:36_TAI]{continuum}", notify="third@example.com"
    )
    assert third["status"] == 7
    assert "too many requests" in third["error"]


def test_status5_after_expiry(demo_server_factory: Any) -> None:
    srv = demo_server_factory(export_delay=0.1, expire_after=0.2)
    d = request(srv, SHARP)
    done = wait_done(srv, d["requestid"])
    assert done["status"] == "0"
    time.sleep(0.3)
    late = fetch(srv, op="exp_status", requestid=d["requestid"])
    assert late["status"] == 5
    assert "deleted" in late["error"]
    assert not (srv.data_dir / done["dir"].lstrip("/")).exists()


@pytest.mark.parametrize(
    ("ds", "process", "prefix", "suffix"),
    [
        (
            "aia.lev1_euv_12s[2025-01-01T04:33:30.000/1m@12s][171]{image}",
            {
                "im_patch": {
                    "t_ref": "2025-01-01T04:33:30.000",
                    "t": 0,
                    "r": 0,
                    "c": 0,
                    "locunits": "arcsec",
                    "boxunits": "arcsec",
                    "x": -517.2,
                    "y": -246,
                    "width": 345.6,
                    "height": 345.6,
                }
            },
            "aia.lev1_euv_12s_mod",
            "image.fits",
        ),
        (
            "hmi.M_720s[2020-10-17_22:12:00_TAI/24m]{magnetogram}",
            {"rebin": {"method": "boxcar", "scale": 0.25}},
            "hmi.m_720s_mod",
            "magnetogram.fits",
        ),
    ],
)
def test_processing_exports(
    drms_jsoc: Any, ds: str, process: dict[str, Any], prefix: str, suffix: str
) -> None:
    c = drms.Client(email=DEMO_EMAIL)
    r = c.export(ds, method="url", protocol="fits", process=process)
    assert r.wait(timeout=60, sleep=0.1)
    assert r.has_succeeded()
    assert r.protocol == "fits"
    assert all(rec.startswith(prefix) for rec in r.data.record)
    assert all(f.endswith(suffix) for f in r.data.filename)


def test_export_from_id(drms_jsoc: Any) -> None:
    c = drms.Client(email=DEMO_EMAIL)
    r = c.export(SHARP, method="url", protocol="fits")
    assert r.wait(timeout=60, sleep=0.1)
    again = drms.Client().export_from_id(r.id)
    assert again.has_succeeded()
    assert list(again.urls.url) == list(r.urls.url)


def test_sums_segment_files_on_demand(drms_jsoc: Any, demo_server: DemoServer) -> None:
    c = drms.Client()
    s = c.query("hmi.v_45s[2013.07.03_08:42_TAI/3m]", seg="Dopplergram")
    url = demo_server.base_url + s.Dopplergram[0].lstrip("/")
    with httpx.Client() as h:
        head = h.head(url)
        assert head.status_code == 200
        assert int(head.headers["content-length"]) > 2880
        body = h.get(url).content
        assert body[:6] == b"SIMPLE"
        assert h.get(url.replace("Dopplergram.fits", "nope.fits")).status_code == 404
        assert h.get(url.replace("/S0", "/S9")).status_code == 404


def test_exports_skip_records_without_image(demo_server: DemoServer) -> None:
    from jsocdesk.demo import records

    ds = "hmi.v_45s[2014.01.01_00:00:00_TAI/1d]"
    (sel,) = records.select(ds)
    gen = records.KeywordGen(sel.series)
    total = sel.count()
    without = sum(1 for r in sel if gen.missing_image(r))
    assert without > 0
    d = request(demo_server, ds + "{Dopplergram}", method="url_quick", protocol="as-is")
    assert d["status"] == 0
    assert d["rcount"] == total - without
    # An explicit QUALITY clause keeps them (JSOC adds image_exists only without one).
    d = request(
        demo_server, ds + "[? QUALITY >= 0 ?]{Dopplergram}", method="url_quick", protocol="as-is"
    )
    assert d["rcount"] == total


def test_exports_survive_a_server_restart_on_the_same_data_dir(
    demo_server_factory: Any, tmp_path: Path
) -> None:
    data = tmp_path / "persistent"
    first = demo_server_factory(data_dir=data, export_delay=0.1)
    done_id = request(first, SHARP)["requestid"]
    done = wait_done(first, done_id)
    first.stop()
    second = demo_server_factory(data_dir=data, export_delay=30.0)
    again = fetch(second, op="exp_status", requestid=done_id)
    assert again["status"] == "0"
    assert again["data"] == done["data"]
    slow = request(second, "hmi.sharp_720s[4864][2014.11.30_00:12_TAI]{continuum}")
    assert slow["status"] == 2
    second.stop()
    third = demo_server_factory(data_dir=data)
    interrupted = fetch(third, op="exp_status", requestid=slow["requestid"])
    assert interrupted["status"] == 4
    assert "restarted" in interrupted["error"]
    fresh = request(third, "hmi.sharp_720s[4864][2014.11.30_00:24_TAI]{continuum}")
    assert fresh["requestid"] > slow["requestid"] > done_id
