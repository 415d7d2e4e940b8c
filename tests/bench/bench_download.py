"""Benchmark: 4 × 256 MB from the demo server — jsocdesk engine vs parfive vs curl.

Run with ``make bench`` (never part of ``make test``).  Same run, same server child process,
same files; each client downloads all files in parallel (one connection per file), the runs
alternate ``BENCH_REPEAT`` times and the best time of each is compared.  Prints MB/s and the
ratio to parfive (goal: jsocdesk ≥ 1.0× parfive).

Variants: jsocdesk as shipped (httpx client over the aiohttp transport, writes on a worker
thread, fsync before the final rename), with httpx's own transport, without fsync (what
parfive and curl do: no durability guarantee), with inline writes on the loop thread;
parfive with one connection per file (what sunpy uses, and like-for-like) and with its
default 5 splits per file; a bare aiohttp loop (the transport alone, no resume or
verification) to tell the HTTP client's cost from the engine's; curl ``--parallel``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bench._download_common import (
    FILE_BYTES,
    FILES,
    REPEAT,
    Served,
    aiohttp_download,
    curl_download,
    jsocdesk_download,
    parfive_download,
    served,
    timed,
)

__all__ = ["served"]  # the fixture, re-exported for pytest


def _variants(s: Served) -> dict[str, Callable[[Path], float]]:
    def js(**kw: object) -> Callable[[Path], float]:
        return lambda out: timed(jsocdesk_download, s, out, **kw)

    return {
        "jsocdesk (shipped: aiohttp transport)": js(),
        "jsocdesk (httpx's own transport)": js(transport="httpx"),
        "jsocdesk (no fsync, like parfive/curl)": js(fsync=False),
        "jsocdesk (inline writes)": js(write_mode="inline"),
        "parfive (1 conn/file)": lambda out: timed(parfive_download, s, out),
        "parfive (default 5 splits/file)": lambda out: timed(
            parfive_download, s, out, max_splits=5
        ),
        "aiohttp bare loop (transport reference)": lambda out: timed(aiohttp_download, s, out),
        "curl --parallel": lambda out: timed(curl_download, s, out),
    }


@pytest.mark.timeout(1800)
def test_download_throughput(served: Served) -> None:
    total_mb = FILES * FILE_BYTES / 1e6
    variants = _variants(served)
    times: dict[str, list[float]] = {k: [] for k in variants}
    loads: list[float] = []
    for _ in range(REPEAT):
        for label, fn in variants.items():
            out = served.fresh_out("dl")
            loads.append(os.getloadavg()[0])
            times[label].append(fn(out))
            served.check(out)
            shutil.rmtree(out)
    best = {k: min(v) for k, v in times.items()}
    ref = best["parfive (1 conn/file)"]
    print(
        f"\n== download throughput: {FILES} × {FILE_BYTES // 2**20} MiB, best of {REPEAT}, "
        f"{os.cpu_count()} CPUs shared, load avg {min(loads):.1f}-{max(loads):.1f}"
    )
    print(f"{'client':42s} {'best s':>7s} {'MB/s':>6s} {'vs parfive':>10s}  all runs (s)")
    for label, t in best.items():
        runs = ", ".join(f"{x:.2f}" for x in times[label])
        print(f"{label:42s} {t:7.2f} {total_mb / t:6.0f} {ref / t:9.2f}x  {runs}")
