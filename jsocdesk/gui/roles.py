"""Every custom item-data role of the app's models, in one place; the index type and the
column-title header they share."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

#: what Qt hands a model's ``data``/``flags``/``rowCount``
Index = QModelIndex | QPersistentModelIndex

_BASE = int(Qt.ItemDataRole.UserRole)


class Role(IntEnum):
    #: the core object a row stands for (query node, series entry)
    OBJECT = _BASE + 1
    #: a value to sort by (numbers sort as numbers, MISSING last)
    SORT = _BASE + 2
    #: validation message of a query node ("" when valid)
    ERROR = _BASE + 3
    #: node kind name ("and", "series", "time", ...)
    KIND = _BASE + 4
    #: the raw (typed) cell value of a result row
    RAW = _BASE + 5


def column_title(
    titles: Sequence[str], section: int, orientation: Qt.Orientation, role: int
) -> Any:
    """``headerData`` of a model whose horizontal header shows ``titles`` (None elsewhere)."""
    if (
        orientation == Qt.Orientation.Horizontal
        and role == Qt.ItemDataRole.DisplayRole
        and 0 <= section < len(titles)
    ):
        return titles[section]
    return None
