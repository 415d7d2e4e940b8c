"""``jsoc_fetch`` export requests of the demo server (``jsoc-protocol.md`` §2.7-§2.8, §3).

Life of a queued export: ``exp_request`` answers status 2 with ``JSOC_YYYYMMDD_NNN``;
``exp_status`` reports 2 for the first half of its delay (``export_delay``, longer when
records are on tape: see :func:`export_delay`), then 1, then 0 with the
``index.json`` written into the export directory (``/SUMnn/D<sunum>/S00000/``) once the
files are really there; ``expire_after`` seconds later the directory is deleted and the
status is 5.  ``url_quick`` + ``as-is`` answers at once (status 0, ``requestid: ""``).
Rules enforced in JSOC's order: e-mail registered (else 4), one pending request per
e-mail and at most ``max_pending_per_client`` per client address (else 7), record set
valid (else 4), size cap (else 3), identical requests within ``dedup_window`` reuse the
same id.  The registry of requests is kept in ``<data dir>/demo-exports.json``, so a demo
server restarted on the same data directory (the GUI's demo mode) still answers for
finished exports; requests that were pending at the restart report status 4.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import shutil
import tarfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsocdesk.demo import jsocjson, records
from jsocdesk.demo.records import KeywordGen, Record
from jsocdesk.demo.series import Seg

if TYPE_CHECKING:
    from jsocdesk.demo.config import DemoConfig
    from jsocdesk.demo.server import DemoApp

EXPORT_SUNUM_BASE = 900_000_000
ALLOWED_PROCESSING = (
    "im_patch",
    "resize",
    "rebin",
    "aia_scale_aialev1",
    "aia_scale_orig",
    "aia_scale_other",
    "Maproj",
    "HmiB2ptr",
)
REQUEST_ID_RE = re.compile(r"^JSOC_[0-9]{8}_[0-9]+(_IN)?$")
FITS_HEADER_BYTES = 2880 * 4
NO_FILES_WARNING = "No FITS files were exported. The requested FITS files no longer exist."


@dataclass
class FileEntry:
    record: Record  # the exported record
    seg: Seg
    record_name: str  # as listed in index.json
    filename: str  # basename inside the export directory
    source: tuple[Record, Seg]  # where the bytes come from (differs for linked segments)


@dataclass
class Export:
    requestid: str
    method: str
    protocol: str
    notify: str
    client: str
    ds: str
    digest: str
    created: float
    delay: float
    rcount: int
    size_mb: int
    entries: list[FileEntry]
    sunum: int
    status: int = 2
    error: str = ""
    completed: float | None = None
    process: str = ""  # the processing steps after ``n=N|`` (im_patch,…|rebin,…)
    files_lost: bool = False
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def dir(self) -> str:
        return f"/SUM{1 + self.sunum % 99}/D{self.sunum}/S00000"

    #: Fields kept in the registry file, so a restarted server still knows its exports.
    PERSISTED = (
        "requestid",
        "method",
        "protocol",
        "notify",
        "client",
        "ds",
        "digest",
        "created",
        "delay",
        "rcount",
        "size_mb",
        "sunum",
        "status",
        "error",
        "completed",
        "process",
    )

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.PERSISTED}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Export:
        fields = {k: d[k] for k in cls.PERSISTED if k in d}
        return cls(entries=[], **fields)

    def pending(self, now: float) -> bool:
        return self.status in (1, 2)


class ExportManager:
    """All export requests of one server; runs on the server loop."""

    REGISTRY = "demo-exports.json"

    def __init__(self, app: DemoApp) -> None:
        self.app = app
        self.exports: dict[str, Export] = {}
        self._seq = 0
        self._day = ""
        self._sunum = EXPORT_SUNUM_BASE
        self._version = 0
        self._written = 0
        self._write_lock = threading.Lock()
        self._load()

    # --- registry file (the data dir outlives the process in the GUI's demo mode) -------

    @property
    def registry_path(self) -> Path:
        return self.app.data_dir / self.REGISTRY

    def _load(self) -> None:
        try:
            items = json.loads(self.registry_path.read_text(encoding="utf-8"))["exports"]
            restored = [Export.from_json(d) for d in items]
        except (OSError, ValueError, KeyError, TypeError):
            return
        day = datetime.now(UTC).strftime("%Y%m%d")
        for e in restored:
            if e.status in (1, 2):
                e.status = 4
                e.error = (
                    "The demo server was restarted before this export finished; "
                    "please submit the request again."
                )
            self.exports[e.requestid] = e
            self._sunum = max(self._sunum, e.sunum)
            if e.requestid.startswith(f"JSOC_{day}_"):
                self._day = day
                self._seq = max(self._seq, int(e.requestid.split("_")[2]))

    def _snapshot(self) -> tuple[int, str]:
        """The registry as text, taken on the loop thread, with a version number."""
        self._version += 1
        payload = {"format_version": 1, "exports": [e.to_json() for e in self.exports.values()]}
        return self._version, json.dumps(payload, indent=1)

    def _write(self, version: int, text: str) -> None:
        from jsocdesk.core.atomic import atomic_write_text

        with self._write_lock:
            if version > self._written:  # never let an older snapshot land last
                atomic_write_text(self.registry_path, text)
                self._written = version

    def _save(self) -> None:
        self._write(*self._snapshot())

    async def close(self) -> None:
        tasks = [e.task for e in self.exports.values() if e.task is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    def _new_id(self) -> str:
        day = datetime.now(UTC).strftime("%Y%m%d")
        if day != self._day:
            self._day, self._seq = day, 0
        self._seq += 1
        return f"JSOC_{day}_{self._seq:03d}"

    # --- exp_request --------------------------------------------------------------------

    async def request(
        self, params: dict[str, str], client: str, *, files_lost: bool = False
    ) -> dict[str, Any]:
        cfg = self.app.config
        notify = params.get("notify", "").strip()
        method = params.get("method", "url").strip().lower() or "url"
        protocol_raw = params.get("protocol", "as-is").strip() or "as-is"
        protocol = protocol_raw.split(",")[0].lower()
        ds = params.get("ds", "")
        # Failures die through jsoc_fetch.c die(): {"status": N, "error": msg} only; a
        # request too large answers {"requestid": "VOID", method, protocol, "wait": 0, ...}.
        void = {"requestid": "VOID", "method": method, "protocol": protocol}
        # 1. e-mail
        check = self.app.api.address_status(notify)
        if check[0] != 2:
            return {"status": 4, "error": f"Cannot process your request. {check[1]}"}
        now = time.time()
        # 2. pending limits
        self.expire(now)
        mine = [
            e
            for e in self.exports.values()
            if e.notify.lower() == notify.lower()
            and e.pending(now)
            and now - e.created < cfg.pending_timeout
        ]
        if mine:
            ids = ", ".join(e.requestid for e in mine)
            return {
                "status": 7,
                "error": (
                    f"User {notify} has {len(mine)} pending export requests ({ids}); please wait "
                    "until at least one request has completed before submitting a new one."
                ),
            }
        from_client = [e for e in self.exports.values() if e.client == client and e.pending(now)]
        if len(from_client) >= cfg.max_pending_per_client:
            return {
                "status": 7,
                "error": (
                    f"There are too many requests from {notify}; please wait until one or more "
                    "requests have completed before submitting a new one."
                ),
            }
        if method not in ("url_quick", "url", "url-tar"):
            return {"status": 4, "error": f"Export method '{method}' is not supported."}
        if protocol not in ("as-is", "fits"):
            return {
                "status": 4,
                "error": f"Export protocol '{protocol}' is not supported by this server.",
            }
        # jsoc_fetch.c reads "process" = "n=<N>|step,k=v|..." (the processing column;
        # "n=0|no_op" when nothing is done); drms sends the key "process=n" with "<N>|...",
        # which JSOC's external wrapper turns into the same argument
        process = params.get("process=n")
        if process is None:
            process = params.get("process", "")
            process = process[2:] if process.startswith("n=") else process
        limit_text, *steps = process.split("|") if process else ["0"]
        steps = [st for st in steps if st.split(",", 1)[0] != "no_op"]
        try:
            limit = int(limit_text or "0")
        except ValueError:
            return {"status": 4, "error": f"Bad process argument '{process}'."}
        step_names = [s.split(",", 1)[0] for s in steps if s]
        for name in step_names:
            if name not in ALLOWED_PROCESSING:
                return {"status": 4, "error": f"Unknown processing step '{name}'."}
        from jsocdesk.demo import improc

        try:
            improc.check(improc.parse_steps([s for s in steps if s]))
        except improc.ProcessError as exc:
            return {"status": 4, "error": f"Bad process argument: {exc}"}
        # 3. record set
        try:
            sels = await asyncio.get_running_loop().run_in_executor(None, records.select, ds)
        except records.UnknownSeries as exc:
            return {
                "status": 4,
                "error": f"Cannot export series '{exc.name}' - it does not exist.\n",
            }
        except records.RecordSetError:
            return {"status": 4, "error": f"Bad record-set query '{ds}'.\n"}
        if len({s.series.name for s in sels}) != 1:
            return {
                "status": 4,
                "error": "Cannot specify subsets of records from different series.\n",
            }
        fmt = params.get("filenamefmt") or "{seriesname}.{recnum:%d}.{segment}"
        try:
            entries, rcount = await asyncio.get_running_loop().run_in_executor(
                None, self._entries, sels, limit, fmt, protocol, method, bool(step_names)
            )
        except TooMany as exc:
            return {
                "status": 4,
                "error": (
                    f"Can not open RecordSet {exc.count} is too many records in one request."
                ),
            }
        from jsocdesk.demo import images

        size_bytes = sum(
            images.segment_bytes(e.source[0], e.source[1], cfg.segment_bytes, cfg.image_size)
            + FITS_HEADER_BYTES
            for e in entries
        )
        size_mb = max(1, -(-size_bytes // 1_000_000)) if size_bytes else 0
        if size_mb > cfg.size_cap_mb:
            return {
                **void,
                "wait": 0,
                "status": 3,
                "count": len(entries),
                "size": size_mb,
                "error": f"Request exceeds max byte limit of {cfg.size_cap_mb}MB",
            }
        if method == "url_quick" and protocol == "as-is" and not step_names:
            if not entries:
                return {"status": 4, "error": "There are no files in this RecordSet"}
            return {
                "rcount": rcount,
                "count": len(entries),
                "size": size_mb,
                "dir": "",
                "data": [
                    {
                        "record": e.record_name,
                        "filename": records.segment_path(e.source[0], e.source[1].file),
                    }
                    for e in entries
                ],
                "requestid": "",
                "method": method,
                "protocol": protocol,
                "wait": 0,
                "status": 0,
            }
        # 6. de-duplication
        digest = hashlib.md5(
            "\n".join([ds.strip(), fmt, process, protocol, method]).encode(),
            usedforsecurity=False,
        ).hexdigest()
        for e in self.exports.values():
            if e.digest == digest and now - e.created < cfg.dedup_window and e.status in (0, 1, 2):
                return {
                    "status": 2,
                    "requestid": e.requestid,
                    "method": e.method,
                    "protocol": e.protocol,
                    "wait": self._wait(e, now),
                    "rcount": e.rcount,
                    "size": e.size_mb,
                }
        self._sunum += 1
        exp = Export(
            requestid=self._new_id(),
            method=method,
            protocol=protocol,
            notify=notify,
            client=client,
            ds=ds,
            digest=digest,
            created=now,
            delay=export_delay(cfg, entries),
            rcount=rcount,
            size_mb=size_mb,
            entries=entries,
            sunum=self._sunum,
            process="|".join(s for s in steps if s),
            files_lost=files_lost,
        )
        self.exports[exp.requestid] = exp
        await self._save_async()
        exp.task = asyncio.get_running_loop().create_task(self._run(exp))
        return {
            "status": 2,
            "requestid": exp.requestid,
            "method": method,
            "protocol": protocol,
            "wait": self._wait(exp, now),
            "rcount": rcount,
            "size": size_mb,
        }

    def _entries(
        self,
        sels: list[records.Selection],
        limit: int,
        fmt: str,
        protocol: str,
        method: str,
        processed: bool,
    ) -> tuple[list[FileEntry], int]:
        cfg = self.app.config
        sel = sels[0]
        quality = sel.series.keyword("QUALITY") is not None and not any(
            n.upper() == "QUALITY" for e in sel.where for n in records.where_names(e)
        )
        gen = KeywordGen(sel.series)
        total = sum(s.count() for s in sels)
        if total > cfg.max_export_records:
            raise TooMany(total)
        recs: list[Record] = [r for s in sels for r in s]
        if limit > 0:
            recs = recs[:limit]
        elif limit < 0:
            recs = recs[limit:]
        if quality:
            recs = [r for r in recs if not gen.missing_image(r)]
        seg_names = sel.segment_names()
        series_name = sel.series.name.lower() + "_mod" if processed else sel.series.name
        entries: list[FileEntry] = []
        counter = 0
        for r in recs:
            spec = r.spec()
            if processed:
                spec = series_name + spec[len(sel.series.name) :]
            for name in seg_names:
                seg = sel.series.segment(name)
                assert seg is not None
                source = records.resolve_segment(r, seg)
                if source is None:
                    continue
                counter += 1
                # Processing writes new files named after the segment (image.fits, not
                # image_lev1.fits).
                seg_file = f"{seg.name}.fits" if processed else source[1].file
                fname = expand_filename(fmt, r, seg, gen, series_name, counter, seg_file)
                with_seg = protocol == "as-is" or method == "url_quick"
                rec_name = f"{spec}{{{seg.name}}}" if with_seg else spec
                entries.append(FileEntry(r, seg, rec_name, fname, source))
        return entries, len(recs)

    def _wait(self, e: Export, now: float) -> int:
        return max(0, round(e.created + e.delay - now))

    async def _run(self, e: Export) -> None:
        try:
            await asyncio.sleep(e.delay / 2)
            e.status = 1
            await asyncio.sleep(e.delay / 2)
            await asyncio.get_running_loop().run_in_executor(None, self._build, e)
            e.completed = time.time()
            e.status = 0
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001  # any build failure becomes JSOC status 4
            e.status = 4
            e.error = f"Export failed: {exc}"
        await self._save_async()

    async def _save_async(self) -> None:
        version, text = self._snapshot()
        await asyncio.get_running_loop().run_in_executor(None, self._write, version, text)

    def export_dir(self, e: Export) -> Path:
        return self.app.data_dir / e.dir.lstrip("/")

    def _build(self, e: Export) -> None:
        from jsocdesk.demo import (
            fitsgen,  # astropy.io.fits: imported on first use (start-up)
            improc,
        )

        cfg = self.app.config
        out = self.export_dir(e)
        out.mkdir(parents=True, exist_ok=True)
        steps = improc.parse_steps(e.process.split("|")) if e.process else None
        data = []
        used: set[str] = set()
        for entry in [] if e.files_lost else e.entries:
            name = entry.filename
            n = 1
            while name in used:
                name = f"{entry.filename}.{n}"
                n += 1
            used.add(name)
            entry.filename = name
            fitsgen.write_segment(
                out / name,
                entry.source[0],
                entry.source[1],
                cfg.segment_bytes,
                full=e.protocol == "fits",
                image_size=cfg.image_size,
                steps=steps,
            )
            data.append({"record": entry.record_name, "filename": name})
        if not data:
            # jsoc_export_as_fits.c: no file made → a "warning=…" line in the packing list's
            # data section, which jsoc_export_make_index.c lists as a record with no filename
            data.append({"record": f"warning={NO_FILES_WARNING}", "filename": ""})
        index: dict[str, Any] = {
            "version": "1",
            "requestid": e.requestid,
            "method": e.method,
            "protocol": e.protocol,
            "count": str(sum(1 for d in data if d["filename"])),
            "size": str(e.size_mb if any(d["filename"] for d in data) else 0),
            "exptime": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UT"),
            "dir": e.dir,
            "status": "0",
        }
        if e.protocol == "as-is":
            index["wait"] = "0"
            kwfile = f"{e.requestid}.keywords.txt"
            self._write_keywords(out / kwfile, e)
            index["keywords"] = f"{e.dir}/{kwfile}"
        else:
            index["keywords"] = "**IN FITS FILES**"
        if e.method.endswith("-tar"):
            tar_name = f"{e.requestid}.tar"
            tmp = out / f".{tar_name}.tmp"
            with tarfile.open(tmp, "w") as tf:
                for d in data:
                    if d["filename"]:
                        tf.add(out / d["filename"], arcname=d["filename"])
            tmp.replace(out / tar_name)
            index["tarfile"] = f"{e.dir}/{tar_name}"
        index["data"] = data
        tmp_index = out / ".index.json.tmp"
        # jsoc_export_make_index.c: every value json_escape()d, json_format_string()ed
        tmp_index.write_bytes(jsocjson.encode(jsocjson.pretty(index) + "\n"))
        tmp_index.replace(out / "index.json")

    @staticmethod
    def _write_keywords(path: Path, e: Export) -> None:
        from jsocdesk.demo import fitsgen

        seen: set[str] = set()
        with path.open("w", encoding="ascii", errors="replace") as fh:
            for entry in e.entries:
                spec = entry.record.spec()
                if spec in seen:
                    continue
                seen.add(spec)
                fh.write(f"# {spec}\n")
                for name, value in fitsgen.record_cards(entry.record):
                    fh.write(f"{name}={value}\n")

    # --- exp_status ---------------------------------------------------------------------

    def expire(self, now: float) -> None:
        cfg = self.app.config
        for e in self.exports.values():
            if e.status == 0 and e.completed is not None and now - e.completed > cfg.expire_after:
                e.status = 5
                shutil.rmtree(self.export_dir(e), ignore_errors=True)
                self._save()

    def status(self, requestid: str | None, *, status6: bool) -> dict[str, Any] | Path:
        if not requestid:
            return {"status": 4, "error": "RequestID must be provided"}
        if not REQUEST_ID_RE.match(requestid):
            return {"status": 4, "error": f"Bad RequestID '{requestid}' provided."}
        now = time.time()
        self.expire(now)
        e = self.exports.get(requestid)
        if e is None:
            return {"status": 4, "error": f"invalid export DRMS record for ID `%s`{requestid}"}
        if status6:
            return {
                "status": 6,
                "requestid": e.requestid,
                "method": e.method,
                "protocol": e.protocol,
                "wait": self._wait(e, now),
                "error": "Request not found (demo fault)",
            }
        if e.status == 0:
            return self.export_dir(e) / "index.json"
        out: dict[str, Any] = {
            "status": e.status,
            "requestid": e.requestid,
            "method": e.method,
            "protocol": e.protocol,
            "wait": self._wait(e, now) if e.status in (1, 2) else 999999,
            "rcount": e.rcount,
            "size": e.size_mb,
        }
        if e.status == 4:
            out["error"] = e.error or "RecordSet specified does not exist"
        elif e.status == 5:
            out["error"] = "Request was completed but is now deleted, 7 day limit exceeded"
        if e.status > 2:
            out["contact"] = "jsoc_help@jsoc.stanford.edu"
        return out


def export_delay(cfg: DemoConfig, entries: list[FileEntry]) -> float:
    """How long an export stays pending: ``export_delay``, times ``1 + tape_factor`` when
    any of its files lies in a storage unit on tape (it must be staged first)."""
    if any(not records.is_online(e.source[0]) for e in entries):
        return cfg.export_delay * (1.0 + cfg.tape_factor)
    return cfg.export_delay


class TooMany(Exception):
    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


_FMT_FIELD = re.compile(r"\{([^{}:]+)(?::([^{}]*))?\}")


def expand_filename(
    fmt: str,
    r: Record,
    seg: Seg,
    gen: KeywordGen,
    series_name: str,
    counter: int,
    seg_file: str | None = None,
) -> str:
    """JSOC's file-name template language (``exputil.c``)."""

    def field_value(m: re.Match[str]) -> str:
        name, spec = m[1], m[2]
        low = name.lower()
        if low == "seriesname":
            return series_name
        if low == "segment":
            return seg_file or seg.file
        if low == "#":
            return str(counter)
        if low == "recnum":
            return _printf(spec or "%d", r.recnum)
        kw = r.series.keyword(name)
        if kw is None:
            return name
        text = gen.value(r, kw.name)
        if kw.type == "time":
            if spec == "A":
                return text.replace(".", "").replace(":", "").replace("-", "")
            if spec == "D":
                return text.replace(".", "@").replace(":", "@")
            return text
        if spec and "%" in spec:
            raw = gen.raw(r, kw.name)
            return _printf(spec, raw)
        return text

    name = _FMT_FIELD.sub(field_value, fmt)
    return name.replace("/", "_").replace("..", "_") or seg.file


def _printf(spec: str, value: Any) -> str:
    spec = spec.replace("lld", "d").replace("ld", "d")
    try:
        return str(spec % value)
    except (TypeError, ValueError):
        return str(value)
