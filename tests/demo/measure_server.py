"""Figures of the demo server (not a test): start-up time and peak RSS while listing.

    .venv/bin/python tests/demo/measure_server.py [RECORDS]

Starts ``jsocdesk serve-demo`` as a child process, prints the time until it printed its URL,
then streams an ``rs_list`` of RECORDS (default 1,000,000) ``hmi.v_45s`` records with two
keywords and prints the server's RSS and peak RSS (VmRSS/VmHWM from /proc) before and after.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx


def rss(pid: int) -> str:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS", "VmHWM")):
            name, value, _unit = line.split()
            fields[name.rstrip(":")] = f"{int(value) / 1024:.1f} MiB"
    return f"RSS {fields['VmRSS']}, peak {fields['VmHWM']}"


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jsocdesk", "serve-demo", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        print(f"URL printed after {time.monotonic() - t0:.2f} s: {base}")
        info = base + "cgi-bin/ajax/jsoc_info"
        httpx.get(info, params={"op": "series_struct", "ds": "hmi.v_45s"})
        print(f"first answer after {time.monotonic() - t0:.2f} s; {rss(proc.pid)}")
        params = {
            "op": "rs_list",
            "ds": "hmi.v_45s[2014.01.01_00:00:00_TAI-2016.01.01_00:00:00_TAI]",
            "key": "T_REC,QUALITY",
            "n": str(n),
        }
        t1 = time.monotonic()
        size = 0
        with httpx.stream("GET", info, params=params, timeout=900) as r:
            for chunk in r.iter_bytes():
                size += len(chunk)
        took = time.monotonic() - t1
        print(f"listed {n} records ({size / 1e6:.1f} MB of JSON) in {took:.1f} s; {rss(proc.pid)}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()


if __name__ == "__main__":
    main()
