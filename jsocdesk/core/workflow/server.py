"""Which server a session talks to: JSOC, the demo server, or a custom one — by identity.

The demo server listens on a new ephemeral port at every start, so a session made against
it records *that it used the demo* (:attr:`ServerKind.DEMO`, no URL).  Reopened while the
app runs the demo, its export and download URLs are moved to the running demo server
(:func:`rebase_url`): the demo's data directory persists, so the same files are served and
partial downloads resume.  A session made against JSOC or a custom server records which one
(kind and base URL); :meth:`ServerIdentity.differs_from` is what the window tells the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from jsocdesk.core import jsonfields as jf
from jsocdesk.core.jsoc.config import JSOC_BASE_URL, is_loopback_url
from jsocdesk.core.net import redact_url, without_credentials

__all__ = ["ServerIdentity", "ServerKind", "is_loopback_url", "rebase_url"]


class ServerKind(StrEnum):
    JSOC = "jsoc"
    DEMO = "demo"
    CUSTOM = "custom"


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _normal_base(url: str) -> str:
    return url if url.endswith("/") else url + "/"


@dataclass(frozen=True)
class ServerIdentity:
    """A server as a session names it.  ``url`` is the base URL (``None`` for the demo)."""

    kind: ServerKind
    url: str | None = None

    @classmethod
    def demo(cls) -> ServerIdentity:
        return cls(ServerKind.DEMO)

    @classmethod
    def jsoc(cls) -> ServerIdentity:
        return cls(ServerKind.JSOC, JSOC_BASE_URL)

    @classmethod
    def for_url(cls, url: str | None) -> ServerIdentity:
        """JSOC for JSOC's host (``None``/``"jsoc"`` too), else a custom server at ``url``."""
        if url is None or url.strip().lower() in ("", "jsoc"):
            return cls.jsoc()
        if _host(url) == "jsoc.stanford.edu":
            return cls(ServerKind.JSOC, _normal_base(url.strip()))
        return cls(ServerKind.CUSTOM, _normal_base(url.strip()))

    @property
    def label(self) -> str:
        """How the window names it: "the demo server", "JSOC (https://…)", "…"."""
        if self.kind is ServerKind.DEMO:
            return "the demo server"
        shown = redact_url(self.url) if self.url else ""  # never a URL's password
        if self.kind is ServerKind.JSOC:
            return f"JSOC ({shown})" if shown else "JSOC"
        return f"the server at {shown}"

    def same_as(self, other: ServerIdentity) -> bool:
        """Same server: both the demo, both JSOC, or the same custom base URL."""
        if self.kind is not other.kind:
            return False
        if self.kind is ServerKind.CUSTOM:
            mine, theirs = (
                without_credentials(u or "").rstrip("/").lower() for u in (self.url, other.url)
            )
            return mine == theirs
        return True

    def differs_from(self, current: ServerIdentity) -> str | None:
        """A plain sentence when a session made against ``self`` is opened while connected
        to ``current``; ``None`` when they are the same server."""
        if self.same_as(current):
            return None
        return (
            f"This session was made against {self.label}, but jsocdesk is connected to "
            f"{current.label}: its exports and downloads may not be found there."
        )

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind.value}
        if self.kind is not ServerKind.DEMO and self.url:
            d["url"] = without_credentials(self.url)  # a session file is shared: no password
        return d

    @classmethod
    def from_dict(cls, data: Any) -> ServerIdentity:
        d = jf.get_object(data, "server")
        try:
            kind = ServerKind(jf.get_str(d, "kind"))
        except ValueError:
            raise jf.FieldError(f"server kind {d.get('kind')!r} is not known") from None
        if kind is ServerKind.DEMO:
            return cls.demo()
        url = jf.get_opt_str(d, "url")
        if kind is ServerKind.JSOC:
            return cls(kind, url or JSOC_BASE_URL)
        if not url or urlsplit(url).scheme not in ("http", "https"):
            raise jf.FieldError("a custom server needs an http(s) 'url'")
        return cls(kind, _normal_base(url))


def rebase_url(url: str, base: str) -> str:
    """``url`` moved to the scheme, host and port of ``base`` (same path and query): how a
    demo session's URLs follow the demo server to its new port."""
    parts, new = urlsplit(url), urlsplit(base)
    return urlunsplit((new.scheme, new.netloc, parts.path, parts.query, parts.fragment))
