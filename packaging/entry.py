"""Entry point of the frozen bundle (PyInstaller runs this file as ``__main__``).

Separate from ``jsocdesk/__main__.py`` so that the bundle's script directory is ``packaging/``,
not the package itself (which would put ``jsocdesk/`` on ``sys.path`` as a top-level
directory), and so that ``multiprocessing`` children of the frozen executable are handled.

In a bundle ``sys.executable`` is the jsocdesk executable itself, so code that starts a helper
as ``[sys.executable, "-m", "jsocdesk", ...]`` (the demo server child of ``--demo``) would
hand ``-m jsocdesk`` to the CLI.  The frozen executable therefore accepts that prefix and
drops it: ``jsocdesk -m jsocdesk serve-demo`` runs like ``python -m jsocdesk serve-demo``.
"""

import multiprocessing
import sys

from jsocdesk.cli import main

MODULE_PREFIX = ["-m", "jsocdesk"]

if __name__ == "__main__":
    multiprocessing.freeze_support()
    argv = sys.argv[1:]
    if argv[:2] == MODULE_PREFIX:
        argv = argv[2:]
    raise SystemExit(main(argv))
