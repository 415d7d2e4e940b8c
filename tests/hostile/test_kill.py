"""kill -9 at every point of an archive's extraction and of the store's writes, then the
next run: nothing duplicated, nothing lost, no stray temporary file, the catalogue right."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

from jsocdesk.core.download.unpack import unpack_tar

REPO = Path(__file__).resolve().parents[2]
MEMBERS = {
    f"hmi.v_45s.2014010{i}_000000_TAI.Dopplergram.fits": bytes([i]) * (3000 + i) for i in range(7)
}


def make_tar(path: Path) -> Path:
    with tarfile.open(path, "w") as tf:
        for name, data in MEMBERS.items():
            info = tarfile.TarInfo(f"JSOC_1/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


#: a child that extracts the archive and stops dead at the N-th cancellation check (one at
#: each member and one per chunk inside a file: the ``.part`` is open there), until killed
CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from jsocdesk.core.download.unpack import unpack_tar

    class KillPoint:
        def __init__(self, n):
            self.n = n
        def is_set(self):
            self.n -= 1
            if self.n < 0:
                print("READY", flush=True)
                time.sleep(600)
            return False

    unpack_tar(Path(sys.argv[1]), Path(sys.argv[2]), cancel=KillPoint(int(sys.argv[3])))
    print("DONE", flush=True)
    """
)


def run_child_until_killed(archive: Path, out: Path, point: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(archive), str(out), str(point)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line in ("READY", "DONE")
        if line == "READY":
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.parametrize("point", [1, 2, 5, 8, 13])
def test_kill_during_unpacking_then_rerun(tmp_path: Path, point: int) -> None:
    archive = make_tar(tmp_path / "JSOC_1.tar")
    out = tmp_path / "out"
    out.mkdir()
    run_child_until_killed(archive, out, point)
    result = unpack_tar(archive, out, fsync=False)  # the rerun
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(MEMBERS), names  # no "NAME (2).fits", no ".part"
    for name, data in MEMBERS.items():
        assert (out / name).read_bytes() == data
    assert sorted(f.path.name for f in result.files) == sorted(MEMBERS)


def test_a_different_file_at_a_members_name_is_kept(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "JSOC_1.tar")
    out = tmp_path / "out"
    out.mkdir()
    first = next(iter(MEMBERS))
    (out / first).write_bytes(b"x" * len(MEMBERS[first]))  # same size, other bytes: the user's
    result = unpack_tar(archive, out, fsync=False)
    assert (out / first).read_bytes() == b"x" * len(MEMBERS[first])
    extracted = {f.member.rsplit("/", 1)[-1]: f.path for f in result.files}
    assert extracted[first].name.endswith(" (2).fits")
    assert extracted[first].read_bytes() == MEMBERS[first]


def test_a_tar_bomb_stops_and_leaves_nothing(tmp_path: Path) -> None:
    from jsocdesk.core.download.unpack import UnpackError

    archive = tmp_path / "bomb.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for i in range(4):
            info = tarfile.TarInfo(f"zeros{i}.fits")
            info.size = 8 << 20
            tf.addfile(info, io.BytesIO(bytes(info.size)))
    assert archive.stat().st_size < 200_000
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UnpackError, match="bomb"):
        unpack_tar(archive, out, fsync=False, max_bytes=16 << 20)
    assert list(out.iterdir()) == []
    with pytest.raises(UnpackError, match="more than 2 files"):
        unpack_tar(archive, out, fsync=False, max_members=2)
    assert list(out.iterdir()) == []


def test_kill_during_fetch_unpacking_then_rerun_through_the_cli(
    demo_server_factory: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real CLI, killed with SIGKILL as soon as the archive's first member appears."""
    import time

    from jsocdesk.cli import main
    from jsocdesk.core.download import Catalog
    from jsocdesk.core.paths import AppPaths
    from tests.core.test_search_cli import write_session
    from tests.hostile.conftest import QUERY

    server = demo_server_factory(segment_bytes=1_500_000, export_delay=0.1)
    session = write_session(tmp_path / "s.json", QUERY)
    out = tmp_path / "out"
    argv = ["fetch", str(session), "--out", str(out), "--server", server.base_url]
    argv += ["--method", "url-tar", "--poll", "0.05"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "jsocdesk", *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    killed = False
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if out.is_dir() and any(".fits" in p.name for p in out.iterdir()):
                os.kill(proc.pid, signal.SIGKILL)
                killed = True
                break
            time.sleep(0.001)
    finally:
        if proc.poll() is None and not killed:
            proc.kill()
        proc.wait(timeout=30)
    assert main(argv) == 0  # the rerun
    stdout = capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 7, names
    assert all(n.endswith(".fits") and "(2)" not in n for n in names), names
    assert "7 files" in stdout
    catalog = Catalog.in_data_dir(AppPaths.from_environment().data)
    recorded = {e.path.name for e in catalog._entries.values()}
    assert recorded == set(names)
