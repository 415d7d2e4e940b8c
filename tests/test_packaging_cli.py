"""``jsocdesk --version`` works from the installed entry point, fast and without Qt."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jsocdesk import __version__


def _console_script() -> Path:
    script = Path(sys.executable).parent / ("jsocdesk.exe" if os.name == "nt" else "jsocdesk")
    if not script.exists():
        pytest.skip("jsocdesk is not installed as a console script in this environment")
    return script


def test_console_script_version() -> None:
    out = subprocess.run(
        [str(_console_script()), "--version"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"jsocdesk {__version__}"


def test_module_version_does_not_import_qt() -> None:
    code = (
        "import sys\n"
        "from jsocdesk.cli import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "qt = ('PySide6', 'shiboken6', 'qasync')\n"
        "leaked = sorted({m.split('.')[0] for m in sys.modules} & set(qt))\n"
        "sys.stderr.write(repr(leaked))\n"
        "assert not leaked\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"jsocdesk {__version__}"


def test_python_dash_m_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "jsocdesk", "--version"], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"jsocdesk {__version__}"
