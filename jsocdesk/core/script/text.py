"""Text pieces of the generated scripts: the module header and the server description."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from jsocdesk import __version__
from jsocdesk.core.script.common import ScriptPlan, comment

_SLOT = re.compile(r"\{\{([A-Z_]+)\}\}")

DOC = '''\
#!/usr/bin/env python3
"""Search, export and download a JSOC query with {lib}.

Usage:  python {name} OUTDIR [--server URL] [--email ADDRESS]{usage}

Finds the records of the query below and prints how many there are, asks JSOC to export
them for the e-mail address (it must be registered with JSOC:
http://jsoc.stanford.edu/ajax/register_email.html), waits until the files are staged and
downloads them into OUTDIR.  Needs only {lib} ({install}).
"""
'''


def fill(template: str, **slots: str) -> str:
    """Replace every ``{{NAME}}`` of ``template`` (each must be given)."""

    def one(match: re.Match[str]) -> str:
        return slots[match.group(1)]

    return _SLOT.sub(one, template)


def header(lib: str, plan: ScriptPlan, *, source: str | None, notes: Iterable[str] = ()) -> str:
    install = "pip install drms" if lib == "drms" else "pip install 'sunpy[net]'"
    name = "this_script.py"
    usage = " [--poll SECONDS]"
    lines = [DOC.format(lib=lib, name=name, install=install, usage=usage).rstrip("\n")]
    made = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    origin = f" from {comment(source, 80)}" if source else ""
    lines.append(f"# Written by jsocdesk {__version__}{origin} on {made}.")
    for note in notes:
        lines.append(f"# Note: {comment(note, 400)}")
    return "\n".join(lines) + "\n"


SERVER_CONFIG = '''\
def jsoc_like_server(url: str) -> drms.ServerConfig:
    """drms' description of a server at ``url`` that speaks JSOC's web API."""
    url = url if url.endswith("/") else url + "/"
    return drms.ServerConfig(
        name="JSOC",
        cgi_baseurl=urljoin(url, "cgi-bin/ajax/"),
        cgi_show_series="show_series",
        cgi_jsoc_info="jsoc_info",
        cgi_jsoc_fetch="jsoc_fetch",
        cgi_check_address="checkAddress.sh",
        cgi_show_series_wrapper="showextseries",
        show_series_wrapper_dbhost="hmidb2",
        http_download_baseurl=url,
    )'''


def server_config_function() -> str:
    return SERVER_CONFIG
