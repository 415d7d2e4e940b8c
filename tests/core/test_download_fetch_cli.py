"""``jsocdesk fetch``: search → export → download against the demo server, interrupt, resume."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import astropy.units as u
import pytest

from jsocdesk.cli import main
from jsocdesk.commands.fetch import ProgressBar, parse_rate
from jsocdesk.core.download import QueueTotals
from jsocdesk.core.query.tree import Sample, Series, Time
from jsocdesk.demo.faults import Fault
from jsocdesk.demo.server import DemoServer
from tests.core.test_search_cli import write_session
from tests.demo_server import DEMO_EMAIL

REPO = Path(__file__).resolve().parents[2]
QUERY = (
    Series("hmi.v_45s") & Time("2014-01-01T00:00:00", "2014-01-01T01:00:00") & Sample(10 * u.min)
)


def served_files(server: DemoServer, names: list[str]) -> dict[str, bytes]:
    """The server-side bytes of each downloaded name (found in the demo data dir)."""
    found: dict[str, bytes] = {}
    for name in names:
        matches = [p for p in server.data_dir.rglob(name) if p.is_file()]
        assert len(matches) == 1, (name, matches)
        found[name] = matches[0].read_bytes()
    return found


def test_fetch_downloads_everything_and_a_rerun_fetches_nothing(
    demo_server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = write_session(tmp_path / "s.json", QUERY)
    out = tmp_path / "out"
    args = ["fetch", str(session), "--out", str(out), "--server", demo_server.base_url]
    args += ["--poll", "0.1"]
    assert main([*args, "--email", DEMO_EMAIL]) == 0
    stdout, stderr = capsys.readouterr()
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 7  # the seed: one hour every 10 minutes → 7 records
    assert all(n.endswith(".fits") for n in names)
    assert {n: (out / n).read_bytes() for n in names} == served_files(demo_server, names)
    assert "7 files" in stdout
    assert "7/7 files" in stderr  # the progress bar's last line

    # a rerun must not download again: every file request would now fail for good
    demo_server.faults.add(Fault("http_error", route="files", value=404))
    assert main([*args, "--email", DEMO_EMAIL]) == 0
    stdout, _ = capsys.readouterr()
    assert "7 files" in stdout
    assert demo_server.faults.hits["http_error"] == 0
    assert sorted(p.name for p in out.iterdir()) == names

    # another folder: every file is there too, byte-identical, still without a download
    second = tmp_path / "second"
    args2 = ["fetch", str(session), "--out", str(second), "--server", demo_server.base_url]
    assert main([*args2, "--poll", "0.1", "--email", DEMO_EMAIL]) == 0
    stdout, _ = capsys.readouterr()
    assert "7 files (" in stdout
    assert stdout.rstrip().endswith(f"in {second.resolve()}")
    assert demo_server.faults.hits["http_error"] == 0
    assert sorted(p.name for p in second.iterdir()) == names
    assert {n: (second / n).read_bytes() for n in names} == {
        n: (out / n).read_bytes() for n in names
    }


def test_fetch_uses_the_sessions_export_email(
    demo_server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A session saved by the window stores its export e-mail (and options): fetch uses it."""
    from jsocdesk.core.session import Session, save_session
    from jsocdesk.core.workflow import ExportOptions, apply_workflow

    session = tmp_path / "window.json"
    options = ExportOptions(email=DEMO_EMAIL, headers=False)
    save_session(session, apply_workflow(Session(query=QUERY), options, [], []))
    out = tmp_path / "out"
    args = ["fetch", str(session), "--out", str(out), "--server", demo_server.base_url]
    assert main([*args, "--poll", "0.1"]) == 0
    _, stderr = capsys.readouterr()
    assert "7 files" in stderr
    # headers off in the session: raw segment files (url_quick / as-is), named by record
    names = sorted(p.name for p in out.iterdir())
    assert names[0] == "hmi.v_45s.20140101_000045_TAI.2.Dopplergram.fits"


def test_fetch_interrupted_then_resumed(
    demo_server_factory: Callable[..., DemoServer],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = demo_server_factory(segment_bytes=2_500_000)
    server.faults.add(Fault("stall", route="files", value=float("inf"), at=1_200_000))
    session = write_session(tmp_path / "s.json", QUERY)
    out = tmp_path / "out"
    args = ["fetch", str(session), "--out", str(out), "--server", server.base_url]
    args += ["--email", DEMO_EMAIL, "--connections", "2", "--poll", "0.1"]
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "jsocdesk", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def parts() -> list[Path]:
        return (
            [p for p in out.glob("*.part") if p.stat().st_size >= 100_000] if out.exists() else []
        )

    async def wait_for_parts() -> None:
        while len(parts()) < 2 and proc.poll() is None:  # noqa: ASYNC110  # a child process
            await asyncio.sleep(0.02)

    try:
        asyncio.run(wait_for_parts())
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err
    partial = {p.name: p.stat().st_size for p in parts()}
    assert list(partial.values()) == [1_200_000] * 2  # every byte received was kept
    assert not [p for p in out.iterdir() if not p.name.endswith(".part")]

    server.faults.clear()
    assert main(args) == 0
    stdout, stderr = capsys.readouterr()
    assert "found 2 partial files" in stderr
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 7
    assert not [n for n in names if n.endswith(".part")]
    assert {n: (out / n).read_bytes() for n in names} == served_files(server, names)
    assert "7 files" in stdout


def test_fetch_errors_are_one_line(
    demo_server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = write_session(tmp_path / "s.json", QUERY)
    base = ["fetch", str(session), "--out", str(tmp_path / "o"), "--server", demo_server.base_url]
    code = main(base)
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("jsocdesk fetch: an e-mail address is needed")
    code = main([*base, "--email", "nobody@example.org"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "not registered" in err
    assert main(["fetch", str(session), "--out", "o", "--limit-rate", "fast"]) == 2
    assert "bad rate" in capsys.readouterr().err


def test_parse_rate_and_bar_line() -> None:
    assert parse_rate("500k") == 500 * 1024
    assert parse_rate("2.5M/s") == 2.5 * 2**20
    assert parse_rate("1000") == 1000
    with pytest.raises(ValueError, match="bad rate"):
        parse_rate("-3k")
    totals = QueueTotals(
        count=10,
        done=4,
        failed=1,
        active=2,
        queued=3,
        paused=0,
        cancelled=0,
        bytes_done=50_000_000,
        bytes_total=100_000_000,
        speed=0.0,
    )
    now = [0.0]
    bar = ProgressBar(stream=io.StringIO(), clock=lambda: now[0])
    bar.update(replace(totals, bytes_done=40_000_000))
    now[0] = 1.0
    bar.update(totals)  # 10 MB in one second
    line = bar.line(totals)
    assert line.startswith("[" + "#" * 14 + "." * 14 + "]  50%")
    assert "50.0 MB/100.0 MB   10.0 MB/s" in line
    assert "ETA 0:05" in line
    assert "4/10 files, 1 failed" in line
    # sizes not known yet: the bar counts files
    unknown = bar.line(replace(totals, bytes_total=None))
    assert unknown.startswith("[" + "#" * 11 + "." * 17 + "]  40%")
    assert "ETA --:--" in unknown


def test_fetch_raw_names_files_after_their_records(
    demo_server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Quick (as-is) exports list SUMS paths that all end in ``Dopplergram.fits``; the local
    names come from the records, like drms does."""
    session = write_session(tmp_path / "s.json", QUERY)
    out = tmp_path / "out"
    args = ["fetch", str(session), "--out", str(out), "--server", demo_server.base_url]
    assert main([*args, "--email", DEMO_EMAIL, "--raw", "--poll", "0.1"]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in out.iterdir())
    assert names[0] == "hmi.v_45s.20140101_000045_TAI.2.Dopplergram.fits"
    assert len(names) == 7
    assert all(n.startswith("hmi.v_45s.2014") and n.endswith(".2.Dopplergram.fits") for n in names)
    served = {p.read_bytes() for p in demo_server.data_dir.rglob("Dopplergram.fits")}
    assert {(out / n).read_bytes() for n in names} == served


def test_fetch_url_tar_unpacks_and_a_rerun_fetches_nothing(
    demo_server: DemoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = write_session(tmp_path / "s.json", QUERY)
    out = tmp_path / "out"
    args = ["fetch", str(session), "--out", str(out), "--server", demo_server.base_url]
    args += ["--poll", "0.1", "--method", "url-tar", "--email", DEMO_EMAIL]
    assert main(args) == 0
    stdout, stderr = capsys.readouterr()
    assert "1 archive of 7 files" in stderr
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 7  # the members, no .tar and no .part left
    assert all(n.endswith(".fits") for n in names)
    assert {n: (out / n).read_bytes() for n in names} == served_files(demo_server, names)
    assert "7 files" in stdout

    # a rerun exports again but downloads nothing: the catalogue has every member
    demo_server.faults.add(Fault("http_error", route="files", value=404))
    assert main(args) == 0
    stdout, _ = capsys.readouterr()
    assert "7 files" in stdout
    assert demo_server.faults.hits["http_error"] == 0
    assert sorted(p.name for p in out.iterdir()) == names
