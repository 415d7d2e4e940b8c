"""A tiny Qt-free signal and an evented list.

Core containers emit *before* and *after* events; GUI models translate them one to one into
``beginInsertRows``/``endInsertRows`` etc.  Callbacks run synchronously in emit order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableSequence
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")

Callback = Callable[..., Any]


class Signal:
    """A list of callbacks; ``emit(*args)`` calls them in connection order."""

    __slots__ = ("_callbacks", "name")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._callbacks: list[Callback] = []

    def connect(self, callback: Callback) -> Callback:
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callback) -> None:
        self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for cb in list(self._callbacks):
            cb(*args)

    def __len__(self) -> int:
        return len(self._callbacks)

    def __repr__(self) -> str:
        return f"<Signal {self.name!r} ({len(self._callbacks)} connected)>"


class EditEvents:
    """The before/after signal pairs of an evented container (Qt's ``begin…``/``end…``
    pairs); each container documents its own arguments."""

    def __init__(self) -> None:
        self.inserting = Signal("inserting")
        self.inserted = Signal("inserted")
        self.removing = Signal("removing")
        self.removed = Signal("removed")
        self.moving = Signal("moving")
        self.moved = Signal("moved")
        self.changed = Signal("changed")
        self.resetting = Signal("resetting")
        self.reset = Signal("reset")


class ListEvents(EditEvents):
    """The events of an :class:`EventedList`.

    * ``inserting(index, count)`` / ``inserted(index, count)``
    * ``removing(index, count)`` / ``removed(index, count)``
    * ``moving(src, dest)`` / ``moved(src, dest)``: one item from ``src`` to ``dest`` where
      ``dest`` is the index in the list *before* the move (Qt's ``beginMoveRows`` convention)
    * ``changed(index)``: the item at ``index`` changed in place
    * ``resetting()`` / ``reset()``
    """


class EventedList(MutableSequence[T], Generic[T]):
    """A list that announces every structural change before and after it happens."""

    def __init__(self, items: Iterable[T] = ()) -> None:
        self._items: list[T] = list(items)
        self.events = ListEvents()

    # --- reading
    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(self._items)

    def index_of(self, item: T) -> int:
        """Index by identity (items may compare equal without being the same object)."""
        for i, x in enumerate(self._items):
            if x is item:
                return i
        raise ValueError("item not in list")

    # --- writing
    @overload
    def __setitem__(self, index: int, value: T) -> None: ...
    @overload
    def __setitem__(self, index: slice, value: Iterable[T]) -> None: ...
    def __setitem__(self, index: int | slice, value: Any) -> None:
        if isinstance(index, slice):
            raise TypeError("slice assignment is not supported on EventedList")
        i = self._norm(index)
        self._items[i] = value
        self.events.changed.emit(i)

    def __delitem__(self, index: int | slice) -> None:
        if isinstance(index, slice):
            for i in sorted(range(*index.indices(len(self._items))), reverse=True):
                del self[i]
            return
        i = self._norm(index)
        self.events.removing.emit(i, 1)
        del self._items[i]
        self.events.removed.emit(i, 1)

    def insert(self, index: int, value: T) -> None:
        i = max(0, min(index if index >= 0 else len(self._items) + index, len(self._items)))
        self.events.inserting.emit(i, 1)
        self._items.insert(i, value)
        self.events.inserted.emit(i, 1)

    def extend(self, values: Iterable[T]) -> None:
        new = list(values)
        if not new:
            return
        start = len(self._items)
        self.events.inserting.emit(start, len(new))
        self._items.extend(new)
        self.events.inserted.emit(start, len(new))

    def move(self, src: int, dest: int) -> None:
        """Move one item so that it ends up before the item now at ``dest``."""
        src = self._norm(src)
        if dest < 0 or dest > len(self._items):
            raise IndexError(dest)
        if dest in (src, src + 1):
            return
        self.events.moving.emit(src, dest)
        item = self._items.pop(src)
        self._items.insert(dest - 1 if dest > src else dest, item)
        self.events.moved.emit(src, dest)

    def notify_changed(self, index: int) -> None:
        self.events.changed.emit(self._norm(index))

    def replace_all(self, values: Iterable[T]) -> None:
        self.events.resetting.emit()
        self._items = list(values)
        self.events.reset.emit()

    def _norm(self, index: int) -> int:
        n = len(self._items)
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError(index)
        return i

    def __repr__(self) -> str:
        return f"EventedList({self._items!r})"
