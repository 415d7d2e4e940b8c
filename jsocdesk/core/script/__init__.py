"""Copy as code: a session's query as a standalone, readable Python script.

:func:`python_script` writes a script for ``drms`` or for sunpy's ``Fido``; run as
``python script.py OUTDIR`` it searches the query, prints the number of records found,
exports them for the query's Notify address, waits and downloads the files into OUTDIR,
with nothing but drms (or sunpy) installed.  ``--server URL`` (default: the server the
script was written for, normally the real JSOC) and ``--email ADDRESS`` override the
baked-in values.
"""

from __future__ import annotations

from jsocdesk.core.query.tree import Node, QueryTree
from jsocdesk.core.query.validate import SeriesLookup
from jsocdesk.core.script import drms_script, sunpy_script
from jsocdesk.core.script.common import (
    JSOC_URL,
    TARGETS,
    ScriptPlan,
    ScriptTarget,
    plan_script,
)

__all__ = ["JSOC_URL", "TARGETS", "ScriptPlan", "ScriptTarget", "plan_script", "python_script"]


def python_script(
    query: Node | QueryTree,
    infos: SeriesLookup,
    target: ScriptTarget,
    *,
    merge: bool = False,
    server: str = JSOC_URL,
    source: str | None = None,
) -> str:
    """The script for ``target`` (``"drms"`` or ``"sunpy"``).

    ``infos`` gives the series' prime-key order (as for :func:`compile_query`); ``merge``
    joins OR branches on one series into one record set (drms exports it at once; sunpy
    cannot, and the script says so); ``source`` names the session in the header comment.
    Raises :class:`~jsocdesk.core.errors.QueryError` for a query that does not compile.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown script target {target!r} (one of {', '.join(TARGETS)})")
    plan = plan_script(query, infos, merge=merge, server=server)
    if target == "drms":
        return drms_script.render(plan, source=source)
    return sunpy_script.render(plan, source=source)
