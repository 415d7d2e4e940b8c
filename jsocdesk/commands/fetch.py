"""``jsocdesk fetch SESSION.json --out DIR``: search, export and download, headless.

Compiles the session's query against the server, submits one export per record set (the
method is chosen like ``jsocdesk export`` does), waits for them, then downloads every file
into ``DIR`` with the download engine, showing a progress bar on stderr.  The download queue
is saved in the data dir (one file per output folder), so interrupting the command (Ctrl-C,
a closed terminal, even SIGKILL) and running it again resumes: finished files are
recognised by the catalogue, partial ``.part`` files continue where they stopped after the
server confirms it still has the same file.  A file the catalogue has in another folder is
hard-linked (or copied) into ``DIR`` instead of downloaded again: every file reported is in
``DIR``.  ``--demo`` runs the embedded demo server with a persistent data dir (in the cache
dir) so that a rerun sees the same files.  The plan, the local names and the estimates are
the core workflow's (:mod:`jsocdesk.core.workflow`), the same as the window's.

Exit status: 0 all files downloaded, 1 some downloads failed, 2 error before downloading,
130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import math
import re
import sys
import time
from pathlib import Path
from typing import Any

from jsocdesk.commands.search import fail, load_session_file, open_client, say, server_url
from jsocdesk.core.text import write_control

METHODS = ("auto", "url", "url_quick", "url-tar")
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)i?[bB]?(?:/s)?\s*$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("session", type=Path, help="session file (.json)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the files")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--server", metavar="URL", help="base URL of a JSOC-like server")
    where.add_argument(
        "--demo", action="store_true", help="start the embedded demo server and use it"
    )
    parser.add_argument(
        "--email",
        default=None,
        help="registered JSOC address (default: the session's e-mail, else its Notify)",
    )
    parser.add_argument("--merge", action="store_true", help="merge OR branches on the same series")
    parser.add_argument("--method", choices=METHODS, default="auto", help="export method")
    parser.add_argument(
        "--raw", action="store_true", help="raw segment files (as-is), no FITS headers needed"
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=2,
        help="parallel downloads per server (default 2; JSOC asks for gentle use)",
    )
    parser.add_argument(
        "--limit-rate",
        default=None,
        metavar="RATE",
        help="bandwidth cap, e.g. 500k or 20M (bytes/s)",
    )
    parser.add_argument(
        "--poll", type=float, default=2.0, help="first delay between export polls (seconds)"
    )


def parse_rate(text: str) -> float:
    """``500k`` → 512000.0 bytes/s (binary multiples; ``B``, ``/s`` optional)."""
    m = _RATE.match(text)
    if not m:
        raise ValueError(f"bad rate {text!r} (examples: 800k, 20M)")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[m[2].lower()]
    value = float(m[1]) * scale
    if value <= 0:
        raise ValueError("the rate must be positive")
    return value


# --- progress bar -------------------------------------------------------------------------


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = int(seconds)
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


class ProgressBar:
    """One line on stderr, redrawn at most on every queue tick (≈ 4 Hz); plain lines every
    few seconds when stderr is not a terminal.

    The rate is the smoothed growth of the total bytes (time constant 2 s), so many small
    files that each finish between two ticks still show a speed.  While some sizes are not
    known yet (JSOC's listings carry none; a size is known once its transfer starts) the bar
    and the percentage count files instead of bytes.
    """

    WIDTH = 28
    TAU = 2.0

    def __init__(self, stream: Any = None, clock: Any = time.monotonic) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._clock = clock
        self._last_plain = 0.0
        self._last_text = ""
        self._drawn = False
        self._ref: tuple[float, int] | None = None
        self.rate = 0.0

    def _sample(self, bytes_done: int) -> None:
        now = self._clock()
        if self._ref is not None:
            t0, b0 = self._ref
            dt = now - t0
            if dt > 0:
                inst = max(0, bytes_done - b0) / dt
                alpha = 1.0 - math.exp(-dt / self.TAU)
                self.rate = inst if self.rate == 0.0 else self.rate + alpha * (inst - self.rate)
        self._ref = (now, bytes_done)

    def line(self, t: Any) -> str:
        if t.bytes_total:
            frac: float | None = t.bytes_done / t.bytes_total
        else:
            frac = t.done / t.count if t.count else None
        if frac is None:
            bar, pct = "." * self.WIDTH, "  ?%"
        else:
            filled = int(self.WIDTH * min(1.0, frac))
            bar = "#" * filled + "." * (self.WIDTH - filled)
            pct = f"{100 * frac:3.0f}%"
        size = f"/{_mb(t.bytes_total)}" if t.bytes_total is not None else ""
        eta = None
        if t.bytes_total is not None and self.rate > 1.0 and t.bytes_total > t.bytes_done:
            eta = (t.bytes_total - t.bytes_done) / self.rate
        text = (
            f"[{bar}] {pct} {_mb(t.bytes_done)}{size} {self.rate / 1e6:6.1f} MB/s "
            f"ETA {_clock(eta)}  {t.done}/{t.count} files"
        )
        if t.failed:
            text += f", {t.failed} failed"
        if t.queued and not t.active:
            text += ", waiting to retry"
        return text

    def update(self, totals: Any) -> None:
        self._sample(totals.bytes_done)
        text = self.line(totals)
        if self.tty:
            write_control(self.stream, "\r" + text + "\x1b[K")
            self.stream.flush()
            self._drawn = True
            return
        now = self._clock()
        if now - self._last_plain >= 5.0:
            self._last_plain = now
            self._last_text = text
            self.stream.write(text + "\n")
            self.stream.flush()

    def finish(self, totals: Any) -> None:
        text = self.line(totals)
        if self.tty and self._drawn:
            write_control(self.stream, "\r" + text + "\x1b[K\n")
        elif text != self._last_text:
            self.stream.write(text + "\n")
        self.stream.flush()


# --- the command --------------------------------------------------------------------------


async def _export_files(args: argparse.Namespace, url: str | None, catalog: Any) -> list[Any] | int:
    """Run the exports; returns the downloads of their files (the core's
    :func:`~jsocdesk.core.workflow.export_downloads`: local names, catalogue keys, url-tar
    archives) or an exit code."""
    from jsocdesk.commands.export import run_exports
    from jsocdesk.core.workflow import export_downloads

    files: list[Any] = []

    def collect(job: Any) -> None:
        ident = job.requestid or "(immediate)"
        n = len(job.files)
        what = f"1 archive of {n} files" if job.tar_url else f"{n} files"
        sys.stderr.write(f"export {ident}: {job.recordset}: {what}\n")
        files.extend(export_downloads(job, catalog))

    session = load_session_file(args.session)
    async with open_client(url) as client:
        code = await run_exports(
            client, session, args, "fetch", collect, lambda exc: str(exc).splitlines()[0]
        )
    return code or files


async def _download(args: argparse.Namespace, files: list[Any], catalog: Any) -> int:
    from jsocdesk.core.download import (
        ConcurrencyLimits,
        DownloadEngine,
        DownloadQueue,
        DownloadState,
        EngineOptions,
        QueueStore,
    )
    from jsocdesk.core.paths import AppPaths

    out = args.out.resolve()
    data = AppPaths.from_environment().data
    tag = hashlib.sha1(str(out).encode("utf-8")).hexdigest()[:12]
    store = QueueStore.in_data_dir(data, f"fetch-{tag}.json")
    limits = ConcurrencyLimits(total=max(4, args.connections), per_host=args.connections)
    queue = DownloadQueue(store.load(), limits=limits, catalog=catalog)
    for item in queue:  # a rerun retries what failed last time
        if item.state is DownloadState.FAILED:
            queue.retry(item)
    for w in files:
        queue.add(w.url, out, name=w.name, key=w.key, unpack=w.unpack, member_keys=w.member_keys)
    store.save(list(queue))  # before any byte moves: a kill now still finds its .part files
    partial = [
        it.part_path.stat().st_size
        for it in queue
        if it.state is DownloadState.QUEUED and it.part_path.exists()
    ]
    if partial:
        sys.stderr.write(
            f"found {len(partial)} partial files ({_mb(sum(partial))}): resuming them\n"
        )
    bandwidth = parse_rate(args.limit_rate) if args.limit_rate else None
    engine = DownloadEngine(
        queue, store=store, catalog=catalog, options=EngineOptions(bandwidth=bandwidth)
    )
    bar = ProgressBar()
    queue.progressed.connect(bar.update)
    try:
        await engine.run_until_idle()
    finally:
        bar.finish(queue.totals())
    if engine.save_error:  # e.g. a full disk under the data dir: a rerun may not resume
        sys.stderr.write(f"warning: the download state was not saved: {engine.save_error}\n")
    failed = [it for it in queue if it.state is DownloadState.FAILED]
    for it in failed:
        sys.stderr.write(f"failed: {it.target.name}: {it.error}\n")
    done = [it for it in queue if it.state is DownloadState.DONE]
    for it in done:
        if it.error:  # a note, e.g. unsafe members of an archive that were skipped
            sys.stderr.write(f"note: {it.target.name}: {it.error}\n")
    sizes: dict[Path, int] = {}  # distinct files: an unpacked archive's files may also be
    for it in done:  # listed one by one on a rerun (found done in the catalogue)
        if it.extracted:
            sizes.update((it.target.parent / name, size) for name, size in it.extracted)
        else:
            sizes[it.target] = it.bytes_done
    # never report a file that is not where we say: each one is checked on disk
    missing = [p for p, size in sizes.items() if not _has_file(p, size, out)]
    for p in missing:
        sys.stderr.write(f"failed: {p.name}: not in {out} after the download\n")
        del sizes[p]
    say(f"{len(sizes)} files ({_mb(sum(sizes.values()))}) in {out}")
    return 1 if failed or missing or engine.save_error else 0


def _has_file(path: Path, size: int, folder: Path) -> bool:
    from jsocdesk.core.download.names import inside

    try:
        return inside(folder, path) and path.stat().st_size == size
    except OSError:
        return False


async def _fetch(args: argparse.Namespace, url: str | None) -> int:
    from jsocdesk.core.download import Catalog
    from jsocdesk.core.paths import AppPaths

    catalog = Catalog.in_data_dir(AppPaths.from_environment().data)
    files = await _export_files(args, url, catalog)
    if isinstance(files, int):
        return files
    return await _download(args, files, catalog)


def run(args: argparse.Namespace) -> int:
    from jsocdesk.core.errors import JsocdeskError

    if args.connections < 1:
        return fail("fetch", "--connections must be at least 1")
    if args.limit_rate:
        try:
            parse_rate(args.limit_rate)
        except ValueError as exc:
            return fail("fetch", str(exc))
    try:
        with server_url(args) as url:
            return asyncio.run(_fetch(args, url))
    except JsocdeskError as exc:
        return fail("fetch", str(exc))
    except KeyboardInterrupt:
        sys.stderr.write("\njsocdesk fetch: interrupted; run the same command again to resume\n")
        return 130
