"""url-tar archives: safe unpacking by the engine, and restoring ``done`` items whose files
are gone (against the demo server over loopback)."""

from __future__ import annotations

import io
import tarfile
import threading
from pathlib import Path

import pytest

from jsocdesk.core.download import (
    Catalog,
    DownloadEngine,
    DownloadItem,
    DownloadQueue,
    DownloadState,
    QueueStore,
    catalog_key,
)
from jsocdesk.core.download.unpack import UnpackError, unpack_tar
from jsocdesk.core.jsoc.client import JsocClient
from jsocdesk.core.jsoc.export import ExportJob
from jsocdesk.demo.server import DemoServer
from tests.core.test_client_transport import with_client
from tests.core.test_download_engine import options, payload, put, run
from tests.core.test_export_lifecycle import FAST, V45
from tests.demo_server import DEMO_EMAIL

S = DownloadState


def tar_bytes(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o644
    return info


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def test_url_tar_export_unpacks_into_the_server_files(
    demo_server: DemoServer, tmp_path: Path
) -> None:
    async def export(c: JsocClient) -> ExportJob:
        job = ExportJob(V45, DEMO_EMAIL, method="url-tar", protocol="fits")
        await job.run(c, FAST)
        return job

    job = with_client(demo_server, export)
    assert job.tar_url.endswith(".tar")
    names = [f.filename.rsplit("/", 1)[-1] for f in job.files]
    assert len(names) == 5
    keys = {
        n: catalog_key(f.record, f.filename, job.protocol)
        for n, f in zip(names, job.files, strict=True)
    }
    out = tmp_path / "out"
    catalog = Catalog.in_data_dir(tmp_path / "data")
    store = QueueStore.in_data_dir(tmp_path / "data")
    q = DownloadQueue(catalog=catalog)
    item = q.add(job.tar_url, out, unpack=True, member_keys=keys)
    run(DownloadEngine(q, options=options(), store=store, catalog=catalog).run_until_idle())

    assert item.state is S.DONE, item.error
    assert item.error is None
    assert sorted(p.name for p in out.iterdir()) == sorted(names)  # no tar, no .part left
    for name in names:
        (served,) = [p for p in demo_server.data_dir.rglob(name) if p.is_file()]
        assert (out / name).read_bytes() == served.read_bytes()
    assert sorted(item.extracted) == sorted((n, (out / n).stat().st_size) for n in names)

    # the catalogue knows every member: a new queue finds them done, no transfer needed
    again = Catalog.in_data_dir(tmp_path / "data")
    for name, key in keys.items():
        entry = again.lookup(key)
        assert entry is not None
        assert entry.path == out / name
    # the restored queue keeps the archive item done although the tar itself is gone
    (restored,) = store.load()
    assert (restored.state, restored.unpack, restored.member_keys) == (S.DONE, True, keys)
    assert restored.extracted == item.extracted


def test_hostile_tar_extracts_nothing_outside_and_reports(
    demo_server: DemoServer, tmp_path: Path
) -> None:
    good, nested, dup = payload(70_000, 1), payload(5_000, 2), payload(3_000, 3)
    data = tar_bytes(
        [
            (member("good.fits"), good),
            (member("sub/dir/nested.txt"), nested),
            (member("../escape.txt"), b"evil"),
            (member("a/../../escape2.txt"), b"evil"),
            (member("/tmp/absolute.txt"), b"evil"),
            (member("link", tarfile.SYMTYPE, "/etc/passwd"), None),
            (member("hard", tarfile.LNKTYPE, "good.fits"), None),
            (member("dev", tarfile.CHRTYPE), None),
            (member("fifo", tarfile.FIFOTYPE), None),
            (member("subdir/", tarfile.DIRTYPE), None),
            (member("exists.fits"), dup),
            (member("..hidden.fits"), b"dots"),
        ]
    )
    url = put(demo_server, "hostile.tar", data)
    root = tmp_path / "root"
    out = root / "out"
    out.mkdir(parents=True)
    (out / "exists.fits").write_bytes(b"mine")
    q = DownloadQueue()
    item = q.add(url, out, unpack=True)
    run(DownloadEngine(q, options=options()).run_until_idle())

    assert item.state is S.DONE, item.error
    assert files_under(root) == {
        out / "good.fits",
        out / "nested.txt",
        out / "exists.fits",
        out / "exists (2).fits",
        out / "hidden.fits",
    }
    assert (out / "good.fits").read_bytes() == good
    assert (out / "nested.txt").read_bytes() == nested
    assert (out / "exists.fits").read_bytes() == b"mine"  # never overwritten
    assert (out / "exists (2).fits").read_bytes() == dup
    assert not (tmp_path / "escape.txt").exists()
    assert not Path("/tmp/absolute.txt").exists()
    assert item.error is not None
    assert item.error.startswith("skipped 7 unsafe archive members")
    for bad in ("../escape.txt", "/tmp/absolute.txt", "symbolic link", "hard link"):
        assert bad in item.error
    assert "and 2 more" in item.error  # device and FIFO, beyond the five shown


def test_unpack_reports_each_reason(tmp_path: Path) -> None:
    archive = tmp_path / "x.tar"
    archive.write_bytes(
        tar_bytes(
            [
                (member("dev", tarfile.BLKTYPE), None),
                (member("fifo", tarfile.FIFOTYPE), None),
                (member("C:/win.txt"), b"w"),
                (member("ok"), b"fine"),
            ]
        )
    )
    out = tmp_path / "out"
    out.mkdir()
    result = unpack_tar(archive, out, reserved={"ok"}, fsync=False)
    assert result.skipped == [
        ("dev", "device"),
        ("fifo", "FIFO"),
        ("C:/win.txt", "absolute path"),
    ]
    assert [(f.member, f.path.name, f.size) for f in result.files] == [("ok", "ok (2)", 4)]


def test_corrupt_tar_fails_the_item_and_keeps_nothing(
    demo_server: DemoServer, tmp_path: Path
) -> None:
    whole = tar_bytes([(member("a.fits"), payload(20_000, 4)), (member("b.fits"), payload(9000))])
    broken = whole[: 512 + 20_480 + 512 + 4000]  # a.fits complete, b.fits cut short
    url = put(demo_server, "broken.tar", broken)
    out = tmp_path / "out"
    q = DownloadQueue()
    item = q.add(url, out, unpack=True)
    run(DownloadEngine(q, options=options()).run_until_idle())

    assert item.state is S.FAILED
    assert item.error is not None
    assert item.error.startswith("cannot unpack broken.tar")
    # the archive stays for a retry, the file extracted before the failure is removed again
    assert sorted(p.name for p in out.iterdir()) == ["broken.tar"]
    assert item.target.read_bytes() == broken


def test_cancelled_unpack_removes_its_files(tmp_path: Path) -> None:
    archive = tmp_path / "x.tar"
    archive.write_bytes(tar_bytes([(member("a"), b"a" * 10), (member("b"), b"b" * 10)]))
    out = tmp_path / "out"
    out.mkdir()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(UnpackError, match="cancelled"):
        unpack_tar(archive, out, cancel=cancel, fsync=False)
    assert list(out.iterdir()) == []


def test_keep_archives_and_catalogued_members_are_not_extracted_again(
    demo_server: DemoServer, tmp_path: Path
) -> None:
    a, b = payload(4000, 5), payload(6000, 6)
    url = put(demo_server, "two.tar", tar_bytes([(member("a.fits"), a), (member("b.fits"), b)]))
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.fits").write_bytes(a)
    catalog = Catalog.in_data_dir(tmp_path / "data")
    catalog.record("rec[1]{a}", out / "a.fits", len(a))
    q = DownloadQueue(catalog=catalog)
    keys = {"a.fits": "rec[1]{a}", "b.fits": "rec[2]{b}"}
    item = q.add(url, out, unpack=True, member_keys=keys)
    run(DownloadEngine(q, options=options(keep_archives=True), catalog=catalog).run_until_idle())

    assert item.state is S.DONE, item.error
    assert sorted(p.name for p in out.iterdir()) == ["a.fits", "b.fits", "two.tar"]
    assert item.extracted == [("b.fits", len(b))]
    entry = catalog.lookup("rec[2]{b}")
    assert entry is not None
    assert entry.path == out / "b.fits"


# --- restoring the queue ------------------------------------------------------------------


def done_item(target: Path, size: int, *, unpack: bool = False) -> DownloadItem:
    item = DownloadItem(f"http://127.0.0.1:9/{target.name}", target, unpack=unpack)
    item.state = S.DONE
    item.bytes_done = item.total = size
    return item


def test_restore_requeues_done_items_whose_files_are_gone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "kept.fits").write_bytes(b"12345")
    (out / "short.fits").write_bytes(b"123")
    (out / "m1.fits").write_bytes(b"aa")
    kept = done_item(out / "kept.fits", 5)
    gone = done_item(out / "gone.fits", 5)
    short = done_item(out / "short.fits", 5)
    tar_ok = done_item(out / "ok.tar", 100, unpack=True)
    tar_ok.extracted = [("m1.fits", 2)]
    tar_gone = done_item(out / "gone.tar", 100, unpack=True)
    tar_gone.extracted = [("m1.fits", 2), ("m2.fits", 7)]
    failed = DownloadItem("http://127.0.0.1:9/f", out / "f.fits")
    failed.state = S.FAILED
    failed.error = "HTTP 404"
    store = QueueStore(tmp_path / "queue.json")
    store.save([kept, gone, short, tar_ok, tar_gone, failed])

    loaded = {it.target.name: it for it in store.load()}
    assert (loaded["kept.fits"].state, loaded["kept.fits"].bytes_done) == (S.DONE, 5)
    assert (loaded["ok.tar"].state, loaded["ok.tar"].extracted) == (S.DONE, [("m1.fits", 2)])
    for name in ("gone.fits", "short.fits", "gone.tar"):
        it = loaded[name]
        assert (it.state, it.bytes_done, it.extracted) == (S.QUEUED, 0, []), name
    assert loaded["gone.tar"].unpack
    assert (loaded["f.fits"].state, loaded["f.fits"].error) == (S.FAILED, "HTTP 404")


def test_requeued_item_is_downloaded_again(demo_server: DemoServer, tmp_path: Path) -> None:
    data = payload(50_000, 7)
    url = put(demo_server, "again.fits", data)
    out = tmp_path / "out"
    store = QueueStore(tmp_path / "queue.json")
    q = DownloadQueue()
    item = q.add(url, out, expected_size=len(data))
    run(DownloadEngine(q, options=options(), store=store).run_until_idle())
    assert item.state is S.DONE
    item.target.write_bytes(data[:1000])  # damaged behind our back

    (restored,) = store.load()
    assert (restored.state, restored.bytes_done) == (S.QUEUED, 0)
    q2 = DownloadQueue([restored])
    run(DownloadEngine(q2, options=options(), store=store).run_until_idle())
    assert restored.state is S.DONE
    assert restored.target.read_bytes() == data


def test_item_json_round_trip_and_older_files() -> None:
    item = DownloadItem("http://x/a.tar", Path("/d/a.tar"), unpack=True, member_keys={"m": "k"})
    item.extracted = [("m", 3)]
    back = DownloadItem.from_json(item.to_json())
    assert (back.unpack, back.member_keys, back.extracted) == (True, {"m": "k"}, [("m", 3)])
    old = item.to_json()
    for field in ("unpack", "member_keys", "extracted"):
        del old[field]
    legacy = DownloadItem.from_json(old)
    assert (legacy.unpack, legacy.member_keys, legacy.extracted) == (False, {}, [])
