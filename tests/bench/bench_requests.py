"""Benchmark: HTTP requests a client sends to the server for the seed's walkthrough.

Run with ``make bench`` (never part of ``make test``).  The walkthrough, from the seed (the
sunpy guide to JSOC): three searches — ``hmi.v_45s`` over 2014-01-01 00:00–01:00 UTC (81
records), the same at a 10-minute ``Sample`` (7), ``hmi.v_45s | aia.lev1_euv_12s`` over the
hour (81 + 2107) — then one export (the 7 sampled records, FITS, e-mail notified) and the
download of its files.  Each client runs in its own child process against the same demo
server, in the same run; the server logs every request it receives, and the count of each
client's requests is compared (goal: jsocdesk <= 0.5x sunpy's ``JSOCClient``).

JSOC asks its users to go easy on it; fewer requests for the same work is politeness too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from jsocdesk.demo.config import DemoConfig
from jsocdesk.demo.server import DemoServer
from tests.demo_server import DEMO_EMAIL

SUNPY_CHILD = textwrap.dedent(
    """
    import sys, tempfile
    import astropy.units as u
    import drms
    from sunpy.net import attrs as a
    from sunpy.net.jsoc import JSOCClient
    base, email, out = sys.argv[1], sys.argv[2], sys.argv[3]
    drms.config._server_configs["jsoc"] = drms.ServerConfig(
        name="JSOC", cgi_baseurl=base + "cgi-bin/ajax/", cgi_show_series="show_series",
        cgi_jsoc_info="jsoc_info", cgi_jsoc_fetch="jsoc_fetch",
        cgi_check_address="checkAddress.sh", cgi_show_series_wrapper="showextseries",
        show_series_wrapper_dbhost="hmidb2", http_download_baseurl=base)
    client = JSOCClient()
    hour = a.Time("2014-01-01T00:00:00", "2014-01-01T01:00:00")
    counts = [
        len(client.search(hour, a.jsoc.Series("hmi.v_45s"))),
        len(client.search(hour, a.jsoc.Series("hmi.v_45s"), a.Sample(10 * u.min))),
        len(client.search(hour, a.jsoc.Series("hmi.v_45s") | a.jsoc.Series("aia.lev1_euv_12s"))),
    ]
    res = client.search(hour, a.jsoc.Series("hmi.v_45s"), a.Sample(10 * u.min),
                        a.jsoc.Segment("Dopplergram"), a.jsoc.Notify(email))
    files = client.fetch(res, path=out + "/{file}", sleep=0.5, progress=False)
    assert not files.errors, files.errors
    print(counts, len(files))
    """
)

JSOCDESK_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    import astropy.units as u
    import jsocdesk.core.query as q
    from jsocdesk.core.download.engine import DownloadEngine
    from jsocdesk.core.download.queue import DownloadQueue
    from jsocdesk.core.jsoc.client import JsocClient, make_http_client
    from jsocdesk.core.jsoc.config import ServerConfig
    from jsocdesk.core.jsoc.export import ExportJob, PollPolicy
    from jsocdesk.core.jsoc.plan import compile_for_server
    from jsocdesk.core.results.resultset import ResultSet
    base, email, out = sys.argv[1], sys.argv[2], sys.argv[3]
    KEYS = ["T_REC", "TELESCOP", "INSTRUME", "WAVELNTH", "CAR_ROT"]
    hour = q.Time("2014-01-01T00:00:00", "2014-01-01T01:00:00")
    def v45():
        return q.Series("hmi.v_45s")
    queries = [
        q.And(v45(), hour),
        q.And(v45(), hour, q.Sample(10 * u.min)),
        q.And(q.Or(v45(), q.Series("aia.lev1_euv_12s")), hour),
    ]
    async def main():
        cfg = ServerConfig.for_base_url(base)
        async with make_http_client(cfg) as http:
            client = JsocClient(cfg, http)  # one client: the app keeps one per server
            counts = []
            for query in queries:
                compiled, infos = await compile_for_server(client, query)
                n = 0
                for block in compiled:
                    info = infos.get(block.series.lower())
                    keys = [k for k in KEYS if info is None or info.keyword(k) is not None]
                    rs = ResultSet(client, block.record_set, keys, series=info)
                    await rs.fetch_all()
                    n += len(rs)
                counts.append(n)
            export = q.And(v45(), hour, q.Sample(10 * u.min), q.Segment("Dopplergram"))
            (block,), _ = await compile_for_server(client, export)
            job = ExportJob(block.record_set, email, method="url", protocol="fits")
            urls = await job.run(client, PollPolicy(first=0.5, cap=2.0))
        queue = DownloadQueue()
        for url in urls:
            queue.add(url, Path(out))
        await DownloadEngine(queue).run_until_idle()
        assert all(it.state.value == "done" for it in queue), [it.error for it in queue]
        print(counts, len(urls))
    asyncio.run(main())
    """
)


def _run(code: str, server: DemoServer, out: Path) -> tuple[str, list[str]]:
    out.mkdir(parents=True, exist_ok=True)
    before = len(server.request_log)
    proc = subprocess.run(
        [sys.executable, "-c", code, server.base_url, DEMO_EMAIL, str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1], server.request_log[before:]


def _kind(line: str) -> str:
    method, target = line.split(" ", 1)
    path, _, query = target.partition("?")
    if "/cgi-bin/" in path:
        cgi = path.rsplit("/", 1)[1]
        op = next((p[3:] for p in query.split("&") if p.startswith("op=")), "")
        return f"{method} {cgi}{'?op=' + op if op else ''}"
    return f"{method} file"


@pytest.mark.timeout(1800)
def test_bench_requests_vs_sunpy(tmp_path: Path) -> None:
    pytest.importorskip("sunpy.net.jsoc", reason="sunpy is not installed")
    print()
    print("bench_requests: HTTP requests for the seed walkthrough (3 searches, 1 export, files)")
    with DemoServer(DemoConfig(data_dir=tmp_path / "demo", export_delay=1.0)) as server:
        ours_out, ours = _run(JSOCDESK_CHILD, server, tmp_path / "jsocdesk")
        theirs_out, theirs = _run(SUNPY_CHILD, server, tmp_path / "sunpy")
    assert ours_out == theirs_out, (ours_out, theirs_out)  # same records, same file count
    assert json.loads(ours_out.split("]")[0] + "]") == [81, 7, 81 + 2107]
    for title, log in (("jsocdesk", ours), ("sunpy JSOCClient", theirs)):
        print(f"  {title}: {len(log)} requests")
        for kind, n in sorted(Counter(_kind(x) for x in log).items()):
            print(f"    {n:4d}  {kind}")
    ratio = len(ours) / max(1, len(theirs))
    print(f"  requests ratio {ratio:.2f}x sunpy (goal <= 0.5)")
