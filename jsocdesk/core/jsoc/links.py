"""Linked segments: segments whose data live in another series.

``series_struct`` describes a linked segment as ``"protocol": "link via <LINK>"`` with
``units`` and ``dims`` null (lm-jps/drms ``base/export/apps/jsoc_info.c``,
``list_series_info()``: ``if (!followLinks && seg->info->islink)``), e.g. every segment of
``aia.lev1_euv_12s`` (``image`` → ``aia.lev1``'s ``image_lev1``, 4096×4096 ints).  The files
an export of such a series produces are the target segment's (``jsoc_fetch.c`` sizes and
exports ``tSeg = drms_segment_lookup(rec, seg->info->name)``, the segment in the linked
record), so everything that sizes an export must look through the link.  jsoc_info's ``l``
flag asks for exactly that: with ``l=1`` the linked segments are listed with the target
template segment's type, units, protocol and dims under their own names.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from jsocdesk.core.errors import JsocError
from jsocdesk.core.seriesinfo import SegmentInfo, SeriesInfo

if TYPE_CHECKING:
    from jsocdesk.core.jsoc.client import JsocClient

LINK_PREFIX = "link via "


def is_linked(segment: SegmentInfo) -> bool:
    """True for a segment read through a link (``"protocol": "link via MDATA"``)."""
    return segment.protocol.lower().startswith(LINK_PREFIX)


def link_name(segment: SegmentInfo) -> str | None:
    """The link a linked segment is read through (``lev1`` for ``link via lev1``)."""
    return segment.protocol[len(LINK_PREFIX) :].strip() if is_linked(segment) else None


def has_linked_segments(info: SeriesInfo) -> bool:
    return any(is_linked(s) for s in info.segments)


def merge_followed(info: SeriesInfo, followed: SeriesInfo) -> SeriesInfo:
    """``info`` with each linked segment replaced by its description in ``followed`` (the
    ``l=1`` answer of the same series).  A linked segment that the server could not follow
    (missing from ``followed``) stays as it is."""
    by_name = {s.name.lower(): s for s in followed.segments}
    segments = []
    for seg in info.segments:
        target = by_name.get(seg.name.lower()) if is_linked(seg) else None
        if target is None or is_linked(target):
            segments.append(seg)
        else:
            segments.append(dataclasses.replace(target, name=seg.name))
    extra = dict(info.extra)
    extra["linked_segments"] = {
        s.name: link_name(s) for s in info.segments if is_linked(s) and link_name(s)
    }
    return dataclasses.replace(info, segments=tuple(segments), extra=extra)


async def follow_segment_links(client: JsocClient, info: SeriesInfo) -> SeriesInfo:
    """``info`` with its linked segments sized by what they link to.

    One extra ``series_struct`` with ``l=1`` (cached by the client) for series that have
    linked segments; ``info`` itself when there is none, or when the server cannot answer
    (then the linked segments stay unsized and estimates treat them as unknown).
    """
    if not has_linked_segments(info):
        return info
    try:
        followed = await client.series_info(info.name, follow_links=True)
    except JsocError:
        return info
    return merge_followed(info, followed)
