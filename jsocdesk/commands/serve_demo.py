"""``jsocdesk serve-demo``: run the demo JSOC server on 127.0.0.1 until interrupted.

The first line of stdout is the base URL (``http://127.0.0.1:PORT/``), flushed at once, so
a parent process (the GUI's ``--demo`` mode, tests) can read it and connect.  SIGINT and
SIGTERM stop the server cleanly; so does end-of-file on stdin with ``--exit-on-stdin-eof``
(a parent that dies takes its demo server with it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="TCP port (0 = any free port)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="loopback address to bind (others are refused)"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="directory for SUMS/export files"
    )
    parser.add_argument(
        "--export-delay", type=float, default=None, help="seconds an export stays pending"
    )
    parser.add_argument(
        "--segment-bytes", type=int, default=None, help="approximate size of each FITS segment"
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=None,
        help=(
            "side in pixels of the rendered solar images (4096 = the instruments' own; "
            "default 1024, or the side that fills --segment-bytes when that is given)"
        ),
    )
    parser.add_argument(
        "--size-cap-mb", type=int, default=None, help="exports above this answer status 3"
    )
    parser.add_argument(
        "--expire-after", type=float, default=None, help="seconds until a finished export expires"
    )
    parser.add_argument(
        "--register",
        action="append",
        default=[],
        metavar="EMAIL",
        help="e-mail address to treat as registered (repeatable)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help="fault rule ROUTE:KIND[=VALUE][@AT][xN][~MATCH] (repeatable)",
    )
    parser.add_argument(
        "--exit-on-stdin-eof", action="store_true", help="stop when stdin is closed"
    )


def run(args: argparse.Namespace) -> int:
    from jsocdesk.demo.config import DEFAULT_REGISTERED, DemoConfig
    from jsocdesk.demo.faults import Fault

    try:
        faults = [Fault.parse(s) for s in args.fault]
    except ValueError as exc:
        sys.stderr.write(f"jsocdesk serve-demo: {exc}\n")
        return 2
    try:
        config = DemoConfig(
            data_dir=args.data_dir,
            host=args.host,
            port=args.port,
            registered_emails=set(DEFAULT_REGISTERED) | {a.lower() for a in args.register},
            faults=faults,
        )
    except ValueError as exc:
        sys.stderr.write(f"jsocdesk serve-demo: {exc}\n")
        return 2
    if args.export_delay is not None:
        config.export_delay = args.export_delay
    if args.segment_bytes is not None:
        config.segment_bytes = args.segment_bytes
    if args.image_size is not None:
        config.image_size = max(16, args.image_size)
    elif args.segment_bytes is None:
        config.image_size = 1024
    if args.size_cap_mb is not None:
        config.size_cap_mb = args.size_cap_mb
    if args.expire_after is not None:
        config.expire_after = args.expire_after
    return asyncio.run(_serve(config, args.exit_on_stdin_eof))


async def _serve(config: object, watch_stdin: bool) -> int:
    import tempfile

    from jsocdesk.demo.config import DemoConfig
    from jsocdesk.demo.server import start_app, stop_app

    assert isinstance(config, DemoConfig)
    tmp = None
    data_dir = config.data_dir
    if data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="jsocdesk-demo-")
        data_dir = Path(tmp.name)
    data_dir.mkdir(parents=True, exist_ok=True)
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Windows has no loop signal handlers: Ctrl+C / termination end asyncio.run there.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, done.set)
    if watch_stdin:
        threading.Thread(
            target=_watch_stdin, args=(loop, done), name="stdin-watch", daemon=True
        ).start()
    demo, runner, port = await start_app(config, data_dir)
    try:
        sys.stdout.write(f"http://{config.host}:{port}/\n")
        sys.stdout.flush()
        await done.wait()
    finally:
        await stop_app(demo, runner)
        if tmp is not None:
            tmp.cleanup()
    return 0


def _watch_stdin(loop: asyncio.AbstractEventLoop, done: asyncio.Event) -> None:
    """Set ``done`` at end-of-file on stdin.

    Reads file descriptor 0 with :func:`os.read`, not through ``sys.stdin``: a daemon thread
    blocked inside ``sys.stdin.buffer.read`` holds the buffer's lock, and an interpreter
    that exits meanwhile (SIGTERM) aborts with "could not acquire lock for <stdin>".
    """
    try:
        while os.read(0, 65536):
            pass
    except OSError:
        pass  # no usable stdin: as good as closed
    with contextlib.suppress(RuntimeError):  # the loop is already closed
        loop.call_soon_threadsafe(done.set)
