"""JSOC JSON → typed values: statuses, value conversion, malformed answers (no server)."""

from __future__ import annotations

import contextlib
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jsocdesk.core import drmstime
from jsocdesk.core.errors import JsocdeskError, ProtocolError, ServerError
from jsocdesk.core.jsoc.columns import ColumnKind, DrmsTime
from jsocdesk.core.jsoc.config import ServerConfig
from jsocdesk.core.jsoc.protocol import (
    ExportStatus,
    StatusCategory,
    export_status,
    parse_count,
    parse_export_response,
    parse_rs_list,
    parse_series_info,
    parse_series_list,
    scan_string_arrays,
)
from jsocdesk.core.seriesinfo import KeywordInfo, SeriesInfo

SERIES = SeriesInfo(
    "hmi.v_45s",
    keywords=(
        KeywordInfo("T_REC", "time"),
        KeywordInfo("QUALITY", "int"),
        KeywordInfo("CRLT_OBS", "double"),
        KeywordInfo("DATE__OBS", "time"),
        KeywordInfo("CAMERA", "int"),
        KeywordInfo("INSTRUME", "string"),
    ),
)


def rs_list(columns: dict[str, list[str]], **extra: object) -> dict[str, object]:
    n = len(next(iter(columns.values()))) if columns else 0
    return {
        "keywords": [{"name": k, "values": v} for k, v in columns.items()],
        "segments": [],
        "links": [],
        "count": n,
        "runtime": 0.01,
        "status": 0,
        **extra,
    }


def test_export_status_categories() -> None:
    assert ExportStatus.OK.category is StatusCategory.OK
    assert {s for s in ExportStatus if s.is_pending} == {
        ExportStatus.PROCESSING,
        ExportStatus.QUEUED,
        ExportStatus.NOT_FOUND,
        ExportStatus.TEST_QUEUED,
    }
    for s in (3, 4, 5, 7, 25):
        assert ExportStatus(s).is_failed
    assert export_status("0") is ExportStatus.OK
    with pytest.raises(ProtocolError):
        export_status(99)
    with pytest.raises(ProtocolError):
        export_status("x")


def test_values_are_converted_with_types_and_missing() -> None:
    cols = {
        "T_REC": ["2014.01.01_00:00:45_TAI", "2014.01.01_00:01:30_TAI", "MISSING"],
        "QUALITY": ["0x00000000", "0x80000400", "0x00000001"],
        "CRLT_OBS": ["3.141590", "MISSING", "-1e3"],
        "DATE__OBS": ["2013-12-31T23:59:39.20Z", "2013-12-31T23:59:39.20Z", "MISSING"],
        "CAMERA": ["2", "MISSING", "1"],
        "INSTRUME": ["HMI_FRONT2", "HMI_FRONT2", "MISSING"],
        "bogus": ["Invalid KeyLink"] * 3,
    }
    for dumps in (json.dumps, lambda d: json.dumps(d, separators=(",", ":"))):
        res = parse_rs_list(dumps(rs_list(cols)).encode(), SERIES)
        t = res.keywords["T_REC"]
        assert t.kind is ColumnKind.TIME
        assert t.zone == "TAI"
        assert t.value(0) == DrmsTime(drmstime.parse_time_seconds("2014.01.01_00:00:45_TAI"))
        assert t.text(1) == "2014.01.01_00:01:30_TAI"
        assert t.value(2) is None
        assert t.text(2) == "MISSING"
        q = res.keywords["QUALITY"]
        assert q.to_list() == [0, 0x80000400, 1]
        assert res.keywords["CRLT_OBS"].to_list() == [3.14159, None, -1000.0]
        d = res.keywords["DATE__OBS"]
        assert d.zone == "UTC"
        assert d.style == "iso"
        assert d.decimals == 2
        assert d.text(0) == "2013-12-31T23:59:39.20Z"
        # TAI-UTC in 2014 is 35 s: the same instant printed in TAI
        assert drmstime.format_tai(d.values[0], 2) == "2014.01.01_00:00:14.20_TAI"
        assert res.keywords["CAMERA"].to_list() == [2, None, 1]
        assert res.keywords["INSTRUME"].text(0) == "HMI_FRONT2"
        assert res.keywords["INSTRUME"].value(2) is None
        assert res.keywords["bogus"].kind is ColumnKind.TEXT
        assert res.keywords["bogus"].text(0) == "Invalid KeyLink"


def test_time_columns_keep_their_scale_at_the_astropy_edge() -> None:
    body = json.dumps(
        rs_list({"T_REC": ["2014.01.01_00:00:45_TAI"], "DATE__OBS": ["2014-01-01T00:00:01Z"]})
    )
    res = parse_rs_list(body.encode(), SERIES)
    tai = res.keywords["T_REC"].to_astropy()
    utc = res.keywords["DATE__OBS"].to_astropy()
    assert tai.scale == "tai"
    assert utc.scale == "utc"
    assert tai[0].isot == "2014-01-01T00:00:45.000"
    assert utc[0].isot == "2014-01-01T00:00:01.000"
    assert res.keywords["T_REC"].value(0).to_astropy().scale == "tai"  # type: ignore[union-attr]


def test_odd_time_and_number_layouts_fall_back_per_value() -> None:
    cols = {
        "T_REC": ["2014.01.01_00:00:45_TAI", "2014.01.01_00:01_TAI", "garbage"],
        "CAMERA": ["0x1F", "12", "1.5e1"],
        "CRLT_OBS": ["1", "nan?", "2.5"],
    }
    res = parse_rs_list(json.dumps(rs_list(cols)).encode(), SERIES)
    t = res.keywords["T_REC"]
    assert t.values[1] - t.values[0] == 15.0
    assert t.value(2) is None
    assert res.keywords["CAMERA"].to_list() == [31, 12, 15]
    assert res.keywords["CRLT_OBS"].to_list() == [1.0, None, 2.5]


def test_escaped_strings_take_the_json_path() -> None:
    cols = {"INSTRUME": ['say "hi"', "back\\slash", "ünï"]}
    res = parse_rs_list(json.dumps(rs_list(cols)).encode(), SERIES)
    assert res.keywords["INSTRUME"].to_list() == ['say "hi"', "back\\slash", "ünï"]


def test_strings_with_brackets_and_quotes_in_neighbours() -> None:
    d = rs_list({"INSTRUME": ["]", '"]'.strip('"'), "a]b", ""]})
    d["links"] = [{"name": "MDATA", "values": ["hmi.M_720s[2014.01.01_00:00:00_TAI]"] * 4}]
    res = parse_rs_list(json.dumps(d).encode(), SERIES)
    assert res.keywords["INSTRUME"].to_list() == ["]", "]", "a]b", ""]
    assert res.links["MDATA"].text(3) == "hmi.M_720s[2014.01.01_00:00:00_TAI]"


def test_empty_listing_has_no_columns() -> None:
    res = parse_rs_list(b'{"count":0,"runtime":0.0,"status":0}', SERIES)
    assert res.count == 0
    assert len(res) == 0
    assert res.columns == {}


def test_server_error_carries_jsocs_message() -> None:
    with pytest.raises(ServerError) as info:
        parse_rs_list(b'{"status":1,"error":" jsoc_info: series not found."}', SERIES)
    assert info.value.status == 1
    assert "series not found" in str(info.value)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>oops</html>",
        b'{"keywords": [{"name": "T_REC", "values": ["a", "b"',
        b'{"keywords": [{"name": "T_REC", "values": ["a" "b"]}], "status": 0}',
        b'{"keywords": [{"name": "T_REC", "values": ["a", "b"]}, {"name": "X", "values": ["c"]}],'
        b' "status": 0}',
        b'{"keywords": 5, "status": 0}',
        b'{"keywords": [{"values": ["a"]}], "status": 0}',
        b'{"keywords": [], "status": "zero"}',
        b'{"keywords": []}',
        b"[1, 2, 3]",
        b'{"keywords": [{"name": "T", "values": 3}], "status": 0}',
        b'{"recinfo": [{"nom": 1}], "status": 0}',
    ],
)
def test_malformed_rs_list_is_a_protocol_error(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_rs_list(body, SERIES)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash(body: bytes) -> None:
    with contextlib.suppress(JsocdeskError):
        parse_rs_list(body, SERIES)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=30))
def test_scanned_arrays_equal_json_lists(values: list[str]) -> None:
    for sep in ((", ", ": "), (",", ":")):
        body = json.dumps({"keywords": [{"name": "S", "values": values}]}, separators=sep)
        doc, arrays = scan_string_arrays(body.encode())
        raw = doc["keywords"][0]["values"]
        got = [bytes(x).decode() for x in arrays[raw]] if isinstance(raw, int) else list(raw)
        # numpy's S dtype drops trailing NULs, exactly like an empty JSON string
        assert got == [v.rstrip("\x00") if arrays else v for v in values]


def _jsoc_escaped(doc: object) -> bytes:
    """JSON as JSOC's json_escape() writes it (lm-jps/drms base/libs/json/json.c): like
    json.dumps for \\, \" and control characters, plus every '/' as '\\/', compact."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).replace("/", "\\/").encode()


_SLASHY = st.text(alphabet=st.sampled_from('ab/ -.:"\\\n\u00e9'), max_size=14)


@settings(max_examples=150, deadline=None)
@given(st.lists(_SLASHY, min_size=1, max_size=25), st.lists(_SLASHY, min_size=1, max_size=25))
def test_jsoc_escaped_arrays_equal_json_lists(values: list[str], paths: list[str]) -> None:
    """Escaped slashes (with or without other escapes, quotes and backslashes) give exactly
    what the JSON decoder gives, column by column."""
    n = min(len(values), len(paths))
    doc = {
        "keywords": [{"name": "TELESCOP", "values": values[:n]}],
        "segments": [{"name": "image", "values": paths[:n], "dims": ["4096x4096"] * n}],
        "links": [],
        "count": n,
        "status": 0,
    }
    res = parse_rs_list(_jsoc_escaped(doc), SERIES)
    got = [res.keywords["TELESCOP"].value(i) for i in range(n)]
    assert got == [v.rstrip("\x00") for v in values[:n]]
    assert [res.segments["image"].value(i) for i in range(n)] == paths[:n]


def test_jsoc_written_listing_keeps_the_fast_path() -> None:
    """``SDO\\/HMI`` and ``\\/SUM…`` paths (jsoc_info.c json_escape()s every value) are
    lifted as byte arrays, not decoded into Python lists."""
    n = 500
    doc = {
        "keywords": [
            {"name": "TELESCOP", "values": ["SDO/HMI"] * n},
            {"name": "CRLT_OBS", "values": [f"{(i - 250) * 0.731:.6f}" for i in range(n)]},
        ],
        "segments": [
            {
                "name": "image",
                "values": [f"/SUM{i % 99}/D{10**9 + i}/S00000/x.fits" for i in range(n)],
            }
        ],
        "links": [],
        "count": n,
        "status": 0,
    }
    body = _jsoc_escaped(doc)
    assert body.count(b"\\/") == n * 5
    skeleton, arrays = scan_string_arrays(body)
    assert isinstance(skeleton["keywords"][0]["values"], int)
    assert len(arrays) == 3
    res = parse_rs_list(body, SERIES)
    assert res.keywords["TELESCOP"].value(3) == "SDO/HMI"
    assert res.segments["image"].value(7) == "/SUM7/D1000000007/S00000/x.fits"
    assert res.keywords["CRLT_OBS"].value(0) == float(f"{-250 * 0.731:.6f}")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=1))
def test_fast_decimals_are_what_float_gives(xs: list[float]) -> None:
    from jsocdesk.core.jsoc.columns import ColumnKind, to_column

    texts = [f"{x:.{i % 9}f}".encode() for i, x in enumerate(xs)]
    col = to_column("X", ColumnKind.REAL, np.array(texts, dtype=np.bytes_))
    assert [col.value(i) for i in range(len(texts))] == [float(t) for t in texts]


def test_series_list_shapes() -> None:
    wrapped = {"errMsg": None, "seriesList": [{"hmi.M_45s": {"description": "magnetograms"}}]}
    assert parse_series_list(wrapped)[0].note == "magnetograms"
    assert [e.name for e in parse_series_list({"seriesList": ["a.b"], "errMsg": None})] == ["a.b"]
    plain = {"status": 0, "names": [{"name": "hmi.v_45s", "primekeys": "T_REC", "note": "V"}]}
    assert parse_series_list(plain)[0].name == "hmi.v_45s"
    with pytest.raises(ServerError):
        parse_series_list({"errMsg": "bad regex", "seriesList": []})
    with pytest.raises(ProtocolError):
        parse_series_list({"seriesList": [3]})
    with pytest.raises(ProtocolError):
        parse_series_list({"status": 0})


def test_series_info_shape() -> None:
    d = {
        "note": "Dopplergrams",
        "primekeys": ["T_REC", "CAMERA"],
        "primekeysinfo": [
            {"name": "T_REC", "slotted": 1, "step": "45"},
            {"name": "CAMERA", "slotted": 0},
        ],
        "keywords": [
            {"name": "T_REC", "type": "time", "recscope": "ts_eq", "defval": "", "units": "TAI"},
            {"name": "CAMERA", "type": "int", "units": "none", "note": "camera"},
        ],
        "segments": [{"name": "Dopplergram", "type": "int", "dims": "4096x4096"}],
        "links": [],
        "Interval": {"FirstRecord": "hmi.V_45s[2010.05.01_00:00:00_TAI][2]"},
        "status": 0,
    }
    info = parse_series_info("hmi.v_45s", d)
    assert info.name == "hmi.V_45s"
    assert info.primekeys == ("T_REC", "CAMERA")
    assert info.primekeysinfo[0].slotted
    assert info.primekeysinfo[0].step == "45"
    assert info.keyword("t_rec") is not None
    assert info.is_time_key("T_REC")
    assert info.segment_names == ["Dopplergram"]
    with pytest.raises(ProtocolError):
        parse_series_info("x", {"status": 0, "keywords": [], "segments": []})
    with pytest.raises(ServerError, match="series not found"):
        parse_series_info("x", {"status": 1, "error": "series not found"})


def test_count() -> None:
    assert parse_count({"count": 81, "status": 0}) == 81
    with pytest.raises(ProtocolError):
        parse_count({"status": 0})


def test_export_response_file_urls() -> None:
    base = "http://127.0.0.1:9/"
    quick = {
        "status": 0,
        "requestid": "",
        "method": "url_quick",
        "protocol": "as-is",
        "dir": "",
        "data": [
            {
                "record": "hmi.V_45s[2016.04.01_00:00:00_TAI][2]{Dopplergram}",
                "filename": "/SUM1/D2/S00001/Dopplergram.fits",
            },
            {"record": "x", "filename": "NoDataFile"},
        ],
    }
    r = parse_export_response(quick, base)
    assert r.urls == ["http://127.0.0.1:9/SUM1/D2/S00001/Dopplergram.fits"]
    staged = {
        "status": "0",
        "requestid": "JSOC_20140101_001",
        "method": "url",
        "protocol": "fits",
        "size": "8",
        "count": "1",
        "dir": "/SUM9/D123/S00000",
        "data": [{"record": "r", "filename": "a.fits"}],
    }
    r = parse_export_response(staged, base)
    assert r.status is ExportStatus.OK
    assert r.size_mb == 8.0
    assert r.urls == ["http://127.0.0.1:9/SUM9/D123/S00000/a.fits"]
    tar = dict(staged, method="url-tar", tarfile="/SUM9/D123/S00000/JSOC_20140101_001.tar")
    assert parse_export_response(tar, base).urls == [
        "http://127.0.0.1:9/SUM9/D123/S00000/JSOC_20140101_001.tar"
    ]
    too_big = {"status": 3, "requestid": "VOID", "size": 200000, "error": "Request exceeds"}
    r = parse_export_response(too_big, base)
    assert r.status is ExportStatus.TOO_LARGE
    assert r.requestid == ""
    assert r.error
    with pytest.raises(ProtocolError):
        parse_export_response({"status": 0, "data": [{"record": "r"}]}, base)
    with pytest.raises(ProtocolError):
        parse_export_response({"requestid": "x"}, base)


def test_server_configs() -> None:
    jsoc = ServerConfig.jsoc()
    assert jsoc.jsoc_info_url == "https://jsoc.stanford.edu/cgi-bin/ajax/jsoc_info"
    assert jsoc.check_address_url == "https://jsoc.stanford.edu/cgi-bin/ajax/checkAddress.sh"
    assert jsoc.show_series_wrapper_url.endswith("/cgi-bin/ajax/showextseries")  # type: ignore[union-attr]
    assert jsoc.verify_tls
    assert not jsoc.is_loopback
    assert ServerConfig.from_spec(None) == jsoc == ServerConfig.from_spec("JSOC")
    demo = ServerConfig.from_spec("http://127.0.0.1:8123")
    assert demo.download_base_url == "http://127.0.0.1:8123/"
    assert demo.jsoc_fetch_url == "http://127.0.0.1:8123/cgi-bin/ajax/jsoc_fetch"
    assert demo.is_loopback
    with pytest.raises(ValueError, match="not an http"):
        ServerConfig.from_spec("ftp://x")


def test_int_columns_are_int64_arrays() -> None:
    res = parse_rs_list(json.dumps(rs_list({"CAMERA": ["1", "2"]})).encode(), SERIES)
    assert res.keywords["CAMERA"].values.dtype == np.int64


def test_bytearray_bodies_parse_like_bytes() -> None:
    body = json.dumps(rs_list({"CAMERA": ["1", "2"], "INSTRUME": ["a", 'b"c']}))
    res = parse_rs_list(bytearray(body.encode()), SERIES)
    assert res.keywords["CAMERA"].to_list() == [1, 2]
    assert res.keywords["INSTRUME"].to_list() == ["a", 'b"c']
    plain = json.dumps(rs_list({"CAMERA": ["1", "2"]}))
    assert parse_rs_list(bytearray(plain.encode()), SERIES).keywords["CAMERA"].to_list() == [1, 2]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False, width=64).map(lambda x: f"{x:.6f}"),
            st.floats(-1e6, 1e6).map(lambda x: f"{x:.3f}"),
            st.integers(-(10**14), 10**14).map(str),
            st.sampled_from(["-0.0", "0", "-.5", "5.", "007", "1e5", "+3", "-", ".", "1.2.3"]),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_vectorised_numbers_equal_python_parsing(texts: list[str]) -> None:
    body = json.dumps(rs_list({"CRLT_OBS": texts, "CAMERA": texts})).encode()
    res = parse_rs_list(body, SERIES)
    for i, t in enumerate(texts):
        try:
            want: float | None = float(t)
        except ValueError:
            want = None
        got = res.keywords["CRLT_OBS"].value(i)
        assert got == want
        if want is not None:
            assert math.copysign(1, got) == math.copysign(1, want)  # type: ignore[arg-type]
        try:
            iwant: int | None = int(t, 0)
        except ValueError:
            iwant = int(want) if want is not None else None
        if iwant is not None and not -(2**63) <= iwant < 2**63:
            iwant = None  # does not fit the int64 column: missing
        assert res.keywords["CAMERA"].value(i) == iwant


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 6).flatmap(
        lambda w: st.lists(
            st.text(alphabet="ab,] [{}:x0", min_size=w, max_size=w), min_size=1, max_size=25
        )
    ),
    st.sampled_from([(", ", ": "), (",", ":"), (" ,  ", ":")]),
)
def test_uniform_width_arrays_equal_json_lists(values: list[str], seps: tuple[str, str]) -> None:
    body = json.dumps({"keywords": [{"name": "S", "values": values}], "n": 1}, separators=seps)
    doc, arrays = scan_string_arrays(body.encode())
    raw = doc["keywords"][0]["values"]
    assert [bytes(x).decode() for x in arrays[raw]] == values
    assert doc["n"] == 1


def test_uniform_arrays_followed_by_more_json() -> None:
    d = rs_list({"T_REC": ["2014.01.01_00:00:45_TAI"] * 3, "CAMERA": ["2"] * 3})
    d["segments"] = [{"name": "seg", "values": ["/SUM1/a", "/SUM1/b", "/SUM1/c"]}]
    body = json.dumps(d).encode()
    for cut in (len(body) - 1, len(body) - 40, 60):
        with pytest.raises(ProtocolError):
            parse_rs_list(body[:cut], SERIES)
    res = parse_rs_list(body, SERIES)
    assert res.segments["seg"].to_list() == ["/SUM1/a", "/SUM1/b", "/SUM1/c"]
    assert res.keywords["CAMERA"].to_list() == [2, 2, 2]
