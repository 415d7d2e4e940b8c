"""Export processing of the demo server: ``im_patch`` cutouts, ``rebin`` and ``resize``.

The steps arrive as JSOC's ``process=n=N|step,k=v,…|…`` text (what drms builds from
sunpy's ``a.jsoc.Cutout`` and from ``process={'im_patch': {…}}``).  Each image segment is
taken from :mod:`jsocdesk.demo.images` (the same frame the unprocessed export serves) and:

* ``im_patch`` crops ``width`` × ``height`` arcsec around (``x``, ``y``), helioprojective as
  seen at ``t_ref``; with tracking (``t=0``) the centre is carried to each record's time by
  the differential rotation of its latitude (the rate the demo's active regions move at, so
  a tracked region stays centred); ``c=1`` sets off-limb pixels to NaN; CRPIX follows the crop.
* ``rebin`` (``scale=s``, boxcar) averages ``1/s`` × ``1/s`` blocks (or repeats pixels for
  ``s > 1``); ``resize`` (``scale_to=arcsec``) resamples bilinearly to that pixel scale.

Every step updates the WCS cards, so the files still open as sunpy maps with the disk where
the header says.  Segments that are not images are left as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from jsocdesk.core import drmstime
from jsocdesk.demo import images, records
from jsocdesk.demo.records import Record
from jsocdesk.demo.series import Seg

#: Largest output side any step may produce (a bound on hostile arguments).
MAX_SIDE = 8192


class ProcessError(ValueError):
    """Arguments a processing step cannot run with (becomes export status 4)."""


@dataclass(frozen=True)
class Step:
    name: str
    args: dict[str, str]

    def num(self, key: str, default: float | None = None) -> float:
        text = self.args.get(key)
        if text is None:
            if default is None:
                raise ProcessError(f"{self.name}: missing argument '{key}'")
            return default
        try:
            value = float(text)
        except ValueError:
            raise ProcessError(f"{self.name}: '{key}={text}' is not a number") from None
        if not math.isfinite(value):
            raise ProcessError(f"{self.name}: '{key}={text}' is not finite")
        return value


def parse_steps(steps: list[str]) -> list[Step]:
    """``["im_patch,t=0,x=1", "rebin,scale=0.5"]`` → steps with their arguments."""
    out = []
    for text in steps:
        name, _, rest = text.partition(",")
        args: dict[str, str] = {}
        for item in filter(None, rest.split(",")):
            key, eq, value = item.partition("=")
            if not eq:
                raise ProcessError(f"{name}: argument '{item}' has no value")
            args[key.strip()] = value.strip()
        out.append(Step(name.strip(), args))
    return out


def check(steps: list[Step]) -> None:
    """Raise :class:`ProcessError` for arguments JSOC's modules would refuse."""
    for st in steps:
        if st.name == "im_patch":
            for key in ("x", "y", "width", "height"):
                st.num(key)
            if st.num("width") <= 0 or st.num("height") <= 0:
                raise ProcessError("im_patch: width and height must be positive")
            for key in ("locunits", "boxunits"):
                if st.args.get(key, "arcsec") not in ("arcsec", "pixels"):
                    raise ProcessError(f"im_patch: {key}={st.args[key]} is not supported")
            if "t_ref" in st.args:
                _time(st.args["t_ref"])
        elif st.name == "rebin":
            if st.num("scale", 1.0) <= 0:
                raise ProcessError("rebin: scale must be positive")
        elif st.name == "resize" and st.args.get("rescale") == "1" and st.num("scale_to") <= 0:
            raise ProcessError("resize: scale_to must be positive")


def _time(text: str) -> float:
    try:
        return drmstime.parse_time_seconds(text)
    except ValueError:
        raise ProcessError(f"im_patch: t_ref={text} is not a time") from None


@dataclass
class Frame:
    """Physical values with the WCS numbers of :class:`jsocdesk.demo.images.Geometry`."""

    data: np.ndarray
    crpix1: float
    crpix2: float
    cdelt: float


def apply(
    rec: Record, seg: Seg, side: int, steps: list[Step]
) -> tuple[np.ndarray, dict[str, float]]:
    """Run the steps on one image segment: (float32 data, WCS cards that changed)."""
    g = images.geometry(rec, side)
    raw = images.stored(rec, seg, side)
    data = images.decode(raw, seg)
    frame = Frame(data, g.crpix1, g.crpix2, g.cdelt)
    for st in steps:
        if st.name == "im_patch":
            frame = im_patch(frame, g, st)
        elif st.name == "rebin":
            frame = rebin(frame, st.num("scale", 1.0))
        elif st.name == "resize" and st.args.get("rescale", "0") == "1":
            frame = resize(frame, st.num("scale_to"))
    cards = {
        "CRPIX1": round(frame.crpix1, 6),
        "CRPIX2": round(frame.crpix2, 6),
        "CDELT1": round(frame.cdelt, 8),
        "CDELT2": round(frame.cdelt, 8),
        "R_SUN": round(g.rsun_obs / frame.cdelt, 6),
    }
    return frame.data, cards


def track(g: images.Geometry, x: float, y: float, t_ref: float) -> tuple[float, float]:
    """Where the surface point at (x, y) arcsec at ``t_ref`` is at the image's time."""
    lat, lon = images.hpc_to_heliographic(observer_at(g, t_ref), x, y)
    if math.isnan(lat):
        return x, y  # off the disk: JSOC's im_patch does not track it either
    lon += records.synodic_rate(lat) * (g.t_obs - t_ref) / 86400.0
    tx, ty, _ = images.heliographic_to_hpc(g, np.array([lat]), np.array([lon]))
    return float(tx[0]), float(ty[0])


def observer_at(g: images.Geometry, t: float) -> images.Geometry:
    """The same image geometry seen at time ``t`` (SDO's view then)."""
    b0, l0, _, dist = records.ephemeris(t)
    return replace(
        g,
        b0=b0 + records.CRLT_OFFSET,
        l0=l0,
        dsun_obs=dist,
        rsun_obs=math.degrees(math.asin(records.RSUN_REF / dist)) * 3600.0,
        t_obs=t,
    )


def im_patch(frame: Frame, g: images.Geometry, st: Step) -> Frame:
    x, y = st.num("x"), st.num("y")
    w, h = st.num("width"), st.num("height")
    if st.args.get("boxunits", "arcsec") == "pixels":
        w, h = w * frame.cdelt, h * frame.cdelt
    if st.args.get("locunits", "arcsec") == "pixels":
        tx, ty = images.pixel_to_hpc(g, np.array([x - 1.0]), np.array([y - 1.0]))
        x, y = float(tx[0]), float(ty[0])
    if st.args.get("t", "1") == "0" and "t_ref" in st.args:
        x, y = track(g, x, y, _time(st.args["t_ref"]))
    sub = replace(g, crpix1=frame.crpix1, crpix2=frame.crpix2, cdelt=frame.cdelt)
    px, py = images.hpc_to_pixel(sub, np.array([x]), np.array([y]))
    nx = max(1, min(MAX_SIDE, round(w / frame.cdelt)))
    ny = max(1, min(MAX_SIDE, round(h / frame.cdelt)))
    x0 = round(float(px[0]) - nx / 2 + 0.5)
    y0 = round(float(py[0]) - ny / 2 + 0.5)
    src = frame.data
    out = np.full((ny, nx), np.nan, np.float32)
    sy0, sy1 = max(0, y0), min(src.shape[0], y0 + ny)
    sx0, sx1 = max(0, x0), min(src.shape[1], x0 + nx)
    if sy0 < sy1 and sx0 < sx1:
        out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = src[sy0:sy1, sx0:sx1]
    crpix1, crpix2 = frame.crpix1 - x0, frame.crpix2 - y0
    if st.args.get("c", "0") == "1":
        yy, xx = np.indices(out.shape, dtype=np.float32)
        r = np.hypot(xx + 1 - crpix1, yy + 1 - crpix2) * frame.cdelt
        out[r > g.rsun_obs] = np.nan
    return Frame(out, crpix1, crpix2, frame.cdelt)


def rebin(frame: Frame, scale: float) -> Frame:
    data = frame.data
    if scale < 1.0:
        k = max(1, round(1.0 / scale))
        ny, nx = data.shape[0] // k, data.shape[1] // k
        if ny == 0 or nx == 0:
            raise ProcessError("rebin: the image is smaller than the rebinning factor")
        with np.errstate(invalid="ignore"):
            blocks = data[: ny * k, : nx * k].reshape(ny, k, nx, k)
            out = blocks.mean(axis=(1, 3), dtype=np.float64).astype(np.float32)
        return Frame(
            out, (frame.crpix1 - 0.5) / k + 0.5, (frame.crpix2 - 0.5) / k + 0.5, frame.cdelt * k
        )
    k = max(1, round(scale))
    if max(data.shape) * k > MAX_SIDE:
        raise ProcessError(f"rebin: scale={scale} gives more than {MAX_SIDE} pixels a side")
    out = np.repeat(np.repeat(data, k, axis=0), k, axis=1)
    return Frame(
        out, (frame.crpix1 - 0.5) * k + 0.5, (frame.crpix2 - 0.5) * k + 0.5, frame.cdelt / k
    )


def resize(frame: Frame, scale_to: float) -> Frame:
    """Bilinear resampling to ``scale_to`` arcsec per pixel, same field of view."""
    f = frame.cdelt / scale_to
    ny0, nx0 = frame.data.shape
    ny, nx = max(1, round(ny0 * f)), max(1, round(nx0 * f))
    if max(nx, ny) > MAX_SIDE:
        raise ProcessError(f"resize: scale_to={scale_to} gives more than {MAX_SIDE} pixels")
    # Output pixel centres in input pixel coordinates (0-based), same sky extent.
    ys = (np.arange(ny) + 0.5) / f - 0.5
    xs = (np.arange(nx) + 0.5) / f - 0.5
    y0 = np.clip(np.floor(ys).astype(int), 0, max(0, ny0 - 2))
    x0 = np.clip(np.floor(xs).astype(int), 0, max(0, nx0 - 2))
    wy = np.clip(ys - y0, 0.0, 1.0)[:, None].astype(np.float32)
    wx = np.clip(xs - x0, 0.0, 1.0)[None, :].astype(np.float32)
    d = frame.data
    y1 = np.minimum(y0 + 1, ny0 - 1)
    x1 = np.minimum(x0 + 1, nx0 - 1)
    top = d[y0][:, x0] * (1 - wx) + d[y0][:, x1] * wx
    bot = d[y1][:, x0] * (1 - wx) + d[y1][:, x1] * wx
    out = (top * (1 - wy) + bot * wy).astype(np.float32)
    # pixel p (1-based) of the output is input (p - 0.5) / f + 0.5
    return Frame(
        out,
        (frame.crpix1 - 0.5) * f + 0.5,
        (frame.crpix2 - 0.5) * f + 0.5,
        scale_to,
    )
