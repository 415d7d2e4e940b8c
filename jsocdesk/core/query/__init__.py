"""The Qt-free query core: tree nodes, compiler, parser and validation.

See :mod:`jsocdesk.core.query.tree` for the node kinds and the evented
:class:`~jsocdesk.core.query.tree.QueryTree`.
"""

from jsocdesk.core.query.tree import (
    And,
    Group,
    Keyword,
    Node,
    Notify,
    Or,
    PrimeKey,
    QueryTree,
    Sample,
    Segment,
    Series,
    Time,
    TreeEvents,
    Wavelength,
    node_from_dict,
    node_to_dict,
)

__all__ = [
    "And",
    "Group",
    "Keyword",
    "Node",
    "Notify",
    "Or",
    "PrimeKey",
    "QueryTree",
    "Sample",
    "Segment",
    "Series",
    "Time",
    "TreeEvents",
    "Wavelength",
    "node_from_dict",
    "node_to_dict",
]
