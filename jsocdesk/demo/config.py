"""Settings of one demo JSOC server instance."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from jsocdesk.demo.faults import Fault

#: Addresses that ``checkAddress.sh`` reports as registered unless configured otherwise.
DEFAULT_REGISTERED = frozenset(
    {"demo@example.com", "solar@example.com", "good@example.com", "sunpy@sunpy.org"}
)


@dataclass
class DemoConfig:
    """How a :class:`jsocdesk.demo.server.DemoServer` behaves.

    ``data_dir``: where SUMS directories, export directories and generated files live
    (``None`` = a private temporary directory removed on stop).
    ``segment_bytes``: approximate size of the data part of each generated FITS segment
    (tiny by default; benchmarks use hundreds of MB — files are written in chunks).
    ``image_size``: side of the rendered solar images of the image series (HMI, AIA, MDI
    full-disk segments); ``None`` = the side whose pixels fill ``segment_bytes``.
    ``export_delay``: seconds an export stays pending (status 2 for the first half, then 1,
    then 0; longer for records on tape: ``tape_factor``).  ``size_cap_mb``: exports above
    this answer status 3.
    ``expire_after``: seconds after completion when an export answers status 5.
    """

    data_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 0
    registered_emails: frozenset[str] | set[str] = DEFAULT_REGISTERED
    export_delay: float = 1.0
    #: An export with records on tape (every 4th storage unit, see ``records.is_online``)
    #: stays pending ``export_delay * (1 + tape_factor)``: staging from tape is slow.
    tape_factor: float = 3.0
    segment_bytes: int = 8192
    image_size: int | None = None
    size_cap_mb: int = 100_000
    max_pending_per_client: int = 10
    #: Exports selecting more records than this fail with status 4 ("too many records").
    max_export_records: int = 100_000
    pending_timeout: float = 3600.0
    dedup_window: float = 86400.0
    expire_after: float = 7 * 86400.0
    faults: list[Fault] = field(default_factory=list)
    #: Grace period for in-flight requests at shutdown (seconds).
    shutdown_timeout: float = 1.0

    def __post_init__(self) -> None:
        if not is_loopback_host(self.host):
            raise ValueError(
                f"the demo server only listens on loopback addresses (127.0.0.1, ::1), "
                f"not {self.host!r}: it has no authentication and serves local files"
            )


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (``127.0.0.0/8``, ``::1``)."""
    text = host.strip().strip("[]")
    if text.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False
