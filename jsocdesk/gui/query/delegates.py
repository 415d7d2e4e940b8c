"""In-place editors for the Value column of the query tree.

=============  ==========================================================================
node           editor
=============  ==========================================================================
AND / OR       combo box
Series         editable combo box of the server's series
Time           two date-time pickers + time scale (UTC / TAI)
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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import astropy.units as u
from astropy.time import Time as AstropyTime
from PySide6.QtCore import (
    QAbstractItemModel,
    QDateTime,
    Qt,
    QTimeZone,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDoubleSpinBox,
    QHBoxLayout,
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
from jsocdesk.gui.roles import Index, Role

WAVELENGTH_UNITS = ("Angstrom", "nm", "um")
SAMPLE_UNITS = ("s", "min", "h", "d")
DATETIME_FORMAT = "yyyy-MM-dd HH:mm:ss"


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
    def __init__(self, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.start = QDateTimeEdit(self)
        self.end = QDateTimeEdit(self)
        for w in (self.start, self.end):
            w.setDisplayFormat(DATETIME_FORMAT)
            w.setTimeZone(_utc_zone())
            w.setCalendarPopup(True)
        self.scale = QComboBox(self)
        self.scale.addItems(["UTC", "TAI"])
        self.layout_.addWidget(self.start, 1)
        self.layout_.addWidget(self.end, 1)
        self.layout_.addWidget(self.scale)
        self.setFocusProxy(self.start)

    def set_node(self, node: Time) -> None:
        scale = "TAI" if node.start.scale == "tai" else "UTC"
        self.scale.setCurrentText(scale)
        t0 = node.start if scale == "TAI" else node.start.utc
        t1 = node.end.tai if scale == "TAI" else node.end.utc
        self.start.setDateTime(_qdt(t0))
        self.end.setDateTime(_qdt(t1))

    def node(self) -> Time:
        scale = self.scale.currentText().lower()
        return Time(_astropy(self.start.dateTime(), scale), _astropy(self.end.dateTime(), scale))


def _utc_zone() -> QTimeZone:
    return QTimeZone.utc()


def _qdt(t: AstropyTime) -> QDateTime:
    iso = str(t.strftime("%Y-%m-%dT%H:%M:%S"))
    dt = QDateTime.fromString(iso, Qt.DateFormat.ISODate)
    dt.setTimeZone(_utc_zone())
    return dt


def _astropy(dt: QDateTime, scale: str) -> AstropyTime:
    text = dt.toString("yyyy-MM-ddTHH:mm:ss")
    return AstropyTime(text, scale=scale, format="isot")


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
    def __init__(self, completions: Callable[[], Completions], parent: QWidget | None = None):
        super().__init__(parent)
        self._completions = completions

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
            return TimeRangeEditor(parent)
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
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: Index) -> None:
        node = index.data(Role.OBJECT)
        try:
            new = self.editor_node(editor, node)
        except QueryError as exc:
            edit_rejected = getattr(model, "edit_rejected", None)
            if edit_rejected is not None:
                edit_rejected.emit(exc.message)
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
