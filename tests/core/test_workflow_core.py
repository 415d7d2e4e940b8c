"""The core workflow without a window: naming, the session's sections, hostile sessions."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from jsocdesk.core.download.item import DownloadItem, DownloadState
from jsocdesk.core.errors import SessionCorrupt, SessionError, SessionUnsafe
from jsocdesk.core.jsoc.export import ExportJob, JobState
from jsocdesk.core.jsoc.protocol import ExportFile
from jsocdesk.core.session import Session, load_session, loads_session
from jsocdesk.core.workflow import (
    ExportOptions,
    ServerIdentity,
    ServerKind,
    enqueue_export,
    export_downloads,
    local_name,
    parse_workflow,
    workflow_sections,
)
from jsocdesk.core.workflow.server import rebase_url

S = DownloadState
DATA = Path(__file__).resolve().parents[1] / "data"


# --- the one naming rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record", "filename", "expected"),
    [
        # url_quick / as-is: SUMS paths all end in the segment name; named after the record
        (
            "hmi.v_45s[2014.01.01_00:00:45_TAI][2]{Dopplergram}",
            "/SUM58/D803708321/S00008/Dopplergram.fits",
            "hmi.v_45s.20140101_000045_TAI.2.Dopplergram.fits",
        ),
        # filenamefmt names (url / fits) are kept
        (
            "hmi.v_45s[2014.01.01_00:00:45_TAI][2]",
            "hmi.v_45s.20140101_000045_TAI.2.Dopplergram.fits",
            "hmi.v_45s.20140101_000045_TAI.2.Dopplergram.fits",
        ),
        # anything else: the record's key values folded in front, by the same rule
        (
            "hmi.v_45s[2014.01.01_00:00:45_TAI][2]",
            "Dopplergram.fits",
            "hmi.v_45s.20140101_000045_TAI.2.Dopplergram.fits",
        ),
        # a hostile name stays one safe component
        ("x[1]", "../../.bashrc", "x.1..bashrc"),
    ],
)
def test_local_name(record: str, filename: str, expected: str) -> None:
    assert local_name(ExportFile(record, filename, "http://h/" + filename)) == expected


def test_export_downloads_files_tar_and_catalogued_tar(tmp_path: Path) -> None:
    from jsocdesk.core.download import Catalog, DownloadQueue

    files = [
        ExportFile(
            f"hmi.v_45s[2014.01.01_00:{m}0:45_TAI][2]", f"hmi.v_45s.{m}.fits", f"http://h/{m}"
        )
        for m in range(3)
    ]
    job = ExportJob("rs", "a@b", method="url", protocol="fits", files=files)
    singles = export_downloads(job)
    assert [d.name for d in singles] == ["hmi.v_45s.0.fits", "hmi.v_45s.1.fits", "hmi.v_45s.2.fits"]
    assert singles[0].key == "hmi.v_45s[2014.01.01_00:00:45_TAI][2]{hmi.v_45s.0.fits}|fits"
    assert not singles[0].unpack

    tar = ExportJob("rs", "a@b", method="url-tar", files=files, tar_url="http://h/JSOC_1.tar")
    (archive,) = export_downloads(tar)
    assert (archive.url, archive.name, archive.unpack) == (
        "http://h/JSOC_1.tar",
        "JSOC_1.tar",
        True,
    )
    assert archive.member_keys == {d.name: d.key for d in singles}

    # the catalogue has every member: listed one by one (placed from where they are)
    catalog = Catalog.in_data_dir(tmp_path / "data")
    for d in singles:
        (tmp_path / d.name).write_bytes(b"x")
        assert d.key is not None
        catalog.record(d.key, tmp_path / d.name, 1)
    assert export_downloads(tar, catalog) == singles
    queue = DownloadQueue(catalog=catalog)
    items = enqueue_export(queue, tar, tmp_path)
    assert [it.state for it in items] == [S.DONE] * 3  # the same folder: those files


# --- the sections: round trip, old files ---------------------------------------------------


def _state(tmp_path: Path) -> tuple[ExportOptions, list[ExportJob], list[DownloadItem]]:
    folder = tmp_path / "dl"
    folder.mkdir()
    options = ExportOptions(
        email="solar@example.com",
        merge=False,
        headers=False,
        methods={"hmi.v_45s[x]": ("url-tar", "as-is")},
        folder=folder,
        server=ServerIdentity.demo(),
    )
    job = ExportJob("hmi.v_45s[x]", "solar@example.com", requestid="JSOC_1", state=JobState.PENDING)
    done = DownloadItem("http://127.0.0.1:5000/a.fits", folder / "a.fits", key="k")
    done.state, done.bytes_done, done.total = S.DONE, 3, 3
    (folder / "a.fits").write_bytes(b"abc")
    partial = DownloadItem("http://127.0.0.1:5000/b.fits", folder / "b.fits")
    partial.state = S.ACTIVE
    partial.bytes_done = 999  # what the file says; the disk says 4
    (folder / "b.fits.part").write_bytes(b"1234")
    return options, [job], [done, partial]


def _session(sections: dict[str, Any]) -> Session:
    text = json.dumps({"format_version": 1, "query": {"type": "and", "children": []}, **sections})
    return loads_session(text)


def test_sections_round_trip_and_follow_the_disk(tmp_path: Path) -> None:
    options, jobs, items = _state(tmp_path)
    state = parse_workflow(
        _session(workflow_sections(options, jobs, items)), default_folder=tmp_path
    )
    assert state.options == options
    assert state.folder == options.folder
    assert [j.requestid for j in state.jobs] == ["JSOC_1"]
    assert [(it.target.name, it.state, it.bytes_done) for it in state.downloads] == [
        ("a.fits", S.DONE, 3),
        ("b.fits", S.QUEUED, 4),  # was active: resumed, from the bytes of its .part file
    ]
    writes = state.writes()
    assert (writes.downloads, writes.partial_bytes, writes.exports) == (1, 4, 1)
    assert str(options.folder) in writes.describe()

    # a file deleted since the save is not shown done: fetched again
    assert options.folder is not None
    os.unlink(options.folder / "a.fits")
    state = parse_workflow(
        _session(workflow_sections(options, jobs, items)), default_folder=tmp_path
    )
    assert (state.downloads[0].state, state.downloads[0].bytes_done) == (S.QUEUED, 0)


def test_demo_session_urls_follow_the_demo_server(tmp_path: Path) -> None:
    options, jobs, items = _state(tmp_path)
    jobs[0].files = [ExportFile("r", "f", "http://127.0.0.1:5000/SUM/f.fits")]
    jobs[0].tar_url = "http://127.0.0.1:5000/SUM/t.tar"
    state = parse_workflow(
        _session(workflow_sections(options, jobs, items)), default_folder=tmp_path
    )
    assert state.options.server == ServerIdentity.demo()
    assert state.rebase("http://127.0.0.1:6001/") == 4
    assert [it.url for it in state.downloads] == [
        "http://127.0.0.1:6001/a.fits",
        "http://127.0.0.1:6001/b.fits",
    ]
    assert state.jobs[0].files[0].url == "http://127.0.0.1:6001/SUM/f.fits"
    assert state.jobs[0].tar_url == "http://127.0.0.1:6001/SUM/t.tar"
    assert rebase_url("https://jsoc.stanford.edu/a?b=1", "http://127.0.0.1:9/") == (
        "http://127.0.0.1:9/a?b=1"
    )


def test_server_identity() -> None:
    jsoc = ServerIdentity.for_url(None)
    assert jsoc.kind is ServerKind.JSOC
    assert ServerIdentity.for_url("http://jsoc.stanford.edu").same_as(jsoc)
    custom = ServerIdentity.for_url("http://mirror.example.org:8080")
    assert custom == ServerIdentity(ServerKind.CUSTOM, "http://mirror.example.org:8080/")
    for ident in (jsoc, custom, ServerIdentity.demo()):
        assert ServerIdentity.from_dict(json.loads(json.dumps(ident.to_dict()))) == ident
    assert ServerIdentity.demo().to_dict() == {"kind": "demo"}  # no port: a stable identity
    assert ServerIdentity.demo().differs_from(ServerIdentity.demo()) is None
    message = ServerIdentity.demo().differs_from(jsoc)
    assert message is not None
    assert "made against the demo server" in message
    assert "connected to JSOC (https://jsoc.stanford.edu/)" in message


def test_old_session_files_keep_loading(tmp_path: Path) -> None:
    # the first fixture (opaque sections of another shape): defaults, nothing to resume
    state = parse_workflow(load_session(DATA / "session_v1.json"), default_folder=tmp_path)
    assert (state.options.email, state.jobs, state.downloads) == ("", [], [])
    assert state.folder == tmp_path
    # what the window wrote before the sections were versioned
    window = parse_workflow(load_session(DATA / "session_v1_window.json"), default_folder=tmp_path)
    assert window.options.email == "solar@example.com"
    assert window.options.methods == {
        "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI@600.0s]": ("url-tar", "fits")
    }
    assert window.options.server is None  # not recorded by that version
    assert [j.state for j in window.jobs] == [JobState.DONE, JobState.PENDING]
    # its files are not on this disk: nothing is shown done, the partial one restarts at 0
    assert [(it.state, it.bytes_done) for it in window.downloads] == [(S.QUEUED, 0), (S.QUEUED, 0)]


# --- hostile sessions ----------------------------------------------------------------------------


def _hostile(tmp_path: Path, **item: Any) -> dict[str, Any]:
    options, jobs, items = _state(tmp_path)
    sections = workflow_sections(options, jobs, items)
    sections["downloads"]["items"][0].update(item)
    return sections


def test_targets_outside_the_folder_are_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    folder = tmp_path / "dl"
    for n, target in enumerate(
        (
            str(victim),  # an absolute path over an existing file
            str(tmp_path / "new" / "nested" / "x.fits"),  # a new nested directory
            str(folder / "sub" / "x.fits"),  # a sub-directory of the folder
            "../victim.txt",  # a relative path out of the folder
            str(folder / ".." / "victim.txt"),
            "",
        ),
    ):
        (tmp_path / str(n)).mkdir()
        sections = _hostile(tmp_path / str(n), target=target)
        sections["export"]["folder"] = str(folder)
        with pytest.raises(SessionUnsafe, match="not a file directly in the session's download"):
            parse_workflow(_session(sections), default_folder=tmp_path)
    assert victim.read_text() == "precious"
    assert not (tmp_path / "new").exists()

    # a link planted in the folder that points out of it
    (tmp_path / "link").mkdir()
    sections = _hostile(tmp_path / "link", target="evil.fits")
    link_folder = Path(sections["export"]["folder"])
    (link_folder / "evil.fits").symlink_to(victim)
    with pytest.raises(SessionUnsafe):
        parse_workflow(_session(sections), default_folder=tmp_path)
    # a relative name inside the folder is fine
    (tmp_path / "rel").mkdir()
    sections = _hostile(tmp_path / "rel", target="plain.fits")
    state = parse_workflow(_session(sections), default_folder=tmp_path)
    assert state.downloads[0].target == Path(sections["export"]["folder"]) / "plain.fits"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bytes_done": 10**30}, "bytes_done"),
        ({"bytes_done": -1}, "bytes_done"),
        ({"member_keys": [1, 2]}, "member_keys"),
        ({"member_keys": {"a": 1}}, "member_keys"),
        ({"extracted": [["../../x", 1]]}, "unpacked file"),
        ({"extracted": [1]}, "extracted"),
        ({"state": "exploded"}, "state"),
        ({"url": 5}, "url"),
        ({"target": None}, "target"),
        ({"id": ["x"]}, "id"),
        ({"unpack": "yes"}, "unpack"),
    ],
)
def test_malformed_downloads_are_typed_errors(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(SessionCorrupt, match=message):
        parse_workflow(_session(_hostile(tmp_path, **change)), default_folder=tmp_path)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("jobs", "items", 0, "status"), 10**20, "status"),
        (("jobs", "items", 0, "status"), 99, "not a JSOC export status"),
        (("jobs", "items", 0, "files"), [1, 2], "files"),
        (("jobs", "items"), {"a": 1}, "items"),
        (("export", "email"), 5, "email"),
        (("export", "merge"), 1, "merge"),
        (("export", "folder"), "relative/dir", "absolute path"),
        (("export", "methods"), {"rs": ["ftp", "fits"]}, "methods"),
        (("export", "server"), {"kind": "mars"}, "server kind"),
        (("export", "format_version"), 2, "newer than this jsocdesk"),
        (("downloads", "format_version"), 99, "newer than this jsocdesk"),
    ],
)
def test_malformed_sections_are_typed_errors(
    tmp_path: Path, path: tuple[Any, ...], value: Any, message: str
) -> None:
    options, jobs, items = _state(tmp_path)
    sections = copy.deepcopy(workflow_sections(options, jobs, items))
    node: Any = sections
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(SessionCorrupt, match=message):
        parse_workflow(_session(sections), default_folder=tmp_path)


@pytest.mark.parametrize(
    "text",
    [
        '"bytes_done": 1e999',
        '"status": 1e999',
        '"email": "\\ud800"',
        '"target": "/tmp/\\udcff.fits"',
        '"value": NaN',
    ],
)
def test_hostile_json_numbers_and_text_cannot_be_opened(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(
        '{"format_version": 1, "query": {"type": "and", "children": []}, '
        '"downloads": {"items": [{' + text + "}]}}"
    )
    with pytest.raises(SessionError) as exc:
        load_session(path)
    assert "not a" in str(exc.value)
