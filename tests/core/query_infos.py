"""SeriesInfo values for the seed series, built by hand from protocol §2.3/§7 (test helper)."""

from __future__ import annotations

from jsocdesk.core.seriesinfo import KeywordInfo, PrimeKeyInfo, SegmentInfo, SeriesInfo

SHARP_SEGMENTS = [
    "magnetogram",
    "bitmap",
    "Dopplergram",
    "continuum",
    "inclination",
    "azimuth",
    "field",
    "vlos_mag",
    "dop_width",
    "eta_0",
    "damping",
    "src_continuum",
    "src_grad",
    "alpha_mag",
    "chisq",
    "conv_flag",
    "info_map",
    "confid_map",
    "inclination_err",
    "azimuth_err",
    "field_err",
    "vlos_err",
    "alpha_err",
    "field_inclination_err",
    "field_az_err",
    "inclin_azimuth_err",
    "field_alpha_err",
    "inclination_alpha_err",
    "azimuth_alpha_err",
    "disambig",
    "conf_disambig",
]


def _kw(name: str, type_: str = "int") -> KeywordInfo:
    return KeywordInfo(name=name, type=type_)


HMI_V_45S = SeriesInfo(
    name="hmi.V_45s",
    note="Dopplergrams with a cadence of 45 seconds",
    primekeys=("T_REC", "CAMERA"),
    primekeysinfo=(PrimeKeyInfo("T_REC", True, "45"), PrimeKeyInfo("CAMERA")),
    keywords=(_kw("T_REC", "time"), _kw("CAMERA"), _kw("QUALITY"), _kw("T_OBS", "time")),
    segments=(SegmentInfo("Dopplergram"),),
)

HMI_M_45S = SeriesInfo(
    name="hmi.M_45s",
    note="magnetograms with a cadence of 45 seconds",
    primekeys=("T_REC", "CAMERA"),
    primekeysinfo=(PrimeKeyInfo("T_REC", True, "45"), PrimeKeyInfo("CAMERA")),
    keywords=(_kw("T_REC", "time"), _kw("CAMERA"), _kw("QUALITY"), _kw("EXPTIME", "double")),
    segments=(SegmentInfo("magnetogram"),),
)

HMI_SHARP_720S = SeriesInfo(
    name="hmi.sharp_720s",
    note="Spaceweather HMI Active Region Patch (SHARP): CCD coordinates",
    primekeys=("HARPNUM", "T_REC"),
    primekeysinfo=(PrimeKeyInfo("HARPNUM"), PrimeKeyInfo("T_REC", True, "720")),
    keywords=(
        _kw("cparms_sg000", "string"),
        _kw("magnetogram_bzero", "double"),
        _kw("magnetogram_bscale", "double"),
        _kw("cparms_sg001", "string"),
        _kw("bitmap_bzero", "double"),
        _kw("continuum_bscale", "double"),
        _kw("HARPNUM"),
        _kw("T_REC", "time"),
        _kw("QUALITY"),
        _kw("ERRJHT", "float"),
        _kw("ERRVF", "float"),
    ),
    segments=tuple(SegmentInfo(s) for s in SHARP_SEGMENTS),
)

AIA_LEV1_EUV_12S = SeriesInfo(
    name="aia.lev1_euv_12s",
    note="AIA Level 1, 12 second cadence",
    primekeys=("T_REC", "WAVELNTH"),
    primekeysinfo=(PrimeKeyInfo("T_REC", True, "12"), PrimeKeyInfo("WAVELNTH")),
    keywords=(_kw("T_REC", "time"), _kw("WAVELNTH"), _kw("QUALITY"), _kw("EXPTIME", "float")),
    segments=(SegmentInfo("image"), SegmentInfo("spikes")),
)

# A series without a time prime key and one with two (for the corner-case rules).
NO_TIME = SeriesInfo(
    name="test.notime",
    primekeys=("LMIN", "NACOEFF"),
    keywords=(_kw("LMIN"), _kw("NACOEFF")),
    segments=(SegmentInfo("split"),),
)
TWO_TIMES = SeriesInfo(
    name="test.twotimes",
    primekeys=("T_START", "T_STOP", "FSN"),
    keywords=(_kw("T_START", "time"), _kw("T_STOP", "time"), _kw("FSN")),
)
NO_PRIMEKEYS = SeriesInfo(name="test.nokeys", keywords=(_kw("X"),))

INFOS = {
    i.name: i
    for i in (
        HMI_V_45S,
        HMI_M_45S,
        HMI_SHARP_720S,
        AIA_LEV1_EUV_12S,
        NO_TIME,
        TWO_TIMES,
        NO_PRIMEKEYS,
    )
}
