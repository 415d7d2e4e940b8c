"""DownloadsModel: a table model adapting exactly one core :class:`DownloadQueue`.

Structural events of the queue (insert/remove/move/reset) become ``begin…``/``end…`` calls at
once.  State transitions (rare: queued → active → done) emit ``dataChanged`` at once too, so
actions and colours follow immediately.  Progress (the engine's ``changed`` ticks, up to four
per second per active item) only marks the item dirty; :meth:`DownloadsModel.flush`, called by
the Downloads tab's single repaint timer with the range of rows on screen, emits one
``dataChanged`` per contiguous run of dirty *visible* rows and forgets the others (their cells
read live values when they scroll into view).  ``data()`` reads the item's fields and never
does I/O.

Drag and drop: completed rows are drag-enabled; :meth:`mimeData` carries ``text/uri-list``
file URLs of the completed files among the dragged rows (each file once), so a file manager,
a terminal or an image viewer receives the files themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, QModelIndex, Qt, QUrl
from PySide6.QtGui import QBrush, QColor

from jsocdesk.core.download.item import DownloadItem, DownloadState
from jsocdesk.core.download.queue import DownloadQueue
from jsocdesk.core.net import redact_url
from jsocdesk.core.text import clean
from jsocdesk.gui.downloads.format import human_bytes, human_duration, human_speed
from jsocdesk.gui.listmodel import EventedListModel
from jsocdesk.gui.roles import Index, Role

S = DownloadState

COLUMNS = ("Name", "Progress", "Size", "Speed", "ETA", "Status")
COL_NAME, COL_PROGRESS, COL_SIZE, COL_SPEED, COL_ETA, COL_STATUS = range(len(COLUMNS))

URI_LIST = "text/uri-list"

_STATE_TEXT = {
    S.QUEUED: "Queued",
    S.ACTIVE: "Downloading",
    S.PAUSED: "Paused",
    S.DONE: "Done",
    S.FAILED: "Failed",
    S.CANCELLED: "Cancelled",
}


def status_text(item: DownloadItem) -> str:
    """What the Status column says; a failed row shows its error, a retry its reason."""
    text = _STATE_TEXT[item.state]
    if item.state is S.FAILED and item.error:  # errors quote servers: shown inert
        return f"Failed: {clean(item.error, limit=300)}"
    if item.state is S.QUEUED and item.error:
        return f"Queued ({clean(item.error, limit=300)})"
    return text


class DownloadsModel(EventedListModel[DownloadItem]):
    COLUMNS = COLUMNS

    def __init__(self, queue: DownloadQueue, parent: Any = None) -> None:
        super().__init__(queue, parent)
        self.queue = queue
        self._dirty: set[str] = set()
        queue.state_changed.connect(self._on_queue_state_changed)

    def detach(self) -> None:
        super().detach()
        self.queue.state_changed.disconnect(self._on_queue_state_changed)

    # --- queue events ------------------------------------------------------------------------
    def _removing(self, index: int, count: int) -> None:
        for i in range(index, index + count):
            self._dirty.discard(self.queue[i].id)

    def _resetting(self) -> None:
        self._dirty.clear()

    def _replaced(self, index: int) -> None:
        self._dirty.add(self.queue[index].id)

    def _on_queue_state_changed(self, item: DownloadItem, _old: DownloadState) -> None:
        self._dirty.discard(item.id)
        self.announce_row(self.queue.index_of(item))

    # --- repaint -----------------------------------------------------------------------------
    @property
    def pending_repaints(self) -> int:
        return len(self._dirty)

    def flush(self, first: int = 0, last: int | None = None) -> int:
        """Emit ``dataChanged`` for dirty rows in ``first..last`` (inclusive); forget the rest.

        Returns the number of rows announced.
        """
        if not self._dirty:
            return 0
        n = len(self.queue)
        last = n - 1 if last is None else min(last, n - 1)
        announced = self.announce_runs(
            range(max(0, first), last + 1),
            lambda row: self.queue[row].id in self._dirty,
            COL_PROGRESS,
            len(COLUMNS) - 1,
        )
        self._dirty.clear()
        return announced

    # --- reading -----------------------------------------------------------------------------
    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        item = self.item(index)
        if item is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(item, col)
        if role == Role.OBJECT:
            return item
        if role == Role.SORT:
            return self._sort_value(item, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_NAME:
                return f"{item.target}\n{clean(redact_url(item.url))}"
            if item.error:
                return clean(item.error, keep_newlines=True)
            return None
        if role == Qt.ItemDataRole.ForegroundRole and item.state is S.FAILED:
            return QBrush(QColor(180, 30, 30))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_SIZE, COL_SPEED, COL_ETA):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _display(item: DownloadItem, col: int) -> str:
        if col == COL_NAME:
            return item.target.name
        if col == COL_PROGRESS:
            fraction = item.fraction
            return "" if fraction is None else f"{fraction * 100:.0f}%"
        if col == COL_SIZE:
            return human_bytes(item.size_hint)
        if col == COL_SPEED:
            return human_speed(item.speed) if item.state is S.ACTIVE else ""
        if col == COL_ETA:
            return human_duration(item.eta)
        return status_text(item)

    @staticmethod
    def _sort_value(item: DownloadItem, col: int) -> Any:
        if col == COL_PROGRESS:
            return item.fraction or 0.0
        if col == COL_SIZE:
            return item.size_hint or 0
        if col == COL_SPEED:
            return item.speed
        if col == COL_ETA:
            return item.eta if item.eta is not None else float("inf")
        return DownloadsModel._display(item, col)

    # --- drag out ----------------------------------------------------------------------------
    def flags(self, index: Index) -> Qt.ItemFlag:
        item = self.item(index)
        if item is None:
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if item.state is S.DONE:
            flags |= Qt.ItemFlag.ItemIsDragEnabled
        return flags

    def mimeTypes(self) -> list[str]:
        return [URI_LIST]

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def completed_paths(self, indexes: Sequence[Index]) -> list[Path]:
        """Files of the completed items among ``indexes`` that are on disk, in row order."""
        return [
            it.target for it in self.items(indexes) if it.state is S.DONE and it.target.is_file()
        ]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData | None:  # type: ignore[override]  # None (nullptr) means: nothing to drag
        paths = self.completed_paths(indexes)
        if not paths:
            return None
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(p.resolve())) for p in paths])
        return mime
