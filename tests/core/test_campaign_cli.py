"""``jsocdesk fetch`` runs campaigns: the issue's acceptance runs against ``serve-demo``.

A ``serve-demo --size-cap-mb 8 --segment-bytes 1000000`` child process; 37 records of
``hmi.v_45s`` (2014-01-01 00:00–06:00 UTC at 10 min) are fetched as a campaign: every file
byte-exact, one pending export at a time (checked in the server's own export registry),
and a ``fetch`` killed with SIGKILL mid-campaign continues where it stopped when rerun.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import astropy.units as u
import pytest

from jsocdesk.cli import main
from jsocdesk.core.query.tree import Sample, Series, Time
from tests.core.test_search_cli import write_session
from tests.demo_server import DEMO_EMAIL, demo_process

REPO = Path(__file__).resolve().parents[2]
QUERY = (
    Series("hmi.v_45s") & Time("2014-01-01T00:00:00", "2014-01-01T06:00:00") & Sample(10 * u.min)
)


@pytest.fixture
def capped(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """``serve-demo --size-cap-mb 8 --segment-bytes 1000000`` and its data dir."""
    data = tmp_path / "demo"
    args = ["--size-cap-mb", "8", "--segment-bytes", "1000000", "--export-delay", "0.6"]
    with demo_process(*args, "--data-dir", str(data)) as (_proc, url):
        yield url, data


def exports_of(data: Path) -> list[dict[str, Any]]:
    doc = json.loads((data / "demo-exports.json").read_text())
    return sorted(doc["exports"], key=lambda e: e["created"])


def assert_one_pending_at_a_time(data: Path) -> None:
    for a, b in itertools.pairwise(exports_of(data)):
        assert a["completed"] is not None, a
        assert b["created"] >= a["completed"], (a["requestid"], b["requestid"])


def assert_byte_exact(out: Path, data: Path, n: int) -> None:
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == n, names
    assert not [x for x in names if x.endswith(".part")]
    for name in names:
        served = [p for p in data.rglob(name) if p.is_file()]
        assert len(served) == 1, (name, served)
        assert (out / name).read_bytes() == served[0].read_bytes(), name


def fetch_args(session: Path, out: Path, url: str) -> list[str]:
    return [
        "fetch",
        str(session),
        "--out",
        str(out),
        "--server",
        url,
        "--email",
        DEMO_EMAIL,
        "--poll",
        "0.1",
        "--retry-delay",
        "0.2",
    ]


def test_fetch_37_records_as_a_campaign(
    capped: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, data = capped
    session = write_session(tmp_path / "s.json", QUERY)
    out = tmp_path / "out"
    assert main(fetch_args(session, out, url)) == 0
    stdout, stderr = capsys.readouterr()
    assert "plan: 37 records" in stderr  # the plan comes first
    assert stderr.index("plan: ") < stderr.index("chunk 1/")
    assert "re-cut to fit the server" in stderr  # status 3 taught the cap: 7 per export
    assert_byte_exact(out, data, 37)
    exports = exports_of(data)
    assert len(exports) == 6
    assert sorted(e["rcount"] for e in exports) == [2, 7, 7, 7, 7, 7]
    assert all(e["size_mb"] <= 8 for e in exports)
    assert_one_pending_at_a_time(data)
    assert "37 files" in stdout


def test_fetch_killed_mid_campaign_continues_where_it_stopped(
    capped: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, data = capped
    session = write_session(tmp_path / "s.json", QUERY)
    out = tmp_path / "out"
    args = fetch_args(session, out, url)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "jsocdesk", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    states = Path(os.environ["JSOCDESK_DATA_DIR"]) / "campaigns"

    def done_chunks() -> int:
        for path in states.glob("*.json"):
            try:
                doc = json.loads(path.read_text())
            except ValueError:
                continue  # being replaced right now
            return sum(c["state"] == "done" for c in doc["chunks"])
        return 0

    async def until_two_chunks_done() -> None:
        async with asyncio.timeout(120):
            while done_chunks() < 2 and proc.poll() is None:  # noqa: ASYNC110  # a child process
                await asyncio.sleep(0.02)

    try:
        asyncio.run(until_two_chunks_done())
        assert proc.poll() is None, proc.communicate()[1]
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    before = exports_of(data)
    assert 2 <= len(before) < 6

    assert main(args) == 0
    stdout, stderr = capsys.readouterr()
    assert "continuing the saved campaign" in stderr
    assert "plan: " not in stderr  # nothing planned or submitted again
    assert_byte_exact(out, data, 37)
    after = exports_of(data)
    assert len(after) == 6  # one export per chunk in all: none submitted twice
    assert [e["requestid"] for e in after[: len(before)]] == [e["requestid"] for e in before]
    assert_one_pending_at_a_time(data)
    assert "37 files" in stdout


def test_a_big_plan_needs_yes_when_not_interactive(
    capped: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, data = capped
    year = Series("hmi.M_720s") & Time("2014-01-01T00:00:00", "2015-01-01T00:00:00")
    session = write_session(tmp_path / "y.json", year)
    code = main(fetch_args(session, tmp_path / "out", url))
    _, stderr = capsys.readouterr()
    assert code == 2
    assert "plan: 43,801 records" in stderr  # a year, both ends included
    assert "--yes" in stderr
    assert not (data / "demo-exports.json").exists()  # nothing was submitted
