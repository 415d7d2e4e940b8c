"""Record-set evaluation and synthetic keyword values (no server needed)."""

from __future__ import annotations

import pytest

from jsocdesk.demo import records as R

V45_HOUR = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"


def count(text: str) -> int:
    return sum(s.count() for s in R.select(text))


def values(text: str, key: str) -> list[str]:
    out = []
    for sel in R.select(text):
        gen = R.KeywordGen(sel.series)
        out += [gen.value(r, key) for r in sel]
    return out


@pytest.mark.parametrize(
    ("spec", "n"),
    [
        (V45_HOUR, 81),
        ("hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI@600.0s]", 7),
        ("aia.lev1_euv_12s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]", 2107),
        ("hmi.sharp_720s[][2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]", 61),
        ("hmi.sharp_720s[4864][2014.11.30_00:00_TAI]", 1),
        ("hmi.sharp_cea_720s[3604]", 1223),
        ("hmi.v_45s[2013.07.03_08:42_TAI/3m]", 4),
        ("hmi.V_45s[2013.07.03_08:42_TAI/4m]", 5),
        ("hmi.B_720s[2013.07.03_08:42_TAI/40m]", 3),
        ("hmi.v_sht_2drls[2024.09.19_00:00:00_TAI]", 3),
        ("hmi.M_720s[2011.04.14_00:30:00_TAI/6h@2h]", 3),
        ("hmi.synoptic_mr_720s[2150]", 1),
        ("aia.lev1_euv_12s[2025-01-01T04:33:30.000/1m@12s][171]", 5),
        ("aia.lev1_euv_12s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI][304]", 301),
        ("aia.lev1_euv_12s[2014.01.01_00:00:35_TAI/1m][171,193]", 10),
        ("aia.lev1_euv_12s[2014.01.01_00:00:35_TAI/1m][100-200]", 15),
        ("hmi.M_45s[2014.01.01_00:00:35_TAI-2014.01.01_00:00:45_TAI@90.0s][? QUALITY='0' ?]", 1),
        ("hmi.M_45s[2014.01.01_00:00:35_TAI/1h][2]{magnetogram}", 80),
        ("hmi.M_45s[2014.01.01_00:00:35_TAI/1h][1]", 0),
        (
            "hmi.sharp_720s[][2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"
            "[? bitmap_bzero='0' AND continuum_bscale>'0' ?]",
            61,
        ),
        (
            "hmi.sharp_720s[][2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI][? bitmap_bzero>0 ?]",
            0,
        ),
        (f"{V45_HOUR},{V45_HOUR}", 162),
        ("HMI.V_45S[2014.01.01_00:00:35_TAI/45s]", 1),
        ("hmi.v_45s[2014-01-01T00:00:00/90s]", 2),
        ("iris.lev1[2014.01.01_00:00:00_TAI/1m]", 6),
        ("aia.lev1[2014.01.01_00:00:00_TAI/1m]", 40),
        ("aia.lev1[][100-109]", 10),
        ("aia.response[][171_THIN]", 3),
        ("hmi.v_45s[:#2575122,#2575123]", 2),
        ("mdi.fd_v[2000.01.01_00:00:00_TAI/1h]", 60),
        ("mdi.fd_v[2020.01.01_00:00:00_TAI/1h]", 0),
        ("aia.lev1_euv_12s[2014.01.01_00:00:35_TAI/1m][? WAVELNTH=171 OR WAVELNTH=193 ?]", 10),
        (
            "aia.lev1_euv_12s[2014.01.01_00:00:35_TAI/1m][? NOT (WAVELNTH=171 OR WAVELNTH=193) ?]",
            25,
        ),
        (
            "aia.lev1_euv_12s[2014.01.01_00:00:35_TAI/1m]"
            "[? (WAVELNTH > 100 AND WAVELNTH < 200) OR INSTRUME = 'AIA_4' ?]",
            25,
        ),
    ],
)
def test_counts(spec: str, n: int) -> None:
    assert count(spec) == n
    assert sum(1 for s in R.select(spec) for _ in s) == n


def test_first_records_and_keywords_match_the_sunpy_guide() -> None:
    assert values(V45_HOUR, "T_REC")[:2] == ["2014.01.01_00:00:45_TAI", "2014.01.01_00:01:30_TAI"]
    assert values(V45_HOUR, "T_REC")[-1] == "2014.01.01_01:00:45_TAI"
    assert values(V45_HOUR, "T_OBS")[0] == "2014.01.01_00:00:37_TAI"
    assert values(V45_HOUR, "DATE__OBS")[0] == "2013-12-31T23:59:39.20Z"
    assert set(values(V45_HOUR, "INSTRUME")) == {"HMI_FRONT2"}
    assert set(values(V45_HOUR, "WAVELNTH")) == {"6173.0"}
    assert set(values(V45_HOUR, "CAR_ROT")) == {"2145"}
    assert all(q.startswith("0x") and len(q) == 10 for q in values(V45_HOUR, "QUALITY"))
    sample = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI@600.0s]"
    assert values(sample, "T_REC") == [
        "2014.01.01_00:00:45_TAI",
        "2014.01.01_00:10:30_TAI",
        "2014.01.01_00:20:15_TAI",
        "2014.01.01_00:30:00_TAI",
        "2014.01.01_00:39:45_TAI",
        "2014.01.01_00:49:30_TAI",
        "2014.01.01_00:59:15_TAI",
    ]
    aia = "aia.lev1_euv_12s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"
    assert values(aia, "T_REC")[0] == "2014-01-01T00:00:01Z"
    assert values(aia, "T_REC")[-1] == "2014-01-01T01:00:01Z"
    assert values(aia, "INSTRUME")[:7] == [
        "AIA_4",
        "AIA_1",
        "AIA_3",
        "AIA_2",
        "AIA_2",
        "AIA_4",
        "AIA_1",
    ]
    sharp = "hmi.sharp_720s[][2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"
    assert set(values(sharp, "INSTRUME")) == {"HMI_SIDE1"}
    assert values(sharp, "T_REC")[:2] == ["2014.01.01_00:00:00_TAI", "2014.01.01_00:12:00_TAI"]


def test_crlt_obs_anchor() -> None:
    got = [float(v) for v in values("hmi.v_45s[2013.07.03_08:42_TAI/3m]", "CRLT_OBS")]
    assert len(got) == 4
    assert all(abs(v - 3.14159) < 1e-4 for v in got)


def test_record_specs_echo_canonical_case_and_invert() -> None:
    sel = R.select("hmi.v_45s[2016.04.01_00:00:00_TAI]")[0]
    (rec,) = list(sel)
    assert rec.spec() == "hmi.V_45s[2016.04.01_00:00:00_TAI][2]"
    path = R.segment_path(rec, "Dopplergram.fits")
    back = R.record_from_path(path.lstrip("/"))
    assert back is not None
    assert back[0].spec() == rec.spec()
    assert back[1] == "Dopplergram.fits"
    assert R.record_from_path("SUM1/D1/S00000/x.fits") is None


def test_deterministic_values() -> None:
    a = values("hmi.sharp_720s[4864]", "USFLUX")
    b = values("hmi.sharp_720s[4864]", "USFLUX")
    assert a == b
    assert len(set(a)) > 1


def test_unknown_keyword_prints_invalid_keylink() -> None:
    assert set(values("hmi.v_45s[2013.07.03_08:42_TAI/3m]", "foo")) == {"Invalid KeyLink"}


@pytest.mark.parametrize(
    "bad",
    [
        "hmi.v_45s[2014.01.01_00:00:35_TAI",
        "hmi.v_45s[notatime]",
        "hmi.v_45s[2014.01.01/xx]",
        "hmi.v_45s[][][][]",
        "hmi.v_45s[? nosuchkey > 3 ?]",
        "hmi.v_45s[? QUALITY > ?]",
        "hmi.v_45s[? QUALITY = 0 OR ?]",
        "hmi.v_45s[? (QUALITY = 0 ?]",
        "hmi.v_45s[? foo = 1 OR QUALITY = 0 ?]",
        "",
        "[2014]",
    ],
)
def test_malformed_record_sets(bad: str) -> None:
    with pytest.raises(R.RecordSetError):
        R.select(bad)


def test_unknown_series() -> None:
    with pytest.raises(R.UnknownSeries):
        R.select("foo")


def test_large_set_is_lazy() -> None:
    (sel,) = R.select("hmi.v_45s[2010.05.01_00:00:00_TAI-2024.01.01_00:00:00_TAI]")
    assert sel.count() > 9_000_000
    it = iter(sel)
    assert next(it).spec() == "hmi.V_45s[2010.05.01_00:00:00_TAI][2]"


def test_first_and_last() -> None:
    (first,) = R.select("hmi.v_45s[^]")
    assert next(iter(first)).spec().startswith("hmi.V_45s[2010.04.30_19:00:00_TAI]")
    (last,) = R.select("hmi.v_45s[$]")
    assert last.count() == 1


def test_missing_images_print_missing_and_flag_quality() -> None:
    (sel,) = R.select("hmi.v_45s[2014.01.01_00:00:00_TAI/1d]")
    gen = R.KeywordGen(sel.series)
    missing = [r for r in sel if gen.missing_image(r)]
    assert missing, "some records of a day have no image"
    r = missing[0]
    assert gen.value(r, "QUALITY") == "0x80000000"
    assert gen.value(r, "DATAMEAN") == "MISSING"
    assert gen.value(r, "T_REC") != "MISSING"
