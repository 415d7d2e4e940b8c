"""Qt's X11 platform plugin needs system libraries a fresh desktop may lack: check first.

``python -m jsocdesk.sysdeps [--install]`` (run by ``make run`` before the app starts) runs
``ldd`` on the ``xcb`` platform plugin of the installed PySide6 and names every shared
library it cannot find.  Qt's own message at that point ("could not load the Qt platform
plugin xcb") names a library that is often not the missing one; this names the Debian/Ubuntu
packages.  With ``--install`` it installs them with ``apt-get`` when it runs as root or
``sudo`` works without a password; otherwise it prints the one command that does, and exits 1.

Imports neither Qt nor the rest of jsocdesk (it must work while Qt cannot load).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

#: soname -> Debian/Ubuntu package (the libraries Qt 6's xcb plugin links against)
PACKAGES: dict[str, str] = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$", re.MULTILINE)


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames ``ldd`` reported as "not found" (each once, in order)."""
    out: list[str] = []
    for name in _NOT_FOUND.findall(ldd_output):
        if name not in out:
            out.append(name)
    return out


def packages_for(libraries: Sequence[str]) -> tuple[list[str], list[str]]:
    """(packages that provide ``libraries``, libraries no package is known for)."""
    packages: list[str] = []
    unknown: list[str] = []
    for lib in libraries:
        pkg = PACKAGES.get(lib)
        if pkg is None:
            unknown.append(lib)
        elif pkg not in packages:
            packages.append(pkg)
    return packages, unknown


def install_command(packages: Sequence[str], *, root: bool) -> list[str]:
    prefix = [] if root else ["sudo"]
    return [*prefix, "apt-get", "install", "-y", "--no-install-recommends", *packages]


def xcb_plugin() -> Path | None:
    """The installed PySide6's ``libqxcb.so`` (None: PySide6 missing or not a Linux build)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or spec.origin is None:
        return None
    plugin = Path(spec.origin).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def _ldd(path: Path) -> str:
    ldd = shutil.which("ldd")
    if ldd is None:
        return ""
    result = subprocess.run(
        [ldd, str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    return result.stdout


def _can_sudo() -> bool:
    if shutil.which("sudo") is None:
        return False
    probe = subprocess.run(["sudo", "-n", "true"], capture_output=True, timeout=10, check=False)
    return probe.returncode == 0


def check(install: bool, *, out: TextIO | None = None) -> int:
    """0: nothing missing (or installed now); 1: something is missing (command printed)."""
    stream = out if out is not None else sys.stderr
    if not sys.platform.startswith("linux"):
        return 0
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return 0  # offscreen, wayland, ...: the xcb plugin is not used
    plugin = xcb_plugin()
    if plugin is None:
        return 0
    missing = missing_libraries(_ldd(plugin))
    if not missing:
        return 0
    packages, unknown = packages_for(missing)

    def say(text: str) -> None:
        print(text, file=stream)

    say(f"jsocdesk: Qt's X11 plugin needs system libraries that are missing: {', '.join(missing)}")
    if unknown:
        say(f"jsocdesk: no known package for {', '.join(unknown)}; install it with your system")
    if not packages:
        return 1
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    apt = shutil.which("apt-get") is not None
    if install and apt and (root or _can_sudo()):
        cmd = install_command(packages, root=root)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        say(f"jsocdesk: installing them: {' '.join(cmd)}")
        done = subprocess.run(cmd, check=False, env=env)
        if done.returncode != 0:  # a fresh machine may have no package lists yet
            update = [*cmd[: cmd.index("apt-get")], "apt-get", "update", "-q"]
            subprocess.run(update, check=False, env=env)
            done = subprocess.run(cmd, check=False, env=env)
        if done.returncode == 0 and not missing_libraries(_ldd(plugin)):
            return 0
        say("jsocdesk: the installation did not complete")
    say("jsocdesk: install them with:")
    say("    " + " ".join(install_command(packages, root=root)))
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m jsocdesk.sysdeps", description=__doc__)
    p.add_argument("--install", action="store_true", help="install what is missing (apt)")
    args = p.parse_args(argv)
    return check(args.install)


if __name__ == "__main__":
    raise SystemExit(main())
