"""Fixtures of the hostile-input suite: a hostile JSOC in front of a demo server, sessions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import astropy.units as u
import pytest

from jsocdesk.core.query.tree import Notify, Sample, Series, Time
from jsocdesk.demo.server import DemoServer
from tests.core.test_search_cli import write_session
from tests.demo_server import DEMO_EMAIL
from tests.hostile.server import HostileJsoc

#: the seed's 7 records (hmi.v_45s, one hour every 10 minutes) as a session's query
QUERY = (
    Series("hmi.v_45s")
    & Time("2014-01-01T00:00:00", "2014-01-01T01:00:00")
    & Sample(10 * u.min)
    & Notify(DEMO_EMAIL)
)


@pytest.fixture
def hostile(demo_server: DemoServer) -> Iterator[HostileJsoc]:
    server = HostileJsoc(demo_server.base_url).start()
    yield server
    server.stop()


@pytest.fixture
def session(tmp_path: Path) -> Path:
    return write_session(tmp_path / "s.json", QUERY)


@pytest.fixture
def cli(hostile: HostileJsoc, session: Path, tmp_path: Path) -> Callable[..., list[str]]:
    """The argv of a CLI command against the hostile server: ``cli("fetch", "--out", d)``."""

    def argv(command: str, *extra: str) -> list[str]:
        args = [command, str(session), "--server", hostile.base_url]
        if command in ("fetch", "export"):
            args += ["--poll", "0.05", "--method", "url"]
        if command == "fetch":
            args += ["--retry-delay", "0.2"]  # a failed chunk is retried at once, not in 30 s
        return [*args, *extra]

    return argv
