"""Coverage: bin choice, vectorised binning, gaps and flags, the listing from the demo."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from jsocdesk.core import coverage as cov
from jsocdesk.core import drmstime
from jsocdesk.core.jsoc.client import JsocClient
from jsocdesk.demo.server import DemoServer
from tests.core.test_client_transport import with_client

T0 = drmstime.parse_time_seconds("2014.01.01_00:00:00_TAI")
HOUR = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"


@pytest.mark.parametrize(
    ("span", "width"),
    [(600, 60), (3600, 60), (86400, 300), (30 * 86400, 7200), (365 * 86400, 86400)],
)
def test_bins_from_minutes_to_days(span: float, width: int) -> None:
    assert cov.choose_bin(span) == width
    assert span / width <= cov.TARGET_BINS


def test_labels() -> None:
    assert [cov.bin_label(s) for s in (60, 900, 7200, 86400, 7 * 86400)] == [
        "1 min",
        "15 min",
        "2 h",
        "1 d",
        "7 d",
    ]


def test_counts_gaps_flags_and_missing_images() -> None:
    times = T0 + np.array([5, 30, 65, 250, 260, 299, 400, -10, 700], dtype=np.float64)
    quality = np.array([0, 4, 0, 0, cov.NO_IMAGE_BIT | 1, 0, 0, 0, 0])
    c = cov.bin_records(times, quality, T0, T0 + 300, 60)
    assert c.n_bins == 5
    assert c.counts.tolist() == [2, 1, 0, 0, 3]  # records outside the span are ignored
    assert c.flagged.tolist() == [1, 0, 0, 0, 1]
    assert c.no_image.tolist() == [0, 0, 0, 0, 1]
    assert c.gap_runs() == [(T0 + 120, T0 + 240)]
    assert c.total == 6
    assert c.summary() == "6 records · 1 min bins · 1 gap · 2 with QUALITY ≠ 0 · 1 without image"
    assert c.edges[[0, -1]].tolist() == [T0, T0 + 300]


def test_unix_conversion_applies_leap_seconds() -> None:
    unix = cov.to_unix([T0])
    assert unix[0] == 1388534400 - 35  # 2014.01.01_00:00:00_TAI is 23:59:25 UTC
    assert cov.from_unix(unix)[0] == T0


def test_sorted_and_unsorted_listings_bin_alike() -> None:
    rng = np.random.default_rng(3)
    times = T0 + np.sort(rng.uniform(0, 3600, 5000))
    times[100:130] = T0 + 1800.0  # ties
    quality = np.where(rng.random(5000) < 0.05, cov.NO_IMAGE_BIT, 0)
    listing = cov.CoverageListing("x", 5000)
    listing.add(times[:2000], quality[:2000])
    listing.add(times[2000:], quality[2000:])
    shuffled = cov.CoverageListing("x", 5000)
    order = rng.permutation(5000)
    shuffled.add(times[order], quality[order])
    for lo, hi in [(T0, T0 + 3600), (T0 + 1799, T0 + 1800), (T0 + 600, T0 + 650)]:
        a, b = listing.coverage(lo, hi), shuffled.coverage(lo, hi)
        ref = cov.bin_records(times, quality, lo, hi)
        for c in (a, b):
            assert c.counts.tolist() == ref.counts.tolist()
            assert c.no_image.tolist() == ref.no_image.tolist()
            assert c.flagged.tolist() == ref.flagged.tolist()


def test_million_records_bin_without_python_loops() -> None:
    rng = np.random.default_rng(7)
    times = T0 + np.sort(rng.uniform(0, 86400 * 20, 1_000_000))
    quality = np.where(rng.random(1_000_000) < 0.01, 4, 0)
    c = cov.bin_records(times, quality, T0, T0 + 86400 * 20)
    assert c.total == 1_000_000
    assert c.bin_seconds == 7200
    assert 9000 < int(c.flagged.sum()) < 11000


def test_listing_of_the_seed_hour(demo_server: DemoServer) -> None:
    pages: list[int] = []

    async def body(c: JsocClient) -> cov.CoverageListing:
        return await cov.load_listing(
            c, HOUR, page=20, on_page=lambda lst, t, _q: pages.append(len(t))
        )

    listing = with_client(demo_server, body)
    assert listing.total == 81
    assert len(listing.times) == 81
    assert pages == [20, 20, 20, 20, 1]
    assert listing.quality is not None
    assert listing.span[0] == drmstime.parse_time_seconds("2014.01.01_00:00:45_TAI")
    c = cov.bin_records(listing.times, listing.quality, *listing.span)
    assert c.total == 81
    fast = listing.coverage(*listing.span)  # sorted: searchsorted, same answer
    assert fast.counts.tolist() == c.counts.tolist()


def test_listing_cancels_between_pages(demo_server: DemoServer) -> None:
    seen: list[int] = []

    async def body(c: JsocClient) -> None:
        def on_page(lst: cov.CoverageListing, _t: object, _q: object) -> None:
            seen.append(len(lst))
            if len(seen) == 2:
                task.cancel()

        task = asyncio.ensure_future(cov.load_listing(c, HOUR, page=20, on_page=on_page))
        with pytest.raises(asyncio.CancelledError):
            await task

    with_client(demo_server, body)
    assert seen == [20, 40]
