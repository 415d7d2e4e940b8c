"""DownloadsView: the downloads table; completed files drag out as file URLs."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, Qt, Signal
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from jsocdesk.core.download.item import DownloadItem
from jsocdesk.gui.downloads.delegate import ProgressDelegate
from jsocdesk.gui.downloads.model import COL_NAME, COL_PROGRESS, COL_STATUS, DownloadsModel


class DownloadsView(QTableView):
    #: a row was double-clicked (or Enter pressed on it)
    item_activated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self._progress_delegate = ProgressDelegate(self)
        self.setItemDelegateForColumn(COL_PROGRESS, self._progress_delegate)
        self.activated.connect(self._on_activated)

    def setModel(self, model: QAbstractItemModel | None) -> None:
        super().setModel(model)
        header = self.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(COL_NAME, 260)
        header.resizeSection(COL_PROGRESS, 380)
        header.resizeSection(COL_STATUS, 160)

    def downloads_model(self) -> DownloadsModel:
        model = self.model()
        assert isinstance(model, DownloadsModel)
        return model

    def selected_items(self) -> list[DownloadItem]:
        return self.downloads_model().items(self.selectionModel().selectedRows())

    def visible_rows(self) -> tuple[int, int]:
        """First and last row index on screen (``(0, -1)`` when nothing is shown)."""
        n = self.model().rowCount() if self.model() is not None else 0
        if n == 0:
            return 0, -1
        top = self.rowAt(0)
        bottom = self.rowAt(self.viewport().height() - 1)
        first = 0 if top < 0 else top
        last = n - 1 if bottom < 0 else bottom
        return first, last

    def _on_activated(self, index: object) -> None:
        item = self.downloads_model().item(index)  # type: ignore[arg-type]
        if item is not None:
            self.item_activated.emit(item)

    def startDrag(self, supportedActions: Qt.DropAction) -> None:
        """Drag the completed files among the selected rows (copy: we keep our file)."""
        indexes = self.selectionModel().selectedRows()
        mime = self.downloads_model().mimeData(indexes)
        if mime is None:
            return
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.exec(Qt.DropAction.CopyAction, Qt.DropAction.CopyAction)
