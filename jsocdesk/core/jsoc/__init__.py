"""The conversation with JSOC: server configs, the async client, typed answers, exports."""

from __future__ import annotations

from jsocdesk.core.jsoc.client import JsocClient, RetryPolicy, Timeouts, make_http_client
from jsocdesk.core.jsoc.columns import Column, ColumnKind, DrmsTime
from jsocdesk.core.jsoc.config import ServerConfig
from jsocdesk.core.jsoc.export import (
    ExportCancelled,
    ExportJob,
    ExportQueue,
    ExportTooLarge,
    JobState,
    PollPolicy,
    split_recordset,
)
from jsocdesk.core.jsoc.protocol import (
    EmailCheck,
    ExportFile,
    ExportResponse,
    ExportStatus,
    QueryResult,
    SeriesEntry,
    StatusCategory,
)

__all__ = [
    "Column",
    "ColumnKind",
    "DrmsTime",
    "EmailCheck",
    "ExportCancelled",
    "ExportFile",
    "ExportJob",
    "ExportQueue",
    "ExportResponse",
    "ExportStatus",
    "ExportTooLarge",
    "JobState",
    "JsocClient",
    "PollPolicy",
    "QueryResult",
    "RetryPolicy",
    "SeriesEntry",
    "ServerConfig",
    "StatusCategory",
    "Timeouts",
    "make_http_client",
    "split_recordset",
]
