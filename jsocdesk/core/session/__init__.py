"""Sessions: the query tree plus export/job/download state, as versioned JSON files.

See ``docs/session-format.md`` for the format and :mod:`.store` for the guarantees.
"""

from jsocdesk.core.session.migrations import CURRENT_VERSION
from jsocdesk.core.session.model import Session
from jsocdesk.core.session.store import (
    dumps_session,
    load_session,
    loads_session,
    save_session,
    session_from_dict,
    session_to_dict,
)

__all__ = [
    "CURRENT_VERSION",
    "Session",
    "dumps_session",
    "load_session",
    "loads_session",
    "save_session",
    "session_from_dict",
    "session_to_dict",
]
