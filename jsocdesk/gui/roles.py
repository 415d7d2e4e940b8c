"""Every custom item-data role of the app's models, in one place."""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import Qt

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
