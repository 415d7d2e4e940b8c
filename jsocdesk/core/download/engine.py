"""The download engine: parallel, resumable, verified transfers on one httpx client.

How one transfer works (:meth:`DownloadEngine._attempt`):

1. The partial file ``NAME.part`` beside the target holds the bytes received so far; its size on
   disk (not any remembered counter) is where the transfer resumes.
2. The request always carries ``Range``; when resuming it starts **one byte early** and the
   first byte received must equal the last byte already on disk, and ``If-Range`` carries
   the validator (ETag, else Last-Modified) of the partial file.  A ``200`` answer, a total in
   ``Content-Range`` different from the one remembered, or a differing overlap byte all mean
   "the server's file is not the one we started": the partial file is discarded and the
   transfer starts over.
3. Bytes are written in small pieces (or, with ``write_mode="thread"``, in larger batches on a
   worker thread, double-buffered); the loop is yielded to after every chunk so a fast
   transfer never starves the event loop it shares with Qt.
4. Complete means: the bytes on disk equal the total announced by ``Content-Range`` /
   ``Content-Length`` **and** the expected size from the export listing (when known) **and**
   the checksum (when the listing or the server supplies one).  Only then is the partial file
   fsynced and renamed to the final name.
5. Resets, truncated bodies, stalls (no byte for ``stall_timeout`` seconds: httpx's read
   timeout), HTTP 5xx/429/408 and verification failures are retried with exponential backoff
   and jitter; a retry that made progress resets the budget, so a flaky link still finishes a
   large file.  Other HTTP errors, and local file-system errors (disk full, permission denied)
   fail the item at once with a clear message; no half file ever carries the final name.

6. An item with ``unpack`` (a ``url-tar`` export) is then extracted on a worker thread by
   :func:`~.unpack.unpack_tar` (regular files only, safe names, atomic writes); the archive is
   removed afterwards unless ``keep_archives``.  A failed extraction fails the item (the
   archive stays, a retry extracts it again without downloading it again).

Progress is published by one ticker task, at most every ``progress_interval`` seconds: it
samples speeds, emits ``changed`` for items whose figures moved and ``progressed`` with the
totals, and saves the queue/catalogue when something changed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import functools
import hashlib
import logging
import math
import os
import random
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TypeVar

import httpx

from jsocdesk import __version__
from jsocdesk.core.download.catalog import Catalog, CatalogEntry
from jsocdesk.core.download.item import DownloadItem, DownloadState
from jsocdesk.core.download.names import PART_SUFFIX
from jsocdesk.core.download.queue import DownloadQueue
from jsocdesk.core.download.store import QueueStore
from jsocdesk.core.download.transport import AiohttpTransport
from jsocdesk.core.download.unpack import UnpackError, UnpackResult, unpack_tar
from jsocdesk.core.net import MAX_REDIRECTS, RedirectRefused, redact_url, redirect_guard
from jsocdesk.core.paths import UnsafePath, confine
from jsocdesk.core.text import clean

S = DownloadState
WriteMode = Literal["inline", "thread"]
Transport = Literal["aiohttp", "httpx"]
OsWrite = Callable[[int, bytes | memoryview], int]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
#: strong references to clean-up tasks that outlive a cancelled transfer
_background: set[asyncio.Task[None]] = set()

USER_AGENT = f"jsocdesk/{__version__} httpx/{httpx.__version__}"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter.

    The n-th consecutive failure without progress waits a random time between half and all of
    ``min(max_delay, base_delay * factor**(n-1))``; after ``max_attempts`` such failures the
    item fails.  A server's ``Retry-After`` is honoured as a lower bound.
    """

    max_attempts: int = 8
    base_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 60.0
    #: a server's ``Retry-After`` beyond this is capped (``Retry-After: 999999999``)
    max_retry_after: float = 600.0
    #: attempts in total, progress or not: the last bound (a server that sends a few more
    #: bytes each time and then drops the connection never finishes a file otherwise)
    max_total_attempts: int = 200

    def delay(self, failures: int, rng: random.Random) -> float:
        n = max(0, failures - 1)
        if self.factor > 1 and n * math.log(self.factor) >= math.log(
            max(self.max_delay, 1e-9) / max(self.base_delay, 1e-9)
        ):
            cap = self.max_delay  # ``factor ** n`` would overflow long before this matters
        else:
            cap = min(self.max_delay, self.base_delay * self.factor**n)
        return cap / 2 + rng.uniform(0, cap / 2)


@dataclass(frozen=True)
class EngineOptions:
    """Tuning knobs; the defaults are what the app uses (see ``docs/downloads.md``)."""

    stall_timeout: float = 30.0
    #: a transfer slower than this (bytes/s, averaged over ``stall_timeout``) is a stall too:
    #: a trickle of one byte every few seconds never trips the read timeout
    min_rate: float = 256.0
    connect_timeout: float = 15.0
    progress_interval: float = 0.25
    save_interval: float = 1.0
    bandwidth: float | None = None  # bytes/s over all transfers; None = unlimited
    #: what moves the bytes under the httpx client: see ``transport.py`` for the numbers
    transport: Transport = "aiohttp"
    write_mode: WriteMode = "thread"  # see PartWriter for the measurements behind this
    thread_batch: int = 1 << 20  # bytes per hand-off to the writer thread
    fsync: bool = True
    keep_archives: bool = False  # keep a url-tar archive after unpacking it
    #: a file whose size nobody announced stops here (an endless body fills no disk)
    max_file_bytes: int = 1 << 40
    #: hosts besides a file's own that a redirect may lead to (see core/net.py)
    allowed_hosts: tuple[str, ...] = ()
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class _Retry(Exception):
    """This attempt failed in a way worth retrying."""

    def __init__(self, message: str, *, restart: bool = False, min_delay: float = 0.0) -> None:
        super().__init__(message)
        self.restart = restart  # discard the partial file first
        self.min_delay = min_delay


class _Fatal(Exception):
    """This item cannot succeed without the user doing something."""


class TokenBucket:
    """A shared bandwidth cap: ``await consume(n)`` sleeps so the long-run rate ≤ ``rate``."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("bandwidth must be positive")
        self.rate = rate
        self.burst = burst if burst is not None else max(65536.0, rate / 4)
        self._tokens = self.burst
        self._stamp = time.monotonic()

    async def consume(self, n: int) -> None:
        now = time.monotonic()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self._tokens -= n
        if self._tokens < 0:
            await asyncio.sleep(-self._tokens / self.rate)


class PartWriter:
    """Writes one ``.part`` file at the OS-call level (``os.write`` is injectable for tests).

    ``thread`` mode (the default) collects about ``batch`` bytes of chunks (no copy) and
    writes them on a worker thread while the next batch is received; ``inline`` mode writes
    every chunk at once on the loop thread.  Inline looks cheaper (a page-cache copy of tens
    of microseconds per 64 KiB chunk) but the kernel may make any buffered write sleep for
    tens of milliseconds under writeback pressure (another file's fsync, dirty limits): in
    ``bench_loop_latency`` inline writes with fsync showed 40-140 ms loop stalls that the
    thread mode does not have.  Buffered bytes are handed over at least every
    :attr:`MAX_HOLD` seconds on slow links, and written out by :meth:`abort` when a transfer
    is paused, interrupted or fails, so the partial file keeps every byte received.
    """

    MAX_HOLD = 0.5

    def __init__(
        self,
        fd: int,
        *,
        mode: WriteMode = "thread",
        batch: int = 1 << 20,
        os_write: OsWrite = os.write,
        executor: Executor | None = None,
    ) -> None:
        self.mode = mode
        self._executor = executor
        self.batch = batch
        self._write = os_write
        self._fd = fd
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._last_submit = time.monotonic()
        self._pending: asyncio.Future[None] | None = None
        self.closed = False

    @classmethod
    async def open(
        cls,
        path: Path,
        offset: int,
        *,
        mode: WriteMode = "thread",
        batch: int = 1 << 20,
        os_write: OsWrite = os.write,
        executor: Executor | None = None,
    ) -> PartWriter:
        """Open ``path`` for writing at ``offset`` (on a worker thread: creating a file is a
        metadata operation that can wait for a journal commit)."""
        loop = asyncio.get_running_loop()
        fd = await loop.run_in_executor(executor, _open_part, path, offset)
        return cls(fd, mode=mode, batch=batch, os_write=os_write, executor=executor)

    def _write_all(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            n = self._write(self._fd, view)
            view = view[n:]

    def _write_chunks(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self._write_all(chunk)

    async def write(self, data: bytes) -> None:
        if self.mode == "inline":
            self._write_all(data)
            return
        self._buffer.append(data)
        self._buffered += len(data)
        now = time.monotonic()
        if self._buffered >= self.batch or now - self._last_submit >= self.MAX_HOLD:
            self._last_submit = now
            await self._submit()

    async def _submit(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending
        if self._buffer:
            chunks, self._buffer, self._buffered = self._buffer, [], 0
            loop = asyncio.get_running_loop()
            self._pending = loop.run_in_executor(self._executor, self._write_chunks, chunks)

    async def finish(self, fsync: bool) -> None:
        """Write everything buffered, optionally fsync, and close."""
        await self._submit()
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending
        self.closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, _sync_and_close, self._fd, fsync)

    async def abort(self, *, keep: bool = True) -> None:
        """Stop writing and close: finish an in-flight write and, with ``keep``, write what
        is buffered too (a paused or interrupted transfer keeps every byte it received).

        Safe to call from a cancelled task: if cancelled again while waiting, the writes and
        the close still complete in the background.
        """
        chunks = self._buffer if keep else []
        self._buffer, self._buffered = [], 0
        pending, self._pending = self._pending, None
        loop = asyncio.get_running_loop()

        async def settle() -> None:
            try:
                if pending is not None:
                    await pending
                if chunks:
                    await loop.run_in_executor(self._executor, self._write_chunks, chunks)
            except (OSError, RuntimeError):
                # the disk refused more bytes (or the pool is gone at shutdown): what is on
                # disk is still a valid prefix
                pass
            finally:
                self._close_fd()

        task = loop.create_task(settle())
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            _background.add(task)
            task.add_done_callback(_background.discard)
            raise

    def _close_fd(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._fd)


# --- helpers ------------------------------------------------------------------------------

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def retry_after_seconds(value: str | None) -> float:
    """A ``Retry-After`` header in seconds (delta or HTTP date); 0 when absent or unusable.

    Not capped here: the retry policy caps it and tells the user.
    """
    if not value:
        return 0.0
    value = value.strip()
    if value.isdigit():
        return float(value[:12])  # 12 digits are over 30,000 years
    try:
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return 0.0
    if when.tzinfo is None:
        return 0.0
    import datetime as _dt

    return max(0.0, (when - _dt.datetime.now(_dt.UTC)).total_seconds())


def _parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    if not value:
        return None
    m = _CONTENT_RANGE.match(value.strip())
    if not m:
        return None
    total = None if m[3] == "*" else int(m[3])
    return int(m[1]), int(m[2]), total


def _is_empty_file(resp: httpx.Response, start: int) -> bool:
    return (
        resp.status_code == 416
        and start == 0
        and resp.headers.get("content-range", "").replace(" ", "") == "bytes*/0"
    )


def _strong_etag(value: str | None) -> str | None:
    if value and not value.startswith("W/"):
        return value
    return None


def _server_checksum(headers: httpx.Headers) -> str | None:
    """A whole-file checksum announced by the server (``Repr-Digest`` / ``Digest``)."""
    for name in ("repr-digest", "digest"):
        raw = headers.get(name)
        if not raw:
            continue
        for part in raw.split(","):
            algo, _, value = part.strip().partition("=")
            algo = algo.strip().lower()
            value = value.strip().strip(":")
            py = {"sha-256": "sha256", "sha-512": "sha512", "md5": "md5"}.get(algo)
            if py and value:
                try:
                    return f"{py}:{base64.b64decode(value).hex()}"
                except ValueError:
                    continue
    return None


def _file_digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _open_part(path: Path, offset: int) -> int:
    # never through a link planted at the partial file's name
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o644)
    try:
        # Truncate only when needed: ext4 treats truncate-to-zero as "replacing a file" and
        # flushes it on close (auto_da_alloc), 10-80 ms per 256 MB file in the benchmark.
        if os.fstat(fd).st_size != offset:
            os.ftruncate(fd, offset)
        os.lseek(fd, offset, os.SEEK_SET)
    except OSError:
        os.close(fd)
        raise
    return fd


def _sync_and_close(fd: int, fsync: bool) -> None:
    try:
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)


def _place_copy(source: Path, target: Path, size: int) -> bool:
    """Hard-link (or else copy) ``source`` of ``size`` bytes to the new file ``target``.

    Never replaces an existing ``target`` and leaves an existing ``target.part`` alone
    (False: a download of its own is under way); the copy goes through a fresh ``.part``
    (``O_EXCL``) renamed once complete, so no half file carries the final name.
    """
    part = target.with_name(target.name + PART_SUFFIX)
    if os.path.realpath(source) == os.path.realpath(target):
        return False  # that is the file itself (moved back?): let the transfer check it
    if os.path.lexists(target) or os.path.lexists(part):
        return False
    try:
        os.link(source, target)
    except OSError:
        pass  # another file system, or links not allowed: copy
    else:
        if os.stat(target).st_size == size:
            return True
        os.unlink(target)
        return False
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
    try:
        with open(source, "rb") as src:
            while block := src.read(1 << 20):
                view = memoryview(block)
                while view:
                    view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(part)
        raise
    os.close(fd)
    if os.stat(part).st_size != size:
        _unlink_quietly(part)
        return False
    os.replace(part, target)
    return True


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _last_byte(path: Path, size: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(size - 1)
        return fh.read(1)


def describe_os_error(exc: OSError, path: Path) -> str:
    """A one-line, user-facing explanation of a local file-system error."""
    if exc.errno == errno.ENOSPC:
        return f"disk full while writing {path}"
    if exc.errno == errno.EDQUOT:
        return f"disk quota exceeded while writing {path}"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied: {exc.filename or path}"
    if exc.errno == errno.EROFS:
        return f"read-only file system: {path}"
    if exc.errno == errno.EFBIG:
        return f"file too large for this file system or limit: {path}"
    return f"cannot write {path}: {exc.strerror or exc}"


def _size_text(n: int) -> str:
    return f"{n:,} bytes"


# --- the engine ---------------------------------------------------------------------------


class DownloadEngine:
    """Runs the items of a :class:`DownloadQueue` on one shared :class:`httpx.AsyncClient`.

    Use either :meth:`run_until_idle` (CLI, tests: returns when nothing is queued or active)
    or :meth:`start` + :meth:`aclose` (the app: runs until closed, picking up new items).
    Pausing, cancelling, reordering and retrying go through the queue's commands; the engine
    follows the queue's events.  ``store`` and ``catalog`` are optional persistence.
    """

    def __init__(
        self,
        queue: DownloadQueue,
        *,
        http: httpx.AsyncClient | None = None,
        options: EngineOptions | None = None,
        store: QueueStore | None = None,
        catalog: Catalog | None = None,
        os_write: OsWrite = os.write,
        rng: random.Random | None = None,
    ) -> None:
        self.queue = queue
        self.options = options or EngineOptions()
        self.store = store
        self.catalog = catalog if catalog is not None else queue.catalog
        self._own_http = http is None
        self._http = http
        self._http_future: asyncio.Future[httpx.AsyncClient] | None = None
        self._os_write = os_write
        self._rng = rng or random.Random()
        self._bucket = TokenBucket(self.options.bandwidth) if self.options.bandwidth else None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._discards: dict[str, asyncio.Task[None]] = {}
        #: why the last save of the queue/catalogue failed (``None`` after a save that worked)
        self.save_error: str | None = None
        #: items whose current attempt got a 200 to its Range request (no resume possible)
        self._range_ignored: set[str] = set()
        self._wake: asyncio.Event | None = None
        self._scheduler: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._published: dict[str, tuple[int, int]] = {}
        self._running: dict[str, DownloadItem] = {}
        self._saving: asyncio.Future[None] | None = None
        self._dirty = False
        self._last_save = 0.0
        self._closing = False
        queue.state_changed.connect(self._on_queue_state_changed)
        queue.work_available.connect(self._on_queue_work_available)
        queue.events.inserted.connect(self._on_queue_structure_changed)
        queue.events.removed.connect(self._on_queue_structure_changed)
        queue.events.moved.connect(self._on_queue_structure_changed)

    # --- configuration
    def set_bandwidth(self, bytes_per_second: float | None) -> None:
        """Change the bandwidth cap at run time (``None`` lifts it)."""
        self._bucket = TokenBucket(bytes_per_second) if bytes_per_second else None

    def _make_client(self) -> httpx.AsyncClient:
        limits = self.queue.limits
        transport = (
            AiohttpTransport(max_connections=limits.total)
            if self.options.transport == "aiohttp"
            else None
        )
        return httpx.AsyncClient(
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(
                max_connections=limits.total, max_keepalive_connections=limits.total
            ),
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            event_hooks={"response": [redirect_guard(self.options.allowed_hosts)]},
            transport=transport,
        )

    async def _client(self) -> httpx.AsyncClient:
        """The shared client; created on a worker thread when the engine owns it (building an
        ``httpx.AsyncClient`` loads the CA bundle: ~35 ms that would stall the loop)."""
        if self._http is None:
            if self._http_future is None:
                self._http_future = asyncio.ensure_future(self._io(self._make_client))
            client = await asyncio.shield(self._http_future)
            if self._http is None:
                self._http = client
        return self._http

    def _pool(self) -> ThreadPoolExecutor:
        """The engine's own worker threads for file I/O, so slow disks (fsync on a USB drive)
        never occupy the loop's default executor that the rest of the app uses."""
        if self._executor is None:
            workers = 2 * self.queue.limits.total + 2  # a write and an fsync per transfer
            self._executor = ThreadPoolExecutor(workers, thread_name_prefix="jsocdesk-io")
        return self._executor

    async def _io(self, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._pool(), fn, *args)

    @property
    def running(self) -> bool:
        """True while at least one transfer task is alive."""
        return bool(self._tasks)

    # --- lifecycle
    def start(self) -> None:
        """Start scheduling on the running loop; returns at once."""
        if self._scheduler is not None:
            return
        self._closing = False
        self._wake = asyncio.Event()
        self._scheduler = asyncio.get_running_loop().create_task(
            self._schedule(stop_when_idle=False), name="download-scheduler"
        )
        self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="download-ticker")

    async def run_until_idle(self) -> None:
        """Download until no item is queued or active (failed/paused items stay so)."""
        self._closing = False
        self._wake = asyncio.Event()
        self._ticker = asyncio.get_running_loop().create_task(self._tick(), name="download-ticker")
        try:
            await self._schedule(stop_when_idle=True)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Stop every transfer (active items go back to queued, partial files kept), save."""
        self._closing = True
        for task in (self._scheduler, self._ticker):
            if task is not None:
                task.cancel()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in [t for t in (self._scheduler, self._ticker) if t is not None] + tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._scheduler = self._ticker = None
        if self._discards:
            await asyncio.gather(*self._discards.values(), return_exceptions=True)
        self._publish()
        await self._final_save()
        if self._executor is not None:
            self._executor.shutdown(wait=False)  # queued writes still finish
            self._executor = None
        if self._own_http:
            if self._http is None and self._http_future is not None:
                with contextlib.suppress(Exception):
                    self._http = await self._http_future
            self._http_future = None
            if self._http is not None:
                await self._http.aclose()
                self._http = None

    # --- queue events
    def _on_queue_work_available(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _on_queue_structure_changed(self, *_args: object) -> None:
        self._dirty = True
        self._on_queue_work_available()

    def _on_queue_state_changed(self, item: DownloadItem, old: DownloadState) -> None:
        self._dirty = True
        task = self._tasks.get(item.id)
        if item.state in (S.PAUSED, S.CANCELLED) and task is not None:
            task.cancel()  # the transfer stops at its next await; the .part stays consistent
        if item.state is S.CANCELLED and not self._closing:
            # deleted now (on a thread), not when the task unwinds: a retry may come first;
            # the next attempt waits for the deletion before creating a new .part
            self._discard_part(item)
            item.bytes_done = 0
        if self._wake is not None:
            self._wake.set()

    # --- scheduling
    async def _schedule(self, *, stop_when_idle: bool) -> None:
        assert self._wake is not None
        while True:
            self._wake.clear()
            while (item := self.queue.next_runnable(busy=self._tasks)) is not None:
                self._launch(item)
            if stop_when_idle and not self._tasks and self.queue.idle:
                return
            wake_at = self.queue.next_wakeup()
            timeout = None if wake_at is None else max(0.0, wake_at - time.monotonic()) + 0.001
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _launch(self, item: DownloadItem) -> None:
        self.queue.set_state(item, S.ACTIVE)
        task = asyncio.get_running_loop().create_task(
            self._run_item(item), name=f"download-{item.target.name}"
        )
        self._tasks[item.id] = task
        self._running[item.id] = item

        def done(_t: asyncio.Task[None], item_id: str = item.id) -> None:
            if self._tasks.get(item_id) is _t:
                del self._tasks[item_id]
                del self._running[item_id]
                self._published.pop(item_id, None)
            if self._wake is not None:
                self._wake.set()

        task.add_done_callback(done)

    # --- progress
    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.options.progress_interval)
            self._publish()
            self._save()

    def _publish(self) -> None:
        """Sample speeds and announce moved figures of running items, then the totals.

        Only running items can move between state changes (which announce themselves), so
        a tick costs O(running) plus one pass for the totals.
        """
        now = time.monotonic()
        for item in list(self._running.values()):
            if item.state is not S.ACTIVE:
                continue
            item.sample_speed(now)
            figures = (item.bytes_done, round(item.speed))
            if self._published.get(item.id) != figures:
                self._published[item.id] = figures
                self.queue.notify_item(item)
        self.queue.progressed.emit(self.queue.totals())

    def _save(self, *, force: bool = False) -> None:
        """Write the queue and catalogue if they changed, on a worker thread.

        Only a cheap snapshot is taken on the loop (a list of item references; the item
        dicts are built and the JSON encoded on the thread).  One save at a time.
        """
        now = time.monotonic()
        if self._saving is not None or (
            not force and now - self._last_save < self.options.save_interval
        ):
            return
        items = list(self.queue) if self.store is not None and self._dirty else None
        entries = self.catalog.take_snapshot() if self.catalog is not None else None
        if items is None and entries is None:
            return
        self._last_save = now
        self._dirty = False
        future = asyncio.get_running_loop().run_in_executor(
            self._pool(), self._write_snapshots, items, entries
        )
        self._saving = future

        def done(f: asyncio.Future[None]) -> None:
            self._saving = None
            if f.cancelled() or f.exception() is not None:
                # failing to write the files must not stop transfers, but it is no secret:
                # ``save_error`` says it (the CLI and the window show it) until a save works
                self._dirty = True
                if self.catalog is not None and entries is not None:
                    self.catalog.mark_dirty()
                if not f.cancelled():
                    exc = f.exception()
                    if self.save_error is None:
                        _log.error("cannot save the download state: %s", exc)
                    self.save_error = str(exc) or type(exc).__name__
            else:
                self.save_error = None

        future.add_done_callback(done)

    def _write_snapshots(
        self, items: list[DownloadItem] | None, entries: list[CatalogEntry] | None
    ) -> None:
        if items is not None and self.store is not None:
            self.store.save(items)
        if entries is not None and self.catalog is not None:
            self.catalog.write_snapshot(entries)

    async def save_now(self) -> None:
        """Write the queue and the catalogue now, not at the next periodic save: right
        after files were added, so that a kill before then still knows their names."""
        await self._final_save()

    async def _final_save(self) -> None:
        if self._saving is not None:
            with contextlib.suppress(Exception):
                await self._saving
        self._dirty = self._dirty or self.store is not None
        self._save(force=True)
        if self._saving is not None:
            with contextlib.suppress(Exception):
                await self._saving

    # --- one item
    async def _run_item(self, item: DownloadItem) -> None:
        """One attempt; on a retryable failure the item goes back to ``queued`` with the time
        of its next attempt (its slot is free for other files meanwhile)."""
        retry = self.options.retry
        try:
            start_bytes = self._part_size(item)
            item.attempts += 1
            try:
                await self._attempt(item)
            except _Retry as exc:
                # progress only counts if the bytes are kept for the next attempt, and only
                # if the server honours ranges (206): after a 200 the next try starts at zero
                progressed = (
                    not exc.restart
                    and item.id not in self._range_ignored
                    and self._part_size(item) > start_bytes
                )
                item.consecutive_failures = 1 if progressed else item.consecutive_failures + 1
                if exc.restart:
                    self._discard_part(item)
                if item.consecutive_failures >= retry.max_attempts or (
                    item.attempts >= retry.max_total_attempts
                ):
                    self._fail(item, f"{exc} (gave up after {item.attempts} attempts)")
                    return
                delay = retry.delay(item.consecutive_failures, self._rng)
                why = ""
                if exc.min_delay > delay:
                    delay = min(exc.min_delay, retry.max_retry_after)
                    asked = f"{exc.min_delay:.0f} s"
                    why = (
                        f", the server asked to wait {asked}"
                        if exc.min_delay <= retry.max_retry_after
                        else f", the server asked to wait {asked}: capped"
                    )
                item.next_attempt_at = time.monotonic() + delay
                self.queue.set_state(
                    item, S.QUEUED, f"retrying in {delay:.{1 if delay < 10 else 0}f} s{why}: {exc}"
                )
            except _Fatal as exc:
                self._fail(item, str(exc))
        except asyncio.CancelledError:
            if item.state is S.ACTIVE:  # engine shutting down: resume next time
                self.queue.set_state(item, S.QUEUED)
            raise
        except Exception as exc:  # noqa: BLE001  # a bug must fail one item, not the engine
            _log.exception("download of %s failed unexpectedly", item.url)
            if item.state is S.ACTIVE:
                self._fail(item, f"unexpected error: {exc!r}")

    def _fail(self, item: DownloadItem, message: str) -> None:
        item.consecutive_failures = 0
        self.queue.set_state(item, S.FAILED, message)

    @staticmethod
    def _part_size(item: DownloadItem) -> int:
        try:
            return item.part_path.stat().st_size
        except OSError:
            return 0

    def _discard_part(self, item: DownloadItem) -> asyncio.Task[None] | None:
        """Delete the partial file without blocking the loop.

        Unlinking a large file costs 20-100 ms on ext4 and any metadata operation may wait
        for a journal commit, so the deletion runs on a worker thread; the item's next
        attempt waits for it (:meth:`_attempt`), so it never races a new ``.part``.
        """
        item.etag = item.last_modified = None
        previous = self._discards.get(item.id)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (queue used before the engine started)
            _unlink_quietly(item.part_path)
            return None

        async def discard() -> None:
            if previous is not None:
                await previous
            await self._io(_unlink_quietly, item.part_path)

        task = loop.create_task(discard(), name=f"discard-{item.part_path.name}")
        self._discards[item.id] = task

        def done(t: asyncio.Task[None], item_id: str = item.id) -> None:
            if self._discards.get(item_id) is t:
                del self._discards[item_id]

        task.add_done_callback(done)
        return task

    async def _attempt(self, item: DownloadItem) -> None:
        target, part = item.target, item.part_path
        self._range_ignored.discard(item.id)
        try:  # the one path check of every writer: one name inside the item's folder
            confine(target.parent, target.name)
        except UnsafePath as exc:
            raise _Fatal(str(exc)) from None
        discard = self._discards.get(item.id)
        if discard is not None:
            await discard
        try:
            await self._io(functools.partial(target.parent.mkdir, parents=True, exist_ok=True))
        except OSError as exc:
            raise _Fatal(describe_os_error(exc, target.parent)) from exc

        if await self._from_catalog(item):
            return
        # finished earlier but the queue file did not record it (killed after the rename)
        size_hint = item.size_hint
        if (
            size_hint is not None
            and not part.exists()
            and target.exists()
            and target.stat().st_size == size_hint
        ):
            await self._verify_checksum(item, target, item.checksum)
            self._complete(item, size_hint, await self._unpack(item))
            return

        offset = self._part_size(item)
        if item.size_hint is not None and offset > item.size_hint:
            discarding = self._discard_part(item)
            if discarding is not None:
                await discarding
            offset = 0
        if offset == 0:
            item.etag = item.last_modified = None
        start = offset - 1 if offset > 0 else 0
        overlap = await self._io(_last_byte, part, offset) if offset > 0 else b""
        headers = {"Range": f"bytes={start}-", "Accept-Encoding": "identity"}
        validator = item.etag or item.last_modified
        if offset > 0 and validator:
            headers["If-Range"] = validator
        item.bytes_done = offset
        timeout = httpx.Timeout(
            connect=self.options.connect_timeout,
            read=self.options.stall_timeout,
            write=self.options.stall_timeout,
            pool=None,
        )
        total: int | None
        server_sum: str | None
        try:
            http = await self._client()
            async with http.stream("GET", item.url, headers=headers, timeout=timeout) as resp:
                if _is_empty_file(resp, start):
                    # "bytes=0-" of an empty file is unsatisfiable: 416 with "bytes */0"
                    total, server_sum = 0, None
                    try:
                        writer = await PartWriter.open(part, 0, executor=self._pool())
                        await writer.finish(self.options.fsync)
                    except OSError as exc:
                        raise _Fatal(describe_os_error(exc, part)) from exc
                else:
                    total, write_from = self._check_response(item, resp, offset, start)
                    if resp.status_code == 200:
                        # the Range was ignored: this server cannot resume, so what this
                        # attempt receives is no progress unless it is the whole file
                        self._range_ignored.add(item.id)
                    if write_from == 0 and offset > 0:
                        offset, overlap = 0, b""  # server sent the whole file: start over
                        item.bytes_done = 0
                    item.total = total
                    self._dirty = True
                    await self._receive(item, resp, part, offset, overlap)
                    server_sum = _server_checksum(resp.headers)
        except httpx.TimeoutException as exc:
            raise _Retry(f"stalled: no data for {self.options.stall_timeout:g} s") from exc
        except RedirectRefused as exc:
            raise _Fatal(str(exc)) from None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeError) as exc:
            # a listing from anywhere can name a file no URL can carry (lone surrogates)
            raise _Fatal(f"cannot download {clean(redact_url(item.url))}: {exc}") from None
        except httpx.HTTPError as exc:
            raise _Retry(f"connection error: {exc or type(exc).__name__}") from exc
        size = self._part_size(item)
        item.bytes_done = size
        if total is not None and size < total:
            raise _Retry(f"body ended early at {_size_text(size)} of {_size_text(total)}")
        if total is not None and size > total:
            raise _Retry("received more bytes than announced", restart=True)
        if item.expected_size is not None and size != item.expected_size:
            raise _Retry(
                f"size {_size_text(size)} differs from the expected "
                f"{_size_text(item.expected_size)}",
                restart=True,
            )
        await self._verify_checksum(item, part, item.checksum or server_sum)
        try:
            await self._io(os.replace, part, target)
        except OSError as exc:
            raise _Fatal(describe_os_error(exc, target)) from exc
        self._complete(item, size, await self._unpack(item))

    async def _from_catalog(self, item: DownloadItem) -> bool:
        """Place a file the catalogue has elsewhere at ``item.target`` instead of downloading
        it again: hard-linked if the file system allows, else copied (through a ``.part``
        file), on a worker thread.  False (download it) when there is no such file, a partial
        download is already under way, or placing it fails."""
        if self.catalog is None or not item.key or item.unpack:
            return False
        entry = self.catalog.lookup(item.key)
        if entry is None:
            return False
        try:
            placed = await self._io(_place_copy, entry.path, item.target, entry.size)
        except OSError as exc:
            _log.info("cannot reuse %s for %s (%s): downloading", entry.path, item.target, exc)
            return False
        if not placed:
            return False
        self._complete(item, entry.size, catalogue=False)  # the entry keeps the original
        return True

    def _check_response(
        self, item: DownloadItem, resp: httpx.Response, offset: int, start: int
    ) -> tuple[int | None, int]:
        """Validate status and headers; returns (total size or None, first byte offset)."""
        status = resp.status_code
        if status in (408, 425, 429) or status >= 500:
            min_delay = retry_after_seconds(resp.headers.get("retry-after"))
            raise _Retry(f"HTTP {status} {resp.reason_phrase}".strip(), min_delay=min_delay)
        if status == 416:
            raise _Retry("server refused the resume range (file changed?)", restart=True)
        if status not in (200, 206):
            raise _Fatal(f"HTTP {status} {resp.reason_phrase} for {redact_url(item.url)}".strip())
        etag = _strong_etag(resp.headers.get("etag"))
        last_modified = resp.headers.get("last-modified")
        length = resp.headers.get("content-length")
        if status == 206:
            crange = _parse_content_range(resp.headers.get("content-range"))
            if crange is None or crange[0] != start:
                raise _Retry("server answered a different range", restart=True)
            total = crange[2]
            same = (
                (item.total is None or total is None or total == item.total)
                and (not item.etag or not etag or etag == item.etag)
                and (not item.last_modified or last_modified in (None, item.last_modified))
            )
            if offset > 0 and not same:
                raise _Retry("the file changed on the server; starting over", restart=True)
            if length is not None and total is not None and int(length) != crange[1] - start + 1:
                raise _Retry("Content-Length disagrees with Content-Range")
            if total is not None and item.expected_size is not None and total != item.expected_size:
                raise _Retry(
                    f"server file has {_size_text(total)}, the listing said "
                    f"{_size_text(item.expected_size)}"
                )
            first = start
        else:  # 200: whole file (no range support, or If-Range said the file changed)
            total = int(length) if length is not None and length.isdigit() else None
            first = 0
        item.etag, item.last_modified = etag, last_modified
        return total, first

    async def _receive(
        self,
        item: DownloadItem,
        resp: httpx.Response,
        part: Path,
        offset: int,
        overlap: bytes,
    ) -> None:
        try:
            writer = await PartWriter.open(
                part,
                offset,
                mode=self.options.write_mode,
                batch=self.options.thread_batch,
                os_write=self._os_write,
                executor=self._pool(),
            )
        except OSError as exc:
            raise _Fatal(describe_os_error(exc, part)) from exc
        # no more than announced (Content-Range/Length, the listing) or, unannounced, the cap
        ceiling = item.total if item.total is not None else item.expected_size
        if ceiling is None:
            ceiling = self.options.max_file_bytes
        window_start, window_bytes = time.monotonic(), 0
        window = self.options.stall_timeout
        min_rate = self.options.min_rate
        if self._bucket is not None:  # the user's own cap must not look like a stall
            min_rate = min(min_rate, self._bucket.rate / (4 * max(1, self.queue.limits.total)))
        try:
            async for chunk in resp.aiter_raw():
                window_bytes += len(chunk)
                now = time.monotonic()
                if now - window_start >= window:
                    if window_bytes < min_rate * (now - window_start):
                        raise _Retry(
                            f"stalled: {_size_text(window_bytes)} in {now - window_start:.0f} s "
                            f"(slower than {min_rate:g} B/s)"
                        )
                    window_start, window_bytes = now, 0
                if overlap:
                    if chunk[:1] != overlap:
                        raise _Retry("the file changed on the server; starting over", restart=True)
                    chunk, overlap = chunk[1:], b""
                    if not chunk:
                        continue
                if item.bytes_done + len(chunk) > ceiling:
                    raise _Retry(
                        f"the server sent more than the {_size_text(ceiling)} announced",
                        restart=True,
                    )
                await writer.write(chunk)
                item.bytes_done += len(chunk)
                if self._bucket is not None:
                    await self._bucket.consume(len(chunk))
                # httpx returns buffered data without yielding: give the loop (and Qt) a turn
                await asyncio.sleep(0)
            await writer.finish(self.options.fsync)
        except OSError as exc:
            await writer.abort(keep=False)
            raise _Fatal(describe_os_error(exc, part)) from exc
        except BaseException:
            await writer.abort()
            raise

    async def _verify_checksum(self, item: DownloadItem, path: Path, checksum: str | None) -> None:
        if not checksum:
            return
        algo, _, expected = checksum.partition(":")
        try:
            actual = await self._io(_file_digest, path, algo)
        except ValueError as exc:
            raise _Fatal(f"unknown checksum algorithm {algo!r}") from exc
        if actual.lower() != expected.lower():
            raise _Retry(f"{algo} checksum mismatch", restart=True)

    async def _unpack(self, item: DownloadItem) -> str | None:
        """Extract a complete archive (``item.unpack``) on a worker thread; record the files
        in the item and the catalogue, then remove the archive (unless kept, or nothing
        came out of it).  Members the catalogue already has on disk are not extracted again.
        Returns a note on skipped unsafe members, if any.
        """
        if not item.unpack:
            return None
        folder = item.target.parent
        skip = {
            member
            for member, key in item.member_keys.items()
            if self.catalog is not None and self.catalog.lookup(key) is not None
        }
        reserved = frozenset(self.queue.names_in(folder) - {item.target.name.casefold()})
        cancel = threading.Event()
        job = functools.partial(
            unpack_tar,
            item.target,
            folder,
            reserved=reserved,
            skip=skip,
            fsync=self.options.fsync,
            cancel=cancel,
        )
        try:
            result: UnpackResult = await self._io(job)
        except asyncio.CancelledError:
            cancel.set()  # the thread stops at its next chunk and removes what it wrote
            raise
        except UnpackError as exc:
            raise _Fatal(str(exc)) from exc
        item.extracted = [(f.path.name, f.size) for f in result.files]
        if self.catalog is not None:
            for f in result.files:
                key = item.member_keys.get(PurePosixPath(f.member).name)
                if key:
                    self.catalog.record(key, f.path, f.size, item.url)
        note = None
        if result.skipped:
            shown = "; ".join(f"{name!r} ({why})" for name, why in result.skipped[:5])
            more = f" and {len(result.skipped) - 5} more" if len(result.skipped) > 5 else ""
            note = f"skipped {len(result.skipped)} unsafe archive members: {shown}{more}"
            _log.warning("%s: %s", item.target.name, note)
        if result.files and not self.options.keep_archives:
            await self._io(_unlink_quietly, item.target)
        return note

    def _complete(
        self, item: DownloadItem, size: int, note: str | None = None, *, catalogue: bool = True
    ) -> None:
        item.bytes_done = size
        item.total = size
        item.consecutive_failures = 0
        self.queue.set_state(item, S.DONE, note)
        if catalogue and self.catalog is not None and item.key:
            self.catalog.record(item.key, item.target, size, item.url)
        self._dirty = True

    def __repr__(self) -> str:
        return f"<DownloadEngine {len(self._tasks)} running, {self.queue!r}>"
