"""The rotating log file: where it goes, that it rotates, that setup is idempotent."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jsocdesk import __version__
from jsocdesk.core.paths import AppPaths
from jsocdesk.logsetup import log_file_path, setup_logging, shutdown_logging


@pytest.fixture(autouse=True)
def _detach_handler() -> Iterator[None]:
    yield
    shutdown_logging()


def test_log_goes_to_the_user_log_dir(app_dirs: dict[str, Path]) -> None:
    path = setup_logging()
    assert path == app_dirs["log"] / "jsocdesk.log" == log_file_path()
    logging.getLogger("jsocdesk.some.module").warning("export %s failed", "JSOC_1")
    text = path.read_text(encoding="utf-8")
    assert f"jsocdesk {__version__} started" in text
    assert "WARNING jsocdesk.some.module: export JSOC_1 failed" in text


def test_explicit_paths_and_missing_dir_is_created(tmp_path: Path) -> None:
    log_dir = tmp_path / "deep" / "logs"
    paths = AppPaths(config=tmp_path, data=tmp_path, cache=tmp_path, log=log_dir)
    path = setup_logging(paths)
    assert path == log_dir / "jsocdesk.log"
    assert path.is_file()


def test_setup_twice_does_not_duplicate_lines() -> None:
    setup_logging()
    path = setup_logging()
    logging.getLogger("jsocdesk").error("only once")
    assert path.read_text(encoding="utf-8").count("only once") == 1
    own = [h for h in logging.getLogger("jsocdesk").handlers if h.get_name() == "jsocdesk-file"]
    assert len(own) == 1


def test_rotation_keeps_a_bounded_number_of_files() -> None:
    path = setup_logging(max_bytes=2_000, backup_count=2)
    log = logging.getLogger("jsocdesk.rotation")
    for i in range(200):
        log.info("line %04d %s", i, "x" * 60)
    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["jsocdesk.log", "jsocdesk.log.1", "jsocdesk.log.2"]
    assert all(p.stat().st_size <= 2_000 for p in path.parent.iterdir())
    assert "line 0199" in path.read_text(encoding="utf-8")


def test_shutdown_detaches_and_stops_writing() -> None:
    path = setup_logging()
    shutdown_logging()
    size = path.stat().st_size
    logging.getLogger("jsocdesk").error("after shutdown")
    assert path.stat().st_size == size
    assert not [
        h for h in logging.getLogger("jsocdesk").handlers if h.get_name() == "jsocdesk-file"
    ]


def test_logsetup_is_qt_free() -> None:
    code = (
        "import sys, jsocdesk.logsetup\n"
        "qt = ('PySide6', 'shiboken6', 'qasync')\n"
        "leaked = [m for m in sys.modules if m.split('.')[0] in qt]\n"
        "assert not leaked, leaked\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
