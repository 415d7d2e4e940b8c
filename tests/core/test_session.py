"""Sessions: versioned JSON, the v1 fixture, refuse-newer, atomic saves, fuzzed loader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import astropy.units as u
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jsocdesk.core.errors import SessionCorrupt, SessionError, SessionFormatTooNew
from jsocdesk.core.query import (
    And,
    Keyword,
    Notify,
    Or,
    PrimeKey,
    Sample,
    Segment,
    Series,
    Time,
    Wavelength,
    record_sets,
)
from jsocdesk.core.session import (
    CURRENT_VERSION,
    Session,
    dumps_session,
    load_session,
    loads_session,
    migrations,
    save_session,
    session_to_dict,
)
from tests.core.query_infos import INFOS

FIXTURE_V1 = Path(__file__).resolve().parents[1] / "data" / "session_v1.json"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """An empty directory of its own (tmp_path also holds the suite's app dirs)."""
    d = tmp_path / "sessions"
    d.mkdir()
    return d


SEED_QUERY = Or(
    And(
        Series("hmi.v_45s"),
        Time("2014-01-01T00:00:00", "2014-01-01T01:00:00"),
        Sample(10 * u.min),
        Notify("solar@example.com"),
    ),
    And(
        Series("hmi.sharp_720s"),
        PrimeKey("HARPNUM", "4864"),
        Time("2020.01.01_00:00:35_TAI", "2020.01.01_01:00:35_TAI"),
        Keyword("bitmap_bzero") == 0,
        Segment("continuum"),
        Segment("magnetogram"),
    ),
    And(
        Series("aia.lev1_euv_12s"),
        Time("2014-01-01T00:00:00", "2014-01-01T01:00:00"),
        Wavelength(30.4 * u.nm),
    ),
)


def test_v1_fixture_keeps_loading() -> None:
    session = load_session(FIXTURE_V1)
    assert session.query == SEED_QUERY
    assert record_sets(session.query, INFOS) == [
        "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI@600.0s]",
        "hmi.sharp_720s[4864][2020.01.01_00:00:35_TAI-2020.01.01_01:00:35_TAI]"
        "[? bitmap_bzero='0' ?]{continuum,magnetogram}",
        "aia.lev1_euv_12s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI][304]",
    ]
    assert session.export == {"protocol": "fits", "method": "url"}
    assert session.jobs == {"exports": [{"request_id": "JSOC_20141130_123", "status": 2}]}
    assert session.downloads == {"items": []}
    assert session.extra == {}


def test_save_load_round_trip(folder: Path) -> None:
    path = folder / "s.json"
    session = Session(
        query=SEED_QUERY,
        export={"protocol": "fits"},
        jobs={"exports": []},
        downloads={"items": [{"url": "http://127.0.0.1/x"}]},
        extra={"future_key": [1, 2]},
    )
    save_session(path, session)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["format_version"] == CURRENT_VERSION == 1
    assert doc["app"] == "jsocdesk"
    assert doc["future_key"] == [1, 2]
    back = load_session(path)
    assert back == session
    assert back.tree().root == session.query
    assert list(folder.iterdir()) == [path]  # no temp files left behind


def test_leaf_query_is_wrapped_and_bare_tree_migrates_from_v0() -> None:
    doc = session_to_dict(Session(query=And(Series("hmi.v_45s"))))
    doc["query"] = {"type": "series", "name": "hmi.v_45s"}
    assert loads_session(json.dumps(doc)).query == And(Series("hmi.v_45s"))
    bare = json.dumps({"type": "and", "children": [{"type": "series", "name": "x"}]})
    session = loads_session(bare)
    assert session.query == And(Series("x"))
    assert session.export == {}


def test_refuses_newer_format_with_clear_message(folder: Path) -> None:
    path = folder / "new.json"
    doc = session_to_dict(Session(query=And(Series("x"))))
    doc["format_version"] = CURRENT_VERSION + 1
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(SessionFormatTooNew) as exc:
        load_session(path)
    message = str(exc.value)
    assert str(path) in message
    assert "newer jsocdesk" in message
    assert f"session format {CURRENT_VERSION + 1}" in message
    assert "update jsocdesk" in message


def test_migration_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    def v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
        out = dict(doc, format_version=2)
        out["export"] = dict(doc.get("export", {}), migrated=True)
        return out

    monkeypatch.setitem(migrations.MIGRATIONS, 1, v1_to_v2)
    bare: dict[str, Any] = {"type": "and", "children": []}
    doc = migrations.migrate(bare, current=2)
    assert doc["format_version"] == 2
    assert doc["export"] == {"migrated": True}
    monkeypatch.delitem(migrations.MIGRATIONS, 1)
    with pytest.raises(SessionCorrupt, match="no migration from session format 1"):
        migrations.migrate({"format_version": 1}, current=2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"\xff\xfe garbage", "not UTF-8"),
        (b"{", "bad JSON at line 1"),
        (b"[]", "top level is not an object"),
        (b"{}", "no format_version"),
        (b'{"format_version": "1"}', "must be an integer"),
        (b'{"format_version": true}', "must be an integer"),
        (b'{"format_version": -1}', "not valid"),
        (b'{"format_version": 1}', "no query"),
        (b'{"format_version": 1, "query": {"type": "bogus"}}', "query is invalid"),
        (b'{"format_version": 1, "query": {"type": "and", "children": []}, "jobs": []}', "jobs"),
        (b"NaN", "NaN is not a number a session may hold"),
        (b"[1e999]", "the number 1e999 is too large"),
        (b'{"x": "\\ud800"}', "lone surrogate"),
    ],
)
def test_corrupt_files(folder: Path, text: bytes, message: str) -> None:
    path = folder / "bad.json"
    path.write_bytes(text)
    with pytest.raises(SessionCorrupt) as exc:
        load_session(path)
    assert message in str(exc.value)
    assert str(path) in str(exc.value)


def test_unreadable_and_unsavable(folder: Path) -> None:
    with pytest.raises(SessionError, match="cannot read"):
        load_session(folder / "missing.json")
    with pytest.raises(SessionError, match="cannot be saved as JSON"):
        dumps_session(Session(export={"x": object()}))
    blocker = folder / "file"
    blocker.write_text("x")
    with pytest.raises(SessionError, match="cannot write"):
        save_session(blocker / "sub" / "s.json", Session())


def test_failed_save_leaves_old_file_intact(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = folder / "s.json"
    save_session(path, Session(query=And(Series("old.series"))))
    before = path.read_bytes()

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(SessionError, match="No space left"):
        save_session(path, Session(query=SEED_QUERY))
    assert path.read_bytes() == before
    assert list(folder.iterdir()) == [path]


def test_save_killed_mid_write_leaves_old_file_intact(folder: Path) -> None:
    """A real process dies (SIGKILL) after writing the new data, before the rename."""
    path = folder / "s.json"
    save_session(path, Session(query=And(Series("old.series"))))
    before = path.read_bytes()
    script = textwrap.dedent(
        f"""
        import os, signal
        import astropy.units as u
        from jsocdesk.core.query import And, Series, Time, Sample
        from jsocdesk.core.session import Session, save_session

        def die(fd):
            os.kill(os.getpid(), signal.SIGKILL)

        os.fsync = die
        big = And(Series("new.series"), *[Sample((i + 1) * u.s) for i in range(2000)])
        save_session({str(path)!r}, Session(query=big))
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()
    assert path.read_bytes() == before
    leftovers = [p for p in folder.iterdir() if p != path]
    assert leftovers, "the killed writer should have left its temp file"
    assert all(p.name.startswith(".s.json.") and p.name.endswith(".tmp") for p in leftovers)
    assert load_session(path).query == And(Series("old.series"))


def test_sessions_are_stable_text() -> None:
    text = dumps_session(Session(query=SEED_QUERY))
    assert text.endswith("\n")
    assert loads_session(text).query == SEED_QUERY


_json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10)
_json = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_node_like = st.recursive(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(
                [
                    "series",
                    "time",
                    "wavelength",
                    "primekey",
                    "segment",
                    "keyword",
                    "sample",
                    "notify",
                    "x",
                ]
            )
        },
        optional={
            "name": _json_scalars,
            "value": _json_scalars,
            "start": st.sampled_from(["2014-01-01T00:00:00", "x", "99999-01-01T00:00:00"]),
            "end": st.sampled_from(["2014-01-02T00:00:00", "", "0000-01-01T00:00:00"]),
            "scale": st.sampled_from(["utc", "tai", "tt", "nope"]) | _json_scalars,
            "min": _json_scalars | st.just(10**400),
            "max": _json_scalars,
            "unit": st.sampled_from(["AA", "nm", "s", "min", "Hz", "bogus"]) | _json_scalars,
            "op": _json_scalars | st.sampled_from(["=", "<", "~"]),
            "email": _json_scalars,
        },
    ),
    lambda inner: st.fixed_dictionaries(
        {"type": st.sampled_from(["and", "or"]), "children": st.lists(inner, max_size=3)}
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=64),
        _json.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries(
            {"format_version": st.sampled_from([0, 1, 2, "1", None]) | st.integers()},
            optional={
                "query": _node_like | _json,
                "export": _json,
                "jobs": _json,
                "downloads": _json,
            },
        ).map(lambda d: json.dumps(d).encode()),
        _node_like.map(lambda d: json.dumps(d).encode()),
    )
)
def test_fuzz_loader_raises_only_session_errors(data: bytes) -> None:
    try:
        session = loads_session(data)
    except SessionError:
        return
    assert isinstance(session, Session)
