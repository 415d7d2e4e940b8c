"""The frozen one-folder bundle (``make dist``) starts, runs the demo, and stays lean.

Slow and run only by ``make dist-check`` (``tests/dist`` is outside ``make test``'s
collection).  The bundle is not built here: a missing bundle fails, it does not skip.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from jsocdesk import __version__

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "jsocdesk"
EXE = BUNDLE / ("jsocdesk.exe" if sys.platform == "win32" else "jsocdesk")

#: Size budget of the whole dist/jsocdesk folder.  Measured on Linux x86_64 (PySide6 6.11.3,
#: astropy 8.0, numpy 2.4 with its OpenBLAS, libraries stripped): 188.8 MiB on 2026-11-25;
#: the budget leaves ~15 % headroom.  Bundling one unused Qt stack (QtQml+QtQuick ≈ 60 MiB),
#: scipy, or unstripped libraries (+42 MiB) breaks it.
SIZE_BUDGET_MIB = 220

#: the Python-level Qt modules the app imports (keep in sync with packaging/jsocdesk.spec)
QT_MODULES = {"QtCore", "QtGui", "QtWidgets"}
FORBIDDEN_QT_LIBS = re.compile(
    r"Qt6(Qml|Quick|WebEngine|3D|Multimedia|Pdf|Charts|DataVisualization|Graphs|Designer|"
    r"Network|Sql|Test|VirtualKeyboard)"
)
#: hmi.v_45s 2014-01-01 00:00–01:00 UTC: 81 records (the seed's acceptance number)
SEED_RECORDSET = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"
SEED_COUNT = 81


@pytest.fixture(scope="module")
def exe() -> Path:
    if not EXE.is_file():
        pytest.fail(f"{EXE} is missing: run `make dist` first (make dist-check does)")
    return EXE


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


def _tree_size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def test_frozen_version(exe: Path) -> None:
    out = subprocess.run(
        [str(exe), "--version"], capture_output=True, text=True, env=_env(), timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"jsocdesk {__version__}"


@pytest.fixture
def frozen_demo_server(exe: Path, tmp_path: Path) -> Iterator[str]:
    """The bundle's own ``serve-demo``, started as the GUI's --demo mode starts it."""
    proc = subprocess.Popen(
        [str(exe), "-m", "jsocdesk", "serve-demo", "--port", "0", "--exit-on-stdin-eof"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=tmp_path,
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("http://127.0.0.1:"), (line, proc.poll())
        yield line if line.endswith("/") else line + "/"
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            assert proc.stderr is not None
            proc.stderr.close()


def test_frozen_serve_demo_lists_the_seed_query(frozen_demo_server: str) -> None:
    """The frozen demo server answers drms' rs_list with the seed's 81 records."""
    url = (
        f"{frozen_demo_server}cgi-bin/ajax/jsoc_info"
        f"?op=rs_list&ds={quote(SEED_RECORDSET)}&key=T_REC"
    )
    reply = httpx.get(url, timeout=60)
    assert reply.status_code == 200, reply.text
    body = json.loads(reply.text)
    assert body["status"] == 0, body
    assert int(body["count"]) == SEED_COUNT
    (t_rec,) = body["keywords"]
    assert t_rec["name"] == "T_REC"
    assert len(t_rec["values"]) == SEED_COUNT


def test_frozen_gui_smoke_test(exe: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [str(exe), "--demo", "--smoke-test"],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=tmp_path,
        timeout=240,
    )
    report = f"rc={out.returncode}\nstdout:\n{out.stdout}\nstderr:\n{out.stderr}"
    assert out.returncode == 0, report
    assert "smoke-test: OK" in out.stdout, report
    assert f"{SEED_COUNT} records" in out.stdout, report


def test_bundle_size_within_budget() -> None:
    size_mib = _tree_size(BUNDLE) / 2**20
    print(f"\nbundle {BUNDLE.relative_to(ROOT)}: {size_mib:.1f} MiB (budget {SIZE_BUDGET_MIB})")
    assert size_mib <= SIZE_BUDGET_MIB


def test_bundle_carries_only_the_qt_modules_used() -> None:
    pyside = BUNDLE / "_internal" / "PySide6"
    modules = {p.name.split(".")[0] for p in pyside.glob("Qt*.*") if p.suffix in (".so", ".pyd")}
    assert modules == QT_MODULES
    libs = [p.name for p in BUNDLE.rglob("*Qt6*") if FORBIDDEN_QT_LIBS.search(p.name)]
    assert not libs, libs
    assert not list(BUNDLE.rglob("*qgtk3*"))  # host GTK must not be half-bundled


def test_bundle_carries_dependency_metadata_for_the_about_box() -> None:
    internal = BUNDLE / "_internal"
    names = {p.name.split("-")[0].lower() for p in internal.glob("*.dist-info")}
    for dist in ("jsocdesk", "pyside6_essentials", "shiboken6", "qasync", "httpx", "astropy"):
        assert dist in names, sorted(names)
