"""Benchmark: fetch + parse 1M records x 10 keywords, jsocdesk vs ``drms.Client.query``.

Run with ``make bench`` (never part of ``make test``).  One demo server runs in this
process; each client runs in a fresh child process (so its peak RSS is its own) against the
same record set, in the same run, alternating, ``REPEAT`` times each; the best time of each
is compared.  Prints wall time, the ratio, and the peak-RSS growth of each child over its
own baseline after imports.  Environment: ``BENCH_RECORDS`` (default 1_000_000),
``BENCH_REPEAT`` (default 2).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jsocdesk.demo.config import DemoConfig
from jsocdesk.demo.server import DemoServer

RECORDS = int(os.environ.get("BENCH_RECORDS", "1000000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "2"))
KEYS = [
    "T_REC",
    "CAMERA",
    "T_OBS",
    "QUALITY",
    "CRLT_OBS",
    "CRLN_OBS",
    "CAR_ROT",
    "DSUN_OBS",
    "DATAMEAN",
    "INSTRUME",
]
# 600 days of 45 s slots (1.15M records); n= cuts it to RECORDS
RECORD_SET = "hmi.v_45s[2012.01.01_00:00:00_TAI/600d]"

PRELUDE = """
import json, resource, sys, time
def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
"""

JSOCDESK_CHILD = PRELUDE + textwrap.dedent(
    """
    import asyncio
    from jsocdesk.core.jsoc.client import JsocClient, Timeouts, make_http_client
    from jsocdesk.core.jsoc.config import ServerConfig
    base, rs, keys, n = sys.argv[1], sys.argv[2], sys.argv[3].split(","), int(sys.argv[4])
    async def main():
        cfg = ServerConfig.for_base_url(base)
        t = Timeouts(read=600, total=1200)
        async with make_http_client(cfg, t) as http:
            client = JsocClient(cfg, http, timeouts=t)
            await client.series_info(rs.split("[")[0])
            base_rss = rss_mb()
            t0 = time.perf_counter()
            res = await client.query(rs, keys, limit=n)
            dt = time.perf_counter() - t0
            cols = res.keywords
            assert all(len(c) == n for c in cols.values()), {k: len(c) for k, c in cols.items()}
            return dt, base_rss, len(res)
    dt, base_rss, rows = asyncio.run(main())
    print(json.dumps({"seconds": dt, "base_mb": base_rss, "peak_mb": rss_mb(), "rows": rows}))
    """
)

DRMS_CHILD = PRELUDE + textwrap.dedent(
    """
    import drms
    base, rs, keys, n = sys.argv[1], sys.argv[2], sys.argv[3].split(","), int(sys.argv[4])
    cfg = drms.ServerConfig(
        name="BENCH", cgi_baseurl=base + "cgi-bin/ajax/", cgi_show_series="show_series",
        cgi_jsoc_info="jsoc_info", cgi_jsoc_fetch="jsoc_fetch",
        cgi_check_address="checkAddress.sh", cgi_show_series_wrapper="showextseries",
        show_series_wrapper_dbhost="hmidb2", http_download_baseurl=base)
    c = drms.Client(cfg)
    c.info(rs.split("[")[0])
    base_rss = rss_mb()
    t0 = time.perf_counter()
    df = c.query(rs, key=keys, n=n)
    dt = time.perf_counter() - t0
    assert len(df) == n, len(df)
    print(json.dumps({"seconds": dt, "base_mb": base_rss, "peak_mb": rss_mb(), "rows": len(df)}))
    """
)


def _run_child(code: str, base_url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", code, base_url, RECORD_SET, ",".join(KEYS), str(RECORDS)],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.timeout(3600)
def test_bench_query_vs_drms(tmp_path: Path) -> None:
    with DemoServer(DemoConfig(data_dir=tmp_path / "demo")) as server:
        ours: list[dict[str, float]] = []
        theirs: list[dict[str, float]] = []
        for _ in range(REPEAT):
            ours.append(_run_child(JSOCDESK_CHILD, server.base_url))
            theirs.append(_run_child(DRMS_CHILD, server.base_url))
    best_ours = min(ours, key=lambda r: r["seconds"])
    best_drms = min(theirs, key=lambda r: r["seconds"])
    grow_ours = max(r["peak_mb"] - r["base_mb"] for r in ours)
    grow_drms = max(r["peak_mb"] - r["base_mb"] for r in theirs)
    print()
    print(f"bench_query: {RECORDS} records x {len(KEYS)} keywords of {RECORD_SET}")
    print(f"  runs (s)   jsocdesk {[round(r['seconds'], 2) for r in ours]}")
    print(f"             drms     {[round(r['seconds'], 2) for r in theirs]}")
    print(f"  best time  jsocdesk {best_ours['seconds']:.2f} s   drms {best_drms['seconds']:.2f} s")
    print(
        f"  ratio      {best_ours['seconds'] / best_drms['seconds']:.2f}x drms' time (goal <= 0.5)"
    )
    print(
        f"  peak RSS   jsocdesk +{grow_ours:.0f} MB (peak {max(r['peak_mb'] for r in ours):.0f})"
        f"   drms +{grow_drms:.0f} MB (peak {max(r['peak_mb'] for r in theirs):.0f})"
    )
    assert best_ours["rows"] == best_drms["rows"] == RECORDS
