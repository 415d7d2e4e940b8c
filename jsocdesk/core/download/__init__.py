"""Parallel, resumable, verified downloads (Qt-free).

* :class:`DownloadItem` / :class:`DownloadState`: one file and its state machine;
* :class:`DownloadQueue`: the evented, ordered container with per-item commands;
* :class:`DownloadEngine`: runs the queue on one shared ``httpx.AsyncClient``;
* :class:`QueueStore` / :class:`Catalog`: persistence of the queue and of what was fetched;
* :mod:`.names`: safe local file names;
* :func:`unpack_tar`: safe extraction of ``url-tar`` archives (run by the engine).

See ``docs/downloads.md`` for the behaviour in detail.
"""

from jsocdesk.core.download.catalog import Catalog, CatalogEntry, CatalogError, catalog_key
from jsocdesk.core.download.engine import DownloadEngine, EngineOptions, RetryPolicy
from jsocdesk.core.download.item import DownloadItem, DownloadState, InvalidTransition
from jsocdesk.core.download.names import NameAllocator, filename_from_url, safe_filename
from jsocdesk.core.download.queue import ConcurrencyLimits, DownloadQueue, QueueTotals
from jsocdesk.core.download.store import QueueStore, QueueStoreError
from jsocdesk.core.download.unpack import UnpackError, UnpackResult, unpack_tar

__all__ = [
    "Catalog",
    "CatalogEntry",
    "CatalogError",
    "ConcurrencyLimits",
    "DownloadEngine",
    "DownloadItem",
    "DownloadQueue",
    "DownloadState",
    "EngineOptions",
    "InvalidTransition",
    "NameAllocator",
    "QueueStore",
    "QueueStoreError",
    "QueueTotals",
    "RetryPolicy",
    "UnpackError",
    "UnpackResult",
    "catalog_key",
    "filename_from_url",
    "safe_filename",
    "unpack_tar",
]
