"""Results out: the loaded rows as an astropy Table, CSV and ECSV (read back with astropy)."""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table
from astropy.time import Time

from jsocdesk.core.jsoc.client import JsocClient
from jsocdesk.core.results.resultset import ResultSet
from jsocdesk.core.results.table import TableWriteError, format_of, result_table, save_results
from jsocdesk.demo.server import DemoServer
from tests.core.test_client_transport import with_client

V45 = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI@600.0s]"
AIA = "aia.lev1_euv_12s[2014.01.01_00:00:35_TAI-2014.01.01_00:01:35_TAI][304]"


def loaded(demo_server: DemoServer, recordset: str, keys: list[str]) -> ResultSet:
    async def body(c: JsocClient) -> ResultSet:
        info = await c.series_info(recordset.split("[")[0])
        rs = ResultSet(c, recordset, keys, series=info)
        await rs.fetch_all()
        return rs

    return with_client(demo_server, body)


def test_ecsv_keeps_units_time_scales_and_values(demo_server: DemoServer, tmp_path: Path) -> None:
    rs = loaded(demo_server, V45, ["T_REC", "CAMERA", "QUALITY", "DATAMEAN", "T_OBS"])
    assert rs.loaded == 7
    path = tmp_path / "v45.ecsv"
    assert format_of(path) == "ecsv"
    assert save_results(rs, path) == 7
    back = Table.read(path, format="ascii.ecsv")
    assert back.colnames == ["T_REC", "CAMERA", "QUALITY", "DATAMEAN", "T_OBS"]
    assert isinstance(back["T_REC"], Time)
    assert back["T_REC"].scale == "tai"
    assert back["T_REC"][0].isot == "2014-01-01T00:00:45.000"
    assert np.array_equal(back["CAMERA"], rs.column("CAMERA").values)
    assert back["DATAMEAN"].unit == u.Unit(rs.series.keyword("DATAMEAN").units)  # type: ignore[union-attr]
    assert back.meta["recordset"] == V45


def test_csv_is_plain_text_with_iso_times(demo_server: DemoServer, tmp_path: Path) -> None:
    rs = loaded(demo_server, AIA, ["T_REC", "WAVELNTH", "EXPTIME"])
    path = tmp_path / "aia.csv"
    assert save_results(rs, path) == rs.loaded
    lines = path.read_text().splitlines()
    assert lines[0] == "T_REC,WAVELNTH,EXPTIME"
    assert len(lines) == rs.loaded + 1
    assert lines[1].startswith("2014-01-01T00:00:")
    back = Table.read(path, format="ascii.csv")
    assert list(back["WAVELNTH"]) == [304] * rs.loaded


def test_rows_pick_and_order_and_missing_values_are_masked(demo_server: DemoServer) -> None:
    rs = loaded(demo_server, V45, ["T_REC", "QUALITY"])
    table = result_table(rs, rows=np.array([6, 0], dtype=np.int64))
    assert rs.text(6, "T_REC") == "2014.01.01_00:59:15_TAI"
    assert [t.isot for t in table["T_REC"]] == [
        "2014-01-01T00:59:15.000",
        "2014-01-01T00:00:45.000",
    ]
    col = rs.column("QUALITY")
    col.missing[0] = True  # a MISSING value as JSOC prints it
    masked = result_table(rs, ["QUALITY"])["QUALITY"]
    assert bool(masked.mask[0])
    assert not bool(masked.mask[1:].any())


def test_unwritable_target_is_a_typed_error(demo_server: DemoServer, tmp_path: Path) -> None:
    rs = loaded(demo_server, V45, ["T_REC"])
    (tmp_path / "a-file").write_text("")
    with pytest.raises(TableWriteError, match="cannot write"):
        save_results(rs, tmp_path / "a-file" / "x.csv")
