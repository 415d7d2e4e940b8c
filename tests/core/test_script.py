"""Copy as code: ``jsocdesk script`` and the generated drms / sunpy scripts.

The scripts run in a child process with unmodified drms and sunpy against the demo server
(``--server``, or the server baked in with ``jsocdesk script --server``), and must find the
session's records and download its files.  They may import nothing from jsocdesk.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import astropy.units as u
import pytest

from jsocdesk.cli import main
from jsocdesk.core.query import (
    And,
    Keyword,
    Notify,
    Or,
    Sample,
    Segment,
    Series,
    Time,
    Wavelength,
    compile_query,
)
from jsocdesk.core.script import python_script
from jsocdesk.core.session import Session, save_session
from jsocdesk.demo.series import series_info

HOUR = Time("2014-01-01T00:00:00", "2014-01-01T01:00:00")
DAY2 = Time("2014-01-02T00:00:00", "2014-01-02T00:30:00")
EMAIL = "solar@example.com"
#: Modules a generated script may import (the standard library's and the target's).
ALLOWED = {"argparse", "sys", "pathlib", "urllib.parse", "drms", "astropy.units", "astropy.time"}
ALLOWED_SUNPY = ALLOWED | {"sunpy.net"}


def or_query() -> And | Or:
    """Two branches on hmi.v_45s (mergeable) and one on AIA with keyword + segment."""
    return Or(
        And(Series("hmi.v_45s"), HOUR, Sample(10 * u.min), Notify(EMAIL)),
        And(Series("hmi.v_45s"), DAY2, Sample(15 * u.min), Notify(EMAIL)),
        And(
            Series("aia.lev1_euv_12s"),
            Time("2014-01-01T00:00:00", "2014-01-01T00:01:00"),
            Wavelength(30.4 * u.nm),
            Keyword("QUALITY") >= 0,
            Segment("image"),
            Notify(EMAIL),
        ),
    )


def session_file(tmp_path: Path, query: And | Or, name: str = "s.json") -> Path:
    path = tmp_path / name
    save_session(path, Session(query=query if isinstance(query, Or | And) else And(query)))
    return path


def generate(tmp_path: Path, session: Path, *args: str) -> Path:
    out = tmp_path / f"script-{len(list(tmp_path.glob('script-*')))}.py"
    assert main(["script", str(session), *args, "--out", str(out)]) == 0
    return out


def run_script(script: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """``python script ARGS`` with nothing of jsocdesk on the path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-I", str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=script.parent,
        check=False,
    )


def imports(text: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    return names


def test_drms_script_finds_the_records_and_downloads_the_files(
    tmp_path: Path, demo_server: object
) -> None:
    script = generate(tmp_path, session_file(tmp_path, or_query()), "--for", "drms", "--merge")
    text = script.read_text()
    assert imports(text) <= ALLOWED
    out = tmp_path / "out"
    proc = run_script(script, str(out), "--server", demo_server.base_url, "--poll", "0.2")  # type: ignore[attr-defined]
    assert proc.returncode == 0, proc.stderr[-2000:]
    # 7 + 3 records on hmi.v_45s, merged into one record set; 6 AIA 304 records in a minute
    assert "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI@600.0s]," in proc.stdout
    assert ": 10 records" in proc.stdout
    assert ": 6 records" in proc.stdout
    assert "16 records found" in proc.stdout
    assert proc.stdout.count("export JSOC_") == 2  # merged: one export for both v_45s branches
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 16
    assert sum(f.startswith("hmi.v_45s.") for f in files) == 10
    assert all(f.endswith(".fits") and (out / f).stat().st_size > 0 for f in files)


def test_sunpy_script_finds_the_records_and_downloads_the_files(
    tmp_path: Path, demo_server: object
) -> None:
    script = generate(tmp_path, session_file(tmp_path, or_query()), "--for", "sunpy", "--merge")
    text = script.read_text()
    assert imports(text) <= ALLOWED_SUNPY
    assert (
        "sunpy cannot join record sets" in text
    )  # the merge it cannot express is said in a comment
    out = tmp_path / "out"
    proc = run_script(script, str(out), "--server", demo_server.base_url, "--poll", "0.2")  # type: ignore[attr-defined]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "16 records found" in proc.stdout
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 16
    assert sum(f.startswith("aia.lev1_euv_12s.") for f in files) == 6


def test_script_for_a_server_talks_to_it_by_default(tmp_path: Path, demo_server: object) -> None:
    """``jsocdesk script --server URL`` takes the metadata from URL and bakes URL in."""
    url = demo_server.base_url  # type: ignore[attr-defined]
    seed = And(Series("hmi.v_45s"), HOUR, Sample(10 * u.min), Notify("demo@example.com"))
    script = generate(tmp_path, session_file(tmp_path, seed), "--for", "drms", "--server", url)
    assert f'SERVER = "{url}"' in script.read_text()
    proc = run_script(script, str(tmp_path / "out"), "--poll", "0.2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "7 records found" in proc.stdout  # the seed's acceptance number
    assert len(list((tmp_path / "out").iterdir())) == 7


def test_script_without_notify_asks_for_an_address(tmp_path: Path, demo_server: object) -> None:
    query = And(Series("hmi.v_45s"), HOUR, Sample(30 * u.min))
    script = generate(tmp_path, session_file(tmp_path, query), "--for", "drms")
    assert 'EMAIL = ""' in script.read_text()
    proc = run_script(script, str(tmp_path / "out"), "--server", demo_server.base_url)  # type: ignore[attr-defined]
    assert proc.returncode == 2
    assert "3 records found" in proc.stdout
    assert "--email ADDRESS" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("target", ["drms", "sunpy"])
def test_hostile_session_text_stays_data(target: str) -> None:
    """Keyword values and addresses are literals: no text of the session becomes code."""
    evil = 'x"""\n__import__("os").system("echo pwned")  # \'\\\r\x00\u2028'
    query = And(
        Series("hmi.v_45s"),
        HOUR,
        Keyword("QUALITY") == evil,
        Notify('a"b@example.com\n__import__("os")'),
    )
    benign = And(Series("hmi.v_45s"), HOUR, Keyword("QUALITY") == "0", Notify(EMAIL))
    text = python_script(query, series_info, target)  # type: ignore[arg-type]
    tree = ast.parse(text)
    shape = [type(s).__name__ for s in tree.body]
    benign_tree = ast.parse(python_script(benign, series_info, target))  # type: ignore[arg-type]
    assert shape == [type(s).__name__ for s in benign_tree.body]
    assert not any(isinstance(n, ast.Attribute) and n.attr == "system" for n in ast.walk(tree))
    calls = {
        n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
    }
    assert "__import__" not in calls
    if target == "drms":
        record_sets = next(
            s.value
            for s in tree.body
            if isinstance(s, ast.Assign) and getattr(s.targets[0], "id", "") == "RECORD_SETS"
        )
        literal = ast.literal_eval(record_sets)
        assert [r for r, _ in literal] == [c.record_set for c in compile_query(query, series_info)]


def test_sunpy_script_says_what_sunpy_drops() -> None:
    query = And(Series("hmi.v_45s"), HOUR, Keyword("QUALITY") > 0, Keyword("QUALITY") < 5)
    text = python_script(query, series_info, "sunpy")  # type: ignore[arg-type]
    assert "sunpy keeps only the last condition on QUALITY" in text
    assert '(a.jsoc.Keyword("QUALITY") > "0")' in text
    ast.parse(text)


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert main(["script", str(bad), "--for", "drms"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jsocdesk script: ")
    assert err.count("\n") == 1
    no_time = session_file(tmp_path, And(Series("hmi.v_45s")), "q.json")
    assert main(["script", str(no_time), "--for", "sunpy"]) == 2
    assert "Time, Wavelength or an explicit PrimeKey" in capsys.readouterr().err


def test_cli_writes_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    fixture = Path(__file__).resolve().parents[1] / "data" / "session_v1.json"
    assert main(["script", str(fixture), "--for", "sunpy"]) == 0
    out = capsys.readouterr().out
    assert "from sunpy.net import Fido" in out
    assert 'a.jsoc.PrimeKey("HARPNUM", "4864")' in out
    assert 'a.Time(Time("2020-01-01T00:00:35", scale="tai")' in out
    assert "a.Wavelength(30.4 * u.nm)" in out
    ast.parse(out)
