"""Suite-wide fixtures: nothing touches the user's machine, network only to loopback."""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path
from typing import Literal

import pytest

# Astropy must never try to download IERS/leap-second tables during tests.
from astropy.utils import iers

pytest_plugins = ["tests.demo_server"]

iers.conf.auto_download = False
iers.conf.auto_max_age = None

TESTS = Path(__file__).parent

#: pytest-qt's settings in pyproject.toml (qt_api = "pyside6" and the Qt log rules).
_QT_INI: dict[str, Literal["string", "linelist"]] = {
    "qt_api": "string",
    "qt_log_level_fail": "string",
    "qt_log_ignore": "linelist",
}


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """The Qt-less run (``make pytest-core``: tests/core and tests/demo in a venv without
    PySide6, qasync or pytest-qt) shares pyproject's pytest settings.  Without pytest-qt
    nobody declares its ini keys and ``--strict-config`` would reject them: declare them
    inert then (nothing reads them).  When pytest-qt is loaded, it owns them."""
    qt_plugin = sys.modules.get("pytestqt.plugin")
    if qt_plugin is None or not pluginmanager.is_registered(qt_plugin):
        for name, kind in _QT_INI.items():
            parser.addini(name, "pytest-qt setting; inert: pytest-qt is not loaded", kind)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/gui, and every test that uses a Qt application (pytest-qt's
    ``qapp``, which ``qtbot`` needs) anywhere, with ``gui``: ``-m "not gui"`` selects the rest."""
    gui_dir = TESTS / "gui"
    for item in items:
        if item.path.is_relative_to(gui_dir) or "qapp" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.gui)


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: object) -> bool:
    if not isinstance(address, tuple) or not address:
        return True  # AF_UNIX paths and the like
    host = str(address[0])
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        raise OSError(f"tests may only connect to loopback, not {address!r}")
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_loopback(address):
        raise OSError(f"tests may only connect to loopback, not {address!r}")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


@pytest.fixture(autouse=True)
def app_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point every jsocdesk directory (and XDG/HOME) at a per-test temporary tree."""
    dirs = {name: tmp_path / "appdirs" / name for name in ("config", "data", "cache", "log")}
    for name, path in dirs.items():
        path.mkdir(parents=True)
        monkeypatch.setenv(f"JSOCDESK_{name.upper()}_DIR", str(path))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (
        ("XDG_CONFIG_HOME", ".config"),
        ("XDG_DATA_HOME", ".local/share"),
        ("XDG_CACHE_HOME", ".cache"),
    ):
        (home / sub).mkdir(parents=True)
        monkeypatch.setenv(var, str(home / sub))
    return dirs
