"""``make run`` checks Qt's xcb plugin's system libraries before starting (issue 15)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from jsocdesk import sysdeps

ROOT = Path(__file__).resolve().parents[1]

#: ldd on PySide6 6.11's libqxcb.so on a fresh Debian 12 (the two the issue names missing)
LDD_FRESH = """\
\tlinux-vdso.so.1 (0x00007ffd5b5f2000)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x1)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007fc726ccc000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007fc726cc4000)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibfoo-unknown.so.7 => not found
"""


def test_missing_libraries_are_named_once_in_order() -> None:
    assert sysdeps.missing_libraries(LDD_FRESH) == [
        "libxcb-icccm.so.4",
        "libxcb-keysyms.so.1",
        "libfoo-unknown.so.7",
    ]
    assert sysdeps.missing_libraries("\tlibc.so.6 => /lib/libc.so.6 (0x1)\n") == []


def test_packages_and_the_one_command() -> None:
    packages, unknown = sysdeps.packages_for(sysdeps.missing_libraries(LDD_FRESH))
    assert packages == ["libxcb-icccm4", "libxcb-keysyms1"]
    assert unknown == ["libfoo-unknown.so.7"]
    assert sysdeps.install_command(packages, root=False) == [
        "sudo",
        "apt-get",
        "install",
        "-y",
        "--no-install-recommends",
        "libxcb-icccm4",
        "libxcb-keysyms1",
    ]
    assert sysdeps.install_command(packages, root=True)[0] == "apt-get"


def test_check_on_this_machine_finds_the_plugin_and_says_nothing_when_complete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real plugin of this venv, the real ldd: exit 0 silently when nothing is missing,
    else exit 1 with the command (never a traceback)."""
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    plugin = sysdeps.xcb_plugin()
    out = io.StringIO()
    rc = sysdeps.check(install=False, out=out)
    if plugin is None:
        pytest.skip("PySide6 here has no xcb plugin")
    missing = sysdeps.missing_libraries(sysdeps._ldd(plugin))
    assert rc == (1 if missing else 0)
    assert ("apt-get install" in out.getvalue()) == bool(missing)


def test_check_skips_offscreen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert sysdeps.check(install=True, out=io.StringIO()) == 0


def test_make_run_checks_before_starting_and_readme_says_so() -> None:
    make = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^run: .*\n((?:\t.*\n)+)", make, re.MULTILINE)
    assert recipe is not None
    lines = recipe.group(1).splitlines()
    assert "jsocdesk.sysdeps --install" in lines[0]
    assert "jsocdesk --demo" in lines[-1]
    readme = (ROOT / "README.md").read_text()
    assert "libxcb" in readme
