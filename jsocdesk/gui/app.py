"""``jsocdesk`` (no sub-command): the desktop app on a qasync event loop.

Start-up is ordered for a fast first paint: only :mod:`argparse` is imported at module level;
Qt, qasync and the window are imported inside :func:`main`, the window is shown first, and the
slow parts (starting the demo server, connecting, listing series) run afterwards as tasks on
the loop.

* ``jsocdesk --demo`` starts the embedded demo JSOC server as a child process on an ephemeral
  port (its data directory persists: a demo session reopened later finds the same files),
  connects to it and stops it when the app exits;
* ``jsocdesk --server URL`` talks to another server; otherwise the server chosen in the
  settings (JSOC by default);
* ``jsocdesk SESSION.json`` opens a saved session;
* SIGTERM or SIGINT quit like File → Quit would, without asking: unsaved changes go to the
  recovery file (offered at the next start), transfers stop keeping their partial files;
* ``jsocdesk --smoke-test`` opens the window, counts the seed query's records against the
  server and exits 0 (counted) or 1 (failed) — a check for packaged builds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsocdesk.gui.context import AppContext
    from jsocdesk.gui.main_window import MainWindow
    from jsocdesk.gui.startup import FirstPaintWatcher

#: the seed's first query: hmi.v_45s, 2014-01-01 00:00–01:00 UTC (81 records)
SMOKE_RECORDSET = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"
SMOKE_TIMEOUT_S = 60.0
#: how long start-up waits for the first paint before building the panels anyway
FIRST_PAINT_WAIT_S = 1.0
#: how long the query builder waits for the series list before it is built anyway
USABLE_WAIT_S = 2.0
#: what the query builder and results import (astropy's units and time, numpy): a thread
#: imports them while the main thread waits for the demo server and the series list
PRELOAD_MODULES = ("numpy", "astropy.units", "astropy.time", "jsocdesk.core.query.tree")


def start_preload() -> threading.Thread:
    def work() -> None:
        for name in PRELOAD_MODULES:
            importlib.import_module(name)

    thread = threading.Thread(target=work, name="jsocdesk-preload", daemon=True)
    thread.start()
    return thread


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="jsocdesk", description="jsocdesk desktop app")
    p.add_argument("session", nargs="?", help="session file to open")
    p.add_argument("--demo", action="store_true", help="start and use the demo JSOC server")
    p.add_argument("--server", metavar="URL", help="base URL of the JSOC server to use")
    p.add_argument(
        "--smoke-test",
        action="store_true",
        help="open the window, count a query against the server, exit 0 on success",
    )
    # for tests/bench/bench_gui.py: print "first-paint" when the window first paints, quit
    p.add_argument("--measure-startup", action="store_true", help=argparse.SUPPRESS)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))

    # PySide6 before qasync: qasync binds to whichever Qt module is already imported.
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "jsocdesk"])
    app.setApplicationName("jsocdesk")
    app.setOrganizationName("jsocdesk")
    assert isinstance(app, QApplication)
    # the app ends when _run() returns, after its clean-up (transfers stopped, connections
    # and the demo server closed): Qt must not stop the loop under it when the window closes
    app.setQuitOnLastWindowClosed(False)

    from jsocdesk.gui.context import AppContext

    ctx = AppContext.create(show_error_dialog=not args.smoke_test)
    if args.demo and not args.server:
        # started first: the server's own start-up runs while this process builds the window
        # (AppContext.start_demo then finds it running)
        from jsocdesk.gui.demo_process import DemoServerProcess

        ctx.demo = DemoServerProcess(extra_args=["--data-dir", str(ctx.paths.demo_data)])
        ctx.demo.launch()
    from jsocdesk.logsetup import setup_logging

    setup_logging(ctx.paths)  # logs "jsocdesk <version> started" itself
    app.setDesktopFileName("jsocdesk")  # matches resources/jsocdesk.desktop
    ctx.sink.install()
    loop = qasync.QEventLoop(app)
    loop.set_exception_handler(ctx.sink.loop_exception_handler)

    from jsocdesk.gui.main_window import MainWindow

    # the frame first; build() fills it after it painted (see MainWindow)
    from jsocdesk.gui.startup import FirstPaintWatcher

    window = MainWindow(ctx, deferred=True)
    first_paint = FirstPaintWatcher(window, announce=args.measure_startup)
    window.show()

    import asyncio

    asyncio.set_event_loop(loop)
    try:
        with loop:
            return int(loop.run_until_complete(_run(app, ctx, window, first_paint, args)))
    finally:
        sys.excepthook = sys.__excepthook__
        asyncio.set_event_loop(None)


async def _run(
    app: object,
    ctx: AppContext,
    window: MainWindow,
    first_paint: FirstPaintWatcher,
    args: argparse.Namespace,
) -> int:
    from PySide6.QtWidgets import QApplication

    assert isinstance(app, QApplication)
    quitting = asyncio.Event()
    app.aboutToQuit.connect(quitting.set)
    window.closed.connect(quitting.set)
    _quit_on_signals(window, quitting)
    try:
        await first_paint.painted(FIRST_PAINT_WAIT_S)
        # usable first: the series browser, the server, its series list; the query builder,
        # results and workflow (~1 s of imports: astropy, numpy) are built right after
        window.build_browser()
        preload = start_preload()
        listed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_listed(_n: int) -> None:
            if not listed.done():
                listed.set_result(None)

        window.series_browser.series_loaded.connect(on_listed)
        if args.server:
            ctx.connect(str(args.server))
        elif args.measure_startup and not args.demo:
            pass  # the window alone (make bench): no server
        elif args.demo:
            window.statusBar().showMessage("Starting the demo server…")
            if ctx.demo is not None:
                await ctx.demo.start()  # launched before the window: its URL
            await ctx.start_demo()
            window.statusBar().showMessage(window.current_server_text(), 15000)
        else:
            await window.connect_chosen_server()  # JSOC, or what the settings say
        if ctx.client is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(listed), USABLE_WAIT_S)
        if listed.done():
            window.series_browser.table.repaint()
            if args.measure_startup:
                print("usable", flush=True)  # noqa: T201
        preload.join()
        window.build()
        # The cyclic GC then runs only here, on the GUI thread, from a Qt timer: a collection
        # that a worker thread triggers while a Qt object sits in a cycle destroys that object
        # off the GUI thread and deadlocks on Qt's and Python's locks (seen in the test suite:
        # a QMenu collected by the in-process demo server's thread).  pyqtgraph is loaded by
        # the Plot tab that build() made.
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _collector = GarbageCollector(interval=0.5)
        from jsocdesk.gui.about import app_icon  # after the first paint: it reads metadata

        app.setWindowIcon(app_icon())
        if args.measure_startup:
            window.repaint()
            print("ready", flush=True)  # noqa: T201
            return 0
        if args.session:
            window.open_session_file(args.session)
        if args.smoke_test:
            return await _smoke_test(ctx, window)
        await quitting.wait()
        return 0
    except Exception as exc:  # noqa: BLE001 - start-up failures are shown, then exit 1
        ctx.sink.report(exc, "Start-up")
        if args.smoke_test:
            print(f"smoke-test: FAILED: {exc}", file=sys.stderr)  # noqa: T201
            return 1
        await quitting.wait()
        return 1
    finally:
        window.shutdown()
        if window.built:
            await window.workflow.aclose()
        await ctx.aclose()  # also stops the demo server, without blocking


def _quit_on_signals(window: MainWindow, quitting: Any) -> None:
    """SIGTERM/SIGINT: keep unsaved changes in the recovery file, then quit (cleanly)."""
    import asyncio
    import contextlib
    import signal

    def quit_now() -> None:
        if window.built:
            window.sessions.autosave()
        quitting.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, quit_now)  # not on every platform


async def _smoke_test(ctx: AppContext, window: MainWindow) -> int:
    """Type the seed query into the window and wait for its live count (or an error)."""
    import asyncio

    if ctx.client is None:
        print("smoke-test: FAILED: no server", file=sys.stderr)  # noqa: T201
        return 1
    answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def counted(total: object, _bytes: object) -> None:
        if not answer.done():
            answer.set_result(int(str(total)))

    def failed(context: str, message: str) -> None:
        if not answer.done():
            answer.set_exception(RuntimeError(f"{context}: {message}"))

    window.query_panel.count_updated.connect(counted)
    ctx.sink.error_reported.connect(failed)
    try:
        window.query_panel.set_record_set_text(SMOKE_RECORDSET)
        count = await asyncio.wait_for(answer, SMOKE_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - any failure is the smoke test's answer
        print(f"smoke-test: FAILED: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    print(f"smoke-test: OK: {SMOKE_RECORDSET} -> {count} records")  # noqa: T201
    return 0
