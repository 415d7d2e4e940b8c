"""Command line entry point.

``jsocdesk`` with no sub-command (or with a session file) starts the desktop app; the
sub-commands are headless and use only the Qt-free core.  Each sub-command lives in its own
module under :mod:`jsocdesk.commands` and is imported only when used, so ``--help`` and the
headless commands start fast and never import Qt.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from jsocdesk import __version__

#: sub-command -> (module under jsocdesk.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "recordset": ("recordset", "print the record sets a session's query compiles to"),
    "search": ("search", "count and list the records a session's query selects"),
    "export": ("export", "stage an export of a session's query and print its files"),
    "fetch": ("fetch", "search, export and download a session's query"),
    "script": ("script", "write a session's query as a Python script for drms or sunpy"),
    "serve-demo": ("serve_demo", "run the demo JSOC server on 127.0.0.1"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``only``, just that sub-command's module is imported."""
    parser = argparse.ArgumentParser(
        prog="jsocdesk",
        description="Desktop client for JSOC (SDO/HMI/AIA data). "
        "Without a sub-command, starts the desktop app.",
    )
    parser.add_argument("--version", action="version", version=f"jsocdesk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod = _load(module) if only in (None, name) else None
        if mod is not None:
            mod.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def _load(module: str) -> Any:
    try:
        return importlib.import_module(f"jsocdesk.commands.{module}")
    except ModuleNotFoundError as exc:
        if exc.name == f"jsocdesk.commands.{module}":
            return None
        raise


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (
        args_list[0] not in COMMANDS and args_list[0] not in ("-h", "--help", "--version")
    ):
        # GUI mode: jsocdesk [--demo] [SESSION.json] [...]
        gui = _load_gui()
        if gui is None:
            print(
                "jsocdesk: the desktop app is not installed (pip install 'jsocdesk[gui]')",
                file=sys.stderr,
            )
            return 2
        return int(gui.main(args_list))
    command = args_list[0] if args_list[0] in COMMANDS else None
    parser = build_parser(only=command)
    args = parser.parse_args(args_list)
    mod = _load(args._module)
    if mod is None:
        print(f"jsocdesk: '{args.command}' is not available in this build", file=sys.stderr)
        return 2
    return _run_safely(args.command, mod, args)


def _run_safely(command: str, mod: Any, args: argparse.Namespace) -> int:
    """Run a sub-command with server text kept off the terminal raw and every failure as
    one line and a non-zero exit.

    stdout and stderr are :class:`~jsocdesk.core.text.SafeStream` for the duration, so
    nothing a server sent (error texts, names, values) prints escape sequences or lone
    surrogates, whichever module prints it.  An exception a command did not expect ends it
    with ``jsocdesk COMMAND: internal error: …`` and exit status 70; the traceback goes to
    the log file, not the terminal.
    """
    import logging

    from jsocdesk.core.text import SafeStream, clean
    from jsocdesk.logsetup import setup_logging, shutdown_logging

    with contextlib.suppress(OSError):  # tracebacks go to the log file, not the terminal
        setup_logging(level=logging.WARNING)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeStream(sys.stdout), SafeStream(sys.stderr)
    try:
        return int(mod.run(args))
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # the last line of defence, reported below
        logging.getLogger("jsocdesk.cli").error("%s failed", command, exc_info=True)
        sys.stderr.write(
            f"jsocdesk {command}: internal error: {type(exc).__name__}: "
            f"{clean(str(exc), limit=300)} (please report it; details in the log)\n"
        )
        return 70
    finally:
        sys.stdout, sys.stderr = saved
        shutdown_logging()


def _load_gui() -> Any:
    """The GUI entry module, or ``None`` when the Qt extra is not installed."""
    import importlib.util

    if any(importlib.util.find_spec(dep) is None for dep in ("PySide6", "qasync")):
        return None
    try:
        return importlib.import_module("jsocdesk.gui.app")
    except ModuleNotFoundError:
        return None
