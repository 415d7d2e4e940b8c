"""Fault injection for the demo JSOC server.

Every request is classified by *route*: the CGI name (``show_series``, ``showextseries``,
``jsoc_info``, ``jsoc_fetch``, ``checkAddress.sh``) or ``files`` for static ``/SUM…``
downloads (segment files, export directories, tar files).  A :class:`Fault` names the route
it applies to (``"*"`` = every route), an optional ``match`` substring of the request's
path + query string (e.g. ``"op=exp_status"`` or ``"magnetogram.fits"``), how many times it
fires (``times=None`` = every matching request) and what it does:

=================  =======================================================================
kind               effect (``value`` / ``at``)
=================  =======================================================================
``latency``        wait ``value`` seconds before answering
``http_error``     answer HTTP ``value`` (e.g. 503) with a short text body instead
``busy``           answer HTTP ``value`` (429 or 503; 0 means 429) with ``Retry-After: <at>``
                   seconds (an overloaded or rate-limiting server)
``reset``          send the headers and the first ``at`` body bytes, then abort the TCP
                   connection with RST
``truncate``       advertise the full Content-Length, send ``at`` bytes, close cleanly (FIN)
``stall``          send the headers and ``at`` bytes, pause ``value`` seconds
                   (``inf`` = until the client gives up or the server stops), then finish
``wrong_length``   advertise Content-Length = true length + ``value`` (may be negative),
                   send the body (cut to the advertised length), close
``status6``        ``jsoc_fetch?op=exp_status`` answers JSOC status 6 ("request not found",
                   which drms retries) instead of the real status
``files_lost``     the ``exp_request`` it fires on finishes with status 0 but no file: the
                   stored files "no longer exist", so index.json has JSOC's warning row
                   instead (``jsoc_export_as_fits.c``)
=================  =======================================================================

Several faults may fire on one request (e.g. latency + reset); at most one body fault
fires per request, and none together with an ``http_error``.  Body faults honour ``Range``
(a resumed download gets ``206`` and is then cut).  A streamed ``rs_list`` answer that a
body fault hits is rendered in full first (fine for test sizes).  ``server.faults.hits``
counts what fired, per kind.  Faults are configured at
start (``DemoConfig(faults=[...])``, ``jsocdesk serve-demo --fault SPEC``) or at run time:
in-process through ``server.faults.add(Fault(...))`` / ``.clear()``, or over HTTP with
``POST /_demo/faults`` (JSON object or list of objects with the fields of :class:`Fault`),
``GET /_demo/faults`` (current plan and hit counters), ``DELETE /_demo/faults``.

Compact text form (CLI, :meth:`Fault.parse`): ``ROUTE:KIND[=VALUE][@AT][xTIMES][~MATCH]``,
e.g. ``files:reset@4096x1``, ``jsoc_info:latency=0.5``, ``files:http_error=503x2``,
``jsoc_fetch:status6x3``, ``files:stall=inf@1000~Dopplergram``.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, get_args

FaultKind = Literal[
    "latency",
    "http_error",
    "reset",
    "truncate",
    "stall",
    "wrong_length",
    "status6",
    "files_lost",
    "busy",
]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
#: Routes a fault can name (``*`` = all of them).
ROUTES: tuple[str, ...] = (
    "*",
    "files",
    "show_series",
    "showextseries",
    "jsoc_info",
    "jsoc_fetch",
    "checkAddress.sh",
)
#: Faults that change how the body bytes travel (at most one of these applies per request).
BODY_KINDS = frozenset({"reset", "truncate", "stall", "wrong_length"})


@dataclass
class Fault:
    """One fault rule; see the module docstring for the meaning of each field."""

    kind: FaultKind
    route: str = "*"
    value: float = 0.0
    at: int = 0
    times: int | None = None
    match: str = ""
    id: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (one of {', '.join(FAULT_KINDS)})")
        if self.route not in ROUTES:
            raise ValueError(f"unknown fault route {self.route!r} (one of {', '.join(ROUTES)})")
        if self.kind == "http_error" and not 400 <= int(self.value) <= 599:
            raise ValueError("http_error needs an HTTP status 400..599 as value")
        if self.kind == "busy" and int(self.value) not in (0, 429, 503):
            raise ValueError("busy answers HTTP 429 or 503")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1 or None")
        if self.at < 0:
            raise ValueError("at must be >= 0")

    _SPEC = re.compile(
        r"^(?P<route>[\w.*]+):(?P<kind>[a-z_0-9]+?)(?:=(?P<value>[-+\w.]+?))?"
        r"(?:@(?P<at>\d+))?(?:x(?P<times>\d+))?(?:~(?P<match>.+))?$"
    )

    @classmethod
    def parse(cls, spec: str) -> Fault:
        """Parse ``ROUTE:KIND[=VALUE][@AT][xTIMES][~MATCH]``."""
        m = cls._SPEC.match(spec.strip())
        if not m:
            raise ValueError(
                f"bad fault spec {spec!r}: expected ROUTE:KIND[=VALUE][@AT][xN][~MATCH]"
            )
        value = m["value"]
        return cls(
            kind=m["kind"],  # type: ignore[arg-type]  # validated in __post_init__
            route=m["route"],
            value=float(value) if value is not None else 0.0,
            at=int(m["at"] or 0),
            times=int(m["times"]) if m["times"] else None,
            match=m["match"] or "",
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Fault:
        known = {"kind", "route", "value", "at", "times", "match"}
        unknown = set(d) - known - {"id"}
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        kw = {k: d[k] for k in known if k in d}
        if "value" in kw:
            kw["value"] = float(kw["value"])
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if math.isinf(self.value):
            d["value"] = "inf"
        return d

    def applies_to(self, route: str, target: str) -> bool:
        return (self.route in ("*", route)) and (not self.match or self.match in target)


class FaultPlan:
    """Thread-safe set of fault rules shared by the server loop and the controlling thread."""

    def __init__(self, faults: list[Fault] | tuple[Fault, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1
        self.hits: Counter[str] = Counter()
        for f in faults:
            self.add(f)

    def add(self, fault: Fault) -> Fault:
        """Add a rule (a copy with a fresh ``id`` is stored and returned)."""
        with self._lock:
            stored = replace(fault, id=self._next_id)
            self._next_id += 1
            self._faults.append(stored)
            return stored

    def remove(self, fault_id: int) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if f.id != fault_id]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.hits.clear()

    def snapshot(self) -> list[Fault]:
        with self._lock:
            return [replace(f) for f in self._faults]

    def take(self, route: str, target: str) -> list[Fault]:
        """Faults that fire for this request; consumes one use of each counted rule.

        Of the body-shaping kinds only the first matching rule fires, and none fires
        together with an ``http_error``.
        """
        fired: list[Fault] = []
        with self._lock:
            # An HTTP error answer has no body to spoil: body faults wait for the next one.
            body_taken = any(
                f.kind == "http_error" and f.applies_to(route, target) for f in self._faults
            )
            keep: list[Fault] = []
            for f in self._faults:
                use = f.applies_to(route, target)
                if use and f.kind in BODY_KINDS:
                    if body_taken:
                        use = False
                    body_taken = body_taken or use
                if use:
                    fired.append(replace(f))
                    self.hits[f.kind] += 1
                    if f.times is not None:
                        f.times -= 1
                        if f.times == 0:
                            continue
                keep.append(f)
            self._faults = keep
        return fired

    def __repr__(self) -> str:
        return f"FaultPlan({self.snapshot()!r})"
