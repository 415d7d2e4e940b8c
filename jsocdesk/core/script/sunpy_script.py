"""The sunpy flavour: the query as ``sunpy.net.attrs``, ``Fido.search`` and ``Fido.fetch``.

Each OR branch of the query becomes one alternative (``(... & ...) | (...)``).  What sunpy
cannot say is written as a comment next to the nearest thing it can:

* merged OR branches (one comma-separated record set, one export): sunpy exports each
  branch on its own, so the same records come in several exports;
* two conditions on one keyword: sunpy keeps the last one only;
* a quote inside a keyword value: sunpy does not escape it.
"""

from __future__ import annotations

import astropy.units as u
from astropy.time import Time as AstropyTime

from jsocdesk.core.query.tree import (
    Keyword,
    Node,
    Notify,
    PrimeKey,
    Sample,
    Segment,
    Series,
    Time,
    Wavelength,
    quiet_astropy,
)
from jsocdesk.core.script.common import JSOC_URL, Branch, ScriptPlan, comment, py_number, py_str
from jsocdesk.core.script.text import fill, header, server_config_function

TEMPLATE = '''\
{{HEADER}}
import argparse
import sys
from pathlib import Path
from urllib.parse import urljoin

{{IMPORTS}}import drms  # sunpy's JSOC client talks to JSOC through drms
from sunpy.net import Fido
from sunpy.net import attrs as a

#: The JSOC web API the script talks to; --server URL picks another JSOC-like server.
SERVER = {{SERVER}}
JSOC = {{JSOC}}

#: The query's Notify address; JSOC needs it registered (--email ADDRESS overrides it).
EMAIL = {{EMAIL}}


def query(email: str):
    """The query as sunpy attributes, one alternative per OR branch."""
    notify = a.jsoc.Notify(email)
    return (
{{QUERY}}
    )


{{SERVER_CONFIG}}


def use_server(server: str) -> None:
    """sunpy asks drms for the server named "jsoc": point that name at ``server``."""
    if server.rstrip("/") != JSOC.rstrip("/"):
        drms.config._server_configs["jsoc"] = jsoc_like_server(server)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="folder for the downloaded files")
    parser.add_argument("--server", default=SERVER, help="JSOC-like server (default: %(default)s)")
    parser.add_argument(
        "--email", default=EMAIL, help="registered JSOC address (default: %(default)s)"
    )
    parser.add_argument(
        "--poll", type=float, default=10.0, help="seconds before the first status check"
    )
    args = parser.parse_args()
    if not args.email:
        parser.error("exports need an e-mail address registered with JSOC: --email ADDRESS")
    use_server(args.server)

    # 1. Search.
    result = Fido.search(query(args.email))
    found = sum(len(table) for table in result)
    print(result)
    print(f"{found} records found")
    if found == 0:
        return 0

    # 2. Export (JSOC stages the files and e-mails the address), wait, 3. download.
    args.outdir.mkdir(parents=True, exist_ok=True)
    files = Fido.fetch(result, path=str(args.outdir / "{file}"), sleep=args.poll)
    for error in files.errors:
        print(f"failed: {error}", file=sys.stderr)
    print(f"downloaded {len(files)} files into {args.outdir}")
    return 1 if files.errors else 0


if __name__ == "__main__":
    sys.exit(main())
'''

_OPS = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _quantity(value: u.Quantity) -> str:
    unit = value.unit
    name = unit.to_string()
    if name.isidentifier() and getattr(u, name, None) == unit:
        unit_text = f"u.{name}"
    else:
        unit_text = f"u.Unit({py_str(name)})"
    return f"{py_number(float(value.value))} * {unit_text}"


def _isot(t: AstropyTime) -> str:
    with quiet_astropy():
        text = str(AstropyTime(t, precision=9).isot)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _time_value(t: AstropyTime) -> str:
    if t.scale == "utc":
        return py_str(_isot(t))
    return f"Time({py_str(_isot(t))}, scale={py_str(t.scale)})"


def attr(node: Node) -> str | None:
    """The sunpy attribute for one leaf (``None`` for Notify: the script adds its own)."""
    if isinstance(node, Series):
        return f"a.jsoc.Series({py_str(node.name)})"
    if isinstance(node, Time):
        return f"a.Time({_time_value(node.start)}, {_time_value(node.end)})"
    if isinstance(node, Wavelength):
        return f"a.Wavelength({_quantity(node.min)})"
    if isinstance(node, Sample):
        return f"a.Sample({_quantity(node.value)})"
    if isinstance(node, PrimeKey):
        return f"a.jsoc.PrimeKey({py_str(node.name)}, {py_str(node.value)})"
    if isinstance(node, Segment):
        return f"a.jsoc.Segment({py_str(node.name)})"
    if isinstance(node, Keyword):
        op, value = _OPS[node.op or "="], py_str(node.value or "")
        return f"(a.jsoc.Keyword({py_str(node.name)}) {op} {value})"
    if isinstance(node, Notify):
        return None
    raise ValueError(f"no sunpy attribute for {node!r}")


def _branch_notes(branch: Branch) -> list[str]:
    notes: list[str] = []
    seen: dict[str, Keyword] = {}
    for kw in branch.parts.keywords:
        low = kw.name.lower()
        if low in seen:
            notes.append(
                f"sunpy keeps only the last condition on {kw.name}: "
                f"{seen[low].describe()} is dropped (the drms script keeps both)"
            )
        seen[low] = kw
        if "'" in (kw.value or ""):
            notes.append(f"sunpy does not escape the quote in the value of {kw.name}")
    return notes


def render_query(plan: ScriptPlan) -> str:
    rows: list[str] = []
    merged = {p: b for b in plan.exports if len(b.parts) > 1 for p in b.parts}
    noted: set[str] = set()
    for i, branch in enumerate(plan.branches):
        block = merged.get(branch.record_set)
        if block is not None and block.record_set not in noted:
            noted.add(block.record_set)
            rows.append(
                f"        # jsocdesk merges these {len(block.parts)} OR branches on "
                f"{comment(block.series)} into one record set (one export);"
            )
            rows.append(
                "        # sunpy cannot join record sets, so it exports each branch on its own"
                " (same records)."
            )
        rows.append(f"        # {comment(branch.record_set, 400)}")
        rows += [f"        # Note: {comment(n, 400)}" for n in _branch_notes(branch)]
        terms = [t for t in (attr(n) for n in branch.parts.branch.nodes) if t is not None]
        prefix = "        | " if i else "        "
        rows.append(prefix + "(")
        rows += [f"            {t}" + " &" for t in terms]
        rows.append("            notify")
        rows.append("        )")
    return "\n".join(rows)


def render(plan: ScriptPlan, *, source: str | None = None) -> str:
    needs_time = any(
        isinstance(n, Time) and (n.start.scale != "utc" or n.end.scale != "utc")
        for b in plan.branches
        for n in b.parts.branch.nodes
    )
    needs_units = any(
        isinstance(n, Wavelength | Sample) for b in plan.branches for n in b.parts.branch.nodes
    )
    imports = []
    if needs_units:
        imports.append("import astropy.units as u")
    if needs_time:
        imports.append("from astropy.time import Time")
    notes = []
    if len(plan.emails) > 1:
        notes.append("The query names several Notify addresses; every export uses the first.")
    return fill(
        TEMPLATE,
        HEADER=header("sunpy", plan, source=source, notes=notes),
        IMPORTS="".join(f"{line}\n" for line in imports),
        SERVER=py_str(plan.server),
        JSOC=py_str(JSOC_URL),
        EMAIL=py_str(plan.email or ""),
        QUERY=render_query(plan),
        SERVER_CONFIG=server_config_function(),
    )
