"""Reading a downloaded FITS image for the viewer (no Qt here).

* :func:`load` reads the first 2-D image HDU (plain or tile-compressed) with astropy, bounds
  its size, and builds an :class:`astropy.wcs.WCS` when the header has a celestial WCS.
* :func:`colour_table` picks the instrument's sunpy colour table (``sdoaia171``,
  ``hmimag`` …) and turns it into a 256×4 RGBA lookup table.
* :class:`Scaled` quantises the data once to 16 bits between clip levels; the scalings
  (linear, log, asinh) and the colour table are then a 65536-entry lookup table, so changing
  the scaling never touches the pixels again.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Largest image side the viewer opens (a bound on hostile files).
MAX_SIDE = 16384
SCALINGS = ("linear", "log", "asinh")
AIA_TABLES = (94, 131, 171, 193, 211, 304, 335, 1600, 1700, 4500)
NAN_INDEX = 0
#: Smallest level of a symmetric (magnetogram) scaling, gauss: the quiet Sun's noise alone
#: would otherwise fill the colour table.
MAGNETOGRAM_MIN_LEVEL = 1000.0  # quantised value of NaN pixels (drawn transparent black)


class ImageFileError(Exception):
    """A file the viewer cannot show (message for the user)."""


@dataclass
class ImageFile:
    path: Path
    data: np.ndarray  # float32, rows = y (FITS axis 2), columns = x
    header: Any  # astropy.io.fits.Header
    wcs: Any | None  # astropy.wcs.WCS (celestial) or None

    @property
    def title(self) -> str:
        h = self.header
        parts = [str(h.get("TELESCOP", "") or h.get("INSTRUME", "")).strip()]
        if h.get("WAVELNTH"):
            parts.append(f"{h.get('WAVELNTH')} {h.get('WAVEUNIT', '')}".strip())
        if h.get("CONTENT"):
            parts.append(str(h["CONTENT"]).lower())
        parts.append(str(h.get("DATE-OBS", h.get("T_OBS", ""))))
        return " ".join(p for p in parts if p) or self.path.name

    @property
    def date_obs(self) -> str | None:
        value = self.header.get("DATE-OBS") or self.header.get("T_OBS")
        return str(value) if value else None

    def cards(self) -> list[tuple[str, str, str]]:
        """(keyword, value, comment) of every header card, for the header panel."""
        out = []
        for card in self.header.cards:
            out.append((str(card.keyword), str(card.value), str(card.comment)))
        return out


def load(path: str | Path) -> ImageFile:
    """Read an image file; :class:`ImageFileError` for anything the viewer cannot show."""
    from astropy.io import fits

    p = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(p, memmap=False, lazy_load_hdus=True) as hdul:
                for hdu in hdul:
                    if not hdu.is_image or hdu.header.get("NAXIS", 0) != 2:
                        continue
                    n1, n2 = int(hdu.header.get("NAXIS1", 0)), int(hdu.header.get("NAXIS2", 0))
                    if not (0 < n1 <= MAX_SIDE and 0 < n2 <= MAX_SIDE):
                        raise ImageFileError(f"{p.name}: image of {n1}×{n2} pixels is too large")
                    data = np.asarray(hdu.data, dtype=np.float32)
                    header = hdu.header.copy()
                    break
                else:
                    raise ImageFileError(f"{p.name}: no 2-D image in the file")
    except ImageFileError:
        raise
    except (OSError, ValueError, TypeError, KeyError, IndexError) as exc:
        raise ImageFileError(f"{p.name}: cannot read ({exc})"[:300]) from None
    return ImageFile(p, data, header, _wcs(header))


def _wcs(header: Any) -> Any | None:
    from astropy.wcs import WCS

    if not str(header.get("CTYPE1", "")).startswith("HPLN"):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = WCS(header)
    except (ValueError, TypeError, KeyError, MemoryError):
        return None
    return w if w.has_celestial else None


def colour_table_name(header: Any) -> str:
    """The sunpy colour table of the instrument (``gray`` when none applies)."""
    instrument = str(header.get("INSTRUME", "")).upper()
    telescope = str(header.get("TELESCOP", "")).upper()
    try:
        wave = int(float(header.get("WAVELNTH", 0) or 0))
    except (TypeError, ValueError):
        wave = 0
    if instrument.startswith("AIA") and wave in (
        94,
        131,
        171,
        193,
        211,
        304,
        335,
        1600,
        1700,
        4500,
    ):
        return f"sdoaia{wave}"
    content = str(header.get("CONTENT", "")).upper()
    if (
        "HMI" in instrument or "HMI" in telescope or instrument == "MDI"
    ) and "MAGNETOGRAM" in content:
        return "hmimag"
    return "gray"


def colour_table(name: str) -> np.ndarray:
    """256×4 uint8 RGBA lookup table of a sunpy (or matplotlib) colour map."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import matplotlib as mpl
        import sunpy.visualization.colormaps  # noqa: F401  # registers sdoaia*, hmimag …

        cmap = mpl.colormaps[name]
    return (cmap(np.linspace(0.0, 1.0, 256)) * 255 + 0.5).astype(np.uint8)


def symmetric(name: str) -> bool:
    return name == "hmimag"


@dataclass
class Scaled:
    """The data quantised to uint16 between ``lo`` and ``hi`` (NaN → :data:`NAN_INDEX`)."""

    index: np.ndarray
    lo: float
    hi: float
    extra: dict[str, float] = field(default_factory=dict)


def clip_levels(data: np.ndarray, percent: float, *, symmetric_levels: bool) -> tuple[float, float]:
    """Levels at the ``percent`` and ``100 - percent`` percentiles of a subsample."""
    step = max(1, int(math.sqrt(data.size / 250_000)))
    sample = data[::step, ::step]
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(sample, [percent, 100.0 - percent])
    if symmetric_levels:  # magnetograms: zero in the middle of the table, strong fields saturate
        m = max(abs(float(lo)), abs(float(hi)), MAGNETOGRAM_MIN_LEVEL)
        lo, hi = -m, m
    if not hi > lo:
        hi = lo + 1.0
    return float(lo), float(hi)


def quantise(data: np.ndarray, lo: float, hi: float) -> Scaled:
    scale = np.float32(65534.0 / (hi - lo))
    t = (data - np.float32(lo)) * scale
    np.clip(t, 0.0, 65534.0, out=t)
    t += 1.0
    nan = np.isnan(t)
    t[nan] = NAN_INDEX
    index = t.astype(np.uint16)
    return Scaled(index, lo, hi)


def lookup_table(colours: np.ndarray, scaling: str) -> np.ndarray:
    """65536×4 uint8 RGBA table: quantised value → scaled → colour (index 0: NaN)."""
    x = np.linspace(0.0, 1.0, 65535)
    if scaling == "log":
        y = np.log10(1.0 + 1000.0 * x) / 3.0
    elif scaling == "asinh":
        y = np.arcsinh(10.0 * x) / np.arcsinh(10.0)
    elif scaling == "linear":
        y = x
    else:
        raise ValueError(f"unknown scaling {scaling!r}")
    idx = np.clip((y * 255.0 + 0.5).astype(np.int64), 0, 255)
    out = np.empty((65536, 4), np.uint8)
    out[0] = (0, 0, 0, 255)
    out[1:] = colours[idx]
    return out
