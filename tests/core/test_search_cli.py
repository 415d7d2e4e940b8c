"""``jsocdesk search`` / ``jsocdesk export`` headless against the demo server (seed numbers)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import astropy.units as u
import pytest

from jsocdesk.cli import main
from jsocdesk.core.query.tree import And, Keyword, Node, Notify, Sample, Segment, Series, Time
from jsocdesk.core.session import Session, save_session
from jsocdesk.demo.server import DemoServer
from tests.demo_server import DEMO_EMAIL

HOUR = Time("2014-01-01T00:00:00", "2014-01-01T01:00:00")
DAY2 = Time("2014-01-02T00:00:00", "2014-01-02T01:00:00")


def write_session(path: Path, query: Node) -> Path:
    save_session(path, Session(query=query if isinstance(query, And) else And(query)))
    return path


def counts(out: str) -> list[int]:
    return [int(n) for n in re.findall(r": (\d+) records$", out, flags=re.MULTILINE)]


SEED: list[tuple[str, Node, list[int]]] = [
    ("v45 hour", HOUR & Series("hmi.v_45s"), [81]),
    ("v45 hour every 10 min", HOUR & Series("hmi.v_45s") & Sample(10 * u.min), [7]),
    ("aia hour", HOUR & Series("aia.lev1_euv_12s"), [2107]),
    ("two days", (HOUR | DAY2) & Series("hmi.v_45s"), [81, 81]),
    (
        "two series",
        HOUR & (Series("hmi.v_45s") | Series("aia.lev1_euv_12s")),
        [81, 2107],
    ),
    (
        "sharp segments",
        HOUR & Series("hmi.sharp_720s") & Segment("continuum") & Segment("magnetogram"),
        [61],
    ),
    ("sharp keyword", HOUR & Series("hmi.sharp_720s") & (Keyword("bitmap_bzero") == 0), [61]),
    (
        "sharp two keywords",
        HOUR
        & Series("hmi.sharp_720s")
        & (Keyword("bitmap_bzero") == 0)
        & (Keyword("continuum_bscale") > 0),
        [61],
    ),
]


@pytest.mark.parametrize(("name", "query", "expected"), SEED, ids=[s[0] for s in SEED])
def test_seed_walkthrough(
    name: str,
    query: Node,
    expected: list[int],
    tmp_path: Path,
    demo_server: DemoServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    session = write_session(tmp_path / "seed.json", query)
    code = main(["search", str(session), "--server", demo_server.base_url, "--limit", "3"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert counts(out) == expected
    if len(expected) > 1:
        assert f"total: {sum(expected)} records in {len(expected)} record sets" in out


def test_table_shows_the_seed_columns(
    tmp_path: Path, demo_server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    session = write_session(tmp_path / "s.json", HOUR & Series("hmi.v_45s"))
    assert main(["search", str(session), "--server", demo_server.base_url]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]: 81 records"
    assert lines[1].split() == ["T_REC", "CAMERA", "TELESCOP", "INSTRUME", "WAVELNTH", "CAR_ROT"]
    assert lines[3].split()[0] == "2014.01.01_00:00:45_TAI"
    assert "... 71 more" in out


def test_keys_and_limit(
    tmp_path: Path, demo_server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    session = write_session(tmp_path / "s.json", HOUR & Series("hmi.v_45s"))
    argv = ["search", str(session), "--server", demo_server.base_url]
    assert main([*argv, "--keys", "T_REC,QUALITY", "--limit", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["T_REC", "QUALITY"]
    assert len([ln for ln in lines if ln.startswith("2014.")]) == 2
    assert main([*argv, "--limit", "0"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [""]


def test_demo_flag_starts_its_own_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    session = write_session(tmp_path / "s.json", HOUR & Series("hmi.v_45s") & Sample(10 * u.min))
    assert main(["search", str(session), "--demo", "--limit", "0"]) == 0
    assert counts(capsys.readouterr().out) == [7]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            HOUR & Series("hmi.sharp_720s") & Keyword("bitmap_bzero"),
            "Keyword 'bitmap_bzero' needs to have a comparison to a value.",
        ),
        (
            HOUR & Series("hmi.sharp_720s") & (Keyword("bac") == 0),
            "Keyword: 'bac' is not supported by series: hmi.sharp_720s",
        ),
        (
            HOUR & Series("hmi.sharp_720s") & Segment("image"),
            "Unexpected Segments were passed. The series hmi.sharp_720s contains",
        ),
        (HOUR, "Series must be specified for a JSOC Query"),
    ],
)
def test_query_errors_are_one_line_exit_2(
    query: Node,
    message: str,
    tmp_path: Path,
    demo_server: DemoServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    session = write_session(tmp_path / "bad.json", query)
    assert main(["search", str(session), "--server", demo_server.base_url]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("jsocdesk search: ")
    assert message in err


def test_unreadable_session_and_dead_server(
    tmp_path: Path, demo_server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["search", str(bad), "--server", demo_server.base_url]) == 2
    assert capsys.readouterr().err.startswith("jsocdesk search: ")
    assert main(["search", str(tmp_path / "missing.json"), "--server", demo_server.base_url]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    good = write_session(tmp_path / "s.json", HOUR & Series("hmi.v_45s"))
    assert main(["search", str(good), "--server", "http://127.0.0.1:9/"]) == 2
    err = capsys.readouterr().err
    assert "cannot connect" in err
    assert err.count("\n") == 1


def test_export_prints_the_files(
    tmp_path: Path, demo_server: DemoServer, capsys: pytest.CaptureFixture[str]
) -> None:
    query = (
        Series("hmi.sharp_720s")
        & Time("2014-01-01T00:00:00", "2014-01-01T00:12:00")
        & Segment("continuum")
        & Notify(DEMO_EMAIL)
    )
    session = write_session(tmp_path / "s.json", query)
    argv = ["export", str(session), "--server", demo_server.base_url, "--poll", "0.05"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.match(
        r"# hmi\.sharp_720s\[\]\[.*\]\{continuum\} -> JSOC_\d{8}_\d+ \(url/fits\)", out[0]
    )
    urls = out[1:]
    assert urls
    assert all(u.startswith(demo_server.base_url) and u.endswith("continuum.fits") for u in urls)
    assert main([*argv, "--raw"]) == 0
    raw = capsys.readouterr().out.splitlines()
    assert "(url_quick/as-is)" in raw[0]


def test_export_errors(
    tmp_path: Path,
    demo_server_factory: Callable[..., DemoServer],
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = demo_server_factory(size_cap_mb=1, segment_bytes=400_000)
    session = write_session(
        tmp_path / "s.json",
        HOUR & Series("hmi.v_45s") & Segment("Dopplergram"),
    )
    argv = ["export", str(session), "--server", server.base_url, "--poll", "0.05"]
    assert main(argv) == 2
    assert "an e-mail address is needed" in capsys.readouterr().err
    assert main([*argv, "--email", "stranger@example.com"]) == 2
    assert "not registered" in capsys.readouterr().err
    assert main([*argv, "--email", DEMO_EMAIL]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "too large" in err.lower()
    assert "Suggested parts: hmi.v_45s[2014.01.01_00:00:35_TAI-" in err
