"""The demo server's series catalogue: prime keys, slot rules, keywords, segments, links.

Series named in the sunpy JSOC guide and in ``jsoc-protocol.md`` §6 are modelled in detail
(keyword lists, types, formats, units, segments with their stored file names, slot epochs
and steps, record models); every other real series name from ``jsoc-series.json`` is listed
by ``show_series``/``showextseries`` with its real description and gets a generic structure
(``T_REC`` slotted at the cadence its name implies, one ``data`` segment).

Times are DRMS seconds (TAI since 1977.01.01_00:00:00_TAI, :mod:`jsocdesk.core.drmstime`).
Names keep their canonical JSOC case; every look-up ignores case.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from jsocdesk.core import drmstime
from jsocdesk.core.seriesinfo import (
    KeywordInfo,
    LinkInfo,
    PrimeKeyInfo,
    SegmentInfo,
    SeriesInfo,
    find_named,
)

MISSING_TIME = "-4712.01.01_11:59_TAI"
#: 268 real series names + descriptions (JSOC show_series snapshot shipped by sunpy 7.0.5).
SERIES_JSON = Path(__file__).with_name("data") / "jsoc-series.json"


def _t(text: str) -> float:
    return drmstime.parse_time_seconds(text)


@dataclass(frozen=True)
class Kw:
    """A keyword: DRMS type, print format, scope, default, units, note.

    ``fmt``: ``"tai:N"`` / ``"iso:N"`` for times (N decimals), a %-format for numbers
    (``"0x%08x"`` for QUALITY), ``"%s"`` for strings.  ``value`` fixes the value of every
    record (constants); ``implicit`` keywords (``cparms_sgNNN``, ``<seg>_bzero``,
    ``T_REC_step`` …) are listed by ``series_struct`` but not expanded by ``**ALL**``.
    """

    name: str
    type: str = "string"
    fmt: str = "%s"
    recscope: str = "variable"
    defval: str = ""
    units: str = ""
    note: str = ""
    value: str | float | int | None = None
    implicit: bool = False
    linkinfo: str | None = None

    def info(self) -> KeywordInfo:
        return KeywordInfo(
            name=self.name,
            type=self.type,
            recscope=self.recscope,
            defval=self.defval,
            units=self.units,
            note=self.note,
            linkinfo=self.linkinfo,
        )


@dataclass(frozen=True)
class Seg:
    name: str
    type: str = "int"
    units: str = ""
    protocol: str = "fits"
    dims: str = "4096x4096"
    note: str = ""
    filename: str = ""  # stored file name (default "<name>.fits" / "<name>")
    bzero: float = 0.0
    bscale: float = 1.0
    cparms: str = "compress Rice"
    #: a linked segment's segment in the target series (DRMS ``target_seg``; default: same name)
    target: str = ""

    @property
    def file(self) -> str:
        if self.filename:
            return self.filename
        return f"{self.name}.fits" if self.protocol == "fits" else self.name

    @property
    def link(self) -> str | None:
        """Name of the link a linked segment is read through (``link via MDATA``)."""
        return self.protocol[len("link via ") :] if self.protocol.startswith("link via ") else None

    def info(self) -> SegmentInfo:
        if self.link is not None:  # JSOC reports no units/dims for linked segments
            return SegmentInfo(self.name, self.type, None, self.protocol, None, self.note)
        return SegmentInfo(self.name, self.type, self.units, self.protocol, self.dims, self.note)


@dataclass(frozen=True)
class SlotAxis:
    """A slotted time prime key: ``index = floor((t - epoch + round/2) / step)``.

    ``round == step`` is ``ts_eq`` (nearest slot, ties up); ``round == 0`` floors.
    Records exist from ``first`` to ``last`` (``None`` = now).
    """

    key: str
    step: float
    epoch: float = 0.0
    round: float | None = None
    first: float = 0.0
    last: float | None = None
    recscope: str = "ts_eq"

    @property
    def rounding(self) -> float:
        return self.step if self.round is None else self.round


@dataclass(frozen=True)
class ValuesAxis:
    """A prime key with a fixed, sorted list of values (CAMERA, WAVELNTH, NACOEFF …)."""

    key: str
    values: tuple[int | float | str, ...]


@dataclass(frozen=True)
class IntAxis:
    """An integer prime key over ``lo..hi`` (``hi=None``: derived from today)."""

    key: str
    lo: int
    hi: int | None = None


Axis = SlotAxis | ValuesAxis | IntAxis


@dataclass(frozen=True)
class Series:
    """One series of the catalogue.

    ``model``: ``"grid"`` (records = product of ``axes`` in prime-key order), ``"harp"``
    (HARPNUM × T_REC slots while the region lives), ``"images"`` (``aia.lev1``: one image
    index giving ``T_REC`` and ``FSN``), ``"iris"`` (``T_OBS`` unslotted, ``FSN``).
    ``values`` are per-series constants for keyword generation (INSTRUME, CAMERA …).
    """

    name: str
    note: str
    primekeys: tuple[str, ...]
    keywords: tuple[Kw, ...]
    segments: tuple[Seg, ...]
    axes: tuple[Axis, ...]
    model: str = "grid"
    links: tuple[LinkInfo, ...] = ()
    values: dict[str, str | float | int] = field(default_factory=dict)
    retention: int = 10000
    unitsize: int = 1
    archive: int = 1
    tapegroup: int = 1
    number: int = 0  # position in the catalogue; base of SUNUMs

    def __repr__(self) -> str:
        return f"Series({self.name!r})"

    @functools.cached_property
    def _kw_index(self) -> dict[str, Kw]:
        return {k.name.lower(): k for k in self.keywords}

    def keyword(self, name: str) -> Kw | None:
        return self._kw_index.get(name.lower())

    def segment(self, name: str) -> Seg | None:
        return find_named(self.segments, name, lambda s: s.name)

    def link(self, name: str) -> LinkInfo | None:
        return find_named(self.links, name, lambda li: li.name)

    def axis_of(self, key: str) -> Axis | None:
        return find_named(self.axes, key, lambda a: a.key)

    def slot_axis(self) -> SlotAxis | None:
        for a in self.axes:
            if isinstance(a, SlotAxis):
                return a
        return None

    def all_keys(self) -> list[str]:
        """What ``key=**ALL**`` expands to (non-implicit keywords, plus DATE-OBS alias)."""
        out: list[str] = []
        for k in self.keywords:
            if k.implicit:
                continue
            out.append(k.name)
            if k.name == "DATE__OBS":
                out.append("DATE-OBS")
        return out

    def info(self) -> SeriesInfo:
        pkinfo = []
        for pk in self.primekeys:
            ax = self.axis_of(pk)
            if isinstance(ax, SlotAxis):
                pkinfo.append(PrimeKeyInfo(pk, slotted=True, step=_num(ax.step)))
            else:
                pkinfo.append(PrimeKeyInfo(pk, slotted=False))
        return SeriesInfo(
            name=self.name,
            note=self.note,
            primekeys=self.primekeys,
            primekeysinfo=tuple(pkinfo),
            keywords=tuple(k.info() for k in self.keywords),
            segments=tuple(s.info() for s in self.segments),
            links=self.links,
            extra={
                "retention": self.retention,
                "unitsize": self.unitsize,
                "archive": self.archive,
                "tapegroup": self.tapegroup,
            },
        )


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


# --- keyword building blocks ---------------------------------------------------------------


def seg_keywords(segments: tuple[Seg, ...]) -> list[Kw]:
    """``cparms_sgNNN``, ``<seg>_bzero``, ``<seg>_bscale`` in segment order (DRMS layout)."""
    out: list[Kw] = []
    for i, s in enumerate(segments):
        if s.protocol.startswith("link") or s.protocol == "generic":
            continue
        out.append(
            Kw(
                f"cparms_sg{i:03d}",
                "string",
                "%s",
                "variable",
                s.cparms,
                implicit=True,
                note=f"Compression parameters for segment {s.name}",
                value=s.cparms,
            )
        )
        out.append(
            Kw(f"{s.name}_bzero", "double", "%g", "variable", "0", implicit=True, value=s.bzero)
        )
        out.append(
            Kw(f"{s.name}_bscale", "double", "%g", "variable", "1", implicit=True, value=s.bscale)
        )
    return out


def slot_keywords(ax: SlotAxis, zone: str = "TAI") -> list[Kw]:
    epoch_text = drmstime.format_tai(ax.epoch)
    out = [
        Kw(
            f"{ax.key}_epoch",
            "time",
            "tai:0",
            "constant",
            epoch_text,
            implicit=True,
            note=f"{ax.key} slot epoch",
            value=epoch_text,
        ),
        Kw(
            f"{ax.key}_step",
            "float",
            "%g",
            "constant",
            _num(ax.step),
            "secs",
            implicit=True,
            note=f"{ax.key} slot step",
            value=ax.step,
        ),
        Kw(
            f"{ax.key}_unit",
            "string",
            "%s",
            "constant",
            "secs",
            implicit=True,
            note=f"{ax.key} slot unit",
            value="secs",
        ),
    ]
    if ax.recscope == "ts_slot":
        out.append(
            Kw(
                f"{ax.key}_round",
                "float",
                "%g",
                "constant",
                _num(ax.rounding),
                "secs",
                implicit=True,
                value=ax.rounding,
            )
        )
    return out


def _time_kw(name: str, fmt: str, recscope: str = "variable", note: str = "") -> Kw:
    return Kw(name, "time", fmt, recscope, MISSING_TIME, "", note)


def hmi_fd_keywords(
    segments: tuple[Seg, ...], slot: SlotAxis, bunit: str, content: str, cadence: float
) -> tuple[Kw, ...]:
    """Keyword list of HMI full-disk observables (order follows the JSOC series)."""
    kws = seg_keywords(segments)
    kws += [
        _time_kw("DATE", "iso:0", note="[ISO] Date_time of processing; ISO 8601"),
        _time_kw("DATE__OBS", "iso:2", note="[DATE-OBS] Date when observation started; ISO 8601"),
        Kw("TELESCOP", value="SDO/HMI", note="For HMI: SDO/HMI"),
        Kw("INSTRUME", note="For HMI: HMI_SIDE1 or HMI_FRONT2"),
        Kw("WAVELNTH", "float", "%.1f", units="angstrom", value=6173.0, note="For HMI: 6173.0"),
        Kw("CAMERA", "int", "%d", note="For HMI: 1 or 2"),
        Kw("BUNIT", value=bunit, note="Physical units of the image"),
        Kw("ORIGIN", value="SDO/JSOC-SDP", note="Location where file made"),
        Kw("CONTENT", value=content, note="Data content"),
        Kw("QUALITY", "int", "0x%08x", defval="0", note="Level 1.5 quality word"),
        Kw("QUALLEV1", "int", "0x%08x", defval="0", note="Level 1 quality word"),
        Kw("HISTORY", value="", note="History"),
        Kw("COMMENT", value="", note="Commentary"),
        Kw("BLD_VERS", value="V8R1X", note="Build version"),
        Kw("HCAMID", "int", "%d", note="HMI camera id"),
        Kw("SOURCE", note="Input record"),
        Kw("TOTVALS", "int", "%d", value=12949936, note="Expected number of data values"),
        Kw("DATAVALS", "int", "%d", note="Actual number of data values"),
        Kw("MISSVALS", "int", "%d", note="Missing values"),
        Kw("SATVALS", "int", "%d", value=0, note="Saturated values"),
        Kw("DATAMIN", "double", "%.6f", units=bunit, note="Minimum value"),
        Kw("DATAMAX", "double", "%.6f", units=bunit, note="Maximum value"),
        Kw("DATAMEDN", "double", "%.6f", units=bunit, note="Median value"),
        Kw("DATAMEAN", "double", "%.6f", units=bunit, note="Mean value"),
        Kw("DATARMS", "double", "%.6f", units=bunit, note="RMS"),
        Kw("DATASKEW", "double", "%.6f", note="Skewness"),
        Kw("DATAKURT", "double", "%.6f", note="Kurtosis"),
        Kw("CTYPE1", value="HPLN-TAN", note="Coordinate type"),
        Kw("CTYPE2", value="HPLT-TAN", note="Coordinate type"),
        Kw("CRPIX1", "float", "%.6f", units="pixel", note="X location of Sun center"),
        Kw("CRPIX2", "float", "%.6f", units="pixel", note="Y location of Sun center"),
        Kw("CRVAL1", "float", "%.6f", units="arcsec", value=0.0),
        Kw("CRVAL2", "float", "%.6f", units="arcsec", value=0.0),
        Kw("CDELT1", "float", "%.6f", units="arcsec/pixel", value=0.504376),
        Kw("CDELT2", "float", "%.6f", units="arcsec/pixel", value=0.504376),
        Kw("CUNIT1", value="arcsec"),
        Kw("CUNIT2", value="arcsec"),
        Kw("CROTA2", "float", "%.6f", units="deg", note="INST_ROT + SAT_ROT"),
        Kw("CRDER1", "float", "%.6f", units="arcsec", value=0.0),
        Kw("CRDER2", "float", "%.6f", units="arcsec", value=0.0),
        Kw("CSYSER1", "float", "%.6f", units="arcsec", value=0.0),
        Kw("CSYSER2", "float", "%.6f", units="arcsec", value=0.0),
        Kw("WCSNAME", value="Helioprojective-cartesian"),
        Kw("DSUN_OBS", "double", "%.0f", units="m", note="Distance from SDO to Sun center"),
        Kw("DSUN_REF", "double", "%.0f", units="m", value=149597870691.0),
        Kw("RSUN_REF", "double", "%.0f", units="m", value=696000000.0),
        Kw("CRLN_OBS", "float", "%.6f", units="deg", note="Carrington longitude of observer"),
        Kw("CRLT_OBS", "float", "%.6f", units="deg", note="Carrington latitude of observer"),
        Kw("CAR_ROT", "int", "%d", note="Carrington rotation number of CRLN_OBS"),
        Kw("OBS_VR", "double", "%.6f", units="m/s", note="Velocity of SDO toward the Sun"),
        Kw("OBS_VW", "double", "%.6f", units="m/s", note="Velocity of SDO westward"),
        Kw("OBS_VN", "double", "%.6f", units="m/s", note="Velocity of SDO northward"),
        Kw("RSUN_OBS", "double", "%.6f", units="arcsec", note="Angular radius of Sun"),
        _time_kw("T_OBS", "tai:0", note="[TAI] nominal time of the observation"),
        _time_kw(slot.key, "tai:0", slot.recscope, note="[TAI] Slot time"),
        *slot_keywords(slot),
        Kw("CADENCE", "float", "%.6f", units="sec", value=cadence, note="Repetition interval"),
        Kw("DATASIGN", "int", "%d", value=1),
        Kw("HFLID", "int", "%d", value=1022 if cadence < 100 else 1021),
        Kw("HCFTID", "int", "%d", value=11),
        Kw("QLOOK", "int", "%d", value=0, note="0=final data, 1=quicklook"),
        Kw("CAL_FSN", "int", "%d", note="FSN of the calibration"),
        Kw("LUTQUERY", value="hmi.lookup_corrected_expanded[][][][1]"),
        Kw("TSEL", "float", "%.6f", units="degree Celsius"),
        Kw("TFRONT", "float", "%.6f", units="degree Celsius"),
        Kw("TINTNUM", "int", "%d", value=12),
        Kw("SINTNUM", "int", "%d", value=10),
        Kw("DISTCOEF", value="/home/jsoc/cvs/Development/JSOC/proj/lev1.5_hmi/apps/"),
        Kw("ROTCOEF", value="/home/jsoc/cvs/Development/JSOC/proj/lev1.5_hmi/apps/"),
        Kw("ODICOEFF", "int", "%d", value=6),
        Kw("OROCOEFF", "int", "%d", value=4),
        Kw("POLCALM", "int", "%d", value=2),
        Kw("CODEVER0", value="$Id: HMI_observables.c,v 1.47 2014/01/03 couvidat Exp $"),
        Kw("CODEVER1", value="$Id: interpol_code.c,v 1.5 2012/10/23 couvidat Exp $"),
        Kw("CODEVER2", value="$Id: interpol_code.c,v 1.5 2012/10/23 couvidat Exp $"),
        Kw("CODEVER3", value="$Id: polcal.c,v 1.5 2013/12/22 22:54:08 couvidat Exp $"),
        Kw("CALVER64", "longlong", "%d", value=4370, note="Calibration version"),
    ]
    return tuple(kws)


SHARP_SEGMENTS: tuple[tuple[str, str, str], ...] = (
    ("magnetogram", "int", "Gauss"),
    ("bitmap", "char", "Enumerated"),
    ("Dopplergram", "int", "m/s"),
    ("continuum", "int", "DN/s"),
    ("inclination", "int", "degree"),
    ("azimuth", "int", "degree"),
    ("field", "int", "Mx/cm^2"),
    ("vlos_mag", "int", "cm/s"),
    ("dop_width", "int", "mA"),
    ("eta_0", "int", "dimensionless"),
    ("damping", "int", "length units"),
    ("src_continuum", "int", "DN/s"),
    ("src_grad", "int", "DN/s"),
    ("alpha_mag", "int", "dimensionless"),
    ("chisq", "int", "dimensionless"),
    ("conv_flag", "char", "dimensionless"),
    ("info_map", "int", "dimensionless"),
    ("confid_map", "char", "dimensionless"),
    ("inclination_err", "int", "degree"),
    ("azimuth_err", "int", "degree"),
    ("field_err", "int", "Mx/cm^2"),
    ("vlos_err", "int", "cm/s"),
    ("alpha_err", "int", "dimensionless"),
    ("field_inclination_err", "int", "dimensionless"),
    ("field_az_err", "int", "dimensionless"),
    ("inclin_azimuth_err", "int", "dimensionless"),
    ("field_alpha_err", "int", "dimensionless"),
    ("inclination_alpha_err", "int", "dimensionless"),
    ("azimuth_alpha_err", "int", "dimensionless"),
    ("disambig", "char", "Flag"),
    ("conf_disambig", "char", "dimensionless"),
)

SHARP_CEA_SEGMENTS: tuple[tuple[str, str, str], ...] = (
    ("magnetogram", "int", "Gauss"),
    ("bitmap", "char", "Enumerated"),
    ("Dopplergram", "int", "m/s"),
    ("continuum", "int", "DN/s"),
    ("Bp", "int", "Gauss"),
    ("Bt", "int", "Gauss"),
    ("Br", "int", "Gauss"),
    ("Bp_err", "int", "Gauss"),
    ("Bt_err", "int", "Gauss"),
    ("Br_err", "int", "Gauss"),
    ("conf_disambig", "char", "dimensionless"),
)

#: SHARP space-weather indices, in JSOC order up to the last two ("ERRJHT", "ERRVF").
SHARP_INDICES: tuple[tuple[str, str, str], ...] = (
    ("USFLUX", "Mx", "Total unsigned flux"),
    ("MEANGAM", "degree", "Mean inclination angle, gamma"),
    ("MEANGBT", "Gauss/Mm", "Mean value of the total field gradient"),
    ("MEANGBZ", "Gauss/Mm", "Mean value of the vertical field gradient"),
    ("MEANGBH", "Gauss/Mm", "Mean value of the horizontal field gradient"),
    ("MEANJZD", "mA/(m^2)", "Mean vertical current density"),
    ("TOTUSJZ", "Amperes", "Total unsigned vertical current"),
    ("MEANALP", "1/Mm", "Mean twist parameter, alpha"),
    ("MEANJZH", "(G^2)/m", "Mean current helicity"),
    ("TOTUSJH", "(G^2)/m", "Total unsigned current helicity"),
    ("ABSNJZH", "(G^2)/m", "Absolute value of the net current helicity"),
    ("SAVNCPP", "Amperes", "Sum of the absolute value of the net currents per polarity"),
    ("MEANPOT", "Ergs per cubic centimeter", "Mean photospheric excess magnetic energy density"),
    ("TOTPOT", "Ergs per centimeter", "Total photospheric magnetic energy density"),
    ("MEANSHR", "Degrees", "Mean shear angle"),
    ("SHRGT45", "Percentage of Total", "Area with shear angle greater than 45 degrees"),
    ("R_VALUE", "Mx", "Sum of flux near polarity inversion line"),
    ("GWILL", "Mx", "Flux near the polarity inversion line, Schrijver's method"),
    ("CMASK", "pixels", "Number of pixels used in the calculation of indices"),
    ("ERRBT", "Gauss/Mm", "Error in the mean value of the total field gradient"),
    ("ERRVF", "Mx", "Error in the total unsigned flux"),
    ("ERRGAM", "degree", "Error in the mean inclination angle"),
    ("ERRBH", "Gauss/Mm", "Error in the mean value of the horizontal field gradient"),
    ("ERRBZ", "Gauss/Mm", "Error in the mean value of the vertical field gradient"),
    ("ERRALP", "1/Mm", "Error in the mean twist parameter"),
    ("ERRMIH", "(G^2)/m", "Error in the mean current helicity"),
    ("ERRMPOT", "Ergs per cubic centimeter", "Error in the mean excess magnetic energy"),
    ("ERRTPOT", "Ergs per centimeter", "Error in the total excess magnetic energy"),
    ("ERRJZ", "mA/(m^2)", "Error in the mean vertical current density"),
    ("ERRUSI", "Amperes", "Error in the total unsigned vertical current"),
    ("ERRTAI", "Amperes", "Error in the sum of the net currents per polarity"),
    ("ERRMSHA", "Degrees", "Error in the mean shear angle"),
    ("ERRJHT", "(G^2)/m", "Error in the total unsigned current helicity"),
)


def sharp_keywords(segments: tuple[Seg, ...], slot: SlotAxis) -> tuple[Kw, ...]:
    kws = seg_keywords(segments)
    kws += [
        _time_kw("DATE", "iso:0", note="[ISO] Date_time of processing"),
        _time_kw("DATE__OBS", "iso:2", note="[DATE-OBS] Date when observation started"),
        Kw("TELESCOP", value="SDO/HMI"),
        Kw("INSTRUME", note="For HMI: HMI_SIDE1 or HMI_FRONT2"),
        Kw("WAVELNTH", "float", "%.1f", units="angstrom", value=6173.0),
        Kw("CAMERA", "int", "%d"),
        Kw("ORIGIN", value="SDO/JSOC-SDP"),
        Kw("CONTENT", value="HMI observable"),
        Kw("QUALITY", "int", "0x%08x", defval="0"),
        Kw("HARPNUM", "int", "%d", note="HMI Active Region Patch number"),
        Kw("NOAA_AR", "int", "%d", defval="0", note="NOAA AR number that best matches"),
        Kw("NOAA_NUM", "int", "%d", defval="0", note="Number of NOAA ARs that match"),
        Kw("NOAA_ARS", note="Comma-separated list of NOAA ARs"),
        _time_kw("T_FRST", "tai:0", note="First HARP record in series"),
        _time_kw("T_LAST", "tai:0", note="Last HARP record in series"),
        Kw("LAT_FWT", "float", "%.6f", units="degree", note="Flux-weighted center latitude"),
        Kw("LON_FWT", "float", "%.6f", units="degree", note="Flux-weighted center longitude"),
        Kw("AREA", "double", "%.6f", units="Mm^2", note="Area of the patch"),
        Kw("NPIX", "int", "%d", note="Number of pixels within the patch"),
        Kw("CRPIX1", "float", "%.6f", units="pixel"),
        Kw("CRPIX2", "float", "%.6f", units="pixel"),
        Kw("CDELT1", "float", "%.6f", units="arcsec/pixel", value=0.504376),
        Kw("CDELT2", "float", "%.6f", units="arcsec/pixel", value=0.504376),
        Kw("DSUN_OBS", "double", "%.0f", units="m"),
        Kw("CRLN_OBS", "float", "%.6f", units="deg"),
        Kw("CRLT_OBS", "float", "%.6f", units="deg"),
        Kw("CAR_ROT", "int", "%d"),
        Kw("RSUN_OBS", "double", "%.6f", units="arcsec"),
        _time_kw("T_OBS", "tai:0", note="[TAI] nominal time"),
        _time_kw(slot.key, "tai:0", slot.recscope, note="[TAI] Slot time"),
        *slot_keywords(slot),
        *(Kw(n, "float", "%.6e", units=u, note=note) for n, u, note in SHARP_INDICES[:-2]),
        *(Kw(n, "float", "%.6e", units=u, note=note) for n, u, note in SHARP_INDICES[-2:]),
    ]
    # The last two keywords of the real series are ERRJHT, ERRVF.
    tail = [k for k in kws if k.name in ("ERRJHT", "ERRVF")]
    kws = [k for k in kws if k.name not in ("ERRJHT", "ERRVF")]
    tail.sort(key=lambda k: ["ERRJHT", "ERRVF"].index(k.name))
    return tuple(kws + tail)


def aia_keywords(segments: tuple[Seg, ...], slot: SlotAxis) -> tuple[Kw, ...]:
    kws = seg_keywords(segments)
    kws += [
        _time_kw("DATE", "iso:0", note="[ISO] Date_time of processing"),
        _time_kw("DATE__OBS", "iso:2", note="[DATE-OBS] Date when observation started"),
        _time_kw("T_OBS", "iso:2", note="[ISO] Observation time (mid-exposure)"),
        _time_kw(slot.key, "iso:0", slot.recscope, note="[ISO] Slot time"),
        *slot_keywords(slot),
        Kw("TELESCOP", value="SDO/AIA"),
        Kw("INSTRUME", note="AIA_1, AIA_2, AIA_3 or AIA_4"),
        Kw("WAVELNTH", "int", "%d", units="angstrom", note="Wavelength"),
        Kw("WAVEUNIT", value="angstrom"),
        Kw("WAVE_STR", note="Wavelength and filter"),
        Kw("FSN", "int", "%d", note="Filtergram sequence number"),
        Kw("FID", "int", "%d", note="Filter ID"),
        Kw("QUALITY", "int", "0x%08x", defval="0"),
        Kw("EXPTIME", "float", "%.6f", units="sec", note="Exposure duration"),
        Kw("DATAMEAN", "double", "%.6f", units="DN"),
        Kw("DATAMEDN", "double", "%.6f", units="DN"),
        Kw("CRPIX1", "float", "%.6f", units="pixel"),
        Kw("CRPIX2", "float", "%.6f", units="pixel"),
        Kw("CDELT1", "float", "%.6f", units="arcsec/pixel", value=0.6),
        Kw("CDELT2", "float", "%.6f", units="arcsec/pixel", value=0.6),
        Kw("DSUN_OBS", "double", "%.0f", units="m"),
        Kw("CRLN_OBS", "float", "%.6f", units="deg"),
        Kw("CRLT_OBS", "float", "%.6f", units="deg"),
        Kw("CAR_ROT", "int", "%d"),
        Kw("RSUN_OBS", "double", "%.6f", units="arcsec"),
    ]
    return tuple(kws)


def small_keywords(segments: tuple[Seg, ...], primes: list[Kw], extra: list[Kw]) -> tuple[Kw, ...]:
    kws = seg_keywords(segments)
    kws += [_time_kw("DATE", "iso:0", note="[ISO] Date_time of processing"), *primes, *extra]
    return tuple(kws)


# --- the catalogue ---------------------------------------------------------------------------

HMI_EPOCH = _t("1993.01.01_00:00:00_TAI")
HMI_FIRST = _t("2010.04.30_19:00:00_TAI")
AIA_FIRST = _t("2010.05.13_00:00:00_TAI")
MDI_EPOCH = _t("1993.01.01_00:00:00_TAI")
AIA_EUV = (94, 131, 171, 193, 211, 304, 335)
AIA_UV = (1600, 1700)
AIA_VIS = (4500,)


def _fd_segment(name: str, units: str, bscale: float, bzero: float = 0.0) -> Seg:
    return Seg(name, "int", units, "fits", "4096x4096", bzero=bzero, bscale=bscale)


def _hmi_fd(
    name: str, note: str, seg: Seg, cadence: float, camera: int, bunit: str, content: str
) -> Series:
    slot = SlotAxis("T_REC", cadence, HMI_EPOCH, None, HMI_FIRST)
    segs = (seg,)
    return Series(
        name=name,
        note=note,
        primekeys=("T_REC", "CAMERA"),
        keywords=hmi_fd_keywords(segs, slot, bunit, content, cadence),
        segments=segs,
        axes=(slot, ValuesAxis("CAMERA", (camera,))),
        values={
            "INSTRUME": "HMI_FRONT2" if camera == 2 else "HMI_SIDE1",
            "CAMERA": camera,
            "HCAMID": 3 if camera == 2 else 2,
        },
        unitsize=16 if cadence < 100 else 4,
    )


#: hmi.sharp_*: links to the HARP masks and the disambiguated field of the same patch
SHARP_LINKS = (
    LinkInfo("MHARP", "hmi.Mharp_720s", "DYNAMIC", "Link to HARP"),
    LinkInfo("BHARP", "hmi.Bharp_720s", "DYNAMIC", "Link to disambiguated HARP"),
)


def _build() -> list[Series]:
    out: list[Series] = []
    # HMI full-disk observables, 45 s (front camera) and 720 s (side camera).
    for short, segname, units, content, bscale, desc in (
        ("V", "Dopplergram", "m/s", "DOPPLERGRAM", 0.25, "Dopplergrams"),
        ("M", "magnetogram", "Gauss", "MAGNETOGRAM", 0.1, "magnetograms"),
        ("Ic", "continuum", "DN/s", "CONTINUUM INTENSITY", 1.0, "continuum intensities"),
        ("Lw", "linewidth", "mA", "LINEWIDTH", 1.0, "linewidths"),
        ("Ld", "linedepth", "DN/s", "LINEDEPTH", 1.0, "linedepths"),
    ):
        seg = _fd_segment(segname, units, bscale)
        # JSOC's own descriptions: only the Dopplergrams' lacks the final full stop.
        note = f"{desc} with a cadence of {{}} seconds{'' if short == 'V' else '.'}"
        for cadence, camera in ((45.0, 2), (720.0, 1)):
            series_name = f"hmi.{short}_{cadence:.0f}s"
            out.append(
                _hmi_fd(
                    series_name, note.format(f"{cadence:.0f}"), seg, cadence, camera, units, content
                )
            )

    # Milne-Eddington inversion and the disambiguated field vector, linked by MDATA.
    me_slot = SlotAxis("T_REC", 720.0, HMI_EPOCH, None, HMI_FIRST)
    me_segs = tuple(
        _fd_segment(n, u, 0.01)
        for n, u in (
            ("inclination", "degree"),
            ("azimuth", "degree"),
            ("field", "Mx/cm^2"),
            ("vlos_mag", "cm/s"),
            ("dop_width", "mA"),
            ("eta_0", "dimensionless"),
            ("confid_map", "dimensionless"),
        )
    )
    out.append(
        Series(
            "hmi.ME_720s_fd10",
            "Milne-Eddigton inversion",
            ("T_REC",),
            hmi_fd_keywords(me_segs, me_slot, "various", "ME inversion", 720.0),
            me_segs,
            (me_slot,),
            values={"INSTRUME": "HMI_SIDE1", "CAMERA": 1, "HCAMID": 2},
        )
    )
    b_segs = (
        _fd_segment("field", "Mx/cm^2", 0.01),
        _fd_segment("inclination", "degree", 0.01),
        _fd_segment("azimuth", "degree", 0.01),
        Seg("disambig", "char", "Flag", "fits", "4096x4096"),
        Seg("conf_disambig", "char", "dimensionless", "fits", "4096x4096"),
        # Not disambiguated: read through the MDATA link from the inversion series.
        *(
            Seg(n, "int", "", "link via MDATA", "")
            for n in ("vlos_mag", "dop_width", "eta_0", "confid_map")
        ),
    )
    out.append(
        Series(
            "hmi.B_720s",
            "Full-disk Milne-Eddigton inversion with the magnetic field azimuthal ambiguity "
            "resolution applied",
            ("T_REC",),
            hmi_fd_keywords(b_segs, me_slot, "various", "B vector", 720.0),
            b_segs,
            (me_slot,),
            links=(
                LinkInfo(
                    "MDATA", "hmi.ME_720s_fd10", "DYNAMIC", "Link to the Milne-Eddington inversion"
                ),
            ),
            values={"INSTRUME": "HMI_SIDE1", "CAMERA": 1, "HCAMID": 2},
        )
    )

    # SHARPs: HARPNUM x T_REC slots while the region lives.
    sharp_slot = SlotAxis("T_REC", 720.0, HMI_EPOCH, None, HMI_FIRST)
    for name, note, table in (
        (
            "hmi.sharp_720s",
            "Spaceweather HMI Active Region Patch (SHARP): CCD coordinates",
            SHARP_SEGMENTS,
        ),
        (
            "hmi.sharp_cea_720s",
            "Spaceweather HMI Active Region Patch (SHARP): CEA coordinates",
            SHARP_CEA_SEGMENTS,
        ),
    ):
        segs = tuple(
            Seg(n, t, u, "fits", "VARxVAR", bscale=1.0 if t == "char" else 0.01)
            for n, t, u in table
        )
        out.append(
            Series(
                name,
                note,
                ("HARPNUM", "T_REC"),
                sharp_keywords(segs, sharp_slot),
                segs,
                (IntAxis("HARPNUM", 1), sharp_slot),
                model="harp",
                links=SHARP_LINKS,
                values={"INSTRUME": "HMI_SIDE1", "CAMERA": 1},
            )
        )

    # AIA.
    # The cadence series hold no files: their segments are links into aia.lev1 (jsoc_fetch.c
    # follows them: "if rs is an aia.lev1_euv_12s rs, then records in aia.lev1 ..."), so
    # series_struct lists them as "link via lev1" with units and dims null.
    lev1_link = LinkInfo("lev1", "aia.lev1", "DYNAMIC", "Link to the level 1 image record")
    for name, note, step, waves in (
        ("aia.lev1_euv_12s", "AIA Level 1, 12 second cadence", 12.0, AIA_EUV),
        ("aia.lev1_uv_24s", "AIA Level 1, 24 second cadence", 24.0, AIA_UV),
        ("aia.lev1_vis_1h", "AIA Level 1, 3600 second cadence", 3600.0, AIA_VIS),
    ):
        slot = SlotAxis("T_REC", step, 0.0, step, AIA_FIRST, recscope="ts_slot")
        segs = (
            Seg("image", "int", "", "link via lev1", "", "AIA level 1 image", target="image_lev1"),
            Seg("spikes", "int", "", "link via lev1", "", "Cosmic ray hits"),
        )
        out.append(
            Series(
                name,
                note,
                ("T_REC", "WAVELNTH"),
                aia_keywords(segs, slot),
                segs,
                (slot, ValuesAxis("WAVELNTH", waves)),
                links=(lev1_link,),
                unitsize=32,
            )
        )
    lev1_slot = SlotAxis("T_REC", 12.0, 0.0, 12.0, AIA_FIRST, recscope="ts_slot")
    lev1_segs = (
        Seg("image_lev1", "int", "DN", "fits", "4096x4096", "lev1 image fits file"),
        Seg("spikes", "int", "", "fits", "VARxVAR", filename="spikes.fits"),
    )
    out.append(
        Series(
            "aia.lev1",
            "AIA Level 1",
            ("T_REC", "FSN"),
            aia_keywords(lev1_segs, lev1_slot),
            lev1_segs,
            (lev1_slot, IntAxis("FSN", 1)),
            model="images",
            unitsize=32,
        )
    )
    resp_times = tuple(
        drmstime.format_tai(_t(s))
        for s in ("2010.03.29_20:00:00_TAI", "2012.11.01_00:00:00_TAI", "2017.04.10_00:00:00_TAI")
    )
    resp_waves = (
        "94_THIN",
        "131_THIN",
        "171_THIN",
        "193_THIN",
        "211_THIN",
        "304_THIN",
        "335_THIN",
        "1600",
        "1700",
        "4500",
    )
    resp_segs = (Seg("response", "string", "", "generic", "", filename="response.txt"),)
    out.append(
        Series(
            "aia.response",
            "AIA instrument response table",
            ("T_START", "WAVE_STR"),
            small_keywords(
                resp_segs,
                [
                    _time_kw("T_START", "tai:0", "variable", "Start of validity"),
                    Kw("WAVE_STR", note="Wavelength and filter"),
                ],
                [
                    Kw("EFF_AREA", "float", "%.6f", units="cm^2", note="Effective area at peak"),
                    Kw("VER_NUM", "int", "%d", note="Version"),
                ],
            ),
            resp_segs,
            (ValuesAxis("T_START", resp_times), ValuesAxis("WAVE_STR", resp_waves)),
        )
    )

    # Helioseismology: 72-day rotation inversions.
    sht_slot = SlotAxis(
        "T_START", 72 * 86400.0, _t("2010.04.30_00:00:00_TAI"), None, _t("2010.04.30_00:00:00_TAI")
    )
    sht_segs = (
        Seg("split", "string", "", "generic", "", "frequency splittings", "splittings.out"),
        Seg("rot", "string", "", "generic", "", "rotation rate", "rot.2d"),
        Seg("err", "string", "", "generic", "", "errors of the rotation rate", "err.2d"),
    )
    out.append(
        Series(
            "hmi.v_sht_2drls",
            "2d rls inversions for rotation",
            ("T_START", "LMIN", "LMAX", "NDT", "NACOEFF"),
            small_keywords(
                sht_segs,
                [
                    _time_kw("T_START", "tai:0", "ts_eq", "Start time of the time series"),
                    *slot_keywords(sht_slot),
                    Kw("LMIN", "int", "%d", note="Minimum degree"),
                    Kw("LMAX", "int", "%d", note="Maximum degree"),
                    Kw("NDT", "int", "%d", note="Number of 45 s time steps"),
                    Kw("NACOEFF", "int", "%d", note="Number of a-coefficients"),
                ],
                [
                    Kw("T_STOP", "time", "tai:0", defval=MISSING_TIME),
                    Kw("INSTRUME", value="HMI_FRONT2"),
                ],
            ),
            sht_segs,
            (
                sht_slot,
                ValuesAxis("LMIN", (0,)),
                ValuesAxis("LMAX", (300,)),
                ValuesAxis("NDT", (138240,)),
                ValuesAxis("NACOEFF", (6, 18, 36)),
            ),
        )
    )

    # Synoptic maps, one per Carrington rotation.
    syn_segs = (
        Seg("synopMr", "float", "Mx/cm^2", "fits", "3600x1440"),
        Seg("synopMr_small", "float", "Mx/cm^2", "fits", "720x360"),
    )
    out.append(
        Series(
            "hmi.synoptic_mr_720s",
            "HMI synoptic chart of Mr field. Mr is converted from Mlos",
            ("CAR_ROT",),
            small_keywords(
                syn_segs,
                [Kw("CAR_ROT", "int", "%d", note="Carrington rotation")],
                [
                    _time_kw("T_START", "tai:0", note="Start of the rotation"),
                    _time_kw("T_STOP", "tai:0", note="End of the rotation"),
                    _time_kw("T_REC", "tai:0", note="Central meridian time"),
                    Kw("TELESCOP", value="SDO/HMI"),
                    Kw("INSTRUME", value="HMI_SIDE1"),
                    Kw("QUALITY", "int", "0x%08x", defval="0"),
                ],
            ),
            syn_segs,
            (IntAxis("CAR_ROT", 2097),),
        )
    )

    # IRIS level 1: unslotted T_OBS, FSN.
    iris_segs = (Seg("image_lev1", "short", "DN", "fits", "VARxVAR"),)
    out.append(
        Series(
            "iris.lev1",
            "IRIS Level 1",
            ("T_OBS", "FSN"),
            small_keywords(
                iris_segs,
                [
                    _time_kw("T_OBS", "tai:2", note="Observation time"),
                    Kw("FSN", "int", "%d", note="Frame sequence number"),
                ],
                [
                    Kw("TELESCOP", value="IRIS"),
                    Kw("INSTRUME", note="FUV, NUV or SJI"),
                    Kw("IMG_PATH", note="Image path"),
                    Kw("EXPTIME", "float", "%.6f", units="s"),
                    Kw("QUALITY", "int", "0x%08x", defval="0"),
                ],
            ),
            iris_segs,
            (IntAxis("T_OBS", 0), IntAxis("FSN", 1)),
            model="iris",
        )
    )

    # MDI (1996 - 2011).
    for name, note, step, segname, bunit in (
        ("mdi.fd_V", "MDI Full Disk Dopplergram", 60.0, "data", "m/s"),
        ("mdi.fd_M_96m_lev182", "MDI Full Disk 96m Magnetogram", 5760.0, "data", "Gauss"),
        ("mdi.fd_M_lev182", "MDI Full Disk 01-m Magnetogram", 60.0, "data", "Gauss"),
    ):
        slot = SlotAxis(
            "T_REC",
            step,
            MDI_EPOCH,
            None,
            _t("1996.05.01_00:00:00_TAI"),
            _t("2011.04.12_00:00:00_TAI"),
        )
        segs = (Seg(segname, "float", bunit, "fits", "1024x1024"),)
        out.append(
            Series(
                name,
                note,
                ("T_REC",),
                small_keywords(
                    segs,
                    [_time_kw("T_REC", "tai:0", "ts_eq", "[TAI] Slot time"), *slot_keywords(slot)],
                    [
                        _time_kw("T_OBS", "tai:0", note="Observation time"),
                        Kw("TELESCOP", value="SOHO"),
                        Kw("INSTRUME", value="MDI"),
                        Kw("BUNIT", value=bunit),
                        Kw("QUALITY", "int", "0x%08x", defval="0"),
                        Kw("CAR_ROT", "int", "%d"),
                        Kw("CRLT_OBS", "float", "%.6f", units="deg"),
                        Kw("CRLN_OBS", "float", "%.6f", units="deg"),
                    ],
                ),
                segs,
                (slot,),
            )
        )
    return out


# --- canonical case for the generic names --------------------------------------------------

_OBS_RE = re.compile(r"^hmi\.(m|v|ic|ld|lw|b|s|me)_(45s|90s|135s|720s|5760s)((?:_[a-z0-9]+)*)$")
_OBS_CASE = {"m": "M", "v": "V", "ic": "Ic", "ld": "Ld", "lw": "Lw", "b": "B", "s": "S", "me": "ME"}


def canonical_name(name: str) -> str:
    """JSOC's mixed case for the HMI observables (``hmi.M_45s``, ``hmi.M_720s_dconS``)."""
    m = _OBS_RE.match(name)
    if not m or m[3] in ("_mod", "_nrt"):
        return name
    suffix = m[3].replace("_dcons", "_dconS")
    return f"hmi.{_OBS_CASE[m[1]]}_{m[2]}{suffix}"


_CADENCE_RE = re.compile(r"_(\d+)(s|m|h|d)(?:_|$)")


def _generic(name: str, note: str) -> Series:
    m = _CADENCE_RE.search(name[name.index(".") :])
    step = 86400.0
    if m:
        step = float(m[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]]
        if step < 12:
            step = 86400.0
    if name.startswith("mdi."):
        first, last = _t("1996.05.01_00:00:00_TAI"), _t("2011.04.12_00:00:00_TAI")
    elif name.startswith("aia."):
        first, last = AIA_FIRST, None
    else:
        first, last = HMI_FIRST, None
    epoch = 0.0 if name.startswith("aia.") else HMI_EPOCH
    slot = SlotAxis("T_REC", step, epoch, None, first, last)
    segs = (Seg("data", "float", "", "fits", "VARxVAR"),)
    instrument = name.split(".", 1)[0].upper()
    return Series(
        name,
        note,
        ("T_REC",),
        small_keywords(
            segs,
            [_time_kw("T_REC", "tai:0", "ts_eq", "[TAI] Slot time"), *slot_keywords(slot)],
            [
                Kw("TELESCOP", value="SOHO" if instrument == "MDI" else "SDO"),
                Kw("INSTRUME", value=instrument),
                Kw("QUALITY", "int", "0x%08x", defval="0"),
                Kw("CAR_ROT", "int", "%d"),
            ],
        ),
        segs,
        (slot,),
    )


def _load_names() -> list[tuple[str, str]]:
    data = json.loads(SERIES_JSON.read_text(encoding="utf-8"))
    return [(s["name"], s.get("description", "")) for s in data["series"]]


@functools.cache
def catalogue() -> dict[str, Series]:
    """All series by lower-cased name, in sorted name order; ``number`` set per series."""
    detailed = {s.name.lower(): s for s in _build()}
    merged: dict[str, Series] = dict(detailed)
    for name, note in _load_names():
        low = name.lower()
        if low not in merged:
            merged[low] = _generic(canonical_name(name), note)
    out: dict[str, Series] = {}
    for i, low in enumerate(sorted(merged)):
        s = merged[low]
        object.__setattr__(s, "number", i + 1)
        out[low] = s
    return out


def get_series(name: str) -> Series | None:
    return catalogue().get(name.strip().lower())


def series_by_number(number: int) -> Series | None:
    for s in catalogue().values():
        if s.number == number:
            return s
    return None


def series_names() -> list[str]:
    """Canonical names, sorted case-insensitively (like show_series)."""
    return [s.name for s in catalogue().values()]


def series_info(name: str) -> SeriesInfo:
    """The :class:`SeriesInfo` of a demo series (case-insensitive); KeyError if unknown."""
    s = get_series(name)
    if s is None:
        raise KeyError(name)
    return s.info()
