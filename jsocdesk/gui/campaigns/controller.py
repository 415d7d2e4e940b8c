"""CampaignsController: the window's campaigns — run them, save them, bring them back.

Thin over :mod:`jsocdesk.core.campaign.workflow`: a campaign runs as one task of the app's
:class:`~jsocdesk.gui.tasks.TaskRunner` with the window's export queue (so JSOC's one
pending export per e-mail holds across the window's exports and its campaigns) and its
download queue.  Every state change is also written to the data dir
(``campaigns/window-<id>.json``), so a crash loses nothing; the session carries the
campaigns in its ``campaigns`` section (:meth:`section` / :meth:`restore`, versioned), and
on restore the newer of the session's copy and the data dir's is used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from jsocdesk.core.campaign.runner import store_saver
from jsocdesk.core.campaign.state import (
    Campaign,
    CampaignStateError,
    CampaignStore,
    campaigns_section,
    parse_campaigns_section,
)
from jsocdesk.core.campaign.workflow import run_campaign
from jsocdesk.core.download.queue import DownloadQueue
from jsocdesk.core.events import EventedList
from jsocdesk.core.jsoc.client import JsocClient
from jsocdesk.core.jsoc.export import ExportQueue
from jsocdesk.gui.tasks import TaskRunner


class CampaignsController(QObject):
    #: a campaign changed (its state is worth saving): the campaign
    changed = Signal(object)
    #: a campaign's run ended (the campaign)
    finished = Signal(object)

    def __init__(self, tasks: TaskRunner, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.data_dir = Path(data_dir)
        self.campaigns: EventedList[Campaign] = EventedList()
        self.retry_delay = 30.0
        self._slots: dict[str, Callable[[object], None]] = {}

    def store_of(self, campaign: Campaign) -> CampaignStore:
        return CampaignStore.in_data_dir(self.data_dir, f"window-{campaign.id}")

    def add(self, campaign: Campaign) -> Campaign:
        """List ``campaign`` (not running yet)."""
        if all(c.id != campaign.id for c in self.campaigns):
            self.campaigns.append(campaign)

            def on_change(_chunk: object, c: Campaign = campaign) -> None:
                self.changed.emit(c)

            campaign.changed.connect(on_change)
            self._slots[campaign.id] = on_change
        return campaign

    def remove(self, campaign: Campaign) -> None:
        self.tasks.cancel(self._task_name(campaign))
        slot = self._slots.pop(campaign.id, None)
        if slot is not None:
            campaign.changed.disconnect(slot)
        for i, c in enumerate(self.campaigns):
            if c is campaign:
                del self.campaigns[i]
                break

    def running(self, campaign: Campaign) -> bool:
        task = self.tasks.get(self._task_name(campaign))
        return task is not None and not task.done()

    @staticmethod
    def _task_name(campaign: Campaign) -> str:
        return f"campaign-{campaign.id}"

    def start(
        self,
        client: JsocClient,
        campaign: Campaign,
        downloads: DownloadQueue,
        folder: Path,
        *,
        exports: ExportQueue | None = None,
        after_add: Callable[[], Awaitable[None]] | None = None,
    ) -> asyncio.Task[Campaign]:
        """Run ``campaign`` (listed first if it is not) into ``folder``."""
        self.add(campaign)
        if not campaign.folder:
            campaign.folder = str(folder)
        save = store_saver(self.store_of(campaign))
        return self.tasks.run(
            run_campaign(
                client,
                campaign,
                downloads,
                folder,
                save=save,
                exports=exports,
                retry_delay=self.retry_delay,
                after_add=after_add,
            ),
            name=self._task_name(campaign),
            context="Campaign",
            on_success=self.finished.emit,
        )

    async def stop_all(self) -> None:
        """Stop every running campaign (their state is saved as they stop)."""
        tasks = [t for c in self.campaigns if (t := self.tasks.get(self._task_name(c)))]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- the session's section ---------------------------------------------------------------
    def section(self) -> dict[str, Any]:
        """The session's ``campaigns`` section (the core's format)."""
        return campaigns_section(self.campaigns)

    def restore(self, section: Any) -> list[Campaign]:
        """The campaigns of a session's section (replacing the listed ones); each is the
        newer of the session's copy and the one in the data dir.  Raises
        :class:`SessionCorrupt` for a malformed or newer section."""
        campaigns = parse_campaigns_section(section)
        for i, c in enumerate(campaigns):
            try:
                saved = self.store_of(c).load()
            except CampaignStateError:
                saved = None
            if saved is not None and saved.id == c.id and saved.updated >= c.updated:
                campaigns[i] = saved
        for c in list(self.campaigns):
            self.remove(c)
        for c in campaigns:
            self.add(c)
        return campaigns
