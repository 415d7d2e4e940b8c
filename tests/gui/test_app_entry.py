"""``jsocdesk`` as a process: --demo starts and stops its server, --smoke-test counts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _env(app_dirs: dict[str, Path]) -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    for name, path in app_dirs.items():
        env[f"JSOCDESK_{name.upper()}_DIR"] = str(path)
    return env


def test_demo_smoke_test_counts_and_stops_server(app_dirs: dict[str, Path]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "jsocdesk", "--demo", "--smoke-test"],
        capture_output=True,
        text=True,
        env=_env(app_dirs),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "-> 81 records" in proc.stdout
    # the demo server wrote below the app's cache dir and is gone with the app
    assert (app_dirs["cache"] / "demo-server").is_dir()


def test_smoke_test_fails_without_server(app_dirs: dict[str, Path]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "jsocdesk", "--server", "http://127.0.0.1:9/", "--smoke-test"],
        capture_output=True,
        text=True,
        env=_env(app_dirs),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert "smoke-test: FAILED" in proc.stderr


@pytest.mark.parametrize("argv", [["--help"]])
def test_gui_help_exits_cleanly(argv: list[str]) -> None:
    from jsocdesk.gui.app import build_parser

    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(argv)
    assert info.value.code == 0
