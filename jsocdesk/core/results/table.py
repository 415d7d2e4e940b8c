"""Results out: the loaded rows of a :class:`ResultSet` as an astropy Table, CSV or ECSV.

* integer and real keywords become (masked) numeric columns, ``MISSING`` values masked, with
  the keyword's unit from the series metadata when astropy understands it (the DRMS unit
  text is kept in the column's ``meta`` either way);
* time keywords become :class:`astropy.time.Time` columns in their own scale (``T_REC`` in
  TAI, AIA's ISO times in UTC), missing times masked;
* text keywords and segment columns stay strings.

ECSV keeps all of that (units, Time columns with their scale, masks); CSV keeps the values
(times as ISO text).  Files are written atomically (a temp file beside the target).
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from jsocdesk.core.atomic import atomic_write_text
from jsocdesk.core.errors import JsocdeskError
from jsocdesk.core.jsoc.columns import Column, ColumnKind

if TYPE_CHECKING:
    from astropy.table import Table

    from jsocdesk.core.results.resultset import ResultSet
    from jsocdesk.core.seriesinfo import SeriesInfo

__all__ = ["TABLE_FORMATS", "TableFormat", "format_of", "result_table", "save_results"]

TableFormat = Literal["csv", "ecsv"]
TABLE_FORMATS: dict[TableFormat, str] = {"csv": "ascii.csv", "ecsv": "ascii.ecsv"}


class TableWriteError(JsocdeskError):
    """The table could not be written."""


def format_of(path: str | os.PathLike[str]) -> TableFormat:
    """``csv`` or ``ecsv`` from the file name (``.ecsv`` → ECSV, anything else CSV)."""
    return "ecsv" if Path(path).suffix.lower() == ".ecsv" else "csv"


def _unit(info: SeriesInfo | None, name: str) -> tuple[Any, str]:
    """(astropy unit or None, the DRMS unit text)."""
    if info is None:
        return None, ""
    kw = info.keyword(name)
    text = (kw.units if kw is not None else "").strip()
    if not text or text.lower() in ("none", "na", "n/a", "dimensionless"):
        return None, text
    import astropy.units as u

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            unit = u.Unit(text, parse_strict="silent")
        except (ValueError, TypeError):
            return None, text
    if isinstance(unit, u.UnrecognizedUnit):
        return None, text
    return unit, text


def _column(col: Column, rows: npt.NDArray[np.int64] | None, info: SeriesInfo | None) -> Any:
    from astropy.table import MaskedColumn

    values = col.values if rows is None else col.values[rows]
    missing = col.missing if rows is None else col.missing[rows]
    if col.kind is ColumnKind.TIME:
        from astropy.time import Time, TimeDelta

        epoch = Time("1977-01-01T00:00:00", scale="tai")
        seconds = np.where(missing, 0.0, values)
        t = epoch + TimeDelta(seconds, format="sec")
        t = t.tai if col.zone == "TAI" else t.utc
        t.format = "isot"
        if missing.any():
            t[missing] = np.ma.masked
        t.info.name = col.name
        return t
    unit, unit_text = _unit(info, col.name)
    meta = {"drms_unit": unit_text} if unit_text else {}
    if col.kind in (ColumnKind.INTEGER, ColumnKind.REAL):
        return MaskedColumn(values, name=col.name, mask=missing, unit=unit, meta=meta)
    texts = np.char.decode(values.astype(np.bytes_), "utf-8", "replace")
    return MaskedColumn(texts, name=col.name, mask=missing, meta=meta)


def result_table(
    rs: ResultSet,
    names: list[str] | None = None,
    rows: npt.NDArray[np.int64] | None = None,
) -> Table:
    """The loaded rows (or ``rows``, in that order) of ``names`` (default: all columns)."""
    from astropy.table import Table

    names = list(names or rs.column_names)
    table = Table(meta={"recordset": rs.recordset})
    if rs.loaded == 0:
        for name in names:
            table[name] = np.zeros(0)
        return table
    for name in names:
        table[name] = _column(rs.column(name), rows, rs.series)
    return table


def save_results(
    rs: ResultSet,
    path: str | os.PathLike[str],
    fmt: TableFormat | None = None,
    *,
    names: list[str] | None = None,
    rows: npt.NDArray[np.int64] | None = None,
) -> int:
    """Write the table as CSV or ECSV (from the name unless ``fmt``); returns the row count.

    Raises :class:`TableWriteError` when the file cannot be written.
    """
    fmt = fmt or format_of(path)
    if fmt not in TABLE_FORMATS:
        raise ValueError(f"unknown table format {fmt!r}")
    table = result_table(rs, names, rows)
    buf = io.StringIO()
    table.write(buf, format=TABLE_FORMATS[fmt])
    try:
        atomic_write_text(path, buf.getvalue())
    except OSError as exc:
        raise TableWriteError(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(table)
