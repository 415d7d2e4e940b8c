"""One download: its identity, its state machine and its progress figures."""

from __future__ import annotations

import math
import time
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsocdesk.core import jsonfields as jf
from jsocdesk.core.download.names import PART_SUFFIX
from jsocdesk.core.errors import DownloadError


class DownloadState(StrEnum):
    QUEUED = "queued"
    ACTIVE = "active"
    PAUSED = "paused"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


S = DownloadState

#: the legal transitions.  ACTIVE → QUEUED happens when a transfer waits for its next retry
#: or when the app stops while it runs; FAILED/CANCELLED → QUEUED is a user's retry;
#: DONE → QUEUED is an explicit re-download.
TRANSITIONS: dict[DownloadState, frozenset[DownloadState]] = {
    S.QUEUED: frozenset({S.ACTIVE, S.PAUSED, S.CANCELLED, S.DONE, S.FAILED}),
    S.ACTIVE: frozenset({S.QUEUED, S.PAUSED, S.DONE, S.FAILED, S.CANCELLED}),
    S.PAUSED: frozenset({S.QUEUED, S.CANCELLED}),
    S.FAILED: frozenset({S.QUEUED, S.CANCELLED}),
    S.CANCELLED: frozenset({S.QUEUED}),
    S.DONE: frozenset({S.QUEUED}),
}

FINISHED_STATES = frozenset({S.DONE, S.FAILED, S.CANCELLED})
#: an active download that received nothing for this long is "stalled" (no ETA then)
STALL_AFTER_S = 5.0


class InvalidTransition(DownloadError):
    """A state change the download state machine does not allow."""

    def __init__(self, item: DownloadItem, new: DownloadState) -> None:
        super().__init__(f"cannot go from {item.state.value} to {new.value} ({item.target.name})")
        self.item = item
        self.new = new


class DownloadItem:
    """A file to fetch from ``url`` into ``target``.

    ``expected_size`` and ``checksum`` (``"md5:<hex>"`` / ``"sha256:<hex>"``) come from the
    export listing when known; ``key`` is the catalogue key (record spec + ``{segment}``) that
    lets a later run recognise the same file.  ``bytes_done`` counts bytes safely in the
    ``.part`` file (or the final file once done); ``total`` is the size the server announced.
    ``speed`` is an exponentially smoothed rate in bytes/s (time constant
    :attr:`SPEED_TAU` seconds), updated by the engine at most every progress interval.
    ``etag`` / ``last_modified`` are the validators of the partial file, used on resume to
    check that the server still has the same file.

    ``unpack`` (for ``url-tar`` exports): once the archive is complete and verified the engine
    extracts its regular files into the target's folder and removes the archive (unless the
    engine keeps archives); ``member_keys`` maps member base names to their catalogue keys
    and ``extracted`` lists the (file name, size) of what was extracted, which is what
    :meth:`outputs_present` checks for such an item.
    """

    SPEED_TAU = 2.0

    def __init__(
        self,
        url: str,
        target: Path,
        *,
        expected_size: int | None = None,
        checksum: str | None = None,
        key: str | None = None,
        item_id: str | None = None,
        unpack: bool = False,
        member_keys: dict[str, str] | None = None,
    ) -> None:
        self.id = item_id or uuid.uuid4().hex
        self.url = url
        self.target = Path(target)
        self.expected_size = expected_size
        self.checksum = checksum
        self.key = key
        self.unpack = unpack
        self.member_keys: dict[str, str] = dict(member_keys or {})
        self.extracted: list[tuple[str, int]] = []
        self.state = DownloadState.QUEUED
        self.bytes_done = 0
        self.total: int | None = expected_size
        self.speed = 0.0
        self.error: str | None = None
        self.attempts = 0
        self.etag: str | None = None
        self.last_modified: str | None = None
        self.next_attempt_at: float | None = None  # monotonic time of a scheduled retry
        self.consecutive_failures = 0  # failed attempts in a row without progress
        self._speed_ref: tuple[float, int] | None = None
        #: monotonic time bytes last arrived (while active; None: not sampled yet)
        self.progress_at: float | None = None

    # --- derived values
    @property
    def host(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.hostname or ''}:{parts.port or ''}"

    @property
    def part_path(self) -> Path:
        return self.target.with_name(self.target.name + PART_SUFFIX)

    @property
    def size_hint(self) -> int | None:
        return self.total if self.total is not None else self.expected_size

    @property
    def fraction(self) -> float | None:
        size = self.size_hint
        if not size:
            return 1.0 if self.state is S.DONE else None
        return min(1.0, self.bytes_done / size)

    @property
    def eta(self) -> float | None:
        """Seconds left at the smoothed speed; ``None`` when unknown."""
        size = self.size_hint
        if self.state is not S.ACTIVE or size is None or self.speed <= 1.0:
            return None
        return max(0.0, (size - self.bytes_done) / self.speed)

    def stalled(self, now: float | None = None, after: float | None = None) -> bool:
        """Active, and no byte arrived for ``after`` seconds (default
        :data:`STALL_AFTER_S`): an ETA from the decaying smoothed speed would be fiction."""
        if self.state is not S.ACTIVE or self.progress_at is None:
            return False
        now = time.monotonic() if now is None else now
        return now - self.progress_at >= (STALL_AFTER_S if after is None else after)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    def outputs_present(self) -> bool:
        """Whether the files a finished download produced are on disk with their sizes.

        For an unpacked archive: every extracted file (the archive itself is usually gone);
        otherwise the target with the size of the transfer.  Blocking (``stat`` calls).
        """
        if self.unpack and self.extracted:
            folder = self.target.parent
            return all(_has_size(folder / name, size) for name, size in self.extracted)
        size = self.total if self.total is not None else self.bytes_done
        return _has_size(self.target, size)

    # --- state machine
    def can_transition(self, new: DownloadState) -> bool:
        return new in TRANSITIONS[self.state]

    def transition(self, new: DownloadState, error: str | None = None) -> None:
        """Move to ``new``; raises :class:`InvalidTransition` if the machine forbids it."""
        if new is self.state:
            if error is not None:
                self.error = error
            return
        if not self.can_transition(new):
            raise InvalidTransition(self, new)
        self.state = new
        self.error = error if new is S.FAILED else (error or None)
        if new is not S.ACTIVE:
            self.speed = 0.0
            self._speed_ref = None
            self.progress_at = None
        if new is not S.QUEUED:
            self.next_attempt_at = None

    # --- progress
    def sample_speed(self, now: float | None = None) -> None:
        """Fold the bytes moved since the previous sample into the smoothed speed."""
        now = time.monotonic() if now is None else now
        if self._speed_ref is None:
            self._speed_ref = (now, self.bytes_done)
            self.progress_at = now
            return
        t0, b0 = self._speed_ref
        if self.bytes_done > b0:
            self.progress_at = now
        dt = now - t0
        if dt <= 0:
            return
        rate = max(0, self.bytes_done - b0) / dt
        alpha = 1.0 - math.exp(-dt / self.SPEED_TAU)
        self.speed = rate if self.speed == 0.0 else self.speed + alpha * (rate - self.speed)
        self._speed_ref = (now, self.bytes_done)

    def reset_speed(self) -> None:
        self.speed = 0.0
        self._speed_ref = None
        self.progress_at = None

    # --- persistence
    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "target": str(self.target),
            "expected_size": self.expected_size,
            "checksum": self.checksum,
            "key": self.key,
            "state": self.state.value,
            "bytes_done": self.bytes_done,
            "total": self.total,
            "error": self.error,
            "attempts": self.attempts,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "unpack": self.unpack,
            "member_keys": self.member_keys,
            "extracted": [[name, size] for name, size in self.extracted],
        }

    @classmethod
    def from_json(cls, data: Any) -> DownloadItem:
        """An item from :meth:`to_json`'s dict; a malformed one raises
        :class:`~jsocdesk.core.jsonfields.FieldError` (a ``ValueError``) naming the field."""
        d = jf.get_object(data, "download")
        extracted: list[tuple[str, int]] = []
        for pair in jf.get_list(d, "extracted", []):
            if not (isinstance(pair, list) and len(pair) == 2):
                raise jf.FieldError("'extracted' must hold [name, size] pairs")
            entry = {"name": pair[0], "size": pair[1]}
            extracted.append((jf.get_str(entry, "name"), jf.get_int(entry, "size")))
        item = cls(
            jf.get_str(d, "url"),
            Path(jf.get_str(d, "target")),
            expected_size=jf.get_opt_int(d, "expected_size"),
            checksum=jf.get_opt_str(d, "checksum"),
            key=jf.get_opt_str(d, "key"),
            item_id=jf.get_str(d, "id"),
            # absent in files written before archives could be unpacked
            unpack=jf.get_bool(d, "unpack", False),
            member_keys=jf.get_str_map(d, "member_keys"),
        )
        try:
            item.state = DownloadState(jf.get_str(d, "state"))
        except ValueError:
            raise jf.FieldError(f"'state' {d.get('state')!r} is not a download state") from None
        item.bytes_done = jf.get_int(d, "bytes_done", 0)
        item.total = jf.get_opt_int(d, "total")
        item.error = jf.get_opt_str(d, "error")
        item.attempts = jf.get_int(d, "attempts", 0)
        item.etag = jf.get_opt_str(d, "etag")
        item.last_modified = jf.get_opt_str(d, "last_modified")
        item.extracted = extracted
        return item

    def __repr__(self) -> str:
        size = self.size_hint
        return (
            f"<DownloadItem {self.target.name!r} {self.state.value} "
            f"{self.bytes_done}/{size if size is not None else '?'} attempts={self.attempts}>"
        )


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False
