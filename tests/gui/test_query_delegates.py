"""In-place editors of the query tree: each node kind round-trips through its editor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import astropy.units as u
import pytest
from astropy.time import Time as AstropyTime
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QComboBox, QLineEdit, QStyleOptionViewItem, QTreeView, QWidget

from jsocdesk.core.query.tree import (
    Keyword,
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
from jsocdesk.gui.query.delegates import (
    Completions,
    NameValueEditor,
    QuantityEditor,
    QueryValueDelegate,
    TimeRangeEditor,
)
from jsocdesk.gui.query.model import QueryTreeModel

COMPLETIONS = Completions(
    series=["hmi.v_45s", "hmi.sharp_720s"],
    primekeys=["HARPNUM", "T_REC"],
    keywords=["QUALITY", "bitmap_bzero"],
    segments=["magnetogram", "continuum"],
)


@pytest.fixture
def setup(
    qtbot: Any, qtmodeltester: Any
) -> Iterator[tuple[QueryTreeModel, QueryValueDelegate, QWidget]]:
    model = QueryTreeModel(QueryTree(), QUndoStack())
    qtmodeltester.check(model)
    view = QTreeView()
    qtbot.addWidget(view)
    view.setModel(model)
    delegate = QueryValueDelegate(lambda: COMPLETIONS, view)
    view.setItemDelegateForColumn(1, delegate)
    yield model, delegate, view.viewport()  # the view stays alive in this frame
    view.close()


def _edit(
    model: QueryTreeModel, delegate: QueryValueDelegate, parent: QWidget, node: Any
) -> tuple[int, QWidget, Any]:
    nid = model.append_node(model.tree.root_id, node)
    index = model.index_of(nid, 1)
    editor = delegate.createEditor(parent, QStyleOptionViewItem(), index)
    delegate.setEditorData(editor, index)
    return nid, editor, index


def test_time_editor_with_tai_scale(setup: Any) -> None:
    model, delegate, parent = setup
    nid, editor, index = _edit(
        model, delegate, parent, Time("2014-01-01T00:00", "2014-01-01T01:00")
    )
    assert isinstance(editor, TimeRangeEditor)
    assert editor.scale.currentText() == "UTC"
    assert editor.start.text() == "2014-01-01 00:00:00"
    assert editor.start.selectedText() == "2014-01-01 00:00:00"  # typing replaces it all
    editor.end.setText("2014-01-01 00:10:00")
    editor.scale.setCurrentText("TAI")
    delegate.setModelData(editor, model, index)
    node = model.tree.node(nid)
    assert isinstance(node, Time)
    assert node.start.scale == "tai"
    assert node == Time(
        AstropyTime("2014-01-01T00:00:00", scale="tai"),
        AstropyTime("2014-01-01T00:10:00", scale="tai"),
    )
    model.undo_stack.undo()
    assert model.tree.node(nid) == Time("2014-01-01T00:00", "2014-01-01T01:00")


def test_quantity_editors(setup: Any) -> None:
    model, delegate, parent = setup
    nid, editor, index = _edit(model, delegate, parent, Wavelength(171 * u.AA))
    assert isinstance(editor, QuantityEditor)
    assert editor.value.value() == 171
    editor.value.setValue(30.4)
    editor.unit.setCurrentText("nm")
    delegate.setModelData(editor, model, index)
    assert model.tree.node(nid) == Wavelength(304 * u.AA)

    nid, editor, index = _edit(model, delegate, parent, Sample(10 * u.min))
    assert isinstance(editor, QuantityEditor)
    editor.value.setValue(2)
    editor.unit.setCurrentText("h")
    delegate.setModelData(editor, model, index)
    assert model.tree.node(nid) == Sample(7200 * u.s)


def test_name_value_editors_use_series_metadata(setup: Any) -> None:
    model, delegate, parent = setup
    nid, editor, index = _edit(model, delegate, parent, Keyword("QUALITY", "=", "0"))
    assert isinstance(editor, NameValueEditor)
    assert [editor.name.itemText(i) for i in range(editor.name.count())] == [
        "QUALITY",
        "bitmap_bzero",
    ]
    editor.name.setCurrentText("bitmap_bzero")
    assert editor.op is not None
    editor.op.setCurrentText(">=")
    editor.value.setText("5")
    delegate.setModelData(editor, model, index)
    assert model.tree.node(nid) == Keyword("bitmap_bzero", ">=", "5")

    nid, editor, index = _edit(model, delegate, parent, PrimeKey("HARPNUM", "1"))
    assert isinstance(editor, NameValueEditor)
    assert editor.op is None
    editor.value.setText("4864")
    delegate.setModelData(editor, model, index)
    assert model.tree.node(nid) == PrimeKey("HARPNUM", "4864")


def test_combo_editors(setup: Any) -> None:
    model, delegate, parent = setup
    nid, editor, index = _edit(model, delegate, parent, Segment("continuum"))
    assert isinstance(editor, QComboBox)
    assert editor.currentText() == "continuum"
    editor.setCurrentText("magnetogram")
    delegate.setModelData(editor, model, index)
    assert model.tree.node(nid) == Segment("magnetogram")

    nid, editor, index = _edit(model, delegate, parent, Series("hmi.v_45s"))
    assert isinstance(editor, QComboBox)
    editor.setCurrentText("hmi.sharp_720s")
    delegate.setModelData(editor, model, index)
    assert model.tree.node(nid) == Series("hmi.sharp_720s")

    gid, editor, index = _edit(model, delegate, parent, Or())
    assert isinstance(editor, QComboBox)
    assert editor.currentText() == "OR"
    editor.setCurrentText("AND")
    delegate.setModelData(editor, model, index)
    assert model.tree.kind(gid) == "and"


def test_rejected_value_leaves_node(setup: Any, qtbot: Any) -> None:
    model, delegate, parent = setup
    nid, editor, index = _edit(model, delegate, parent, Notify("me@example.com"))
    assert isinstance(editor, QLineEdit)
    editor.setText("not-an-address")
    with qtbot.waitSignal(model.edit_rejected) as blocker:
        delegate.setModelData(editor, model, index)
    assert "'@'" in blocker.args[0]
    assert model.tree.node(nid) == Notify("me@example.com")
