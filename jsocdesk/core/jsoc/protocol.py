"""JSOC JSON answers → typed values (see ``jsoc-protocol.md`` §2–§3).

Every parser here takes the decoded JSON (or, for ``rs_list``, the raw body) and returns
frozen dataclasses; anything that is not the shape JSOC uses raises
:class:`~jsocdesk.core.errors.ProtocolError`, and every ``status != 0`` from the info CGIs
raises :class:`~jsocdesk.core.errors.ServerError` carrying JSOC's own message.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any
from urllib.parse import urljoin

import numpy as np
import numpy.typing as npt

from jsocdesk.core.errors import ProtocolError, ServerError
from jsocdesk.core.jsoc.columns import BytesArray, Column, ColumnKind, to_column
from jsocdesk.core.seriesinfo import (
    KeywordInfo,
    LinkInfo,
    PrimeKeyInfo,
    SegmentInfo,
    SeriesInfo,
)
from jsocdesk.core.text import strip_surrogates

# --- export status -------------------------------------------------------------------------


class StatusCategory(StrEnum):
    OK = "ok"
    PENDING = "pending"
    FAILED = "failed"


class ExportStatus(IntEnum):
    """JSOC export status codes (``jsoc-protocol.md`` §3.1)."""

    OK = 0
    PROCESSING = 1
    QUEUED = 2
    TOO_LARGE = 3
    FAILED = 4
    DELETED = 5
    NOT_FOUND = 6
    PENDING_LIMIT = 7
    TEST_QUEUED = 12
    NEEDS_OPERATOR = 25

    @property
    def category(self) -> StatusCategory:
        if self is ExportStatus.OK:
            return StatusCategory.OK
        # 12 is the server's test-mode "queued" (handled like 2 by jsoc_fetch); drms would
        # call it a failure, but the server keeps processing it, so we keep waiting.
        if self in _PENDING:
            return StatusCategory.PENDING
        return StatusCategory.FAILED

    @property
    def is_pending(self) -> bool:
        return self.category is StatusCategory.PENDING

    @property
    def is_ok(self) -> bool:
        return self is ExportStatus.OK

    @property
    def is_failed(self) -> bool:
        return self.category is StatusCategory.FAILED

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_PENDING = frozenset(
    {
        ExportStatus.PROCESSING,
        ExportStatus.QUEUED,
        ExportStatus.NOT_FOUND,
        ExportStatus.TEST_QUEUED,
    }
)

_DESCRIPTIONS = {
    ExportStatus.OK: "done, files ready",
    ExportStatus.PROCESSING: "being processed",
    ExportStatus.QUEUED: "queued",
    ExportStatus.TOO_LARGE: "too large",
    ExportStatus.FAILED: "failed",
    ExportStatus.DELETED: "expired and deleted",
    ExportStatus.NOT_FOUND: "not found yet",
    ExportStatus.PENDING_LIMIT: "too many pending requests",
    ExportStatus.TEST_QUEUED: "queued (test mode)",
    ExportStatus.NEEDS_OPERATOR: "needs operator help (data offline)",
}


def export_status(value: Any) -> ExportStatus:
    """JSOC sends the status as a number or as a string (``"0"`` in index.json)."""
    try:
        return ExportStatus(int(value))
    except (TypeError, ValueError, OverflowError):
        raise ProtocolError(f"unknown export status {value!r}") from None


# --- generic helpers ----------------------------------------------------------------------


def error_message(d: Mapping[str, Any], default: str = "JSOC request failed") -> str:
    for key in ("error", "errmsg", "errMsg", "msg"):
        v = d.get(key)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return default


def expect_object(d: Any, what: str) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise ProtocolError(f"{what}: expected a JSON object, got {type(d).__name__}")
    return d


def check_status(d: Mapping[str, Any], what: str) -> None:
    """Raise :class:`ServerError` for JSOC's ``{"status": non-zero, "error": ...}``."""
    if "status" not in d:
        raise ProtocolError(f"{what}: answer has no 'status'")
    try:
        status = int(d["status"])
    except (TypeError, ValueError, OverflowError):
        raise ProtocolError(f"{what}: bad status {d['status']!r}") from None
    if status != 0:
        raise ServerError(error_message(d), status)


def loads(body: bytes, what: str) -> Any:
    """Decode a JSON body (UTF-8, falling back to JSOC's latin1).

    Hostile shapes come out as :class:`ProtocolError` like any other malformed answer:
    nesting too deep for the parser (``[[[[…``), numbers out of range (``1e999`` is not
    silently infinity), integers with thousands of digits.
    """
    try:
        return _json_loads(body)
    except UnicodeDecodeError:
        pass
    except (ValueError, RecursionError, OverflowError) as exc:
        raise ProtocolError(f"{what}: malformed JSON ({_json_reason(exc)})") from None
    try:
        return _json_loads(body.decode("latin1"))
    except (ValueError, RecursionError, OverflowError) as exc:
        raise ProtocolError(f"{what}: malformed JSON ({_json_reason(exc)})") from None


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise OverflowError(f"number out of range: {text[:40]}")
    return value


def _no_constant(text: str) -> float:
    raise ValueError(f"{text} is not a JSON number")


def _json_loads(body: bytes | str) -> Any:
    return json.loads(body, parse_float=_finite_float, parse_constant=_no_constant)


def _json_reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)[:200]


def _str(d: Mapping[str, Any], key: str, default: str = "") -> str:
    v = d.get(key)
    return default if v is None else str(v)


def _int(d: Mapping[str, Any], key: str, default: int = 0) -> int:
    v = d.get(key)
    if v is None or v == "":
        return default
    try:
        return int(float(v))
    except (TypeError, ValueError, OverflowError):
        raise ProtocolError(f"field {key!r} is not a number: {v!r}") from None


def _float(d: Mapping[str, Any], key: str, default: float = 0.0) -> float:
    v = d.get(key)
    if v is None or v == "":
        return default
    try:
        value = float(v)
    except (TypeError, ValueError):
        raise ProtocolError(f"field {key!r} is not a number: {str(v)[:40]!r}") from None
    if not math.isfinite(value):
        raise ProtocolError(f"field {key!r} is out of range: {str(v)[:40]!r}")
    return value


# --- series list --------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesEntry:
    name: str
    note: str = ""


def parse_series_list(d: Any) -> list[SeriesEntry]:
    """``showextseries`` (``seriesList``/``errMsg``) or ``show_series`` (``names``/``status``)."""
    d = expect_object(d, "series list")
    if "seriesList" in d:
        err = d.get("errMsg")
        if err:
            raise ServerError(str(err), 1)
        items = d["seriesList"]
        if not isinstance(items, list):
            raise ProtocolError("series list: 'seriesList' is not a list")
        out: list[SeriesEntry] = []
        for it in items:
            if isinstance(it, str):
                out.append(SeriesEntry(it))
            elif isinstance(it, dict) and len(it) == 1:
                (name, info), *_ = it.items()
                note = info.get("description", "") if isinstance(info, dict) else ""
                out.append(SeriesEntry(str(name), str(note or "")))
            else:
                raise ProtocolError(f"series list: bad entry {it!r}")
        return out
    if "names" in d:
        check_status(d, "show_series")
        names = d["names"]
        if not isinstance(names, list):
            raise ProtocolError("series list: 'names' is not a list")
        try:
            return [SeriesEntry(str(it["name"]), str(it.get("note") or "")) for it in names]
        except (TypeError, KeyError):
            raise ProtocolError("series list: bad 'names' entry") from None
    check_status(d, "series list")
    raise ProtocolError("series list: neither 'seriesList' nor 'names' in the answer")


_UNQUOTED_ERRMSG = re.compile(
    rb'^\s*\{\s*"status"\s*:\s*(-?\d+)\s*,\s*"errmsg"\s*:\s*(.*?)\s*\}\s*$', re.DOTALL
)


def loads_series_list(body: bytes) -> Any:
    """Decode a ``show_series`` answer, keeping the server's message when it is not JSON.

    ``show_series.c`` prints its failure as ``{"status":1,"errmsg":%s}`` with the message
    unquoted (``{"status":1,"errmsg":Series filter format error}`` for a filter that does not
    compile): that is not JSON, so the message is cut out of the text and raised as the
    server's own :class:`ServerError`.
    """
    try:
        return loads(body, "show_series")
    except ProtocolError:
        m = _UNQUOTED_ERRMSG.match(bytes(body[:4096]))
        if m is None:
            raise
        text = m.group(2).decode("utf-8", "replace").strip().strip('"').strip()
        raise ServerError(text or "show_series failed", int(m.group(1)) or 1) from None


# --- series info -------------------------------------------------------------------------


def parse_series_info(name: str, d: Any) -> SeriesInfo:
    """``jsoc_info?op=series_struct`` → :class:`SeriesInfo`."""
    d = expect_object(d, "series_struct")
    check_status(d, "series_struct")
    for key in ("keywords", "segments", "links"):
        if not isinstance(d.get(key), list):
            raise ProtocolError(f"series_struct: '{key}' missing or not a list")
    try:
        keywords = tuple(
            KeywordInfo(
                name=str(k["name"]),
                type=_str(k, "type", "string"),
                recscope=_str(k, "recscope", "variable"),
                defval=_str(k, "defval"),
                units=_str(k, "units"),
                note=_str(k, "note"),
                linkinfo=k.get("linkinfo"),
            )
            for k in d["keywords"]
        )
        segments = tuple(
            SegmentInfo(
                name=str(s["name"]),
                type=_str(s, "type", "int"),
                units=s.get("units"),
                protocol=_str(s, "protocol", "fits"),
                dims=s.get("dims"),
                note=_str(s, "note"),
            )
            for s in d["segments"]
        )
        links = tuple(
            LinkInfo(
                name=str(lk["name"]),
                target=_str(lk, "target"),
                kind=_str(lk, "kind", "DYNAMIC"),
                note=_str(lk, "note"),
            )
            for lk in d["links"]
        )
        primekeys = tuple(str(p) for p in (d.get("primekeys") or []) if p is not None)
        pkinfo = tuple(
            PrimeKeyInfo(
                name=str(p["name"]),
                slotted=bool(int(p.get("slotted", 0) or 0)),
                step=None if p.get("step") is None else str(p["step"]),
            )
            # jsoc_info.c list_series_info(): no prime keys → "primekeysinfo":[null]
            for p in (d.get("primekeysinfo") or [])
            if p is not None
        )
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise ProtocolError(f"series_struct: malformed entry ({exc!r})") from None
    extra = {
        k: v
        for k, v in d.items()
        if k not in ("keywords", "segments", "links", "primekeys", "primekeysinfo", "note")
    }
    canonical = _canonical_name(name, d)
    return SeriesInfo(
        name=canonical,
        note=_str(d, "note"),
        primekeys=primekeys,
        primekeysinfo=pkinfo,
        keywords=keywords,
        segments=segments,
        links=links,
        extra=extra,
    )


def _canonical_name(requested: str, d: Mapping[str, Any]) -> str:
    interval = d.get("Interval")
    if isinstance(interval, dict):
        spec = interval.get("FirstRecord")
        if isinstance(spec, str) and spec.lower().startswith(requested.lower() + "["):
            return spec[: len(requested)]
    return requested


# --- e-mail check -------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailCheck:
    status: int
    message: str

    @property
    def registered(self) -> bool:
        return self.status == 2


def parse_email_check(d: Any) -> EmailCheck:
    d = expect_object(d, "checkAddress")
    if "status" not in d:
        raise ProtocolError("checkAddress: answer has no 'status'")
    return EmailCheck(_int(d, "status"), _str(d, "msg"))


# --- exports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    record: str
    filename: str
    url: str


@dataclass(frozen=True)
class ExportResponse:
    """One ``exp_request`` / ``exp_status`` answer.

    ``warnings``: rows of a finished export's ``index.json`` that are not files
    (``jsoc_export_as_fits.c`` writes ``warning=No FITS files were exported. …`` into the data
    section of ``index.txt`` when no file was produced; ``jsoc_export_make_index.c`` turns that
    line into ``{"record": "warning=…", "filename": ""}``).
    """

    status: ExportStatus
    requestid: str = ""
    method: str = ""
    protocol: str = ""
    wait: float = 0.0
    rcount: int = 0
    count: int = 0
    size_mb: float = 0.0
    dir: str = ""
    tarfile: str = ""
    tar_url: str = ""
    error: str = ""
    files: tuple[ExportFile, ...] = ()
    warnings: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def urls(self) -> list[str]:
        """What to download: the tar for ``*-tar`` methods, else one URL per file (nothing
        when the export produced no file, even if index.json names a tar)."""
        if self.tar_url and self.files:
            return [self.tar_url]
        return [f.url for f in self.files]


def parse_export_response(d: Any, download_base: str) -> ExportResponse:
    d = expect_object(d, "jsoc_fetch")
    if "status" not in d:
        raise ProtocolError("jsoc_fetch: answer has no 'status'")
    status = export_status(d["status"])
    requestid = _request_id(_str(d, "requestid") or _str(d, "reqid"))
    directory = _str(d, "dir")
    tarfile = _str(d, "tarfile")
    files: list[ExportFile] = []
    warnings: list[str] = []
    for key in ("warning", "Warning"):
        if isinstance(d.get(key), str) and d[key].strip():
            warnings.append(d[key].strip())
    data = d.get("data")
    if status is ExportStatus.OK and data is not None:
        if not isinstance(data, list):
            raise ProtocolError("jsoc_fetch: 'data' is not a list")
        for row in data:
            if not isinstance(row, dict) or "filename" not in row:
                raise ProtocolError(f"jsoc_fetch: bad data row {row!r}")
            fname = str(row["filename"])
            record = _str(row, "record")
            if not fname.strip():
                # a packing-list line without a tab: "warning=…" / "error=…", not a file
                name, sep, text = record.partition("=")
                if sep and name.strip().lower() in ("warning", "error"):
                    warnings.append(text.strip())
                elif record.strip():
                    warnings.append(record.strip())
                continue
            if fname == "NoDataFile":
                continue
            files.append(
                ExportFile(_str(row, "record"), fname, _file_url(download_base, directory, fname))
            )
    return ExportResponse(
        status=status,
        requestid="" if requestid in ("", "VOID") else requestid,
        method=_str(d, "method"),
        protocol=_str(d, "protocol"),
        wait=_float(d, "wait"),
        rcount=_int(d, "rcount"),
        count=_int(d, "count"),
        size_mb=_float(d, "size"),
        dir=directory,
        tarfile=tarfile,
        tar_url=urljoin(download_base, tarfile.lstrip("/")) if tarfile else "",
        error=_str(d, "error") if status is not ExportStatus.OK else "",
        files=tuple(files),
        warnings=tuple(warnings),
        raw=dict(d),
    )


#: what a JSOC request id looks like (``JSOC_20140101_001``, ``JSOC_20140101_001_X_IN``)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def _request_id(text: str) -> str:
    """The request id of an answer, refused when it cannot be one (it is echoed in URLs,
    file names of the queue and messages)."""
    text = text.strip()
    if text and not _REQUEST_ID.match(text):
        shown = text[:40] + ("…" if len(text) > 40 else "")
        raise ProtocolError(f"jsoc_fetch: not a request id: {shown!r} ({len(text)} characters)")
    return text


def _file_url(base: str, directory: str, filename: str) -> str:
    if filename.startswith("/") or not directory:
        return urljoin(base, filename.lstrip("/"))
    return urljoin(base, directory.strip("/") + "/" + filename)


# --- rs_list ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordInfo:
    names: tuple[str, ...]
    online: tuple[bool, ...]


@dataclass(eq=False)
class QueryResult:
    """A columnar ``rs_list`` answer: requested keywords, segments and links, in order."""

    count: int
    keywords: dict[str, Column]
    segments: dict[str, Column]
    links: dict[str, Column]
    recinfo: RecordInfo | None = None

    @property
    def columns(self) -> dict[str, Column]:
        """Keywords, then segments, then links (names may repeat across kinds: first wins)."""
        out: dict[str, Column] = {}
        for group in (self.keywords, self.segments, self.links):
            for k, v in group.items():
                out.setdefault(k, v)
        return out

    def tail(self, skip: int) -> QueryResult:
        """The same listing without its first ``skip`` records."""

        def cut(group: dict[str, Column]) -> dict[str, Column]:
            return {k: c.take(skip, len(c)) for k, c in group.items()}

        recinfo = None
        if self.recinfo is not None:
            recinfo = RecordInfo(self.recinfo.names[skip:], self.recinfo.online[skip:])
        n = max(0, len(self) - skip)
        return QueryResult(n, cut(self.keywords), cut(self.segments), cut(self.links), recinfo)

    def __len__(self) -> int:
        for group in (self.keywords, self.segments, self.links):
            for col in group.values():
                return len(col)
        return 0 if self.recinfo is None else len(self.recinfo.names)

    def __repr__(self) -> str:
        return f"<QueryResult count={self.count} columns={list(self.columns)}>"


#: Pseudo-keys JSOC prints as numbers (``jsoc-protocol.md`` §2.4).
NUMERIC_PSEUDO_KEYS = frozenset({"*recnum*", "*sunum*", "*size*"})


def kind_of(info: KeywordInfo | None, name: str) -> ColumnKind:
    if info is None:
        return ColumnKind.INTEGER if name.lower() in NUMERIC_PSEUDO_KEYS else ColumnKind.TEXT
    if info.is_time:
        return ColumnKind.TIME
    if info.is_integer and info.type != "char":
        return ColumnKind.INTEGER
    if info.is_real:
        return ColumnKind.REAL
    return ColumnKind.TEXT


def parse_rs_list(body: bytes, series: SeriesInfo | None) -> QueryResult:
    """Parse an ``rs_list`` body; keyword columns are typed from ``series``."""

    def kind(group: str, name: str) -> ColumnKind:
        if group == "keywords":
            info = series.keyword(name) if series is not None else None
            return kind_of(info, name)
        return ColumnKind.TEXT

    def convert(group: str, key: str, name: str, raw: BytesArray) -> Column | None:
        if key != "values" or group not in ("keywords", "segments", "links"):
            return None
        return to_column(name, kind(group, name), raw)

    skeleton, arrays = scan_string_arrays(body, convert)
    d = expect_object(skeleton, "rs_list")
    check_status(d, "rs_list")

    def column(v: Any, group: str, name: str) -> Column:
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < len(arrays):
            got = arrays[v]
            if isinstance(got, Column):
                if got.name != name:
                    raise ProtocolError(f"rs_list: values of {got.name!r} filed under {name!r}")
                return got
            return to_column(name, kind(group, name), got)
        if isinstance(v, list):
            try:
                # a lone surrogate (``"\ud800"``) cannot be UTF-8: shown as U+FFFD
                raw = np.array([strip_surrogates(str(x)).encode() for x in v], dtype=np.bytes_)
            except (TypeError, ValueError):
                pass
            else:
                return to_column(name, kind(group, name), raw)
        raise ProtocolError(f"rs_list: '{group}' values are not a list of strings")

    def columns(group: str) -> dict[str, Column]:
        items = d.get(group, [])
        if not isinstance(items, list):
            raise ProtocolError(f"rs_list: '{group}' is not a list")
        out: dict[str, Column] = {}
        for it in items:
            if not isinstance(it, dict) or "name" not in it:
                raise ProtocolError(f"rs_list: bad '{group}' entry")
            name = str(it["name"])
            out[name] = column(it.get("values", []), group, name)
        return out

    count = _int(d, "count")
    keywords = columns("keywords")
    segments = columns("segments")
    links = columns("links")
    lengths = {len(c) for g in (keywords, segments, links) for c in g.values()}
    if len(lengths) > 1:
        raise ProtocolError(f"rs_list: columns of different lengths {sorted(lengths)}")
    recinfo = None
    if "recinfo" in d:
        ri = d["recinfo"]
        if not isinstance(ri, list):
            raise ProtocolError("rs_list: 'recinfo' is not a list")
        try:
            recinfo = RecordInfo(
                tuple(str(r["name"]) for r in ri), tuple(bool(int(r.get("online", 0))) for r in ri)
            )
        except (TypeError, KeyError, ValueError, AttributeError):
            raise ProtocolError("rs_list: bad 'recinfo' entry") from None
    return QueryResult(count, keywords, segments, links, recinfo)


def parse_count(d: Any) -> int:
    d = expect_object(d, "rs_summary")
    check_status(d, "rs_summary")
    if "count" not in d:
        raise ProtocolError("rs_summary: answer has no 'count'")
    return _int(d, "count")


# --- fast scanning of big string arrays ---------------------------------------------------

_ARRAY_RE = re.compile(rb'"(values|dims|cparms|bzeros|bscales)"\s*:\s*\[\s*')
_CLOSE_RE = re.compile(rb'"\s*\]')
_GROUP_RE = re.compile(rb'"(keywords|segments|links)"\s*:\s*\[')
_NAME_RE = re.compile(rb'"name"\s*:\s*"([^"]*)"')
_CHUNK = 1 << 16

#: ``convert(group, key, name, raw)``: turn one lifted array into its final value at once
#: (``None`` keeps the raw byte-string array).
Converter = Callable[[str, str, str, BytesArray], Any]


def scan_string_arrays(body: bytes, convert: Converter | None = None) -> tuple[Any, list[Any]]:
    """JSON-decode ``body`` with its big per-record string arrays lifted out as numpy arrays.

    Each ``"values": ["a", "b", ...]`` (and the segment ``dims``/``cparms``/... arrays) is
    replaced in the decoded document by an integer index into the returned list of ``S<n>``
    arrays, so a million values never become a million Python strings.  With ``convert``,
    each array is handed over as soon as it is cut out, together with its group
    (``keywords``/``segments``/``links``), key and the ``name`` of its object when that
    comes first, so only one raw column is alive at a time.

    JSOC escapes every ``/`` as ``\\/`` (``json_escape()`` in lm-jps/drms
    ``base/libs/json/json.c``), so real listings have backslashes in paths, ``SDO\\/HMI``,
    URLs.  Only the arrays that hold a backslash are unescaped, and quote counting stays exact
    as long as no value holds an escaped quote: each such array is checked, ``\\/`` is
    undone directly (every backslash of the array followed by ``/``), other escapes go through
    :func:`json.loads` of that array alone, and a document with ``\\"`` or ``\\\\`` in
    an array goes through :func:`json.loads` whole and keeps plain lists.
    """
    try:
        return _scan_string_arrays(body, convert)
    except _NeedsJsonDecoder:
        return loads(body, "rs_list"), []
    except ProtocolError:
        # an escaped quote can make an array look unterminated or malformed before its
        # check is reached: with any backslash in the document, the JSON decoder decides
        if body.find(b"\\") < 0:
            raise
        return loads(body, "rs_list"), []


class _NeedsJsonDecoder(Exception):
    """An array holds an escaped quote or backslash: quote counting is not safe."""


def _scan_string_arrays(body: bytes, convert: Converter | None) -> tuple[Any, list[Any]]:
    buf = np.frombuffer(body, dtype=np.uint8)
    arrays: list[Any] = []
    pieces: list[bytes] = []
    pos = 0
    search_from = 0
    group = ""
    while True:
        m = _ARRAY_RE.search(body, search_from)
        if m is None:
            break
        first = m.end()
        if first >= len(body):
            raise ProtocolError("rs_list: truncated JSON")
        lead = body[first]
        if lead == ord("]"):
            arr: BytesArray = np.zeros(0, dtype="S1")
            close = first
        elif lead == ord('"'):
            uniform = _uniform_strings(body, buf, first)
            if uniform is not None:
                arr, close = uniform
            else:
                close = _closing_bracket(body, first)
            if body.find(b"\\", first, close) < 0:
                if uniform is None:
                    arr = _split_strings(body, buf, first, close)
            elif uniform is not None and (plain := _drop_slash_escapes(arr)) is not None:
                arr = plain
            else:
                arr = _unescaped_strings(body, first, close)
        elif (numbers := _integer_array(body, first)) is not None:
            # *recnum* / *sunum*: jsoc_info.c writes them as JSON numbers
            arr, close = numbers
        else:
            search_from = first
            continue
        between = bytes(body[pos : m.start()])
        for g in _GROUP_RE.finditer(between):
            group = g.group(1).decode()
        value: Any = arr
        if convert is not None:
            own = between[between.rfind(b"{") + 1 :] if b"{" in between else b""
            names = _NAME_RE.findall(own)
            if names:
                name = names[-1].decode("utf-8", "replace")
                converted = convert(group, m.group(1).decode(), name, arr)
                if converted is not None:
                    value = converted
        del arr
        arrays.append(value)
        bracket = body.rindex(b"[", m.start(), first)
        pieces.append(body[pos:bracket])
        pieces.append(str(len(arrays) - 1).encode())
        pos = close + 1
        search_from = pos
    pieces.append(body[pos:])
    return loads(b"".join(pieces), "rs_list"), arrays


def _uniform_strings(
    body: bytes, buf: npt.NDArray[np.uint8], first: int
) -> tuple[BytesArray, int] | None:
    """Fast path for arrays whose strings all have one width (times, hex, flags, ...).

    Every element then sits at ``first + k * stride``: the quotes and separators are
    checked at those positions with strided views (no scan of every byte), and the number
    of quotes up to the closing bracket must be exactly two per element, so no quote hides
    inside a value.  Returns ``(values, index of ']')`` or ``None`` to use the general path.
    """
    size = len(body)
    e0 = body.find(b'"', first + 1)
    if e0 < 0:
        return None
    width = e0 - first - 1
    j = e0 + 1
    while j < size and body[j] in b" \t\r\n,":
        j += 1
    if j >= size:
        return None
    sep = bytes(body[e0 + 1 : j])
    if body[j] == ord("]"):
        if sep.strip():
            return None
        count, close = 1, j
    else:
        if body[j] != ord('"') or sep.strip() != b",":
            return None
        stride = width + 2 + len(sep)
        # element k ends at e0 + k*stride; its next byte (e0 + k*stride + 1) must exist
        room = (size - e0 - 2) // stride + 1
        ends = np.lib.stride_tricks.as_strided(
            buf[e0:], shape=(room,), strides=(stride,), writeable=False
        )
        nexts = np.lib.stride_tricks.as_strided(
            buf[e0 + 1 :], shape=(room,), strides=(stride,), writeable=False
        )
        # walk block by block: a column that is not uniform fails in its first block
        lead_sep = body[e0 + 1]
        found: int | None = None
        for k0 in range(0, room, _CHUNK):
            k1 = min(room, k0 + _CHUNK)
            stop = np.flatnonzero(nexts[k0:k1] != lead_sep)
            last = k1 if stop.size == 0 else k0 + int(stop[0]) + 1
            if not bool((ends[k0:last] == ord('"')).all()):
                return None
            if stop.size:
                found = last
                break
        if found is None:
            return None
        count = found
        starts = np.lib.stride_tricks.as_strided(
            buf[first:], shape=(count,), strides=(stride,), writeable=False
        )
        if not bool((starts == ord('"')).all()):
            return None
        sep_arr = np.frombuffer(sep, dtype=np.uint8)
        gaps = np.lib.stride_tricks.as_strided(
            buf[e0 + 1 :], shape=(count - 1, len(sep)), strides=(stride, 1), writeable=False
        )
        if count > 1 and not bool((gaps == sep_arr).all()):
            return None
        tail = e0 + (count - 1) * stride + 1
        close = tail
        while close < size and body[close] in b" \t\r\n":
            close += 1
        if close >= size or body[close] != ord("]"):
            return None
    if body.count(b'"', first, close) != 2 * count:
        return None
    if count == 1:
        values = np.frombuffer(bytes(body[first + 1 : e0]) or b"\0", dtype=f"S{max(width, 1)}")
        return values.copy(), close
    view = np.lib.stride_tricks.as_strided(
        buf[first + 1 :], shape=(count, max(width, 1)), strides=(stride, 1), writeable=False
    )
    if width == 0:
        return np.zeros(count, dtype="S1"), close
    return np.ascontiguousarray(view).view(f"S{width}").ravel(), close


_INTEGERS_RE = re.compile(rb"-?[0-9]+(?:,-?[0-9]+)*")


def _integer_array(body: bytes, first: int) -> tuple[BytesArray, int] | None:
    """A compact array of integers at ``first`` (``123,124,125]``) as digit strings, with
    the index of its ``]``; ``None`` for anything else (left to the JSON decoder)."""
    lead = body[first]
    if lead != ord("-") and not ord("0") <= lead <= ord("9"):
        return None
    close = body.find(b"]", first)
    if close < 0:
        return None
    m = _INTEGERS_RE.match(body, first, close)
    if m is None or m.end() != close:
        return None
    pieces = bytes(memoryview(body)[first:close]).split(b",")
    return np.array(pieces, dtype=np.bytes_), close


def _drop_slash_escapes(arr: BytesArray) -> BytesArray | None:
    """``arr`` (one width) without its ``\\/`` escapes, when every row has its backslashes
    at the same places, each followed by ``/`` (``SDO\\/HMI``, constant paths): the
    backslash columns are dropped at once.  ``None`` when the rows differ."""
    n = arr.shape[0]
    width = arr.dtype.itemsize
    if n == 0 or width < 2:
        return None
    chars = arr.view(np.uint8).reshape(n, width)
    first = bytes(chars[0])
    if first.count(b"\\") != first.count(b"\\/"):
        return None
    if bool((chars == chars[0]).all()):
        # one value in every row (TELESCOP, ORIGIN, BUNIT ...): unescape it once
        value = first.replace(b"\\/", b"/")
        return np.full(n, value, dtype=f"S{max(1, len(value))}")
    cols = np.flatnonzero(chars[0] == ord("\\"))
    if cols.size == 0 or int(cols[-1]) + 1 >= width:
        return None
    if int(np.count_nonzero(chars == ord("\\"))) != n * cols.size:
        return None
    if not bool((chars[:, cols] == ord("\\")).all()):
        return None
    if not bool((chars[:, cols + 1] == ord("/")).all()):
        return None
    keep = np.setdiff1d(np.arange(width), cols)
    return np.ascontiguousarray(chars[:, keep]).view(f"S{keep.size}").ravel()


def _unescaped_strings(body: bytes, first: int, close: int) -> BytesArray:
    """The strings of the array ``body[first:close + 1]`` (``"...", ... ]``), unescaped.

    When every backslash of the array is followed by ``/`` (as many ``\\/`` replaced as
    there are backslashes), the escapes are undone directly and the array split as usual;
    other escapes (``\\n``, ``\\u00e9``) are left to the JSON decoder for this array; an
    escaped quote or backslash makes the whole document go to the JSON decoder.
    """
    region = body[first : close + 1]
    backslashes = region.count(b"\\")
    plain = region.replace(b"\\/", b"/")
    if len(region) - len(plain) != backslashes:
        if b'\\"' in region or b"\\\\" in region:
            raise _NeedsJsonDecoder
        items = loads(b"[" + region, "rs_list")
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise ProtocolError("rs_list: malformed string array")
        if not items:
            return np.zeros(0, dtype="S1")
        return np.array([v.encode("utf-8", "surrogatepass") for v in items], dtype=np.bytes_)
    del region
    rbuf = np.frombuffer(plain, dtype=np.uint8)
    uniform = _uniform_strings(plain, rbuf, 0)
    if uniform is not None:
        return uniform[0]
    return _split_strings(plain, rbuf, 0, len(plain) - 1)


def _split_compact(body: bytes, first: int, close: int) -> BytesArray | None:
    """JSOC's compact arrays (``"a","bb","c"]``, json_tree_to_string() puts nothing between
    the strings): one C-level split at ``","``; the quote count proves that no piece holds
    a quote (``None`` for any other layout)."""
    last = close - 1
    while last > first and body[last] in b" \t\r\n":
        last -= 1
    if last <= first or body[last] != ord('"'):
        return None
    pieces = bytes(memoryview(body)[first + 1 : last]).split(b'","')
    if body.count(b'"', first, last + 1) != 2 * len(pieces):
        return None
    return np.array(pieces, dtype=np.bytes_)


def _closing_bracket(body: bytes, first: int) -> int:
    """Index of the ``]`` that closes a string array whose first quote is at ``first``."""
    k = first
    while True:
        m = _CLOSE_RE.search(body, k + 1)
        if m is None:
            raise ProtocolError("rs_list: unterminated array")
        q = m.start()
        if body.count(b'"', first, q + 1) % 2 == 0:
            return m.end() - 1
        k = q


def _split_strings(body: bytes, buf: npt.NDArray[np.uint8], first: int, close: int) -> BytesArray:
    """The strings of ``body[first:close]`` (first quote to the closing ``]``), any widths."""
    compact = _split_compact(body, first, close)
    if compact is not None:
        return compact
    seg = buf[first:close]
    quotes = np.flatnonzero(seg == ord('"'))
    if quotes.size % 2:
        raise ProtocolError("rs_list: unbalanced quotes")
    opens = quotes[0::2]
    closes = quotes[1::2]
    # what lies between two strings must be one comma and whitespace
    if opens.size > 1:
        gap_start = closes[:-1] + 1
        gaps = opens[1:] - gap_start
        commas = np.zeros(gaps.size, dtype=np.int64)
        last = seg.size - 1
        for off in range(int(gaps.max())):
            inside = off < gaps
            ch = seg[np.minimum(gap_start + off, last)]
            is_comma = ch == ord(",")
            if not bool((~inside | is_comma | np.isin(ch, _WHITESPACE)).all()):
                raise ProtocolError("rs_list: malformed string array")
            commas += is_comma & inside
        if not bool((commas == 1).all()):
            raise ProtocolError("rs_list: malformed string array")
    tail = seg[int(closes[-1]) + 1 :] if closes.size else seg
    if tail.size and not bool(np.isin(tail, _WHITESPACE).all()):
        raise ProtocolError("rs_list: malformed string array")
    starts = opens + 1 + first
    lengths = closes - opens - 1
    n = starts.size
    width = max(int(lengths.max()) if n else 1, 1)
    if n > 1 and bool((lengths == width).all()):
        stride = int(starts[1] - starts[0])
        if bool((np.diff(starts) == stride).all()):
            view = np.lib.stride_tricks.as_strided(
                buf[int(starts[0]) :], shape=(n, width), strides=(stride, 1), writeable=False
            )
            return np.ascontiguousarray(view).view(f"S{width}").ravel()
    out = np.zeros((n, width), dtype=np.uint8)
    cols = np.arange(width)
    last = buf.size - 1
    for a in range(0, n, _CHUNK):
        b = min(a + _CHUNK, n)
        idx = starts[a:b, None] + cols
        keep = cols < lengths[a:b, None]
        out[a:b] = np.where(keep, buf[np.minimum(idx, last)], 0)
    return out.view(f"S{width}").ravel()


_WHITESPACE = np.array([ord(c) for c in " \t\r\n"], dtype=np.uint8)
