"""The Qt-free query core: tree nodes, compiler, parser and validation.

* :mod:`~jsocdesk.core.query.tree` - node kinds, ``&``/``|``, the evented ``QueryTree``;
* :mod:`~jsocdesk.core.query.compile` - tree → DNF → sunpy-identical record-set strings;
* :mod:`~jsocdesk.core.query.validate` - sunpy's checks (and a few more) against
  :class:`~jsocdesk.core.seriesinfo.SeriesInfo`, every error pointing at its node;
* :mod:`~jsocdesk.core.query.parse` - record-set strings → trees;
* :mod:`~jsocdesk.core.query.syntax` - the record-set tokenizer/AST shared with the demo
  server.
"""

from jsocdesk.core.query.compile import CompiledRecordSet, compile_query, record_sets
from jsocdesk.core.query.dnf import Branch, to_dnf
from jsocdesk.core.query.parse import parse_query
from jsocdesk.core.query.tree import (
    And,
    Cutout,
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
from jsocdesk.core.query.validate import SeriesLookup, check, validate

__all__ = [
    "And",
    "Branch",
    "CompiledRecordSet",
    "Cutout",
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
    "SeriesLookup",
    "Time",
    "TreeEvents",
    "Wavelength",
    "check",
    "compile_query",
    "node_from_dict",
    "node_to_dict",
    "parse_query",
    "record_sets",
    "to_dnf",
    "validate",
]
