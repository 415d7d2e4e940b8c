"""Pytest plugin: the demo JSOC server as fixtures (loaded from ``tests/conftest.py``).

* ``demo_server``: a fresh :class:`~jsocdesk.demo.server.DemoServer` per test, on its own
  loop in a background thread, data dir under ``tmp_path``, short export delay, tiny files.
  Use ``demo_server.base_url``, ``.cgi_url``, ``.data_dir``, ``.faults`` (add/clear
  :class:`~jsocdesk.demo.faults.Fault` rules at run time), ``.register_email(addr)``.
* ``demo_server_factory(**config_fields)``: more servers with other settings; all stopped
  at teardown.
* ``drms_jsoc``: the ``drms.ServerConfig`` pointing at ``demo_server``, installed as
  ``drms.config._server_configs["jsoc"]`` for the test (so ``drms.Client()`` and sunpy
  talk to the demo server), see ``jsoc-protocol.md`` §1.1.
* :func:`drms_server_config(base_url)`: the same config object for any base URL.
* :func:`demo_process(*args, **popen)`: ``jsocdesk serve-demo --port 0 ARGS`` as a child
  process, with the base URL it printed.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jsocdesk.demo.config import DemoConfig
from jsocdesk.demo.server import DemoServer

#: An address the demo server treats as registered by default.
DEMO_EMAIL = "demo@example.com"


def drms_server_config(base_url: str) -> Any:
    """A ``drms.ServerConfig`` named JSOC whose URLs all point at ``base_url``."""
    import drms

    return drms.ServerConfig(
        name="JSOC",
        cgi_baseurl=base_url + "cgi-bin/ajax/",
        cgi_show_series="show_series",
        cgi_jsoc_info="jsoc_info",
        cgi_jsoc_fetch="jsoc_fetch",
        cgi_check_address="checkAddress.sh",
        cgi_show_series_wrapper="showextseries",
        show_series_wrapper_dbhost="hmidb2",
        http_download_baseurl=base_url,
    )


@contextlib.contextmanager
def demo_process(*args: str, **popen: Any) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run ``jsocdesk serve-demo --port 0 ARGS`` (stdout piped, text mode, ``popen`` passed
    on); yields the process and the base URL it printed.  At exit a process still running is
    terminated and waited for, and its pipes are closed."""
    command = [sys.executable, "-m", "jsocdesk", "serve-demo", "--port", "0", *args]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, **popen)
    try:
        assert proc.stdout is not None
        yield proc, proc.stdout.readline().strip()
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=20)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def demo_server_factory(tmp_path: Path) -> Iterator[Callable[..., DemoServer]]:
    servers: list[DemoServer] = []

    def make(**fields: Any) -> DemoServer:
        fields.setdefault("data_dir", tmp_path / f"demo-data-{len(servers)}")
        fields.setdefault("export_delay", 0.2)
        server = DemoServer(DemoConfig(**fields))
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def demo_server(demo_server_factory: Callable[..., DemoServer]) -> DemoServer:
    return demo_server_factory()


@pytest.fixture
def drms_jsoc(demo_server: DemoServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    import drms.config

    cfg = drms_server_config(demo_server.base_url)
    monkeypatch.setitem(drms.config._server_configs, "jsoc", cfg)
    return cfg
