"""The image viewer window: pyqtgraph image with sunpy colour tables, scalings, zoom/pan,
cursor coordinates, limb/grid overlay, the header with search, time-series stepping and
play, and a cutout box drawn on the disk.

Coordinates: pixel → helioprojective through :class:`astropy.wcs.WCS` (every mouse move);
helioprojective → Carrington and the heliographic grid through sunpy's frames, computed
when a file is shown (the grid) and at most every 40 ms for the cursor.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from jsocdesk.core.errors import QueryError
from jsocdesk.core.query.tree import Cutout
from jsocdesk.gui.viewer import imagefile
from jsocdesk.gui.viewer.imagefile import ImageFile, ImageFileError

GRID_STEP_DEG = 15.0
PLAY_INTERVAL_MS = 200
#: Decoded frames kept for stepping back and forth and replaying a series.
FRAME_CACHE_BYTES = 512 * 1024 * 1024


class ViewerWindow(QMainWindow):
    """Shows one file of ``paths`` at a time; Left/Right step, Space plays."""

    #: a cutout box was accepted ("Use as cutout"): the Cutout node
    cutout_chosen = Signal(object)
    #: the shown file changed (index into ``paths``)
    frame_shown = Signal(int)

    def __init__(
        self,
        paths: Sequence[str | Path],
        parent: QWidget | None = None,
        *,
        on_cutout: Callable[[Cutout], object] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("image-viewer")
        self.paths = [Path(p) for p in paths]
        self.index = -1
        self.current: ImageFile | None = None
        self._scaled: imagefile.Scaled | None = None
        self._colours: np.ndarray | None = None
        self._sunpy_map: Any = None
        self._cursor: tuple[float, float] | None = None
        self._frames: dict[Path, ImageFile] = {}
        if on_cutout is not None:
            self.cutout_chosen.connect(on_cutout)
        self.resize(1200, 800)
        self._build()
        self._play_timer = QTimer(self)
        self._play_timer.setInterval(PLAY_INTERVAL_MS)
        self._play_timer.timeout.connect(self.step_forward_wrapping)
        self._coord_timer = QTimer(self)
        self._coord_timer.setSingleShot(True)
        self._coord_timer.setInterval(40)
        self._coord_timer.timeout.connect(self._update_carrington)
        if self.paths:
            self.show_index(0)

    # --- layout ------------------------------------------------------------------------------
    def _build(self) -> None:
        pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
        central = QWidget(self)
        outer = QVBoxLayout(central)
        bar = QHBoxLayout()
        self.prev_button = QPushButton("◀", central)
        self.play_button = QPushButton("Play", central)
        self.play_button.setCheckable(True)
        self.next_button = QPushButton("▶", central)
        self.frame_label = QLabel("", central)
        self.scaling_box = QComboBox(central)
        self.scaling_box.addItems(imagefile.SCALINGS)
        self.clip_box = QDoubleSpinBox(central)
        self.clip_box.setRange(0.0, 10.0)
        self.clip_box.setSingleStep(0.1)
        self.clip_box.setValue(0.5)
        self.clip_box.setSuffix(" % clip")
        self.limb_box = QCheckBox("Limb && grid", central)
        self.limb_box.setChecked(True)
        self.cutout_box = QCheckBox("Cutout box", central)
        self.track_box = QCheckBox("Track", central)
        self.track_box.setChecked(True)
        self.use_cutout_button = QPushButton("Use as cutout", central)
        self.use_cutout_button.setEnabled(False)
        for w in (
            self.prev_button,
            self.play_button,
            self.next_button,
            self.frame_label,
            QLabel("Scaling:", central),
            self.scaling_box,
            self.clip_box,
            self.limb_box,
            self.cutout_box,
            self.track_box,
            self.use_cutout_button,
        ):
            bar.addWidget(w)
        bar.addStretch(1)
        outer.addLayout(bar)

        split = QSplitter(Qt.Orientation.Horizontal, central)
        self.graphics = pg.GraphicsLayoutWidget(split)
        self.view = self.graphics.addViewBox()
        self.view.setAspectLocked(True)
        self.view.invertY(False)
        self.image_item = pg.ImageItem()
        self.view.addItem(self.image_item)
        self.limb_item = pg.PlotDataItem(pen=pg.mkPen((255, 255, 255, 200), width=1))
        self.grid_item = pg.PlotDataItem(
            pen=pg.mkPen((255, 255, 255, 110), width=1), connect="finite"
        )
        self.view.addItem(self.grid_item)
        self.view.addItem(self.limb_item)
        self.roi = pg.RectROI([0, 0], [10, 10], pen=pg.mkPen((0, 255, 0), width=2))
        self.roi.setVisible(False)
        self.view.addItem(self.roi)

        side = QWidget(split)
        side_layout = QVBoxLayout(side)
        self.coord_label = QLabel("", side)
        self.coord_label.setObjectName("viewer-coordinates")
        self.coord_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.cutout_label = QLabel("", side)
        self.cutout_label.setObjectName("viewer-cutout")
        self.cutout_label.setWordWrap(True)
        self.header_search = QLineEdit(side)
        self.header_search.setPlaceholderText("Search the header…")
        self.header_search.setClearButtonEnabled(True)
        self.header_table = QTableWidget(0, 3, side)
        self.header_table.setHorizontalHeaderLabels(["Keyword", "Value", "Comment"])
        self.header_table.verticalHeader().setVisible(False)
        self.header_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.error_label = QLabel("", side)
        self.error_label.setWordWrap(True)
        side_widgets: tuple[QWidget, ...] = (
            self.coord_label,
            self.cutout_label,
            self.header_search,
            self.header_table,
            self.error_label,
        )
        for sw in side_widgets:
            side_layout.addWidget(sw)
        split.addWidget(self.graphics)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        outer.addWidget(split, 1)
        self.setCentralWidget(central)

        self.prev_button.clicked.connect(self.step_back)
        self.next_button.clicked.connect(self.step_forward)
        self.play_button.toggled.connect(self.set_playing)
        self.scaling_box.currentTextChanged.connect(self._apply_lut)
        self.clip_box.valueChanged.connect(self._requantise)
        self.limb_box.toggled.connect(self._set_overlay_visible)
        self.cutout_box.toggled.connect(self._toggle_roi)
        self.roi.sigRegionChanged.connect(self._update_cutout_label)
        self.use_cutout_button.clicked.connect(self.use_cutout)
        self.header_search.textChanged.connect(self._filter_header)
        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)

    # --- stepping ----------------------------------------------------------------------------
    def keyPressEvent(self, event: Any) -> None:
        key = event.key()
        if key == Qt.Key.Key_Right:
            self.step_forward()
        elif key == Qt.Key.Key_Left:
            self.step_back()
        elif key == Qt.Key.Key_Space:
            self.play_button.toggle()
        else:
            super().keyPressEvent(event)

    def step_forward(self) -> None:
        if self.index + 1 < len(self.paths):
            self.show_index(self.index + 1)

    def step_back(self) -> None:
        if self.index > 0:
            self.show_index(self.index - 1)

    def step_forward_wrapping(self) -> None:
        if self.paths:
            self.show_index((self.index + 1) % len(self.paths))

    def set_playing(self, on: bool) -> None:
        if on and len(self.paths) > 1:
            self._play_timer.start()
            self.play_button.setText("Pause")
        else:
            self._play_timer.stop()
            self.play_button.setText("Play")
            if self.play_button.isChecked():
                self.play_button.setChecked(False)

    # --- showing a file ----------------------------------------------------------------------
    def show_index(self, index: int) -> bool:
        """Show ``paths[index]``; False (and the error shown) when it cannot be read."""
        self.index = index
        self.frame_label.setText(f"{index + 1} / {len(self.paths)}")
        try:
            f = self._load(self.paths[index])
        except ImageFileError as exc:
            self.error_label.setText(str(exc))
            return False
        self.error_label.setText("")
        first = self.current is None
        same_shape = self.current is not None and self.current.data.shape == f.data.shape
        self.current = f
        self._sunpy_map = None
        self.setWindowTitle(f"{f.path.name} — {f.title}")
        name = imagefile.colour_table_name(f.header)
        self._colours = imagefile.colour_table(name)
        self._symmetric = imagefile.symmetric(name)
        self._requantise()
        ny, nx = f.data.shape
        self.image_item.setRect(QRectF(-0.5, -0.5, nx, ny))
        if first or not same_shape:
            self.view.autoRange(padding=0.02)
            self.roi.setPos((nx * 0.4, ny * 0.4))
            self.roi.setSize((nx * 0.2, ny * 0.15))
        self._fill_header()
        self._draw_overlay()
        self._update_cutout_label()
        self.frame_shown.emit(index)
        return True

    def _load(self, path: Path) -> ImageFile:
        """A file, from the frame cache when it was shown before (a playing movie reads
        each file once while the cache holds the series)."""
        hit = self._frames.pop(path, None)
        f = hit if hit is not None else imagefile.load(path)
        self._frames[path] = f
        total = sum(x.data.nbytes for x in self._frames.values())
        while total > FRAME_CACHE_BYTES and len(self._frames) > 1:
            oldest = next(iter(self._frames))
            total -= self._frames.pop(oldest).data.nbytes
        return f

    def _requantise(self) -> None:
        f = self.current
        if f is None:
            return
        lo, hi = imagefile.clip_levels(
            f.data, self.clip_box.value(), symmetric_levels=self._symmetric
        )
        self._scaled = imagefile.quantise(f.data, lo, hi)
        self.image_item.setImage(self._scaled.index, autoLevels=False, levels=(0, 65535))
        self._apply_lut()

    def _apply_lut(self, *_: Any) -> None:
        if self._colours is None:
            return
        lut = imagefile.lookup_table(self._colours, self.scaling_box.currentText())
        self.image_item.setLookupTable(lut)

    def _fill_header(self) -> None:
        assert self.current is not None
        cards = self.current.cards()
        self.header_table.setRowCount(len(cards))
        for row, card in enumerate(cards):
            for col, text in enumerate(card):
                self.header_table.setItem(row, col, QTableWidgetItem(text))
        self.header_table.resizeColumnsToContents()
        self._filter_header(self.header_search.text())

    def _filter_header(self, text: str) -> None:
        needle = text.strip().lower()
        for row in range(self.header_table.rowCount()):
            items = [self.header_table.item(row, c) for c in range(3)]
            hit = not needle or any(
                needle in item.text().lower() for item in items if item is not None
            )
            self.header_table.setRowHidden(row, not hit)

    # --- coordinates ---------------------------------------------------------------------------
    def pixel_to_hpc(self, x: float, y: float) -> tuple[float, float] | None:
        """Helioprojective (Tx, Ty) arcsec of 0-based pixel (x, y), via astropy.wcs."""
        w = self.current.wcs if self.current is not None else None
        if w is None:
            return None
        lon, lat = w.celestial.pixel_to_world_values(x, y)
        tx = (float(lon) + 180.0) % 360.0 - 180.0
        return tx * 3600.0, float(lat) * 3600.0

    def hpc_to_pixel(self, tx: np.ndarray, ty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        assert self.current is not None
        assert self.current.wcs is not None
        px, py = self.current.wcs.celestial.world_to_pixel_values(tx / 3600.0, ty / 3600.0)
        return np.asarray(px), np.asarray(py)

    def sunpy_map(self) -> Any:
        """The shown file as a sunpy map (observer, frames), made when first needed."""
        if self._sunpy_map is None and self.current is not None and self.current.wcs is not None:
            import sunpy.map

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._sunpy_map = sunpy.map.Map(self.current.data, self.current.header)
        return self._sunpy_map

    def _on_mouse_moved(self, pos: QPointF) -> None:
        if self.current is None:
            return
        p = self.view.mapSceneToView(pos)
        x, y = p.x(), p.y()
        ny, nx = self.current.data.shape
        ix, iy = round(x), round(y)
        if not (0 <= ix < nx and 0 <= iy < ny):
            return
        value = self.current.data[iy, ix]
        text = f"pixel ({ix}, {iy})  value {value:.6g}"
        hpc = self.pixel_to_hpc(x, y)
        if hpc is not None:
            text += f'\nHPC  Tx {hpc[0]:.1f}"  Ty {hpc[1]:.1f}"'
            self._cursor = hpc
            self._coord_timer.start()
        self._coord_text = text
        self.coord_label.setText(text)

    def carrington(self, tx: float, ty: float) -> tuple[float, float] | None:
        """Carrington (lon, lat) degrees of a disk point, via sunpy's frames (None off disk)."""
        m = self.sunpy_map()
        if m is None:
            return None
        import astropy.units as u
        from astropy.coordinates import SkyCoord
        from sunpy.coordinates import frames

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c = SkyCoord(tx * u.arcsec, ty * u.arcsec, frame=m.coordinate_frame)
            hgc = c.transform_to(
                frames.HeliographicCarrington(observer=m.observer_coordinate, obstime=m.date)
            )
        lon, lat = float(hgc.lon.to_value(u.deg)), float(hgc.lat.to_value(u.deg))
        if math.isnan(lon) or math.isnan(lat):
            return None
        return lon, lat

    def _update_carrington(self) -> None:
        if self._cursor is None:
            return
        hgc = self.carrington(*self._cursor)
        extra = (
            "\nCarrington  off disk"
            if hgc is None
            else (f"\nCarrington  lon {hgc[0]:.2f}°  lat {hgc[1]:.2f}°")
        )
        self.coord_label.setText(self._coord_text + extra)

    # --- overlay ---------------------------------------------------------------------------------
    def _set_overlay_visible(self, on: bool) -> None:
        self.limb_item.setVisible(on)
        self.grid_item.setVisible(on)

    def _draw_overlay(self) -> None:
        f = self.current
        if f is None or f.wcs is None or "RSUN_OBS" not in f.header:
            self.limb_item.setData([], [])
            self.grid_item.setData([], [])
            return
        r = float(f.header["RSUN_OBS"])
        a = np.linspace(0.0, 2 * np.pi, 361)
        px, py = self.hpc_to_pixel(r * np.cos(a), r * np.sin(a))
        self.limb_item.setData(px, py)
        gx, gy = self.grid_lines()
        self.grid_item.setData(gx, gy, connect="finite")

    def grid_lines(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel polylines (NaN-separated) of the Stonyhurst grid's visible part (sunpy)."""
        m = self.sunpy_map()
        if m is None:
            return np.array([]), np.array([])
        import astropy.units as u
        from astropy.coordinates import SkyCoord
        from sunpy.coordinates import frames

        step = GRID_STEP_DEG
        lines = []
        t = np.linspace(-90.0, 90.0, 91)
        for lon in np.arange(-180.0, 180.0, step):
            lines.append((np.full_like(t, lon), t))
        lo = np.linspace(-180.0, 180.0, 181)
        for lat in np.arange(-90.0 + step, 90.0, step):
            lines.append((lo, np.full_like(lo, lat)))
        lons = np.concatenate([np.append(ln, np.nan) for ln, _ in lines])
        lats = np.concatenate([np.append(la, np.nan) for _, la in lines])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c = SkyCoord(
                lons * u.deg,
                lats * u.deg,
                frame=frames.HeliographicStonyhurst,
                obstime=m.date,
                observer=m.observer_coordinate,
            )
            hcc = c.transform_to(
                frames.Heliocentric(observer=m.observer_coordinate, obstime=m.date)
            )
            hpc = c.transform_to(m.coordinate_frame)
        hidden = np.asarray(hcc.z.value) < 0
        tx = np.asarray(hpc.Tx.to_value(u.arcsec), dtype=float)
        ty = np.asarray(hpc.Ty.to_value(u.arcsec), dtype=float)
        tx[hidden | np.isnan(lons)] = np.nan
        ty[hidden | np.isnan(lons)] = np.nan
        return self.hpc_to_pixel(tx, ty)

    # --- cutout box ----------------------------------------------------------------------
    def _toggle_roi(self, on: bool) -> None:
        self.roi.setVisible(on)
        self.use_cutout_button.setEnabled(
            on and self.current is not None and self.current.wcs is not None
        )
        self._update_cutout_label()

    def cutout_corners(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """(bottom-left, top-right) helioprojective arcsec of the drawn box."""
        if self.current is None or self.current.wcs is None:
            return None
        pos, size = self.roi.pos(), self.roi.size()
        xs = (pos.x() - 0.5, pos.x() + size.x() - 0.5)
        ys = (pos.y() - 0.5, pos.y() + size.y() - 0.5)
        corners = [self.pixel_to_hpc(x, y) for x in xs for y in ys]
        txs = [c[0] for c in corners if c is not None]
        tys = [c[1] for c in corners if c is not None]
        return (min(txs), min(tys)), (max(txs), max(tys))

    def _update_cutout_label(self, *_: Any) -> None:
        if not self.roi.isVisible():
            self.cutout_label.setText("")
            return
        corners = self.cutout_corners()
        if corners is None:
            self.cutout_label.setText("Cutout: this file has no helioprojective WCS")
            return
        (x0, y0), (x1, y1) = corners
        self.cutout_label.setText(
            f'Cutout  bottom-left ({x0:.1f}", {y0:.1f}")  top-right ({x1:.1f}", {y1:.1f}")\n'
            f'centre ({(x0 + x1) / 2:.1f}", {(y0 + y1) / 2:.1f}")  '
            f'{x1 - x0:.1f}" × {y1 - y0:.1f}"'
        )

    def cutout_node(self) -> Cutout | None:
        corners = self.cutout_corners()
        if corners is None or self.current is None or self.current.date_obs is None:
            return None
        try:
            return Cutout.from_corners(
                corners[0], corners[1], self.current.date_obs, tracking=self.track_box.isChecked()
            )
        except QueryError as exc:
            self.error_label.setText(str(exc))
            return None

    def use_cutout(self) -> Cutout | None:
        node = self.cutout_node()
        if node is not None:
            self.cutout_chosen.emit(node)
        return node

    def closeEvent(self, event: Any) -> None:
        self._play_timer.stop()
        self._coord_timer.stop()
        super().closeEvent(event)


def open_viewer(
    paths: Sequence[str | Path],
    parent: QWidget | None = None,
    *,
    on_cutout: Callable[[Cutout], object] | None = None,
) -> ViewerWindow:
    """Open a viewer window on ``paths`` (a time series: sorted by name) and show it."""
    win = ViewerWindow(sorted(Path(p) for p in paths), parent, on_cutout=on_cutout)
    win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    win.show()
    return win
