"""``jsocdesk fetch SESSION.json --out DIR``: search, export and download, headless.

Compiles the session's query against the server (the core workflow's export plan: the same
methods, local names and estimates as the window, :mod:`jsocdesk.core.workflow`) and runs it
as a campaign (:mod:`jsocdesk.commands.campaign`): the plan is printed first (records, size,
number of exports, expected time); a record set too big for one export is cut on time
boundaries into chunks that fit the server's caps, exported one at a time (one pending
export per e-mail), each chunk downloaded into ``DIR`` as soon as it is ready while the next
is staged; a plan past the guard's threshold needs ``--yes`` when stdin is not a terminal.
The campaign and the download queue are saved in the data dir (one file per output folder),
so interrupting the command (Ctrl-C, a closed terminal, even SIGKILL) and running it again
resumes: submitted exports are followed by request id, finished files are recognised by the
catalogue, partial ``.part`` files continue where they stopped after the server confirms it
still has the same file.  A file the catalogue has in another folder is hard-linked (or
copied) into ``DIR`` instead of downloaded again: every file reported is in ``DIR``.
``--demo`` runs the embedded demo server with a persistent data dir (in the cache dir) so
that a rerun sees the same files.

Exit status: 0 all files downloaded, 1 some downloads failed, 2 error before downloading,
130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import re
import sys
import time
from pathlib import Path
from typing import Any

from jsocdesk.commands.search import fail, say, server_url
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
    parser.add_argument(
        "--yes",
        action="store_true",
        help="submit a plan past the size/record threshold without asking",
    )
    parser.add_argument(
        "--retry-delay",
        type=float,
        default=30.0,
        help="seconds before a failed chunk is tried again (default 30)",
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


def report_downloads(queue: Any, out: Path) -> int:
    """Print the failed downloads and the files now in ``out``; 1 if some failed (or one
    is not at the path it would be reported at)."""
    from jsocdesk.core.download import DownloadState

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
    return 1 if failed or missing else 0


def _has_file(path: Path, size: int, folder: Path) -> bool:
    from jsocdesk.core.download.names import inside

    try:
        return inside(folder, path) and path.stat().st_size == size
    except OSError:
        return False


async def _fetch(args: argparse.Namespace, url: str | None) -> int:
    from jsocdesk.commands.campaign import fetch_campaign

    return await fetch_campaign(args, url)


def run(args: argparse.Namespace) -> int:
    from jsocdesk.core.errors import JsocdeskError

    if args.connections < 1:
        return fail("fetch", "--connections must be at least 1")
    args.out = Path(args.out).resolve()
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
