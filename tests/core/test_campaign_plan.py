"""Campaign planning: cutting on time boundaries, counts that add up, the guard, the state."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from jsocdesk.core.campaign import (
    Block,
    Campaign,
    CampaignPlan,
    CampaignStateError,
    CampaignStore,
    CannotSplit,
    Caps,
    Chunk,
    ChunkState,
    Guard,
    Throughput,
    plan_campaign,
    split_on_times,
)
from jsocdesk.core.campaign.plan import bytes_per_record, list_times, time_key
from jsocdesk.core.jsoc.client import JsocClient
from jsocdesk.core.jsoc.export import ExportJob, JobState
from jsocdesk.core.jsoc.protocol import ExportFile
from jsocdesk.core.seriesinfo import SeriesInfo
from jsocdesk.demo.server import DemoServer
from tests.core.test_client_transport import with_client

V45_6H = "hmi.v_45s[2014.01.01_00:00:00_TAI-2014.01.01_06:00:00_TAI@600.0s]"
NO_SPAN = Caps(max_mb=1e9, max_records=10, max_span=None, margin=1.0)


# --- split_on_times (pure) --------------------------------------------------------------------


def test_split_keeps_records_of_one_instant_together() -> None:
    # 3 records at each of 10 instants (3 wavelengths); 7 per chunk → 2 instants per chunk
    times = np.repeat(np.arange(10, dtype=np.float64) * 12.0 + 1e9, 3)
    rs = "aia.lev1_euv_12s[2008.09.09_00:00:00_TAI/120s][171,193,211]"
    chunks = split_on_times(rs, times, per_chunk=7, slot=12.0)
    assert [c.records for c in chunks] == [6, 6, 6, 6, 6]
    assert sum(c.records for c in chunks) == 30
    for a, b in itertools.pairwise(chunks):
        assert a.last < b.first
    assert all(c.recordset.endswith("[171,193,211]") for c in chunks)
    assert not any(c.oversize for c in chunks)


def test_split_fits_exactly_and_flags_an_instant_too_big() -> None:
    times = np.array([0, 0, 0, 0, 10, 20, 30], dtype=np.float64) + 1e9
    rs = "x.y[2008.09.09_00:00:00_TAI/60s]"
    chunks = split_on_times(rs, times, per_chunk=3, slot=10.0)
    assert [(c.records, c.oversize) for c in chunks] == [(4, True), (3, False)]
    exact = split_on_times(rs, times[4:], per_chunk=3, slot=10.0)
    assert [c.records for c in exact] == [3]  # fits: unchanged
    assert exact[0].recordset == rs


def test_split_by_span() -> None:
    times = np.arange(0, 100 * 86400, 3600, dtype=np.float64) + 1e9
    rs = "hmi.m_720s[2008.09.09_00:00:00_TAI/100d]"
    chunks = split_on_times(rs, times, per_chunk=10**6, max_span=31 * 86400.0, slot=720.0)
    assert len(chunks) == 4
    assert all(c.last - c.first < 31 * 86400 for c in chunks)
    assert sum(c.records for c in chunks) == len(times)


def test_split_needs_a_time_range_and_times() -> None:
    times = np.arange(20, dtype=np.float64)
    with pytest.raises(CannotSplit):
        split_on_times("hmi.sharp_720s[4864]", times, per_chunk=5)
    with pytest.raises(CannotSplit):
        split_on_times("x[2014.01.01_TAI/1d]", np.array([1.0, math.nan]), per_chunk=1)
    assert split_on_times("x[2014.01.01_TAI/1d]", np.array([]), per_chunk=1)[0].records == 0


def test_caps_records_per_chunk() -> None:
    caps = Caps(max_mb=8, max_records=100, margin=1.0)
    assert caps.records_per_chunk(1.01152e6) == 7
    assert caps.records_per_chunk(100e6) == 1  # never zero
    assert caps.records_per_chunk(1.0) == 100


# --- against the demo server: chunk counts add up to the query's ------------------------------


async def _check_partition(c: JsocClient, rs: str, caps: Caps, per_record: float) -> list[int]:
    series = await c.series_info(rs.split("[", 1)[0])
    plan = await plan_campaign(c, [Block(rs, series)], caps=caps, per_record=[per_record])
    total = await c.count(rs)
    counts = [await c.count(ch.recordset) for ch in plan.chunks]
    assert [ch.records for ch in plan.chunks] == counts
    assert sum(counts) == total == plan.total_records
    # no record lost or doubled: the union of the chunks' records is the query's
    key = ["T_REC"] if series.keyword("T_REC") else ["T_OBS"]
    key += [k for k in series.primekeys if k not in key]
    whole = await c.query(rs, key)
    every = [tuple(col.text(i) for col in whole.keywords.values()) for i in range(len(whole))]
    parts: list[tuple[str, ...]] = []
    for ch in plan.chunks:
        r = await c.query(ch.recordset, key)
        parts += [tuple(col.text(i) for col in r.keywords.values()) for i in range(len(r))]
    assert sorted(parts) == sorted(every)
    assert len(set(parts)) == len(parts)
    return counts


@pytest.mark.parametrize(
    ("rs", "per_chunk"),
    [
        (V45_6H, 7),  # the 37 records at a 10-minute sample
        ("hmi.v_45s[2014.01.01_00:00:00_TAI/6h@10m]", 5),
        ("aia.lev1_euv_12s[2014-01-01T00:00:00Z/2h@1m][171,193]", 25),
        ("hmi.M_720s[2014.01.01_00:00:00_TAI/3d]", 50),
        ("iris.lev1[2014.01.01_00:00:00_TAI/2h]", 3),  # unslotted time key: half-open cuts
    ],
)
def test_chunks_partition_the_query(demo_server: DemoServer, rs: str, per_chunk: int) -> None:
    caps = Caps(max_mb=per_chunk, max_records=10**6, max_span=None, margin=1.0)
    counts = with_client(demo_server, lambda c: _check_partition(c, rs, caps, 1e6))
    assert len(counts) >= 2
    assert max(counts) <= per_chunk or "aia" in rs  # AIA: records of one instant stay together


def test_the_37_records_at_an_8_mb_cap(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> list[int]:
        return await _check_partition(
            c, V45_6H, Caps(max_mb=8, max_records=10**6, max_span=None, margin=1.0), 1.01152e6
        )

    assert with_client(demo_server, body) == [7, 7, 7, 7, 7, 2]


def test_plan_a_month_and_a_year_at_jsoc_caps(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> tuple[CampaignPlan, CampaignPlan]:
        m720 = await c.series_info("hmi.M_720s")
        aia = await c.series_info("aia.lev1_euv_12s")
        year = await plan_campaign(
            c,
            [Block("hmi.M_720s[2014.01.01_00:00:00_TAI/365d]", m720, ("magnetogram",))],
            throughput=Throughput(bytes_per_s=50e6, staging_s=600.0),
        )
        month = await plan_campaign(
            c, [Block("aia.lev1_euv_12s[2014-01-01T00:00:00Z/30d@1m][171]", aia, ("image",))]
        )
        return year, month

    year, month = with_client(demo_server, body)
    assert year.total_records == 43800
    assert sum(ch.records for ch in year.chunks) == 43800
    assert year.n_exports >= 12  # month-sized at most
    assert year.expected_seconds is not None
    assert all((ch.est_bytes or 0) <= 100_000e6 for ch in year.chunks)
    assert month.total_records == 43200
    assert sum(ch.records for ch in month.chunks) == 43200
    text = "\n".join(year.describe())
    assert "43,800 records" in text
    assert "exports" in text
    assert Guard().needs_confirmation(year)


def test_small_query_is_one_chunk_without_a_listing(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> tuple[CampaignPlan, int, int]:
        info = await c.series_info("hmi.v_45s")
        before = c.requests_sent
        plan = await plan_campaign(c, [Block(V45_6H, info)])
        return plan, before, c.requests_sent

    plan, before, after = with_client(demo_server, body)
    assert plan.n_exports == 1
    assert plan.chunks[0].recordset == V45_6H
    assert after - before == 1  # the count only
    assert not Guard().needs_confirmation(plan)


def test_listing_and_helpers(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> tuple[np.ndarray, SeriesInfo]:
        info = await c.series_info("hmi.v_45s")
        return await list_times(c, V45_6H, "T_REC"), info

    times, info = with_client(demo_server, body)
    assert len(times) == 37
    assert bool((np.diff(times) > 0).all())
    assert time_key(info) == ("T_REC", 45.0)
    from jsocdesk.core.workflow import record_bytes

    # the one size estimator of the workflow (the Exports tab's and the CLI's)
    assert bytes_per_record(info, ("Dopplergram",)) == record_bytes(info, ("Dopplergram",))
    assert time_key(None) is None
    assert bytes_per_record(None, ()) is None


def test_throughput_overlaps_staging_with_downloads() -> None:
    t = Throughput(bytes_per_s=10.0, staging_s=5.0)
    assert t.expected_seconds([100.0, 100.0, 20.0]) == 5 + 10 + 10 + 2
    assert Throughput().expected_seconds([1.0]) is None


# --- persisted state ------------------------------------------------------------------------


def _campaign(n_chunks: int, files_per_chunk: int) -> Campaign:
    chunks = []
    for i in range(n_chunks):
        job = ExportJob(f"hmi.v_45s[{i}]", "a@b.c", requestid=f"JSOC_20260101_{i:03d}")
        job.state = JobState.DONE
        job.files = [
            ExportFile(f"hmi.v_45s[{i}][{k}]{{Dopplergram}}", f"f{k}.fits", f"http://h/f{i}_{k}")
            for k in range(files_per_chunk)
        ]
        chunks.append(Chunk(f"hmi.v_45s[{i}]", files_per_chunk, est_bytes=1e6, job=job))
    chunks[0].state = ChunkState.DONE
    if n_chunks > 1:
        chunks[1].state = ChunkState.SUBMITTED
        chunks[1].attempts = 2
    return Campaign(chunks, email="a@b.c", caps=Caps(max_mb=8), bytes_per_record=1.5e6)


def test_state_round_trip(tmp_path: Path) -> None:
    store = CampaignStore(tmp_path / "c.json")
    camp = _campaign(3, 4)
    store.save(camp)
    back = store.load()
    assert back is not None
    assert back.to_dict() == camp.to_dict()
    assert back.chunks[1].state is ChunkState.SUBMITTED
    assert back.chunks[1].attempts == 2
    assert back.chunks[1].requestid == "JSOC_20260101_001"
    assert back.chunks[2].job is not None
    assert len(back.chunks[2].job.files) == 4
    assert back.caps.max_mb == 8
    assert back.bytes_per_record == 1.5e6
    assert back.totals().done == 1
    assert back.totals().files == 12


def test_state_refuses_newer_and_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    doc = _campaign(1, 1).to_dict()
    doc["format_version"] = 99
    path.write_text(json.dumps(doc))
    with pytest.raises(CampaignStateError, match="newer"):
        CampaignStore(path).load()
    path.write_text("{not json")
    with pytest.raises(CampaignStateError, match="corrupt"):
        CampaignStore(path).load()
    path.write_text(json.dumps({"format_version": 1, "email": "x", "chunks": [{"state": "z"}]}))
    with pytest.raises(CampaignStateError, match="malformed"):
        CampaignStore(path).load()
    assert CampaignStore(tmp_path / "none.json").load() is None


def test_replace_chunk_announces_and_keeps_order() -> None:
    camp = _campaign(3, 1)
    seen: list[object] = []
    camp.chunks.events.inserted.connect(lambda i, n: seen.append(("ins", i)))
    middle = camp.chunks[1]
    parts = [Chunk("a", 1), Chunk("b", 2)]
    camp.replace_chunk(middle, parts)
    assert [c.recordset for c in camp.chunks] == ["hmi.v_45s[0]", "a", "b", "hmi.v_45s[2]"]
    assert seen == [("ins", 1), ("ins", 2)]


def test_confine_to_server_drops_foreign_urls_and_follows_the_demo() -> None:
    from jsocdesk.core.campaign.workflow import confine_to_server

    camp = _campaign(3, 2)  # file URLs on http://h/...
    for c in camp.chunks:
        c.state = ChunkState.READY
    assert camp.chunks[0].job is not None
    camp.chunks[0].job.files = [
        ExportFile("r", "f", "http://127.0.0.1:4000/SUM1/x.fits"),
    ]
    assert camp.chunks[2].job is not None
    camp.chunks[2].job.files = [ExportFile("r", "f", "http://127.0.0.1:5555/SUM2/y.fits")]
    # the demo server now runs on port 5555: its old URLs follow it, the foreign host is dropped
    assert confine_to_server(camp, "http://127.0.0.1:5555/") == 2
    assert camp.chunks[0].job is not None
    assert camp.chunks[0].job.files[0].url == "http://127.0.0.1:5555/SUM1/x.fits"
    assert camp.chunks[0].state is ChunkState.READY
    assert camp.chunks[1].job is None  # http://h/... is not this server: staged again
    assert camp.chunks[1].state is ChunkState.PENDING
    assert confine_to_server(camp, "http://127.0.0.1:5555/") == 0
    # against a real server, loopback URLs are foreign too
    assert confine_to_server(camp, "https://jsoc.stanford.edu/") == 2
