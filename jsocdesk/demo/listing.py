"""``jsoc_info`` answers: ``series_struct`` and the columnar, streamed ``rs_list``.

``rs_list`` is columnar (one array per keyword/segment/link), so it is written column by
column, re-iterating the lazy record selection for each column: memory stays flat however
many records are listed, at the cost of one generation pass per column.
"""

from __future__ import annotations

import itertools
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jsocdesk.core import drmstime
from jsocdesk.core.seriesinfo import SegmentInfo
from jsocdesk.demo import jsocjson, records
from jsocdesk.demo.jsocjson import Verbatim
from jsocdesk.demo.records import KeywordGen, Record, Selection
from jsocdesk.demo.series import Series, SlotAxis, get_series

#: Records per generated chunk of JSON text.
CHUNK_RECORDS = 2048
PSEUDO_KEYS = (
    "*recnum*",
    "*sunum*",
    "*size*",
    "*online*",
    "*retain*",
    "*archive*",
    "*recdir*",
    "*logdir*",
    "*dirmtime*",
    "*spec*",
)


#: Pseudo-keys jsoc_info.c prints as JSON numbers (``json_new_number``); ``*size*`` is a string.
NUMBER_KEYS = frozenset({"*recnum*", "*sunum*"})


@dataclass
class Streamed:
    """A JSON body produced lazily as byte chunks."""

    chunks: Iterator[bytes]


def split_list(text: str) -> list[str]:
    return [p for p in re.split(r"[\s,]+", text or "") if p]


# --- series_struct ------------------------------------------------------------------------------


def _followed(s: Series) -> list[SegmentInfo]:
    """``l=1``: each linked segment described by its target segment in the linked series
    (jsoc_info.c list_series_info() with followLinks: drms_template_segment_followlink();
    a link that cannot be followed drops the segment), under its own name."""
    out: list[SegmentInfo] = []
    for g in s.segments:
        if g.link is None:
            out.append(g.info())
            continue
        li = s.link(g.link)
        target = get_series(li.target) if li is not None else None
        tseg = target.segment(g.target or g.name) if target is not None else None
        if tseg is None or tseg.link is not None:
            continue
        t = tseg.info()
        out.append(SegmentInfo(g.name, t.type, t.units, t.protocol, t.dims, t.note))
    return out


def series_struct(ds: str, follow_links: bool = False) -> dict[str, Any]:
    started = time.monotonic()
    s = get_series(records.series_name_of(ds))
    if s is None:
        return {"status": 1, "error": "series not found"}
    model = records.make_model(s, records.now_seconds())
    first = next(iter(model.iterate(model.full_sets())), None)
    last = model.last()
    info = s.info()
    keywords = []
    for k in info.keywords:
        d: dict[str, Any] = {
            "name": k.name,
            "type": k.type,
            "recscope": k.recscope,
            "defval": k.defval,
            "units": k.units,
            "note": k.note,
        }
        if k.linkinfo:
            d["linkinfo"] = k.linkinfo
        keywords.append(d)
    pkinfo: list[dict[str, Any] | None] = []
    for p in info.primekeysinfo:
        if p.slotted:
            pkinfo.append({"name": p.name, "slotted": 1, "step": p.step})
        else:
            pkinfo.append({"name": p.name, "slotted": 0})
    return {
        "note": s.note,
        "retention": s.retention,
        "stagingretention": 3,
        "unitsize": s.unitsize,
        "archive": s.archive,
        "tapegroup": s.tapegroup,
        # jsoc_info.c list_series_info(): a series without prime keys gets one null in both
        "primekeys": list(s.primekeys) or [None],
        "primekeysinfo": pkinfo or [None],
        "dbindex": [f"{p}_index" if isinstance(s.axis_of(p), SlotAxis) else p for p in s.primekeys],
        "keywords": keywords,
        "segments": [
            {
                # name, type, units and protocol go in without json_escape(); a linked
                # segment (not followed: no l=1) has units and dims null
                "name": Verbatim(g.name),
                "type": Verbatim(g.type),
                "units": None if g.units is None else Verbatim(g.units),
                "protocol": Verbatim(g.protocol),
                "dims": None if g.dims is None else Verbatim(g.dims),
                "note": g.note,
            }
            for g in (_followed(s) if follow_links else info.segments)
        ],
        "links": [
            {
                "name": Verbatim(li.name),
                "target": Verbatim(li.target),
                "kind": Verbatim(li.kind),
                "note": li.note,
            }
            for li in s.links
        ],
        "Interval": {
            "FirstRecord": first.spec() if first else "NA",
            "FirstRecnum": first.recnum if first else "NA",
            "LastRecord": last.spec() if last else "NA",
            "LastRecnum": last.recnum if last else "NA",
            "MaxRecnum": last.recnum if last else 0,
        },
        "runtime": round(time.monotonic() - started, 3),
        "status": 0,
    }


# --- rs_list ----------------------------------------------------------------------------------


def segment_dims(r: Record, dims: str) -> str:
    if "VAR" not in dims:
        return dims or "NA"
    w = 100 + records.mix(r.series.number, r.key[0], 1) % 700
    h = 100 + records.mix(r.series.number, r.key[0], 2) % 500
    return f"{w}x{h}"


def link_value(r: Record, link: str) -> str:
    li = r.series.link(link)
    if li is None:
        return "Invalid_Link"
    target = get_series(li.target)
    if target is None or r.t is None:
        return "Invalid_Link"
    kw = target.keyword(target.primekeys[0])
    return f"{target.name}[{records.format_value(kw, r.t)}]"


def pseudo_value(r: Record, key: str, segment_bytes: int) -> str:
    k = key.lower()
    if k == "*recnum*":
        return str(r.recnum)
    if k == "*sunum*":
        return str(records.sunum_of(r))
    if k == "*size*":
        return str(segment_bytes * max(1, len(r.series.segments)))
    if k == "*online*":
        return "Y" if records.is_online(r) else "N"
    if k == "*archive*":
        return "Y"
    if k == "*retain*":
        return drmstime.format_tai(records.now_seconds() + 30 * 86400)[:10].replace(".", "-")
    if k == "*recdir*":
        return records.segment_path(r, "x").rsplit("/", 1)[0]
    if k == "*logdir*":
        return "NO LOG"
    if k == "*dirmtime*":
        return KeywordGen(r.series).value(r, "DATE")
    return r.spec()


class RsList:
    """Everything needed to write one ``rs_list`` answer."""

    def __init__(
        self,
        sels: list[Selection],
        keys: list[str],
        segs: list[str],
        links: list[str],
        recinfo: bool,
        limit: int,
        total: int,
        segment_bytes: int,
    ) -> None:
        self.sels, self.keys, self.segs, self.links = sels, keys, segs, links
        self.recinfo, self.limit, self.total = recinfo, limit, total
        self.segment_bytes = segment_bytes
        self.gens = {id(s): KeywordGen(s.series) for s in sels}
        self.count = min(total, abs(limit)) if limit else total

    def rows(self) -> Iterator[tuple[Selection, Record]]:
        chained = ((sel, r) for sel in self.sels for r in sel)
        if self.limit > 0:
            return itertools.islice(chained, self.limit)
        if self.limit < 0:
            return itertools.islice(chained, max(0, self.total + self.limit), None)
        return chained

    def column(self, fn: Any, numbers: bool = False) -> Iterator[bytes]:
        buf: list[str] = []
        first = True
        # every listed value is a json_escape()d string, except *recnum*/*sunum*
        # (jsoc_info.c: json_new_number of "%lld")
        quote = str if numbers else jsocjson.quote
        for sel, r in self.rows():
            buf.append(quote(fn(sel, r)))
            if len(buf) >= CHUNK_RECORDS:
                yield jsocjson.encode(("" if first else ",") + ",".join(buf))
                first = False
                buf = []
        if buf:
            yield jsocjson.encode(("" if first else ",") + ",".join(buf))

    def array(
        self, name: str, fields: list[tuple[str, Any]], numbers: bool = False
    ) -> Iterator[bytes]:
        # jsoc_info inserts the column name as given (json_new_string without json_escape)
        yield b'{"name":' + jsocjson.encode(jsocjson.compact(jsocjson.Verbatim(name)))
        for field_name, fn in fields:
            yield f',"{field_name}":['.encode()
            yield from self.column(fn, numbers)
            yield b"]"
        yield b"}"

    def keyword_fn(self, key: str) -> Any:
        if key.lower() in PSEUDO_KEYS:
            return lambda sel, r: pseudo_value(r, key, self.segment_bytes)
        # Resolve the keyword once per selection, not once per record.
        resolved = {id(s): self.gens[id(s)].resolve(key) for s in self.sels}

        def fn(sel: Selection, r: Record) -> str:
            kw = resolved[id(sel)]
            return "Invalid KeyLink" if kw is None else self.gens[id(sel)].printed(r, kw)

        return fn

    def seg_fns(self, seg: str) -> list[tuple[str, Any]]:
        def info(sel: Selection) -> Any:
            s = sel.series.segment(seg)
            if s is None or s.name not in sel.segment_names():
                return None
            return s

        def values(sel: Selection, r: Record) -> str:
            s = info(sel)
            if s is None:
                return "InvalidSegName"
            resolved = records.resolve_segment(r, s)
            if resolved is None:
                return "BadSegLink"
            return records.segment_path(resolved[0], resolved[1].file)

        def dims(sel: Selection, r: Record) -> str:
            s = info(sel)
            if s is None:
                return "NA"
            resolved = records.resolve_segment(r, s)
            return "NA" if resolved is None else segment_dims(resolved[0], resolved[1].dims)

        def cparms(sel: Selection, r: Record) -> str:
            s = info(sel)
            if s is not None and s.link is not None:  # the linked segment's own cparms
                resolved = records.resolve_segment(r, s)
                s = None if resolved is None else resolved[1]
            return "" if s is None or s.protocol != "fits" else s.cparms

        def bzeros(sel: Selection, r: Record) -> str:
            s = info(sel)
            return "NA" if s is None else f"{s.bzero:g}"

        def bscales(sel: Selection, r: Record) -> str:
            s = info(sel)
            return "NA" if s is None else f"{s.bscale:g}"

        return [
            ("values", values),
            ("dims", dims),
            ("cparms", cparms),
            ("bzeros", bzeros),
            ("bscales", bscales),
        ]

    def generate(self) -> Iterator[bytes]:
        started = time.monotonic()
        # jsoc_info.c (rs_list): json_tree_to_string() of {recinfo?, keywords, segments,
        # links, count, runtime, status}, compact, every value json_escape()d.
        yield b"{"
        if self.recinfo:
            yield b'"recinfo":['
            first = True
            buf: list[str] = []
            for _sel, r in self.rows():
                buf.append(
                    jsocjson.compact({"name": r.spec(), "online": int(records.is_online(r))})
                )
                if len(buf) >= CHUNK_RECORDS:
                    yield jsocjson.encode(("" if first else ",") + ",".join(buf))
                    first, buf = False, []
            if buf:
                yield jsocjson.encode(("" if first else ",") + ",".join(buf))
            yield b"],"
        yield b'"keywords":['
        for i, key in enumerate(self.keys):
            if i:
                yield b","
            numbers = key.lower() in NUMBER_KEYS
            yield from self.array(key, [("values", self.keyword_fn(key))], numbers)
        yield b'],"segments":['
        for i, seg in enumerate(self.segs):
            if i:
                yield b","
            yield from self.array(seg, self.seg_fns(seg))
        yield b'],"links":['
        for i, link in enumerate(self.links):
            if i:
                yield b","
            yield from self.array(link, [("values", lambda sel, r, li=link: link_value(r, li))])
        yield b"]"
        runtime = time.monotonic() - started
        yield f',"count":{self.count},"runtime":{runtime:.3f},"status":0}}\n'.encode()


def rs_list(
    sels: list[Selection],
    *,
    key: str,
    seg: str,
    link: str,
    recinfo: bool,
    limit: int,
    segment_bytes: int = 0,
) -> Streamed | dict[str, Any]:
    keys = split_list(key)
    segs = split_list(seg)
    links = split_list(link)
    series_set: dict[str, Series] = {s.series.name: s.series for s in sels}
    wants_all = any(n.upper() == "**ALL**" for n in (*keys, *segs))
    if wants_all and len(series_set) != 1:
        return {"status": 1, "error": " jsoc_info: **ALL** needs a single series"}
    only = next(iter(series_set.values()))
    keys = _expand(keys, only.all_keys())
    segs = _expand(segs, [g.name for g in only.segments])
    limit = max(-sys.maxsize, min(sys.maxsize, limit))
    if limit > 0 and any(s.where or s.recnums for s in sels):
        # Only the first ``limit`` records matter: count at most that many (cheap paging).
        total = sum(1 for _ in itertools.islice((r for s in sels for r in s), limit))
    else:
        total = sum(s.count() for s in sels)
    out = RsList(sels, keys, segs, links, recinfo, limit, total, segment_bytes)
    if out.count == 0:
        return {"count": 0, "runtime": 0.0, "status": 0}
    return Streamed(out.generate())


def _expand(names: list[str], everything: list[str]) -> list[str]:
    out: list[str] = []
    for n in names:
        if n.upper() == "**ALL**":
            out.extend(everything)
        elif n.upper() != "**NONE**":
            out.append(n)
    return out
