"""Demo mode explained (issue 15), with the app's own demo server child process: the Exports
tab prefills the demo address and says so, a rejected address is never sent to the real JSOC
registration page, Settings shows the server this run really uses, and ``--demo`` over a
saved custom server says it overrides it for this run only."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from jsocdesk.gui.context import AppContext
from jsocdesk.gui.demo_process import DEMO_EMAIL
from jsocdesk.gui.main_window import MainWindow
from jsocdesk.gui.settings import ServerKind
from tests.gui.conftest import close_app, wait_task


def test_demo_address_is_the_demo_servers_default() -> None:
    from jsocdesk.demo.config import DemoConfig

    assert DEMO_EMAIL in DemoConfig().registered_emails


def test_demo_mode_prefills_the_address_and_explains_the_server(qtbot: Any, qloop: Any) -> None:
    ctx = AppContext.create(show_error_dialog=False)
    ctx.settings.server_kind = ServerKind.CUSTOM
    ctx.settings.custom_url = "http://127.0.0.1:9/"
    ctx.settings.email = "me@real.example.org"
    window = MainWindow(ctx)
    window.show()
    qtbot.waitExposed(window)
    try:
        with qtbot.waitSignal(window.series_browser.series_loaded, timeout=30_000):
            url = wait_task(qtbot, asyncio.ensure_future(ctx.start_demo()), timeout=30_000)
        tab = window.exports_tab
        assert tab.email_edit.text() == DEMO_EMAIL
        window.tabs.setCurrentWidget(tab)
        assert tab.demo_label.isVisible()
        assert DEMO_EMAIL in tab.demo_label.text()
        qtbot.waitUntil(lambda: tab.email_registered is True, timeout=20_000)
        # another address: rejected, and pointed at the demo address, not at JSOC's page
        tab.email_edit.setFocus()
        QTest.keyClick(tab.email_edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        with qtbot.waitSignal(tab.email_checked, timeout=20_000):
            QTest.keyClicks(tab.email_edit, "someone@example.net")
        assert tab.email_registered is False
        message = tab.email_label.text()
        assert "jsoc.stanford.edu" not in message
        assert DEMO_EMAIL in message
        assert ctx.settings.email == "me@real.example.org"  # the demo never overwrites it
        # the status bar and Settings name the demo server and the override
        assert "demo" in window.server_label.text()
        window.settings_action.trigger()
        dialog = window.settings_dialog
        current = dialog.current_label.text()
        assert "demo server" in current
        assert url in current
        assert "http://127.0.0.1:9/" in current
        assert "this run only" in current
        dialog.reject()
    finally:
        close_app(qtbot, window, ctx)
