"""QueryTreeModel over the core QueryTree: structure, edits, undo/redo, drag and drop."""

from __future__ import annotations

from typing import Any

import astropy.units as u
import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QUndoStack

from jsocdesk.core.errors import QueryError
from jsocdesk.core.query.tree import (
    And,
    Keyword,
    Or,
    PrimeKey,
    QueryTree,
    Sample,
    Segment,
    Series,
    Time,
    Wavelength,
)
from jsocdesk.gui.query.model import QueryTreeModel
from jsocdesk.gui.roles import Role


@pytest.fixture
def model(qapp: Any, qtmodeltester: Any) -> QueryTreeModel:
    m = QueryTreeModel(QueryTree(), QUndoStack())
    qtmodeltester.check(m)
    return m


def _seed_v45s(model: QueryTreeModel) -> None:
    root = model.tree.root_id
    model.append_node(root, Series("hmi.v_45s"))
    model.append_node(root, Time("2014-01-01T00:00", "2014-01-01T01:00"))
    model.append_node(root, Sample(10 * u.min))


def test_root_is_the_single_top_row(model: QueryTreeModel) -> None:
    assert model.rowCount() == 1
    root = model.index(0, 0)
    assert model.data(root) == "AND (query)"
    assert model.rowCount(root) == 0
    assert not model.parent(root).isValid()


def test_build_seed_query_by_model_operations(model: QueryTreeModel) -> None:
    _seed_v45s(model)
    assert model.tree.root == And(
        Series("hmi.v_45s"),
        Time("2014-01-01T00:00", "2014-01-01T01:00"),
        Sample(10 * u.min),
    )
    root = model.index(0, 0)
    assert model.rowCount(root) == 3
    assert model.data(model.index(0, 1, root)) == "hmi.v_45s"
    assert model.data(model.index(2, 1, root)) == "10 min"
    assert model.data(model.index(1, 0, root)) == "Time"
    assert model.parent(model.index(1, 1, root)) == root


def test_undo_redo_every_edit(model: QueryTreeModel) -> None:
    stack = model.undo_stack
    _seed_v45s(model)
    root = model.index(0, 0)
    assert model.setData(model.index(0, 1, root), "hmi.m_45s")
    model.remove_nodes([model.tree.child_id(model.tree.root_id, 2)])
    assert model.setData(root.siblingAtColumn(1), "OR")
    snapshot = model.tree.to_dict()
    assert snapshot["type"] == "or"
    assert stack.count() == 6
    for _ in range(6):
        stack.undo()
    assert model.tree.child_count(model.tree.root_id) == 0
    for _ in range(6):
        stack.redo()
    assert model.tree.to_dict() == snapshot


def test_edit_with_text_and_rejects_bad_values(model: QueryTreeModel, qtbot: Any) -> None:
    root_id = model.tree.root_id
    model.append_node(root_id, Keyword("QUALITY", "=", "0"))
    idx = model.index(0, 1, model.index(0, 0))
    assert model.data(idx, Qt.ItemDataRole.EditRole) == "QUALITY = 0"
    assert model.setData(idx, "QUALITY >= 5")
    assert model.data(idx) == "QUALITY >= 5"
    with qtbot.waitSignal(model.edit_rejected) as blocker:
        assert not model.setData(idx, "QUALITY ~ 5")
    assert "NAME OP VALUE" in blocker.args[0]
    model.append_node(root_id, Sample(1 * u.min))
    with qtbot.waitSignal(model.edit_rejected):
        assert not model.setData(model.index(1, 1, model.index(0, 0)), "10 parsecs")


def test_drag_and_drop_regroups_and_undoes(model: QueryTreeModel) -> None:
    tree = model.tree
    root_id = tree.root_id
    model.append_node(root_id, Series("aia.lev1_euv_12s"))
    orr = model.append_node(root_id, Or())
    w171 = model.append_node(root_id, Wavelength(171 * u.AA))
    w304 = model.append_node(root_id, Wavelength(304 * u.AA))
    before = tree.to_dict()
    root = model.index(0, 0)
    mime = model.mimeData([model.index(2, 0, root), model.index(3, 1, root)])
    or_index = model.index_of(orr)
    assert model.canDropMimeData(mime, Qt.DropAction.MoveAction, -1, 0, or_index)
    # the view is told "not accepted" so it does not remove the rows a second time
    assert not model.dropMimeData(mime, Qt.DropAction.MoveAction, -1, 0, or_index)
    assert tree.child_ids(orr) == (w171, w304)
    assert model.rowCount(or_index) == 2
    # a group cannot be dropped into itself
    mime_or = model.mimeData([or_index])
    assert not model.canDropMimeData(mime_or, Qt.DropAction.MoveAction, 0, 0, model.index_of(w171))
    # move w304 in front of w171 inside the group
    model.dropMimeData(
        model.mimeData([model.index_of(w304)]), Qt.DropAction.MoveAction, 0, 0, or_index
    )
    assert tree.child_ids(orr) == (w304, w171)
    model.undo_stack.undo()
    model.undo_stack.undo()
    assert tree.to_dict() == before


def test_wrap_and_remove_nested(model: QueryTreeModel) -> None:
    tree = model.tree
    root_id = tree.root_id
    a = model.append_node(root_id, PrimeKey("HARPNUM", "4864"))
    b = model.append_node(root_id, Segment("magnetogram"))
    gid = model.wrap_nodes([b, a], "or")
    assert gid is not None
    assert tree.child_ids(gid) == (a, b)
    assert model.data(model.index_of(gid)) == "OR"
    model.remove_nodes([a, gid])  # a is inside gid: one removal
    assert tree.child_count(root_id) == 0
    model.undo_stack.undo()
    assert tree.child_ids(gid) == (a, b)
    model.undo_stack.undo()
    assert tree.child_ids(root_id) == (a, b)


def test_replace_whole_query_and_errors_marks(model: QueryTreeModel) -> None:
    model.set_root(Series("hmi.sharp_720s") & Keyword("bitmap_bzero") & Segment("bac"))
    tree = model.tree
    kw_id = tree.child_id(tree.root_id, 1)
    seg = tree.node(tree.child_id(tree.root_id, 2))
    model.set_errors(
        [
            QueryError(
                "Keyword 'bitmap_bzero' needs to have a comparison to a value.", tree.node(kw_id)
            )
        ]
    )
    kw = model.index_of(kw_id)
    assert model.data(kw, Role.ERROR).startswith("Keyword 'bitmap_bzero'")
    assert model.data(kw, Qt.ItemDataRole.DecorationRole) is not None
    assert model.data(kw, Qt.ItemDataRole.ToolTipRole) == model.data(kw, Role.ERROR)
    assert model.data(model.index_of(seg.id), Role.ERROR) == ""
    model.set_errors([QueryError("whole query")])
    assert model.data(model.index(0, 0), Role.ERROR) == "whole query"
    assert model.data(kw, Role.ERROR) == ""
    model.undo_stack.undo()
    assert tree.child_count(tree.root_id) == 0
    assert model.rowCount(QModelIndex()) == 1
