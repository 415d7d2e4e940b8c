"""Undoable edits of a :class:`~jsocdesk.core.query.tree.QueryTree` (one QUndoCommand each).

Node ids survive undo/redo: a removed subtree is re-inserted with the ids it had (the tree
keeps a node's id when it is free), so later commands on the stack still find their nodes.
"""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from jsocdesk.core.query.tree import GroupKind, Node, QueryTree


class InsertNodeCommand(QUndoCommand):
    def __init__(
        self, tree: QueryTree, parent_id: int, row: int, node: Node, text: str = ""
    ) -> None:
        super().__init__(text or f"Add {node.kind}")
        self._tree = tree
        self._parent_id = parent_id
        self._row = row
        self._node = node
        self.node_id: int | None = None

    def redo(self) -> None:
        self.node_id = self._tree.insert(self._parent_id, self._row, self._node)
        # keep the id the tree gave it, so redo after undo re-creates the same id
        self._node = self._tree.node(self.node_id)

    def undo(self) -> None:
        assert self.node_id is not None
        self._tree.remove(self.node_id)


class RemoveNodeCommand(QUndoCommand):
    def __init__(self, tree: QueryTree, node_id: int) -> None:
        super().__init__(f"Delete {tree.kind(node_id)}")
        self._tree = tree
        self._id = node_id
        self._parent_id = 0
        self._row = 0
        self._value: Node | None = None

    def redo(self) -> None:
        parent = self._tree.parent_id(self._id)
        assert parent is not None
        self._parent_id = parent
        self._row = self._tree.row(self._id)
        self._value = self._tree.remove(self._id)

    def undo(self) -> None:
        assert self._value is not None
        self._tree.insert(self._parent_id, self._row, self._value)


class MoveNodeCommand(QUndoCommand):
    """Move one node; ``dest_row`` uses Qt's convention (row before the move)."""

    def __init__(self, tree: QueryTree, node_id: int, dest_parent_id: int, dest_row: int) -> None:
        super().__init__(f"Move {tree.kind(node_id)}")
        self._tree = tree
        self._id = node_id
        self._dest_parent = dest_parent_id
        self._dest_row = dest_row
        self._src_parent = 0
        self._src_row = 0

    def redo(self) -> None:
        parent = self._tree.parent_id(self._id)
        assert parent is not None
        self._src_parent = parent
        self._src_row = self._tree.row(self._id)
        self._tree.move(self._id, self._dest_parent, self._dest_row)

    def undo(self) -> None:
        now_parent = self._tree.parent_id(self._id)
        now_row = self._tree.row(self._id)
        dest = self._src_row
        if now_parent == self._src_parent and self._src_row > now_row:
            dest += 1
        self._tree.move(self._id, self._src_parent, dest)


class ReplaceNodeCommand(QUndoCommand):
    """Change a value node in place (same id)."""

    def __init__(self, tree: QueryTree, node_id: int, node: Node) -> None:
        super().__init__(f"Edit {tree.kind(node_id)}")
        self._tree = tree
        self._id = node_id
        self._old = tree.node(node_id)
        self._new = node

    def redo(self) -> None:
        self._tree.replace(self._id, self._new)

    def undo(self) -> None:
        self._tree.replace(self._id, self._old)


class SetGroupKindCommand(QUndoCommand):
    def __init__(self, tree: QueryTree, group_id: int, kind: GroupKind) -> None:
        super().__init__(f"Make {kind.upper()}")
        self._tree = tree
        self._id = group_id
        self._old: GroupKind = "or" if tree.kind(group_id) == "or" else "and"
        self._new = kind

    def redo(self) -> None:
        self._tree.set_kind(self._id, self._new)

    def undo(self) -> None:
        self._tree.set_kind(self._id, self._old)


class SetRootCommand(QUndoCommand):
    """Replace the whole query (typed/pasted record set, new query)."""

    def __init__(self, tree: QueryTree, root: Node | None, text: str = "Replace query") -> None:
        super().__init__(text)
        self._tree = tree
        self._old = tree.root
        self._new = root

    def redo(self) -> None:
        self._tree.set_root(self._new)
        self._new = self._tree.root

    def undo(self) -> None:
        self._tree.set_root(self._old)
