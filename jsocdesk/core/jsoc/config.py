"""Where a JSOC-speaking server lives (``jsoc-protocol.md`` §1.1).

``ServerConfig.jsoc()`` is the real archive.  drms registers it with ``http://`` URLs; we use
the same host and CGI paths over ``https://`` (JSOC serves both) so that TLS verification,
which is on for every non-loopback server, actually protects the conversation.
``ServerConfig.for_base_url(url)`` describes the demo server or any custom DRMS site that
follows the JSOC layout (``<base>/cgi-bin/ajax/<cgi>`` plus downloads under ``<base>/``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from urllib.parse import urljoin, urlsplit

from jsocdesk import __version__

JSOC_BASE_URL = "https://jsoc.stanford.edu/"
CGI_PATH = "cgi-bin/ajax/"


@dataclass(frozen=True)
class ServerConfig:
    """The URLs of one server; ``None`` for a CGI the server does not offer."""

    name: str
    jsoc_info_url: str
    download_base_url: str
    show_series_wrapper_url: str | None = None
    show_series_url: str | None = None
    jsoc_fetch_url: str | None = None
    check_address_url: str | None = None
    wrapper_dbhost: str | None = "hmidb2"
    encoding: str = "latin1"
    verify_tls: bool = True
    #: hosts besides this server's own that redirects may lead to (see core/net.py)
    allowed_hosts: tuple[str, ...] = ()

    @classmethod
    def jsoc(cls) -> ServerConfig:
        return cls.for_base_url(JSOC_BASE_URL, name="JSOC")

    @classmethod
    def for_base_url(cls, base_url: str, name: str = "") -> ServerConfig:
        """A server laid out like JSOC under ``base_url`` (e.g. ``http://127.0.0.1:8123/``)."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        base = base_url if base_url.endswith("/") else base_url + "/"
        cgi = urljoin(base, CGI_PATH)
        host = parts.hostname or ""
        shown = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            shown += f":{parts.port}"
        return cls(
            name=name or shown,  # never the user name or password of the URL
            jsoc_info_url=urljoin(cgi, "jsoc_info"),
            download_base_url=base,
            show_series_wrapper_url=urljoin(cgi, "showextseries"),
            show_series_url=urljoin(cgi, "show_series"),
            jsoc_fetch_url=urljoin(cgi, "jsoc_fetch"),
            check_address_url=urljoin(cgi, "checkAddress.sh"),
            verify_tls=True,
        )

    @classmethod
    def from_spec(cls, spec: str | None) -> ServerConfig:
        """``None``/``"jsoc"`` → JSOC; anything else must be a base URL."""
        if spec is None or spec.strip().lower() in ("", "jsoc"):
            return cls.jsoc()
        return cls.for_base_url(spec.strip())

    @property
    def is_loopback(self) -> bool:
        return is_loopback_url(self.jsoc_info_url)

    def without_tls_verification(self) -> ServerConfig:
        return replace(self, verify_tls=False)


def is_loopback_url(url: str) -> bool:
    """True if ``url`` names this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


USER_AGENT = f"jsocdesk/{__version__}"
