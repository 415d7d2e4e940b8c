"""The window's campaigns: the tree model (under Qt's model tester), the panel on screen
running a real campaign against the demo server with a small cap, and a restart mid-way
(stop, the session's section, restore, finish)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jsocdesk.core.campaign import Block, Campaign, Chunk, ChunkState, plan_campaign
from jsocdesk.core.download import ConcurrencyLimits, DownloadEngine, DownloadQueue, EngineOptions
from jsocdesk.core.errors import SessionCorrupt
from jsocdesk.core.jsoc.client import JsocClient, make_http_client
from jsocdesk.core.jsoc.config import ServerConfig
from jsocdesk.core.jsoc.export import ExportQueue, PollPolicy
from jsocdesk.core.workflow import local_name
from jsocdesk.demo.server import DemoServer
from jsocdesk.gui.campaigns.controller import CampaignsController
from jsocdesk.gui.campaigns.model import COL_FILES, COL_REQUEST, COL_STATE, CampaignsModel
from jsocdesk.gui.campaigns.panel import CampaignsPanel
from jsocdesk.gui.tasks import TaskRunner
from tests.demo_server import DEMO_EMAIL
from tests.gui.conftest import wait_task

V45_6H = "hmi.v_45s[2014.01.01_00:00:00_TAI-2014.01.01_06:00:00_TAI@600.0s]"
SMALL = {"size_cap_mb": 2, "segment_bytes": 200_000, "export_delay": 0.3}
FAST = PollPolicy(first=0.05, factor=1.5, cap=0.2, jitter=0.0)


def test_model_follows_chunks_and_their_states(
    qapp: Any, qtmodeltesters: Callable[[Any], None]
) -> None:
    from jsocdesk.core.events import EventedList

    campaigns: EventedList[Campaign] = EventedList()
    model = CampaignsModel(campaigns)
    qtmodeltesters(model)
    camp = Campaign([Chunk("a[1]", 10), Chunk("a[2]", 5)], email=DEMO_EMAIL, source=["a[*]"])
    campaigns.append(camp)
    assert model.rowCount() == 1
    top = model.index(0, 0)
    assert model.rowCount(top) == 2
    assert "a[*]" in model.data(top)
    assert model.data(model.index(0, COL_STATE)) == "0/2 exports done"
    camp.update(camp.chunks[0], state=ChunkState.DONE)
    assert model.data(model.index(0, COL_STATE, top)) == "done"
    assert model.data(model.index(0, COL_STATE)) == "1/2 exports done"
    camp.replace_chunk(camp.chunks[1], [Chunk("a[2a]", 2), Chunk("a[2b]", 3)])
    assert model.rowCount(top) == 3
    assert model.chunk_at(model.index(2, 0, top)) is camp.chunks[2]
    camp.update(camp.chunks[1], error="bad \x1b[31mred\x1b[0m", attempts=1)
    tip = model.data(model.index(1, 0, top), 3)  # ToolTipRole
    assert "\x1b" not in tip
    campaigns.append(Campaign([Chunk("b[1]", 1)], email=DEMO_EMAIL))
    assert model.rowCount() == 2
    del campaigns[0]
    assert model.rowCount() == 1
    model.detach()


def _plan(qtbot: Any, client: JsocClient) -> Campaign:
    async def body() -> Campaign:
        info = await client.series_info("hmi.v_45s")
        plan = await plan_campaign(client, [Block(V45_6H, info, ("Dopplergram",))])
        return Campaign.from_plan(plan, email=DEMO_EMAIL)

    result: Campaign = wait_task(qtbot, asyncio.ensure_future(body()))
    return result


class Rig:
    """What the window owns: a client, the export queue, the download queue and engine."""

    def __init__(self, qtbot: Any, server: DemoServer, runner: TaskRunner, tmp: Path) -> None:
        self.qtbot = qtbot
        self.server = server
        self.out = tmp / "out"
        self.data = tmp / "data"
        self.controller = CampaignsController(runner, self.data)
        self.controller.retry_delay = 0.05
        cfg = ServerConfig.for_base_url(server.base_url)
        self.http = make_http_client(cfg)
        self.client = JsocClient(cfg, self.http)
        self.exports = ExportQueue(self.client, FAST)
        self.downloads = DownloadQueue(limits=ConcurrencyLimits(total=4, per_host=2))
        self.engine = DownloadEngine(self.downloads, options=EngineOptions(fsync=False))
        self.engine.start()

    def start(self, campaign: Campaign) -> asyncio.Task[Campaign]:
        return self.controller.start(
            self.client, campaign, self.downloads, self.out, exports=self.exports
        )

    def close(self) -> None:
        for coro in (
            self.controller.stop_all(),
            self.exports.aclose(),
            self.engine.aclose(),
            self.http.aclose(),
        ):
            wait_task(self.qtbot, asyncio.ensure_future(coro), timeout=30_000)


def _assert_done(server: DemoServer, campaign: Campaign, out: Path) -> None:
    assert campaign.succeeded, [(c.state, c.error) for c in campaign.chunks]
    n = 0
    for chunk in campaign.chunks:
        assert chunk.job is not None
        for f in chunk.job.files:
            served = server.data_dir / f.url.split("/", 3)[3]
            assert (out / local_name(f)).read_bytes() == served.read_bytes()
            n += 1
    assert n == 37
    doc = json.loads((server.data_dir / "demo-exports.json").read_text())
    exports = sorted(doc["exports"], key=lambda e: e["created"])
    for a, b in itertools.pairwise(exports):  # one pending export at a time
        assert b["created"] >= a["completed"]
    assert len(exports) == len(campaign.chunks)


def test_panel_runs_a_campaign(
    qtbot: Any,
    runner: TaskRunner,
    demo_server_factory: Callable[..., DemoServer],
    tmp_path: Path,
    qtmodeltesters: Callable[[Any], None],
) -> None:
    server = demo_server_factory(**SMALL)
    rig = Rig(qtbot, server, runner, tmp_path)
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    host = QWidget()  # the panel lives in the Exports tab
    qtbot.addWidget(host)
    panel = CampaignsPanel(rig.controller.campaigns, host)
    QVBoxLayout(host).addWidget(panel)
    qtmodeltesters(panel.model)
    host.resize(1000, 400)
    host.show()
    qtbot.waitExposed(host)
    assert not panel.isVisible()  # nothing to show yet
    campaign = _plan(qtbot, rig.client)
    try:
        task = rig.start(campaign)
        qtbot.waitUntil(panel.isVisible, timeout=5_000)
        model = panel.model
        top = model.index(0, 0)
        qtbot.waitUntil(lambda: model.rowCount(top) == 5, timeout=20_000)  # cut to fit 2 MB
        assert panel.view.isExpanded(top)
        done = wait_task(qtbot, task, timeout=60_000)
        assert done is campaign
        assert model.data(model.index(0, COL_STATE)) == "done (5 exports)"
        assert model.data(model.index(0, COL_FILES)) == "37/37"
        for row in range(5):
            assert model.data(model.index(row, COL_STATE, top)) == "done"
            assert model.data(model.index(row, COL_REQUEST, top)).startswith("JSOC_")
        _assert_done(server, campaign, rig.out)
        panel.view.scrollTo(top)
        qtbot.wait(50)
        host.grab().save(str(tmp_path / "campaigns-panel.png"))
    finally:
        rig.close()
        panel.detach()


def test_restart_mid_campaign_continues_from_the_session_section(
    qtbot: Any,
    runner: TaskRunner,
    demo_server_factory: Callable[..., DemoServer],
    tmp_path: Path,
) -> None:
    server = demo_server_factory(**SMALL)
    rig = Rig(qtbot, server, runner, tmp_path)
    campaign = _plan(qtbot, rig.client)
    try:
        rig.start(campaign)
        qtbot.waitUntil(
            lambda: sum(c.state is ChunkState.DONE for c in campaign.chunks) >= 2, timeout=60_000
        )
        section = json.loads(json.dumps(rig.controller.section()))  # as a session file holds it
    finally:
        rig.close()
    assert not campaign.finished
    # a new window: a new controller, the session's section restored, the campaign resumed
    rig2 = Rig(qtbot, server, runner, tmp_path)
    try:
        (restored,) = rig2.controller.restore(section)
        assert restored.id == campaign.id
        assert sum(c.state is ChunkState.DONE for c in restored.chunks) >= 2
        done = wait_task(qtbot, rig2.start(restored), timeout=60_000)
        _assert_done(server, done, rig2.out)
    finally:
        rig2.close()


def test_section_is_versioned_and_checked(qapp: Any, runner: TaskRunner, tmp_path: Path) -> None:
    controller = CampaignsController(runner, tmp_path)
    controller.add(Campaign([Chunk("a[1]", 1)], email=DEMO_EMAIL))
    section = controller.section()
    assert section["format_version"] == 1
    assert len(controller.restore(json.loads(json.dumps(section)))) == 1
    with pytest.raises(SessionCorrupt, match="unknown format"):
        controller.restore({"format_version": 99, "campaigns": []})
    with pytest.raises(SessionCorrupt, match="invalid"):
        controller.restore({"format_version": 1, "campaigns": [{"format_version": 1}]})
    with pytest.raises(SessionCorrupt):
        controller.restore(["not", "an", "object"])
    assert controller.restore(None) == []
