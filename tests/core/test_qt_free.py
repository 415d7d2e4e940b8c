"""The core must import with PySide6, shiboken6 and qasync unavailable."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import jsocdesk.core

BLOCKER = r"""
import importlib, importlib.abc, pkgutil, sys
BLOCKED = ("PySide6", "shiboken6", "qasync")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"core pulled in {name}")
        return None
sys.meta_path.insert(0, Block())
import jsocdesk.core
names = [m.name for m in pkgutil.walk_packages(jsocdesk.core.__path__, "jsocdesk.core.")]
for name in names:
    importlib.import_module(name)
for mod in ("jsocdesk.cli", "jsocdesk.commands"):
    importlib.import_module(mod)
leaked = [m for m in sys.modules if m.split(".")[0] in BLOCKED]
assert not leaked, leaked
print(len(names))
"""


def test_every_core_module_imports_without_qt() -> None:
    out = subprocess.run(
        [sys.executable, "-c", BLOCKER], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    expected = len(list(pkgutil.walk_packages(jsocdesk.core.__path__, "jsocdesk.core.")))
    assert int(out.stdout.strip()) == expected >= 5


def test_blocker_really_blocks() -> None:
    """The guard above would be worthless if importing Qt went through anyway."""
    code = BLOCKER.replace("import jsocdesk.core\n", "import jsocdesk.core\nimport qasync\n", 1)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode != 0
    assert "core pulled in qasync" in out.stderr
