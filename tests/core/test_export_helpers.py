"""Export method choice, time-range splitting and job (de)serialisation (no server)."""

from __future__ import annotations

import itertools

import pytest

from jsocdesk.core import drmstime
from jsocdesk.core.errors import ExportFailed
from jsocdesk.core.jsoc.export import (
    ExportCancelled,
    ExportJob,
    ExportTooLarge,
    JobState,
    PollPolicy,
    split_recordset,
    suggest_split,
)
from jsocdesk.core.jsoc.protocol import ExportFile, ExportStatus
from jsocdesk.core.seriesinfo import KeywordInfo, PrimeKeyInfo, SegmentInfo, SeriesInfo
from jsocdesk.core.workflow import choose_method, estimate_record_set

V45 = SeriesInfo(
    "hmi.V_45s",
    primekeys=("T_REC", "CAMERA"),
    primekeysinfo=(PrimeKeyInfo("T_REC", True, "45"), PrimeKeyInfo("CAMERA")),
    keywords=(KeywordInfo("T_REC", "time"), KeywordInfo("CAMERA", "int")),
    segments=(SegmentInfo("Dopplergram", "int", dims="4096x4096"),),
)
SHARP = SeriesInfo(
    "hmi.sharp_720s",
    segments=(SegmentInfo("continuum", dims="VARxVAR"), SegmentInfo("Log", protocol="generic")),
)


def test_method_choice() -> None:
    assert choose_method(headers=True, n_files=10).method == "url"
    assert choose_method(headers=True, n_files=10).protocol == "fits"
    raw = choose_method(headers=False, n_files=10)
    assert (raw.method, raw.protocol) == ("url_quick", "as-is")
    small = estimate_record_set(SHARP, ["continuum"], 500)
    assert small.files == 500
    assert small.file_bytes == 1e6
    tar = choose_method(headers=True, n_files=small.files, file_bytes=small.file_bytes)
    assert (tar.method, tar.protocol) == ("url-tar", "fits")
    big = estimate_record_set(V45, [], 500)
    assert big.file_bytes == 4096 * 4096 * 4
    assert big.total_bytes == 500 * 4096 * 4096 * 4
    assert (
        choose_method(headers=False, n_files=500, file_bytes=big.file_bytes).method == "url_quick"
    )
    assert estimate_record_set(SHARP, ["Log"], 1).file_bytes == 100e3
    unknown = estimate_record_set(None, [], 7)
    assert (unknown.files, unknown.total_bytes, unknown.file_bytes) == (7, None, None)


def _slots(recordset: str) -> tuple[float, float]:
    inner = recordset[recordset.index("[") + 1 : recordset.index("]")]
    a, b = inner.split("@")[0].split("_TAI-")
    return drmstime.parse_time_seconds(a + "_TAI"), drmstime.parse_time_seconds(b)


def test_split_partitions_slots_exactly() -> None:
    rs = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]{Dopplergram}"
    parts = split_recordset(rs, 3, 45.0)
    assert len(parts) == 3
    assert all(p.startswith("hmi.v_45s[") and p.endswith("]{Dopplergram}") for p in parts)
    bounds = [_slots(p) for p in parts]
    assert bounds[0][0] == drmstime.parse_time_seconds("2014.01.01_00:00:35_TAI")
    for (_, end), (start, _) in itertools.pairwise(bounds):
        assert start - end == 45.0  # next part starts one slot after the previous ends
    slots = sum(round((e - s) / 45) + 1 for s, e in bounds)
    assert slots == 81


def test_split_keeps_sampling_aligned() -> None:
    rs = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI@600.0s]"
    parts = split_recordset(rs, 2, 45.0)
    assert all(p.endswith("@600.0s]") for p in parts)
    s0, _ = _slots(parts[0])
    s1, _ = _slots(parts[1])
    assert round((s1 - s0) / 45) % 13 == 0


def test_split_without_step_uses_half_open_durations() -> None:
    parts = split_recordset("iris.lev1[2014.01.01_00:00:00_TAI/1h][1]", 4)
    assert parts[0] == "iris.lev1[2014.01.01_00:00:00_TAI/900s][1]"
    assert parts[3] == "iris.lev1[2014.01.01_00:45:00_TAI/900s][1]"
    assert split_recordset("hmi.sharp_720s[4864]", 2) == []
    assert split_recordset("x[2014.01.01_TAI/1d]", 1) == ["x[2014.01.01_TAI/1d]"]


def test_suggest_split_counts_parts_from_the_limit() -> None:
    rs = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.02_00:00:35_TAI]"
    err = "Request exceeds max byte limit of 100000MB"
    assert len(suggest_split(rs, 250_000, err, V45)) == 4
    assert len(suggest_split(rs, 0, "", None)) == 2


def test_job_round_trips_through_a_dict() -> None:
    job = ExportJob("hmi.v_45s[2014.01.01_TAI]", "demo@example.com")
    job.requestid = "JSOC_20260101_001"
    job.state = JobState.PENDING
    job.status = ExportStatus.QUEUED
    job.files = [ExportFile("r", "f.fits", "http://127.0.0.1/f.fits")]
    again = ExportJob.from_dict(job.to_dict())
    assert again.to_dict() == job.to_dict()
    # a job that was on hold or never got an id is submitted again
    held = dict(job.to_dict(), state="held")
    assert ExportJob.from_dict(held).state is JobState.NEW
    no_id = dict(job.to_dict(), requestid="")
    assert ExportJob.from_dict(no_id).state is JobState.NEW
    with pytest.raises(ValueError, match="newer"):
        ExportJob.from_dict(dict(job.to_dict(), format_version=99))
    with pytest.raises(ValueError, match="'state' 'exploded' is not a job state"):
        ExportJob.from_dict(dict(job.to_dict(), state="exploded"))
    # hostile values give a ValueError naming the field, never OverflowError/AttributeError
    for field, value in (
        ("status", float("inf")),
        ("status", 10**400),
        ("rcount", -1),
        ("files", [1, 2]),
        ("files", {"a": 1}),
        ("size_mb", float("nan")),
        ("email", "\ud800"),
        ("split", [1]),
    ):
        with pytest.raises(ValueError, match=field):
            ExportJob.from_dict(dict(job.to_dict(), **{field: value}))
    with pytest.raises(ValueError, match="expected an object"):
        ExportJob.from_dict([1])


def test_failures_raise_typed_errors() -> None:
    job = ExportJob("x[2014.01.01_TAI/1h]", "a@b.org")
    job.state, job.status, job.error = JobState.FAILED, ExportStatus.TOO_LARGE, "too big"
    job.split = ["x[a]", "x[b]"]
    with pytest.raises(ExportTooLarge) as info:
        job.raise_for_failure()
    assert info.value.split == ["x[a]", "x[b]"]
    assert "x[a]" in str(info.value)
    job.status = ExportStatus.DELETED
    with pytest.raises(ExportFailed) as failed:
        job.raise_for_failure()
    assert failed.value.status == 5
    job.state = JobState.CANCELLED
    with pytest.raises(ExportCancelled):
        job.raise_for_failure()


def test_poll_policy_backs_off_within_bounds() -> None:
    import random

    p = PollPolicy(first=1.0, factor=2.0, cap=10.0, jitter=0.0)
    rng = random.Random(1)
    assert [p.delay(i, 0.0, rng) for i in range(5)] == [1.0, 2.0, 4.0, 8.0, 10.0]
    assert p.delay(4, 3.0, rng) == 3.0  # the server's wait hint, within [first, cap]
    assert p.delay(0, 0.01, rng) == 1.0
