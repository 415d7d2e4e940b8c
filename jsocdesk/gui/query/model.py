"""QueryTreeModel: a QAbstractItemModel over exactly one core :class:`QueryTree`.

The model only *translates*: the tree's before/after events become ``beginInsertRows`` /
``endInsertRows`` etc.; every edit the user makes goes through the QUndoStack as a command
on the tree (never around it).  ``internalId`` of an index is the node id.

Layout: the root group is the single top-level row (so it can be switched between AND and
OR, and nodes can be dropped onto it).  Column 0 shows the node kind (with an error icon
when validation flagged it), column 1 its value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QObject,
    Qt,
    Signal,
)
from PySide6.QtGui import QIcon, QUndoStack
from PySide6.QtWidgets import QApplication, QStyle

from jsocdesk.core.errors import QueryError
from jsocdesk.core.query.tree import GROUP_KINDS, Group, GroupKind, Node, QueryTree
from jsocdesk.gui.query.commands import (
    InsertNodeCommand,
    MoveNodeCommand,
    RemoveNodeCommand,
    ReplaceNodeCommand,
    SetGroupKindCommand,
    SetRootCommand,
)
from jsocdesk.gui.query.values import node_from_text, value_text
from jsocdesk.gui.roles import Index, Role, column_title

MIME_NODE_IDS = "application/x-jsocdesk-query-node-ids"

KIND_LABELS = {
    "and": "AND",
    "or": "OR",
    "series": "Series",
    "time": "Time",
    "wavelength": "Wavelength",
    "primekey": "Prime key",
    "segment": "Segment",
    "keyword": "Keyword",
    "sample": "Sample",
    "notify": "Notify",
    "cutout": "Cutout",
}

HEADERS = ("Node", "Value")


class QueryTreeModel(QAbstractItemModel):
    #: an edit could not be applied (message), e.g. a malformed value
    edit_rejected = Signal(str)

    def __init__(
        self, tree: QueryTree, undo_stack: QUndoStack, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.tree = tree
        self.undo_stack = undo_stack
        self._errors: dict[int, str] = {}
        #: edits refused on a node (message), shown on it until the next accepted edit
        self._rejected: dict[int, str] = {}
        self._error_icon: QIcon | None = None
        ev = tree.events
        ev.inserting.connect(self._on_tree_inserting)
        ev.inserted.connect(self._on_tree_inserted)
        ev.removing.connect(self._on_tree_removing)
        ev.removed.connect(self._on_tree_removed)
        ev.moving.connect(self._on_tree_moving)
        ev.moved.connect(self._on_tree_moved)
        ev.changed.connect(self._on_tree_changed)
        ev.resetting.connect(self._on_tree_resetting)
        ev.reset.connect(self._on_tree_reset)

    # --- index plumbing ---------------------------------------------------------------------

    def index_of(self, node_id: int, column: int = 0) -> QModelIndex:
        if node_id not in self.tree:
            return QModelIndex()
        parent = self.tree.parent_id(node_id)
        row = 0 if parent is None else self.tree.row(node_id)
        return self.createIndex(row, column, node_id)

    def node_id(self, index: Index) -> int | None:
        if not index.isValid():
            return None
        nid = int(index.internalId())
        return nid if nid in self.tree else None

    def node(self, index: Index) -> Node | None:
        nid = self.node_id(index)
        return None if nid is None else self.tree.node(nid)

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if not 0 <= column < len(HEADERS) or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(0, column, self.tree.root_id) if row == 0 else QModelIndex()
        pid = self.node_id(parent)
        if pid is None or parent.column() != 0 or not self.tree.is_group(pid):
            return QModelIndex()
        children = self.tree.child_ids(pid)
        if row >= len(children):
            return QModelIndex()
        return self.createIndex(row, column, children[row])

    # PySide6 declares parent() and parent(index) as one overloaded method (QObject.parent and
    # QAbstractItemModel.parent): overriding the index form alone is reported as an override.
    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        nid = self.node_id(index)
        if nid is None:
            return QModelIndex()
        pid = self.tree.parent_id(nid)
        return QModelIndex() if pid is None else self.index_of(pid)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return 1
        if parent.column() != 0:
            return 0
        pid = self.node_id(parent)
        if pid is None or not self.tree.is_group(pid):
            return 0
        return self.tree.child_count(pid)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(HEADERS)

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return self.rowCount(parent) > 0

    # --- data -------------------------------------------------------------------------------

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        nid = self.node_id(index)
        if nid is None:
            return None
        node = self.tree.node(nid)
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                label = KIND_LABELS.get(node.kind, node.kind)
                if nid == self.tree.root_id:
                    return f"{label} (query)"
                return label
            return "" if isinstance(node, Group) else value_text(node)
        if role == Qt.ItemDataRole.EditRole:
            if col == 1:
                return node.kind.upper() if isinstance(node, Group) else value_text(node)
            return None
        error = self.error_of(nid)
        if role == Qt.ItemDataRole.ToolTipRole:
            return error if error else node.describe()
        if role == Qt.ItemDataRole.DecorationRole and col == 0 and error:
            return self._icon()
        if role == Qt.ItemDataRole.AccessibleDescriptionRole and error:
            return error
        if role == Role.OBJECT:
            return node
        if role == Role.ERROR:
            return error
        if role == Role.KIND:
            return node.kind
        return None

    def _icon(self) -> QIcon:
        if self._error_icon is None:
            style = QApplication.style()
            self._error_icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        return self._error_icon

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return column_title(HEADERS, section, orientation, role)

    def flags(self, index: Index) -> Qt.ItemFlag:
        nid = self.node_id(index)
        if nid is None:
            return Qt.ItemFlag.ItemIsDropEnabled
        f = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 1:
            f |= Qt.ItemFlag.ItemIsEditable
        if nid != self.tree.root_id:
            f |= Qt.ItemFlag.ItemIsDragEnabled
        if self.tree.is_group(nid):
            f |= Qt.ItemFlag.ItemIsDropEnabled
        return f

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        nid = self.node_id(index)
        if nid is None or index.column() != 1:
            return False
        try:
            if self.tree.is_group(nid):
                text = str(value.kind if isinstance(value, Group) else value).strip().lower()
                if text not in ("and", "or"):
                    raise QueryError(f"A group is AND or OR, not {value!r}")
                kind: GroupKind = "and" if text == "and" else "or"
                if kind == self.tree.kind(nid):
                    return True
                self.undo_stack.push(SetGroupKindCommand(self.tree, nid, kind))
                return True
            old = self.tree.node(nid)
            if role == Role.OBJECT and isinstance(value, Node):
                new = value
            elif role == Qt.ItemDataRole.EditRole:
                new = node_from_text(old, str(value))
            else:
                return False
        except QueryError as exc:
            self.reject_edit(index, exc.message)
            return False
        if new.kind != old.kind:
            self.reject_edit(index, f"Cannot turn a {old.kind} node into a {new.kind} node")
            return False
        if new == old and type(new) is type(old):
            return True
        self.undo_stack.push(ReplaceNodeCommand(self.tree, nid, new))
        return True

    # --- validation marks -------------------------------------------------------------------

    def set_errors(self, errors: Iterable[QueryError]) -> None:
        """Mark the nodes the errors point at (errors without a node mark the root)."""
        new: dict[int, str] = {}
        for err in errors:
            node = err.node
            nid = getattr(node, "id", None)
            if not isinstance(nid, int) or nid not in self.tree:
                nid = self.tree.root_id
            new[nid] = f"{new[nid]}\n{err.message}" if nid in new else err.message
        changed = set(self._errors) | set(new)
        self._errors = new
        for nid in changed:
            self._emit_marks(nid)

    @property
    def errors(self) -> Mapping[int, str]:
        return dict(self._errors)

    def error_of(self, node_id: int) -> str:
        """The problems shown on a node: a refused edit first, then validation."""
        parts = [m for m in (self._rejected.get(node_id), self._errors.get(node_id)) if m]
        return "\n".join(parts)

    @property
    def rejected(self) -> Mapping[int, str]:
        return dict(self._rejected)

    def reject_edit(self, index: Index, message: str) -> None:
        """An edit of ``index``'s node was refused: mark the node and say why."""
        nid = self.node_id(index)
        if nid is not None:
            self._rejected[nid] = message
            self._emit_marks(nid)
        self.edit_rejected.emit(message)

    def clear_rejected(self) -> None:
        old = list(self._rejected)
        self._rejected.clear()
        for nid in old:
            self._emit_marks(nid)

    def _emit_marks(self, nid: int) -> None:
        if nid in self.tree:
            idx = self.index_of(nid)
            self.dataChanged.emit(
                idx,
                idx,
                [Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.ToolTipRole, Role.ERROR],
            )

    # --- undoable edits (what toolbar, menus, drag and drop use) ----------------------------

    def insert_node(self, parent_id: int, row: int, node: Node) -> int:
        cmd = InsertNodeCommand(self.tree, parent_id, row, node)
        self.undo_stack.push(cmd)
        assert cmd.node_id is not None
        return cmd.node_id

    def append_node(self, parent_id: int, node: Node) -> int:
        return self.insert_node(parent_id, self.tree.child_count(parent_id), node)

    def remove_nodes(self, node_ids: Sequence[int]) -> None:
        ids = self._outermost(node_ids)
        if not ids:
            return
        self.undo_stack.beginMacro("Delete" if len(ids) > 1 else f"Delete {self.tree.kind(ids[0])}")
        for nid in ids:
            self.undo_stack.push(RemoveNodeCommand(self.tree, nid))
        self.undo_stack.endMacro()

    def move_node(self, node_id: int, dest_parent_id: int, dest_row: int) -> None:
        self.undo_stack.push(MoveNodeCommand(self.tree, node_id, dest_parent_id, dest_row))

    def wrap_nodes(self, node_ids: Sequence[int], kind: str) -> int | None:
        """Put the nodes (siblings or not) into a new AND/OR group at the first one's place."""
        ids = self._outermost(node_ids)
        if not ids:
            return None
        first = ids[0]
        parent = self.tree.parent_id(first)
        assert parent is not None
        cls = GROUP_KINDS[kind]
        self.undo_stack.beginMacro(f"Group as {kind.upper()}")
        gid = self.insert_node(parent, self.tree.row(first), cls())
        for i, nid in enumerate(ids):
            self.move_node(nid, gid, i)
        self.undo_stack.endMacro()
        return gid

    def set_root(self, root: Node | None, text: str = "Replace query") -> None:
        self.undo_stack.push(SetRootCommand(self.tree, root, text))

    def _outermost(self, node_ids: Sequence[int]) -> list[int]:
        """Drop the root, unknown ids and ids inside other selected groups; keep tree order."""
        chosen = {n for n in node_ids if n in self.tree and n != self.tree.root_id}
        out = []
        for nid in self.tree.ids():
            if nid not in chosen:
                continue
            p = self.tree.parent_id(nid)
            inside = False
            while p is not None:
                if p in chosen:
                    inside = True
                    break
                p = self.tree.parent_id(p)
            if not inside:
                out.append(nid)
        return out

    # --- drag and drop ----------------------------------------------------------------------

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [MIME_NODE_IDS]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        ids: list[int] = []
        for idx in indexes:
            nid = self.node_id(idx)
            if nid is not None and nid not in ids:
                ids.append(nid)
        mime = QMimeData()
        mime.setData(MIME_NODE_IDS, QByteArray(json.dumps(self._outermost(ids)).encode()))
        return mime

    def _dropped_ids(self, data: QMimeData) -> list[int]:
        if not data.hasFormat(MIME_NODE_IDS):
            return []
        try:
            ids = json.loads(bytes(data.data(MIME_NODE_IDS).data()).decode())
        except ValueError:
            return []
        return [i for i in ids if isinstance(i, int) and i in self.tree]

    def _drop_target(self, row: int, parent: Index) -> tuple[int, int] | None:
        pid = self.node_id(parent)
        if pid is None:
            return None
        if not self.tree.is_group(pid):
            # dropped *on* a leaf: insert after it, in its group
            gid = self.tree.parent_id(pid)
            if gid is None:
                return None
            return gid, self.tree.row(pid) + 1
        return pid, row if row >= 0 else self.tree.child_count(pid)

    def canDropMimeData(
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Index
    ) -> bool:
        if action != Qt.DropAction.MoveAction:
            return False
        ids = self._dropped_ids(data)
        target = self._drop_target(row, parent)
        if not ids or target is None:
            return False
        gid = target[0]
        for nid in ids:  # a group cannot go into itself
            p: int | None = gid
            while p is not None:
                if p == nid:
                    return False
                p = self.tree.parent_id(p)
        return True

    def dropMimeData(
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Index
    ) -> bool:
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        ids = self._dropped_ids(data)
        target = self._drop_target(row, parent)
        assert target is not None
        gid, dest = target
        self.undo_stack.beginMacro("Move" if len(ids) > 1 else f"Move {self.tree.kind(ids[0])}")
        for i, nid in enumerate(ids):
            self.move_node(nid, gid, dest)
            if i + 1 < len(ids):
                # the next node lands right after this one (dest counts rows before a move)
                nxt = ids[i + 1]
                after = self.tree.row(nid) + 1
                same = self.tree.parent_id(nxt) == gid and self.tree.row(nxt) < after
                dest = after + 1 if same else after
        self.undo_stack.endMacro()
        # WORKAROUND(Qt): returning True with MoveAction makes QAbstractItemView::startDrag
        # remove the dragged rows from the source model afterwards (clearOrRemove); the move
        # is already complete and undoable, so report "not accepted" to stop that second
        # removal.
        return False

    # --- tree events -> Qt ------------------------------------------------------------------

    def _on_tree_inserting(self, parent_id: int, row: int, count: int) -> None:
        self.beginInsertRows(self.index_of(parent_id), row, row + count - 1)

    def _on_tree_inserted(self, _parent_id: int, _row: int, _count: int) -> None:
        self.endInsertRows()

    def _on_tree_removing(self, parent_id: int, row: int, count: int) -> None:
        self.beginRemoveRows(self.index_of(parent_id), row, row + count - 1)

    def _on_tree_removed(self, _parent_id: int, _row: int, _count: int) -> None:
        self.endRemoveRows()
        self._errors = {k: v for k, v in self._errors.items() if k in self.tree}
        self._rejected = {k: v for k, v in self._rejected.items() if k in self.tree}

    def _on_tree_moving(
        self, src_parent: int, src_row: int, dest_parent: int, dest_row: int
    ) -> None:
        ok = self.beginMoveRows(
            self.index_of(src_parent), src_row, src_row, self.index_of(dest_parent), dest_row
        )
        if not ok:  # the core refused no-op moves already; this would be a logic error
            raise RuntimeError(
                f"Qt refused move {src_parent}:{src_row} -> {dest_parent}:{dest_row}"
            )

    def _on_tree_moved(self, *_args: int) -> None:
        self.endMoveRows()

    def _on_tree_changed(self, node_id: int) -> None:
        self.dataChanged.emit(self.index_of(node_id, 0), self.index_of(node_id, 1))

    def _on_tree_resetting(self) -> None:
        self.beginResetModel()

    def _on_tree_reset(self) -> None:
        self._errors = {}
        self._rejected = {}
        self.endResetModel()
