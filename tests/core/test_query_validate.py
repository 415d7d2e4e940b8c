"""Validation: sunpy's exact messages, each pointing at its node; all errors returned."""

from __future__ import annotations

import astropy.units as u
import pytest

from jsocdesk.core.errors import QueryError
from jsocdesk.core.query.tree import (
    And,
    Keyword,
    Node,
    Notify,
    Or,
    PrimeKey,
    QueryTree,
    Sample,
    Segment,
    Series,
    Time,
    Wavelength,
)
from jsocdesk.core.query.validate import check, validate
from tests.core.query_infos import INFOS, SHARP_SEGMENTS

HOUR = Time("2014-01-01T00:00:00", "2014-01-01T01:00:00")
SHARP = Series("hmi.sharp_720s")


def only_error(query: Node, infos: object = INFOS) -> QueryError:
    errors = validate(query, infos)  # type: ignore[arg-type]
    assert len(errors) == 1, [e.message for e in errors]
    return errors[0]


# --- the seed's messages -------------------------------------------------------------------


def test_keyword_needs_comparison() -> None:
    bare = Keyword("bitmap_bzero")
    err = only_error(HOUR & SHARP & bare)
    assert err.message == "Keyword 'bitmap_bzero' needs to have a comparison to a value."
    assert err.node is bare
    # without metadata too
    assert validate(HOUR & SHARP & bare)[0].message == err.message


def test_keyword_not_supported_by_series() -> None:
    bad = Keyword("bac") == 0
    err = only_error(HOUR & SHARP & bad)
    assert err.message == "Keyword: 'bac' is not supported by series: hmi.sharp_720s"
    assert err.node is bad


def test_unexpected_segments_lists_all_segments_in_series_order() -> None:
    image = Segment("image")
    err = only_error(HOUR & SHARP & image)
    assert err.message == (
        "Unexpected Segments were passed. The series hmi.sharp_720s contains the following "
        "Segments ['magnetogram', 'bitmap', 'Dopplergram', 'continuum', 'inclination', "
        "'azimuth', 'field', 'vlos_mag', 'dop_width', 'eta_0', 'damping', 'src_continuum', "
        "'src_grad', 'alpha_mag', 'chisq', 'conv_flag', 'info_map', 'confid_map', "
        "'inclination_err', 'azimuth_err', 'field_err', 'vlos_err', 'alpha_err', "
        "'field_inclination_err', 'field_az_err', 'inclin_azimuth_err', 'field_alpha_err', "
        "'inclination_alpha_err', 'azimuth_alpha_err', 'disambig', 'conf_disambig']"
    )
    assert len(SHARP_SEGMENTS) == 31
    assert err.node is image


def test_unexpected_primekeys() -> None:
    bad = PrimeKey("CAMERA", "2")
    err = only_error(HOUR & SHARP & bad)
    assert err.message == (
        "Unexpected PrimeKeys were passed. The series hmi.sharp_720s supports the following "
        "Keywords: ['HARPNUM', 'T_REC']"
    )
    assert err.node is bad


def test_wavelength_not_supported() -> None:
    w = Wavelength(304 * u.AA)
    err = only_error(HOUR & Series("hmi.v_45s") & w)
    assert err.message == (
        "The series hmi.v_45s does not support wavelength attribute. The following primekeys "
        "are supported ['T_REC', 'CAMERA']"
    )
    assert err.node is w


def test_wavelength_min_must_equal_max() -> None:
    w = Wavelength(171 * u.AA, 193 * u.AA)
    err = only_error(HOUR & Series("aia.lev1_euv_12s") & w)
    assert err.message == "For JSOC queries Wavelength.min must equal Wavelength.max"
    assert err.node is w


def test_time_passed_both_ways() -> None:
    pk = PrimeKey("T_REC", "2014.01.01_00:00:45_TAI")
    err = only_error(HOUR & Series("hmi.v_45s") & pk)
    assert err.message == (
        "Time attribute has been passed both as a Time() and PrimeKey(). Please provide any "
        "one of them or separate them by OR operator."
    )
    assert err.node is pk
    # sunpy's name list applies without metadata
    assert validate(HOUR & Series("hmi.v_45s") & pk)[0].message == err.message


def test_wavelength_passed_both_ways() -> None:
    pk = PrimeKey("WAVELNTH", "171")
    err = only_error(HOUR & Series("aia.lev1_euv_12s") & Wavelength(171 * u.AA) & pk)
    assert err.message == (
        "Wavelength attribute has been passed both as a Wavelength() and PrimeKey(). Please "
        "provide any one of them or separate them by OR operator."
    )
    assert err.node is pk


def test_more_than_one_time_primekey() -> None:
    second = PrimeKey("T_STOP", "2014.01.01_TAI")
    q = Series("test.twotimes") & PrimeKey("T_START", "2014.01.01_TAI") & second
    err = only_error(q)
    assert err.message == (
        "Querying of series, having more than 1 Time-type prime-keys is not yet supported. "
        "Alternative is to use only one of the primekey to query for series data."
    )
    assert err.node is second


def test_no_primekey_at_all() -> None:
    s = Series("hmi.v_45s")
    err = only_error(s & Segment("Dopplergram"))
    assert err.message == "Time, Wavelength or an explicit PrimeKey must be specified."
    assert err.node is s
    assert validate(s & Segment("Dopplergram"))[0].message == err.message
    # a series without prime keys can never get a prime-key string
    s2 = Series("test.nokeys")
    errs = validate(s2 & PrimeKey("X", "1"), INFOS)
    assert [e.message for e in errs] == [
        "Unexpected PrimeKeys were passed. The series test.nokeys supports the following "
        "Keywords: []",
        "Time, Wavelength or an explicit PrimeKey must be specified.",
    ]


def test_no_series() -> None:
    err = only_error(HOUR & Sample(1 * u.h))
    assert err.message == "Series must be specified for a JSOC Query"
    assert err.node is HOUR


# --- jsocdesk's extra rules ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (Series("aia.lev1_euv_12s"), "Only one Series can be given in a branch"),
        (Time("2015-01-01", "2015-01-02"), "Only one Time can be given in a branch"),
        (Sample(1 * u.h), "Only one Sample can be given in a branch"),
        (Notify("b@x.org"), "Only one Notify e-mail can be given in a branch"),
        (PrimeKey("CAMERA", "3"), "PrimeKey 'CAMERA' is given twice"),
    ],
)
def test_duplicates_in_a_branch(extra: Node, message: str) -> None:
    q = (
        Series("hmi.v_45s")
        & HOUR
        & Sample(10 * u.min)
        & Notify("a@x.org")
        & PrimeKey("CAMERA", "2")
        & extra
    )
    err = only_error(q)
    assert message in err.message
    assert err.node is extra


def test_duplicate_wavelength() -> None:
    extra = Wavelength(193 * u.AA)
    err = only_error(Series("aia.lev1_euv_12s") & HOUR & Wavelength(171 * u.AA) & extra)
    assert "Only one Wavelength" in err.message
    assert err.node is extra


def test_same_value_twice_is_fine() -> None:
    q = Series("hmi.v_45s") & HOUR & HOUR & Series("HMI.V_45S") & PrimeKey("CAMERA", "2")
    assert validate(q & PrimeKey("camera", "2"), INFOS) == []


def test_sample_needs_time() -> None:
    s = Sample(1 * u.h)
    err = only_error(Series("hmi.v_45s") & PrimeKey("CAMERA", "2") & s)
    assert "Sample needs a Time" in err.message
    assert err.node is s


def test_time_on_series_without_time_key() -> None:
    err = only_error(Series("test.notime") & HOUR)
    assert "has no time-type prime key" in err.message
    assert err.node is HOUR


def test_empty_groups_and_unknown_series() -> None:
    empty = Or()
    errs = validate(And(Series("hmi.v_45s"), HOUR, empty), INFOS)
    assert [e.node for e in errs] == [empty]
    assert "Empty OR group" in errs[0].message
    assert "query is empty" in validate(QueryTree(), INFOS)[0].message
    s = Series("nope.nope")
    err = only_error(s & HOUR)
    assert err.message == "Series 'nope.nope' does not exist."
    assert err.node is s


def test_all_errors_are_returned_once_each_across_branches() -> None:
    bare = Keyword("QUALITY")
    bad_seg = Segment("image")
    q = (Series("hmi.v_45s") | Series("hmi.M_45s")) & HOUR & bare & bad_seg
    errs = validate(q, INFOS)
    messages = [e.message for e in errs]
    assert messages.count("Keyword 'QUALITY' needs to have a comparison to a value.") == 1
    assert sum("Unexpected Segments" in m for m in messages) == 2  # one per series
    assert all(e.node is bad_seg for e in errs if "Unexpected Segments" in e.message)


def test_check_raises_first_and_passes_valid() -> None:
    check(Series("hmi.v_45s") & HOUR, INFOS)
    with pytest.raises(QueryError, match="Series must be specified"):
        check(HOUR)
