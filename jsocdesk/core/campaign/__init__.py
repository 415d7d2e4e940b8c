"""Campaigns: a query too big for one export, planned, split, queued and finished.

* :mod:`.plan`: records and size per chunk, number of exports, expected time; the guard;
* :mod:`.split`: cutting a record set on time boundaries into chunks under the caps;
* :mod:`.state`: the versioned, persisted state of a campaign and its chunks;
* :mod:`.runner`: one export at a time per e-mail, each chunk downloaded once ready,
  failed chunks retried within bounds, resumable from the saved state;
* :mod:`.files`: the downloads of a ready chunk through the download queue.
"""

from jsocdesk.core.campaign.plan import (
    Block,
    CampaignPlan,
    Guard,
    PlannedChunk,
    Throughput,
    plan_campaign,
)
from jsocdesk.core.campaign.runner import (
    CampaignRunner,
    ChunkDownloader,
    ChunkDownloadFailed,
    store_saver,
)
from jsocdesk.core.campaign.split import CannotSplit, Caps, ChunkSpec, split_on_times
from jsocdesk.core.campaign.state import (
    Campaign,
    CampaignStateError,
    CampaignStore,
    CampaignTotals,
    Chunk,
    ChunkState,
)

__all__ = [
    "Block",
    "Campaign",
    "CampaignPlan",
    "CampaignRunner",
    "CampaignStateError",
    "CampaignStore",
    "CampaignTotals",
    "CannotSplit",
    "Caps",
    "Chunk",
    "ChunkDownloadFailed",
    "ChunkDownloader",
    "ChunkSpec",
    "ChunkState",
    "Guard",
    "PlannedChunk",
    "Throughput",
    "plan_campaign",
    "split_on_times",
    "store_saver",
]
