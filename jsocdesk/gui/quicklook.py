"""Quick look at a downloaded FITS file: its header and a thumbnail of its image.

Reading and scaling happen in a worker thread (:func:`load_preview` through
``asyncio.to_thread``, run by the TaskRunner), never on the loop: a 100 MB file must not
freeze the window.  The thumbnail is the first image HDU, block-averaged down to at most
:data:`THUMB_SIZE` pixels, scaled between its 0.5 and 99.5 percentiles and handed to Qt as
8-bit grey pixels; the dialog is non-modal (``show()``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

THUMB_SIZE = 256


@dataclass(frozen=True)
class FitsPreview:
    path: Path
    header: str  # the header cards of the image HDU (or the primary one), one per line
    shape: tuple[int, ...]
    pixels: bytes  # 8-bit grey, row-major, ``width * height`` bytes ("" without image)
    width: int
    height: int

    def image(self) -> QImage:
        if not self.pixels:
            return QImage()
        img = QImage(
            self.pixels, self.width, self.height, self.width, QImage.Format.Format_Grayscale8
        )
        return img.copy()  # own the pixels: the bytes object may go away


def _thumbnail(data: np.ndarray[Any, Any]) -> tuple[bytes, int, int]:
    while data.ndim > 2:
        data = data[0]
    if data.ndim < 2 or data.size == 0:
        return b"", 0, 0
    h, w = data.shape
    step = max(1, int(np.ceil(max(h, w) / THUMB_SIZE)))
    hh, ww = (h // step) * step, (w // step) * step
    if hh == 0 or ww == 0:
        return b"", 0, 0
    arr = np.asarray(data[:hh, :ww], dtype=np.float64)
    small = arr.reshape(hh // step, step, ww // step, step)
    # block mean over finite pixels (NaN off-disk pixels are common); written out instead of
    # np.nanmean, which warns on all-NaN blocks (warnings filters are not thread-safe)
    ok = np.isfinite(small)
    total = np.where(ok, small, 0.0).sum(axis=(1, 3))
    count = ok.sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        small = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    finite = small[np.isfinite(small)]
    if finite.size == 0:
        grey = np.zeros(small.shape, dtype=np.uint8)
    else:
        lo, hi = np.percentile(finite, [0.5, 99.5])
        span = hi - lo if hi > lo else 1.0
        scaled = np.clip((np.nan_to_num(small, nan=lo) - lo) / span, 0.0, 1.0)
        grey = (scaled * 255).astype(np.uint8)
    grey = np.ascontiguousarray(grey[::-1])  # FITS rows go up, image rows go down
    return grey.tobytes(), grey.shape[1], grey.shape[0]


def load_preview(path: Path) -> FitsPreview:
    """Header and thumbnail of ``path`` (blocking: call it in a worker thread)."""
    from astropy.io import fits

    with fits.open(path, memmap=False, lazy_load_hdus=True) as hdul:
        image_hdu = None
        for hdu in hdul:
            if getattr(hdu, "data", None) is not None and getattr(hdu, "is_image", False):
                image_hdu = hdu
                break
        hdu = image_hdu if image_hdu is not None else hdul[0]
        header = "\n".join(str(card) for card in hdu.header.cards)
        if image_hdu is None:
            return FitsPreview(Path(path), header, (), b"", 0, 0)
        data = image_hdu.data
        shape = tuple(int(n) for n in data.shape)
        pixels, w, h = _thumbnail(data)
    return FitsPreview(Path(path), header, shape, pixels, w, h)


async def load_preview_async(path: Path) -> FitsPreview:
    return await asyncio.to_thread(load_preview, path)


class ScaledImageLabel(QLabel):
    """Shows its image scaled to fit (keeping the aspect ratio): a 64-pixel demo image
    fills the view instead of sitting as a stamp in its middle.  Enlarging uses nearest
    pixels, so the data's pixels stay visible and nothing is invented between them."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self._source = QPixmap()
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)

    def set_image(self, pixmap: QPixmap) -> None:
        self._source = pixmap
        self._rescale()

    def setText(self, text: str) -> None:
        self._source = QPixmap()
        super().setText(text)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._source.isNull():
            return
        size = self.contentsRect().size().expandedTo(QSize(THUMB_SIZE, THUMB_SIZE))
        smaller = self._source.width() > size.width() or self._source.height() > size.height()
        mode = (
            Qt.TransformationMode.SmoothTransformation
            if smaller
            else Qt.TransformationMode.FastTransformation
        )
        super().setPixmap(self._source.scaled(size, Qt.AspectRatioMode.KeepAspectRatio, mode))


class QuickLookDialog(QDialog):
    """Non-modal window showing one :class:`FitsPreview`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModal(False)
        self.resize(900, 520)
        self.image_label = ScaledImageLabel("Loading…", self)
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setMinimumSize(THUMB_SIZE, THUMB_SIZE)
        self.info_label = QLabel(self)
        self.header_edit = QPlainTextEdit(self)
        self.header_edit.setReadOnly(True)
        self.header_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = self.header_edit.font()
        font.setFamily("monospace")
        self.header_edit.setFont(font)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        left = QVBoxLayout()
        left.addWidget(self.image_label, 1)
        left.addWidget(self.info_label)
        row = QHBoxLayout()
        row.addLayout(left)
        row.addWidget(self.header_edit, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row, 1)
        layout.addWidget(buttons)
        self.preview: FitsPreview | None = None

    def show_loading(self, path: Path) -> None:
        self.setWindowTitle(f"{path.name} — quick look")
        self.image_label.setText("Loading…")
        self.header_edit.setPlainText("")

    def show_preview(self, preview: FitsPreview) -> None:
        self.preview = preview
        self.setWindowTitle(f"{preview.path.name} — quick look")
        self.header_edit.setPlainText(preview.header)
        image = preview.image()
        if image.isNull():
            self.image_label.setText("(no image data)")
        else:
            self.image_label.set_image(QPixmap.fromImage(image))
        shape = " × ".join(str(n) for n in reversed(preview.shape)) if preview.shape else "—"
        self.info_label.setText(f"Image: {shape}")

    def show_failure(self, exc: BaseException) -> None:
        self.image_label.setText(f"Cannot read this file:\n{exc}")
