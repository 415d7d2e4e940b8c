"""User settings and UI state, kept apart (architecture rule 6).

* :class:`UserSettings` — choices the user makes (which server, e-mail for exports, live-count
  delay): ``<config>/settings.ini``.
* :class:`UiState` — what the window looks like (geometry, splitter and header states):
  ``<config>/ui-state.ini``; losing it is harmless.

Both are :class:`QSettings` in INI format inside :class:`~jsocdesk.core.paths.AppPaths`'
config directory, so tests (which point ``JSOCDESK_CONFIG_DIR`` at a tmp dir) never touch
the user's files.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from jsocdesk.core.jsoc.config import JSOC_BASE_URL

#: the real archive, as the CLI talks to it: https with TLS verification (core config)
JSOC_URL = JSOC_BASE_URL


class ServerKind(StrEnum):
    JSOC = "jsoc"
    DEMO = "demo"
    CUSTOM = "custom"


class UserSettings:
    def __init__(self, config_dir: Path) -> None:
        config_dir.mkdir(parents=True, exist_ok=True)
        self._qs = QSettings(str(config_dir / "settings.ini"), QSettings.Format.IniFormat)

    @property
    def server_kind(self) -> ServerKind:
        value = str(self._qs.value("server/kind", ServerKind.JSOC.value))
        try:
            return ServerKind(value)
        except ValueError:
            return ServerKind.JSOC

    @server_kind.setter
    def server_kind(self, kind: ServerKind) -> None:
        self._qs.setValue("server/kind", kind.value)

    @property
    def custom_url(self) -> str:
        return str(self._qs.value("server/custom_url", ""))

    @custom_url.setter
    def custom_url(self, url: str) -> None:
        self._qs.setValue("server/custom_url", url)

    @property
    def email(self) -> str:
        return str(self._qs.value("export/email", ""))

    @email.setter
    def email(self, value: str) -> None:
        self._qs.setValue("export/email", value)

    @property
    def download_folder(self) -> str:
        """The default download folder of new sessions ("" = ``~/Downloads/jsocdesk``)."""
        return str(self._qs.value("downloads/default_folder", ""))

    @download_folder.setter
    def download_folder(self, value: str) -> None:
        self._qs.setValue("downloads/default_folder", value)

    @property
    def count_delay_ms(self) -> int:
        try:
            return int(str(self._qs.value("query/count_delay_ms", 300)))
        except (TypeError, ValueError):
            return 300

    @count_delay_ms.setter
    def count_delay_ms(self, value: int) -> None:
        self._qs.setValue("query/count_delay_ms", int(value))

    def server_url(self, demo_url: str | None = None) -> str | None:
        """The base URL the client should talk to (None: demo chosen but not running)."""
        kind = self.server_kind
        if kind is ServerKind.DEMO:
            return demo_url
        if kind is ServerKind.CUSTOM and self.custom_url:
            return self.custom_url
        return JSOC_URL

    def sync(self) -> None:
        self._qs.sync()


class UiState:
    def __init__(self, config_dir: Path) -> None:
        config_dir.mkdir(parents=True, exist_ok=True)
        self._qs = QSettings(str(config_dir / "ui-state.ini"), QSettings.Format.IniFormat)

    def save_bytes(self, key: str, value: QByteArray) -> None:
        self._qs.setValue(key, value)

    def load_bytes(self, key: str) -> QByteArray | None:
        value = self._qs.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def save_list(self, key: str, values: list[str]) -> None:
        self._qs.setValue(key, list(values))

    def load_list(self, key: str) -> list[str] | None:
        value = self._qs.value(key)
        if value is None:
            return None
        if isinstance(value, str):
            return [value] if value else []
        return [str(v) for v in value]

    def sync(self) -> None:
        self._qs.sync()
