"""The demo writes what JSOC's programs write (lm-jps/drms), and the real client reads it.

Shapes checked here, each against the server source: ``json_escape()`` of every ``/``
(``base/libs/json/json.c``), compact ``rs_list`` and ``jsoc_fetch`` answers
(``json_tree_to_string``), re-indented ``series_struct`` (``json_format_string``), linked
AIA segments (``jsoc_info.c`` ``list_series_info``, ``jsoc_fetch.c`` following
``aia.lev1_euv_12s`` into ``aia.lev1``), numeric ``*recnum*``, export failures as
``{status, error}`` (``jsoc_fetch.c`` ``die()``), the no-files warning row
(``jsoc_export_as_fits.c`` → ``jsoc_export_make_index.c``) and the ``process`` argument.
"""

from __future__ import annotations

import asyncio
import json

import drms
import httpx

from jsocdesk.core.jsoc.client import JsocClient, make_http_client
from jsocdesk.core.jsoc.config import ServerConfig
from jsocdesk.core.jsoc.export import ExportJob, JobState, PollPolicy
from jsocdesk.core.jsoc.links import follow_segment_links
from jsocdesk.demo.faults import Fault
from jsocdesk.demo.server import DemoServer
from tests.demo_server import DEMO_EMAIL

AIA = "aia.lev1_euv_12s[2014.01.01_00:00:35_TAI/24s][171]"


def info_get(server: DemoServer, **params: str) -> httpx.Response:
    return httpx.get(server.cgi_url + "jsoc_info", params=params, timeout=30)


def test_rs_list_is_compact_and_escapes_every_slash(demo_server: DemoServer) -> None:
    r = info_get(
        demo_server,
        op="rs_list",
        ds="hmi.v_45s[2014.01.01_00:00:35_TAI/90s]",
        key="TELESCOP,*recnum*",
        seg="Dopplergram",
    )
    body = r.content
    assert body.startswith(b'{"keywords":[{"name":"TELESCOP","values":["SDO\\/HMI",')
    assert b'"values":["\\/SUM' in body
    assert b", " not in body
    assert b": " not in body
    d = json.loads(body)
    recnums = d["keywords"][1]["values"]
    assert all(isinstance(v, int) for v in recnums)  # json_new_number("%lld")
    assert d["segments"][0]["values"][0].startswith("/SUM")


def test_series_struct_is_reindented_and_aia_segments_are_links(demo_server: DemoServer) -> None:
    text = info_get(demo_server, op="series_struct", ds="aia.lev1_euv_12s").text
    assert text.startswith('{\n\t"note": ')
    d = json.loads(text)
    image = next(s for s in d["segments"] if s["name"] == "image")
    assert (image["protocol"], image["units"], image["dims"]) == ("link via lev1", None, None)
    assert {"name": "lev1", "target": "aia.lev1"}.items() <= d["links"][0].items()
    followed = info_get(demo_server, op="series_struct", ds="aia.lev1_euv_12s", l="1").json()
    image = next(s for s in followed["segments"] if s["name"] == "image")
    assert (image["protocol"], image["dims"]) == ("fits", "4096x4096")
    sharp = info_get(demo_server, op="series_struct", ds="hmi.sharp_720s").json()
    assert [li["name"] for li in sharp["links"]] == ["MHARP", "BHARP"]


def test_linked_files_come_from_the_linked_series(demo_server: DemoServer) -> None:
    d = info_get(demo_server, op="rs_list", ds=AIA, seg="image").json()
    paths = d["segments"][0]["values"]
    assert len(paths) == 2
    assert all(p.endswith("/image_lev1.fits") for p in paths)  # aia.lev1's target segment
    assert d["segments"][0]["dims"] == ["4096x4096", "4096x4096"]


def test_unmodified_drms_reads_the_escaped_answers(drms_jsoc: drms.ServerConfig) -> None:
    keys, segs = drms.Client(drms_jsoc).query(AIA, key="T_REC,TELESCOP", seg="image")
    assert list(keys["TELESCOP"]) == ["SDO/AIA", "SDO/AIA"]
    assert segs["image"].iloc[0].endswith("image_lev1.fits")


def test_export_failure_shape(demo_server: DemoServer) -> None:
    d = httpx.get(
        demo_server.cgi_url + "jsoc_fetch",
        params={"op": "exp_request", "ds": "hmi.nope[2014.01.01]", "notify": DEMO_EMAIL},
    ).json()
    assert set(d) == {"status", "error"}
    assert d["status"] == 4


def run_job(server: DemoServer, job: ExportJob) -> list[str]:
    cfg = ServerConfig.for_base_url(server.base_url)

    async def main() -> list[str]:
        async with make_http_client(cfg) as http:
            c = JsocClient(cfg, http)
            return await job.run(c, PollPolicy(first=0.05, cap=0.2, jitter=0.0))

    return asyncio.run(main())


def test_lost_files_give_status_0_a_warning_and_no_file(demo_server: DemoServer) -> None:
    demo_server.faults.add(Fault("files_lost", route="jsoc_fetch", match="op=exp_request"))
    job = ExportJob("hmi.M_45s[2014.01.01_00:00:45_TAI/90s]{magnetogram}", DEMO_EMAIL)
    urls = run_job(demo_server, job)
    assert job.state is JobState.DONE
    assert urls == []
    assert job.files == []
    assert "no longer exist" in job.warning
    assert "no files" in job.status_text


def test_aia_export_through_the_link_and_the_process_argument(demo_server: DemoServer) -> None:
    job = ExportJob(AIA + "{image}", DEMO_EMAIL)
    urls = run_job(demo_server, job)
    assert job.state is JobState.DONE
    assert len(urls) == 2
    assert all(u.endswith("image_lev1.fits") for u in urls)
    for u in urls:
        assert httpx.head(u).status_code == 200


def test_busy_server_is_waited_for(demo_server: DemoServer) -> None:
    demo_server.faults.add(Fault("busy", route="jsoc_info", value=503, at=0, times=2))
    cfg = ServerConfig.for_base_url(demo_server.base_url)

    async def main() -> int:
        async with make_http_client(cfg) as http:
            c = JsocClient(cfg, http)
            info = await c.series_info("aia.lev1_euv_12s")
            followed = await follow_segment_links(c, info)
            assert followed.segment("image").dims == "4096x4096"  # type: ignore[union-attr]
            return c.requests_sent

    assert asyncio.run(main()) == 4  # two 503s, then series_struct, then l=1
    assert demo_server.faults.hits["busy"] == 2
