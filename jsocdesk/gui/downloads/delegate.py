"""ProgressDelegate: paints a download's progress bar with bytes, percent, speed and ETA."""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
)

from jsocdesk.core.download.item import DownloadItem, DownloadState
from jsocdesk.gui.downloads.format import human_bytes, human_duration, human_speed
from jsocdesk.gui.roles import Index, Role

S = DownloadState


def progress_text(item: DownloadItem) -> str:
    """``"12.3 MB / 45.6 MB (27%) · 3.2 MB/s · 0:12 left"`` (parts left out when unknown)."""
    size = item.size_hint
    fraction = item.fraction
    text = human_bytes(item.bytes_done)
    if size is not None:
        text += f" / {human_bytes(size)}"
    if fraction is not None:
        text += f" ({fraction * 100:.0f}%)"
    if item.state is S.ACTIVE:
        if item.stalled():  # the smoothed speed decays: its ETA ("45:54:38 left") is fiction
            return text + " · stalled (no data for a while; still trying)"
        speed = human_speed(item.speed)
        if speed:
            text += f" · {speed}"
        eta = human_duration(item.eta)
        if eta:
            text += f" · {eta} left"
    return text


class ProgressDelegate(QStyledItemDelegate):
    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: Index,
    ) -> None:
        item = index.data(Role.OBJECT)
        if not isinstance(item, DownloadItem):
            super().paint(painter, option, index)
            return
        # the selection background first, so a selected row stays visibly selected
        QApplication.style().drawPrimitive(
            QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget
        )
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 2, -2, -2)
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        bar.direction = option.direction
        bar.fontMetrics = option.fontMetrics
        bar.palette = option.palette
        bar.minimum = 0
        bar.maximum = 1000
        fraction = item.fraction
        if fraction is None and item.state is S.ACTIVE:
            bar.maximum = 0  # busy indicator: size not known yet
            bar.progress = 0
        else:
            bar.progress = round((fraction or 0.0) * 1000)
        bar.text = progress_text(item)
        bar.textVisible = True
        QApplication.style().drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        hint = super().sizeHint(option, index)
        width = option.fontMetrics.horizontalAdvance(
            "999.9 MB / 999.9 MB (100%) · 99.9 MB/s · 9:99:99 left"
        )
        return QSize(max(hint.width(), width + 16), hint.height())
