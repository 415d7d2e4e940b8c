"""How hard jsocdesk may lean on a server: polite toward JSOC, fast toward your own.

JSOC is a shared archive run by a small team.  It has blocked the addresses of heavy users
and asked sunpy to use a single connection ("Private communication from JSOC say we should
not use more than one connection", ``sunpy/net/jsoc/jsoc.py``, which passes ``max_conn=1``
to parfive).  So toward ``jsoc.stanford.edu`` (and its ``jsoc1``/``jsoc2`` mirrors) jsocdesk
by default:

* opens **one** connection for the CGI calls and **one** download per host at a time;
* polls an export no faster than the server's ``wait`` hint (``jsoc_fetch.c`` sends
  ``wait = EstTime - now`` for queued/processing exports) and never faster than every
  :attr:`Politeness.min_poll` seconds;
* answers HTTP 429 and 503 with a bounded, growing backoff, honouring ``Retry-After``
  (seconds or an HTTP date) up to :attr:`Politeness.retry_after_cap`; a longer demand fails
  the call with the server's wait in the message instead of hanging;
* names itself: ``User-Agent: jsocdesk/<version>`` (``config.USER_AGENT``).

Loopback servers (the demo) and custom servers (your own NetDRMS site, a local mirror) are
yours to load: several connections and no minimum poll interval.  :data:`EXPLANATION` is the
text the settings show next to the server choice.
"""

from __future__ import annotations

import email.utils
import ipaddress
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

JSOC_HOSTS = frozenset({"jsoc.stanford.edu", "jsoc1.stanford.edu", "jsoc2.stanford.edu"})

EXPLANATION = (
    "Toward JSOC (jsoc.stanford.edu) jsocdesk is polite, as JSOC asks of its users: one "
    "connection for queries and one download at a time, export polls no faster than the "
    "server's wait hint, and a bounded backoff when the server says it is busy (HTTP 429/503, "
    "Retry-After). The demo server and other servers (your own DRMS site or mirror) may be "
    "used at full speed: several connections and downloads in parallel."
)


@dataclass(frozen=True)
class Politeness:
    """Limits for one server (see the module docstring)."""

    name: str
    #: connections for the CGI calls (jsoc_info, jsoc_fetch, show_series, checkAddress)
    api_connections: int
    #: simultaneous downloads from one host
    downloads_per_host: int
    #: the longest ``Retry-After`` one API call waits for (longer: the call fails at once)
    retry_after_cap: float
    #: HTTP statuses that mean "busy, come back later" (retried with backoff)
    busy_statuses: frozenset[int] = frozenset({429, 503})
    #: shortest interval between two ``exp_status`` polls of one export
    min_poll: float = 0.0


POLITE = Politeness(
    name="JSOC (polite)",
    api_connections=1,
    downloads_per_host=1,
    retry_after_cap=120.0,
    min_poll=2.0,
)
FAST = Politeness(
    name="own server (fast)",
    api_connections=8,
    downloads_per_host=4,
    retry_after_cap=30.0,
    min_poll=0.0,
)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().rstrip(".")


def is_jsoc_host(host: str) -> bool:
    """True for JSOC's own web servers (``jsoc.stanford.edu`` and its mirrors)."""
    return host.lower().rstrip(".") in JSOC_HOSTS


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def politeness_for_url(url: str) -> Politeness:
    """:data:`POLITE` for JSOC's hosts, :data:`FAST` for loopback and custom servers."""
    return POLITE if is_jsoc_host(host_of(url)) else FAST


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date; ``None`` if absent
    or unreadable.  Never negative."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)
