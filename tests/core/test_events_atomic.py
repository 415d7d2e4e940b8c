from __future__ import annotations

import os
from pathlib import Path

import pytest

from jsocdesk.core.atomic import atomic_write_text
from jsocdesk.core.events import EventedList


def test_evented_list_emits_before_and_after() -> None:
    seen: list[tuple[str, tuple[int, ...], list[str]]] = []
    lst: EventedList[str] = EventedList(["a", "b"])
    for name in ("inserting", "inserted", "removing", "removed", "moving", "moved", "changed"):
        getattr(lst.events, name).connect(lambda *a, n=name: seen.append((n, a, list(lst))))
    lst.append("c")
    lst.move(0, 3)
    del lst[0]
    lst[0] = "z"
    assert seen == [
        ("inserting", (2, 1), ["a", "b"]),
        ("inserted", (2, 1), ["a", "b", "c"]),
        ("moving", (0, 3), ["a", "b", "c"]),
        ("moved", (0, 3), ["b", "c", "a"]),
        ("removing", (0, 1), ["b", "c", "a"]),
        ("removed", (0, 1), ["c", "a"]),
        ("changed", (0,), ["z", "a"]),
    ]


def test_atomic_write_keeps_old_file_when_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "work" / "f.json"
    atomic_write_text(target, "old")

    def boom(*_a: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write_text(target, "new" * 1000)
    assert target.read_text() == "old"
    assert [p.name for p in target.parent.iterdir()] == ["f.json"]  # no temp file left behind
