"""In-place editors for the Value column of the query tree.

=============  ==========================================================================
node           editor
=============  ==========================================================================
AND / OR       combo box
Series         editable combo box of the server's series
Time           start and end as text (ISO, DRMS, now, -1d) + time scale (UTC / TAI)
Wavelength     number + spectral unit (Å, nm, µm)
Sample         number + time unit (s, min, h, d)
Prime key      combo of the selected series' prime keys + value
Segment        editable combo of the series' segments
Keyword        combo of the series' keywords + operator + value
Notify         line edit
=============  ==========================================================================

Every editor hands a finished core node to the model (``setData(index, node, Role.OBJECT)``),
which turns it into an undoable command.  Values that the core refuses (end before start, a
unit that is not spectral, ...) are reported by the model's ``edit_rejected`` signal.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import astropy.units as u
from astropy.time import Time as AstropyTime
from PySide6.QtCore import QAbstractItemModel, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemDelegate,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from jsocdesk.core.errors import QueryError
from jsocdesk.core.query.tree import (
    KEYWORD_OPERATORS,
    Group,
    Keyword,
    Node,
    Notify,
    PrimeKey,
    Sample,
    Segment,
    Series,
    Time,
    Wavelength,
)
from jsocdesk.gui.query.values import TIME_HINT, parse_instant, parse_range, time_text
from jsocdesk.gui.roles import Index, Role

WAVELENGTH_UNITS = ("Angstrom", "nm", "um")
SAMPLE_UNITS = ("s", "min", "h", "d")


@dataclass
class Completions:
    """What the combo boxes offer: filled from the series list and the selected series."""

    series: Sequence[str] = ()
    primekeys: Sequence[str] = ()
    keywords: Sequence[str] = ()
    segments: Sequence[str] = ()
    extra: dict[str, Sequence[str]] = field(default_factory=dict)


class _Row(QWidget):
    def __init__(self, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setAutoFillBackground(True)
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(2)


def _combo(parent: QWidget, items: Sequence[str], current: str, editable: bool) -> QComboBox:
    box = QComboBox(parent)
    box.setEditable(editable)
    box.addItems(list(items))
    if editable:
        box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        box.setCurrentText(current)
    else:
        i = box.findText(current, Qt.MatchFlag.MatchFixedString)
        box.setCurrentIndex(max(0, i))
    return box


class TimeRangeEditor(_Row):
    """Start and end as text fields (typed ISO, pasted DRMS times, ``now``, ``-1d``; see
    :func:`~jsocdesk.gui.query.values.parse_instant`) + time scale, checked as you type:
    a field that does not parse, or an end before the start, turns red and says why (its
    tooltip and :attr:`error`), and Enter does not commit it."""

    def __init__(self, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.start = QLineEdit(self)
        self.end = QLineEdit(self)
        self.start.setObjectName("time-start")
        self.end.setObjectName("time-end")
        for w, what in ((self.start, "Start"), (self.end, "End")):
            w.setPlaceholderText(what)
            w.setToolTip(f"{what} time: {TIME_HINT}")
            w.textEdited.connect(lambda text, field=w: self._on_text_edited(field, text))
        self.scale = QComboBox(self)
        self.scale.addItems(["UTC", "TAI"])
        self.scale.currentTextChanged.connect(lambda _t: self.check())
        self.layout_.addWidget(self.start, 1)
        self.layout_.addWidget(QLabel("→", self))
        self.layout_.addWidget(self.end, 1)
        self.layout_.addWidget(self.scale)
        self.setFocusProxy(self.start)
        self.error = ""
        self._lengths: dict[QLineEdit, int] = {}
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._on_app_focus_changed)

    #: the focus went to a widget outside this editor (the delegate commits and closes it;
    #: Qt only does that when the editor widget itself had the focus, not one of its fields)
    focus_left = Signal()

    def _owns(self, widget: QWidget | None) -> bool:
        while widget is not None:  # parentWidget(), unlike isAncestorOf, crosses popups
            if widget is self:
                return True
            widget = widget.parentWidget()
        return False

    def _on_app_focus_changed(self, old: QWidget | None, new: QWidget | None) -> None:
        if new is not None and self._owns(old) and not self._owns(new):
            # checked once the change is over: when the view is closing the editor itself
            # (Enter, Escape), the focus moves on while it does, and the editor is hidden
            # (1 ms, not 0: Qt 6 posts a 0-ms single shot as an event, which the view's
            # closeEditor delivers while it is half-way through closing this editor)
            QTimer.singleShot(1, self, self._check_focus_left)

    def _check_focus_left(self) -> None:
        if self.isVisible() and not self._owns(QApplication.focusWidget()):
            self.focus_left.emit()

    def hideEvent(self, event: Any) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            with contextlib.suppress(RuntimeError, TypeError):
                app.focusChanged.disconnect(self._on_app_focus_changed)
        super().hideEvent(event)

    def set_node(self, node: Time) -> None:
        scale = "TAI" if node.start.scale == "tai" else "UTC"
        self.scale.setCurrentText(scale)
        self.start.setText(time_text(_in(node.start, scale.lower())))
        self.end.setText(time_text(_in(node.end, scale.lower())))
        self._lengths = {self.start: len(self.start.text()), self.end: len(self.end.text())}
        self.start.selectAll()  # typing replaces the whole start, never one digit of it
        self.check()

    def _on_text_edited(self, field: QLineEdit, text: str) -> None:
        before = self._lengths.get(field, 0)
        self._lengths[field] = len(text)
        if abs(len(text) - before) <= 1:  # typing: a range is read when it is committed
            self.check()
            return
        self._expand(field, text)
        self.check()

    def _expand(self, field: QLineEdit, text: str) -> bool:
        """A whole range pasted (or typed) into one field: fill both fields with it."""
        try:
            span = parse_range(text, self._scale())
        except QueryError:
            span = None
        if span is not None:
            t0, t1 = span
            zone = "tai" if t0.scale == "tai" else self._scale()
            self.scale.setCurrentText(zone.upper())
            self.start.setText(time_text(_in(t0, zone)))
            self.end.setText(time_text(_in(t1, zone)))
            if field is self.start:
                self.end.setFocus(Qt.FocusReason.OtherFocusReason)
                self.end.selectAll()
        return span is not None

    def _scale(self) -> str:
        return self.scale.currentText().lower()

    def check(self) -> bool:
        """Validate the fields now (colours and tooltips); True when they make a range."""
        try:
            self.node()
        except QueryError as exc:
            self.error = exc.message
        else:
            self.error = ""
        return not self.error

    def _mark(self, field: QLineEdit, message: str) -> None:
        field.setStyleSheet("QLineEdit { background: #fde2e1; }" if message else "")
        what = "Start" if field is self.start else "End"
        field.setToolTip(message or f"{what} time: {TIME_HINT}")

    def node(self) -> Time:
        scale = self._scale()
        for box in (self.start, self.end):
            if _RANGE_HINT.search(box.text()):  # "A to B" typed into one field
                with contextlib.suppress(QueryError):
                    span = parse_range(box.text(), scale)
                    if span is not None:
                        self._mark(self.start, "")
                        self._mark(self.end, "")
                        return Time(_in(span[0], scale), _in(span[1], scale))
        problems: dict[str, str] = {}
        t0 = t1 = None
        try:
            t0 = parse_instant(self.start.text(), scale)
        except QueryError as exc:
            problems["start"] = f"Start: {exc.message}"
        try:
            t1 = parse_instant(self.end.text(), scale, start=t0)
        except QueryError as exc:
            problems["end"] = f"End: {exc.message}"
        if t0 is not None and t1 is not None and t1 < t0:
            problems["end"] = (
                f"The end ({time_text(_in(t1, scale))}) is before the start "
                f"({time_text(_in(t0, scale))})"
            )
        self._mark(self.start, problems.get("start", ""))
        self._mark(self.end, problems.get("end", ""))
        if problems:
            raise QueryError(" · ".join(problems.values()))
        assert t0 is not None
        assert t1 is not None
        return Time(_in(t0, scale), _in(t1, scale))


#: text that may hold a whole range (a separator, a DRMS "A-B" after a time, or "/1h")
_RANGE_HINT = re.compile(r"→|\.\.|\bto\b|–|/\s*\d|[A-Za-z0-9]\s*-\s*\d{4}[.\-/]")


def _in(t: AstropyTime, scale: str) -> AstropyTime:
    return t.tai if scale == "tai" else t.utc


class QuantityEditor(_Row):
    def __init__(self, parent: QWidget | None, units: Sequence[str]) -> None:
        super().__init__(parent)
        self.value = QDoubleSpinBox(self)
        self.value.setDecimals(3)
        self.value.setRange(0.0, 1e9)
        self.unit = QComboBox(self)
        self.unit.addItems(list(units))
        self.layout_.addWidget(self.value, 1)
        self.layout_.addWidget(self.unit)
        self.setFocusProxy(self.value)

    def set_quantity(self, q: u.Quantity) -> None:
        name = q.unit.to_string()
        if self.unit.findText(name) < 0:
            self.unit.addItem(name)
        self.unit.setCurrentText(name)
        self.value.setValue(float(q.value))

    def quantity(self) -> u.Quantity:
        return self.value.value() * u.Unit(self.unit.currentText())


class NameValueEditor(_Row):
    """``NAME [OP] VALUE`` for prime keys and keywords."""

    def __init__(
        self, parent: QWidget | None, names: Sequence[str], operators: Sequence[str] | None
    ) -> None:
        super().__init__(parent)
        self.name = _combo(self, names, "", editable=True)
        self.op: QComboBox | None = None
        self.layout_.addWidget(self.name, 1)
        if operators is not None:
            self.op = _combo(self, ["", *operators], "", editable=False)
            self.layout_.addWidget(self.op)
        self.value = QLineEdit(self)
        self.layout_.addWidget(self.value, 1)
        self.setFocusProxy(self.name)


class QueryValueDelegate(QStyledItemDelegate):
    """Editors of the Value column.  Enter on an editor whose text does not make a value
    (a Time range that does not parse, an end before the start) keeps it open and emits
    :attr:`editor_invalid`; a commit that fails anyway marks the node
    (:meth:`QueryTreeModel.reject_edit`)."""

    #: Enter was refused: the editor's message
    editor_invalid = Signal(str)

    def __init__(self, completions: Callable[[], Completions], parent: QWidget | None = None):
        super().__init__(parent)
        self._completions = completions

    def _commit_and_close(self, editor: QWidget) -> None:
        view = self.parent()
        editing = QAbstractItemView.State.EditingState
        if not editor.isVisible() or (
            isinstance(view, QAbstractItemView) and view.state() != editing
        ):
            return  # the view is closing it already
        self.commitData.emit(editor)
        self.closeEditor.emit(editor, QAbstractItemDelegate.EndEditHint.NoHint)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if (
            isinstance(obj, TimeRangeEditor)
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and not obj.check()
        ):
            self.editor_invalid.emit(obj.error)
            return True
        return super().eventFilter(obj, event)

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem, index: Index) -> QWidget:
        node = index.data(Role.OBJECT)
        c = self._completions()
        if isinstance(node, Group):
            return _combo(parent, ["AND", "OR"], node.kind.upper(), editable=False)
        if isinstance(node, Series):
            return _combo(parent, c.series, node.name, editable=True)
        if isinstance(node, Segment):
            return _combo(parent, c.segments, node.name, editable=True)
        if isinstance(node, Time):
            editor = TimeRangeEditor(parent)
            editor.focus_left.connect(lambda e=editor: self._commit_and_close(e))
            return editor
        if isinstance(node, Wavelength):
            return QuantityEditor(parent, WAVELENGTH_UNITS)
        if isinstance(node, Sample):
            return QuantityEditor(parent, SAMPLE_UNITS)
        if isinstance(node, PrimeKey):
            return NameValueEditor(parent, c.primekeys, None)
        if isinstance(node, Keyword):
            return NameValueEditor(parent, c.keywords, KEYWORD_OPERATORS)
        return QLineEdit(parent)

    def setEditorData(self, editor: QWidget, index: Index) -> None:
        node = index.data(Role.OBJECT)
        if isinstance(editor, QComboBox) and isinstance(node, Group | Series | Segment):
            text = node.kind.upper() if isinstance(node, Group) else node.name
            if editor.isEditable():
                editor.setCurrentText(text)
                line = editor.lineEdit()
                if line is not None:
                    line.selectAll()  # typing replaces the name instead of appending to it
            else:
                editor.setCurrentIndex(max(0, editor.findText(text)))
        elif isinstance(editor, TimeRangeEditor) and isinstance(node, Time):
            editor.set_node(node)
        elif isinstance(editor, QuantityEditor) and isinstance(node, Wavelength):
            editor.set_quantity(node.min)
        elif isinstance(editor, QuantityEditor) and isinstance(node, Sample):
            editor.set_quantity(node.value)
        elif isinstance(editor, NameValueEditor) and isinstance(node, PrimeKey | Keyword):
            editor.name.setCurrentText(node.name)
            if editor.op is not None and isinstance(node, Keyword):
                editor.op.setCurrentText(node.op or "")
            editor.value.setText(node.value or "")
        elif isinstance(editor, QLineEdit) and isinstance(node, Notify):
            editor.setText(node.email)
            editor.selectAll()
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        node = index.data(Role.OBJECT)
        try:
            new = self.editor_node(editor, node)
        except QueryError as exc:
            reject = getattr(model, "reject_edit", None)
            if callable(reject):
                reject(index, exc.message)
            return
        if new is None:
            super().setModelData(editor, model, index)
        elif isinstance(new, str):
            model.setData(index, new, Qt.ItemDataRole.EditRole)
        else:
            model.setData(index, new, Role.OBJECT)

    @staticmethod
    def editor_node(editor: QWidget, node: Node) -> Node | str | None:
        """The node an editor currently describes (a str for group kinds)."""
        if isinstance(node, Group) and isinstance(editor, QComboBox):
            return editor.currentText()
        if isinstance(node, Series) and isinstance(editor, QComboBox):
            return Series(editor.currentText())
        if isinstance(node, Segment) and isinstance(editor, QComboBox):
            return Segment(editor.currentText())
        if isinstance(editor, TimeRangeEditor):
            return editor.node()
        if isinstance(editor, QuantityEditor) and isinstance(node, Wavelength):
            return Wavelength(editor.quantity())
        if isinstance(editor, QuantityEditor) and isinstance(node, Sample):
            return Sample(editor.quantity())
        if isinstance(editor, NameValueEditor) and isinstance(node, PrimeKey):
            return PrimeKey(editor.name.currentText(), editor.value.text())
        if isinstance(editor, NameValueEditor) and isinstance(node, Keyword):
            op = editor.op.currentText() if editor.op is not None else ""
            if not op:
                return Keyword(editor.name.currentText())
            return Keyword(editor.name.currentText(), op, editor.value.text())
        if isinstance(editor, QLineEdit) and isinstance(node, Notify):
            return Notify(editor.text())
        return None

    def updateEditorGeometry(
        self, editor: QWidget, option: QStyleOptionViewItem, index: Index
    ) -> None:
        rect = option.rect
        hint = editor.sizeHint()
        if hint.width() > rect.width():
            rect.setWidth(hint.width())
        editor.setGeometry(rect)
