"""Sessions from anywhere, opened in the window: paths confined to the session's folder (or
the file refused with a clear message), nothing written before the user saw what the session
writes, hostile values a clear "cannot open", Save leaving the session clean, the server
identity of a session said plainly."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from PySide6.QtWidgets import QMessageBox

from jsocdesk.core.download.engine import EngineOptions
from jsocdesk.core.download.item import DownloadItem, DownloadState
from jsocdesk.core.jsoc.export import JobState, PollPolicy
from jsocdesk.core.query.tree import And, Series, Time
from jsocdesk.core.session import Session, save_session
from jsocdesk.core.workflow import ExportOptions, ServerIdentity, apply_workflow
from jsocdesk.demo.faults import Fault
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.main_window import MainWindow
from tests.demo_server import DEMO_EMAIL
from tests.gui.conftest import close_app, wait_task

S = DownloadState
QUERY = And(Series("hmi.m_45s"), Time("2014-01-01T00:00:00", "2014-01-01T00:05:00"))


@pytest.fixture
def window(qtbot: Any, qloop: Any, demo_server: Any) -> Iterator[MainWindow]:
    ctx = AppContext.create(show_error_dialog=False)
    ctx.settings.email = DEMO_EMAIL
    w = MainWindow(ctx)
    w.workflow.exports.policy = PollPolicy(first=0.05, factor=1.5, cap=0.3, jitter=0.0)
    w.workflow.engine.options = EngineOptions(fsync=False, progress_interval=0.05)
    w.show()
    qtbot.waitExposed(w)
    ctx.connect(demo_server.base_url)
    yield w
    close_app(qtbot, w, ctx)
    reports = [f"{r.context}: {r.message}\n{r.details}" for r in ctx.sink.reports]
    assert not reports, reports


def served(demo_server: Any, name: str, data: bytes) -> str:
    path = Path(demo_server.data_dir) / "SUM9" / "D1" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"{demo_server.base_url}SUM9/D1/{name}"


def session_file(path: Path, folder: Path, items: list[dict[str, Any]], **export: Any) -> Path:
    options = ExportOptions(email=DEMO_EMAIL, folder=folder)
    session = apply_workflow(Session(query=QUERY), options, [], [])
    session.export.update(export)
    session.downloads["items"] = items
    save_session(path, session)
    return path


def item_json(url: str, target: str, **extra: Any) -> dict[str, Any]:
    d = DownloadItem(url, Path("/placeholder")).to_json()
    d.update(target=target, **extra)
    return d


@pytest.mark.parametrize(
    "where",
    ["absolute over an existing file", "new nested directory", "relative ../ path"],
)
def test_session_paths_outside_its_folder_are_refused(
    qtbot: Any, window: MainWindow, demo_server: Any, tmp_path: Path, where: str
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    folder = tmp_path / "dl"
    target = {
        "absolute over an existing file": str(victim),
        "new nested directory": str(tmp_path / "new" / "deeper" / "x.fits"),
        "relative ../ path": "../victim.txt",
    }[where]
    url = served(demo_server, "payload.fits", b"OVERWRITTEN" * 100)
    path = session_file(tmp_path / "hostile.json", folder, [item_json(url, target)])

    failures: list[str] = []
    window.sessions.open_failed.connect(failures.append)
    assert not window.open_session_file(path)
    qtbot.wait(1500)  # time enough for a download to happen, if one had been started
    assert victim.read_text() == "precious"
    assert not (tmp_path / "new").exists()
    assert not folder.exists()
    assert len(window.workflow.downloads) == 0
    (message,) = failures
    assert "not a file directly in the session's download folder" in message
    box = window.sessions.dialog
    assert isinstance(box, QMessageBox)
    assert box.text().startswith(f"Cannot open {path}")
    assert "Nothing was changed" in box.text()
    box.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('"bytes_done": 1e999', "too large"),
        ('"member_keys": [1, 2]', "member_keys"),
        ('"status": 1e999', "too large"),
        ('"url": "http://h/\\ud800"', "lone surrogate"),
        ('"state": "done", "extracted": {"a": 1}', "extracted"),
    ],
)
def test_hostile_values_are_a_clear_cannot_open(
    window: MainWindow, tmp_path: Path, text: str, expected: str
) -> None:
    folder = tmp_path / "dl"
    item = item_json("http://127.0.0.1:1/x.fits", str(folder / "x.fits"), HOSTILE=0)
    path = session_file(tmp_path / "s.json", folder, [item])
    # a later key wins in JSON: the hostile value replaces the item's own
    path.write_text(path.read_text().replace('"HOSTILE": 0', text))
    failures: list[str] = []
    window.sessions.open_failed.connect(failures.append)
    assert not window.open_session_file(path)
    assert len(failures) == 1
    assert expected in failures[0]
    assert window.statusBar().currentMessage().startswith(f"Cannot open {path}")


def test_untrusted_folder_waits_for_the_user_then_downloads(
    qtbot: Any, window: MainWindow, demo_server: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "never-chosen"
    data = bytes(range(256)) * 400
    url = served(demo_server, "a.fits", data)
    path = session_file(tmp_path / "s.json", folder, [item_json(url, str(folder / "a.fits"))])

    assert window.open_session_file(path)
    (item,) = window.workflow.downloads
    assert item.state is S.PAUSED  # held: nothing is written before the user says so
    box = window.dialog
    assert isinstance(box, QMessageBox)
    assert box.isVisible()
    assert str(folder) in box.text()
    assert "1 download(s) to resume" in box.text()
    qtbot.wait(500)
    assert not folder.exists()
    assert not window.isWindowModified()

    go = next(b for b in box.buttons() if b.text() == "Download here")
    go.click()
    qtbot.waitUntil(lambda: item.state is S.DONE, timeout=20_000)
    assert (folder / "a.fits").read_bytes() == data
    assert window.workflow.is_trusted(folder)  # the user's choice is remembered


def test_keep_paused_writes_nothing(
    qtbot: Any, window: MainWindow, demo_server: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "never-chosen"
    url = served(demo_server, "b.fits", b"b" * 1000)
    path = session_file(tmp_path / "s.json", folder, [item_json(url, str(folder / "b.fits"))])
    assert window.open_session_file(path)
    box = window.dialog
    assert isinstance(box, QMessageBox)
    next(b for b in box.buttons() if b.text() == "Keep paused").click()
    qtbot.wait(500)
    assert window.workflow.downloads[0].state is S.PAUSED
    assert not folder.exists()
    assert not window.workflow.is_trusted(folder)


def test_save_leaves_the_session_clean_while_downloads_run(
    qtbot: Any, window: MainWindow, demo_server_factory: Any, tmp_path: Path
) -> None:
    server = demo_server_factory(segment_bytes=200_000)
    with qtbot.waitSignal(window.series_browser.series_loaded, timeout=30_000):
        window.ctx.connect(server.base_url)
    wf = window.workflow
    wf.set_download_folder(tmp_path / "dl")
    # one transfer stalls after 50 kB: the others finish, progress ticks keep coming
    server.faults.add(Fault("stall", route="files", value=math.inf, at=50_000, times=1))
    window.query_panel.tree.set_root(QUERY)
    with qtbot.waitSignal(window.exports_tab.plan_ready, timeout=20_000):
        window.tabs.setCurrentWidget(window.exports_tab)
    qtbot.waitUntil(lambda: window.exports_tab.email_registered is True, timeout=20_000)
    (job,) = window.exports_tab.submit()
    qtbot.waitUntil(lambda: job.state is JobState.DONE, timeout=20_000)
    qtbot.waitUntil(lambda: len(wf.downloads) == len(job.files), timeout=10_000)
    qtbot.waitUntil(lambda: any(it.state is S.ACTIVE for it in wf.downloads), timeout=10_000)
    path = tmp_path / "s.json"
    assert window.sessions.save_to(path)
    assert not window.isWindowModified()
    qtbot.waitUntil(
        lambda: sum(it.state is S.DONE for it in wf.downloads) == len(job.files) - 1,
        timeout=20_000,
    )
    qtbot.wait(500)  # transfers finish, progress ticks, the catalogue is saved
    assert not window.isWindowModified()
    assert window.windowTitle() == "s.json[*] — jsocdesk"


def test_a_session_of_another_server_says_so(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    folder = tmp_path / "dl"
    path = session_file(tmp_path / "s.json", folder, [], server=ServerIdentity.jsoc().to_dict())
    assert window.open_session_file(path)
    warning = window.server_warning
    assert warning.isVisible()
    assert warning.text() == "Session made on JSOC (https://jsoc.stanford.edu/), not this server"
    sentence = warning.toolTip()
    assert sentence.startswith("This session was made against JSOC (https://jsoc.stanford")
    assert "connected to the server at http://127.0.0.1:" in sentence
    assert window.statusBar().currentMessage() == sentence
    # saved again, the session records the server it now uses
    assert window.sessions.save_to(path)
    doc = json.loads(path.read_text())
    assert doc["export"]["server"]["kind"] == "custom"
    assert window.open_session_file(path)
    assert not window.server_warning.isVisible()


def test_demo_session_follows_the_demo_to_its_new_port(
    qtbot: Any, qloop: Any, tmp_path: Path
) -> None:
    """The app's own demo server (a child process on the persistent data dir): a session
    made on it records "demo", its URLs move to the demo's port when reopened."""
    ctx = AppContext.create(show_error_dialog=False)
    w = MainWindow(ctx)
    w.show()
    try:
        url = wait_task(qtbot, asyncio.ensure_future(w.start_demo()), timeout=60_000)
        assert ctx.server == ServerIdentity.demo()
        folder = tmp_path / "dl"
        w.workflow.set_download_folder(folder)
        data = b"demo bytes" * 1000
        served_path = ctx.paths.demo_data / "SUM7" / "D2" / "c.fits"
        served_path.parent.mkdir(parents=True, exist_ok=True)
        served_path.write_bytes(data)
        old = "http://127.0.0.1:1/SUM7/D2/c.fits"  # a port of an earlier demo run
        path = session_file(
            tmp_path / "demo.json",
            folder,
            [item_json(old, str(folder / "c.fits"))],
            server={"kind": "demo"},
        )
        assert w.open_session_file(path)
        (item,) = w.workflow.downloads
        assert urlsplit(item.url).netloc == urlsplit(url).netloc
        qtbot.waitUntil(lambda: item.state is S.DONE, timeout=20_000)
        assert (folder / "c.fits").read_bytes() == data
        assert not w.server_warning.isVisible()
        assert ctx.demo is not None
        demo = ctx.demo
    finally:
        close_app(qtbot, w, ctx)
    assert not demo.running  # stopped by ctx.aclose(), without blocking


def test_replacing_a_file_in_a_chosen_folder_is_asked_first(
    qtbot: Any, window: MainWindow, demo_server: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "mine"
    window.workflow.set_download_folder(folder)  # chosen before: not asked for itself
    folder.mkdir()
    keep = folder / "keep.fits"
    keep.write_bytes(b"my own file")
    url = served(demo_server, "other.fits", b"from the session" * 100)
    path = session_file(tmp_path / "s.json", folder, [item_json(url, str(keep))])
    assert window.open_session_file(path)
    (item,) = window.workflow.downloads
    assert item.state is S.PAUSED
    box = window.dialog
    assert isinstance(box, QMessageBox)
    assert "1 of them would replace a file already there" in box.text()
    qtbot.wait(500)
    assert keep.read_bytes() == b"my own file"
    next(b for b in box.buttons() if b.text() == "Keep paused").click()
    assert keep.read_bytes() == b"my own file"
