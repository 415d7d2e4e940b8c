"""Disjunctive normal form of a query tree: a list of branches, each an AND of leaves.

``Or(a, b)`` contributes the branches of ``a`` then those of ``b``; ``And(x, y)`` the
cartesian product of their branches (leaves concatenated in tree order).  The branch order
is therefore the order in which the alternatives appear in the tree, which is also the
order sunpy issues its blocks in.  Leaves keep their ids (a leaf shared by two branches
appears in both), so an error found in a branch still points at the node the user sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from jsocdesk.core.errors import QueryError
from jsocdesk.core.query.tree import Group, Node, Or

__all__ = ["MAX_BRANCHES", "Branch", "to_dnf"]

#: Refuse queries that expand to more record sets than this (a typo guard, not a JSOC limit).
MAX_BRANCHES = 1024


@dataclass(frozen=True)
class Branch:
    """One alternative of the query: its leaves in order, and the group it came from.

    ``anchor`` is the node errors about the branch as a whole point at when the branch has
    no leaf to blame (an empty group).
    """

    nodes: tuple[Node, ...]
    anchor: Node

    @property
    def blame(self) -> Node:
        """The node to mark for an error about the whole branch (its first leaf)."""
        return self.nodes[0] if self.nodes else self.anchor


def to_dnf(node: Node, *, limit: int = MAX_BRANCHES) -> list[Branch]:
    """Expand ``node`` into branches; raises :class:`QueryError` beyond ``limit`` branches."""
    return [Branch(nodes, anchor) for nodes, anchor in _expand(node, limit)]


def _expand(node: Node, limit: int) -> list[tuple[tuple[Node, ...], Node]]:
    if isinstance(node, Or):
        out: list[tuple[tuple[Node, ...], Node]] = []
        for child in node.children:
            out.extend(_expand(child, limit))
            if len(out) > limit:
                raise QueryError(f"The query expands to more than {limit} record sets", node)
        return out
    if isinstance(node, Group):  # And
        acc: list[tuple[Node, ...]] = [()]
        for child in node.children:
            alternatives = [nodes for nodes, _ in _expand(child, limit)]
            if len(acc) * len(alternatives) > limit:
                raise QueryError(f"The query expands to more than {limit} record sets", node)
            acc = [left + right for left in acc for right in alternatives]
        return [(nodes, node) for nodes in acc]
    return [((node,), node)]
