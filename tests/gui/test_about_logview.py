"""Help menu targets: the About box (versions, licences) and the log viewer."""

from __future__ import annotations

import importlib.metadata as md
import logging
import platform
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import PySide6
import pytest
from PySide6.QtCore import QObject, QUrl, Slot, qVersion
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QWidget

from jsocdesk import __version__
from jsocdesk.gui.about import (
    AboutDialog,
    app_icon,
    canonical_name,
    licence_of,
    runtime_distributions,
    show_about,
)
from jsocdesk.gui.logview import NO_LOG_TEXT, TAIL_BYTES, LogViewer, read_tail, show_log
from jsocdesk.logsetup import setup_logging, shutdown_logging

# --- licences from package metadata ----------------------------------------------------------


def _dist(tmp_path: Path, name: str, headers: list[tuple[str, str]], body: str = "") -> Any:
    info = tmp_path / f"{name}-1.0.dist-info"
    info.mkdir()
    lines = ["Metadata-Version: 2.4", f"Name: {name}", "Version: 1.0"]
    lines += [f"{key}: {value}" for key, value in headers]
    (info / "METADATA").write_text("\n".join(lines) + "\n\n" + body, encoding="utf-8")
    return md.PathDistribution(info)


def test_licence_prefers_the_spdx_expression(tmp_path: Path) -> None:
    dist = _dist(
        tmp_path,
        "a",
        [
            ("License-Expression", "MIT OR Apache-2.0"),
            ("License", "something else"),
            ("Classifier", "License :: OSI Approved :: BSD License"),
        ],
    )
    assert licence_of(dist) == "MIT OR Apache-2.0"


def test_licence_full_text_falls_back_to_classifiers(tmp_path: Path) -> None:
    dist = _dist(
        tmp_path,
        "b",
        [
            ("License", "Copyright (c) 2020, someone\n        All rights reserved."),
            ("Classifier", "Development Status :: 5 - Production/Stable"),
            ("Classifier", "License :: OSI Approved :: BSD License"),
        ],
    )
    assert licence_of(dist) == "BSD License"


def test_licence_short_field_and_unknown(tmp_path: Path) -> None:
    assert licence_of(_dist(tmp_path, "c", [("License", "LGPLv3")])) == "LGPLv3"
    assert licence_of(_dist(tmp_path, "d", [])) == "unknown"


def test_runtime_distributions_follow_the_gui_extra_not_the_test_extra() -> None:
    deps = {canonical_name(d.name): d for d in runtime_distributions()}
    for name in ("pyside6-essentials", "shiboken6", "qasync", "httpx", "astropy", "numpy"):
        assert name in deps, sorted(deps)
        assert deps[name].version == md.version(name)
        assert deps[name].licence not in ("", "unknown"), deps[name]
    # transitive: httpx -> httpcore -> h11
    assert {"httpcore", "h11"} <= set(deps)
    # the [test] extra and jsocdesk itself are not "bundled dependencies"
    assert not {"pytest", "mypy", "ruff", "hypothesis", "jsocdesk"} & set(deps)
    assert list(deps) == sorted(deps)


def test_runtime_distributions_of_an_unknown_root_is_empty() -> None:
    assert runtime_distributions("no-such-distribution-here") == []


# --- the About dialog ------------------------------------------------------------------------


@pytest.fixture
def parent(qtbot: Any) -> QWidget:
    w = QWidget()
    qtbot.addWidget(w)
    return w


def test_about_shows_versions_and_licences(qtbot: Any, parent: QWidget) -> None:
    dialog = show_about(parent)
    qtbot.waitExposed(dialog)
    assert not dialog.isModal()
    assert __version__ in dialog.findChild(QWidget, "aboutTitle").text()
    labels = {k: v.text() for k, v in dialog.version_labels.items()}
    assert labels["jsocdesk"] == __version__
    assert labels["PySide6"] == PySide6.__version__
    assert labels["Qt"].startswith(qVersion())
    assert labels["Python"].startswith(platform.python_version())
    table = dialog.licence_table
    assert table.rowCount() == len(runtime_distributions()) > 5
    rows = {table.item(r, 0).text(): table.item(r, 2).text() for r in range(table.rowCount())}
    assert rows["PySide6_Essentials"] == licence_of(md.distribution("PySide6_Essentials"))


def test_about_is_reused_and_copies_details(qtbot: Any, parent: QWidget) -> None:
    first = show_about(parent)
    second = show_about(parent)
    assert first is second
    assert len(parent.findChildren(AboutDialog)) == 1
    first.copy_button.click()
    text = QGuiApplication.clipboard().text()
    assert text == first.details_text()
    assert f"jsocdesk: {__version__}" in text
    assert "qasync " in text


def test_app_icon_comes_from_the_committed_renditions(qapp: Any) -> None:
    icon = app_icon()
    assert not icon.isNull()
    assert {s.width() for s in icon.availableSizes()} >= {16, 32, 64, 256}


# --- the log viewer --------------------------------------------------------------------------


@pytest.fixture
def logfile() -> Iterator[Path]:
    path = setup_logging()
    yield path
    shutdown_logging()


def test_log_viewer_shows_and_reloads_the_log(qtbot: Any, parent: QWidget, logfile: Path) -> None:
    logging.getLogger("jsocdesk.test").warning("first line for the viewer")
    viewer = show_log(parent)
    qtbot.waitExposed(viewer)
    assert not viewer.isModal()
    assert viewer.text.isReadOnly()
    assert viewer.path == logfile
    assert "first line for the viewer" in viewer.text.toPlainText()
    logging.getLogger("jsocdesk.test").error("second line after reload")
    assert show_log(parent) is viewer  # reused, and reloaded
    assert "second line after reload" in viewer.text.toPlainText()
    assert viewer.text.textCursor().atEnd()


def test_log_viewer_without_a_log_yet(qtbot: Any, parent: QWidget, tmp_path: Path) -> None:
    viewer = LogViewer(tmp_path / "missing" / "jsocdesk.log", parent)
    qtbot.addWidget(viewer)
    assert viewer.text.toPlainText() == NO_LOG_TEXT
    assert not viewer.open_button.isEnabled()


def test_read_tail_cuts_at_a_line_start(tmp_path: Path) -> None:
    path = tmp_path / "big.log"
    lines = [f"line {i:06d} " + "x" * 50 for i in range(20_000)]  # ~1.2 MB
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    text, truncated = read_tail(path)
    assert truncated
    assert len(text.encode()) <= TAIL_BYTES
    assert text.startswith("line ")
    assert text.endswith(lines[-1] + "\n")
    small = tmp_path / "small.log"
    small.write_text("a\nb\n", encoding="utf-8")
    assert read_tail(small) == ("a\nb\n", False)


class _UrlSink(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_open_in_editor_hands_the_file_to_the_desktop(
    qtbot: Any, parent: QWidget, logfile: Path
) -> None:
    sink = _UrlSink()
    # Qt's own URL-handler hook: the desktop is not touched, the real dispatch path is used.
    QDesktopServices.setUrlHandler("file", sink, "open")
    try:
        viewer = show_log(parent)
        viewer.open_button.click()
        viewer.folder_button.click()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [Path(u.toLocalFile()) for u in sink.urls] == [logfile, logfile.parent]
