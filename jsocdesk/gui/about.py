"""Help → About: versions (jsocdesk, Python, Qt, PySide6) and the dependencies' licences.

The licence table is read from the installed distributions' metadata
(:mod:`importlib.metadata`), walking ``jsocdesk``'s requirements (with its ``gui`` extra)
recursively, so it lists exactly what this installation or frozen bundle ships (the
PyInstaller spec copies the metadata into the bundle).  The dialog is non-modal and reused:
:func:`show_about` raises the existing one instead of opening a second.
"""

from __future__ import annotations

import importlib.metadata as md
import platform
import re
import sys
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from PySide6 import __version__ as pyside6_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from jsocdesk import __version__
from jsocdesk.logsetup import log_file_path

APP_DISTRIBUTION = "jsocdesk"
APP_EXTRAS = frozenset({"gui"})
APP_LICENCE = "BSD-3-Clause"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
#: a ``License`` field longer than this is the licence's full text, not its name
_MAX_LICENCE_NAME = 80


@dataclass(frozen=True)
class DependencyLicence:
    name: str
    version: str
    licence: str


def canonical_name(name: str) -> str:
    """PEP 503 normalised project name (``PySide6_Essentials`` → ``pyside6-essentials``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def licence_of(dist: md.Distribution) -> str:
    """The licence of ``dist`` as a short name, from the best field its metadata has.

    Order: ``License-Expression`` (PEP 639), a short ``License`` field, the ``License ::``
    trove classifiers, the first line of a long ``License`` text; ``"unknown"`` otherwise.
    """
    meta = dist.metadata
    expression = _first(meta.get_all("License-Expression"))
    if expression:
        return expression
    field = _first(meta.get_all("License"))
    if field and len(field) <= _MAX_LICENCE_NAME and "\n" not in field:
        return field
    classifiers = [
        c.split("::")[-1].strip()
        for c in meta.get_all("Classifier") or []
        if c.startswith("License ::") and c.count("::") >= 2
    ]
    if classifiers:
        return " / ".join(dict.fromkeys(classifiers))
    if field:
        return field.splitlines()[0].strip()[:_MAX_LICENCE_NAME] or "unknown"
    return "unknown"


def _first(values: list[str] | None) -> str:
    return str(values[0]).strip() if values else ""


def runtime_distributions(
    root: str = APP_DISTRIBUTION, extras: Iterable[str] = APP_EXTRAS
) -> list[DependencyLicence]:
    """Every installed distribution ``root`` (with ``extras``) needs, ``root`` excluded.

    Requirements whose environment markers do not hold (other Python versions, extras not
    asked for) are skipped, as are requirements that are not installed.  Sorted by name.
    """
    try:
        md.distribution(root)
    except md.PackageNotFoundError:
        return []
    seen: dict[str, DependencyLicence] = {}
    queue: deque[tuple[str, frozenset[str]]] = deque([(root, frozenset(extras))])
    visited: set[tuple[str, frozenset[str]]] = set()
    while queue:
        name, wanted = queue.popleft()
        key = (canonical_name(name), wanted)
        if key in visited:
            continue
        visited.add(key)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        if canonical_name(name) != canonical_name(root):
            seen.setdefault(
                canonical_name(name),
                DependencyLicence(dist.metadata["Name"] or name, dist.version, licence_of(dist)),
            )
        for req in _requirements(dist.requires or [], wanted):
            queue.append((req.name, frozenset(req.extras)))
    return sorted(seen.values(), key=lambda d: canonical_name(d.name))


def _requirements(specs: Iterable[str], extras: frozenset[str]) -> list[Requirement]:
    out = []
    for spec in specs:
        try:
            req = Requirement(spec)
        except InvalidRequirement:
            continue
        if req.marker is None or any(
            req.marker.evaluate({"extra": extra}) for extra in (extras or {""})
        ):
            out.append(req)
    return out


def version_info() -> dict[str, str]:
    """What a bug report needs: the versions of the app and of the layers under it."""
    info = {
        "jsocdesk": __version__,
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "Qt": qVersion(),
        "PySide6": pyside6_version,
    }
    for dist in ("qasync", "httpx", "astropy"):
        try:
            info[dist] = md.version(dist)
        except md.PackageNotFoundError:
            info[dist] = "not installed"
    info["Platform"] = f"{platform.system()} {platform.release()} ({platform.machine()})"
    info["Frozen bundle"] = "yes" if getattr(sys, "frozen", False) else "no"
    info["Log file"] = str(log_file_path())
    return info


def icon_search_dirs() -> list[Path]:
    """Where the PNG renditions of the app icon may be (bundle, then source checkout)."""
    dirs = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        dirs.append(Path(bundle) / "resources" / "icons" / "hicolor")
    dirs.append(Path(__file__).resolve().parents[2] / "resources" / "icons" / "hicolor")
    return dirs


def app_icon() -> QIcon:
    """The jsocdesk icon: bundled/source PNGs, else the installed icon theme's ``jsocdesk``."""
    icon = QIcon()
    for base in icon_search_dirs():
        for size in ICON_SIZES:
            png = base / f"{size}x{size}" / "apps" / "jsocdesk.png"
            if png.is_file():
                icon.addFile(str(png))
        if not icon.isNull():
            return icon
    return QIcon.fromTheme("jsocdesk")


class AboutDialog(QDialog):
    """Non-modal About box; :meth:`details_text` is what "Copy details" puts on the clipboard."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About jsocdesk")
        self.setModal(False)
        self.versions = version_info()
        self.dependencies = runtime_distributions()

        icon_label = QLabel()
        icon = app_icon()
        if not icon.isNull():
            icon_label.setPixmap(icon.pixmap(64, 64))
        title = QLabel(f"<b>jsocdesk {__version__}</b>")
        title.setObjectName("aboutTitle")
        blurb = QLabel(
            "A desktop client for JSOC, the Stanford archive of SDO/HMI/AIA data.<br>"
            f"Licensed under {APP_LICENCE}."
        )
        blurb.setWordWrap(True)
        head_text = QVBoxLayout()
        head_text.addWidget(title)
        head_text.addWidget(blurb)
        head = QHBoxLayout()
        head.addWidget(icon_label, 0, Qt.AlignmentFlag.AlignTop)
        head.addLayout(head_text, 1)

        form = QFormLayout()
        self.version_labels: dict[str, QLabel] = {}
        for key, value in self.versions.items():
            label = QLabel(value)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.version_labels[key] = label
            form.addRow(f"{key}:", label)

        self.licence_table = QTableWidget(len(self.dependencies), 3)
        self.licence_table.setObjectName("licenceTable")
        self.licence_table.setHorizontalHeaderLabels(["Package", "Version", "Licence"])
        self.licence_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.licence_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        rows = self.licence_table.verticalHeader()
        rows.setVisible(False)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 6)
        header = self.licence_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for row, dep in enumerate(self.dependencies):
            for col, text in enumerate((dep.name, dep.version, dep.licence)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.licence_table.setItem(row, col, item)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy details")
        self.copy_button.setToolTip("Copy versions and licences, e.g. for a bug report")
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self._on_copy_clicked)
        buttons.rejected.connect(self.close)

        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addLayout(form)
        layout.addWidget(QLabel("Licences of the bundled dependencies:"))
        layout.addWidget(self.licence_table, 1)
        layout.addWidget(buttons)
        self.resize(560, 520)

    def details_text(self) -> str:
        lines = [f"{key}: {value}" for key, value in self.versions.items()]
        lines.append("")
        lines.append("Dependencies:")
        lines += [f"  {d.name} {d.version} — {d.licence}" for d in self.dependencies]
        return "\n".join(lines) + "\n"

    def _on_copy_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.details_text())


def show_about(parent: QWidget | None = None) -> AboutDialog:
    """Show the About box (reusing the one already open under ``parent``) without blocking."""
    dialog = parent.findChild(AboutDialog) if parent is not None else None
    if dialog is None:
        dialog = AboutDialog(parent)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog
