"""The GUI test harness itself: model testers, Qt warnings, strict xfail, the loop, markers.

The failing cases run in a child pytest (with this project's pytest settings) so that their
failures can be asserted on here.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD_TESTS = '''
from __future__ import annotations

import pytest
from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt, qWarning


class Model(QAbstractListModel):
    """Two rows; after ``break_()`` it claims -1 rows, which Qt's model tester reports."""

    def __init__(self) -> None:
        super().__init__()
        self.rows = 2

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else self.rows

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        return str(index.row()) if role == Qt.ItemDataRole.DisplayRole else None

    def break_(self) -> None:
        self.layoutAboutToBeChanged.emit()
        self.rows = -1
        self.layoutChanged.emit()


def test_good_model_passes(qtmodeltester):
    qtmodeltester.check(Model())


def test_broken_model_fails(qtmodeltester):
    m = Model()
    qtmodeltester.check(m)
    m.break_()


def test_first_of_several_models_stays_checked(qtmodeltesters):
    first, second = Model(), Model()
    qtmodeltesters(first)
    qtmodeltesters(second)
    first.break_()


def test_qt_warning_fails(qapp):
    qWarning("something is wrong")


def test_offscreen_limitation_is_ignored(qapp):
    qWarning("This plugin does not support raise()")


@pytest.mark.xfail(reason="expected to fail, but passes")
def test_unexpected_pass_fails():
    pass
'''

CHILD_CONFTEST = "from tests.gui.conftest import qtmodeltesters  # noqa: F401\n"


def test_harness_fails_on_model_reports_warnings_and_xpass(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CHILD_CONFTEST)
    (tmp_path / "test_child.py").write_text(textwrap.dedent(CHILD_TESTS))
    config = ["-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path)]
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", *config, str(tmp_path / "test_child.py")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**_env(), "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )
    outcomes = dict(
        (m.group(2), m.group(1))
        for m in re.finditer(r"^(PASSED|FAILED|ERROR) \S*::(\w+)", out.stdout, re.M)
    )
    assert outcomes == {
        "test_good_model_passes": "PASSED",
        "test_broken_model_fails": "FAILED",
        "test_first_of_several_models_stays_checked": "FAILED",
        "test_qt_warning_fails": "FAILED",
        "test_offscreen_limitation_is_ignored": "PASSED",
        "test_unexpected_pass_fails": "FAILED",
    }, out.stdout + out.stderr
    assert "[XPASS(strict)]" in out.stdout
    # the model cases fail on the model tester's own reports, not only on the warning level
    assert out.stdout.count("Qt modeltester errors") == 2, out.stdout
    assert "FAIL! model->rowCount() >= 0" in out.stdout


def _env() -> dict[str, str]:
    """This environment without the outer pytest's own variables."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}


def test_tests_here_are_marked_gui(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("gui") is not None


def test_qloop_is_the_running_loop_only_in_its_test(qloop: Any) -> None:
    assert asyncio.get_running_loop() is qloop
    assert qloop.is_running()


def test_no_running_loop_without_qloop(qapp: Any) -> None:
    assert asyncio._get_running_loop() is None
