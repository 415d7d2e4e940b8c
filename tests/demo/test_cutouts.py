"""Cutouts: jsocdesk's Cutout compiles to the process string sunpy's ``a.jsoc.Cutout``
gives drms, and the demo applies ``im_patch``/``rebin``/``resize`` for real: drms's and
sunpy's cutout exports return files of the requested size, tracked with the Sun's
differential rotation, that open as a sunpy map sequence with the WCS following the crop."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jsocdesk.core import drmstime
from jsocdesk.core.errors import QueryError
from jsocdesk.core.query import (
    Cutout,
    Segment,
    Series,
    Time,
    Wavelength,
    compile_query,
    node_from_dict,
)
from jsocdesk.core.query.tree import node_to_dict
from jsocdesk.core.seriesinfo import SeriesInfo
from jsocdesk.demo import images, records
from jsocdesk.demo.series import series_info
from tests.demo_server import DEMO_EMAIL, drms_server_config

drms = pytest.importorskip("drms")
u = pytest.importorskip("astropy.units")
coordinates = pytest.importorskip("astropy.coordinates")
sunpy_map = pytest.importorskip("sunpy.map")
frames = pytest.importorskip("sunpy.coordinates.frames")
jsoc_attrs = pytest.importorskip("sunpy.net.jsoc.attrs")

SIDE = 256  # demo image side in these tests: 4096 * 0.504 / 256 = 8.07 arcsec per HMI pixel


def _sunpy_process(cutout: Any) -> str:
    """The string drms builds from ``process={'im_patch': cutout.value}`` (drms/json.py)."""
    return "im_patch," + ",".join(f"{k}={v}" for k, v in cutout.value.items())


def _hpc(x: float, y: float, t: str) -> Any:
    return coordinates.SkyCoord(
        x * u.arcsec, y * u.arcsec, frame=frames.Helioprojective, obstime=t, observer="earth"
    )


@pytest.mark.parametrize(
    ("bl", "tr", "options"),
    [
        ((-500.0, -300.0), (-200.0, -100.5), {"tracking": True}),
        ((100.25, 50.0), (400.0, 333.3), {"register": True, "nan_off_limb": True}),
        ((-1100.0, -1100.0), (1100.0, 1100.0), {}),
    ],
)
def test_cutout_process_string_is_sunpys(
    bl: tuple[float, float], tr: tuple[float, float], options: dict[str, bool]
) -> None:
    t = "2014-01-01T00:00:00"
    theirs = jsoc_attrs.Cutout(_hpc(*bl, t), top_right=_hpc(*tr, t), **options)
    mine = Cutout.from_corners(bl, tr, t, **options)
    assert mine.process() == _sunpy_process(theirs)
    # width/height form and astropy quantities give the same node
    theirs_wh = jsoc_attrs.Cutout(
        _hpc(*bl, t), width=(tr[0] - bl[0]) * u.arcsec, height=(tr[1] - bl[1]) * u.arcsec, **options
    )
    assert _sunpy_process(theirs_wh) == mine.process()
    assert node_from_dict(node_to_dict(mine)) == mine


def test_cutout_compiles_into_the_export_process_and_validates() -> None:
    info = SeriesInfo(name="hmi.M_45s", primekeys=("T_REC", "CAMERA"))
    cut = Cutout(-300 * u.arcsec, 200 * u.arcsec, 120, 90, "2014-01-01 00:00", rebin=0.5)
    query = Series("hmi.M_45s") & Time("2014-01-01 00:00", "2014-01-01 01:00") & cut
    (compiled,) = compile_query(query, [info])
    assert compiled.process == cut.process()
    assert compiled.process.endswith("|rebin,scale=0.5,method=boxcar")
    assert compiled.export_process == "0|" + cut.process()
    (plain,) = compile_query(Series("hmi.M_45s") & Time("2014-01-01", "2014-01-02"), [info])
    assert plain.process is None
    assert plain.export_process == "0"
    two = query & Cutout(0, 0, 10, 10, "2014-01-01")
    with pytest.raises(QueryError, match="Only one Cutout"):
        compile_query(two, [info])
    for bad in (
        {"width": 0},
        {"height": -1},
        {"t_ref": "not a time"},
        {"rebin": 0},
        {"x": float("nan")},
    ):
        args: dict[str, Any] = {"x": 0, "y": 0, "width": 10, "height": 10, "t_ref": "2014-01-01"}
        args.update(bad)
        with pytest.raises(QueryError):
            Cutout(**args)


@pytest.fixture
def demo_drms(demo_server_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    import drms.config

    server = demo_server_factory(image_size=SIDE, export_delay=0.1)
    monkeypatch.setitem(drms.config._server_configs, "jsoc", drms_server_config(server.base_url))
    return server


def _ar_and_centre(t: str) -> tuple[images.ActiveRegion, float, float]:
    """A big on-disk active region at ``t`` and its helioprojective position then."""
    rec = next(iter(records.select(f"hmi.M_45s[{t.replace('-', '.').replace('T', '_')}_TAI]")[0]))
    g = images.geometry(rec, SIDE)
    ar = max((a for a in images.active_regions(g.t_obs) if abs(a.lon) < 40), key=lambda a: a.peak)
    tx, ty, _ = images.heliographic_to_hpc(g, np.array([ar.lat]), np.array([ar.lon]))
    return ar, float(tx[0]), float(ty[0])


def _ar_pixel(m: Any, ar: images.ActiveRegion) -> tuple[float, float]:
    t_tai = drmstime.parse_time_seconds(m.meta["t_obs"])
    lat, lon = records.harp_position(ar.harpnum, t_tai)
    c = coordinates.SkyCoord(
        lon * u.deg,
        lat * u.deg,
        frame=frames.HeliographicStonyhurst,
        obstime=m.date,
        observer=m.observer_coordinate,
    )
    px = m.world_to_pixel(c)
    return float(px.x.value), float(px.y.value)


def test_drms_im_patch_export_returns_tracked_cutouts_of_the_requested_size(
    demo_drms: Any, tmp_path: Path
) -> None:
    t_ref = "2014-01-01T00:00:00"
    ar, x, y = _ar_and_centre(t_ref)
    width, height = 200.0, 120.0
    client = drms.Client(email=DEMO_EMAIL)
    results = {}
    for tracking in (True, False):
        process = {
            "im_patch": {
                "t_ref": t_ref + ".000",
                "t": int(not tracking),
                "r": 0,
                "c": 0,
                "locunits": "arcsec",
                "boxunits": "arcsec",
                "x": x,
                "y": y,
                "width": width,
                "height": height,
            }
        }
        req = client.export(
            "hmi.M_720s[2014.01.01_00:00:00_TAI/8h@4h]{magnetogram}",
            method="url",
            protocol="fits",
            process=process,
        )
        req.wait(sleep=0.2, timeout=60)
        out = tmp_path / ("tracked" if tracking else "fixed")
        out.mkdir()
        files = req.download(str(out))
        assert len(files) == 2
        seq = sunpy_map.Map(list(files.download), sequence=True)
        assert len(seq) == 2
        cdelt = seq[0].meta["cdelt1"]
        for m in seq:
            assert type(m).__name__ == "HMIMap"
            assert m.data.shape == (round(height / cdelt), round(width / cdelt))
        results[tracking] = [_ar_pixel(m, ar) for m in seq]
    ny, nx = seq[0].data.shape
    centre = ((nx - 1) / 2, (ny - 1) / 2)
    for px, py in results[True]:  # tracked: the region stays at the centre (±1.5 px)
        assert math.hypot(px - centre[0], py - centre[1]) < 1.5
    # Not tracked: 4 h of rotation (about 2.2 deg, 35 arcsec, 4 px) carries it away.
    (px0, _), (px1, _) = results[False]
    assert abs(px1 - px0) > 3


def _collect_parfive_loop() -> None:
    """parfive (under sunpy's fetch) runs its downloads on an event loop it never closes;
    collect it here, where its ResourceWarning is expected, not in a later test."""
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_sunpy_cutout_search_and_fetch_against_the_demo(demo_drms: Any, tmp_path: Path) -> None:
    from sunpy.net import Fido
    from sunpy.net import attrs as a

    t = "2014-01-01T00:00:00"
    _, x, y = _ar_and_centre(t)
    bl = _hpc(x - 150, y - 100, t)
    cut = a.jsoc.Cutout(bl, width=300 * u.arcsec, height=200 * u.arcsec, tracking=True)
    res = Fido.search(
        a.Time("2014-01-01T00:00:00", "2014-01-01T00:25:00"),
        a.jsoc.Series("aia.lev1_euv_12s"),
        a.Wavelength(171 * u.AA),
        a.jsoc.Notify(DEMO_EMAIL),
        a.jsoc.Segment("image"),
        a.Sample(10 * u.min),
        cut,
    )
    assert res.file_num == 3
    files = Fido.fetch(res, path=str(tmp_path / "{file}"), progress=False)
    _collect_parfive_loop()
    assert len(files) == 3
    assert not files.errors
    seq = sunpy_map.Map(sorted(files), sequence=True)
    assert len(seq) == 3
    for m in seq:
        assert type(m).__name__ == "AIAMap"
        cdelt = m.meta["cdelt1"]
        assert m.data.shape == (round(200 / cdelt), round(300 / cdelt))
    # The jsocdesk Cutout for the same box is the same process (to the last digits sunpy's
    # angle wrapping leaves; exact strings for exact inputs: test_cutout_process_string…).
    mine = Cutout(x, y, 300, 200, t, tracking=True)

    def parsed(text: str) -> dict[str, Any]:
        items = dict(kv.split("=") for kv in text.split(",")[1:])
        return {k: float(v) if k in ("x", "y", "width", "height") else v for k, v in items.items()}

    theirs = parsed(_sunpy_process(cut))
    assert parsed(mine.process()) == {
        k: pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for k, v in theirs.items()
    }


def test_rebin_and_resize_follow_the_wcs(demo_drms: Any, tmp_path: Path) -> None:
    client = drms.Client(email=DEMO_EMAIL)
    shapes = {}
    for name, process in (
        ("full", None),
        ("rebin", {"rebin": {"method": "boxcar", "scale": 0.5}}),
        ("resize", {"resize": {"regrid": 1, "center_to": 0, "rescale": 1, "scale_to": 12.0}}),
        (
            "patch+rebin",
            {
                "im_patch": {
                    "t_ref": "2014-01-01T00:00:00.000",
                    "t": 1,
                    "r": 0,
                    "c": 1,
                    "locunits": "arcsec",
                    "boxunits": "arcsec",
                    "x": 900.0,
                    "y": 0.0,
                    "width": 320.0,
                    "height": 160.0,
                },
                "rebin": {"method": "boxcar", "scale": 0.5},
            },
        ),
    ):
        req = client.export(
            "hmi.Ic_45s[2014.01.01_00:00:00_TAI]{continuum}",
            method="url",
            protocol="fits",
            process=process,
        )
        req.wait(sleep=0.2, timeout=60)
        out = tmp_path / name
        out.mkdir()
        (path,) = req.download(str(out)).download
        m = sunpy_map.Map(path)
        shapes[name] = (m.data.shape, m.meta["cdelt1"])
        # The disk centre and the limb are where the header says after every step.
        centre = m.world_to_pixel(
            coordinates.SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=m.coordinate_frame)
        )
        assert float(centre.x.value) == pytest.approx(m.meta["crpix1"] - 1, abs=0.01)
        if name != "patch+rebin":
            r = m.rsun_obs.to_value(u.arcsec) / m.meta["cdelt1"]
            assert np.isfinite(m.data).sum() == pytest.approx(math.pi * r * r, rel=0.03)
        else:  # c=1: off-limb NaN; the patch straddles the west limb
            assert 0.2 < np.isfinite(m.data).mean() < 0.9
    (full_shape, full_cdelt) = shapes["full"]
    assert shapes["rebin"] == (
        (full_shape[0] // 2, full_shape[1] // 2),
        pytest.approx(2 * full_cdelt),
    )
    assert shapes["resize"][1] == pytest.approx(12.0)
    assert shapes["resize"][0][0] == round(full_shape[0] * full_cdelt / 12.0)
    assert shapes["patch+rebin"][0] == (round(160 / full_cdelt) // 2, round(320 / full_cdelt) // 2)


def test_bad_im_patch_arguments_fail_the_export(demo_drms: Any) -> None:
    client = drms.Client(email=DEMO_EMAIL)
    req = client.export(
        "hmi.M_45s[2014.01.01_00:00:00_TAI]",
        method="url",
        protocol="fits",
        process={"im_patch": {"x": 0, "y": 0, "width": -5, "height": 10}},
    )
    assert req.status == 4
    assert "im_patch" in req._d["error"]


def test_jsocdesk_export_of_a_query_with_a_cutout(demo_server_factory: Any, tmp_path: Path) -> None:
    """The query's Cutout travels: compile → ExportJob.process → the demo crops and rebins."""
    import httpx

    from jsocdesk.core.jsoc.export import ExportJob, PollPolicy
    from tests.core.test_client_transport import with_client

    server = demo_server_factory(image_size=SIDE, export_delay=0.1)
    info = series_info("aia.lev1_euv_12s")
    cut = Cutout(-200.0, 100.0, 240.0, 160.0, "2014-01-01T00:00:00", tracking=True, rebin=0.5)
    query = (
        Series("aia.lev1_euv_12s")
        & Time("2014-01-01T00:00:00", "2014-01-01T00:00:11")
        & Wavelength(171 * u.AA)
        & Segment("image")
        & cut
    )
    (compiled,) = compile_query(query, [info])

    async def body(c: Any) -> list[bytes]:
        job = ExportJob(
            compiled.record_set,
            DEMO_EMAIL,
            method="url",
            protocol="fits",
            process=compiled.export_process,
        )
        urls = await job.run(c, PollPolicy(first=0.05, cap=0.2))
        async with httpx.AsyncClient() as http:
            return [(await http.get(url)).content for url in urls]

    contents = with_client(server, body)
    assert 1 <= len(contents) <= 2
    full_cdelt = 4096 * images.full_width("aia.lev1")[1] / SIDE
    for i, content in enumerate(contents):
        path = tmp_path / f"cut{i}.fits"
        path.write_bytes(content)
        m = sunpy_map.Map(path)
        assert type(m).__name__ == "AIAMap"
        assert m.meta["cdelt1"] == pytest.approx(2 * full_cdelt, rel=1e-6)
        assert m.data.shape == (round(160 / full_cdelt) // 2, round(240 / full_cdelt) // 2)


def test_fetch_command_carries_the_sessions_cutout(
    demo_server_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``jsocdesk fetch`` of a session whose query has a Cutout downloads the cutouts."""
    from jsocdesk.cli import main
    from tests.core.test_search_cli import write_session

    server = demo_server_factory(image_size=SIDE, export_delay=0.1)
    query = (
        Series("hmi.M_720s")
        & Time("2014-01-01T00:00:00", "2014-01-01T00:30:00")
        & Cutout(100.0, -50.0, 160.0, 96.0, "2014-01-01T00:00:00", tracking=True)
    )
    session = write_session(tmp_path / "cut.json", query)
    out = tmp_path / "out"
    args = ["fetch", str(session), "--out", str(out), "--server", server.base_url]
    assert main([*args, "--poll", "0.1", "--email", DEMO_EMAIL]) == 0
    capsys.readouterr()
    files = sorted(out.iterdir())
    # one file per 720 s slot of 00:00-00:30 UTC (the record set is in TAI)
    expected = records.select("hmi.M_720s[2014.01.01_00:00:35_TAI-2014.01.01_00:30:35_TAI]")
    assert len(files) == expected[0].count() == 4
    assert all(f.name.startswith("hmi.m_720s_mod.") for f in files)
    cdelt = 4096 * images.full_width("hmi.M_720s")[1] / SIDE
    seq = sunpy_map.Map([str(f) for f in files], sequence=True)
    for m in seq:
        assert type(m).__name__ == "HMIMap"
        assert m.data.shape == (round(96 / cdelt), round(160 / cdelt))


@pytest.mark.parametrize(
    ("spec", "segment", "cls"),
    [
        ("hmi.M_45s[2014.01.01_00:00:00_TAI]", "magnetogram", "HMIMap"),
        # the file-holding AIA series (the cadence series link into it; the demo gives the
        # cadence records geometry keywords of their own, which JSOC copies from aia.lev1)
        ("aia.lev1[2014.01.01_00:00:00_TAI]", "image_lev1", "AIAMap"),
    ],
)
def test_context_image_is_the_stored_file_with_the_records_wcs(
    demo_server_factory: Any, tmp_path: Path, spec: str, segment: str, cls: str
) -> None:
    """The first record's stored file (no export) plus its rs_list geometry keywords, rescaled
    to the file: the same WCS as the fits export of that record, the disk where sunpy says."""
    from jsocdesk.core.jsoc.context import fetch_context_image
    from jsocdesk.demo import fitsgen
    from tests.core.test_client_transport import with_client

    server = demo_server_factory(image_size=SIDE)

    async def body(c: Any) -> Path:
        return await fetch_context_image(c, spec, segment, tmp_path / "ctx")

    path = with_client(server, body)
    m = sunpy_map.Map(path)
    assert type(m).__name__ == cls
    rec = next(iter(records.select(spec)[0]))
    seg = rec.series.segment(segment)
    assert seg is not None
    if seg.link is not None:  # the cadence series' segments are links into aia.lev1
        target = records.resolve_segment(rec, seg)
        assert target is not None
        rec, seg = target
    ref_path = tmp_path / "ref.fits"
    fitsgen.write_segment(ref_path, rec, seg, 0, full=True, image_size=SIDE)
    ref = sunpy_map.Map(ref_path)
    for key in ("crpix1", "crpix2", "cdelt1", "rsun_obs", "dsun_obs", "crlt_obs"):
        assert m.meta[key] == pytest.approx(ref.meta[key], rel=1e-5, abs=1e-4), key
    # the demo's AIA series lists no CROTA2 (north up is assumed): within 0.05 deg
    assert m.meta["crota2"] == pytest.approx(ref.meta["crota2"], abs=0.05)
    np.testing.assert_array_equal(m.data, ref.data)
