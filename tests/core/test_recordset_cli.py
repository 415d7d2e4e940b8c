"""``jsocdesk recordset SESSION.json [--merge] [--server URL]``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import astropy.units as u
import pytest

from jsocdesk.cli import main
from jsocdesk.core.query import And, Keyword, Or, Sample, Segment, Series, Time
from jsocdesk.core.session import Session, save_session

FIXTURE_V1 = Path(__file__).resolve().parents[1] / "data" / "session_v1.json"
V1_LINES = [
    "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI@600.0s]",
    "hmi.sharp_720s[4864][2020.01.01_00:00:35_TAI-2020.01.01_01:00:35_TAI]"
    "[? bitmap_bzero='0' ?]{continuum,magnetogram}",
    "aia.lev1_euv_12s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI][304]",
]
HOUR = Time("2014-01-01T00:00:00", "2014-01-01T01:00:00")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["recordset", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_fixture_record_sets_one_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, str(FIXTURE_V1))
    assert (code, err) == (0, "")
    assert out.splitlines() == V1_LINES


def test_merge_joins_same_series(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "q.json"
    q = Series("hmi.v_45s") & (HOUR | Time("2014-01-02T00:00:00", "2014-01-02T01:00:00"))
    save_session(path, Session(query=q))
    code, out, _ = run_cli(capsys, str(path))
    assert code == 0
    assert len(out.splitlines()) == 2
    code, merged, _ = run_cli(capsys, str(path), "--merge")
    assert code == 0
    assert merged.splitlines() == [",".join(out.splitlines())]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            And(Series("hmi.sharp_720s"), HOUR, Keyword("bitmap_bzero")),
            "Keyword 'bitmap_bzero' needs to have a comparison to a value. "
            "(at Keyword: bitmap_bzero (no comparison))",
        ),
        (
            And(Series("hmi.sharp_720s"), HOUR, Segment("image")),
            "Unexpected Segments were passed. The series hmi.sharp_720s contains",
        ),
        (Or(And(Series("hmi.v_45s"), HOUR), And(HOUR, Sample(1 * u.h))), "Series must be"),
        (And(Series("no.such_series"), HOUR), "Series 'no.such_series' does not exist."),
    ],
)
def test_invalid_query_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], query: And, message: str
) -> None:
    path = tmp_path / "bad.json"
    save_session(path, Session(query=query))
    code, out, err = run_cli(capsys, str(path))
    assert code == 2
    assert out == ""
    assert err.startswith("jsocdesk recordset: ")
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"{not json", "bad JSON"),
        (b'{"format_version": 99, "query": {}}', "newer jsocdesk"),
    ],
)
def test_bad_session_files_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, message: str
) -> None:
    path = tmp_path / "s.json"
    if content is not None:
        path.write_bytes(content)
    code, out, err = run_cli(capsys, str(path))
    assert code == 2
    assert out == ""
    assert message in err
    assert err.count("\n") == 1


def test_console_entry_point_in_a_real_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "jsocdesk", "recordset", str(FIXTURE_V1), "--merge"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == V1_LINES


def test_server_metadata_over_loopback(capsys: pytest.CaptureFixture[str]) -> None:
    from jsocdesk.demo.config import DemoConfig
    from jsocdesk.demo.server import DemoServer

    with DemoServer(DemoConfig()) as demo:
        code, out, err = run_cli(capsys, str(FIXTURE_V1), "--server", demo.base_url)
    assert (code, err) == (0, "")
    assert out.splitlines() == V1_LINES
