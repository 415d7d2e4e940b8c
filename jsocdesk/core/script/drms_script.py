"""The drms flavour: ``client.query`` to count, ``client.export`` + ``wait`` + ``download``."""

from __future__ import annotations

from jsocdesk.core.query.tree import Notify
from jsocdesk.core.script.common import JSOC_URL, ScriptPlan, comment, py_str, py_strs
from jsocdesk.core.script.text import fill, header, server_config_function

TEMPLATE = '''\
{{HEADER}}
import argparse
import sys
from pathlib import Path
from urllib.parse import urljoin

import drms

#: The JSOC web API the script talks to; --server URL picks another JSOC-like server.
SERVER = {{SERVER}}
JSOC = {{JSOC}}

#: The query's Notify address; JSOC needs it registered (--email ADDRESS overrides it).
EMAIL = {{EMAIL}}

#: What to search and export: (record set, keywords to list), one export each.
RECORD_SETS = [
{{RECORD_SETS}}
]


{{SERVER_CONFIG}}


def connect(server: str) -> drms.Client:
    """A drms client for ``server`` (drms knows the real JSOC by name)."""
    if server.rstrip("/") == JSOC.rstrip("/"):
        return drms.Client()
    return drms.Client(jsoc_like_server(server))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="folder for the downloaded files")
    parser.add_argument("--server", default=SERVER, help="JSOC-like server (default: %(default)s)")
    parser.add_argument(
        "--email", default=EMAIL, help="registered JSOC address (default: %(default)s)"
    )
    parser.add_argument(
        "--poll", type=float, default=5.0, help="seconds between status checks (default: 5)"
    )
    args = parser.parse_args()
    client = connect(args.server)

    # 1. Search: list the prime keys of every record to count them.
    counts = []
    for record_set, keys in RECORD_SETS:
        records = client.query(record_set, key=keys)
        print(f"{record_set}: {len(records)} records")
        counts.append(len(records))
    print(f"{sum(counts)} records found")
    if sum(counts) == 0:
        return 0

    # 2. Export: JSOC stages the files and e-mails the address; one export at a time
    #    (JSOC allows one pending export per address).
    if not args.email:
        parser.error("exports need an e-mail address registered with JSOC: --email ADDRESS")
    if not client.check_email(args.email):
        sys.exit(
            f"{args.email} is not registered with JSOC; "
            "register it at http://jsoc.stanford.edu/ajax/register_email.html"
        )
    args.outdir.mkdir(parents=True, exist_ok=True)
    downloaded = 0
    for (record_set, _keys), count in zip(RECORD_SETS, counts):
        if count == 0:
            continue
        request = client.export(record_set, method="url", protocol="fits", email=args.email)
        print(f"export {request.id}: waiting for JSOC to stage {count} records ...")
        request.wait(sleep=args.poll)

        # 3. Download the staged files into OUTDIR.
        files = request.download(args.outdir)
        done = int(files["download"].notna().sum()) if len(files) else 0
        print(f"downloaded {done} of {len(files)} files into {args.outdir}")
        downloaded += done
        if done < len(files):
            return 1
    print(f"{downloaded} files in {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
'''


def render(plan: ScriptPlan, *, source: str | None = None) -> str:
    rows: list[str] = []
    for block in plan.exports:
        if len(block.parts) > 1:
            rows.append(f"    # {len(block.parts)} OR branches on {comment(block.series)}, merged")
        else:
            described = [n.describe() for n in block.nodes if not isinstance(n, Notify)]
            rows.append(f"    # {comment('; '.join(described), 400)}")
        rows.append(f"    ({py_str(block.record_set)}, {py_strs(plan.keys_of(block))}),")
    notes = []
    if len(plan.emails) > 1:
        others = ", ".join(comment(e, 60) for e in plan.emails[1:])
        notes.append(
            f"The query names several Notify addresses; every export uses the first "
            f"({others} unused)."
        )
    return fill(
        TEMPLATE,
        HEADER=header("drms", plan, source=source, notes=notes),
        SERVER=py_str(plan.server),
        JSOC=py_str(JSOC_URL),
        EMAIL=py_str(plan.email or ""),
        RECORD_SETS="\n".join(rows),
        SERVER_CONFIG=server_config_function(),
    )
