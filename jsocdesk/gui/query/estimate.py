"""A rough export-size estimate from series metadata (shown next to the live count).

JSOC does not say how big a record's files are before an export, so the estimate multiplies
the record count by the uncompressed size of the selected segments (``dims`` × bytes of the
segment type).  Segments with variable dimensions (``VARxVAR``, e.g. SHARP patches) count as
:data:`VARIABLE_SEGMENT_BYTES`.  It is labelled an estimate in the UI; FITS files on JSOC are
usually Rice-compressed and smaller.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from jsocdesk.core.seriesinfo import SeriesInfo

TYPE_BYTES = {
    "char": 1,
    "short": 2,
    "int": 4,
    "longlong": 8,
    "float": 4,
    "double": 8,
}
VARIABLE_SEGMENT_BYTES = 1_000_000
GENERIC_SEGMENT_BYTES = 100_000


def segment_bytes(dims: str | None, type_name: str) -> int:
    if not dims:
        return GENERIC_SEGMENT_BYTES
    try:
        sizes = [int(d) for d in dims.lower().split("x")]
    except ValueError:
        return VARIABLE_SEGMENT_BYTES
    return math.prod(sizes) * TYPE_BYTES.get(type_name, 4)


def record_bytes(info: SeriesInfo, segments: Sequence[str] = ()) -> int:
    """Bytes of one record's files: the named segments, or all of them when none is named."""
    chosen = [info.segment(s) for s in segments] if segments else list(info.segments)
    return sum(segment_bytes(s.dims, s.type) for s in chosen if s is not None)


def human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"
