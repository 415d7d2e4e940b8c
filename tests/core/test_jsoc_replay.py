"""The real client against answers shaped exactly as JSOC's programs write them.

Each body below is reconstructed from the server source in the public lm-jps/drms
repository (file and function named next to it) and served byte for byte over loopback by
:mod:`tests.core.jsoc_replay`; the client under test is the real :class:`JsocClient` with
its real HTTP stack.  Writer details that shape every body (``base/libs/json/json.c``):
``json_escape()`` turns every ``/`` into ``\\/``; ``json_tree_to_string()`` writes compact
text; ``json_format_string()`` (used for ``series_struct``, ``rs_summary`` and the export's
``index.json``) puts ``{``, ``}`` and ``,`` on new lines indented with tabs and writes
``": "``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import astropy.units as u
import pytest

from jsocdesk import __version__
from jsocdesk.core.download.queue import ConcurrencyLimits
from jsocdesk.core.errors import ServerError, TransportError
from jsocdesk.core.jsoc.client import (
    JsocClient,
    RetryPolicy,
    Timeouts,
    api_limits,
    make_http_client,
)
from jsocdesk.core.jsoc.columns import ColumnKind
from jsocdesk.core.jsoc.config import ServerConfig
from jsocdesk.core.jsoc.export import ExportJob, JobState, PollPolicy
from jsocdesk.core.jsoc.links import follow_segment_links
from jsocdesk.core.jsoc.polite import POLITE, is_jsoc_host, politeness_for_url
from jsocdesk.core.jsoc.protocol import ExportStatus
from jsocdesk.core.query.tree import And, Segment, Series, Time, Wavelength
from jsocdesk.core.workflow.plan import ExportMethod, estimate_record_set, make_export_plan
from tests.core.jsoc_replay import Replay, Reply, replay

T = TypeVar("T")
FAST_RETRY = RetryPolicy(attempts=4, base=0.01, cap=0.05, jitter=0.0)


def drive(server: Replay, body: Callable[[JsocClient], Awaitable[T]]) -> T:
    cfg = ServerConfig.for_base_url(server.base_url)

    async def main() -> T:
        t = Timeouts(connect=5, read=10, total=20)
        async with make_http_client(cfg, t) as http:
            client = JsocClient(cfg, http, timeouts=t, retry=FAST_RETRY, rng=random.Random(1))
            return await body(client)

    return asyncio.run(main())


# --- series_struct -------------------------------------------------------------------------

#: jsoc_info.c list_series_info(): segments of aia.lev1_euv_12s are links (not followed:
#: "type", "units": null, "protocol": "link via lev1", "dims": null; name/units/protocol are
#: not json_escape()d, notes are), links {name, target, kind, note}; a series with prime
#: keys lists them in "primekeys" and "primekeysinfo"; then json_format_string().
AIA_STRUCT = (
    b'{\n\t"note": "AIA Level 1, 12 second cadence",\n\t"retention": 10000,\n'
    b'\t"stagingretention": 3,\n\t"unitsize": 32,\n\t"archive": 1,\n\t"tapegroup": 1,\n'
    b'\t"primekeys": ["T_REC",\n\t"WAVELNTH"],\n'
    b'\t"primekeysinfo": [{\n\t\t"name": "T_REC",\n\t\t"slotted": 1,\n\t\t"step": "12"\n\t},\n'
    b'\t{\n\t\t"name": "WAVELNTH",\n\t\t"slotted": 0\n\t}],\n'
    b'\t"dbindex": ["T_REC_index",\n\t"WAVELNTH"],\n'
    b'\t"keywords": [{\n\t\t"name": "T_REC",\n\t\t"type": "time",\n\t\t"recscope": "ts_slot",\n'
    b'\t\t"defval": "-4712.01.01_11:59_TAI",\n\t\t"units": "ISO",\n'
    b'\t\t"note": "[T_REC] Slot time \\/ nominal observation time"\n\t},\n'
    b'\t{\n\t\t"name": "WAVELNTH",\n\t\t"type": "int",\n\t\t"recscope": "variable",\n'
    b'\t\t"defval": "-2147483648",\n\t\t"units": "angstrom",\n\t\t"note": "Wavelength"\n\t},\n'
    b'\t{\n\t\t"name": "TELESCOP",\n\t\t"type": "string",\n\t\t"recscope": "constant",\n'
    b'\t\t"defval": "SDO\\/AIA",\n\t\t"units": "none",\n\t\t"note": "Telescope"\n\t}],\n'
    b'\t"segments": [{\n\t\t"name": "image",\n\t\t"type": "int",\n\t\t"units": null,\n'
    b'\t\t"protocol": "link via lev1",\n\t\t"dims": null,\n\t\t"note": "AIA level 1 image"\n'
    b'\t},\n\t{\n\t\t"name": "spikes",\n\t\t"type": "int",\n\t\t"units": null,\n'
    b'\t\t"protocol": "link via lev1",\n\t\t"dims": null,\n\t\t"note": "Cosmic ray hits"\n\t}],\n'
    b'\t"links": [{\n\t\t"name": "lev1",\n\t\t"target": "aia.lev1",\n\t\t"kind": "DYNAMIC",\n'
    b'\t\t"note": "Link to the level 1 image"\n\t}],\n'
    b'\t"Interval": {\n\t\t"FirstRecord": "aia.lev1_euv_12s[2010-03-29T00:00:01Z][94]",\n'
    b'\t\t"FirstRecnum": 1,\n\t\t"LastRecord": "aia.lev1_euv_12s[2024-01-01T00:00:01Z][335]",\n'
    b'\t\t"LastRecnum": 99999999,\n\t\t"MaxRecnum": 99999999\n\t},\n'
    b'\t"runtime": 0.021,\n\t"status": 0\n}\n'
)

#: the same with l=1 (jsoc_info's "l" flag, module_args "Follow links to linked segments."):
#: drms_template_segment_followlink() gives the target template segment, listed under the
#: original name ("ART - Use original segment name").
AIA_STRUCT_FOLLOWED = AIA_STRUCT.replace(
    b'"units": null,\n\t\t"protocol": "link via lev1",\n\t\t"dims": null,\n'
    b'\t\t"note": "AIA level 1 image"',
    b'"units": "DN",\n\t\t"protocol": "fits",\n\t\t"dims": "4096x4096",\n'
    b'\t\t"note": "lev1 image fits file"',
).replace(
    b'"units": null,\n\t\t"protocol": "link via lev1",\n\t\t"dims": null,\n'
    b'\t\t"note": "Cosmic ray hits"',
    b'"units": "",\n\t\t"protocol": "fits",\n\t\t"dims": "VARxVAR",\n\t\t"note": "spikes"',
)

#: jsoc_info.c list_series_info(), series without prime keys: "else" branch inserts
#: json_new_null() into both primearray and primeinfoarray.
NO_PRIME_STRUCT = (
    b'{\n\t"note": "Calibration tables",\n\t"primekeys": [null],\n\t"primekeysinfo": [null],\n'
    b'\t"dbindex": [null],\n\t"keywords": [{\n\t\t"name": "VERSION",\n\t\t"type": "int",\n'
    b'\t\t"recscope": "variable",\n\t\t"defval": "0",\n\t\t"units": "none",\n'
    b'\t\t"note": "version"\n\t}],\n\t"segments": [],\n\t"links": [],\n\t"status": 0\n}\n'
)

#: jsoc_info.c rs_summary: count, runtime, status; json_format_string().
SUMMARY_200 = b'{\n\t"count": 200,\n\t"runtime": 0.005,\n\t"status": 0\n}\n'


def test_linked_segments_are_sized_through_the_link() -> None:
    answers = {
        ("jsoc_info", "series_struct"): [Reply(AIA_STRUCT)],
        ("jsoc_info", "rs_summary"): [Reply(SUMMARY_200)],
    }
    with replay(answers) as srv:
        # the l=1 request gets the followed description
        srv.answers[("jsoc_info", "series_struct")] = [Reply(AIA_STRUCT)]

        async def body(c: JsocClient) -> tuple[Any, ...]:
            info = await c.series_info("aia.lev1_euv_12s")
            before = estimate_record_set(info, ["image"], 1).file_bytes
            srv.answers[("jsoc_info", "series_struct")] = [Reply(AIA_STRUCT_FOLLOWED)]
            followed = await follow_segment_links(c, info)
            again = await follow_segment_links(c, info)  # cached: no new request
            query = And(
                Series("aia.lev1_euv_12s"),
                Time("2014-01-01T00:00", "2014-01-01T00:40"),
                Wavelength(171 * u.AA),
                Segment("image"),
            )
            plan = await make_export_plan(c, query, headers=True, survey_tape=False)
            return info, before, followed, again, plan.entries[0].auto

        info, before, followed, again, choice = drive(srv, body)
        structs = srv.requests("jsoc_info", "series_struct")
    image = info.segment("image")
    assert image is not None
    assert (image.protocol, image.dims, image.units) == ("link via lev1", None, None)
    assert info.primekeys == ("T_REC", "WAVELNTH")
    assert info.keyword("TELESCOP") is not None
    assert info.keyword("TELESCOP").defval == "SDO/AIA"  # type: ignore[union-attr]
    assert before is None  # an unfollowed link is "unknown", never "small"
    assert followed.segment("image").dims == "4096x4096"  # type: ignore[union-attr]
    assert again == followed
    assert estimate_record_set(followed, ["image"], 1).file_bytes == 4096 * 4096 * 4
    # 200 records x 64 MB: not the "many small files" case -> no url-tar
    assert choice.method is not ExportMethod.URL_TAR
    assert [s.param("l") for s in structs] == [None, "1"]


def test_series_without_prime_keys() -> None:
    with replay({("jsoc_info", "series_struct"): [Reply(NO_PRIME_STRUCT)]}) as srv:
        info = drive(srv, lambda c: c.series_info("aia.calibration"))
    assert info.primekeys == ()
    assert info.primekeysinfo == ()
    assert info.keyword("VERSION") is not None


# --- rs_list -------------------------------------------------------------------------------

#: jsoc_info.c rs_list (columnar branch, not -f): per keyword {"name": <as given>,
#: "values": [...]} with every value json_escape()d ("always report keyword values as
#: strings"), except *recnum* / *sunum* (json_new_number of "%lld"); per segment
#: values = json_escape()d path (drms_segment_filename of the *linked* record's segment,
#: "NoDataDirectory" offline), dims, cparms, bzeros, bscales; then count, runtime, status;
#: json_tree_to_string() (compact).  Times as DRMS prints them: TAI slot times, ISO ...Z
#: (AIA T_OBS style), sprint_ut() "_UT" (*dirmtime*).
RS_LIST = (
    b'{"keywords":[{"name":"T_REC","values":["2014-01-01T00:00:01Z","2014-01-01T00:00:13Z",'
    b'"2014-01-01T00:00:25Z"]},{"name":"T_OBS","values":["2014.01.01_00:00:36.57_TAI",'
    b'"2014.01.01_00:00:48.57_TAI","MISSING"]},{"name":"TELESCOP","values":["SDO\\/AIA",'
    b'"SDO\\/AIA","SDO\\/AIA"]},{"name":"*recnum*","values":[66981624,66981631,66981638]},'
    b'{"name":"*sunum*","values":[543210001,543210001,543210002]},{"name":"*dirmtime*",'
    b'"values":["2014.01.05_17:46:02_UT","2014.01.05_17:46:03_UT","NA"]}],'
    b'"segments":[{"name":"image","values":["\\/SUM66\\/D543210001\\/S00027\\/image_lev1.fits",'
    b'"\\/SUM66\\/D543210001\\/S00028\\/image_lev1.fits","NoDataDirectory"],'
    b'"dims":["4096x4096","4096x4096","4096x4096"],"cparms":["compress Rice",'
    b'"compress Rice","compress Rice"],"bzeros":["0","0","0"],"bscales":["1","1","1"]}],'
    b'"links":[],"count":3,"runtime":0.187,"status":0}\n'
)


def test_rs_list_as_jsoc_writes_it() -> None:
    answers = {
        ("jsoc_info", "series_struct"): [Reply(AIA_STRUCT)],
        ("jsoc_info", "rs_list"): [Reply(RS_LIST)],
    }
    with replay(answers) as srv:

        async def body(c: JsocClient) -> Any:
            return await c.query(
                "aia.lev1_euv_12s[2014.01.01/36s][171]",
                ["T_REC", "T_OBS", "TELESCOP", "*recnum*", "*sunum*", "*dirmtime*"],
                ["image"],
            )

        res = drive(srv, body)
    kw = res.keywords
    assert [kw["TELESCOP"].value(i) for i in range(3)] == ["SDO/AIA"] * 3
    assert kw["T_REC"].kind is ColumnKind.TIME
    assert kw["T_REC"].zone == "UTC"
    assert str(kw["T_REC"].value(0)) == "2014-01-01T00:00:01Z"
    assert kw["*recnum*"].kind is ColumnKind.INTEGER
    assert kw["*recnum*"].to_list() == [66981624, 66981631, 66981638]
    assert kw["*sunum*"].to_list() == [543210001, 543210001, 543210002]
    dirm = kw["*dirmtime*"]
    # *dirmtime* has no keyword info: kept as the server's text
    assert dirm.value(0) == "2014.01.05_17:46:02_UT"
    assert res.segments["image"].to_list() == [
        "/SUM66/D543210001/S00027/image_lev1.fits",
        "/SUM66/D543210001/S00028/image_lev1.fits",
        "NoDataDirectory",
    ]


# --- show_series ---------------------------------------------------------------------------


def test_show_series_bad_filter_keeps_the_servers_message() -> None:
    """show_series.c, Failure: ``printf("{\\"status\\":1,\\"errmsg\\":%s}\\n", ...)`` with
    SS_ERRORS[SS_FORMATERROR] = "Series filter format error" when regcomp() fails: the
    message is not quoted, so the body is not JSON."""
    bad = Reply(b'{"status":1,"errmsg":Series filter format error}\n')
    good = Reply(
        b'{"status":0,\n "names":[\n  {"name":"hmi.M_45s","primekeys":"T_REC, CAMERA",'
        b'"note":"magnetograms with a cadence of 45 seconds"}],\n"n":1}\n'
    )
    with replay({("show_series", "*"): [bad, good]}) as srv:
        cfg = ServerConfig.for_base_url(srv.base_url)
        cfg = ServerConfig(**{**cfg.__dict__, "show_series_wrapper_url": None})

        async def main() -> tuple[str, list[str]]:
            async with make_http_client(cfg) as http:
                c = JsocClient(cfg, http, retry=FAST_RETRY)
                with pytest.raises(ServerError) as err:
                    await c.series("hmi.(")
                return str(err.value), [e.name for e in await c.series("hmi.M_45s")]

        message, names = asyncio.run(main())
    assert "Series filter format error" in message
    assert names == ["hmi.M_45s"]


# --- exports -------------------------------------------------------------------------------

#: jsoc_fetch.c die() (JSONDIE): {"status": <cgistat>, "error": json_escape(msg)} only,
#: compact; here the exp_request branch's unknown-series message.
EXPORT_NO_SERIES = (
    b'{"status":4,"error":"Cannot export series \'hmi.nope\' - it does not exist.\\n"}\n'
)
#: jsoc_fetch.c exp_request, queued: status, requestid, method, protocol, wait, rcount, size
QUEUED = (
    b'{"status":2,"requestid":"JSOC_20140101_042","method":"url","protocol":"FITS",'
    b'"wait":10,"rcount":2,"size":67}\n'
)
#: jsoc_fetch.c status 0: the export's index.json streamed verbatim.  It is written by
#: jsoc_export_make_index.c from index.txt: header name=value pairs as json_escape()d
#: *strings* (numbers too), "keywords", "tarfile" for -tar methods, then "data" rows
#: {"record", "filename"}; json_format_string().
INDEX_DONE = (
    b'{\n\t"version": "1",\n\t"requestid": "JSOC_20140101_042",\n\t"method": "url-tar",\n'
    b'\t"protocol": "FITS",\n\t"count": "2",\n\t"size": "67",\n'
    b'\t"exptime": "2014-01-01 00:10:00",\n\t"dir": "\\/SUM9\\/D900000042\\/S00000",\n'
    b'\t"status": "0",\n\t"keywords": "**IN FITS FILES**",\n'
    b'\t"tarfile": "\\/SUM9\\/D900000042\\/S00000\\/JSOC_20140101_042.tar",\n'
    b'\t"data": [{\n\t\t"record": "hmi.M_45s[2014.01.01_00:00:45_TAI][2]",\n'
    b'\t\t"filename": "hmi.m_45s.20140101_000045_TAI.2.magnetogram.fits"\n\t},\n'
    b'\t{\n\t\t"record": "hmi.M_45s[2014.01.01_00:01:30_TAI][2]",\n'
    b'\t\t"filename": "hmi.m_45s.20140101_000130_TAI.2.magnetogram.fits"\n\t}]\n}\n'
)
#: jsoc_export_as_fits.c: no file made (tsizeMB == 0) → WritePListRecord(kPL_metadata, …,
#: "warning", "No FITS files were exported. The requested FITS files no longer exist.")
#: after "# DATA": a line without a tab, which jsoc_export_make_index.c (case 2) turns into
#: a data row whose "record" is the whole line and whose "filename" is empty.
INDEX_WARNING = (
    b'{\n\t"version": "1",\n\t"requestid": "JSOC_20140101_043",\n\t"method": "url",\n'
    b'\t"protocol": "FITS",\n\t"count": "0",\n\t"size": "0",\n'
    b'\t"exptime": "2014-01-01 00:10:00",\n\t"dir": "\\/SUM9\\/D900000043\\/S00000",\n'
    b'\t"status": "0",\n\t"keywords": "**IN FITS FILES**",\n'
    b'\t"data": [{\n\t\t"record": "warning=No FITS files were exported. The requested FITS '
    b'files no longer exist.",\n\t\t"filename": ""\n\t}]\n}\n'
)


def test_export_failure_is_status_and_error_only() -> None:
    with replay({("jsoc_fetch", "exp_request"): [Reply(EXPORT_NO_SERIES)]}) as srv:

        async def body(c: JsocClient) -> Any:
            return await c.submit_export("hmi.nope[2014.01.01]", "demo@example.com")

        resp = drive(srv, body)
        (sent,) = srv.requests("jsoc_fetch", "exp_request")
    assert resp.status is ExportStatus.FAILED
    assert resp.error.startswith("Cannot export series 'hmi.nope'")
    assert resp.requestid == ""
    # the forms jsoc_fetch.c reads (module_args / SetWebArg): requestor, process=n=...
    assert sent.param("requestor") == "demo"
    assert sent.param("requester") is None
    assert sent.param("process") == "n=0|no_op"
    assert sent.param("notify") == "demo@example.com"


def test_finished_export_index_numbers_as_strings_and_escaped_paths() -> None:
    answers = {
        ("jsoc_fetch", "exp_request"): [Reply(QUEUED)],
        ("jsoc_fetch", "exp_status"): [Reply(INDEX_DONE)],
    }
    with replay(answers) as srv:
        job = ExportJob("hmi.M_45s[2014.01.01/90s]", "demo@example.com", method="url-tar")

        async def body(c: JsocClient) -> list[str]:
            return await job.run(c, PollPolicy(first=0.01, cap=0.02, jitter=0.0))

        urls = drive(srv, body)
    assert job.state is JobState.DONE
    assert (job.size_mb, job.rcount) == (67, 2)
    assert urls == [srv.base_url + "SUM9/D900000042/S00000/JSOC_20140101_042.tar"]
    assert [f.url for f in job.files] == [
        srv.base_url + "SUM9/D900000042/S00000/hmi.m_45s.20140101_000045_TAI.2.magnetogram.fits",
        srv.base_url + "SUM9/D900000042/S00000/hmi.m_45s.20140101_000130_TAI.2.magnetogram.fits",
    ]


def test_status_0_with_a_warning_row_lists_no_file_and_says_why() -> None:
    answers = {
        ("jsoc_fetch", "exp_request"): [Reply(QUEUED.replace(b"_042", b"_043"))],
        ("jsoc_fetch", "exp_status"): [Reply(INDEX_WARNING)],
    }
    with replay(answers) as srv:
        job = ExportJob("hmi.M_45s[2014.01.01/90s]", "demo@example.com")

        async def body(c: JsocClient) -> list[str]:
            return await job.run(c, PollPolicy(first=0.01, cap=0.02, jitter=0.0))

        urls = drive(srv, body)
    assert job.state is JobState.DONE
    assert urls == []
    assert job.files == []
    assert job.warning == "No FITS files were exported. The requested FITS files no longer exist."
    assert "no files" in job.status_text
    assert "no longer exist" in job.status_text
    assert ExportJob.from_dict(job.to_dict()).warning == job.warning


# --- politeness ----------------------------------------------------------------------------


def test_busy_answers_are_retried_after_retry_after() -> None:
    """HTTP 429/503 turn the request away before the CGI runs: retried (exp_request too)."""
    busy = Reply(
        b"slow down\n", status=429, headers={"Retry-After": "0"}, content_type="text/plain"
    )
    answers = {("jsoc_fetch", "exp_request"): [busy, busy, Reply(QUEUED)]}
    with replay(answers) as srv:

        async def body(c: JsocClient) -> Any:
            return await c.submit_export("hmi.M_45s[2014.01.01/90s]", "demo@example.com")

        resp = drive(srv, body)
        sent = srv.requests("jsoc_fetch", "exp_request")
    assert resp.status is ExportStatus.QUEUED
    assert len(sent) == 3
    ua = sent[0].headers.get("User-Agent", "")
    assert ua.startswith(f"jsocdesk/{__version__}")


def test_a_retry_after_beyond_the_cap_fails_at_once_saying_so() -> None:
    busy = Reply(b"busy\n", status=503, headers={"Retry-After": "3600"}, content_type="text/plain")
    with replay({("jsoc_info", "rs_summary"): [busy]}) as srv:

        async def body(c: JsocClient) -> Any:
            with pytest.raises(TransportError) as err:
                await c.count("hmi.M_45s[2014.01.01]")
            return str(err.value)

        message = drive(srv, body)
        sent = srv.requests("jsoc_info", "rs_summary")
    assert "3600 s" in message
    assert len(sent) == 1


def test_jsoc_gets_one_connection_and_one_download_per_host() -> None:
    jsoc = ServerConfig.jsoc()
    assert is_jsoc_host("jsoc.stanford.edu")
    assert politeness_for_url(jsoc.jsoc_info_url) is POLITE
    assert api_limits(jsoc).max_connections == 1
    assert ConcurrencyLimits().limit_for("jsoc.stanford.edu:") == 1
    assert ConcurrencyLimits().limit_for("jsoc1.stanford.edu:443") == 1
    # the demo and custom servers stay fast
    local = ServerConfig.for_base_url("http://127.0.0.1:8123/")
    assert api_limits(local).max_connections > 1
    assert ConcurrencyLimits().limit_for("127.0.0.1:8123") == 2
    assert POLITE.min_poll >= 2.0


def test_polls_follow_the_servers_wait_hint() -> None:
    """jsoc_fetch.c answers a queued export with wait = EstTime - now (EstTime = request time
    + 10 s): the next poll is not sent before that."""
    policy = PollPolicy(first=2.0, factor=1.5, cap=30.0, jitter=0.0)
    rng = random.Random(0)
    assert policy.delay(0, 10.0, rng) == 10.0
    assert policy.delay(3, 10.0, rng) == 10.0
    assert policy.delay(0, 999999.0, rng) == 30.0  # bounded
    assert policy.delay(0, 0.0, rng) == 2.0
