"""Cutting a record set on time boundaries into chunks that each fit the server's caps.

The input is the cheap listing of the query's time prime key (one ``rs_list`` column, DRMS
seconds, in prime-key order).  Records that share a time (the wavelengths of one AIA
instant, the cameras of one HMI slot) always stay in the same chunk: chunks are cut between
two distinct times only.  Each chunk becomes the original record set with its time bracket
replaced:

* slotted time keys: the inclusive range ``first-last`` of the chunk's own record times.
  Those are slots of the original selection, so a sample (``@10m``) counted from the chunk's
  first record keeps the original grid, and consecutive chunks share no slot;
* unslotted time keys: half-open ``start/duration`` ranges whose boundaries lie between the
  last record of a chunk and the first of the next (on the sample grid when there is one).

Either way every record of the query lands in exactly one chunk (tests check it against the
server: the chunks' counts add up to the query's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from jsocdesk.core import drmstime
from jsocdesk.core.jsoc.export import TimeRange, find_time_range


@dataclass(frozen=True)
class Caps:
    """What one export may hold.

    ``max_mb``: the server's size cap (JSOC: 100,000 MB); ``max_records``: records per
    request (JSOC has no fixed number but fails "too many records" on huge requests);
    ``max_span``: longest time span of one chunk in seconds (JSOC staff advise month-sized
    exports; ``None`` = no limit); ``margin``: the fraction of ``max_mb`` a chunk is planned
    to fill, since sizes are estimates.
    """

    max_mb: float = 100_000.0
    max_records: int = 50_000
    max_span: float | None = 31 * 86400.0
    margin: float = 0.9

    def records_per_chunk(self, bytes_per_record: float) -> int:
        """How many records fit one chunk at ``bytes_per_record``."""
        by_size = (
            math.floor(self.max_mb * 1e6 * self.margin / bytes_per_record)
            if bytes_per_record > 0
            else self.max_records
        )
        return max(1, min(self.max_records, by_size))


@dataclass(frozen=True)
class ChunkSpec:
    """One planned chunk: its record set, its records and its time span (DRMS seconds)."""

    recordset: str
    records: int
    first: float
    last: float
    #: True when one instant alone holds more records than fit a chunk (cannot be cut)
    oversize: bool = False


class CannotSplit(ValueError):
    """The record set has no time range to cut on."""


def split_on_times(
    recordset: str,
    times: npt.NDArray[np.float64],
    *,
    per_chunk: int,
    max_span: float | None = None,
    slot: float | None = None,
) -> list[ChunkSpec]:
    """Chunks of ``recordset`` holding at most ``per_chunk`` records and spanning less than
    ``max_span`` seconds each (see the module docstring).

    ``times``: the time key of every record, sorted ascending (NaN for a missing value;
    such records cannot be placed and raise :class:`CannotSplit`); ``slot``: the slot width
    of a slotted time key (``None`` for an unslotted key).  A record set that fits one chunk
    comes back unchanged.
    """
    n = int(times.shape[0])
    if n == 0:
        return [ChunkSpec(recordset, 0, math.nan, math.nan)]
    if np.isnan(times).any():
        raise CannotSplit("some records have no time: they cannot be placed in a time chunk")
    first_t, last_t = float(times[0]), float(times[-1])
    if n <= per_chunk and (max_span is None or last_t - first_t < max_span):
        return [ChunkSpec(recordset, n, first_t, last_t)]
    rng = find_time_range(recordset)
    if rng is None:
        raise CannotSplit(f"{recordset!r} has no time range to cut into chunks")
    if bool((np.diff(times) < 0).any()):
        times = np.sort(times, kind="stable")
    # group starts: the index of the first record of each distinct time
    starts = np.flatnonzero(np.r_[True, times[1:] != times[:-1]])
    group_t = times[starts]
    n_groups = int(starts.shape[0])
    # chunk = groups [g, end): the records starts_ext[g] .. starts_ext[end] - 1
    starts_ext = np.r_[starts, n]
    bounds: list[tuple[int, int, bool]] = []  # (first group, end group, oversize)
    g = 0
    while g < n_groups:
        limit = int(starts_ext[g]) + per_chunk
        end = min(n_groups, int(np.searchsorted(starts_ext, limit, side="right")) - 1)
        if max_span is not None:
            end = min(end, int(np.searchsorted(group_t, group_t[g] + max_span, side="left")))
        oversize = end <= g and int(starts_ext[g + 1]) - int(starts_ext[g]) > per_chunk
        end = max(end, g + 1)
        bounds.append((g, end, oversize))
        g = end
    out: list[ChunkSpec] = []
    for i, (ga, gb, oversize) in enumerate(bounds):
        rec_a = int(starts[ga])
        rec_b = int(starts[gb]) if gb < n_groups else n
        t_a, t_b = float(group_t[ga]), float(group_t[gb - 1])
        next_t = float(group_t[gb]) if gb < n_groups else None
        prev_t = float(group_t[ga - 1]) if ga > 0 else None
        content = _content(rng, t_a, t_b, prev_t, next_t, slot, i == 0, i == len(bounds) - 1)
        out.append(ChunkSpec(rng.replace(recordset, content), rec_b - rec_a, t_a, t_b, oversize))
    return out


def _fmt(seconds: float) -> str:
    whole = abs(seconds - round(seconds)) < 1e-6
    return drmstime.format_tai(seconds, 0 if whole else 3)


def _content(
    rng: TimeRange,
    t_a: float,
    t_b: float,
    prev_t: float | None,
    next_t: float | None,
    slot: float | None,
    is_first: bool,
    is_last: bool,
) -> str:
    if slot:
        return f"{_fmt(t_a)}-{_fmt(t_b)}{rng.suffix}"
    # unslotted: half-open [lo, hi) boundaries between the chunks' records
    lo = rng.start if is_first else _boundary(rng, prev_t, t_a)
    if is_last:
        hi = rng.end if rng.half_open else math.nextafter(rng.end, math.inf)
    else:
        assert next_t is not None
        hi = _boundary(rng, t_b, next_t)
    return f"{_fmt(lo)}/{_duration(hi - lo)}{rng.suffix}"


def _boundary(rng: TimeRange, before: float | None, after: float) -> float:
    """A cut between the times ``before`` and ``after`` (on the sample grid if sampled)."""
    if rng.sample:
        # sampled records sit on the grid start + k*sample: cut at the next one's grid point
        k = round((after - rng.start) / rng.sample)
        return rng.start + k * rng.sample
    if before is None:
        return after
    return (before + after) / 2.0


def _duration(seconds: float) -> str:
    text = f"{seconds:.6f}".rstrip("0").rstrip(".")
    return f"{text}s"
