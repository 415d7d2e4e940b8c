"""The embedded demo JSOC server (an emulator of JSOC's web API on 127.0.0.1).

Public entry points: :class:`jsocdesk.demo.server.DemoServer`, :class:`DemoConfig`,
:class:`jsocdesk.demo.faults.Fault`, and ``jsocdesk serve-demo`` for a child process.
Never imports Qt.
"""

from __future__ import annotations

from jsocdesk.demo.config import DemoConfig
from jsocdesk.demo.faults import Fault, FaultPlan
from jsocdesk.demo.server import DemoServer

__all__ = ["DemoConfig", "DemoServer", "Fault", "FaultPlan"]
