"""The demo series catalogue (no server needed)."""

from __future__ import annotations

import pytest

from jsocdesk.demo import series as S


def test_catalogue_has_every_named_series_case_insensitively() -> None:
    names = {n.lower() for n in S.series_names()}
    for n in (
        "hmi.v_45s",
        "hmi.m_45s",
        "hmi.m_720s",
        "hmi.ic_720s",
        "hmi.b_720s",
        "hmi.sharp_720s",
        "hmi.sharp_cea_720s",
        "aia.lev1",
        "aia.lev1_euv_12s",
        "aia.lev1_uv_24s",
        "aia.lev1_vis_1h",
        "aia.response",
        "hmi.v_sht_2drls",
        "iris.lev1",
        "mdi.fd_v",
        "mdi.fd_m_lev182",
        "hmi.synoptic_mr_720s",
        "aia.flatfield",
        "mdi.vw_v_sht_secs_72d",
    ):
        assert n in names
    assert len(names) >= 268


def test_canonical_case_of_observables() -> None:
    hmi_m = [n for n in S.series_names() if n.lower().startswith("hmi.m_")]
    assert hmi_m == [
        "hmi.M_45s",
        "hmi.M_45s_dcon",
        "hmi.M_720s",
        "hmi.M_720s_dcon",
        "hmi.M_720s_dconS",
        "hmi.m_720s_mod",
        "hmi.m_720s_nrt",
    ]
    assert S.series_info("HMI.v_45S").name == "hmi.V_45s"


@pytest.mark.parametrize(
    ("name", "pkeys", "segments"),
    [
        ("hmi.v_45s", ("T_REC", "CAMERA"), ["Dopplergram"]),
        ("hmi.m_720s", ("T_REC", "CAMERA"), ["magnetogram"]),
        ("hmi.v_sht_2drls", ("T_START", "LMIN", "LMAX", "NDT", "NACOEFF"), ["split", "rot", "err"]),
        ("aia.lev1", ("T_REC", "FSN"), ["image_lev1", "spikes"]),
        ("aia.lev1_euv_12s", ("T_REC", "WAVELNTH"), ["image", "spikes"]),
        ("aia.response", ("T_START", "WAVE_STR"), ["response"]),
        ("iris.lev1", ("T_OBS", "FSN"), ["image_lev1"]),
        ("mdi.fd_m_lev182", ("T_REC",), ["data"]),
        ("hmi.sharp_720s", ("HARPNUM", "T_REC"), None),
    ],
)
def test_prime_keys_and_segments(
    name: str, pkeys: tuple[str, ...], segments: list[str] | None
) -> None:
    info = S.series_info(name)
    assert info.primekeys == pkeys
    for pk in pkeys:
        assert info.keyword(pk) is not None, pk
    if segments is not None:
        assert info.segment_names == segments


def test_sharp_layout_matches_jsoc() -> None:
    info = S.series_info("hmi.sharp_720s")
    assert len(info.segments) == 31
    assert info.segment_names[:4] == ["magnetogram", "bitmap", "Dopplergram", "continuum"]
    assert info.segment_names[-2:] == ["disambig", "conf_disambig"]
    assert info.keyword_names[:5] == [
        "cparms_sg000",
        "magnetogram_bzero",
        "magnetogram_bscale",
        "cparms_sg001",
        "bitmap_bzero",
    ]
    assert info.keyword_names[-2:] == ["ERRJHT", "ERRVF"]
    cont = info.segment("CONTINUUM")
    assert cont is not None
    assert (cont.type, cont.units, cont.protocol, cont.dims) == ("int", "DN/s", "fits", "VARxVAR")
    assert info.keyword("cparms_sg000") is not None


def test_slot_rules() -> None:
    v45 = S.get_series("hmi.v_45s")
    assert v45 is not None
    ax = v45.slot_axis()
    assert ax is not None
    assert (ax.step, ax.rounding) == (45.0, 45.0)
    aia = S.get_series("aia.lev1_euv_12s")
    assert aia is not None
    assert aia.slot_axis() is not None
    info = aia.info()
    assert info.primekeysinfo[0].slotted
    assert info.primekeysinfo[0].step == "12"
    assert not info.primekeysinfo[1].slotted
    b = S.get_series("hmi.b_720s")
    assert b is not None
    assert b.link("mdata") is not None


def test_unknown_series() -> None:
    with pytest.raises(KeyError):
        S.series_info("no.such_series")


def test_every_series_describes_itself_and_lists_its_first_record() -> None:
    from jsocdesk.demo import records
    from jsocdesk.demo.listing import Streamed, rs_list, series_struct

    for name in S.series_names():
        d = series_struct(name)
        assert d["status"] == 0, name
        assert d["primekeys"], name
        first = d["Interval"]["FirstRecord"]
        sels = records.select(first)
        assert sum(s.count() for s in sels) == 1, (name, first)
        out = rs_list(sels, key="**ALL**", seg="**ALL**", link="", recinfo=True, limit=1)
        assert isinstance(out, Streamed)
        body = b"".join(out.chunks)
        assert body.endswith(b',"status":0}\n'), name  # compact, as jsoc_info.c writes it
