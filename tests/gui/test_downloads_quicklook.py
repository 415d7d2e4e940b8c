"""Quick look at downloaded FITS files: header text and thumbnail, computed off the loop."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits

from jsocdesk.gui.quicklook import THUMB_SIZE, QuickLookDialog, load_preview, load_preview_async
from tests.gui.conftest import wait_task


def write(path: Path, data: Any = None, *, ext: bool = False, **cards: Any) -> Path:
    primary = fits.PrimaryHDU(None if ext else data)
    for k, v in cards.items():
        primary.header[k] = v
    hdus = [primary]
    if ext:
        hdus.append(fits.CompImageHDU(data) if data is not None else fits.ImageHDU())
    fits.HDUList(hdus).writeto(path)
    return path


def test_thumbnail_of_a_large_image_with_nans(tmp_path: Path) -> None:
    data = np.arange(1000 * 600, dtype=np.float32).reshape(600, 1000)
    data[:50, :] = np.nan  # off-disk pixels, as in HMI images
    p = write(tmp_path / "big.fits", data, T_REC="2014.01.01_00:00:45_TAI")
    pv = load_preview(p)
    assert pv.shape == (600, 1000)
    assert max(pv.width, pv.height) <= THUMB_SIZE
    assert len(pv.pixels) == pv.width * pv.height
    img = pv.image()
    assert (img.width(), img.height()) == (pv.width, pv.height)
    # FITS row 0 is the bottom of the picture: bright (large values) at the top
    assert img.pixelColor(0, 0).value() > img.pixelColor(0, img.height() - 1).value()
    assert "T_REC" in pv.header


def test_compressed_cube_and_header_only_files(tmp_path: Path) -> None:
    cube = np.random.default_rng(1).normal(size=(3, 64, 80)).astype(np.float32)
    pv = load_preview(write(tmp_path / "cube.fits", cube[0], ext=True))
    assert pv.shape == (64, 80)
    assert pv.width == 80
    pv3 = load_preview(write(tmp_path / "cube3.fits", cube))
    assert pv3.shape == (3, 64, 80)
    assert (pv3.width, pv3.height) == (80, 64)
    empty = load_preview(write(tmp_path / "hdr.fits", None, OBSERVER="me"))
    assert empty.pixels == b""
    assert empty.image().isNull()
    assert "OBSERVER" in empty.header


def test_dialog_shows_preview_and_failure(qtbot: Any, qloop: Any, tmp_path: Path) -> None:
    data = np.linspace(0, 1, 32 * 32).reshape(32, 32)
    p = write(tmp_path / "small.fits", data)
    dialog = QuickLookDialog()
    qtbot.addWidget(dialog)
    dialog.show_loading(p)
    assert dialog.image_label.text() == "Loading…"
    pv = wait_task(qtbot, asyncio.ensure_future(load_preview_async(p)))
    dialog.show()
    dialog.show_preview(pv)
    assert not dialog.image_label.pixmap().isNull()
    # a 32-pixel image is scaled up to fill the view, not shown as a 32-pixel stamp
    qtbot.waitUntil(lambda: dialog.image_label.pixmap().width() >= 256)
    assert dialog.image_label.pixmap().width() == dialog.image_label.pixmap().height()
    assert dialog.info_label.text() == "Image: 32 × 32"
    assert dialog.header_edit.toPlainText().startswith("SIMPLE  =")
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"not a fits file at all")
    task = asyncio.ensure_future(load_preview_async(bad))
    qtbot.waitUntil(task.done, timeout=10_000)
    exc = task.exception()
    assert exc is not None
    dialog.show_failure(exc)
    assert dialog.image_label.text().startswith("Cannot read this file:")
