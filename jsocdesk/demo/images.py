"""Synthetic full-disk solar images for the demo's image series (HMI, AIA, MDI).

Every image is a pure function of (record, segment, image side): the observer geometry
comes from the record's keywords (``CRLT_OBS``, ``CRLN_OBS``, ``DSUN_OBS``, ``RSUN_OBS``,
``CRPIX``/``CROTA2`` scaled to the image side), the active regions from the demo's HARP
schedule (:func:`jsocdesk.demo.records.harp_position`, the same positions the SHARP records
list as ``LAT_FWT``/``LON_FWT``, moving with differential rotation), and the quiet-Sun
patterns (network, supergranulation, coronal holes) from fixed textures in Carrington
coordinates.  Rendering is vectorised numpy over blocks of rows, so a 4096² image never
needs more than a few blocks of intermediates, and every pixel lands where the FITS WCS of
:func:`wcs_cards` says (the disk is drawn by intersecting each pixel's line of sight with
the solar sphere seen from ``DSUN_OBS``, like sunpy's coordinate frames).

Physical values are float32 (NaN off the disk where JSOC's files have it: HMI and MDI);
:func:`encode` turns them into the segment's stored integers (``BSCALE``/``BZERO``/``BLANK``).
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np

from jsocdesk.core import drmstime
from jsocdesk.demo import records
from jsocdesk.demo.records import KeywordGen, Record
from jsocdesk.demo.series import Seg

ARCSEC = math.pi / 180.0 / 3600.0
#: Pixels rendered per block: the intermediates of a block stay in the CPU caches.
BLOCK_PIXELS = 1 << 18


def block_rows(n: int) -> int:
    return max(8, min(256, BLOCK_PIXELS // max(1, n)))


#: Keep rendered frames (stored integers) up to this many bytes; cutouts and repeated
#: downloads of the same record reuse them.
CACHE_BYTES = 192 * 1024 * 1024
#: Images of more pixels than this are streamed block by block and never cached.
CACHE_MAX_SIDE = 4096

ROT_A, ROT_B, ROT_C = records.ROT_A, records.ROT_B, records.ROT_C

HMI_KINDS = {
    "magnetogram": "magnetogram",
    "dopplergram": "doppler",
    "continuum": "continuum",
    "linewidth": "linewidth",
    "linedepth": "linedepth",
    "field": "field",
    "inclination": "inclination",
    "azimuth": "azimuth",
    "vlos_mag": "vlos",
    "dop_width": "dopwidth",
    "eta_0": "eta0",
    "confid_map": "confid",
    "disambig": "disambig",
    "conf_disambig": "confdisambig",
}
MDI_KINDS = {"mdi.fd_v": "doppler", "mdi.fd_m_96m_lev182": "magnetogram"}
MDI_KINDS["mdi.fd_m_lev182"] = "magnetogram"
#: (disk intensity DN, active-region gain, off-limb scale height R_sun, coronal-hole depth,
#: limb brightening, loop gain) per AIA wavelength.
AIA_EUV = {
    94: (6.0, 14.0, 0.12, 0.6, 0.25, 3.0),
    131: (14.0, 12.0, 0.10, 0.6, 0.25, 3.0),
    171: (600.0, 3.0, 0.07, 0.5, 0.5, 1.6),
    193: (700.0, 3.5, 0.09, 0.9, 0.45, 0.9),
    211: (220.0, 4.5, 0.09, 0.9, 0.45, 0.9),
    304: (120.0, 5.0, 0.035, 0.4, 0.2, 0.3),
    335: (20.0, 10.0, 0.12, 0.7, 0.3, 2.0),
}
AIA_UV = {1600: 110.0, 1700: 1800.0, 4500: 3000.0}


#: SHARP (CCD) segments cut from the full-disk series of the same T_REC, as JSOC makes them.
SHARP_SOURCES = {
    "magnetogram": ("hmi.M_720s", "magnetogram"),
    "Dopplergram": ("hmi.V_720s", "Dopplergram"),
    "continuum": ("hmi.Ic_720s", "continuum"),
    **{
        n: ("hmi.ME_720s_fd10", n)
        for n in ("inclination", "azimuth", "field", "vlos_mag", "dop_width", "eta_0")
    },
}


def image_kind(series_name: str, seg: Seg) -> str | None:
    """What a segment shows (``"magnetogram"``, ``"aia"``, ``"sharp"`` …), None for others."""
    low = series_name.lower()
    if low == "hmi.sharp_720s" and (seg.name in SHARP_SOURCES or seg.name == "bitmap"):
        return "sharp"
    if seg.dims != "4096x4096" and not low.startswith("mdi.fd_"):
        return None
    if low.startswith("hmi."):
        return HMI_KINDS.get(seg.name.lower())
    if low.startswith("aia.") and seg.name.lower() in ("image", "image_lev1"):
        return "aia"
    if low in MDI_KINDS and seg.name == "data":
        return MDI_KINDS[low]
    return None


def stored_dtype(series_name: str, seg: Seg) -> np.dtype[np.generic]:
    """The stored type of an image segment: AIA int16 DN, HMI/MDI float32 with NaN off the
    disk (JSOC's HMI files are Rice-compressed scaled integers that read back as exactly
    that; sunpy opens files with ``ignore_blank=True``, so plain integers with BLANK would
    show their BLANK value), flags as bytes."""
    if seg.type == "char":
        return np.dtype(">u1")
    if series_name.lower().startswith("aia."):
        return np.dtype(">i2")
    return np.dtype(">f4")


def image_side(rec: Record, seg: Seg, target_bytes: int, image_size: int | None) -> int | None:
    """Side of the square solar image a segment is rendered at (None: not an image).

    ``image_size`` (``serve-demo --image-size``) wins; without it the side follows the
    byte budget ``target_bytes`` (``--segment-bytes``), so small test servers stay small.
    """
    if image_kind(rec.series.name, seg) is None:
        return None
    if image_size is not None:
        return max(16, image_size)
    itemsize = stored_dtype(rec.series.name, seg).itemsize
    return max(16, math.isqrt(max(1, target_bytes) // itemsize))


def segment_bytes(rec: Record, seg: Seg, target_bytes: int, image_size: int | None) -> int:
    """About how many data bytes :func:`write_segment` writes for a segment."""
    side = image_side(rec, seg, target_bytes, image_size)
    if side is None:
        return target_bytes
    return side * side * stored_dtype(rec.series.name, seg).itemsize


def blank_value(dtype: np.dtype[np.generic]) -> int | None:
    """BLANK of a stored type: none (AIA images have no missing pixels off the disk)."""
    return None


# --- geometry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Geometry:
    """Observer and image geometry of one image (FITS conventions: 1-based CRPIX)."""

    n: int
    crpix1: float
    crpix2: float
    cdelt: float  # arcsec per pixel
    crota2: float  # degrees
    rsun_obs: float  # arcsec
    dsun_obs: float  # metres
    b0: float  # CRLT_OBS, degrees
    l0: float  # CRLN_OBS, degrees
    t_obs: float  # DRMS seconds (TAI)
    car_rot: int

    @property
    def rsun_px(self) -> float:
        return self.rsun_obs / self.cdelt

    @property
    def q(self) -> float:
        """Observer distance in solar radii."""
        return self.dsun_obs / records.RSUN_REF


def full_width(series_name: str) -> tuple[int, float]:
    """(native image side, native arcsec per pixel) of the instrument (the series'
    CDELT1 keyword where it has one)."""
    low = series_name.lower()
    if low.startswith("aia."):
        return 4096, 0.6
    if low.startswith("mdi."):
        return 1024, 1.98166
    return 4096, 0.504376


def geometry(rec: Record, n: int) -> Geometry:
    """The geometry of record ``rec`` rendered at ``n``² pixels (for a SHARP: of its patch,
    cut from the ``n``² full-disk frame)."""
    if rec.series.model == "harp":
        return sharp_patch(rec, n).geometry
    gen = KeywordGen(rec.series)
    t_obs = float(gen.raw(rec, "T_OBS") or rec.t or 0.0)
    native, native_cdelt = full_width(rec.series.name)
    scale = native / n

    def pix(name: str) -> float:
        v = float(gen.raw(rec, name))  # the instrument's frame, jittered a little per record
        return (v - 0.5) / scale + 0.5

    crota2 = float(gen.raw(rec, "CROTA2"))
    return Geometry(
        n=n,
        crpix1=pix("CRPIX1"),
        crpix2=pix("CRPIX2"),
        cdelt=native_cdelt * scale,
        crota2=crota2,
        rsun_obs=float(gen.raw(rec, "RSUN_OBS")),
        dsun_obs=float(gen.raw(rec, "DSUN_OBS")),
        b0=float(gen.raw(rec, "CRLT_OBS")),
        l0=float(gen.raw(rec, "CRLN_OBS")),
        t_obs=t_obs,
        car_rot=int(gen.raw(rec, "CAR_ROT")),
    )


def hpc_to_pixel(g: Geometry, tx: np.ndarray, ty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Helioprojective arcsec → 0-based pixel (x, y)."""
    c, s = math.cos(math.radians(g.crota2)), math.sin(math.radians(g.crota2))
    xi = c * tx + s * ty
    yi = -s * tx + c * ty
    return xi / g.cdelt + g.crpix1 - 1.0, yi / g.cdelt + g.crpix2 - 1.0


def pixel_to_hpc(g: Geometry, px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0-based pixel → helioprojective arcsec (the FITS CROTA2 convention)."""
    c, s = math.cos(math.radians(g.crota2)), math.sin(math.radians(g.crota2))
    xi = (px + 1.0 - g.crpix1) * g.cdelt
    yi = (py + 1.0 - g.crpix2) * g.cdelt
    return c * xi - s * yi, s * xi + c * yi


def heliographic_to_hpc(
    g: Geometry, lat: np.ndarray, lon: np.ndarray, height: np.ndarray | float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stonyhurst (deg, deg, R_sun above the surface) → (Tx, Ty arcsec, visible mask)."""
    r = 1.0 + np.asarray(height, dtype=np.float64)
    la, lo = np.radians(lat), np.radians(lon)
    b0 = math.radians(g.b0)
    x = r * np.cos(la) * np.sin(lo)
    y0 = r * np.sin(la)
    z0 = r * np.cos(la) * np.cos(lo)
    y = y0 * math.cos(b0) - z0 * math.sin(b0)
    z = y0 * math.sin(b0) + z0 * math.cos(b0)
    q = g.q
    dist = np.sqrt(x * x + y * y + (q - z) ** 2)
    tx = np.degrees(np.arctan2(x, q - z)) * 3600.0
    ty = np.degrees(np.arcsin(y / dist)) * 3600.0
    # Hidden behind the disk: on the far side and projected inside the limb.
    inside = np.hypot(tx, ty) < g.rsun_obs
    visible = ~((z < 0) & inside)
    return tx, ty, visible


@dataclass
class Block:
    """Per-pixel geometry of a block of rows (float32 arrays of one shape)."""

    rho: np.ndarray  # apparent distance from disk centre, in apparent radii
    on: np.ndarray  # on the disk
    mu: np.ndarray  # cosine of the angle between the surface normal and the line of sight
    lat: np.ndarray  # Stonyhurst latitude (deg), NaN off disk
    lon: np.ndarray  # Stonyhurst longitude (deg), NaN off disk
    x: np.ndarray  # heliocentric x (R_sun, towards solar west): cos(lat) sin(lon)
    sinlat: np.ndarray
    rows: tuple[int, int]
    cols: tuple[int, int]
    l0: float  # CRLN_OBS: Carrington longitude of the disk centre

    _sampler: Sampler | None = None
    _tex: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def carr(self) -> np.ndarray:
        return self.lon + np.float32(self.l0)

    def tex(self, name: str) -> np.ndarray:
        """Texture ``name`` sampled at this block's pixels (computed once per block)."""
        if name not in self._tex:
            if self._sampler is None:
                self._sampler = Sampler.at(self.lat, self.carr, self.on)
            self._tex[name] = self._sampler.sample(textures()[name])
        return self._tex[name]


def block_geometry(g: Geometry, rows: tuple[int, int], cols: tuple[int, int]) -> Block:
    """Heliographic coordinates of every pixel of rows ``rows`` × columns ``cols``."""
    f = np.float32
    px = np.arange(cols[0], cols[1], dtype=f)[None, :]
    py = np.arange(rows[0], rows[1], dtype=f)[:, None]
    tx, ty = pixel_to_hpc(g, px, py)
    return _sphere(g, tx.astype(f), ty.astype(f), rows, cols)


def hpc_to_heliographic(g: Geometry, tx: float, ty: float) -> tuple[float, float]:
    """Stonyhurst (lat, lon) degrees of the disk point at (Tx, Ty) arcsec (NaN off disk)."""
    blk = _sphere(g, np.array([[tx]], np.float64), np.array([[ty]], np.float64), (0, 1), (0, 1))
    return float(blk.lat[0, 0]), float(blk.lon[0, 0])


def _sphere(
    g: Geometry, tx: np.ndarray, ty: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]
) -> Block:
    """Intersect the lines of sight (Tx, Ty) with the solar sphere seen from ``DSUN_OBS``."""
    f = tx.dtype.type
    a = tx * f(ARCSEC)
    b = ty * f(ARCSEC)
    # Angles are below 0.02 rad: Taylor series are exact to float32 and much faster.
    a2, b2 = a * a, b * b
    sa = a * (1 - a2 * f(1 / 6) * (1 - a2 * f(1 / 20)))
    sb = b * (1 - b2 * f(1 / 6) * (1 - b2 * f(1 / 20)))
    ca = 1 - a2 * f(0.5) * (1 - a2 * f(1 / 12))
    cb = 1 - b2 * f(0.5) * (1 - b2 * f(1 / 12))
    ux = sa * cb  # line-of-sight direction components across the sky
    uy = np.broadcast_to(sb, ux.shape)
    sin_t = np.sqrt(ux * ux + uy * uy)
    cos_t = ca * cb
    q = f(g.q)
    rho = sin_t * q  # 1 at the apparent limb (sin RSUN_OBS = 1/q)
    on = rho <= 1.0
    mu0 = np.sqrt(np.clip(1.0 - rho * rho, 0.0, None))
    r_perp = rho * cos_t - mu0 * sin_t
    z = rho * sin_t + mu0 * cos_t
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(sin_t > 0, r_perp / sin_t, 0.0).astype(f)
    x = ux * k
    y = uy * k
    d = q * cos_t - mu0
    mu = np.clip((q * z - 1.0) / np.maximum(d, f(1e-6)), 0.0, 1.0).astype(f)
    b0 = math.radians(g.b0)
    sinlat = np.clip(y * f(math.cos(b0)) + z * f(math.sin(b0)), -1.0, 1.0)
    lat = np.degrees(np.arcsin(sinlat)).astype(f)
    lon = np.degrees(np.arctan2(x, z * f(math.cos(b0)) - y * f(math.sin(b0)))).astype(f)
    lat[~on] = np.nan
    lon[~on] = np.nan
    return Block(
        rho=(np.sqrt(a * a + b * b) / f(g.rsun_obs * ARCSEC)).astype(f),
        on=on,
        mu=np.where(on, mu, 0.0).astype(f),
        lat=lat,
        lon=lon,
        x=x,
        sinlat=sinlat,
        rows=rows,
        cols=cols,
        l0=g.l0,
    )


# --- quiet-Sun textures (Carrington longitude × latitude) ----------------------------------

TEX_W, TEX_H = 1024, 512
#: (name, wavelength in degrees): mixed-polarity network, supergranular flows, coronal holes.
TEXTURES = (("network", 1.6), ("supergranules", 2.5), ("holes", 40.0))


def _texture(name: str, wavelength_deg: float) -> np.ndarray:
    rng = np.random.default_rng(records.name_code(name))
    noise = rng.standard_normal((TEX_H, TEX_W))
    fy = np.fft.fftfreq(TEX_H, d=180.0 / TEX_H)[:, None]
    fx = np.fft.rfftfreq(TEX_W, d=360.0 / TEX_W)[None, :]
    k = np.hypot(fx, fy) * wavelength_deg
    band = np.exp(-((k - 1.0) ** 2) / 0.18) if wavelength_deg < 20 else np.exp(-(k**2) * 4.0)
    out = np.fft.irfft2(np.fft.rfft2(noise) * band, s=(TEX_H, TEX_W))
    return np.asarray((out - out.mean()) / (out.std() or 1.0), np.float64)


TEX_W1 = TEX_W + 1  # each row repeats its first texel at the end: x + 1 never wraps


@functools.cache
def textures() -> dict[str, np.ndarray]:
    """Fixed band-limited random fields on the Carrington grid (mean 0, std 1), float32,
    each flattened from (TEX_H, TEX_W + 1): rows are latitudes -90..90, columns Carrington
    longitudes 0..360 with the first column repeated at the end (periodic)."""
    out = {}
    for name, wavelength in TEXTURES:
        t = _texture(name, wavelength)
        padded = np.concatenate([t, t[:, :1]], axis=1).astype(np.float32)
        out[name] = np.ascontiguousarray(padded.ravel())
    return out


@dataclass
class Sampler:
    """Bilinear texture lookup at a block's on-disk pixels (indices and weights computed
    once, then four gathers per texture)."""

    where: np.ndarray
    i00: np.ndarray
    wx: np.ndarray
    wy: np.ndarray
    shape: tuple[int, ...]

    @classmethod
    def at(cls, lat: np.ndarray, carr: np.ndarray, on: np.ndarray) -> Sampler:
        f = np.float32
        where = np.flatnonzero(on)
        yy = (lat.ravel()[where] + f(90.0)) * f((TEX_H - 1) / 180.0)
        xx = np.mod(carr.ravel()[where], f(360.0)) * f(TEX_W / 360.0)
        y0 = np.clip(yy.astype(np.int32), 0, TEX_H - 2)
        x0 = np.minimum(xx.astype(np.int32), TEX_W - 1)
        return cls(where, y0 * TEX_W1 + x0, xx - x0, yy - y0, lat.shape)

    def sample(self, tex: np.ndarray) -> np.ndarray:
        i = self.i00
        a, b = tex.take(i), tex.take(i + 1)
        c, d = tex.take(i + TEX_W1), tex.take(i + TEX_W1 + 1)
        top = a + (b - a) * self.wx
        bot = c + (d - c) * self.wx
        full = np.zeros(int(np.prod(self.shape)), np.float32)
        full[self.where] = top + (bot - top) * self.wy
        return full.reshape(self.shape)


def sample_textures(lat: np.ndarray, carr: np.ndarray, on: np.ndarray) -> dict[str, np.ndarray]:
    """Bilinear samples of every texture at (lat, Carrington lon) where ``on``; 0 elsewhere."""
    s = Sampler.at(lat, carr, on)
    return {name: s.sample(tex) for name, tex in textures().items()}


# --- active regions ------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveRegion:
    harpnum: int
    lat: float  # Stonyhurst degrees of the flux-weighted centre
    lon: float
    sep: float  # footpoint separation, degrees
    tilt: float  # degrees (Joy's law: the leading spot nearer the equator)
    sigma: float  # leading spot width, degrees
    peak: float  # leading spot field, gauss
    lead_sign: int  # +1 / -1 (Hale's law, cycle 24: north leads negative)
    seed: int

    def footpoints(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """(lat, lon) of the leading and the following spot."""
        dlon = self.sep / 2 * math.cos(math.radians(self.tilt))
        dlat = self.sep / 2 * math.sin(math.radians(self.tilt))
        coslat = max(0.2, math.cos(math.radians(self.lat)))
        return (
            (self.lat - dlat, self.lon + dlon / coslat),
            (self.lat + dlat, self.lon - dlon / coslat),
        )


def active_regions(t: float) -> list[ActiveRegion]:
    """The HARP regions alive at DRMS time ``t`` (where their SHARP records put them)."""
    out = []
    for n in records.harps_alive(t, t):
        birth, death = records.harp_life(n)
        if not birth <= t <= death:
            continue
        lat, lon = records.harp_position(n, t)
        if abs(lon) > 100:
            continue
        size = 0.2 + records.unit(records.HARP_SALT, n, 8) * 5.0
        phase = (t - birth) / max(1.0, death - birth)
        growth = max(0.25, math.sin(math.pi * min(1.0, phase * 1.5 + 0.1)) ** 0.5)
        out.append(
            ActiveRegion(
                harpnum=n,
                lat=lat,
                lon=lon,
                sep=3.0 + 1.6 * size,
                tilt=math.copysign(0.5 * abs(lat), lat) + 0.0,
                sigma=0.45 + 0.18 * size,
                peak=min(2900.0, (1400.0 + 300.0 * size) * growth),
                lead_sign=-1 if lat >= 0 else 1,
                seed=records.mix(records.HARP_SALT, n, 77),
            )
        )
    return out


def _dlatlon(blk_lat: np.ndarray, blk_lon: np.ndarray, lat: float, lon: float) -> np.ndarray:
    f = np.float32
    dlat = blk_lat - f(lat)
    dlon = (blk_lon - f(lon)) * f(math.cos(math.radians(lat)))
    return np.asarray(np.nan_to_num(dlat * dlat + dlon * dlon, nan=1e6), np.float32)


def _ar_box(g: Geometry, ar: ActiveRegion, blk: Block) -> tuple[slice, slice] | None:
    """The part of block ``blk`` an active region can touch (None: not at all)."""
    extent = ar.sep / 2 + 5 * ar.sigma * 3.0
    tx, ty, vis = heliographic_to_hpc(g, np.array([ar.lat]), np.array([ar.lon]))
    if not vis[0]:
        return None
    px, py = hpc_to_pixel(g, tx, ty)
    half = math.radians(extent) * g.rsun_px * 1.2 + 4
    r0 = max(blk.rows[0], math.floor(py[0] - half))
    r1 = min(blk.rows[1], math.ceil(py[0] + half))
    c0 = max(blk.cols[0], math.floor(px[0] - half))
    c1 = min(blk.cols[1], math.ceil(px[0] + half))
    if r0 >= r1 or c0 >= c1:
        return None
    return (
        slice(r0 - blk.rows[0], r1 - blk.rows[0]),
        slice(c0 - blk.cols[0], c1 - blk.cols[0]),
    )


def radial_field(g: Geometry, blk: Block, ars: list[ActiveRegion]) -> np.ndarray:
    """Radial field (gauss) on the disk: mixed-polarity network plus the bipoles."""
    f = np.float32
    net = blk.tex("network")
    br = np.asarray(np.sign(net) * np.maximum(np.abs(net) - f(1.2), 0.0) ** 2 * f(40.0), f)
    for ar in ars:
        box = _ar_box(g, ar, blk)
        if box is None:
            continue
        lat, lon = blk.lat[box], blk.lon[box]
        (la1, lo1), (la2, lo2) = ar.footpoints()
        s1 = ar.sigma
        s2 = ar.sigma * 1.5
        lead = ar.peak * np.exp(-_dlatlon(lat, lon, la1, lo1) / f(2 * s1 * s1))
        foll_peak = ar.peak * (s1 / s2) ** 2 * 1.3
        foll = foll_peak * np.exp(-_dlatlon(lat, lon, la2, lo2) / f(2 * s2 * s2))
        plage = f(90.0) * (
            np.exp(-_dlatlon(lat, lon, la1, lo1) / f(2 * (2.2 * s1) ** 2))
            - np.exp(-_dlatlon(lat, lon, la2, lo2) / f(2 * (2.2 * s2) ** 2))
        )
        br[box] += (ar.lead_sign * (lead - foll + plage)).astype(f)
    return br


@functools.lru_cache(maxsize=16)
def loop_points(
    g: Geometry, ars: tuple[ActiveRegion, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coronal loops of the active regions (semicircles between the polarities, hidden
    behind the disk) as frame pixels (iy, ix) and brightness, dense enough to leave no gaps."""
    ys, xs, bs = [], [], []
    for ar in ars:
        rng = np.random.default_rng(ar.seed)
        (la1, lo1), (la2, lo2) = ar.footpoints()
        nloops = 14
        spread = rng.normal(0.0, ar.sigma * 1.2, (nloops, 4))
        s = np.linspace(0.0, 1.0, 90)[None, :]
        a_lat = la1 + spread[:, 0:1]
        a_lon = lo1 + spread[:, 1:2]
        b_lat = la2 + spread[:, 2:3]
        b_lon = lo2 + spread[:, 3:4]
        lat = a_lat + (b_lat - a_lat) * s
        lon = a_lon + (b_lon - a_lon) * s
        span = np.radians(np.hypot(b_lat - a_lat, (b_lon - a_lon) * math.cos(math.radians(ar.lat))))
        height = span / 2 * np.sin(np.pi * s) * rng.uniform(0.6, 1.1, (nloops, 1))
        tx, ty, vis = heliographic_to_hpc(g, lat, lon, height)
        px, py = hpc_to_pixel(g, tx, ty)
        bright = rng.uniform(0.4, 1.0, (nloops, 1)) * np.ones_like(s) * (ar.peak / 2000.0)
        step = max(1, math.ceil(float(np.nanmax(np.hypot(np.diff(px), np.diff(py)))) + 1))
        if step > 1:
            fine = np.linspace(0.0, 1.0, 90 * step)
            px = np.array([np.interp(fine, s[0], row) for row in px])
            py = np.array([np.interp(fine, s[0], row) for row in py])
            vis = np.array([np.interp(fine, s[0], row.astype(float)) > 0.5 for row in vis])
            bright = np.array([np.interp(fine, s[0], row) for row in bright])
        ix = np.rint(px).astype(np.int64)
        iy = np.rint(py).astype(np.int64)
        keep = vis & (ix >= 0) & (ix < g.n) & (iy >= 0) & (iy < g.n)
        ys.append(iy[keep])
        xs.append(ix[keep])
        bs.append(bright[keep].astype(np.float32))
    if not ys:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, np.float32)
    return np.concatenate(ys), np.concatenate(xs), np.concatenate(bs)


def loop_image(g: Geometry, blk: Block, ars: list[ActiveRegion]) -> np.ndarray:
    """The loops splatted into a block and blurred (with a margin, so no seams)."""
    h, w = blk.rho.shape
    iy, ix, bright = loop_points(g, tuple(ars))
    radius = max(1, round(g.n / 1024))
    m = 2 * radius + 2
    r0, c0 = blk.rows[0] - m, blk.cols[0]
    sel = (iy >= r0) & (iy < blk.rows[1] + m) & (ix >= c0) & (ix < blk.cols[1])
    buf = np.zeros((h + 2 * m, w), np.float32)
    if not sel.any():
        return buf[m : m + h]
    yy, xx = iy[sel] - r0, ix[sel] - c0
    np.add.at(buf, (yy, xx), bright[sel])
    b0, b1 = max(0, yy.min() - m), min(buf.shape[0], yy.max() + m + 1)
    x0, x1 = max(0, xx.min() - m), min(w, xx.max() + m + 1)
    buf[b0:b1, x0:x1] = _box_blur(_box_blur(buf[b0:b1, x0:x1], radius), radius)
    return buf[m : m + h]


def _box_blur(a: np.ndarray, r: int) -> np.ndarray:
    """Separable box filter of half-width ``r`` (cumulative sums, edges clamped)."""
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (r + 1, r)
        c = np.cumsum(np.pad(a, pad, mode="edge"), axis=axis, dtype=np.float32)
        n = a.shape[axis]
        hi = np.take(c, np.arange(2 * r + 1, n + 2 * r + 1), axis=axis)
        lo = np.take(c, np.arange(0, n), axis=axis)
        a = (hi - lo) / np.float32(2 * r + 1)
    return a


# --- the observables -------------------------------------------------------------------------


def _noise(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32)


def render_block(
    kind: str,
    wave: int,
    g: Geometry,
    rows: tuple[int, int],
    cols: tuple[int, int],
    ars: list[ActiveRegion],
    rng: np.random.Generator,
    obs_vr: float = 0.0,
) -> np.ndarray:
    """Physical values (float32) of one block of an image of kind ``kind``."""
    f = np.float32
    blk = block_geometry(g, rows, cols)
    shape = blk.rho.shape
    on, mu = blk.on, blk.mu
    nan = f(np.nan)
    if kind == "aia":
        return _aia(wave, g, blk, ars, rng)
    br = radial_field(g, blk, ars)
    if kind == "magnetogram":
        blos = br * mu + _noise(rng, shape) * f(7.0)
        return np.where(on, blos, nan)
    if kind == "continuum":
        ld = 1.0 - 0.64 * (1.0 - mu) - 0.2 * (1.0 - mu) ** 2
        absb = np.abs(br)
        spot = (
            1.0
            - 0.42 * np.clip((absb - 500.0) / 500.0, 0, 1)
            - 0.4 * np.clip((absb - 1500.0) / 400.0, 0, 1)
        )
        fac = 1.0 + 0.06 * np.clip(absb / 150.0, 0, 1) * (1.0 - mu) * (absb < 500)
        val = 62000.0 * ld * spot * fac * (1.0 + 0.012 * _noise(rng, shape))
        return np.where(on, val, nan).astype(f)
    if kind == "doppler":
        sg = blk.tex("supergranules")
        s2 = blk.sinlat * blk.sinlat
        omega = (ROT_A + ROT_B * s2 + ROT_C * s2 * s2) * f(math.pi / 180.0 / 86400.0)
        v_rot = omega * f(records.RSUN_REF * math.cos(math.radians(g.b0))) * blk.x
        horiz = np.sqrt(np.clip(1.0 - mu * mu, 0.0, 1.0))
        v = (
            v_rot
            - obs_vr
            + sg * 320.0 * horiz
            + 60.0 * mu * sg
            - 300.0 * (1.0 - mu) ** 2
            + _noise(rng, shape) * 25.0
        )
        return np.where(on, v, nan).astype(f)
    if kind == "linewidth":
        val = 100.0 + 12.0 * (1.0 - mu) + 0.006 * np.abs(br) + _noise(rng, shape)
        return np.where(on, val, nan).astype(f)
    if kind == "linedepth":
        val = (0.62 - 0.1 * (1.0 - mu) - 0.00008 * np.abs(br)) * 50000.0
        return np.where(on, val * (1.0 + 0.01 * _noise(rng, shape)), nan).astype(f)
    # Vector-field segments (hmi.ME_720s_fd10, hmi.B_720s).
    absb = np.abs(br)
    if kind == "field":
        val = absb * 1.3 + 80.0 + 20.0 * np.abs(_noise(rng, shape))
    elif kind == "inclination":
        val = np.degrees(np.arccos(np.clip(br / (absb * 1.3 + 80.0), -1, 1)))
    elif kind == "azimuth":
        val = np.mod(np.degrees(np.arctan2(blk.lat - np.nanmean(blk.lat), 1.0)) + 90.0, 360.0)
        val = np.nan_to_num(val) + 0.0 * _noise(rng, shape)
    elif kind == "vlos":
        val = _noise(rng, shape) * 3000.0
    elif kind == "dopwidth":
        val = 32.0 + 0.002 * absb + _noise(rng, shape) * 0.5
    elif kind == "eta0":
        val = 6.0 + 4.0 * mu + _noise(rng, shape) * 0.3
    elif kind == "confid":
        val = np.clip(absb / 50.0, 0, 6).astype(f)
    elif kind == "disambig":
        val = np.where(absb > 150.0, 7.0, 0.0)
    elif kind == "confdisambig":
        val = np.where(absb > 150.0, 90.0, 0.0)
    else:
        raise ValueError(f"unknown image kind {kind!r}")
    return np.where(on, val, 0.0 if kind in ("disambig", "confdisambig") else nan).astype(f)


def _aia(
    wave: int, g: Geometry, blk: Block, ars: list[ActiveRegion], rng: np.random.Generator
) -> np.ndarray:
    f = np.float32
    on, mu, rho = blk.on, blk.mu, blk.rho
    br = radial_field(g, blk, ars)
    absb = np.abs(br)
    if wave in AIA_UV:
        base = AIA_UV[wave]
        if wave == 4500:
            ld = 1.0 - 0.55 * (1.0 - mu) - 0.2 * (1.0 - mu) ** 2
            spot = 1.0 - 0.7 * np.clip((absb - 600.0) / 1200.0, 0, 1)
            val = base * ld * spot
        else:
            ld = 0.55 + 0.45 * mu**0.5
            chrom = 1.0 + 2.5 * np.clip(absb / 120.0, 0, 1.2) ** 1.5
            spot = 1.0 - 0.75 * np.clip((absb - 900.0) / 900.0, 0, 1)
            val = base * ld * chrom * spot
        val = np.where(on, val, base * 0.02 * np.exp(-np.clip(rho - 1.0, 0.0, 1.0) / 0.004))
    else:
        base, ar_gain, height, hole_depth, brighten, loop_gain = AIA_EUV[wave]
        lat = np.nan_to_num(blk.lat)
        holes = blk.tex("holes")
        polar = np.clip((np.abs(lat) - 58.0) / 10.0, 0.0, 1.0)
        hole = np.maximum(np.clip((holes - 1.1) / 0.4, 0.0, 1.0), polar)
        net = blk.tex("network")
        quiet = 1.0 + 0.35 * np.clip(np.abs(net) - 0.8, 0.0, 2.0) + 0.08 * net
        plage = ar_gain * 0.5 * np.clip(absb / 400.0, 0.0, 3.0)
        limb = 1.0 + brighten * (1.0 / np.sqrt(mu + 0.04) - 1.0) * 0.35
        disk = base * (quiet * (1.0 - hole_depth * hole) + plage) * limb
        rim = base * (1.0 + brighten * (1.0 / math.sqrt(0.04) - 1.0) * 0.35) * 0.6
        off = rim * np.exp(-np.clip(rho - 1.0, 0.0, None) / height) + base * 0.01
        val = np.where(on, disk, off)
        if wave == 304:  # a thin, bright chromospheric rim
            val = val + np.where(on, 0.0, base * 1.5 * np.exp(-np.abs(rho - 1.0) / 0.006))
        loops = loop_image(g, blk, ars)
        val = val + loops * base * loop_gain * 14.0
    exposure = 1.0
    val = val * exposure
    noisy = val + np.sqrt(np.maximum(val, 1.0)) * _noise(rng, val.shape) * 0.6
    return np.asarray(np.clip(noisy, 0.0, 16383.0), f)


# --- SHARP patches ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Patch:
    """Where a SHARP's patch lies in the full-disk frame: offset, size, and its geometry."""

    x0: int
    y0: int
    nx: int
    ny: int
    full: Geometry
    harpnum: int

    @property
    def geometry(self) -> Geometry:
        return replace(
            self.full, crpix1=self.full.crpix1 - self.x0, crpix2=self.full.crpix2 - self.y0
        )


def full_disk_record(series_name: str, t_rec: float) -> Record:
    """The record of a full-disk series at slot time ``t_rec``."""
    return next(iter(records.select(f"{series_name}[{drmstime.format_tai(t_rec)}]")[0]))


def sharp_patch(rec: Record, n: int) -> Patch:
    """The patch of SHARP record ``rec`` in the ``n``² hmi.M_720s frame of its T_REC: the
    region's bipole and plage, from the HARP schedule, with a margin."""
    return _sharp_patch(int(rec.primes["HARPNUM"]), float(rec.primes["T_REC"]), n)


@functools.lru_cache(maxsize=4096)
def _sharp_patch(harp: int, t_rec: float, n: int) -> Patch:
    full = geometry(full_disk_record("hmi.M_720s", t_rec), n)
    lat, lon = records.harp_position(harp, full.t_obs)
    size = 0.2 + records.unit(records.HARP_SALT, harp, 8) * 5.0
    sep, sigma = 3.0 + 1.6 * size, 0.45 + 0.18 * size
    half_w = math.radians(sep / 2 + 5 * sigma) * full.rsun_px
    half_h = math.radians(0.25 * sep + 5 * sigma) * full.rsun_px
    tx, ty, _ = heliographic_to_hpc(full, np.array([lat]), np.array([lon]))
    px, py = hpc_to_pixel(full, tx, ty)
    nx, ny = max(4, round(2 * half_w)), max(4, round(2 * half_h))
    return Patch(round(float(px[0]) - nx / 2), round(float(py[0]) - ny / 2), nx, ny, full, harp)


def _sharp(rec: Record, seg: Seg, n: int) -> np.ndarray:
    patch = sharp_patch(rec, n)
    out = np.full((patch.ny, patch.nx), np.nan, np.float32)
    y0, x0 = patch.y0, patch.x0
    sy0, sy1 = max(0, y0), min(n, y0 + patch.ny)
    sx0, sx1 = max(0, x0), min(n, x0 + patch.nx)
    if seg.name == "bitmap":  # JSOC's HARP bitmap: 1 outside, 33 the region, 34 its core
        g = patch.geometry
        blk = block_geometry(g, (0, patch.ny), (0, patch.nx))
        ar = next((a for a in active_regions(g.t_obs) if a.harpnum == patch.harpnum), None)
        out[:] = 1.0
        if ar is not None:
            d2 = _dlatlon(blk.lat, blk.lon, ar.lat, ar.lon)
            out[d2 < (ar.sep / 2 + 3 * ar.sigma) ** 2] = 33.0
            br = np.abs(radial_field(g, blk, [ar]))
            out[(out == 33.0) & (br > 300.0)] = 34.0
        out[~blk.on] = 0.0
        return out
    src_series, src_seg_name = SHARP_SOURCES[seg.name]
    src = full_disk_record(src_series, float(rec.primes["T_REC"]))
    src_seg = src.series.segment(src_seg_name)
    assert src_seg is not None
    if sy0 < sy1 and sx0 < sx1:
        frame = decode(stored(src, src_seg, n), src_seg)
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = frame[sy0:sy1, sx0:sx1]
    return out


# --- whole images, cached --------------------------------------------------------------------

_cache: OrderedDict[tuple[str, int, str, int], np.ndarray] = OrderedDict()
_cache_bytes = 0
_cache_lock = threading.Lock()


def render(rec: Record, seg: Seg, n: int, rows: tuple[int, int] | None = None) -> np.ndarray:
    """Physical values of rows ``rows`` (default all) of record ``rec``'s image at ``n``²."""
    kind = image_kind(rec.series.name, seg)
    if kind is None:
        raise ValueError(f"{rec.series.name}{{{seg.name}}} is not an image segment")
    if kind == "sharp":
        patch = _sharp(rec, seg, n)
        return patch if rows is None else patch[rows[0] : rows[1]]
    g = geometry(rec, n)
    gen = KeywordGen(rec.series)
    wave = int(gen.wavelength(rec) or 0) if kind == "aia" else 0
    ars = active_regions(g.t_obs)
    obs_vr = float(gen.raw(rec, "OBS_VR") or 0.0) if kind == "doppler" else 0.0
    r0, r1 = rows if rows is not None else (0, n)
    out = np.empty((r1 - r0, n), np.float32)
    step = block_rows(n)
    for b0 in range(r0 - r0 % step, r1, step):
        b1 = min(n, b0 + step)
        seed = records.mix(rec.series.number, rec.recnum, records.name_code(seg.name), n, b0)
        rng = np.random.default_rng(seed)
        part = render_block(kind, wave, g, (b0, b1), (0, n), ars, rng, obs_vr)
        lo, hi = max(b0, r0), min(b1, r1)
        out[lo - r0 : hi - r0] = part[lo - b0 : hi - b0]
    return out


def encode(values: np.ndarray, seg: Seg, dtype: np.dtype[np.generic]) -> np.ndarray:
    """Physical values → stored values (``(v - BZERO) / BSCALE``, NaN → BLANK)."""
    if dtype.kind == "f":
        return values.astype(dtype)
    scaled = (values - np.float32(seg.bzero)) / np.float32(seg.bscale or 1.0)
    info = np.iinfo(dtype)  # type: ignore[type-var]
    blank = blank_value(dtype)
    lo = info.min + (1 if blank is not None else 0)
    bad = ~np.isfinite(scaled)
    raw = np.asarray(np.clip(np.rint(np.nan_to_num(scaled)), lo, info.max), dtype)
    if blank is not None:
        raw[bad] = blank
    return raw


def stored(rec: Record, seg: Seg, n: int) -> np.ndarray:
    """The stored (encoded) full image, from the cache when it was rendered before."""
    global _cache_bytes
    key = (rec.series.name, rec.recnum, seg.name, n)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    raw = encode(render(rec, seg, n), seg, stored_dtype(rec.series.name, seg))
    raw.setflags(write=False)
    if n <= CACHE_MAX_SIDE:
        with _cache_lock:
            if key not in _cache:
                _cache[key] = raw
                _cache_bytes += raw.nbytes
            while _cache_bytes > CACHE_BYTES and len(_cache) > 1:
                _, old = _cache.popitem(last=False)
                _cache_bytes -= old.nbytes
    return raw


def decode(raw: np.ndarray, seg: Seg) -> np.ndarray:
    """Stored values → physical float32 (BLANK → NaN)."""
    if raw.dtype.kind == "f":
        return raw.astype(np.float32)
    vals = raw.astype(np.float32) * np.float32(seg.bscale or 1.0) + np.float32(seg.bzero)
    blank = blank_value(raw.dtype)
    if blank is not None:
        vals[raw == blank] = np.nan
    return vals


#: Segment units that are FITS/astropy units (others are JSOC's labels for flags).
PHYSICAL_UNITS = frozenset(
    {"Gauss", "m/s", "cm/s", "DN", "DN/s", "mA", "degree", "Mx/cm^2", "arcsec", "deg"}
)

# --- header cards ------------------------------------------------------------------------------


def _iso(t: float) -> str:
    return drmstime.format_utc_iso(t, 2).rstrip("Z")


def wcs_cards(rec: Record, seg: Seg, g: Geometry) -> list[tuple[str, object]]:
    """The image's header cards, consistent with the rendered pixels (sunpy-readable)."""
    gen = KeywordGen(rec.series)
    low = rec.series.name.lower()
    kind = image_kind(rec.series.name, seg)
    aia = low.startswith("aia.")
    mdi = low.startswith("mdi.")
    wave = gen.wavelength(rec) if aia else (6768.0 if mdi else 6173.0)
    exptime = float(gen.raw(rec, "EXPTIME")) if aia else (0.0 if mdi else 135.0)
    date_obs = g.t_obs - (exptime / 2 if aia else 0.0)
    cards: list[tuple[str, object]] = [
        ("TELESCOP", "SDO/AIA" if aia else ("SOHO" if mdi else "SDO/HMI")),
        ("INSTRUME", "MDI" if mdi else str(gen.raw(rec, "INSTRUME"))),
        ("WAVELNTH", int(wave or 0) if aia else float(wave or 0.0)),
        ("WAVEUNIT", "angstrom"),
    ]
    if not aia:
        content = {
            "magnetogram": "MAGNETOGRAM",
            "doppler": "DOPPLERGRAM",
            "continuum": "CONTINUUM INTENSITY",
            "linewidth": "LINEWIDTH",
            "linedepth": "LINEDEPTH",
        }.get(kind or "", seg.name.upper())
        cards.append(("CONTENT", content))
    cards += [
        # JSOC's flag units ("Enumerated", "length units" …) are no FITS units: left out.
        ("BUNIT", seg.units if seg.units in PHYSICAL_UNITS else ("DN" if aia else "")),
        ("DATE-OBS", _iso(date_obs)),
        ("T_OBS", drmstime.format_tai(g.t_obs, 2)),
        ("EXPTIME", round(exptime, 6)),
        ("QUALITY", int(gen.raw(rec, "QUALITY") or 0)),
        ("CTYPE1", "HPLN-TAN"),
        ("CTYPE2", "HPLT-TAN"),
        ("CUNIT1", "arcsec"),
        ("CUNIT2", "arcsec"),
        ("CRPIX1", round(g.crpix1, 6)),
        ("CRPIX2", round(g.crpix2, 6)),
        ("CRVAL1", 0.0),
        ("CRVAL2", 0.0),
        ("CDELT1", round(g.cdelt, 8)),
        ("CDELT2", round(g.cdelt, 8)),
        ("CROTA2", round(g.crota2, 6)),
        ("RSUN_OBS", round(g.rsun_obs, 6)),
        ("R_SUN", round(g.rsun_px, 6)),
        ("RSUN_REF", records.RSUN_REF),
        ("DSUN_OBS", round(g.dsun_obs, 3)),
        ("DSUN_REF", records.AU),
        ("CRLN_OBS", round(g.l0, 6)),
        ("CRLT_OBS", round(g.b0, 6)),
        ("HGLN_OBS", 0.0),
        ("HGLT_OBS", round(g.b0, 6)),
        ("CAR_ROT", g.car_rot),
    ]
    if aia:
        cards.append(("PIXLUNIT", "DN"))
    return cards
