"""The Downloads tab against real transfers from the demo server (loopback HTTP)."""

from __future__ import annotations

import asyncio
import math
import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, QUrl
from PySide6.QtWidgets import QMainWindow

from jsocdesk.core.download.engine import DownloadEngine, EngineOptions
from jsocdesk.core.download.item import DownloadItem, DownloadState
from jsocdesk.core.download.queue import DownloadQueue
from jsocdesk.demo.faults import Fault
from jsocdesk.gui.downloads.delegate import progress_text
from jsocdesk.gui.downloads.format import human_bytes, human_duration
from jsocdesk.gui.downloads.model import COL_STATUS, URI_LIST, DownloadsModel
from jsocdesk.gui.downloads.notify import Notifier
from jsocdesk.gui.downloads.tab import DownloadsTab, totals_text
from tests.gui.conftest import wait_task

S = DownloadState


def serve_files(data_dir: Path, sizes: dict[str, int]) -> dict[str, bytes]:
    """Write files under the demo server's data dir; returns name → content."""
    folder = data_dir / "SUM7" / "D100" / "S00000"
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, bytes] = {}
    for name, size in sizes.items():
        body = os.urandom(size)
        (folder / name).write_bytes(body)
        out[name] = body
    return out


def url_of(server: Any, name: str) -> str:
    return f"{server.base_url}SUM7/D100/S00000/{name}"


@pytest.fixture
def window(qtbot: Any) -> QMainWindow:
    w = QMainWindow()
    qtbot.addWidget(w)
    w.resize(1000, 500)
    return w


def make_tab(window: QMainWindow, queue: DownloadQueue) -> DownloadsTab:
    tab = DownloadsTab(queue, status_bar=window.statusBar(), notifier=Notifier(window.statusBar()))
    window.setCentralWidget(tab)
    window.show()
    return tab


def select_rows(tab: DownloadsTab, rows: list[int]) -> None:
    sel = tab.view.selectionModel()
    sel.clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for r in rows:
        sel.select(tab.model.index(r, 0), flags)


def test_format_helpers() -> None:
    assert human_bytes(None) == "?"
    assert human_bytes(999) == "999 B"
    assert human_bytes(1500) == "1.5 KB"
    assert human_bytes(2_500_000) == "2.5 MB"
    assert human_duration(75) == "1:15"
    assert human_duration(3700) == "1:01:40"
    assert human_duration(None) == ""
    item = DownloadItem("http://x/a.fits", Path("/tmp/a.fits"), expected_size=2000)
    item.bytes_done = 500
    assert progress_text(item) == "500 B / 2.0 KB (25%)"
    item.state = S.ACTIVE
    item.speed = 100.0
    assert progress_text(item) == "500 B / 2.0 KB (25%) · 100 B/s · 0:15 left"


def test_download_byte_exact_drag_out_and_batch_notification(
    qtbot: Any, qloop: Any, demo_server: Any, tmp_path: Path, window: QMainWindow
) -> None:
    files = serve_files(demo_server.data_dir, {"a.fits": 70_000, "b.fits": 120_000, "c.txt": 999})
    queue = DownloadQueue()
    tab = make_tab(window, queue)
    out = tmp_path / "out"
    for name, body in files.items():
        queue.add(url_of(demo_server, name), out, expected_size=len(body))
    assert tab.model.rowCount() == 3
    # nothing is draggable before it is complete
    select_rows(tab, [0, 1, 2])
    assert tab.model.mimeData(tab.view.selectionModel().selectedRows()) is None

    engine = DownloadEngine(queue, options=EngineOptions(fsync=False))
    wait_task(qtbot, asyncio.ensure_future(engine.run_until_idle()))
    for name, body in files.items():
        assert (out / name).read_bytes() == body
    assert all(it.state is S.DONE for it in queue)
    # the batch end is notified (offscreen has no tray: the status bar gets it)
    assert tab.notifier is not None
    assert tab.notifier.history[-1][:2] == ("Downloads finished", "3 file(s) downloaded")
    assert "Downloads finished" in window.statusBar().currentMessage()
    tab.refresh()
    assert tab.totals_label.text().startswith("3 of 3 done")

    # drag-out: only the selected rows, as file URLs, each file once
    select_rows(tab, [0, 2])
    mime = tab.model.mimeData(tab.view.selectionModel().selectedIndexes())
    assert mime is not None
    assert mime.hasFormat(URI_LIST)
    assert [u.toLocalFile() for u in mime.urls()] == [
        str((out / "a.fits").resolve()),
        str((out / "c.txt").resolve()),
    ]
    assert all(QUrl(u).isLocalFile() for u in mime.urls())


def test_download_error_is_shown_on_its_row(
    qtbot: Any, qloop: Any, demo_server: Any, tmp_path: Path, window: QMainWindow
) -> None:
    files = serve_files(demo_server.data_dir, {"good.fits": 5000})
    queue = DownloadQueue()
    tab = make_tab(window, queue)
    queue.add(url_of(demo_server, "good.fits"), tmp_path, expected_size=5000)
    queue.add(url_of(demo_server, "missing.fits"), tmp_path)
    engine = DownloadEngine(queue, options=EngineOptions(fsync=False))
    wait_task(qtbot, asyncio.ensure_future(engine.run_until_idle()))
    assert (tmp_path / "good.fits").read_bytes() == files["good.fits"]
    bad = queue[1]
    assert bad.state is S.FAILED
    status = tab.model.data(tab.model.index(1, COL_STATUS))
    assert status.startswith("Failed: HTTP 404")
    assert tab.model.data(tab.model.index(1, COL_STATUS), 3) == bad.error  # ToolTipRole
    # a failed row is never dragged out, retry is offered for it
    select_rows(tab, [1])
    assert tab.model.mimeData(tab.view.selectionModel().selectedRows()) is None
    assert tab.act_retry.isEnabled()
    assert not tab.act_open.isEnabled()
    # the file appears on the server: retry from the tab, and it completes
    serve_files(demo_server.data_dir, {"missing.fits": 3000})
    tab.act_retry.trigger()
    assert bad.state is S.QUEUED
    wait_task(qtbot, asyncio.ensure_future(engine.run_until_idle()))
    assert bad.state is S.DONE
    assert tab.notifier is not None
    assert tab.notifier.history[0][1] == "1 file(s) downloaded, 1 failed"


def test_pause_resume_cancel_from_the_tab(
    qtbot: Any, qloop: Any, demo_server: Any, tmp_path: Path, window: QMainWindow
) -> None:
    files = serve_files(demo_server.data_dir, {"slow.fits": 300_000, "other.fits": 4000})
    # the first transfer stalls after 100 kB until the test is done with it
    demo_server.faults.add(Fault("stall", route="files", value=30, at=100_000, match="slow"))
    queue = DownloadQueue()
    tab = make_tab(window, queue)
    slow = queue.add(url_of(demo_server, "slow.fits"), tmp_path, expected_size=300_000)
    other = queue.add(url_of(demo_server, "other.fits"), tmp_path, expected_size=4000)
    engine = DownloadEngine(
        queue, options=EngineOptions(fsync=False, progress_interval=0.05, stall_timeout=60)
    )
    engine.start()
    try:
        qtbot.waitUntil(
            lambda: slow.bytes_done >= 100_000 and other.state is S.DONE, timeout=20_000
        )
        select_rows(tab, [0])
        assert tab.act_pause.isEnabled()
        assert not tab.act_resume.isEnabled()
        tab.act_pause.trigger()
        assert slow.state is S.PAUSED
        qtbot.waitUntil(lambda: not engine.running, timeout=10_000)
        assert slow.part_path.stat().st_size == 100_000  # partial file kept for the resume
        assert tab.act_resume.isEnabled()
        demo_server.faults.clear()
        tab.act_resume.trigger()
        qtbot.waitUntil(lambda: slow.state is S.DONE, timeout=20_000)
        assert (tmp_path / "slow.fits").read_bytes() == files["slow.fits"]
        # cancel a completed row is not offered; remove finished empties the table
        select_rows(tab, [0, 1])
        assert not tab.act_cancel.isEnabled()
        tab.act_clear.trigger()
        assert tab.model.rowCount() == 0
        assert totals_text(queue.totals()) == "No downloads"
    finally:
        wait_task(qtbot, asyncio.ensure_future(engine.aclose()))


def test_catalogued_files_show_done(tmp_path: Path, qapp: Any) -> None:
    from jsocdesk.core.download.catalog import Catalog

    catalog = Catalog(tmp_path / "catalog.json")
    done = tmp_path / "known.fits"
    done.write_bytes(b"x" * 1234)
    catalog.record("hmi.v_45s[2014.01.01_00:00:00_TAI][2]{Dopplergram}", done, 1234)
    queue = DownloadQueue(catalog=catalog)
    model = DownloadsModel(queue)
    queue.add(
        "http://127.0.0.1:1/SUM1/x.fits",
        tmp_path,  # the folder it was downloaded into (elsewhere it is linked or copied)
        key="hmi.v_45s[2014.01.01_00:00:00_TAI][2]{Dopplergram}",
    )
    assert model.data(model.index(0, COL_STATUS)) == "Done"
    assert model.data(model.index(0, 0)) == "known.fits"
    assert model.flags(model.index(0, 0)) & model.flags(model.index(0, 0)).ItemIsDragEnabled


def test_model_tester_under_rapid_progress(qtbot: Any, qtmodeltester: Any, tmp_path: Path) -> None:
    queue = DownloadQueue()
    model = DownloadsModel(queue)
    qtmodeltester.check(model)
    emitted: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, *_: emitted.append((a.row(), b.row())))
    for i in range(40):
        queue.add(f"http://127.0.0.1:1/SUM1/f{i}.fits", tmp_path, expected_size=1000 + i)
    for rnd in range(25):
        for i, item in enumerate(queue):
            if item.state is S.QUEUED and i % 3 == rnd % 3:
                queue.set_state(item, S.ACTIVE)
            if item.state is S.ACTIVE:
                item.bytes_done = min(item.size_hint or 0, item.bytes_done + 97)
                queue.notify_item(item)
        emitted.clear()
        announced = model.flush(5, 14)  # only rows 5..14 are "on screen"
        assert all(5 <= a <= b <= 14 for a, b in emitted)
        assert announced <= 10
        assert model.pending_repaints == 0
        if rnd % 5 == 4:
            queue.move_item(queue[0], len(queue) - 1)
            queue.move_item(queue[len(queue) - 1], 3)
            queue.remove_item(queue[7])
            queue.add(f"http://127.0.0.1:1/SUM1/new{rnd}.fits", tmp_path)
    queue.replace_all(list(queue)[::2])
    assert model.rowCount() == len(queue)
    for r in range(model.rowCount()):
        for c in range(model.columnCount()):
            model.data(model.index(r, c))
    model.detach()


def test_repaint_timer_sleeps_while_idle(qtbot: Any, tmp_path: Path, window: QMainWindow) -> None:
    queue = DownloadQueue()
    tab = make_tab(window, queue)
    assert not tab.repaint_timer.isActive()  # empty queue
    item = queue.add("http://127.0.0.1:1/SUM1/a.fits", tmp_path, expected_size=10)
    assert tab.repaint_timer.isActive()
    queue.pause(item)
    tab.refresh()
    assert not tab.repaint_timer.isActive()
    assert tab.totals_label.text() == "0 of 1 done · 0 B / 10 B"
    queue.resume(item)  # queued again: something may move
    assert tab.repaint_timer.isActive()
    tab.detach()


def test_a_stall_says_stalled_not_an_eta_and_a_new_batch_clears_the_last_summary(
    qtbot: Any,
    qloop: Any,
    demo_server: Any,
    tmp_path: Path,
    window: QMainWindow,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 15: "45:54:38 left" during a stall; "3 file(s) downloaded" staying on."""
    from jsocdesk.core.download import item as item_module

    monkeypatch.setattr(item_module, "STALL_AFTER_S", 1.0)
    files = serve_files(demo_server.data_dir, {"ok.fits": 3000, "slow.fits": 200_000})
    queue = DownloadQueue()
    tab = make_tab(window, queue)
    queue.add(url_of(demo_server, "ok.fits"), tmp_path, expected_size=3000)
    engine = DownloadEngine(queue, options=EngineOptions(fsync=False))
    wait_task(qtbot, asyncio.ensure_future(engine.run_until_idle()))
    assert tab.status_label.text().startswith("1 file(s) downloaded")
    assert tab.totals_label.text().startswith("1 of 1 done")  # not a tick behind

    demo_server.faults.add(Fault("stall", "files", value=math.inf, at=20_000, match="slow"))
    slow = queue.add(url_of(demo_server, "slow.fits"), tmp_path, expected_size=200_000)
    assert tab.status_label.text() == ""  # the last batch's summary is gone
    run = asyncio.ensure_future(engine.run_until_idle())
    try:
        qtbot.waitUntil(lambda: slow.bytes_done >= 20_000 and slow.stalled(), timeout=20_000)
        text = progress_text(slow)
        assert "stalled" in text
        assert "left" not in text
        tab.refresh()
        assert "stalled" in tab.totals_label.text()
        assert "left" not in tab.totals_label.text()
    finally:
        run.cancel()
        qtbot.waitUntil(run.done, timeout=10_000)
    assert len(files) == 2


def test_the_totals_follow_a_replaced_queue_at_once(tmp_path: Path, window: QMainWindow) -> None:
    """Issue 15: a reopened session's downloads showed "No downloads" (a stale label)."""
    queue = DownloadQueue()
    tab = make_tab(window, queue)
    assert tab.totals_label.text() == "No downloads"
    items = [DownloadItem(f"http://127.0.0.1:9/{i}.fits", tmp_path / f"{i}.fits") for i in range(3)]
    queue.replace_all(items)
    assert tab.totals_label.text().startswith("0 of 3 done")
