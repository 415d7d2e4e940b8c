"""The in-memory session: the query tree plus the sections later features fill.

A :class:`Session` is a plain value.  ``query`` is the immutable root group of the query
tree (:attr:`QueryTree.root <jsocdesk.core.query.tree.QueryTree.root>`); ``export``,
``jobs`` and ``downloads`` are JSON-safe dicts owned by the export and download features
(their keys are documented in ``docs/session-format.md``); ``extra`` keeps top-level keys
this version does not know, so a save does not drop what a newer minor writer added.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jsocdesk.core.query.tree import And, Group, QueryTree

__all__ = ["Session"]


@dataclass
class Session:
    query: Group = field(default_factory=And)
    export: dict[str, Any] = field(default_factory=dict)
    jobs: dict[str, Any] = field(default_factory=dict)
    downloads: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def tree(self) -> QueryTree:
        """A new editable :class:`QueryTree` holding a copy of :attr:`query`."""
        return QueryTree(self.query)
