"""QueryPanelWidget: the query builder tree, the record-set text box and the live count.

Data flow (one direction at a time, never a loop):

* tree edit → ``QueryTree.events.modified`` → debounce timer → one named task
  ``query-refresh`` (a newer edit cancels the older one): fetch the series metadata →
  validate (errors marked on their nodes) → compile (record-set text box updated) →
  ``rs_summary`` count per record set → count + estimated size shown;
* text typed/pasted → debounce (or Enter) → parse; a syntax error is shown at its column and
  the tree stays as it is; a good parse replaces the tree as one undoable command.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import astropy.units as u
from astropy.time import Time as AstropyTime
from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QToolBar,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from jsocdesk.core.errors import JsocdeskError, QueryError, RecordSetSyntaxError
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
    Wavelength,
)
from jsocdesk.core.seriesinfo import SeriesInfo
from jsocdesk.gui.context import AppContext
from jsocdesk.gui.downloads.format import human_bytes
from jsocdesk.gui.query import service
from jsocdesk.gui.query.delegates import Completions, QueryValueDelegate
from jsocdesk.gui.query.model import KIND_LABELS, QueryTreeModel

PARSE_DELAY_MS = 600
ADD_KINDS = (
    "and",
    "or",
    "series",
    "time",
    "wavelength",
    "primekey",
    "segment",
    "keyword",
    "sample",
    "notify",
    "cutout",
)

ERROR_STYLE = "QLineEdit { background: #fde2e1; }"
#: a new Time node, when the query has none to copy: the hour of the sunpy guide's example
#: (hmi.v_45s has 81 records in it), rather than a moving "yesterday" with data still
#: arriving; a second Time node copies its neighbour's span instead
DEFAULT_TIME_SPAN = ("2014-01-01 00:00:00", "2014-01-01 01:00:00")
RECORD_SET_PLACEHOLDER = (
    "Record set, e.g. hmi.v_45s[2014.01.01_00:00:35_TAI-2014.01.01_01:00:35_TAI]"
)
NO_RECORD_SET = "No record set: the query has problems (see the marked nodes)"
#: a problem message longer than this is shortened for the panel (the tooltip has it all)
PROBLEM_CHARS = 220


class QueryTreeView(QTreeView):
    """Tree view with keyboard moves: Alt+Up/Down reorder, Alt+Left/Right out/indent."""

    delete_requested = Signal()
    #: Insert key: show the "add node" menu at the current row
    add_menu_requested = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.state() != QAbstractItemView.State.EditingState:
            if event.key() == Qt.Key.Key_Delete:
                self.delete_requested.emit()
                return
            if event.key() == Qt.Key.Key_Insert:
                self.add_menu_requested.emit()
                return
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
                current = self.currentIndex()
                if current.isValid():  # Enter edits the value, whichever column is current
                    self.edit(current.siblingAtColumn(1))
                    return
        super().keyPressEvent(event)

    def edit(self, index: Any, trigger: Any = None, event: Any = None) -> bool:  # type: ignore[override]
        """F2 / double click on the Node column edit the node's value (column 1)."""
        if trigger is None:
            super().edit(index)
            return True
        if index.isValid() and index.column() == 0:
            index = index.siblingAtColumn(1)
        return bool(super().edit(index, trigger, event))

    def closeEditor(self, editor: QWidget, hint: QAbstractItemDelegate.EndEditHint) -> None:
        # WORKAROUND(Qt): the view takes the focus back only when the editor widget itself
        # had it; a composite editor (Time: two fields) has it on a child, so Qt handed the
        # focus to the next widget in the chain (the series filter) after Enter.
        focus = QApplication.focusWidget()
        had = focus is not None and (editor is focus or editor.isAncestorOf(focus))
        super().closeEditor(editor, hint)
        if had:
            self.setFocus(Qt.FocusReason.OtherFocusReason)


class QueryPanelWidget(QWidget):
    #: the live count finished: (total records, estimated bytes)
    count_updated = Signal(object, object)
    #: the query changed validity: (ok, first error message)
    validity_changed = Signal(bool, str)
    #: the record-set text was parsed into the tree
    text_applied = Signal()
    #: a record-set text could not be parsed: (message, 0-based column)
    text_rejected = Signal(str, int)
    #: the user asked to search (F5 / button)
    search_requested = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.tree = QueryTree()
        self.undo_stack = QUndoStack(self)
        self.model = QueryTreeModel(self.tree, self.undo_stack, self)
        self.check: service.QueryCheck | None = None
        self.last_count: service.CountResult | None = None
        self.series_names: list[str] = []
        self.current_info: SeriesInfo | None = None
        self._infos: dict[str, SeriesInfo] = {}
        self._setting_text = False
        #: the tree the record-set text was last parsed into (its text is the user's own)
        self._parsed_root: Node | None = None
        #: the last context / "add node" menu shown (kept alive while it is open)
        self.popup_menu: QMenu | None = None

        self.view = QueryTreeView(self)
        self.view.setObjectName("query-tree")
        self.view.setModel(self.model)
        self.view.setHeaderHidden(False)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.view.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.view.setDragEnabled(True)
        self.view.setAcceptDrops(True)
        self.view.setDropIndicatorShown(True)
        self.view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.view.setAllColumnsShowFocus(True)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._on_view_context_menu)
        self.view.delete_requested.connect(self.delete_selected)
        self.view.add_menu_requested.connect(self._on_view_add_menu_requested)
        self.delegate = QueryValueDelegate(self.completions, self.view)
        self.view.setItemDelegateForColumn(1, self.delegate)
        self.delegate.editor_invalid.connect(self._on_delegate_editor_invalid)
        self.view.header().setStretchLastSection(True)
        self.view.setColumnWidth(0, 170)
        self.view.expandAll()

        self.add_actions: dict[str, QAction] = {}
        self.toolbar = QToolBar("Query", self)
        self.toolbar.setObjectName("query-toolbar")
        self._build_actions()

        self.recordset_edit = QLineEdit(self)
        self.recordset_edit.setObjectName("recordset-edit")
        self.recordset_edit.setPlaceholderText(RECORD_SET_PLACEHOLDER)
        self.recordset_edit.textEdited.connect(self._on_recordset_edit_text_edited)
        self.recordset_edit.returnPressed.connect(self.apply_text)
        self.parse_label = QLabel(self)
        self.parse_label.setObjectName("parse-label")
        self.parse_label.setWordWrap(True)
        self.parse_label.hide()
        self.count_label = QLabel("No query yet", self)
        self.count_label.setObjectName("count-label")
        self.problem_label = QLabel(self)
        self.problem_label.setObjectName("problem-label")
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #b3261e;")
        self.problem_label.hide()
        self.search_button = QPushButton("Search (F5)", self)
        self.search_button.clicked.connect(self.search_requested)

        rs_row = QHBoxLayout()
        rs_row.addWidget(QLabel("Record set:", self))
        rs_row.addWidget(self.recordset_edit, 1)
        count_row = QHBoxLayout()
        count_row.addWidget(self.count_label, 1)
        count_row.addWidget(self.search_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.problem_label)
        layout.addLayout(rs_row)
        layout.addWidget(self.parse_label)
        layout.addLayout(count_row)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self.refresh_now)
        self._parse_timer = QTimer(self)
        self._parse_timer.setSingleShot(True)
        self._parse_timer.setInterval(PARSE_DELAY_MS)
        self._parse_timer.timeout.connect(self.apply_text)

        self.tree.events.modified.connect(self._on_tree_modified)
        self.model.edit_rejected.connect(self._on_model_edit_rejected)
        self.model.modelReset.connect(self.view.expandAll)
        self.model.rowsInserted.connect(self._on_model_rows_inserted)
        ctx.connected.connect(self._on_ctx_connected)

    # --- actions ----------------------------------------------------------------------------

    def _build_actions(self) -> None:
        tb = self.toolbar
        for kind in ADD_KINDS:
            label = KIND_LABELS[kind]
            act = QAction(label if kind in ("and", "or") else f"+ {label}", self)
            act.setToolTip(f"Add {'an' if kind in ('and', 'or') else 'a'} {label} node")
            act.triggered.connect(lambda _checked=False, k=kind: self.add_node(k))
            self.add_actions[kind] = act
            tb.addAction(act)
            if kind == "or":
                tb.addSeparator()
        tb.addSeparator()
        self.delete_action = QAction("Delete", self)
        self.delete_action.setShortcut(QKeySequence.StandardKey.Delete)
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.delete_action.triggered.connect(self.delete_selected)
        tb.addAction(self.delete_action)
        self.group_and_action = QAction("Group as AND", self)
        self.group_and_action.setShortcut(QKeySequence("Ctrl+G"))
        self.group_and_action.triggered.connect(lambda: self.group_selected("and"))
        self.group_or_action = QAction("Group as OR", self)
        self.group_or_action.setShortcut(QKeySequence("Ctrl+Shift+G"))
        self.group_or_action.triggered.connect(lambda: self.group_selected("or"))
        for act in (self.group_and_action, self.group_or_action):
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(act)
        self.draw_cutout_action = QAction("Draw cutout…", self)
        self.draw_cutout_action.setToolTip(
            "Draw the cutout box on the first record's image (fetched as stored, no export)"
        )
        self.draw_cutout_action.triggered.connect(self.draw_cutout)
        tb.addAction(self.draw_cutout_action)
        moves = (
            ("Move up", "Alt+Up", self.move_selected_up),
            ("Move down", "Alt+Down", self.move_selected_down),
            ("Move out of group", "Alt+Left", self.outdent_selected),
            ("Move into group above", "Alt+Right", self.indent_selected),
        )
        self.move_actions: list[QAction] = []
        for text, keys, slot in moves:
            act = QAction(text, self)
            act.setShortcut(QKeySequence(keys))
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(slot)
            self.addAction(act)
            self.move_actions.append(act)

    def _on_view_context_menu(self, pos: QPoint) -> None:
        self.popup_menu = self.context_menu()
        self.popup_menu.popup(self.view.viewport().mapToGlobal(pos))

    def add_menu(self) -> QMenu:
        menu = QMenu("Add", self)
        for kind in ADD_KINDS:
            menu.addAction(self.add_actions[kind])
        return menu

    def _on_view_add_menu_requested(self) -> None:
        rect = self.view.visualRect(self.view.currentIndex())
        self.popup_menu = self.add_menu()
        self.popup_menu.popup(self.view.viewport().mapToGlobal(rect.bottomLeft()))

    def context_menu(self) -> QMenu:
        menu = QMenu(self)
        menu.addMenu(self.add_menu())
        menu.addAction(self.group_and_action)
        menu.addAction(self.group_or_action)
        for act in self.move_actions:
            menu.addAction(act)
        menu.addSeparator()
        menu.addAction(self.draw_cutout_action)
        menu.addSeparator()
        menu.addAction(self.delete_action)
        return menu

    # --- editing ----------------------------------------------------------------------------

    def completions(self) -> Completions:
        info = self.current_info
        if info is None:
            return Completions(series=self.series_names)
        return Completions(
            series=self.series_names,
            primekeys=list(info.primekeys),
            keywords=info.keyword_names,
            segments=info.segment_names,
        )

    def selected_ids(self) -> list[int]:
        ids: list[int] = []
        for idx in self.view.selectionModel().selectedRows(0):
            nid = self.model.node_id(idx)
            if nid is not None and nid not in ids:
                ids.append(nid)
        current = self.model.node_id(self.view.currentIndex())
        if not ids and current is not None:
            ids.append(current)
        return ids

    def insertion_point(self) -> tuple[int, int]:
        """(group id, row) for a new node: into the selected group, or after the selected
        leaf in its group, or at the end of the root group."""
        nid = self.model.node_id(self.view.currentIndex())
        if nid is None:
            return self.tree.root_id, self.tree.child_count(self.tree.root_id)
        if self.tree.is_group(nid):
            return nid, self.tree.child_count(nid)
        parent = self.tree.parent_id(nid)
        assert parent is not None
        return parent, self.tree.row(nid) + 1

    def default_node(self, kind: str) -> Node:
        info = self.current_info
        if kind == "and":
            return And()
        if kind == "or":
            return Or()
        if kind == "series":
            return Series(info.name if info is not None else "hmi.v_45s")
        if kind == "time":
            neighbour = self._neighbour_time()
            if neighbour is not None:  # a second Time (an OR branch) takes the first's span
                return Time(neighbour.start, neighbour.end)
            return Time(
                AstropyTime(DEFAULT_TIME_SPAN[0], scale="utc"),
                AstropyTime(DEFAULT_TIME_SPAN[1], scale="utc"),
            )
        if kind == "wavelength":
            return Wavelength(171 * u.AA)
        if kind == "primekey":
            names = [
                p for p in (info.primekeys if info else ()) if not info or not info.is_time_key(p)
            ]
            return PrimeKey(names[0] if names else "HARPNUM", "")
        if kind == "segment":
            return Segment(info.segment_names[0] if info and info.segments else "image")
        if kind == "keyword":
            return Keyword("QUALITY", "=", "0")
        if kind == "sample":
            return Sample(10 * u.min)
        if kind == "notify":
            return Notify(self._ctx.settings.email or "user@example.com")
        if kind == "cutout":  # a box on the disk centre, at the query's start time
            t_ref = next(
                (n.start for n in self.tree.root.walk() if isinstance(n, Time)),
                AstropyTime(datetime.now(UTC).replace(tzinfo=None, microsecond=0), scale="utc"),
            )
            return Cutout(0.0, 0.0, 300.0, 300.0, t_ref, tracking=True)
        raise QueryError(f"Unknown node kind: {kind!r}")

    def _neighbour_time(self) -> Time | None:
        """The Time node nearest before the insertion point (else the first one)."""
        parent, row = self.insertion_point()
        times: list[tuple[int, Time]] = []
        for nid in self.tree.ids():
            node = self.tree.node(nid)
            if isinstance(node, Time):
                times.append((nid, node))
        if not times:
            return None
        siblings = [
            node
            for nid, node in times
            if self.tree.parent_id(nid) == parent and self.tree.row(nid) < row
        ]
        return siblings[-1] if siblings else times[0][1]

    def add_node(self, kind: str, node: Node | None = None, *, edit: bool = True) -> int:
        parent, row = self.insertion_point()
        nid = self.model.insert_node(
            parent, row, node if node is not None else self.default_node(kind)
        )
        idx = self.model.index_of(nid, 1)
        self.view.setCurrentIndex(idx)
        self.view.selectionModel().select(
            idx,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        if edit and node is None and self.view.isVisible() and not self.tree.is_group(nid):
            self.view.edit(idx)
        return nid

    def draw_cutout(self) -> asyncio.Task[Any] | None:
        """Fetch the query's first record's image and open it in the viewer with the cutout
        box shown; "Use as cutout" there puts the box into the query."""
        check, client = self.check, self._ctx.client
        if client is None or check is None or not check.ok:
            self._show_problem("Draw cutout: connect and build a valid query first.")
            return None
        first = check.compiled[0]
        info = check.infos.get(first.series.lower()) or self._infos.get(first.series.lower())
        segment = first.segments[0] if first.segments else None
        if segment is None and info is not None:
            images = [s.name for s in info.segments if s.protocol == "fits" and s.dims]
            segment = images[0] if images else None
        if segment is None:
            self._show_problem(f"Draw cutout: {first.series} has no image segment.")
            return None
        from jsocdesk.core.jsoc.context import fetch_context_image

        folder = self._ctx.paths.cache / "context"
        return self._ctx.tasks.run(
            fetch_context_image(client, first.record_set, segment, folder),
            name="context-image",
            on_success=self._show_context_image,
            context="Fetching a context image for the cutout",
            owner=self,
        )

    def _show_context_image(self, path: Any) -> None:
        from jsocdesk.gui.viewer import open_viewer

        self.context_viewer = open_viewer([path], self.window(), on_cutout=self.use_cutout)
        self.context_viewer.cutout_box.setChecked(True)

    def use_cutout(self, node: Cutout) -> int:
        """Put ``node`` in the query in place of any Cutout there (one undoable step)."""
        old = [nid for nid in self.tree.ids() if isinstance(self.tree.node(nid), Cutout)]
        self.undo_stack.beginMacro("Use cutout")
        try:
            if old:
                self.model.remove_nodes(old)
            return self.add_node("cutout", node, edit=False)
        finally:
            self.undo_stack.endMacro()

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.model.remove_nodes(ids)

    def group_selected(self, kind: str) -> None:
        gid = self.model.wrap_nodes(self.selected_ids(), kind)
        if gid is not None:
            self.view.setCurrentIndex(self.model.index_of(gid))

    def _move_current(self, compute: Any) -> None:
        nid = self.model.node_id(self.view.currentIndex())
        if nid is None or nid == self.tree.root_id:
            return
        target = compute(nid)
        if target is None:
            return
        try:
            self.model.move_node(nid, *target)
        except QueryError as exc:
            self._on_model_edit_rejected(exc.message)
            return
        self.view.setCurrentIndex(self.model.index_of(nid))

    def move_selected_up(self) -> None:
        def up(nid: int) -> tuple[int, int] | None:
            row = self.tree.row(nid)
            parent = self.tree.parent_id(nid)
            return None if row == 0 or parent is None else (parent, row - 1)

        self._move_current(up)

    def move_selected_down(self) -> None:
        def down(nid: int) -> tuple[int, int] | None:
            row = self.tree.row(nid)
            parent = self.tree.parent_id(nid)
            if parent is None or row + 1 >= self.tree.child_count(parent):
                return None
            return parent, row + 2

        self._move_current(down)

    def outdent_selected(self) -> None:
        def out(nid: int) -> tuple[int, int] | None:
            parent = self.tree.parent_id(nid)
            grand = None if parent is None else self.tree.parent_id(parent)
            if parent is None or grand is None:
                return None
            return grand, self.tree.row(parent) + 1

        self._move_current(out)

    def indent_selected(self) -> None:
        def into(nid: int) -> tuple[int, int] | None:
            parent = self.tree.parent_id(nid)
            row = self.tree.row(nid)
            if parent is None or row == 0:
                return None
            above = self.tree.child_id(parent, row - 1)
            if not self.tree.is_group(above):
                return None
            return above, self.tree.child_count(above)

        self._move_current(into)

    def _on_model_rows_inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        self.view.expand(parent)
        for row in range(first, last + 1):
            self.view.expand(self.model.index(row, 0, parent))

    def _on_model_edit_rejected(self, message: str) -> None:
        self._update_problems()
        self._status(short_message(message))

    def _on_delegate_editor_invalid(self, message: str) -> None:
        self._status(short_message(message))

    def _status(self, message: str) -> None:
        window = self.window()
        status = getattr(window, "statusBar", None)
        if callable(status):
            status().showMessage(message, 8000)

    def _show_problem(self, message: str) -> None:
        """A one-off message in the problem line (an action that cannot run now); the next
        check or accepted edit replaces it with the query's own problems."""
        self.problem_label.setText(message)
        self.problem_label.setToolTip(message)
        self.problem_label.setVisible(bool(message))
        self._status(message)

    def problem_messages(self) -> list[str]:
        """Every problem the panel shows: refused edits, then the query's validation."""
        out = list(self.model.rejected.values())
        if self.check is not None:
            out.extend(e.message for e in self.check.errors if e.message not in out)
        return out

    def _update_problems(self) -> None:
        messages = self.problem_messages()
        if not messages:
            self.problem_label.setText("")
            self.problem_label.setToolTip("")
            self.problem_label.hide()
            return
        n = len(messages)
        lines = [f"• {short_message(m)}" for m in messages[:5]]
        if n > 5:
            lines.append(f"… and {n - 5} more (hover the marked nodes)")
        head = f"{n} problems in the query:\n" if n > 1 else ""
        self.problem_label.setText(head + "\n".join(lines))
        self.problem_label.setToolTip("\n".join(messages))
        self.problem_label.show()

    # --- tree -> metadata, validation, text, count -----------------------------------------

    def set_series_names(self, names: list[str]) -> None:
        self.series_names = names

    def info_for(self, name: str) -> SeriesInfo | None:
        """The metadata of series ``name`` the panel already has (no request)."""
        return self._infos.get(name.lower())

    def set_current_info(self, info: SeriesInfo) -> None:
        self.current_info = info
        self._infos[info.name.lower()] = info

    def _on_ctx_connected(self, _client: object) -> None:
        self._infos.clear()  # another server: its own metadata
        self.schedule_refresh()

    def _on_tree_modified(self) -> None:
        self.model.clear_rejected()  # an accepted edit: refused ones no longer apply
        self._update_problems()
        self.last_count = None
        self.schedule_refresh()

    def schedule_refresh(self) -> None:
        self._refresh_timer.start(max(0, self._ctx.settings.count_delay_ms))

    def refresh_now(self) -> asyncio.Task[Any] | None:
        self._refresh_timer.stop()
        self.count_label.setText("Counting…")
        return self._ctx.tasks.run(
            self._refresh(self.tree.root),
            name="query-refresh",
            on_success=self._on_refreshed,
            on_failure=lambda _exc: self.count_label.setText("Count failed"),
            context="Counting records",
            owner=self,
        )

    async def _refresh(self, root: Node) -> tuple[service.QueryCheck, service.CountResult | None]:
        client = self._ctx.client
        if isinstance(root, Group) and not root.children:  # nothing to check yet
            check = service.QueryCheck()
            self.apply_check(check)
            return check, None
        names = service.series_names(root)
        missing = [n for n in names if n.lower() not in self._infos]
        if missing and client is not None:
            self._infos.update(await service.fetch_infos(client, missing))
        infos = {n.lower(): self._infos[n.lower()] for n in names if n.lower() in self._infos}
        check = service.check_query(root, infos if client is not None else None)
        self.apply_check(check)
        if not check.ok or client is None:
            return check, None
        return check, await service.count_records(client, check)

    def apply_check(self, check: service.QueryCheck) -> None:
        self.check = check
        self.model.set_errors(check.errors)
        self._update_problems()
        if check.errors:
            self.validity_changed.emit(False, check.errors[0].message)
            self.recordset_edit.setPlaceholderText(NO_RECORD_SET)
            if self._parsed_root is None or self._parsed_root != self.tree.root:
                self._set_text("")  # no record set for it (not the last valid one)
        else:
            self.validity_changed.emit(True, "")
            self.recordset_edit.setPlaceholderText(RECORD_SET_PLACEHOLDER)
            self._set_text(check.text)

    def _on_refreshed(self, result: tuple[service.QueryCheck, service.CountResult | None]) -> None:
        check, count = result
        self.last_count = count
        if count is None:
            if check.errors:
                self.count_label.setText("Query has problems (see the marked nodes)")
            elif self.tree.child_count(self.tree.root_id) == 0:
                self.count_label.setText("No query yet")
            else:
                self.count_label.setText("Not connected")
            return
        parts = (
            f" ({' + '.join(str(n) for n in count.per_record_set)})"
            if len(count.per_record_set) > 1
            else ""
        )
        self.count_label.setText(
            f"{count.total:,} records{parts} · export ≈ {human_bytes(count.estimated_bytes)}"
            " (uncompressed estimate)"
        )
        self.count_updated.emit(count.total, count.estimated_bytes)

    # --- text -> tree -----------------------------------------------------------------------

    def _set_text(self, text: str) -> None:
        edit = self.recordset_edit
        if edit.text() == text or (edit.hasFocus() and edit.isModified()):
            return  # never overwrite what the user is typing
        self._setting_text = True
        try:
            self.recordset_edit.setText(text)
            self.recordset_edit.setCursorPosition(0)
        finally:
            self._setting_text = False
        self._clear_parse_error()

    def set_record_set_text(self, text: str) -> asyncio.Task[Any] | None:
        """Type a record set into the box (as a user would) and apply it."""
        self.recordset_edit.setText(text)
        return self.apply_text()

    def _on_recordset_edit_text_edited(self, _text: str) -> None:
        if not self._setting_text:
            self._parse_timer.start()

    def apply_text(self) -> asyncio.Task[Any] | None:
        self._parse_timer.stop()
        text = self.recordset_edit.text().strip()
        if not text:
            return None
        return self._ctx.tasks.run(
            self._parse(text),
            name="query-parse",
            on_success=self._on_parsed,
            context="Reading the record set",
            owner=self,
        )

    async def _parse(self, text: str) -> Node | RecordSetSyntaxError | QueryError:
        try:
            names = service.record_set_series(text)
        except RecordSetSyntaxError as exc:
            return exc
        client = self._ctx.client
        missing = [n for n in names if n.lower() not in self._infos]
        if missing and client is not None:
            self._infos.update(await service.fetch_infos(client, missing))
        try:
            return service.parse_text(text, self._infos)
        except (RecordSetSyntaxError, QueryError) as exc:
            return exc

    def _on_parsed(self, result: Node | JsocdeskError) -> None:
        if isinstance(result, RecordSetSyntaxError):
            self._show_parse_error(result.message, result.column)
            return
        if isinstance(result, QueryError):
            self._show_parse_error(result.message, -1)
            return
        assert isinstance(result, Node)
        self.recordset_edit.setModified(False)  # applied: the compiled text may replace it
        self._clear_parse_error()
        self._parsed_root = result
        if result != self.tree.root:
            self.model.set_root(result, "Replace query from record set")
            self.view.expandAll()
        self.text_applied.emit()

    def _show_parse_error(self, message: str, column: int) -> None:
        where = f"Column {column + 1}: " if column >= 0 else ""
        self.parse_label.setText(f"⚠ {where}{message}")
        self.parse_label.setStyleSheet("color: #b3261e;")
        self.parse_label.show()
        self.recordset_edit.setStyleSheet(ERROR_STYLE)
        if column >= 0:
            self.recordset_edit.setCursorPosition(column)
            self.recordset_edit.setSelection(column, 1)
        self.text_rejected.emit(message, column)

    def _clear_parse_error(self) -> None:
        self.parse_label.hide()
        self.recordset_edit.setStyleSheet("")

    def stop_timers(self) -> None:
        """The window closes: no more debounced refreshes or parses."""
        self._refresh_timer.stop()
        self._parse_timer.stop()
        self._ctx.tasks.cancel("query-refresh")
        self._ctx.tasks.cancel("query-parse")

    # --- whole query ------------------------------------------------------------------------

    def new_query(self) -> None:
        """Start an empty query, undoably (Ctrl+Z brings the old one back)."""
        if self.tree.child_count(self.tree.root_id) == 0:
            return
        self.model.set_root(None, "New query")
        self._set_text("")
        self._status("New query — Edit → Undo (Ctrl+Z) brings the previous one back")

    def load_root(self, root: Node) -> None:
        """Replace the query without undo history (opening a session)."""
        self.tree.set_root(root)
        self.undo_stack.clear()
        self.view.expandAll()


_LIST_RE = re.compile(r"\[('[^'\]]*'(?:,\s*'[^'\]]*')*)\]")


def short_message(message: str, keep: int = 6) -> str:
    """A problem message for the panel: a long Python list of names (sunpy's wording,
    ``['a', 'b', …]`` with 31 segment names) becomes ``a, b, … (31 in all)``."""

    def shorten(m: re.Match[str]) -> str:
        names = [n.strip().strip("'") for n in m[1].split(",")]
        if len(names) <= keep:
            return ", ".join(names)
        return f"{', '.join(names[:keep])}, … ({len(names)} in all)"

    text = _LIST_RE.sub(shorten, message)
    return text if len(text) <= PROBLEM_CHARS else text[: PROBLEM_CHARS - 1] + "…"
