"""Fast checks of packaging/: the spec bundles every Qt module the code imports, pins agree.

The slow proof (building and running the bundle) is ``make dist-check``; these catch the
common drift early, in ``make test``: a new ``PySide6.QtX`` import without updating the
spec's ``QT_MODULES``, or the Qt pin moving away from what the app is developed against.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "packaging" / "jsocdesk.spec"
REQUIREMENTS = ROOT / "packaging" / "requirements-dist.txt"
QT_IMPORT = re.compile(r"^\s*(?:from|import)\s+PySide6\.(Qt\w+)", re.MULTILINE)


def _spec_constant(name: str) -> object:
    tree = ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not found in {SPEC.name}")


def _pins() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line!r}"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_spec_bundles_every_qt_module_the_code_imports() -> None:
    bundled = _spec_constant("QT_MODULES")
    assert isinstance(bundled, set)
    imported = {
        m
        for path in (ROOT / "jsocdesk").rglob("*.py")
        for m in QT_IMPORT.findall(path.read_text(encoding="utf-8"))
    }
    assert imported, "no PySide6 imports found: is the scan broken?"
    assert imported <= bundled, f"add {sorted(imported - bundled)} to QT_MODULES in the spec"
    assert not bundled & {"QtWebEngineCore", "QtQml", "QtQuick", "Qt3DCore", "QtMultimedia"}


def test_requirements_pin_the_qt_stack_the_app_runs_on() -> None:
    pins = _pins()
    qt = pins["pyside6-essentials"]
    assert pins["shiboken6"] == qt, "PySide6-Essentials and shiboken6 must move together"
    assert qt.startswith("6.11."), "6.12.0 + qasync on Python 3.11 crashes (pyproject.toml)"
    dev_minor = md.version("PySide6-Essentials").rsplit(".", 1)[0]
    assert dev_minor == qt.rsplit(".", 1)[0], "the dev venv runs another Qt than the bundle"
    for name in ("qasync", "httpx", "astropy", "numpy", "platformdirs", "aiohttp", "pyinstaller"):
        assert name in pins


def test_spec_is_valid_python() -> None:
    compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec")
