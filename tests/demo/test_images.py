"""The demo's rendered solar images: sunpy opens them as the right map class, the disk is
where their WCS and observer cards say, and the active regions sit where the HARP records
put them (moving with differential rotation)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from jsocdesk.demo import fitsgen, images, records

sunpy_map = pytest.importorskip("sunpy.map")
maputils = pytest.importorskip("sunpy.map.maputils")
u = pytest.importorskip("astropy.units")
coordinates = pytest.importorskip("astropy.coordinates")
frames = pytest.importorskip("sunpy.coordinates.frames")

SIDE = 160
T = "2014.01.01_00:00:00_TAI"

#: (record set, segment, sunpy map class, content) for every modelled image series.
CASES = [
    (f"hmi.M_45s[{T}]", "magnetogram", "HMIMap", "MAGNETOGRAM"),
    (f"hmi.V_45s[{T}]", "Dopplergram", "HMIMap", "DOPPLERGRAM"),
    (f"hmi.Ic_45s[{T}]", "continuum", "HMIMap", "CONTINUUM INTENSITY"),
    (f"hmi.Lw_45s[{T}]", "linewidth", "HMIMap", "LINEWIDTH"),
    (f"hmi.Ld_45s[{T}]", "linedepth", "HMIMap", "LINEDEPTH"),
    (f"hmi.M_720s[{T}]", "magnetogram", "HMIMap", "MAGNETOGRAM"),
    (f"hmi.ME_720s_fd10[{T}]", "inclination", "HMIMap", None),
    (f"hmi.B_720s[{T}]", "field", "HMIMap", None),
    *((f"aia.lev1_euv_12s[{T}][{w}]", "image", "AIAMap", None) for w in (94, 171, 193, 304)),
    *((f"aia.lev1_euv_12s[{T}][{w}]", "image", "AIAMap", None) for w in (131, 211, 335)),
    (f"aia.lev1_uv_24s[{T}][1600]", "image", "AIAMap", None),
    (f"aia.lev1_uv_24s[{T}][1700]", "image", "AIAMap", None),
    ("aia.lev1_vis_1h[2014.01.01_00:00:00_TAI][4500]", "image", "AIAMap", None),
    (f"aia.lev1[{T}]", "image_lev1", "AIAMap", None),
    ("mdi.fd_M_96m_lev182[2008.01.01_00:00:00_TAI]", "data", "MDIMap", None),
    ("mdi.fd_V[2008.01.01_00:00:00_TAI]", "data", "MDIMap", None),
]


def _record(spec: str) -> records.Record:
    return next(iter(records.select(spec)[0]))


def _write(tmp_path: Path, spec: str, seg_name: str, side: int = SIDE) -> tuple[Path, object]:
    rec = _record(spec)
    seg = rec.series.segment(seg_name)
    assert seg is not None
    if seg.link is not None:
        # the cadence series' segments are links into aia.lev1: the file is the linked one's
        target = records.resolve_segment(rec, seg)
        assert target is not None
        rec, seg = target
    path = tmp_path / f"{rec.series.name}.{rec.recnum}.{seg_name}.fits"
    fitsgen.write_segment(path, rec, seg, 0, full=True, image_size=side)
    return path, rec


@pytest.mark.parametrize(("spec", "seg_name", "cls", "content"), CASES)
def test_files_open_as_sunpy_maps_with_the_disk_where_the_wcs_says(
    tmp_path: Path, spec: str, seg_name: str, cls: str, content: str | None
) -> None:
    path, _rec = _write(tmp_path, spec, seg_name)
    m = sunpy_map.Map(path)
    assert type(m).__name__ == cls
    assert m.data.shape == (SIDE, SIDE)
    header = fits.getheader(path)
    for card in ("CTYPE1", "CUNIT1", "CRVAL1", "CDELT1", "CROTA2", "RSUN_OBS", "DSUN_OBS"):
        assert card in header
    for card in ("CRLN_OBS", "CRLT_OBS", "DATE-OBS", "WAVELNTH", "WAVEUNIT", "EXPTIME"):
        assert card in header
    if content is not None:
        assert header["CONTENT"] == content
    # Disk centre: sunpy puts Sun centre at CRPIX (CRVAL 0, 0).
    centre = m.world_to_pixel(
        coordinates.SkyCoord(0 * u.arcsec, 0 * u.arcsec, frame=m.coordinate_frame)
    )
    assert float(centre.x.value) == pytest.approx(header["CRPIX1"] - 1, abs=0.01)
    assert float(centre.y.value) == pytest.approx(header["CRPIX2"] - 1, abs=0.01)
    assert m.rsun_obs.to_value(u.arcsec) == pytest.approx(header["RSUN_OBS"], rel=1e-6)
    # The disk in the pixels is sunpy's disk.
    on = maputils.coordinate_is_on_solar_disk(maputils.all_coordinates_from_map(m))
    radius_px = header["RSUN_OBS"] / header["CDELT1"]
    assert on.sum() == pytest.approx(math.pi * radius_px**2, rel=0.03)
    data = np.asarray(m.data, dtype=float)
    if cls == "AIAMap":
        assert np.isfinite(data).all()
        yy, xx = np.indices(data.shape)
        r = np.hypot(xx - (header["CRPIX1"] - 1), yy - (header["CRPIX2"] - 1)) / radius_px
        inner = np.median(data[(r > 0.85) & (r < 0.95)])
        outer = np.median(data[(r > 1.15) & (r < 1.3)])
        assert inner > 2 * outer
    elif seg_name in ("disambig", "conf_disambig"):
        pass
    else:
        finite = np.isfinite(data)
        assert (finite != on).sum() <= 0.01 * on.sum()  # NaN off the disk, as JSOC has it


def test_same_record_same_bytes_and_the_size_follows_the_byte_budget(tmp_path: Path) -> None:
    rec = _record(f"hmi.M_45s[{T}]")
    seg = rec.series.segment("magnetogram")
    assert seg is not None
    a, b, c = tmp_path / "a.fits", tmp_path / "b.fits", tmp_path / "c.fits"
    fitsgen.write_segment(a, rec, seg, 100_000, full=False)
    fitsgen.write_segment(b, rec, seg, 100_000, full=False)
    assert a.read_bytes() == b.read_bytes()
    side = math.isqrt(100_000 // 4)
    assert fits.getdata(a).shape == (side, side)
    fitsgen.write_segment(c, rec, seg, 100_000, full=False, image_size=96)
    assert fits.getdata(c).shape == (96, 96)
    # Another record of the same series differs.
    other = _record("hmi.M_45s[2014.01.01_00:12:00_TAI]")
    fitsgen.write_segment(c, other, seg, 100_000, full=False)
    assert c.read_bytes() != a.read_bytes()


def _strongest_near(m: object, lat: float, lon: float, radius_deg: float) -> float:
    coord = coordinates.SkyCoord(
        lon * u.deg,
        lat * u.deg,
        frame=frames.HeliographicStonyhurst,
        obstime=m.date,  # type: ignore[attr-defined]
        observer=m.observer_coordinate,  # type: ignore[attr-defined]
    )
    px = m.world_to_pixel(coord)  # type: ignore[attr-defined]
    header = m.meta  # type: ignore[attr-defined]
    r = math.radians(radius_deg) * header["rsun_obs"] / header["cdelt1"]
    data = np.asarray(m.data, dtype=float)  # type: ignore[attr-defined]
    yy, xx = np.indices(data.shape)
    near = np.hypot(xx - float(px.x.value), yy - float(px.y.value)) <= r
    return float(np.nanmax(np.abs(data[near])))


def test_active_regions_sit_where_the_sharp_records_say_and_rotate(tmp_path: Path) -> None:
    """The magnetogram is strong at the HARP's LAT_FWT/LON_FWT (read from the SHARP
    record of the same T_REC) and weak on the quiet Sun; a day later the region has moved
    west by the differential-rotation rate of its latitude."""
    gen = records.KeywordGen(records.get_series("hmi.sharp_720s"))
    for t_text in ("2014.01.01_00:00:00_TAI", "2014.01.02_00:00:00_TAI"):
        path, rec = _write(tmp_path, f"hmi.M_720s[{t_text}]", "magnetogram", side=512)
        m = sunpy_map.Map(path)
        ars = images.active_regions(images.geometry(rec, 512).t_obs)
        big = [a for a in ars if a.peak > 1500 and abs(a.lon) < 60]
        assert big
        for ar in big:
            sharp = next(iter(records.select(f"hmi.sharp_720s[{ar.harpnum}][{t_text}]")[0]))
            lat = float(gen.raw(sharp, "LAT_FWT"))
            lon = float(gen.raw(sharp, "LON_FWT"))
            assert lat == pytest.approx(ar.lat, abs=0.05)
            assert lon == pytest.approx(ar.lon, abs=0.2)  # T_REC vs T_OBS: 0.1 deg apart
            assert _strongest_near(m, lat, lon, ar.sep / 2 + 2 * ar.sigma) > 800
    n = big[0].harpnum
    lat0, lon0 = records.harp_position(n, 1e9)
    _, lon1 = records.harp_position(n, 1e9 + 86400)
    assert lon1 - lon0 == pytest.approx(records.synodic_rate(lat0))
    assert records.synodic_rate(0.0) > records.synodic_rate(30.0) > records.synodic_rate(60.0)


def test_sharp_patches_are_cut_from_the_full_disk_frame_of_their_t_rec(tmp_path: Path) -> None:
    """A SHARP's magnetogram is the hmi.M_720s frame of the same T_REC, cropped around the
    region; its WCS puts every pixel where the full frame has it; the bitmap's core holds the
    region's flux-weighted centre; CRPIX in the listing is the file's (at 4096²)."""
    t = "2014.01.01_00:00:00_TAI"
    full_path, full_rec = _write(tmp_path, f"hmi.M_720s[{t}]", "magnetogram", side=512)
    full = sunpy_map.Map(full_path)
    ar = max(images.active_regions(images.geometry(full_rec, 512).t_obs), key=lambda a: a.peak)
    spec = f"hmi.sharp_720s[{ar.harpnum}][{t}]"
    path, rec = _write(tmp_path, spec, "magnetogram", side=512)
    m = sunpy_map.Map(path)
    assert type(m).__name__ == "HMIMap"
    patch = images.sharp_patch(rec, 512)
    assert m.data.shape == (patch.ny, patch.nx)
    np.testing.assert_array_equal(
        m.data, full.data[patch.y0 : patch.y0 + patch.ny, patch.x0 : patch.x0 + patch.nx]
    )
    corner = m.pixel_to_world(0 * u.pix, 0 * u.pix)
    same = full.pixel_to_world(patch.x0 * u.pix, patch.y0 * u.pix)
    assert corner.Tx.to_value(u.arcsec) == pytest.approx(same.Tx.to_value(u.arcsec), abs=1e-6)
    assert corner.Ty.to_value(u.arcsec) == pytest.approx(same.Ty.to_value(u.arcsec), abs=1e-6)
    bitmap_path, _ = _write(tmp_path, spec, "bitmap", side=512)
    bitmap = sunpy_map.Map(bitmap_path)
    gen = records.KeywordGen(rec.series)
    lat, lon = float(gen.raw(rec, "LAT_FWT")), float(gen.raw(rec, "LON_FWT"))
    centre = coordinates.SkyCoord(
        lon * u.deg,
        lat * u.deg,
        frame=frames.HeliographicStonyhurst,
        obstime=bitmap.date,
        observer=bitmap.observer_coordinate,
    )
    px = bitmap.world_to_pixel(centre)
    assert bitmap.data[round(float(px.y.value)), round(float(px.x.value))] in (33, 34)
    assert set(np.unique(bitmap.data)) <= {0, 1, 33, 34}
    listed = images.sharp_patch(rec, 4096).geometry
    assert float(gen.raw(rec, "CRPIX1")) == pytest.approx(listed.crpix1)
