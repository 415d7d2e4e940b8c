"""Look before you download (issue 17) in the window: copy as Python, results out.

Real window, real loop, the demo server over loopback HTTP.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import astropy.units as u
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from jsocdesk.core.query.tree import And, Notify, Sample, Series, Time
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.main_window import MainWindow
from tests.gui.conftest import close_app, connect_window, wait_task

HOUR = ("2014-01-01T00:00", "2014-01-01T01:00")
SEED = And(Series("hmi.v_45s"), Time(*HOUR), Sample(10 * u.min), Notify("demo@example.com"))


@pytest.fixture
def window(qtbot: Any, qloop: Any, demo_server: Any, qtmodeltesters: Any) -> Iterator[MainWindow]:
    ctx = AppContext.create(show_error_dialog=False)
    ctx.settings.count_delay_ms = 20
    w = MainWindow(ctx)
    qtmodeltesters(w.query_panel.model)
    w.show()
    qtbot.waitExposed(w)
    connect_window(qtbot, w, demo_server.base_url)
    yield w
    close_app(qtbot, w, ctx)
    leftover = [f"{r.context}: {r.message}\n{r.details}" for r in ctx.sink.reports]
    assert not leftover, "\n".join(leftover)


def menu_action(w: MainWindow, menu_title: str, text: str) -> Any:
    for menu_act in w.menuBar().actions():
        if menu_act.text().replace("&", "") == menu_title:
            for act in menu_act.menu().actions():
                if act.text().replace("&", "") == text:
                    return act
    raise AssertionError(f"no {menu_title} ▸ {text}")


def test_copy_as_python_puts_a_runnable_drms_script_on_the_clipboard(
    qtbot: Any, window: MainWindow, demo_server: Any, tmp_path: Path
) -> None:
    window.query_panel.model.set_root(SEED)
    QGuiApplication.clipboard().setText("")
    act = menu_action(window, "Query", "Copy as Python (drms)")
    act.trigger()
    qtbot.waitUntil(lambda: "import drms" in QGuiApplication.clipboard().text(), timeout=20_000)
    assert "Copied a drms script" in window.statusBar().currentMessage()
    script = tmp_path / "seed.py"
    script.write_text(QGuiApplication.clipboard().text())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    args = [str(tmp_path / "out"), "--server", demo_server.base_url, "--poll", "0.2"]
    proc = subprocess.run(
        [sys.executable, "-I", str(script), *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "7 records found" in proc.stdout
    assert len(list((tmp_path / "out").iterdir())) == 7


def test_copy_as_python_of_an_invalid_query_says_why(qtbot: Any, window: MainWindow) -> None:
    window.query_panel.model.set_root(And(Series("hmi.v_45s")))
    QGuiApplication.clipboard().setText("untouched")
    act = menu_action(window, "Query", "Copy as Python (sunpy)")
    act.trigger()
    task = window.ctx.tasks._named["copy-sunpy"]
    assert wait_task(qtbot, task) is None
    assert "Cannot copy the query as Python" in window.statusBar().currentMessage()
    assert QGuiApplication.clipboard().text() == "untouched"


def test_downloaded_files_copied_as_a_sunpy_map_call_open_in_sunpy(
    qtbot: Any, window: MainWindow, tmp_path: Path
) -> None:
    from PySide6.QtCore import QItemSelectionModel

    from jsocdesk.core.download.catalog import Catalog
    from jsocdesk.core.download.queue import DownloadQueue
    from jsocdesk.gui.downloads.tab import DownloadsTab

    # real demo FITS files, fetched by the generated drms script
    window.query_panel.model.set_root(SEED)
    act = menu_action(window, "Query", "Copy as Python (drms)")
    act.trigger()
    qtbot.waitUntil(lambda: "import drms" in QGuiApplication.clipboard().text(), timeout=20_000)
    script = tmp_path / "seed.py"
    script.write_text(QGuiApplication.clipboard().text())
    out = tmp_path / "my files"  # a space in the folder name
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    args = [str(out), "--server", window.ctx.server_url or "", "--poll", "0.2"]
    proc = subprocess.run(
        [sys.executable, "-I", str(script), *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    files = sorted(out.iterdir())
    catalog = Catalog(tmp_path / "catalog.json")
    queue = DownloadQueue(catalog=catalog)
    for i, f in enumerate(files):
        catalog.record(f"rec{i}", f, f.stat().st_size)
        queue.add(f"http://127.0.0.1:1/{f.name}", f.parent, name=f.name, key=f"rec{i}")
    tab = DownloadsTab(queue)
    window.add_tab(tab, "Downloads")
    window.tabs.setCurrentWidget(tab)
    assert not tab.act_copy_map.isEnabled()
    model = tab.view.model()
    for row in (0, 1, 2):
        tab.view.selectionModel().select(
            model.index(row, 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )
    assert tab.act_copy_map.isEnabled()
    tab.act_copy_map.trigger()
    snippet = QGuiApplication.clipboard().text()
    assert snippet.startswith("import sunpy.map")
    check = snippet + "print(len(maps), type(maps[0]).__name__)\n"
    proc = subprocess.run(
        [sys.executable, "-I", "-c", check],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[0] == "3"
    tab.detach()


@pytest.mark.parametrize("fmt", ["csv", "ecsv"])
def test_save_results_as_a_table_from_the_file_menu(
    qtbot: Any, window: MainWindow, tmp_path: Path, fmt: str
) -> None:
    from astropy.table import Table
    from PySide6.QtWidgets import QFileDialog

    window.query_panel.model.set_root(SEED)
    rs = wait_task(qtbot, window.search())
    assert rs is not None
    assert rs.total == 7
    menu_action(window, "File", f"Save results as {fmt.upper()}…").trigger()
    dialog = window.results_out.dialog
    assert isinstance(dialog, QFileDialog)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    path = tmp_path / f"seed.{fmt}"
    dialog.selectFile(str(path))
    dialog.accept()
    qtbot.waitUntil(
        lambda: "Saved 7 records" in window.statusBar().currentMessage(), timeout=20_000
    )
    table = Table.read(path, format=f"ascii.{fmt}")
    assert len(table) == 7
    assert table.colnames == window.results_tab.model.columns  # type: ignore[union-attr]
    if fmt == "ecsv":
        assert table["T_REC"].scale == "tai"


def test_results_show_online_or_tape_from_the_columns_menu(qtbot: Any, window: MainWindow) -> None:
    window.query_panel.model.set_root(And(Series("hmi.v_45s"), Time(*HOUR)))
    rs = wait_task(qtbot, window.search())
    assert rs.total == 81
    tab = window.results_tab
    QTest.mouseClick(tab.columns_button, Qt.MouseButton.LeftButton)  # the Columns chooser
    chooser = tab.columns_chooser
    qtbot.waitUntil(chooser.isVisible)
    item = chooser.item("*online*")
    assert item is not None
    assert item.checkState() == Qt.CheckState.Unchecked
    QTest.keyClicks(chooser.search, "online")
    # Enter ticks the first match: the search runs again with the column
    QTest.keyClick(chooser.search, Qt.Key.Key_Return)
    QTest.keyClick(chooser.search, Qt.Key.Key_Escape)
    qtbot.waitUntil(
        lambda: (
            tab.model is not None and "*online*" in tab.model.columns and tab.model.rs.loaded == 81
        ),
        timeout=20_000,
    )
    model = tab.model
    assert model is not None
    col = model.columns.index("*online*")
    values = {model.data(model.index(r, col)) for r in range(model.rowCount())}
    assert values == {"Y", "N"}
    tab.toggle_column("*online*", False)  # and off again, remembered per series
    qtbot.waitUntil(lambda: tab.model is not None and "*online*" not in tab.model.columns)
