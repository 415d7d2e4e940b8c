"""Render resources/icons/jsocdesk.svg to the PNG renditions committed next to it.

Run after editing the SVG::

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/render_icons.py

Writes ``resources/icons/hicolor/<N>x<N>/apps/jsocdesk.png`` for every size in ``SIZES`` (the
freedesktop icon-theme layout, so the tree can be copied into ``~/.local/share/icons``), the
Windows ``.ico`` and ``docs/screenshots/icon.png``.  Uses QtSvg, which ships with
PySide6-Essentials; it is a build-time tool and QtSvg is not needed by the app itself.
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "jsocdesk.svg"
HICOLOR = ROOT / "resources" / "icons" / "hicolor"
ICO = ROOT / "resources" / "icons" / "jsocdesk.ico"
SCREENSHOT = ROOT / "docs" / "screenshots" / "icon.png"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        sys.stderr.write(f"cannot parse {SVG}\n")
        return 1
    images = {size: render(renderer, size) for size in SIZES}
    for size, image in images.items():
        out = HICOLOR / f"{size}x{size}" / "apps" / "jsocdesk.png"
        out.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(out), "PNG"):
            sys.stderr.write(f"cannot write {out}\n")
            return 1
    scalable = HICOLOR / "scalable" / "apps" / "jsocdesk.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    scalable.write_bytes(SVG.read_bytes())
    write_ico(ICO, [images[s] if s in images else render(renderer, s) for s in ICO_SIZES])
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    images[256].save(str(SCREENSHOT), "PNG")
    del app
    sys.stdout.write(f"rendered {len(SIZES)} PNGs, {ICO.name}, {SCREENSHOT.relative_to(ROOT)}\n")
    return 0


def write_ico(path: Path, images: list[QImage]) -> None:
    """Write a multi-resolution .ico whose entries are PNG-compressed (Vista+ format)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    blobs: list[bytes] = []
    for image in images:
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buf, "PNG")
        buf.close()
        blobs.append(bytes(data.data()))
    header = (
        (0).to_bytes(2, "little") + (1).to_bytes(2, "little") + len(blobs).to_bytes(2, "little")
    )
    offset = 6 + 16 * len(blobs)
    entries = b""
    for image, blob in zip(images, blobs, strict=True):
        side = image.width()
        byte_side = 0 if side >= 256 else side  # 0 means 256 in the ICO directory
        # width, height, palette size, reserved, colour planes, bits per pixel, size, offset
        entries += struct.pack("<BBBBHHII", byte_side, byte_side, 0, 0, 1, 32, len(blob), offset)
        offset += len(blob)
    path.write_bytes(header + entries + b"".join(blobs))


if __name__ == "__main__":
    raise SystemExit(main())
