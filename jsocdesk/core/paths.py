"""Where jsocdesk keeps its files: platformdirs, overridable (tests use tmp dirs).

``JSOCDESK_CONFIG_DIR``, ``JSOCDESK_DATA_DIR``, ``JSOCDESK_CACHE_DIR`` and
``JSOCDESK_LOG_DIR`` override the platform defaults; the test suite sets all of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "jsocdesk"


@dataclass(frozen=True)
class AppPaths:
    config: Path
    data: Path
    cache: Path
    log: Path

    @classmethod
    def from_environment(cls) -> AppPaths:
        def pick(var: str, default: str) -> Path:
            value = os.environ.get(var)
            return Path(value) if value else Path(default)

        return cls(
            config=pick("JSOCDESK_CONFIG_DIR", platformdirs.user_config_dir(APP_NAME)),
            data=pick("JSOCDESK_DATA_DIR", platformdirs.user_data_dir(APP_NAME)),
            cache=pick("JSOCDESK_CACHE_DIR", platformdirs.user_cache_dir(APP_NAME)),
            log=pick("JSOCDESK_LOG_DIR", platformdirs.user_log_dir(APP_NAME)),
        )

    @property
    def demo_data(self) -> Path:
        """The demo server's data directory (its exports and files persist across runs, so
        a demo session's partial downloads resume against the same copies)."""
        return self.cache / "demo-server"

    def ensure(self) -> AppPaths:
        for p in (self.config, self.data, self.cache, self.log):
            p.mkdir(parents=True, exist_ok=True)
        return self
