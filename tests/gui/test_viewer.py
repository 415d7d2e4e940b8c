"""The image viewer, driven with real input: arrow keys and Space step and play a time
series, the mouse reads helioprojective and Carrington coordinates, the header search
filters cards, the colour table is sunpy's, and a cutout box becomes a Cutout node whose
corners are where sunpy's WCS puts the box."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("pyqtgraph")
sunpy_map = pytest.importorskip("sunpy.map")

import astropy.units as u  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from jsocdesk.core.query.tree import Cutout, QueryTree  # noqa: E402
from jsocdesk.demo import fitsgen, records  # noqa: E402
from jsocdesk.gui.viewer import imagefile, open_viewer  # noqa: E402

SIDE = 128


def _files(tmp_path: Path, spec: str, seg_name: str) -> list[Path]:
    out = []
    for rec in records.select(spec)[0]:
        seg = rec.series.segment(seg_name)
        assert seg is not None
        p = tmp_path / f"{rec.series.name}.{rec.recnum}.{seg_name}.fits"
        fitsgen.write_segment(p, rec, seg, 0, full=True, image_size=SIDE)
        out.append(p)
    return out


@pytest.fixture
def hmi_series(tmp_path: Path) -> list[Path]:
    return _files(tmp_path, "hmi.M_720s[2014.01.01_00:00:00_TAI/36m]", "magnetogram")


def _viewer(qtbot: Any, paths: list[Path], **kw: Any) -> Any:
    win = open_viewer(paths, **kw)
    assert win.testAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)  # qtbot closes it too
    qtbot.addWidget(win)
    qtbot.waitExposed(win)
    return win


def _scene_point(win: Any, x: float, y: float) -> QPoint:
    """Viewport position of image pixel (x, y)."""
    scene = win.view.mapViewToScene(QPointF(x, y))
    view_pos = win.graphics.mapFromScene(scene)
    return QPoint(round(view_pos.x()), round(view_pos.y()))


def test_arrow_keys_and_space_step_and_play_the_series(qtbot: Any, hmi_series: list[Path]) -> None:
    assert len(hmi_series) == 3
    win = _viewer(qtbot, hmi_series)
    assert win.index == 0
    assert win.frame_label.text() == "1 / 3"
    first_file = win.current
    first = win.image_item.image.copy()
    QTest.keyClick(win, Qt.Key.Key_Right)
    assert win.index == 1
    assert win.frame_label.text() == "2 / 3"
    assert not np.array_equal(first, win.image_item.image)  # the Sun rotated, noise changed
    QTest.keyClick(win, Qt.Key.Key_Right)
    QTest.keyClick(win, Qt.Key.Key_Right)  # at the end: stays
    assert win.index == 2
    QTest.keyClick(win, Qt.Key.Key_Left)
    assert win.index == 1
    QTest.keyClick(win, Qt.Key.Key_Left)
    assert win.current is first_file  # stepping back reads no file again (frame cache)
    QTest.keyClick(win, Qt.Key.Key_Right)
    shown: list[int] = []
    win.frame_shown.connect(shown.append)
    QTest.keyClick(win, Qt.Key.Key_Space)
    assert win.play_button.isChecked()
    qtbot.waitUntil(lambda: len(shown) >= 3, timeout=5000)
    assert shown[:3] == [2, 0, 1]  # wraps around while playing
    QTest.keyClick(win, Qt.Key.Key_Space)
    assert not win.play_button.isChecked()
    win.close()


def test_cursor_reads_helioprojective_and_carrington(qtbot: Any, hmi_series: list[Path]) -> None:
    win = _viewer(qtbot, hmi_series[:1])
    m = sunpy_map.Map(hmi_series[0])
    cx, cy = m.meta["crpix1"] - 1, m.meta["crpix2"] - 1
    target = _scene_point(win, round(cx), round(cy))
    QTest.mouseMove(win.graphics.viewport(), target)
    qtbot.waitUntil(lambda: "Carrington" in win.coord_label.text(), timeout=5000)
    text = win.coord_label.text()
    assert f"pixel ({round(cx)}, {round(cy)})" in text
    hpc = win.pixel_to_hpc(round(cx), round(cy))
    world = m.pixel_to_world(round(cx) * u.pix, round(cy) * u.pix)
    assert hpc[0] == pytest.approx(world.Tx.to_value("arcsec"), abs=0.01)
    assert hpc[1] == pytest.approx(world.Ty.to_value("arcsec"), abs=0.01)
    import re

    shown = re.search(r'Tx (-?[\d.]+)"  Ty (-?[\d.]+)"', text)
    assert shown is not None
    cdelt = m.meta["cdelt1"]  # the mouse lands within a pixel of the target
    assert float(shown[1]) == pytest.approx(hpc[0], abs=cdelt)
    assert float(shown[2]) == pytest.approx(hpc[1], abs=cdelt)
    lon, _lat = win.carrington(float(shown[1]), float(shown[2]))
    assert f"lon {lon:.2f}°" in text
    # Near disk centre the Carrington longitude is the header's CRLN_OBS (to a pixel).
    assert abs(((lon - m.meta["crln_obs"]) + 180) % 360 - 180) < 1.0
    win.close()


def test_header_search_and_sunpy_colour_tables(qtbot: Any, tmp_path: Path) -> None:
    paths = _files(tmp_path, "aia.lev1_euv_12s[2014.01.01_00:00:00_TAI][171]", "image")
    win = _viewer(qtbot, paths)
    assert imagefile.colour_table_name(win.current.header) == "sdoaia171"
    lut = np.asarray(win.image_item.lut)
    assert np.array_equal(
        lut, imagefile.lookup_table(imagefile.colour_table("sdoaia171"), "linear")
    )
    import sunpy.visualization.colormaps as cm

    top = (np.asarray(cm.cmlist["sdoaia171"](1.0)) * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(lut[-1], top)
    win.scaling_box.setCurrentText("asinh")
    assert not np.array_equal(np.asarray(win.image_item.lut), lut)
    qtbot.keyClicks(win.header_search, "rsun")
    visible = [
        win.header_table.item(r, 0).text()
        for r in range(win.header_table.rowCount())
        if not win.header_table.isRowHidden(r)
    ]
    assert set(visible) == {"RSUN_OBS", "RSUN_REF"}
    win.header_search.clear()
    assert not any(win.header_table.isRowHidden(r) for r in range(win.header_table.rowCount()))
    win.close()


def test_cutout_box_becomes_a_cutout_node_in_arcsec(qtbot: Any, hmi_series: list[Path]) -> None:
    tree = QueryTree()
    chosen: list[Cutout] = []
    win = _viewer(qtbot, hmi_series[:1], on_cutout=chosen.append)
    assert not win.use_cutout_button.isEnabled()
    qtbot.mouseClick(win.cutout_box, Qt.MouseButton.LeftButton)
    assert win.roi.isVisible()
    assert win.use_cutout_button.isEnabled()
    win.roi.setPos((40, 50))
    win.roi.setSize((30, 20))
    assert "bottom-left" in win.cutout_label.text()
    qtbot.mouseClick(win.use_cutout_button, Qt.MouseButton.LeftButton)
    assert len(chosen) == 1
    node = chosen[0]
    assert node.tracking
    m = sunpy_map.Map(hmi_series[0])
    # the box's four pixel corners (edges at half pixels), through sunpy's WCS
    corners = m.pixel_to_world([39.5, 39.5, 69.5, 69.5] * u.pix, [49.5, 69.5, 49.5, 69.5] * u.pix)
    tx = sorted(corners.Tx.to_value(u.arcsec))
    ty = sorted(corners.Ty.to_value(u.arcsec))
    assert node.bottom_left == pytest.approx((tx[0], ty[0]), abs=0.01)
    assert node.top_right == pytest.approx((tx[-1], ty[-1]), abs=0.01)
    assert node.width == pytest.approx(30 * m.meta["cdelt1"], rel=1e-3)
    assert node.t_ref.startswith(m.meta["date-obs"][:19])
    tree.insert(tree.root_id, 0, node)
    assert "Cutout" in tree.root.children[0].describe()
    win.close()


def test_unreadable_file_is_reported(qtbot: Any, tmp_path: Path) -> None:
    bad = tmp_path / "broken.fits"
    bad.write_bytes(b"SIMPLE  =    T" + b" " * 100)
    win = _viewer(qtbot, [bad])
    assert "broken.fits" in win.error_label.text()
    assert win.current is None
    win.close()


def test_main_window_viewer_puts_the_drawn_cutout_in_the_query(
    qtbot: Any, qloop: Any, hmi_series: list[Path]
) -> None:
    from jsocdesk.gui.context import AppContext
    from jsocdesk.gui.main_window import MainWindow
    from tests.gui.conftest import close_context

    ctx = AppContext.create(show_error_dialog=False)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    file_menu = window.menuBar().actions()[0].menu()
    assert window.open_images_action in file_menu.actions()
    win = window.open_viewer(hmi_series[:1])
    win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    qtbot.addWidget(win)
    qtbot.mouseClick(win.cutout_box, Qt.MouseButton.LeftButton)
    for _ in range(2):  # a second box replaces the first
        qtbot.mouseClick(win.use_cutout_button, Qt.MouseButton.LeftButton)
    tree = window.query_panel.tree
    cutouts = [tree.node(i) for i in tree.ids() if isinstance(tree.node(i), Cutout)]
    assert len(cutouts) == 1
    window.query_panel.undo_stack.undo()  # back to the first box
    assert len([i for i in tree.ids() if isinstance(tree.node(i), Cutout)]) == 1
    window.query_panel.undo_stack.undo()
    assert [i for i in tree.ids() if isinstance(tree.node(i), Cutout)] == []
    win.close()
    window.close()
    close_context(qtbot, ctx)


def test_cutout_node_is_edited_as_text_in_the_query_tree(qtbot: Any) -> None:
    from PySide6.QtGui import QUndoStack

    from jsocdesk.gui.query.model import QueryTreeModel

    tree = QueryTree()
    model = QueryTreeModel(tree, QUndoStack())
    node = Cutout(-300.0, 200.0, 240.0, 160.0, "2014-01-01T00:00:00", tracking=True, rebin=0.5)
    model.append_node(tree.root_id, node)
    idx = model.index(0, 1, model.index(0, 0))
    text = model.data(idx, Qt.ItemDataRole.EditRole)
    assert text == '-300", 200" 240" x 160" @ 2014-01-01T00:00:00.000 tracked rebin 0.5'
    assert model.setData(idx, "10, -20 50 x 40 @ 2014-01-02T03:04:05 register resize 1.2")
    edited = tree.root.children[0]
    assert isinstance(edited, Cutout)
    assert (edited.x, edited.y, edited.width, edited.height) == (10.0, -20.0, 50.0, 40.0)
    assert (edited.tracking, edited.register, edited.resize) == (False, True, 1.2)
    assert edited.t_ref == "2014-01-02T03:04:05.000"
    with qtbot.waitSignal(model.edit_rejected) as blocker:
        assert not model.setData(idx, "somewhere near the limb")
    assert "X, Y W x H @ TIME" in blocker.args[0]


def test_downloads_view_images_opens_the_downloaded_series(
    qtbot: Any, qloop: Any, demo_server: Any, tmp_path: Path
) -> None:
    """Downloaded demo FITS files → Downloads' "View images" → the viewer steps through them."""
    import asyncio

    from PySide6.QtCore import QItemSelectionModel
    from PySide6.QtWidgets import QMainWindow

    from jsocdesk.core.download.engine import DownloadEngine, EngineOptions
    from jsocdesk.core.download.queue import DownloadQueue
    from jsocdesk.gui.downloads.notify import Notifier
    from jsocdesk.gui.downloads.tab import DownloadsTab
    from tests.gui.conftest import wait_task

    served = demo_server.data_dir / "SUM7" / "D101" / "S00000"
    sources = _files(served, "hmi.M_720s[2014.01.01_00:00:00_TAI/24m]", "magnetogram")
    window = QMainWindow()
    qtbot.addWidget(window)
    queue = DownloadQueue()
    tab = DownloadsTab(queue, status_bar=window.statusBar(), notifier=Notifier(window.statusBar()))
    window.setCentralWidget(tab)
    window.show()
    out = tmp_path / "downloads"
    for src in sources:
        queue.add(f"{demo_server.base_url}SUM7/D101/S00000/{src.name}", out)
    engine = DownloadEngine(queue, options=EngineOptions(fsync=False))
    wait_task(qtbot, asyncio.ensure_future(engine.run_until_idle()))
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for row in range(tab.model.rowCount()):
        tab.view.selectionModel().select(tab.model.index(row, 0), flags)
    assert tab.act_view.isEnabled()
    with qtbot.waitSignal(tab.view_requested) as blocker:
        tab.act_view.trigger()
    paths = blocker.args[0]
    assert sorted(p.name for p in paths) == sorted(s.name for s in sources)
    win = _viewer(qtbot, paths)
    assert win.current is not None
    assert win.current.data.shape == (SIDE, SIDE)
    QTest.keyClick(win, Qt.Key.Key_Right)
    assert win.index == 1
    win.close()


def test_draw_cutout_on_the_first_records_image(qtbot: Any, qloop: Any, demo_server: Any) -> None:
    """Query panel → Draw cutout…: the first record's stored image with its WCS opens in the
    viewer with the box shown; Use as cutout puts the box, in arcsec, into the query."""
    from jsocdesk.core.query.tree import Series, Time
    from jsocdesk.gui.context import AppContext
    from jsocdesk.gui.main_window import MainWindow
    from tests.gui.conftest import close_context, connect_window

    ctx = AppContext.create(show_error_dialog=False)
    ctx.settings.count_delay_ms = 20
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    connect_window(qtbot, window, demo_server.base_url)
    panel = window.query_panel
    assert panel.draw_cutout() is None  # nothing to draw on yet
    panel.model.set_root(Series("hmi.M_45s") & Time("2014-01-01T00:00", "2014-01-01T01:00"))
    qtbot.waitUntil(lambda: panel.check is not None and panel.check.ok, timeout=30_000)
    panel.draw_cutout_action.trigger()
    qtbot.waitUntil(lambda: getattr(panel, "context_viewer", None) is not None, timeout=30_000)
    win = panel.context_viewer
    win.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    qtbot.addWidget(win)
    assert win.current is not None
    assert win.current.wcs is not None
    assert type(sunpy_map.Map(win.current.path)).__name__ == "HMIMap"
    assert win.roi.isVisible()
    qtbot.mouseClick(win.use_cutout_button, Qt.MouseButton.LeftButton)
    tree = panel.tree
    (node,) = [tree.node(i) for i in tree.ids() if isinstance(tree.node(i), Cutout)]
    assert node.t_ref[:19] == str(win.current.header["DATE-OBS"])[:19]  # the record's time
    assert node.t_ref.startswith(("2013-12-31T23:59", "2014-01-01T00:00"))
    assert node.width > 0
    assert node.height > 0
    win.close()
    window.close()
    close_context(qtbot, ctx)
    leftover = [f"{r.context}: {r.message}" for r in ctx.sink.reports]
    assert not leftover, leftover
