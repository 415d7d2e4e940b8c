"""Hostile local files: FIFOs and endless devices as sessions, links, leftovers, full disks."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jsocdesk.cli import main
from jsocdesk.core.query.tree import And, Series
from jsocdesk.core.session import Session, load_session, save_session

REPO = Path(__file__).resolve().parents[2]


def test_recordset_on_a_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "s.json"
    os.mkfifo(fifo)
    # a child process: if it hangs, the test fails after 20 s instead of hanging too
    proc = subprocess.run(
        [sys.executable, "-m", "jsocdesk", "recordset", str(fifo)],
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 2
    assert "FIFO" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_huge_session_file_is_refused_unread(tmp_path: Path) -> None:
    from jsocdesk.core.errors import SessionError

    big = tmp_path / "big.json"
    with open(big, "wb") as fh:
        fh.truncate(3 << 30)  # sparse: 3 GB that take no disk
    with pytest.raises(SessionError, match="more than a session file may have"):
        load_session(big)


def test_saving_through_a_linked_session_file_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "sync" / "real.json"
    real.parent.mkdir()
    save_session(real, Session(query=And(Series("hmi.v_45s"))))
    link = tmp_path / "s.json"
    os.symlink(real, link)
    save_session(link, Session(query=And(Series("aia.lev1_euv_12s"))))
    assert link.is_symlink()
    assert "aia.lev1_euv_12s" in real.read_text()


def test_leftover_temp_files_of_a_killed_write_are_removed(tmp_path: Path) -> None:
    from jsocdesk.core.atomic import STALE_TEMP_SECONDS, atomic_write_text, sweep_temp_files

    target = tmp_path / "queue.json"
    old = tmp_path / ".queue.json.abc12345.tmp"
    young = tmp_path / ".queue.json.xyz98765.tmp"
    other = tmp_path / ".other.json.def45678.tmp"
    for p in (old, young, other):
        p.write_text("partial")
    past = time.time() - STALE_TEMP_SECONDS - 5
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    atomic_write_text(target, "{}")
    assert not old.exists()
    assert young.exists()
    assert other.exists()
    assert sweep_temp_files(tmp_path) == 1  # start-up sweep of a folder
    assert not other.exists()
    assert young.exists()


def test_killed_atomic_writes_leave_no_temp_files_after_the_next_start(tmp_path: Path) -> None:
    """kill -9 in the middle of store writes, over and over; the next run cleans up."""
    import signal

    from jsocdesk.core.atomic import STALE_TEMP_SECONDS

    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from jsocdesk.core.download import DownloadQueue, QueueStore\n"
        "store = QueueStore(Path(sys.argv[1]))\n"
        "q = DownloadQueue()\n"
        "for i in range(500):\n"
        "    q.add(f'http://127.0.0.1:9/SUM1/f{i}.fits', Path(sys.argv[2]))\n"
        "print('GO', flush=True)\n"
        "while True:\n"
        "    store.save(list(q))\n"
    )
    path = tmp_path / "data" / "queue.json"
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(path), str(tmp_path / "out")],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "GO"
        time.sleep(0.15)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)
        proc.stdout.close()
        from jsocdesk.core.download import QueueStore

        assert len(QueueStore(path).load()) == 500  # never a torn file
    leftovers = [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    past = time.time() - STALE_TEMP_SECONDS - 1  # the killed writers are long gone
    for p in leftovers:
        os.utime(p, (past, past))
    from jsocdesk.core.download import QueueStore

    QueueStore(path).load()  # the next start
    assert [p.name for p in path.parent.iterdir()] == ["queue.json"]


# --- a full disk under the data directory ---------------------------------------------------


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "256k") -> Iterator[Path]:
    where.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if proc.returncode != 0:
        pytest.skip("needs a small tmpfs (mount) to fill a disk for real")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path) -> None:
    with contextlib.suppress(OSError), open(folder / "filler", "wb") as fh:
        while True:
            fh.write(b"\0" * 4096)
            fh.flush()


def test_fetch_with_a_full_data_directory_says_so(
    cli: Callable[..., list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with small_tmpfs(tmp_path / "full") as data:
        fill(data)
        monkeypatch.setenv("JSOCDESK_DATA_DIR", str(data))
        code = main(cli("fetch", "--out", str(tmp_path / "out")))
        err = capsys.readouterr().err
    assert code != 0
    assert "No space left on device" in err
    assert "Traceback" not in err


def test_a_full_disk_at_the_final_catalogue_save_is_reported(
    demo_server: object, tmp_path: Path
) -> None:
    import asyncio

    from jsocdesk.core.download import Catalog, DownloadEngine, DownloadQueue, EngineOptions

    server = demo_server
    data = server.data_dir / "SUM2" / "a.fits"  # type: ignore[attr-defined]
    data.parent.mkdir(parents=True)
    data.write_bytes(b"x" * 10_000)
    with small_tmpfs(tmp_path / "full") as full:
        catalog = Catalog.in_data_dir(full)
        fill(full)

        async def go() -> DownloadEngine:
            queue = DownloadQueue()
            queue.add(server.base_url + "SUM2/a.fits", tmp_path / "out", key="k1")  # type: ignore[attr-defined]
            engine = DownloadEngine(queue, catalog=catalog, options=EngineOptions(fsync=False))
            await engine.run_until_idle()
            return engine

        engine = asyncio.run(go())
    assert (tmp_path / "out" / "a.fits").read_bytes() == b"x" * 10_000
    assert engine.save_error is not None
    assert "No space left" in engine.save_error


# --- the record-set parser --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "aia.lev1_euv_12s[2014.01.01][" + "9" * 400 + "]",
        "hmi.v_45s[2014.01.01_00:00-2014.01.01_01:00@" + "9" * 400 + "m]",
        "hmi.v_45s[" + "9" * 400 + ".01.01]",
        "hmi.v_45s[:#" + "9" * 400 + "]",
        "hmi.v_45s[\ud800]",
        "hmi.v_45s" + "[" * 100_000,
    ],
)
def test_record_set_parser_gives_syntax_errors_only(text: str) -> None:
    from jsocdesk.core.errors import RecordSetSyntaxError
    from jsocdesk.core.query import parse_query

    with contextlib.suppress(RecordSetSyntaxError):
        parse_query(text)


# --- the demo server stays on loopback --------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.org", ""])
def test_serve_demo_refuses_non_loopback_hosts(
    host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve-demo", "--host", host, "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "only listens on loopback" in err


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    from jsocdesk.demo.config import DemoConfig

    assert DemoConfig(host=host).host == host
