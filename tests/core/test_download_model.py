"""Download model: safe names, item state machine, evented queue, store, catalogue."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jsocdesk.core.download import (
    Catalog,
    CatalogError,
    ConcurrencyLimits,
    DownloadItem,
    DownloadQueue,
    DownloadState,
    InvalidTransition,
    NameAllocator,
    QueueStore,
    QueueStoreError,
    filename_from_url,
    safe_filename,
)
from jsocdesk.core.download.names import MAX_NAME_BYTES, inside, name_from_record

S = DownloadState

HOSTILE = [
    ("../../etc/passwd", "passwd"),
    ("/etc/shadow", "shadow"),
    ("..\\..\\windows\\system32\\evil.dll", "evil.dll"),
    ("..", "download"),
    (".", "download"),
    ("", "download"),
    ("/", "download"),
    ("a/b/../..", "download"),
    ("name\x00.fits", "name_.fits"),
    ("tab\tand\nnewline.fits", "tab_and_newline.fits"),
    (".bashrc", "bashrc"),
    ("...hidden...", "hidden"),
    ("CON", "_CON"),
    ("con.fits", "_con.fits"),
    ("LPT1.txt", "_LPT1.txt"),
    ('a<b>c:d"e|f?g*h.fits', "a_b_c_d_e_f_g_h.fits"),
    ("trailing. . ", "trailing"),
    ("image.fits.part", "image.fits.part_"),
    ("hmi.v_45s.20140101_000000_TAI.2.Dopplergram.fits", None),
]


@pytest.mark.parametrize(("raw", "expected"), HOSTILE)
def test_safe_filename_hostile(raw: str, expected: str | None) -> None:
    name = safe_filename(raw)
    assert name == (expected if expected is not None else raw)


@pytest.mark.parametrize(
    ("record", "filename", "expected"),
    [
        (
            "hmi.V_45s[2016.04.01_00:00:00_TAI][2]{Dopplergram}",
            "/SUM58/D803708321/S00008/Dopplergram.fits",
            "hmi.v_45s.20160401_000000_TAI.2.Dopplergram.fits",
        ),
        (
            "aia.lev1_euv_12s[2014-01-01T00:00:01Z][304]{image}",
            "/SUM1/D2/S0/image_lev1.fits",
            "aia.lev1_euv_12s.20140101T000001Z.304.image.fits",
        ),
        (
            "hmi.v_sht_2drls[2024.09.19]{split}",
            "/SUM1/D2/S0/splittings.out",
            "hmi.v_sht_2drls.2024.09.19.split.out",
        ),
        ("../../evil[1]{x/../../y}", "/SUM1/a.fits", "y.fits"),  # one safe component
        ("not a record", "/SUM1/D2/S0/image.fits", "image.fits"),
    ],
)
def test_name_from_record(record: str, filename: str, expected: str) -> None:
    assert name_from_record(record, filename) == expected


def test_overlong_name_keeps_extension() -> None:
    name = safe_filename("é" * 400 + ".fits")
    assert name.endswith(".fits")
    assert len(name.encode()) <= MAX_NAME_BYTES
    name.encode("utf-8")  # no broken multi-byte sequence


def test_filename_from_url_decodes_and_sanitises() -> None:
    assert filename_from_url("http://x/SUM1/D2/S0/image%20lev1.fits?x=1") == "image lev1.fits"
    assert filename_from_url("http://x/SUM1/%2e%2e%2f%2e%2e%2fetc%2fpasswd") == "passwd"
    assert filename_from_url("http://x/") == "download"


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(min_size=0, max_size=300))
def test_safe_filename_is_always_one_harmless_component(raw: str) -> None:
    name = safe_filename(raw)
    assert name
    assert name not in (".", "..")
    assert "/" not in name
    assert "\\" not in name
    assert "\x00" not in name
    assert not name.startswith(".")
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    assert safe_filename(name) == name  # idempotent


def test_allocator_collisions_are_deterministic(tmp_path: Path) -> None:
    (tmp_path / "a.fits").write_bytes(b"x")
    (tmp_path / "b.fits.part").write_bytes(b"x")
    names = ["a.fits", "A.FITS", "b.fits", "../a.fits", "c.fits", "c.fits"]
    alloc = NameAllocator(tmp_path, reserved={"a.fits"})  # e.g. another queued download
    second = [alloc.allocate(n).name for n in names]
    assert second == [
        "a (2).fits",
        "A (3).FITS",
        "b (2).fits",
        "a (4).fits",
        "c.fits",
        "c (2).fits",
    ]
    again = NameAllocator(tmp_path, reserved={"a.fits"})
    assert [again.allocate(n).name for n in names] == second
    for n in second:
        assert inside(tmp_path, tmp_path / n)


def test_allocator_refuses_symlink_escape(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "dl"
    folder.mkdir()
    (folder / "evil.fits").symlink_to(outside / "evil.fits")
    path = NameAllocator(folder).allocate("evil.fits")
    assert path.name == "evil (2).fits"  # the planted link is never written through
    assert inside(folder, path)


# --- item --------------------------------------------------------------------------------


def test_item_transitions_validated(tmp_path: Path) -> None:
    it = DownloadItem("http://h/x", tmp_path / "x")
    assert it.state is S.QUEUED
    it.transition(S.ACTIVE)
    it.transition(S.PAUSED)
    with pytest.raises(InvalidTransition, match="paused to done"):
        it.transition(S.DONE)
    it.transition(S.QUEUED)
    it.transition(S.ACTIVE)
    it.transition(S.FAILED, "boom")
    assert it.error == "boom"
    with pytest.raises(InvalidTransition):
        it.transition(S.ACTIVE)
    it.transition(S.QUEUED)
    assert it.error is None
    it.transition(S.ACTIVE)
    it.transition(S.DONE)
    with pytest.raises(InvalidTransition):
        it.transition(S.CANCELLED)
    assert it.finished


def test_item_speed_is_smoothed_and_eta(tmp_path: Path) -> None:
    it = DownloadItem("http://h/x", tmp_path / "x", expected_size=10_000_000)
    it.transition(S.ACTIVE)
    it.sample_speed(0.0)
    it.bytes_done = 1_000_000
    it.sample_speed(1.0)
    assert it.speed == pytest.approx(1_000_000)
    it.bytes_done += 3_000_000  # a burst of 3 MB/s
    it.sample_speed(2.0)
    assert 1_000_000 < it.speed < 3_000_000  # smoothed, not jumping
    assert it.eta == pytest.approx((10_000_000 - 4_000_000) / it.speed)
    it.transition(S.PAUSED)
    assert it.speed == 0.0
    assert it.eta is None


def test_item_json_roundtrip(tmp_path: Path) -> None:
    it = DownloadItem("http://h/x", tmp_path / "x", expected_size=5, checksum="md5:00", key="r{s}")
    it.etag, it.last_modified, it.attempts = '"e"', "Wed, 01 Jan 2014 00:00:00 GMT", 3
    back = DownloadItem.from_json(json.loads(json.dumps(it.to_json())))
    assert back.to_json() == it.to_json()


# --- queue -------------------------------------------------------------------------------


def _events(queue: DownloadQueue) -> list[tuple[object, ...]]:
    log: list[tuple[object, ...]] = []
    ev = queue.events
    for name in ("inserting", "inserted", "removing", "removed", "moving", "moved", "changed"):
        getattr(ev, name).connect(lambda *a, _n=name: log.append((_n, *a)))
    queue.state_changed.connect(lambda item, old: log.append(("state", item.state, old)))
    return log


def test_queue_add_events_and_dedup(tmp_path: Path) -> None:
    q = DownloadQueue()
    log = _events(q)
    a = q.add("http://h/SUM1/a.fits", tmp_path)
    b = q.add("http://h/SUM2/a.fits", tmp_path)
    assert log == [("inserting", 0, 1), ("inserted", 0, 1), ("inserting", 1, 1), ("inserted", 1, 1)]
    assert a.target.name == "a.fits"
    assert b.target.name == "a (2).fits"
    assert q.add("http://h/SUM1/a.fits", tmp_path) is a  # same file again: same item
    c = q.add("http://h/other", tmp_path, name="x.fits", key="rec{seg}")
    assert q.add("http://h/moved", tmp_path, key="rec{seg}") is c
    assert len(q) == 3


def test_queue_commands_emit_before_after_and_state(tmp_path: Path) -> None:
    q = DownloadQueue()
    items = [q.add(f"http://h/{i}.fits", tmp_path) for i in range(3)]
    log = _events(q)
    q.pause(items[1])
    assert log == [("changed", 1), ("state", S.PAUSED, S.QUEUED)]
    log.clear()
    q.move_item(items[2], 0)
    assert log == [("moving", 2, 0), ("moved", 2, 0)]
    assert [it.target.name for it in q] == ["2.fits", "0.fits", "1.fits"]
    q.move_item(items[2], 2)
    assert [it.target.name for it in q] == ["0.fits", "1.fits", "2.fits"]
    q.resume(items[1])
    q.cancel(items[0])
    assert items[0].state is S.CANCELLED
    q.retry(items[0])
    assert items[0].state is S.QUEUED
    log.clear()
    q.remove_item(items[1])
    assert ("removing", 1, 1) in log
    assert ("removed", 1, 1) in log
    assert items[1].state is S.CANCELLED
    assert len(q) == 2


def test_queue_respects_global_and_per_host_caps(tmp_path: Path) -> None:
    q = DownloadQueue(limits=ConcurrencyLimits(total=3, per_host=2))
    a = [q.add(f"http://a.example/{i}", tmp_path) for i in range(4)]
    b = [q.add(f"http://b.example/{i}", tmp_path) for i in range(2)]
    started = []
    while (it := q.next_runnable()) is not None:
        q.set_state(it, S.ACTIVE)
        started.append(it)
    assert started == [a[0], a[1], b[0]]
    q.set_state(a[0], S.DONE)
    assert q.next_runnable() is a[2]  # one slot free; host a has room again
    q.move_item(a[3], 0)
    assert q.next_runnable() is a[3]  # reordering changes priority
    q.set_state(a[3], S.ACTIVE)
    assert q.next_runnable() is None  # total cap reached
    with pytest.raises(ValueError, match="at least 1"):
        ConcurrencyLimits(total=0)


def test_queue_totals(tmp_path: Path) -> None:
    q = DownloadQueue()
    a = q.add("http://h/a", tmp_path, expected_size=100)
    b = q.add("http://h/b", tmp_path, expected_size=300)
    a.bytes_done, b.bytes_done = 50, 150  # a partial file found on disk, say: announced
    q.notify_item(a)
    q.notify_item(b)
    t = q.totals()
    assert (t.count, t.queued, t.bytes_done, t.bytes_total) == (2, 2, 200, 400)
    q.add("http://h/c", tmp_path)
    assert q.totals().bytes_total is None


# --- store and catalogue --------------------------------------------------------------------


def test_store_roundtrip_active_comes_back_queued(tmp_path: Path) -> None:
    store = QueueStore.in_data_dir(tmp_path)
    q = DownloadQueue()
    a = q.add("http://h/a", tmp_path / "dl", expected_size=10)
    b = q.add("http://h/b", tmp_path / "dl")
    q.set_state(a, S.ACTIVE)
    q.pause(b)
    store.save(list(q))
    loaded = store.load()
    assert [it.id for it in loaded] == [a.id, b.id]
    assert [it.state for it in loaded] == [S.QUEUED, S.PAUSED]
    raw = json.loads(store.path.read_text())
    assert raw["format_version"] == 1
    assert not [p for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]


def test_store_refuses_newer_and_corrupt(tmp_path: Path) -> None:
    store = QueueStore(tmp_path / "q.json")
    assert store.load() == []
    store.path.write_text(json.dumps({"format_version": 99, "items": []}))
    with pytest.raises(QueueStoreError, match="newer"):
        store.load()
    store.path.write_text("{not json")
    with pytest.raises(QueueStoreError, match="corrupt"):
        store.load()
    store.path.write_text(json.dumps({"format_version": 1, "items": [{"url": "x"}]}))
    with pytest.raises(QueueStoreError, match="corrupt"):
        store.load()


def test_catalog_entries_count_only_while_file_exists(tmp_path: Path) -> None:
    cat = Catalog.in_data_dir(tmp_path)
    f = tmp_path / "f.fits"
    f.write_bytes(b"12345")
    cat.record("hmi.x[1]{image}", f, 5, "http://h/f.fits")
    assert cat.dirty
    cat.flush()
    assert not cat.dirty
    again = Catalog.in_data_dir(tmp_path)
    entry = again.lookup("hmi.x[1]{image}")
    assert entry is not None
    assert entry.path == f
    assert entry.size == 5
    f.write_bytes(b"123")  # changed on disk: no longer trusted
    assert again.lookup("hmi.x[1]{image}") is None
    os.unlink(f)
    assert again.lookup("hmi.x[1]{image}") is None
    again.path.write_text(json.dumps({"format_version": 2, "entries": []}))
    with pytest.raises(CatalogError, match="newer"):
        Catalog(again.path)


def test_queue_add_known_to_catalog_is_done(tmp_path: Path) -> None:
    cat = Catalog.in_data_dir(tmp_path / "data")
    f = tmp_path / "old" / "f.fits"
    f.parent.mkdir()
    f.write_bytes(b"abc")
    cat.record("rec{seg}", f, 3)
    q = DownloadQueue(catalog=cat)
    it = q.add("http://h/f.fits", tmp_path / "old", key="rec{seg}")
    assert it.state is S.DONE
    assert it.target == f
    assert it.bytes_done == 3
    # in another folder the file is not reported where it is not: the item is queued there
    # (the engine links or copies the catalogued file, see test_download_engine)
    other = DownloadQueue(catalog=cat).add("http://h/f.fits", tmp_path / "new", key="rec{seg}")
    assert other.state is S.QUEUED
    assert other.target == tmp_path / "new" / "f.fits"


def test_server_checksum_headers() -> None:
    import base64
    import hashlib

    import httpx

    from jsocdesk.core.download.engine import _server_checksum

    data = b"solar data"
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    assert _server_checksum(httpx.Headers({"Repr-Digest": f"sha-256=:{sha}:"})) == (
        "sha256:" + hashlib.sha256(data).hexdigest()
    )
    assert _server_checksum(httpx.Headers({"Digest": f"MD5={md5}"})) == (
        "md5:" + hashlib.md5(data).hexdigest()
    )
    assert _server_checksum(httpx.Headers({"Digest": "crc32c=abc"})) is None
    assert _server_checksum(httpx.Headers({"Digest": "sha-256=!!notbase64"})) is None
    assert _server_checksum(httpx.Headers({})) is None


# Format 1 files exactly as jsocdesk 0.1 writes them: they must keep loading.
QUEUE_V1 = """{
 "format_version": 1,
 "items": [
  {"id": "4f1c", "url": "http://jsoc.stanford.edu/SUM9/D1/S0/a.fits",
   "target": "/data/a.fits", "expected_size": 1000, "checksum": null,
   "key": "hmi.m_45s[2014.01.01_00:00:45_TAI][2]{magnetogram}|fits", "state": "active",
   "bytes_done": 500, "total": 1000, "error": null, "attempts": 1,
   "etag": "\\"5f-3e8\\"", "last_modified": "Wed, 01 Jan 2014 00:00:00 GMT"},
  {"id": "77aa", "url": "http://jsoc.stanford.edu/SUM9/D1/S0/b.fits",
   "target": "/data/b.fits", "expected_size": null, "checksum": "md5:00",
   "key": null, "state": "failed", "bytes_done": 0, "total": null,
   "error": "HTTP 404 Not Found", "attempts": 1, "etag": null, "last_modified": null}
 ]
}"""

CATALOG_V1 = """{
 "format_version": 1,
 "entries": [
  {"key": "hmi.v_45s[2014.01.01_00:00:00_TAI][2]{Dopplergram}", "path": "PATH",
   "size": 3, "url": "http://jsoc.stanford.edu/SUM58/D8/S8/Dopplergram.fits",
   "completed": 1764000000.0}
 ]
}"""


def test_queue_format_v1_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "queue.json"
    path.write_text(QUEUE_V1)
    a, b = QueueStore(path).load()
    assert (a.state, a.total, a.etag, a.attempts) == (S.QUEUED, 1000, '"5f-3e8"', 1)
    assert a.part_path == Path("/data/a.fits.part")
    assert (b.state, b.error, b.checksum) == (S.FAILED, "HTTP 404 Not Found", "md5:00")
    q = DownloadQueue([a, b])
    assert q.find("77aa") is b


def test_catalog_format_v1_still_loads(tmp_path: Path) -> None:
    f = tmp_path / "Dopplergram.fits"
    f.write_bytes(b"abc")
    path = tmp_path / "catalog.json"
    path.write_text(CATALOG_V1.replace("PATH", str(f)))
    entry = Catalog(path).lookup("hmi.v_45s[2014.01.01_00:00:00_TAI][2]{Dopplergram}")
    assert entry is not None
    assert (entry.path, entry.size) == (f, 3)


def test_queue_running_figures_match_a_full_pass(tmp_path: Path) -> None:
    """The queue keeps its totals, idle flag and queued order incrementally: after random
    operations they equal what a pass over every item gives."""
    rng = random.Random(7)
    q = DownloadQueue(limits=ConcurrencyLimits(total=3, per_host=2))
    legal = {
        S.QUEUED: [S.ACTIVE, S.PAUSED, S.CANCELLED],
        S.ACTIVE: [S.QUEUED, S.DONE, S.FAILED, S.PAUSED],
        S.PAUSED: [S.QUEUED, S.CANCELLED],
        S.FAILED: [S.QUEUED],
        S.CANCELLED: [S.QUEUED],
        S.DONE: [S.QUEUED],
    }
    for step in range(600):
        op = rng.random()
        if op < 0.25 or not len(q):
            size = rng.choice([None, 100, 250])
            q.add(f"http://h{step % 3}/f{step}", tmp_path, expected_size=size)
        elif op < 0.8:
            it = q[rng.randrange(len(q))]
            new = rng.choice(legal[it.state])
            if new is S.ACTIVE and q.next_runnable() is None:
                continue
            q.set_state(it, new)
            if new is S.ACTIVE:
                it.bytes_done = rng.randrange(0, 100)  # moving figures of a running item
        elif op < 0.9:
            q.move_item(q[rng.randrange(len(q))], rng.randrange(len(q)))
        else:
            q.remove_item(q[rng.randrange(len(q))])
        t = q.totals()
        live = [it for it in q if it.state is not S.CANCELLED]
        sizes = [it.size_hint for it in live]
        assert t.bytes_done == sum(it.bytes_done for it in live)
        assert t.bytes_total == (None if None in sizes else sum(s or 0 for s in sizes))
        assert (t.queued, t.active, t.done) == (
            sum(it.state is S.QUEUED for it in q),
            sum(it.state is S.ACTIVE for it in q),
            sum(it.state is S.DONE for it in q),
        )
        assert q.idle == (not any(it.state in (S.QUEUED, S.ACTIVE) for it in q))
        first = next((it for it in q if it.state is S.QUEUED), None)
        if first is not None and t.active < 3:
            per_host = [x.host for x in q if x.state is S.ACTIVE]
            if per_host.count(first.host) < 2:
                assert q.next_runnable() is first
