"""Network policy shared by the JSOC client and the download engine (Qt-free).

* **Redirects** are followed only to the same host (any port change or scheme upgrade to
  https is fine, a downgrade from https to http is not), or to a host on the caller's
  allow-list; at most :data:`MAX_REDIRECTS`.  A server cannot send the app (and the
  credentials or the address of the user) to a third host, and a download cannot be
  redirected to a local service.
* **Credentials** in a server URL (``https://user:secret@host/``) are sent, but never shown:
  :func:`redact_url` is applied to every URL that goes into a message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from urllib.parse import urlsplit, urlunsplit

import httpx

MAX_REDIRECTS = 5


class RedirectRefused(httpx.TransportError):
    """A redirect to another host (or from https to http) was not followed."""


def redact_url(url: str | httpx.URL) -> str:
    """``url`` without its user name and password (``https://***@host/``) and query."""
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return "(unparsable URL)"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def without_credentials(url: str) -> str:
    """``url`` without its user name and password (to store it: sessions are shared)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def same_site(a: httpx.URL, b: httpx.URL, allowed_hosts: Collection[str] = ()) -> bool:
    """May a request to ``a`` be redirected to ``b``?"""
    if b.scheme not in ("http", "https"):
        return False
    if a.scheme == "https" and b.scheme != "https":
        return False
    host = (b.host or "").lower()
    return host == (a.host or "").lower() or host in {h.lower() for h in allowed_hosts}


def redirect_guard(
    allowed_hosts: Collection[str] = (),
) -> Callable[[httpx.Response], Awaitable[None]]:
    """An httpx ``response`` event hook enforcing the redirect policy (see module doc)."""

    async def check(response: httpx.Response) -> None:
        if not response.has_redirect_location:
            return
        request = response.request
        target = request.url.join(response.headers["location"])
        if not same_site(request.url, target, allowed_hosts):
            raise RedirectRefused(
                f"{redact_url(request.url)}: the server redirected to "
                f"{redact_url(target)}; not followed (only the same host is)",
                request=request,
            )

    return check
