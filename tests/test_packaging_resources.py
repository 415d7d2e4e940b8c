"""Desktop integration files: they parse, agree with each other, and pass the validators.

The freedesktop validators (``desktop-file-validate``, ``appstreamcli``,
``update-mime-database``) come from Debian packages (desktop-file-utils, appstream,
shared-mime-info); a check that needs one is skipped only when the tool is absent.  The
structural checks below run everywhere.
"""

from __future__ import annotations

import configparser
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from jsocdesk import __version__

ROOT = Path(__file__).resolve().parent.parent
RES = ROOT / "resources"
DESKTOP = RES / "jsocdesk.desktop"
METAINFO = RES / "io.github.jsocdesk.jsocdesk.metainfo.xml"
MIME_XML = RES / "jsocdesk-mime.xml"
ICONS = RES / "icons"
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"
SESSION_MIME = "application/x-jsocdesk-session"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def _desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(DESKTOP.read_text(encoding="utf-8"))
    assert parser.sections() == ["Desktop Entry"]
    return parser["Desktop Entry"]


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# --- structure (always) -------------------------------------------------------------------


def test_desktop_entry_structure() -> None:
    entry = _desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "jsocdesk"
    assert entry["Exec"].split()[0] == "jsocdesk"
    assert "%f" in entry["Exec"].split()  # a double-clicked session file is passed on
    assert entry["Icon"] == "jsocdesk"
    assert entry["Terminal"] == "false"
    assert SESSION_MIME in entry["MimeType"].rstrip(";").split(";")
    assert {"Science", "Astronomy"} <= set(entry["Categories"].rstrip(";").split(";"))


def test_mime_type_structure() -> None:
    root = ET.parse(MIME_XML).getroot()
    assert root.tag == f"{MIME_NS}mime-info"
    (mime,) = root.findall(f"{MIME_NS}mime-type")
    assert mime.get("type") == SESSION_MIME
    globs = [g.get("pattern") for g in mime.findall(f"{MIME_NS}glob")]
    assert globs == ["*.jsocdesk"]
    parent = mime.find(f"{MIME_NS}sub-class-of")
    assert parent is not None
    assert parent.get("type") == "application/json"  # session files are JSON
    assert mime.findtext(f"{MIME_NS}comment")


def test_metainfo_structure_and_agreement() -> None:
    root = ET.parse(METAINFO).getroot()
    assert root.tag == "component"
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == "io.github.jsocdesk.jsocdesk"
    assert root.findtext("metadata_license") == "CC0-1.0"
    assert root.findtext("project_license") == "BSD-3-Clause"
    launchable = root.find("launchable")
    assert launchable is not None
    assert launchable.get("type") == "desktop-id"
    assert launchable.text == DESKTOP.name
    assert root.findtext("provides/binary") == _desktop_entry()["Exec"].split()[0]
    assert root.findtext("provides/mediatype") == SESSION_MIME
    assert root.findtext("icon") == _desktop_entry()["Icon"]
    releases = [r.get("version") for r in root.findall("releases/release")]
    assert releases
    assert releases[0] == __version__, "add a <release> for the new version"
    assert len(root.findall("description/p")) >= 1


def test_icon_renditions_exist_with_their_nominal_size() -> None:
    assert (ICONS / "jsocdesk.svg").read_bytes() == (
        ICONS / "hicolor" / "scalable" / "apps" / "jsocdesk.svg"
    ).read_bytes(), "re-run packaging/render_icons.py after editing the SVG"
    svg = ET.parse(ICONS / "jsocdesk.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.get("viewBox") == "0 0 256 256"
    for size in PNG_SIZES:
        png = ICONS / "hicolor" / f"{size}x{size}" / "apps" / "jsocdesk.png"
        assert _png_size(png) == (size, size)
    assert _png_size(ROOT / "docs" / "screenshots" / "icon.png") == (256, 256)
    ico = (ICONS / "jsocdesk.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind) == (0, 1)
    assert count >= 5


# --- validators (skipped only when the tool is missing) -----------------------------------


def test_desktop_file_validate() -> None:
    tool = _tool("desktop-file-validate")
    out = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "error" not in (out.stdout + out.stderr).lower()


def test_appstreamcli_validate() -> None:
    tool = _tool("appstreamcli")
    out = subprocess.run(
        [tool, "validate", "--no-net", "--no-color", str(METAINFO)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    # infos are fine (e.g. <developer> is newer than AppStream 0.16); warnings are not
    issues = [ln for ln in out.stdout.splitlines() if ln[:2] in ("E:", "W:")]
    assert not issues, out.stdout


def test_update_mime_database_maps_the_glob(tmp_path: Path) -> None:
    tool = _tool("update-mime-database")
    packages = tmp_path / "mime" / "packages"
    packages.mkdir(parents=True)
    shutil.copy(MIME_XML, packages / MIME_XML.name)
    out = subprocess.run([tool, str(tmp_path / "mime")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    globs = (tmp_path / "mime" / "globs2").read_text(encoding="utf-8").splitlines()
    assert any(line.endswith(f":{SESSION_MIME}:*.jsocdesk") for line in globs), globs
    assert (tmp_path / "mime" / "application" / "x-jsocdesk-session.xml").is_file()
