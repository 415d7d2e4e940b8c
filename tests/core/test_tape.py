"""Online or on tape: the demo's offline storage units, ``*online*``, the plan's warning."""

from __future__ import annotations

from typing import Any

import numpy as np

from jsocdesk.core.jsoc.client import JsocClient
from jsocdesk.core.jsoc.tape import TapeStatus, online_flags, tape_status
from jsocdesk.demo.server import DemoServer
from tests.core.test_client_transport import with_client

HOUR = "hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"


def test_drms_sees_some_records_offline_deterministically(drms_jsoc: Any) -> None:
    import drms

    client = drms.Client()
    first = client.query(HOUR, key="T_REC,*online*,*sunum*")
    again = client.query(HOUR, key="T_REC,*online*,*sunum*")
    assert len(first) == 81
    assert list(first["*online*"]) == list(again["*online*"])
    offline = first[first["*online*"] == "N"]
    assert 0 < len(offline) < len(first)
    # whole storage units are on tape: a unit's records share the answer
    by_unit = first.groupby("*sunum*")["*online*"].nunique()
    assert (by_unit == 1).all()


def test_recinfo_online_agrees_with_the_pseudo_keyword(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> tuple[Any, Any]:
        return await c.query(HOUR, ["*online*"], recinfo=True), None

    result, _ = with_client(demo_server, body)
    flags = online_flags(result.keywords["*online*"].values)
    assert flags.tolist() == list(result.recinfo.online)


def test_tape_status_counts_and_warns(demo_server: DemoServer) -> None:
    async def body(c: JsocClient) -> tuple[TapeStatus, TapeStatus]:
        return await tape_status(c, HOUR), await tape_status(c, HOUR, limit=60)

    full, sampled = with_client(demo_server, body)
    assert full.total == full.listed == 81
    assert 0 < full.offline < 81
    warning = full.warning()
    assert warning is not None
    assert warning.startswith(f"{full.offline:,} of 81 records are on tape")
    assert sampled.partial
    assert sampled.listed == 60
    assert sampled.offline > 0
    assert (sampled.warning() or "").startswith(f"about {sampled.estimated_offline} of 81")


def test_warning_texts() -> None:
    assert TapeStatus(100, 100, 0).warning() is None
    assert "may refuse" in (TapeStatus(10_000, 10_000, 9_000).warning() or "")
    assert "may refuse" not in (TapeStatus(100, 100, 3).warning() or "")
    assert TapeStatus(1_000_000, 50_000, 5_000).estimated_offline == 100_000
    assert online_flags(np.array([b"Y", b"N", b" y "])).tolist() == [True, False, True]


def test_exports_with_records_on_tape_stay_pending_longer(drms_jsoc: Any, demo_server: Any) -> None:
    import drms

    client = drms.Client()
    listing = client.query(HOUR, key="T_REC,*online*")
    on = listing[listing["*online*"] == "Y"]["T_REC"].iloc[0]
    off = listing[listing["*online*"] == "N"]["T_REC"].iloc[0]
    delays = []
    for t_rec in (on, off):
        request = client.export(
            f"hmi.v_45s[{t_rec}]", method="url", protocol="fits", email="demo@example.com"
        )
        request.wait(sleep=0.1)
        delays.append(demo_server.app.api.exports.exports[request.id].delay)
    cfg = demo_server.config
    assert delays == [cfg.export_delay, cfg.export_delay * (1 + cfg.tape_factor)]
