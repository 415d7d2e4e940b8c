"""A context image to draw a cutout on: the first record of a record set, fetched quickly.

JSOC's stored segment files (what ``url_quick``/``as-is`` serves, straight from SUMS, no
export to wait for) carry no keywords, so the record's geometry keywords come from
``rs_list`` in the same request that gives the file's SUMS path, and are written into the
local copy as FITS cards — helioprojective WCS, observer and time, so the file opens with
``sunpy.map.Map`` and the viewer can turn a box into arcsec.  When the file is smaller than
the instrument's frame (``CRPIX``/``CDELT`` describe that frame), the cards are rescaled
to the file's pixels the way ``rebin`` would.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from jsocdesk.core.errors import JsocdeskError
from jsocdesk.core.jsoc.client import JsocClient, series_name_of
from jsocdesk.core.jsoc.links import follow_segment_links

#: Keywords copied into the context file (those the series has).
GEOMETRY_KEYS = (
    "T_OBS",
    "DATE__OBS",
    "TELESCOP",
    "INSTRUME",
    "WAVELNTH",
    "WAVEUNIT",
    "CONTENT",
    "CRPIX1",
    "CRPIX2",
    "CDELT1",
    "CDELT2",
    "CROTA2",
    "CRVAL1",
    "CRVAL2",
    "RSUN_OBS",
    "DSUN_OBS",
    "CRLN_OBS",
    "CRLT_OBS",
    "CAR_ROT",
)
#: Largest context file fetched (a bound on a hostile or unexpected answer).
MAX_BYTES = 300 * 1024 * 1024
_TEXT_KEYS = frozenset({"T_OBS", "DATE__OBS", "TELESCOP", "INSTRUME", "CONTENT", "WAVEUNIT"})
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class ContextImageError(JsocdeskError):
    """No context image for this record set (no record, no image segment, a failed fetch)."""


async def fetch_context_image(
    client: JsocClient, recordset: str, segment: str, folder: Path
) -> Path:
    """Fetch the first record's ``segment`` of ``recordset`` into ``folder`` with the
    record's geometry keywords as header cards; returns the file's path."""
    # linked segments (aia.lev1_*s → aia.lev1) are sized by what they link to
    info = await follow_segment_links(client, await client.series_info(series_name_of(recordset)))
    seg = info.segment(segment)
    if seg is None:
        raise ContextImageError(f"{info.name} has no segment {segment!r}")
    keys = [k for k in GEOMETRY_KEYS if info.keyword(k) is not None]
    res = await client.query(recordset, keys=keys, segments=[segment], limit=1, series=info)
    if len(res) == 0:
        raise ContextImageError(f"{recordset}: no records")
    column = res.segments.get(segment) or next(iter(res.segments.values()), None)
    path_text = column.text(0) if column is not None else ""
    if not path_text.startswith("/"):
        raise ContextImageError(f"{recordset}: the segment file is not online ({path_text!r})")
    url = client.config.download_base_url.rstrip("/") + "/" + path_text.lstrip("/")
    body = bytearray()
    async with client.http.stream("GET", url) as resp:
        if resp.status_code != 200:
            raise ContextImageError(f"{url}: HTTP {resp.status_code}")
        async for chunk in resp.aiter_bytes():
            body += chunk
            if len(body) > MAX_BYTES:
                raise ContextImageError(f"{url}: larger than {MAX_BYTES} bytes")
    cards = {}
    for k in keys:
        col = res.keywords.get(k)
        if col is not None and not col.is_missing(0):
            cards[k] = col.text(0)
    native = _native_side(seg.dims)
    name = _SAFE.sub("_", f"context.{info.name}.{path_text.strip('/').replace('/', '.')}")[:150]
    target = folder / name
    await asyncio.to_thread(_write, target, bytes(body), cards, native)
    return target


def _native_side(dims: str | None) -> int | None:
    m = re.match(r"^(\d+)x(\d+)$", dims or "")
    return int(m[1]) if m else None


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _write(target: Path, body: bytes, cards: dict[str, str], native: int | None) -> None:
    import io
    import warnings

    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with fits.open(io.BytesIO(body)) as hdul:
                hdu = next(h for h in hdul if h.is_image and h.header.get("NAXIS") == 2)
                data, header = hdu.data, hdu.header.copy()
        except (OSError, ValueError, StopIteration) as exc:
            raise ContextImageError(f"not a FITS image ({exc})"[:200]) from None
    n1 = int(header.get("NAXIS1", 0))
    scale = (native / n1) if native and n1 else 1.0
    out: dict[str, Any] = {}
    for k, text in cards.items():
        fits_name = "DATE-OBS" if k == "DATE__OBS" else k
        value: Any = text if k in _TEXT_KEYS else _number(text)
        if value is None:
            value = text
        out[fits_name] = value
    for axis in ("1", "2"):
        if isinstance(out.get("CRPIX" + axis), float):
            out["CRPIX" + axis] = (out["CRPIX" + axis] - 0.5) / scale + 0.5
        if isinstance(out.get("CDELT" + axis), float):
            out["CDELT" + axis] = out["CDELT" + axis] * scale
    if "CDELT1" in out:
        out.setdefault("CTYPE1", "HPLN-TAN")
        out.setdefault("CTYPE2", "HPLT-TAN")
        out.setdefault("CUNIT1", "arcsec")
        out.setdefault("CUNIT2", "arcsec")
        out.setdefault("CRVAL1", 0.0)
        out.setdefault("CRVAL2", 0.0)
        out.setdefault("CROTA2", 0.0)  # series without the keyword are north up
    if "WAVELNTH" in out:  # JSOC's wavelengths are in Ångström (HMI, AIA, MDI)
        out.setdefault("WAVEUNIT", "angstrom")
    if "CRLT_OBS" in out:
        out.setdefault("HGLT_OBS", out["CRLT_OBS"])
        out.setdefault("HGLN_OBS", 0.0)
    if isinstance(out.get("DATE-OBS"), str):
        out["DATE-OBS"] = out["DATE-OBS"].rstrip("Z")
    for k, v in out.items():
        header[k] = v
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    fits.PrimaryHDU(data, header).writeto(tmp, overwrite=True, output_verify="silentfix")
    tmp.replace(target)
