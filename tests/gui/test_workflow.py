"""The whole workflow in the window, against the demo server over loopback:

seed query → submit export → status to done → files download byte-exact → drag-out mimeData
→ save session → new window (a restart) → reopen → the pending export is re-attached and the
interrupted download resumes from its partial file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import astropy.units as u
import pytest
from PySide6.QtCore import QItemSelectionModel, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from jsocdesk.core.download.engine import EngineOptions
from jsocdesk.core.download.item import DownloadItem, DownloadState
from jsocdesk.core.jsoc.export import ExportJob, JobState, PollPolicy
from jsocdesk.core.jsoc.protocol import ExportFile
from jsocdesk.core.query.tree import And, Sample, Series, Time
from jsocdesk.core.workflow import local_name
from jsocdesk.demo.faults import Fault
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.main_window import MainWindow
from tests.demo_server import DEMO_EMAIL
from tests.gui.conftest import close_app

S = DownloadState
FAST = PollPolicy(first=0.05, factor=1.5, cap=0.3, jitter=0.0)

SEED = And(
    Series("hmi.v_45s"),
    Time("2014-01-01T00:00:00", "2014-01-01T01:00:00"),
    Sample(10 * u.min),
)
SECOND = And(Series("hmi.m_45s"), Time("2014-01-01T00:00:00", "2014-01-01T00:05:00"))
THIRD = And(Series("hmi.ic_720s"), Time("2014-01-01T00:00:00", "2014-01-01T02:00:00"))


def install(window: MainWindow, ctx: AppContext) -> MainWindow:
    """The window's own workflow, with fast test timings."""
    wf = window
    wf.workflow.exports.policy = FAST
    wf.workflow.engine.options = EngineOptions(fsync=False, progress_interval=0.05)
    return wf


class App:
    """One app instance: context, window, workflow."""

    def __init__(self, qtbot: Any, server: Any, folder: Path) -> None:
        self.ctx = AppContext.create(show_error_dialog=False)
        self.ctx.settings.email = DEMO_EMAIL
        self.window = MainWindow(self.ctx)
        self.wf = install(self.window, self.ctx)
        self.wf.workflow.set_download_folder(folder)  # the user's choice
        self.window.show()
        qtbot.waitExposed(self.window)
        self.ctx.connect(server.base_url)
        self.closed = False

    def close(self, qtbot: Any) -> None:
        if self.closed:
            return
        self.closed = True
        close_app(qtbot, self.window, self.ctx)


@pytest.fixture
def apps(qtbot: Any, qloop: Any) -> Iterator[Callable[..., App]]:
    made: list[App] = []

    def make(server: Any, folder: Path) -> App:
        app = App(qtbot, server, folder)
        made.append(app)
        return app

    yield make
    for app in made:
        app.close(qtbot)
    reports = [f"{r.context}: {r.message}\n{r.details}" for a in made for r in a.ctx.sink.reports]
    assert not reports, "\n".join(reports)


def server_file(server: Any, url: str) -> Path:
    return Path(server.data_dir) / urlsplit(url).path.lstrip("/")


def submit(qtbot: Any, app: App, root: Any) -> ExportJob:
    w, wf = app.window, app.wf
    w.query_panel.tree.set_root(root)
    with qtbot.waitSignal(wf.exports_tab.plan_ready, timeout=20_000):
        if w.tabs.currentWidget() is wf.exports_tab:
            wf.exports_tab.refresh_plan()
        else:
            w.tabs.setCurrentWidget(wf.exports_tab)  # showing the tab plans the export
    qtbot.waitUntil(lambda: wf.exports_tab.email_registered is True, timeout=20_000)
    (job,) = wf.exports_tab.submit()
    return job


def items_of(wf: MainWindow, job: ExportJob) -> list[DownloadItem]:
    urls = {f.url for f in job.files}
    return [it for it in wf.workflow.downloads if it.url in urls]


def select_all_rows(wf: MainWindow) -> list[Any]:
    view = wf.downloads_tab.view
    view.selectionModel().clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for r in range(wf.downloads_tab.model.rowCount()):
        view.selectionModel().select(wf.downloads_tab.model.index(r, 0), flags)
    return view.selectionModel().selectedRows()


def test_whole_workflow_restart_reattach_resume(
    qtbot: Any, demo_server_factory: Any, apps: Callable[..., App], tmp_path: Path
) -> None:
    server = demo_server_factory(export_delay=2.0, segment_bytes=300_000)
    folder = tmp_path / "downloads"
    first = apps(server, folder)
    w, wf = first.window, first.wf
    assert w.windowTitle() == "untitled[*] — jsocdesk"
    assert [w.tabs.tabText(i) for i in range(w.tabs.count())][-2:] == ["Exports", "Downloads"]

    # --- seed query → export → done → downloads byte-exact
    job1 = submit(qtbot, first, SEED)
    assert w.isWindowModified()
    qtbot.waitUntil(lambda: job1.state is JobState.PENDING, timeout=20_000)
    assert job1.requestid.startswith("JSOC_")
    qtbot.waitUntil(lambda: job1.state is JobState.DONE, timeout=20_000)
    assert len(job1.files) == 7
    qtbot.waitUntil(lambda: len(items_of(wf, job1)) == 7, timeout=10_000)
    assert ("Export ready", f"{job1.requestid}: 7 file(s) ready, downloading 7") in [
        h[:2] for h in wf.notifier.history
    ]
    qtbot.waitUntil(lambda: all(it.state is S.DONE for it in wf.workflow.downloads), timeout=30_000)
    for f in job1.files:
        local = folder / local_name(f)
        assert local.read_bytes() == server_file(server, f.url).read_bytes()
    assert wf.notifier.history[-1][:2] == ("Downloads finished", "7 file(s) downloaded")

    # --- drag-out: the selected completed rows as file URLs
    rows = select_all_rows(wf)
    mime = wf.downloads_tab.model.mimeData(rows)
    assert mime is not None
    assert [u.toLocalFile() for u in mime.urls()] == [
        str((folder / local_name(f)).resolve()) for f in job1.files
    ]

    # --- quick look: double-click a downloaded FITS file
    w.tabs.setCurrentWidget(wf.downloads_tab)
    view = wf.downloads_tab.view
    rect = view.visualRect(wf.downloads_tab.model.index(0, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(
        lambda: wf.quick_look_dialog is not None and wf.quick_look_dialog.preview is not None,
        timeout=20_000,
    )
    dialog = wf.quick_look_dialog
    assert dialog is not None
    assert dialog.preview is not None
    assert dialog.isVisible()
    assert dialog.header_edit.toPlainText().startswith("SIMPLE  =")
    assert "T_REC" in dialog.header_edit.toPlainText()
    assert not dialog.image_label.pixmap().isNull()
    dialog.close()

    # --- a second export whose first download stalls (the connection hangs)
    server.faults.add(Fault("stall", route="files", value=math.inf, at=100_000, times=1))
    job2 = submit(qtbot, first, SECOND)
    qtbot.waitUntil(lambda: job2.state is JobState.DONE, timeout=20_000)
    qtbot.waitUntil(lambda: len(items_of(wf, job2)) == len(job2.files), timeout=10_000)

    def only_stalled() -> DownloadItem | None:
        # Which transfer meets the one-shot stall depends on which request reaches the
        # server first (two run at once), so find it instead of assuming the first row.
        unfinished = [it for it in items_of(wf, job2) if it.state is not S.DONE]
        if len(unfinished) == 1 and unfinished[0].bytes_done >= 100_000:
            return unfinished[0]
        return None

    qtbot.waitUntil(lambda: only_stalled() is not None, timeout=30_000)
    stalled = only_stalled()
    assert stalled is not None
    assert stalled.state is S.ACTIVE
    # --- and a third one still pending at save time
    job3 = submit(qtbot, first, THIRD)
    qtbot.waitUntil(lambda: job3.state is JobState.PENDING and bool(job3.requestid), timeout=20_000)

    session = tmp_path / "tomorrow.json"
    assert wf.sessions.save_to(session)
    assert w.windowTitle() == "tomorrow.json[*] — jsocdesk"
    assert not w.isWindowModified()
    first.close(qtbot)  # a restart: transfers stop, the partial file stays
    assert stalled.part_path.stat().st_size == 100_000
    assert not stalled.target.exists()

    # the server's copy changes its first bytes (same size and time, so same validators):
    # a resumed transfer keeps the bytes it already has, a restarted one would fetch new ones
    original = server_file(server, stalled.url).read_bytes()
    served = server_file(server, stalled.url)
    st = served.stat()
    with open(served, "r+b") as fh:
        fh.write(b"X" * 16)
    os.utime(served, ns=(st.st_atime_ns, st.st_mtime_ns))

    # --- the next day: a new window opens the session (as `jsocdesk tomorrow.json` does)
    second = apps(server, tmp_path / "elsewhere")
    w2, wf2 = second.window, second.wf
    w2.open_session_file(session)
    assert w2.windowTitle() == "tomorrow.json[*] — jsocdesk"
    assert not w2.isWindowModified()
    assert w2.query_panel.tree.root == THIRD
    assert wf2.workflow.download_folder == folder
    jobs = list(wf2.workflow.exports.jobs)
    assert [j.requestid for j in jobs] == [job1.requestid, job2.requestid, job3.requestid]
    reattached = jobs[2]
    assert reattached.state is JobState.PENDING  # re-attached: polled again, not resubmitted
    qtbot.waitUntil(lambda: reattached.state is JobState.DONE, timeout=20_000)
    assert reattached.polls >= 1
    qtbot.waitUntil(
        lambda: len(wf2.workflow.downloads) == 7 + len(job2.files) + len(reattached.files),
        timeout=10_000,
    )
    resumed = next(it for it in wf2.workflow.downloads if it.id == stalled.id)
    qtbot.waitUntil(
        lambda: all(it.state is S.DONE for it in wf2.workflow.downloads), timeout=30_000
    )
    assert resumed.target.read_bytes() == original  # resumed from the 100 kB partial file
    for f in [f for f in job2.files if f.url != stalled.url] + reattached.files:
        assert (folder / local_name(f)).read_bytes() == server_file(server, f.url).read_bytes()


def test_session_file_dropped_on_the_window_opens(
    qtbot: Any, demo_server: Any, apps: Callable[..., App], tmp_path: Path
) -> None:
    app = apps(demo_server, tmp_path / "dl")
    app.window.query_panel.tree.set_root(SEED)
    path = tmp_path / "dropped.json"
    assert app.wf.sessions.save_to(path)
    app.wf.sessions.new()
    assert len(app.window.query_panel.tree.root.children) == 0

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(
        QPoint(20, 20),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(app.window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(20, 20),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(app.window, drop)
    assert app.wf.sessions.path == path
    assert app.window.windowTitle() == "dropped.json[*] — jsocdesk"
    assert app.window.query_panel.tree.root == SEED

    # something that is not a session is not taken
    other = QMimeData()
    other.setUrls([QUrl.fromLocalFile(str(tmp_path / "image.png"))])
    enter = QDragEnterEvent(
        QPoint(20, 20),
        Qt.DropAction.CopyAction,
        other,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    enter.ignore()
    QApplication.sendEvent(app.window, enter)
    assert not enter.isAccepted()


def test_downloaded_files_are_recognised_on_rerun(
    qtbot: Any, demo_server: Any, apps: Callable[..., App], tmp_path: Path
) -> None:
    folder = tmp_path / "first"
    first = apps(demo_server, folder)
    job = submit(qtbot, first, SEED)
    qtbot.waitUntil(lambda: job.state is JobState.DONE, timeout=20_000)
    qtbot.waitUntil(
        lambda: (
            len(first.wf.workflow.downloads) == 7
            and all(it.state is S.DONE for it in first.wf.workflow.downloads)
        ),
        timeout=30_000,
    )
    paths = sorted(it.target for it in first.wf.workflow.downloads)
    first.close(qtbot)  # the catalogue is saved

    # another run of the app, another folder: the same export is recognised, nothing is
    # fetched (every file request would fail), and the files are there, byte-identical
    demo_server.faults.add(Fault("http_error", route="files", value=404))
    second_folder = tmp_path / "second"
    second = apps(demo_server, second_folder)
    again = submit(qtbot, second, SEED)
    qtbot.waitUntil(lambda: again.state is JobState.DONE, timeout=20_000)
    qtbot.waitUntil(
        lambda: (
            len(second.wf.workflow.downloads) == 7
            and all(it.state is S.DONE for it in second.wf.workflow.downloads)
        ),
        timeout=30_000,
    )
    assert demo_server.faults.hits["http_error"] == 0
    targets = sorted(it.target for it in second.wf.workflow.downloads)
    assert [t.parent for t in targets] == [second_folder] * 7
    assert [t.read_bytes() for t in targets] == [p.read_bytes() for p in paths]
    assert [t.name for t in targets] == [p.name for p in paths]
    model = second.wf.downloads_tab.model
    assert {model.data(model.index(r, 5)) for r in range(model.rowCount())} == {"Done"}


def test_url_quick_as_is_files_get_distinct_names(
    qtbot: Any, demo_server: Any, apps: Callable[..., App], tmp_path: Path
) -> None:
    f = ExportFile(
        "hmi.v_45s[2014.01.01_00:00:00_TAI][2]{Dopplergram}",
        "/SUM58/D803708321/S00008/Dopplergram.fits",
        "http://127.0.0.1/SUM58/D803708321/S00008/Dopplergram.fits",
    )
    # the core's one naming rule, the same as ``jsocdesk fetch`` (and drms)
    assert local_name(f) == "hmi.v_45s.20140101_000000_TAI.2.Dopplergram.fits"
    named = ExportFile("hmi.v_45s[x]", "hmi.v_45s.123.Dopplergram.fits", "http://h/a")
    assert local_name(named) == "hmi.v_45s.123.Dopplergram.fits"

    folder = tmp_path / "raw"
    app = apps(demo_server, folder)
    wf = app.wf
    app.window.query_panel.tree.set_root(SEED)
    with qtbot.waitSignal(wf.exports_tab.plan_ready, timeout=20_000):
        app.window.tabs.setCurrentWidget(wf.exports_tab)
    wf.exports_tab.headers_check.setChecked(False)  # raw segment files: url_quick + as-is
    qtbot.waitUntil(
        lambda: bool(wf.exports_tab.plan) and wf.exports_tab.plan[0].method == "url_quick",
        timeout=20_000,
    )
    assert wf.exports_tab.plan[0].protocol == "as-is"
    qtbot.waitUntil(lambda: wf.exports_tab.email_registered is True, timeout=20_000)
    (job,) = wf.exports_tab.submit()
    qtbot.waitUntil(lambda: job.state is JobState.DONE, timeout=20_000)
    assert job.requestid == ""  # answered at once, no staging
    qtbot.waitUntil(
        lambda: (
            len(wf.workflow.downloads) == 7
            and all(it.state is S.DONE for it in wf.workflow.downloads)
        ),
        timeout=30_000,
    )
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 7
    assert all(n.startswith("hmi.") and n.endswith(".fits") for n in names), names
    for f in job.files:
        assert (folder / local_name(f)).read_bytes() == server_file(demo_server, f.url).read_bytes()


def test_url_tar_export_is_downloaded_and_unpacked(
    qtbot: Any, demo_server_factory: Any, apps: Callable[..., App], tmp_path: Path
) -> None:
    server = demo_server_factory(export_delay=0.3, segment_bytes=40_000)
    folder = tmp_path / "downloads"
    app = apps(server, folder)
    w, wf = app.window, app.wf
    w.query_panel.tree.set_root(SEED)
    with qtbot.waitSignal(wf.exports_tab.plan_ready, timeout=20_000):
        w.tabs.setCurrentWidget(wf.exports_tab)
    qtbot.waitUntil(lambda: wf.exports_tab.email_registered is True, timeout=20_000)
    wf.exports_tab.method_combo(0).setCurrentText("url-tar")  # the user's choice
    (job,) = wf.exports_tab.submit()
    qtbot.waitUntil(lambda: job.state is JobState.DONE, timeout=20_000)
    assert job.method == "url-tar"
    assert job.tar_url
    assert len(job.files) == 7
    qtbot.waitUntil(
        lambda: len(wf.workflow.downloads) == 1 and wf.workflow.downloads[0].state is S.DONE,
        timeout=30_000,
    )
    for f in job.files:
        local = folder / PurePosixPath(f.filename).name
        assert local.read_bytes() == server_file(server, f.url).read_bytes()
    assert not list(folder.glob("*.tar*"))  # unpacked, archive removed
