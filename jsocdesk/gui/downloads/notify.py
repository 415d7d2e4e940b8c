"""Desktop notifications: a tray message when the platform can show one, else the status bar.

``QSystemTrayIcon.supportsMessages()`` is false on the offscreen platform and on desktops
without a notification service; the status bar message is then the notification.  Every
notification is also kept in :attr:`Notifier.history` (the window's "what happened" list and
what tests read).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStatusBar, QSystemTrayIcon

from jsocdesk.core.text import clean

STATUS_MS = 10_000


class Notifier(QObject):
    #: (title, message, channel) with channel "tray" or "status"
    notified = Signal(str, str, str)

    def __init__(self, status_bar: QStatusBar | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._status_bar = status_bar
        self._tray: QSystemTrayIcon | None = None
        self.history: list[tuple[str, str, str]] = []

    def _tray_icon(self) -> QSystemTrayIcon | None:
        if not (QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages()):
            return None
        if self._tray is None:
            icon = QApplication.windowIcon()
            self._tray = QSystemTrayIcon(icon if not icon.isNull() else QIcon(), self)
            self._tray.setToolTip("jsocdesk")
            self._tray.show()
        return self._tray

    def notify(self, title: str, message: str) -> str:
        """Show ``title: message``; returns the channel used ("tray" or "status")."""
        title, message = clean(title, limit=200), clean(message, limit=500)
        tray = self._tray_icon()
        if tray is not None:
            tray.showMessage(title, message, QSystemTrayIcon.MessageIcon.Information, STATUS_MS)
            channel = "tray"
        else:
            channel = "status"
        # the status bar always gets it too: the tray balloon vanishes, the window stays
        if self._status_bar is not None:
            self._status_bar.showMessage(f"{title}: {message}", STATUS_MS)
        self.history.append((title, message, channel))
        self.notified.emit(title, message, channel)
        return channel

    def close(self) -> None:
        if self._tray is not None:
            self._tray.hide()
            self._tray.deleteLater()
            self._tray = None
