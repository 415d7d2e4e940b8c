"""The download queue: an evented list of :class:`DownloadItem` plus per-item commands.

The queue is a pure container (no asyncio): it validates state changes, announces them
(``events.*`` of :class:`~jsocdesk.core.events.EventedList` for a Qt model, plus
:attr:`DownloadQueue.state_changed`) and answers the engine's question "what may start now?"
under the concurrency limits.  Order matters: the engine starts queued items from the top,
so :meth:`DownloadQueue.move_item` is how a user prioritises.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsocdesk.core.download.catalog import Catalog
from jsocdesk.core.download.item import DownloadItem, DownloadState
from jsocdesk.core.download.names import NameAllocator, filename_from_url
from jsocdesk.core.events import EventedList, Signal
from jsocdesk.core.jsoc.polite import is_jsoc_host

S = DownloadState


@dataclass(frozen=True)
class ConcurrencyLimits:
    """How many transfers may run at once, in total and against one host.

    JSOC is a shared scientific archive with limited bandwidth; sunpy uses one connection
    because JSOC asked for it ("Private communication from JSOC say we should not use more than
    one connection", ``sunpy/net/jsoc/jsoc.py``).  jsocdesk defaults to **2 per host**: one
    file downloading while the next one starts hides the per-file latency (HEAD-less start,
    TCP slow start) without hammering the archive — except toward JSOC's own hosts, which
    get ``jsoc_per_host`` (1, as JSOC asks; :mod:`jsocdesk.core.jsoc.polite`).  Raise
    ``per_host`` only for your own mirrors (the demo server, a local SUMS copy).
    """

    total: int = 4
    per_host: int = 2
    jsoc_per_host: int = 1

    def __post_init__(self) -> None:
        if self.total < 1 or self.per_host < 1 or self.jsoc_per_host < 1:
            raise ValueError("concurrency limits must be at least 1")

    def limit_for(self, host: str) -> int:
        """Simultaneous transfers allowed from ``host`` (``name:port``)."""
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        if is_jsoc_host(name):
            return min(self.per_host, self.jsoc_per_host)
        return self.per_host


@dataclass(frozen=True)
class QueueTotals:
    """Aggregate figures for a status bar."""

    count: int
    done: int
    failed: int
    active: int
    queued: int
    paused: int
    cancelled: int
    bytes_done: int
    bytes_total: int | None  # None while some size is unknown
    speed: float

    @property
    def eta(self) -> float | None:
        if self.bytes_total is None or self.speed <= 1.0 or self.active == 0:
            return None
        return max(0.0, (self.bytes_total - self.bytes_done) / self.speed)


def _same_folder(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


class DownloadQueue(EventedList[DownloadItem]):
    """Downloads in priority order, with events for every change.

    * ``events`` (inherited): before/after insert/remove/move, ``changed(index)`` when an item's
      state or progress changed (progress is published by the engine at most every progress
      interval, never per chunk);
    * :attr:`state_changed` ``(item, old_state)`` after every state transition;
    * :attr:`work_available` ``()`` when something may have become runnable;
    * :attr:`progressed` ``(QueueTotals)`` once per engine progress tick.
    """

    def __init__(
        self,
        items: Iterable[DownloadItem] = (),
        *,
        limits: ConcurrencyLimits | None = None,
        catalog: Catalog | None = None,
    ) -> None:
        super().__init__()
        self.limits = limits or ConcurrencyLimits()
        self.catalog = catalog
        # indexes, so that queues of many thousand files stay O(1) per operation
        self._by_id: dict[str, DownloadItem] = {}
        self._by_key: dict[str, DownloadItem] = {}
        self._by_url: dict[tuple[str, Path], DownloadItem] = {}
        self._names: dict[Path, set[str]] = {}
        self._name_hints: dict[Path, dict[str, int]] = {}
        self._positions: dict[str, int] | None = None
        # running figures, so that a queue of 100,000 files answers totals(), idle and
        # next_runnable() without a pass over every item (see _enter/_leave)
        self._counts: Counter[DownloadState] = Counter()
        self._active: dict[str, DownloadItem] = {}
        self._settled: dict[str, tuple[int, int | None]] = {}
        self._settled_bytes = 0
        self._settled_total = 0
        self._unknown_sizes = 0
        self._queued: list[DownloadItem] | None = None  # queued items in queue order
        self._queued_from = 0  # entries before this index are no longer queued
        self.extend(items)
        self.state_changed = Signal("state_changed")
        self.work_available = Signal("work_available")
        self.progressed = Signal("progressed")

    # --- adding
    def add(
        self,
        url: str,
        folder: Path,
        *,
        name: str | None = None,
        expected_size: int | None = None,
        checksum: str | None = None,
        key: str | None = None,
        unpack: bool = False,
        member_keys: dict[str, str] | None = None,
    ) -> DownloadItem:
        """Queue ``url`` for download into ``folder`` and return its item.

        The local name is ``name`` (or the URL's last path component) made safe and unique in
        the folder.  If the queue already holds the same file (same ``key``, or same URL into
        the same folder) that item is returned instead (with its URL updated if the file moved
        on the server, e.g. a new export of the same record); if the catalogue knows ``key``
        and the file is still on disk in ``folder``, the item is added as already done; if it
        is on disk in another folder, the item is queued and the engine hard-links or copies
        that file here instead of downloading it (a path reported done always holds the
        file).  ``unpack`` and
        ``member_keys``: see :class:`DownloadItem` (archives of ``url-tar`` exports).
        """
        folder = Path(folder)
        existing = self._find_same(url, folder, key)
        if existing is not None:
            if existing.url != url and existing.state is not S.ACTIVE:
                self._set_url(existing, url)
                self.notify_item(existing)
            return existing
        known = self.catalog.lookup(key) if (self.catalog is not None and key) else None
        if known is not None and _same_folder(known.path.parent, folder):
            # fetched into this folder before: that file is this download
            item = DownloadItem(url, known.path, expected_size=known.size, key=key)
            item.state = S.DONE
            item.bytes_done = item.total = known.size
            self.append(item)
            return item
        # fetched into another folder (``known``): the engine links or copies it here
        allocator = NameAllocator(
            folder, self._names.get(folder, ()), self._name_hints.setdefault(folder, {})
        )
        target = allocator.allocate(name if name else filename_from_url(url))
        item = DownloadItem(
            url,
            target,
            expected_size=expected_size,
            checksum=checksum,
            key=key,
            unpack=unpack,
            member_keys=member_keys,
        )
        self.append(item)
        self.work_available.emit()
        return item

    def add_items(self, items: Iterable[DownloadItem]) -> None:
        """Insert ready-made items (e.g. loaded from the store) at the end."""
        self.extend(items)
        self.work_available.emit()

    def _find_same(self, url: str, folder: Path, key: str | None) -> DownloadItem | None:
        for it in (
            self._by_key.get(key) if key is not None else None,
            self._by_url.get((url, folder)),
        ):
            if it is not None and it.state is not S.CANCELLED:
                return it
        return None

    # --- running figures: every item's contribution is taken out before it changes and put
    # back after (state changes go through set_state, figure changes through notify_item)
    def _enter(self, item: DownloadItem) -> None:
        self._counts[item.state] += 1
        if item.state is S.ACTIVE:
            self._active[item.id] = item  # counted live: its figures move all the time
        elif item.state is not S.CANCELLED:
            size = item.size_hint
            self._settled[item.id] = (item.bytes_done, size)
            self._settled_bytes += item.bytes_done
            if size is None:
                self._unknown_sizes += 1
            else:
                self._settled_total += size

    def _leave(self, item: DownloadItem) -> None:
        self._counts[item.state] -= 1
        if self._active.pop(item.id, None) is not None:
            return
        figures = self._settled.pop(item.id, None)
        if figures is not None:
            done, size = figures
            self._settled_bytes -= done
            if size is None:
                self._unknown_sizes -= 1
            else:
                self._settled_total -= size

    def _queued_items(self) -> list[DownloadItem]:
        """Queued items in queue order (rebuilt after a structural change or when an item
        became queued; items that left the queued state are skipped and dropped lazily)."""
        if self._queued is None:
            self._queued = [it for it in self if it.state is S.QUEUED]
            self._queued_from = 0
        q = self._queued
        while self._queued_from < len(q) and q[self._queued_from].state is not S.QUEUED:
            self._queued_from += 1
        return q

    # --- structural changes keep the indexes current
    def _index(self, item: DownloadItem) -> None:
        self._enter(item)
        self._queued = None
        self._by_id[item.id] = item
        if item.key is not None:
            self._by_key[item.key] = item
        self._by_url[(item.url, item.target.parent)] = item
        self._names.setdefault(item.target.parent, set()).add(item.target.name.casefold())

    def _unindex(self, item: DownloadItem) -> None:
        self._leave(item)
        self._queued = None
        self._by_id.pop(item.id, None)
        if item.key is not None and self._by_key.get(item.key) is item:
            del self._by_key[item.key]
        if self._by_url.get((item.url, item.target.parent)) is item:
            del self._by_url[(item.url, item.target.parent)]
        names = self._names.get(item.target.parent)
        if names is not None:
            names.discard(item.target.name.casefold())

    def _set_url(self, item: DownloadItem, url: str) -> None:
        if self._by_url.get((item.url, item.target.parent)) is item:
            del self._by_url[(item.url, item.target.parent)]
        item.url = url
        self._by_url[(url, item.target.parent)] = item

    def insert(self, index: int, value: DownloadItem) -> None:
        n = len(self)
        if index >= n and self._positions is not None:
            self._positions[value.id] = n  # appended: the other positions stay valid
        else:
            self._positions = None
        self._index(value)
        super().insert(index, value)

    def extend(self, values: Iterable[DownloadItem]) -> None:
        new = list(values)
        base = len(self)
        if base == 0:
            self._positions = {}
        if self._positions is not None:  # appended: the other positions stay valid
            self._positions.update((it.id, base + i) for i, it in enumerate(new))
        for it in new:
            self._index(it)
        super().extend(new)

    def __delitem__(self, index: int | slice) -> None:
        if isinstance(index, int):
            self._positions = None
            self._unindex(self[index])
        super().__delitem__(index)

    def __setitem__(self, index: int | slice, value: Any) -> None:
        if isinstance(index, int):
            self._positions = None
            self._unindex(self[index])
            self._index(value)
        super().__setitem__(index, value)

    def move(self, src: int, dest: int) -> None:
        self._positions = None
        self._queued = None
        super().move(src, dest)

    def replace_all(self, values: Iterable[DownloadItem]) -> None:
        new = list(values)
        self._positions = None
        self._by_id.clear()
        self._by_key.clear()
        self._by_url.clear()
        self._names.clear()
        self._name_hints.clear()
        self._counts.clear()
        self._active.clear()
        self._settled.clear()
        self._settled_bytes = self._settled_total = self._unknown_sizes = 0
        self._queued = None
        for it in new:
            self._index(it)
        super().replace_all(new)

    def index_of(self, item: DownloadItem) -> int:
        """Position of ``item`` (amortised O(1): positions are cached between structural
        changes)."""
        if self._positions is None:
            self._positions = {it.id: i for i, it in enumerate(self)}
        i = self._positions.get(item.id)
        if i is None or self[i] is not item:
            raise ValueError("item not in queue")
        return i

    # --- lookups
    def find(self, item_id: str) -> DownloadItem:
        return self._by_id[item_id]

    def names_in(self, folder: Path) -> set[str]:
        """Case-folded file names the queue's items use in ``folder`` (a copy)."""
        return set(self._names.get(Path(folder), ()))

    def in_state(self, *states: DownloadState) -> Iterator[DownloadItem]:
        return (it for it in self if it.state in states)

    @property
    def idle(self) -> bool:
        """No item is queued or active (everything is finished or paused)."""
        return self._counts[S.QUEUED] == 0 and self._counts[S.ACTIVE] == 0

    # --- state changes (all go through here so every change is announced)
    def set_state(self, item: DownloadItem, new: DownloadState, error: str | None = None) -> None:
        old = item.state
        self._leave(item)
        try:
            item.transition(new, error)
        finally:
            self._enter(item)
        if new is S.QUEUED and old is not S.QUEUED:
            self._queued = None
        self.notify_item(item)
        if old is not new:
            self.state_changed.emit(item, old)
        if new is S.QUEUED:
            self.work_available.emit()

    def notify_item(self, item: DownloadItem) -> None:
        if item.state is not S.ACTIVE and item.state is not S.CANCELLED:
            self._leave(item)  # a settled item's figures changed (a size became known, …)
            self._enter(item)
        self.events.changed.emit(self.index_of(item))

    # --- user commands
    def pause(self, item: DownloadItem) -> None:
        """Stop (or do not start) ``item``, keeping its partial file for a later resume."""
        if item.state in (S.QUEUED, S.ACTIVE):
            self.set_state(item, S.PAUSED)

    def resume(self, item: DownloadItem) -> None:
        if item.state is S.PAUSED:
            self.set_state(item, S.QUEUED)

    def cancel(self, item: DownloadItem) -> None:
        """Give up on ``item``; the engine deletes its partial file."""
        if item.state in (S.QUEUED, S.ACTIVE, S.PAUSED, S.FAILED):
            self.set_state(item, S.CANCELLED)

    def retry(self, item: DownloadItem) -> None:
        """Queue a failed or cancelled item again (resuming any partial file)."""
        if item.state in (S.FAILED, S.CANCELLED):
            item.attempts = 0
            self.set_state(item, S.QUEUED)

    def pause_all(self) -> None:
        for it in list(self):
            self.pause(it)

    def resume_all(self) -> None:
        for it in list(self):
            self.resume(it)

    def move_item(self, item: DownloadItem, index: int) -> None:
        """Put ``item`` at position ``index`` (0 = first to start)."""
        src = self.index_of(item)
        index = max(0, min(index, len(self) - 1))
        if index == src:
            return
        self.move(src, index + 1 if index > src else index)
        self.work_available.emit()

    def remove_item(self, item: DownloadItem) -> None:
        """Forget ``item``; an active or queued one is cancelled first."""
        if item.state in (S.QUEUED, S.ACTIVE, S.PAUSED):
            self.set_state(item, S.CANCELLED)
        del self[self.index_of(item)]

    # --- scheduling
    def next_runnable(
        self, now: float | None = None, busy: Container[str] = ()
    ) -> DownloadItem | None:
        """The first queued item that may start now under the limits, or ``None``.

        ``busy``: ids of items whose previous transfer is still winding down (cancelled a
        moment ago, say); they wait so two transfers never share a ``.part`` file.
        """
        now = time.monotonic() if now is None else now
        if len(self._active) >= self.limits.total:
            return None
        per_host = Counter(it.host for it in self._active.values())
        queued = self._queued_items()
        for i in range(self._queued_from, len(queued)):
            it = queued[i]
            if it.state is not S.QUEUED:
                continue
            if it.next_attempt_at is not None and it.next_attempt_at > now:
                continue
            if per_host[it.host] >= self.limits.limit_for(it.host) or it.id in busy:
                continue
            return it
        return None

    def next_wakeup(self) -> float | None:
        """Monotonic time of the earliest scheduled retry, if any."""
        queued = self._queued_items()
        times = [
            it.next_attempt_at
            for it in queued[self._queued_from :]
            if it.state is S.QUEUED and it.next_attempt_at is not None
        ]
        return min(times) if times else None

    def totals(self) -> QueueTotals:
        """The figures of the whole queue, in O(active items), not O(items): an item that
        is not active counts with the figures it had when its last change was announced
        (:meth:`set_state`, :meth:`notify_item`)."""
        counts = self._counts
        done_bytes = self._settled_bytes
        total: int | None = None if self._unknown_sizes else self._settled_total
        speed = 0.0
        for it in self._active.values():
            done_bytes += it.bytes_done
            size = it.size_hint
            total = None if (size is None or total is None) else total + size
            speed += it.speed
        return QueueTotals(
            count=len(self),
            done=counts[S.DONE],
            failed=counts[S.FAILED],
            active=counts[S.ACTIVE],
            queued=counts[S.QUEUED],
            paused=counts[S.PAUSED],
            cancelled=counts[S.CANCELLED],
            bytes_done=done_bytes,
            bytes_total=total,
            speed=speed,
        )

    def __repr__(self) -> str:
        t = self.totals()
        return (
            f"<DownloadQueue {t.count} items: {t.active} active, {t.queued} queued, "
            f"{t.done} done, {t.failed} failed>"
        )
