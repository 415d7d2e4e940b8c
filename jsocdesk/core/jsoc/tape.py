"""Online or on tape: JSOC's ``*online*`` pseudo-keyword, and the warning the plan shows.

JSOC keeps recent and popular data on disk; the rest of its storage units live on tape and
must be staged before an export can finish (slow: minutes to hours), and JSOC may refuse
large requests for offline data.  ``rs_list`` with ``key=*online*`` answers ``Y`` or ``N``
per record (for the storage unit holding it).

:func:`tape_status` lists that one pseudo-keyword for at most ``limit`` records (the first
ones; beyond that the offline share is extrapolated and said to be an estimate), so the
check stays cheap for a million records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from jsocdesk.core.jsoc.client import JsocClient

__all__ = ["ONLINE_KEY", "TAPE_SURVEY_LIMIT", "TapeStatus", "online_flags", "tape_status"]

ONLINE_KEY = "*online*"
#: Records whose status is listed at most (one short string each).
TAPE_SURVEY_LIMIT = 50_000
#: Offline records above which the warning adds that JSOC may refuse the request.
LARGE_TAPE_REQUEST = 5_000


@dataclass(frozen=True)
class TapeStatus:
    """``offline`` of the ``listed`` first records are on tape; ``total`` in the set."""

    total: int
    listed: int
    offline: int

    @property
    def partial(self) -> bool:
        return self.listed < self.total

    @property
    def estimated_offline(self) -> int:
        if not self.listed:
            return 0
        return round(self.offline * self.total / self.listed)

    def warning(self) -> str | None:
        """What the export plan says about tape, or ``None`` when everything is online."""
        if not self.offline:
            return None
        n = self.estimated_offline
        share = f"about {n:,}" if self.partial else f"{n:,}"
        text = (
            f"{share} of {self.total:,} records are on tape: JSOC must stage them before the "
            "export finishes (slow: minutes to hours)"
        )
        if n >= LARGE_TAPE_REQUEST:
            text += "; JSOC may refuse a request this large from tape: export it in parts"
        return text + "."


def online_flags(values: np.ndarray) -> np.ndarray:
    """``*online*`` texts (bytes or str) → bool array (``Y`` = online)."""
    arr = np.asarray(values)
    texts = arr if arr.dtype.kind == "S" else np.char.encode(arr.astype(str), "utf-8")
    flags: np.ndarray = np.char.upper(np.char.strip(texts)) == b"Y"
    return flags


async def tape_status(
    client: JsocClient, record_set: str, total: int | None = None, *, limit: int = TAPE_SURVEY_LIMIT
) -> TapeStatus:
    """Count the offline records of ``record_set`` (the first ``limit`` of them)."""
    if total is None:
        total = await client.count(record_set)
    if total <= 0:
        return TapeStatus(0, 0, 0)
    result = await client.query(record_set, [ONLINE_KEY], limit=min(total, max(1, limit)))
    col = next(c for name, c in result.keywords.items() if name.lower() == ONLINE_KEY)
    flags = online_flags(col.values)
    return TapeStatus(total=total, listed=len(flags), offline=int((~flags).sum()))
