"""Deterministic synthetic segment files: real FITS (astropy.io.fits) and text segments.

Files are written row block by row block through :class:`astropy.io.fits.StreamingHDU`, so
a segment of hundreds of MB never sits in memory.  The same (record, segment, size) always
gives the same bytes.  SUMS copies carry only the structural cards plus a few identifying
ones (like JSOC's stored files); ``fits`` exports carry the record's keywords as header
cards (names of up to 8 characters; ``DATE__OBS`` becomes ``DATE-OBS``).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
from astropy.io import fits

from jsocdesk.demo import images, improc, records
from jsocdesk.demo.records import KeywordGen, Record
from jsocdesk.demo.series import Seg

ROWS_PER_BLOCK = 256
_FITS_NAME = re.compile(r"^[A-Z0-9_-]{1,8}$")


def image_shape(target_bytes: int, itemsize: int) -> tuple[int, int]:
    """(rows, columns) of an image of about ``target_bytes`` data bytes."""
    pixels = max(16, target_bytes // itemsize)
    cols = max(4, min(4096, math.isqrt(pixels)))
    rows = max(1, -(-pixels // cols))
    return rows, cols


def _dtype(seg: Seg) -> np.dtype[np.generic]:
    if seg.type in ("float",):
        return np.dtype(">f4")
    if seg.type == "double":
        return np.dtype(">f8")
    if seg.type == "char":
        return np.dtype(">u1")
    return np.dtype(">i2")


def record_cards(rec: Record) -> list[tuple[str, object]]:
    """FITS (name, value) cards for a record's keywords (MISSING values left out)."""
    gen = KeywordGen(rec.series)
    out: list[tuple[str, object]] = []
    seen: set[str] = set()
    for kw in rec.series.keywords:
        if kw.implicit:
            continue
        name = "DATE-OBS" if kw.name == "DATE__OBS" else kw.name.upper()
        if not _FITS_NAME.match(name) or name in seen or name in ("HISTORY", "COMMENT"):
            continue
        raw = gen.raw(rec, kw.name)
        if raw is None:
            continue
        value: object
        if kw.type == "time":
            value = records.format_value(kw, raw)
        elif kw.type == "string":
            value = str(raw).encode("ascii", "replace").decode("ascii")[:68]
        elif kw.type in ("int", "short", "longlong", "char"):
            value = int(raw)
        else:
            value = float(raw)
        seen.add(name)
        out.append((name, value))
    return out


def write_segment(
    path: Path,
    rec: Record,
    seg: Seg,
    target_bytes: int,
    *,
    full: bool,
    image_size: int | None = None,
    steps: list[improc.Step] | None = None,
) -> None:
    """Write one segment file atomically (temp file + rename); ``steps``: export
    processing (``im_patch``, ``rebin``, ``resize``) applied to image segments.  A linked
    segment (``link via lev1``) is the linked record's segment file, as JSOC serves it."""
    if seg.link is not None:
        target = records.resolve_segment(rec, seg)
        if target is not None:
            rec, seg = target
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{id(rec)}.tmp")
    try:
        side = None
        if seg.protocol == "fits":
            side = images.image_side(rec, seg, target_bytes, image_size)
        if side is not None and steps:
            write_processed(tmp, rec, seg, min(side, images.CACHE_MAX_SIDE), steps, full=full)
        elif side is not None:
            write_image(tmp, rec, seg, side, full=full)
        elif seg.protocol == "fits":
            _write_fits(tmp, rec, seg, target_bytes, full=full)
        else:
            _write_text(tmp, rec, seg, target_bytes)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def image_header(
    rec: Record,
    seg: Seg,
    dtype: np.dtype[np.generic],
    shape: tuple[int, int],
    *,
    full: bool,
    side: int | None = None,
) -> fits.Header:
    """Structural cards, then (``full``) the record's keywords with the image's own
    geometry cards (:func:`jsocdesk.demo.images.wcs_cards`) in place of the 4096² ones."""
    header = fits.Header()
    header["SIMPLE"] = True
    header["BITPIX"] = {("u", 1): 8, ("i", 2): 16, ("i", 4): 32, ("f", 4): -32}[
        (dtype.kind, dtype.itemsize)
    ]
    header["NAXIS"] = 2
    header["NAXIS1"] = shape[1]
    header["NAXIS2"] = shape[0]
    blank = images.blank_value(dtype)
    if blank is not None:
        header["BLANK"] = blank
    if dtype.kind != "f" and (seg.bscale != 1.0 or seg.bzero != 0.0):
        header["BZERO"] = seg.bzero
        header["BSCALE"] = seg.bscale
    if full:
        cards = dict(record_cards(rec))
        geom = images.geometry(rec, side or shape[1])
        cards.update(images.wcs_cards(rec, seg, geom))
        for name, value in cards.items():
            if name not in header:
                header[name] = value
    else:
        _identify(header, rec)
    header["RECNUM"] = rec.recnum
    header["SEGMENT"] = seg.name[:68]
    return header


def _identify(header: fits.Header, rec: Record) -> None:
    kw = rec.series.keyword(rec.series.primekeys[0]) if rec.series.primekeys else None
    first = rec.primes.get(rec.series.primekeys[0]) if rec.series.primekeys else None
    if kw is not None and first is not None:
        header[kw.name.upper()[:8]] = records.format_value(kw, first)


def write_image(path: Path, rec: Record, seg: Seg, side: int, *, full: bool) -> None:
    """A rendered solar image (:mod:`jsocdesk.demo.images`): from the frame cache up to
    4096² (and SHARP patches), rendered and streamed block by block beyond."""
    dtype = images.stored_dtype(rec.series.name, seg)
    cached = side <= images.CACHE_MAX_SIDE or rec.series.model == "harp"
    data = images.stored(rec, seg, side) if cached else None
    shape = data.shape if data is not None else (side, side)
    header = image_header(rec, seg, dtype, (int(shape[0]), int(shape[1])), full=full, side=side)
    hdu = fits.StreamingHDU(str(path), header)
    try:
        for r0 in range(0, shape[0], ROWS_PER_BLOCK):
            r1 = min(shape[0], r0 + ROWS_PER_BLOCK)
            if data is not None:
                hdu.write(data[r0:r1])
            else:
                hdu.write(images.encode(images.render(rec, seg, side, (r0, r1)), seg, dtype))
    finally:
        hdu.close()


def write_processed(
    path: Path, rec: Record, seg: Seg, side: int, steps: list[improc.Step], *, full: bool
) -> None:
    """An image segment after export processing (float32, WCS cards following the steps)."""
    data, cards = improc.apply(rec, seg, side, steps)
    dtype = np.dtype(">f4")
    header = image_header(rec, seg, dtype, data.shape, full=True, side=side)
    for name, value in cards.items():
        header[name] = value
    if not full:  # as-is: the structural and WCS cards only
        keep = {"SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "RECNUM", "SEGMENT"}
        keep |= {n for n, _ in images.wcs_cards(rec, seg, images.geometry(rec, side))}
        for name in [k for k in header if k not in keep]:
            del header[name]
    fits.PrimaryHDU(data.astype(dtype), header).writeto(path, output_verify="silentfix")


def _write_fits(path: Path, rec: Record, seg: Seg, target_bytes: int, *, full: bool) -> None:
    dtype = _dtype(seg)
    rows, cols = image_shape(target_bytes, dtype.itemsize)
    header = fits.Header()
    header["SIMPLE"] = True
    header["BITPIX"] = {1: 8, 2: 16, 4: -32, 8: -64}[dtype.itemsize]
    header["NAXIS"] = 2
    header["NAXIS1"] = cols
    header["NAXIS2"] = rows
    if seg.bscale != 1.0 or seg.bzero != 0.0:
        header["BZERO"] = seg.bzero
        header["BSCALE"] = seg.bscale
    if seg.units:
        header["BUNIT"] = seg.units[:68]
    if full:
        for name, value in record_cards(rec):
            if name not in header:
                header[name] = value
    else:
        _identify(header, rec)
    header["RECNUM"] = rec.recnum
    header["SEGMENT"] = seg.name[:68]
    seed = records.mix(rec.series.number, rec.recnum, records.name_code(seg.name)) % 997
    hdu = fits.StreamingHDU(str(path), header)
    try:
        x = np.arange(cols, dtype=np.int64)[None, :]
        for r0 in range(0, rows, ROWS_PER_BLOCK):
            r1 = min(rows, r0 + ROWS_PER_BLOCK)
            y = np.arange(r0, r1, dtype=np.int64)[:, None]
            block = (x * 31 + y * 17 + seed) % 2000
            if dtype.kind == "u":
                data = (block % 251).astype(dtype)
            elif dtype.kind == "f":
                data = (block.astype(np.float64) * 0.5 - 500.0).astype(dtype)
            else:
                data = (block - 1000).astype(dtype)
            hdu.write(data)
    finally:
        hdu.close()


def _write_text(path: Path, rec: Record, seg: Seg, target_bytes: int) -> None:
    """Text segments (``splittings.out``, ``rot.2d`` …): numeric tables of about that size."""
    seed = records.mix(rec.series.number, rec.recnum, records.name_code(seg.name))
    with path.open("w", encoding="ascii", newline="\n") as fh:
        fh.write(f"# {rec.spec()}{{{seg.name}}} synthetic demo data\n")
        written = 0
        i = 0
        target = max(256, target_bytes)
        while written < target:
            line = (
                f"{i:6d} {((seed >> (i % 40)) % 1000) / 7.0:12.6f} "
                f"{(i * 37 + seed % 101) / 13.0:12.6f} {math.sin(i / 10.0):10.6f}\n"
            )
            fh.write(line)
            written += len(line)
            i += 1
