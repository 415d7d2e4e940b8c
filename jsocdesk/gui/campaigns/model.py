"""CampaignsModel: a tree over the window's campaigns — one row per campaign, its chunks below.

The campaign row sums its chunks (how many are done, records, estimated size, files); a
chunk row shows its state, records, size, request id, files and attempts, with the error
as tooltip.  The core's events drive it: the campaigns list's changes reset the model (a
campaign is added or removed rarely), a campaign's chunk list inserts and removes child
rows (a chunk too big for the server is replaced by its parts), ``Campaign.changed``
becomes ``dataChanged`` of the chunk and of its campaign row.  Server text reaches the
cells through :func:`~jsocdesk.core.campaign.workflow.printable`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, Qt

from jsocdesk.core.campaign.state import Campaign, Chunk, ChunkState
from jsocdesk.core.campaign.workflow import printable
from jsocdesk.core.events import EventedList, Signal
from jsocdesk.gui.downloads.format import human_bytes
from jsocdesk.gui.roles import Index, Role, column_title

COLUMNS = ("Campaign / chunk", "State", "Records", "Size", "Request", "Files", "Attempts")
COL_NAME, COL_STATE, COL_RECORDS, COL_SIZE, COL_REQUEST, COL_FILES, COL_ATTEMPTS = range(
    len(COLUMNS)
)
#: internal id of a campaign row; a chunk row's id is 1 + its campaign's row
TOP = 0


def campaign_state(c: Campaign) -> str:
    t = c.totals()
    if c.succeeded:
        return f"done ({t.chunks} exports)"
    text = f"{t.done}/{t.chunks} exports done"
    if t.active:
        text += f", {t.active} running"
    if t.failed:
        text += f", {t.failed} failed"
    return text


def campaign_title(c: Campaign) -> str:
    if c.title:
        return c.title
    head = c.source[0] if c.source else (c.chunks[0].recordset if len(c.chunks) else "")
    more = f" (+{len(c.source) - 1})" if len(c.source) > 1 else ""
    return f"Campaign {head}{more}"


class CampaignsModel(QAbstractItemModel):
    COLUMNS = COLUMNS

    def __init__(self, campaigns: EventedList[Campaign], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.campaigns = campaigns
        self._followed: list[tuple[Signal, Callable[..., None]]] = []
        ev = campaigns.events
        self._list_slots: tuple[tuple[Signal, Callable[..., None]], ...] = (
            (ev.resetting, self._begin_reset),
            (ev.inserting, self._begin_reset),
            (ev.removing, self._begin_reset),
            (ev.moving, self._begin_reset),
            (ev.reset, self._end_reset),
            (ev.inserted, self._end_reset),
            (ev.removed, self._end_reset),
            (ev.moved, self._end_reset),
            (ev.changed, self._on_campaign_replaced),
        )
        for pair in self._list_slots:
            pair[0].connect(pair[1])
        self._follow_all()

    def detach(self) -> None:
        for pair in self._list_slots:
            pair[0].disconnect(pair[1])
        self._unfollow_all()

    # --- following the campaigns ------------------------------------------------------------
    def _follow_all(self) -> None:
        for row, c in enumerate(self.campaigns):
            ev = c.chunks.events
            pairs: list[tuple[Signal, Callable[..., None]]] = [
                (ev.inserting, partial(self._chunks_inserting, row)),
                (ev.inserted, self._chunks_inserted),
                (ev.removing, partial(self._chunks_removing, row)),
                (ev.removed, self._chunks_removed),
                (ev.resetting, self._begin_reset),
                (ev.reset, self._end_reset),
                (ev.changed, partial(self._chunk_changed, row)),
                (c.changed, partial(self._campaign_changed, row)),
            ]
            for sig, slot in pairs:
                sig.connect(slot)
            self._followed.extend(pairs)

    def _chunks_inserting(self, row: int, i: int, n: int) -> None:
        self.beginInsertRows(self._top(row), i, i + n - 1)

    def _chunks_inserted(self, _i: int, _n: int) -> None:
        self.endInsertRows()

    def _chunks_removing(self, row: int, i: int, n: int) -> None:
        self.beginRemoveRows(self._top(row), i, i + n - 1)

    def _chunks_removed(self, _i: int, _n: int) -> None:
        self.endRemoveRows()

    def _unfollow_all(self) -> None:
        for sig, slot in self._followed:
            sig.disconnect(slot)
        self._followed = []

    def _begin_reset(self, *_args: object) -> None:
        self.beginResetModel()
        self._unfollow_all()

    def _end_reset(self, *_args: object) -> None:
        self._follow_all()
        self.endResetModel()

    def _on_campaign_replaced(self, _row: int) -> None:
        self._begin_reset()
        self._end_reset()

    def _chunk_changed(self, row: int, i: int) -> None:
        parent = self._top(row)
        self.dataChanged.emit(self.index(i, 0, parent), self.index(i, len(COLUMNS) - 1, parent))

    def _campaign_changed(self, row: int, _chunk: Chunk | None) -> None:
        self.dataChanged.emit(self._top(row), self._top(row, len(COLUMNS) - 1))

    def _top(self, row: int, col: int = 0) -> QModelIndex:
        return self.createIndex(row, col, TOP)

    # --- the tree ---------------------------------------------------------------------------
    def index(
        self,
        row: int,
        column: int,
        parent: Index = QModelIndex(),  # noqa: B008  # Qt's default argument
    ) -> QModelIndex:
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, TOP)
        return self.createIndex(row, column, parent.row() + 1)

    def parent(self, child: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008  # Qt overloads parent()
        if not child.isValid():
            return QModelIndex()
        ident = int(child.internalId())
        if ident == TOP:
            return QModelIndex()
        return self.createIndex(ident - 1, 0, TOP)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008  # Qt's default argument
        if not parent.isValid():
            return len(self.campaigns)
        if parent.column() != 0 or int(parent.internalId()) != TOP:
            return 0
        return len(self.campaigns[parent.row()].chunks)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008  # Qt's default argument
        return len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return column_title(COLUMNS, section, orientation, role)

    def campaign_at(self, index: Index) -> Campaign | None:
        if not index.isValid():
            return None
        ident = int(index.internalId())
        row = index.row() if ident == TOP else ident - 1
        return self.campaigns[row] if 0 <= row < len(self.campaigns) else None

    def chunk_at(self, index: Index) -> Chunk | None:
        if not index.isValid() or int(index.internalId()) == TOP:
            return None
        c = self.campaign_at(index)
        if c is None or not 0 <= index.row() < len(c.chunks):
            return None
        return c.chunks[index.row()]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        chunk = self.chunk_at(index)
        if chunk is None:
            campaign = self.campaign_at(index)
            if campaign is None:
                return None
            if role == Qt.ItemDataRole.DisplayRole:
                return self._campaign_text(campaign, index.column())
            if role == Role.OBJECT:
                return campaign
            if role == Qt.ItemDataRole.ToolTipRole and index.column() == COL_NAME:
                return printable("\n".join(campaign.source), 2000)
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._chunk_text(chunk, index.column())
        if role == Role.OBJECT:
            return chunk
        if role == Qt.ItemDataRole.ToolTipRole:
            return printable(chunk.error) if chunk.error else printable(chunk.recordset)
        return None

    @staticmethod
    def _campaign_text(c: Campaign, col: int) -> str:
        t = c.totals()
        if col == COL_NAME:
            return printable(campaign_title(c))
        if col == COL_STATE:
            return campaign_state(c)
        if col == COL_RECORDS:
            return f"{t.records:,}"
        if col == COL_SIZE:
            return human_bytes(t.est_bytes) if t.est_bytes is not None else "?"
        if col == COL_FILES:
            return f"{t.files_done:,}/{t.files:,}" if t.files else ""
        return ""

    @staticmethod
    def _chunk_text(chunk: Chunk, col: int) -> str:
        if col == COL_NAME:
            return printable(chunk.recordset)
        if col == COL_STATE:
            text = chunk.state.value
            if chunk.state is ChunkState.PENDING and chunk.error:
                text += " (retry)"
            return text
        if col == COL_RECORDS:
            return f"{chunk.records:,}"
        if col == COL_SIZE:
            return human_bytes(chunk.est_bytes) if chunk.est_bytes is not None else "?"
        if col == COL_REQUEST:
            return printable(chunk.requestid)
        if col == COL_FILES:
            return f"{chunk.files_done:,}/{chunk.n_files:,}" if chunk.n_files else ""
        if col == COL_ATTEMPTS:
            return str(chunk.attempts) if chunk.attempts else ""
        return ""
