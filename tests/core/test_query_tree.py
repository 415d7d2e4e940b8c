"""Query tree nodes, operators, serialisation and the evented QueryTree container."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import astropy.units as u
import pytest
from astropy.time import Time as ATime
from hypothesis import given, settings
from hypothesis import strategies as st

from jsocdesk.core.errors import QueryError
from jsocdesk.core.query.tree import (
    And,
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
    node_from_dict,
    node_to_dict,
)

# --- nodes ---------------------------------------------------------------------------------


def test_series_strips_and_rejects_bad_names() -> None:
    assert Series(" hmi.v_45s ").name == "hmi.v_45s"
    with pytest.raises(QueryError, match="empty"):
        Series("  ")
    with pytest.raises(QueryError, match="valid series"):
        Series("hmi.v_45s[2014]")


def test_time_accepts_any_scale_and_compares_by_instant() -> None:
    utc = Time("2014-01-01T00:00:00", "2014-01-01T01:00:00")
    assert utc.start.scale == "utc"
    tai = Time(ATime("2014-01-01T00:00:35", scale="tai"), ATime("2014-01-01T01:00:35", scale="tai"))
    assert utc == tai
    assert hash(utc) == hash(tai)
    drms = Time("2014.01.01_00:00:35_TAI", "2014.01.01_01:00:35_TAI")
    assert drms == utc
    assert Time(datetime(2014, 1, 1), datetime(2014, 1, 1, 1)) == utc
    assert Time("2014/01/01 00:00", "2014/01/01 01:00") == utc


def test_time_errors() -> None:
    with pytest.raises(QueryError, match="End time must be after start time"):
        Time("2014-01-02", "2014-01-01")
    with pytest.raises(QueryError, match="Not a time"):
        Time("yesterday", "2014-01-01")
    with pytest.raises(QueryError, match="Not a time"):
        Time(5, "2014-01-01")  # type: ignore[arg-type]


def test_wavelength_needs_spectral_quantity() -> None:
    assert Wavelength(304 * u.AA) == Wavelength(30.4 * u.nm)
    assert Wavelength(304 * u.AA).min_angstrom == pytest.approx(304)
    w = Wavelength(171 * u.AA, 193 * u.AA)
    assert w.max_angstrom == pytest.approx(193)
    assert Wavelength(193 * u.AA, 171 * u.AA) == w
    with pytest.raises(QueryError, match="astropy Quantity with spectral units"):
        Wavelength(304)  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="spectral units"):
        Wavelength(3 * u.s)
    # frequency is a spectral unit too
    assert Wavelength((3e8 / 304e-10) * u.Hz).min_angstrom == pytest.approx(304, rel=1e-3)


def test_primekey_segment_notify() -> None:
    assert PrimeKey("HARPNUM", "4864").value == "4864"
    assert PrimeKey("HARPNUM", 4864).value == "4864"  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="prime-key name"):
        PrimeKey("bad name", "1")
    with pytest.raises(QueryError, match="must be a string"):
        PrimeKey("HARPNUM", [1])  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="brackets"):
        PrimeKey("HARPNUM", "1][2")
    with pytest.raises(QueryError, match="segment name"):
        Segment("**ALL**")
    assert Segment("magnetogram").name == "magnetogram"
    with pytest.raises(QueryError, match="segment name"):
        Segment("a,b")
    assert Notify("me@example.com").email == "me@example.com"
    with pytest.raises(QueryError) as exc:
        Notify(None)  # type: ignore[arg-type]
    assert str(exc.value) == "Notify attribute must contain an email address"
    with pytest.raises(QueryError) as exc:
        Notify("not-an-address")
    assert str(exc.value) == (
        "Notify attribute must contain an '@' symbol to be a valid email address"
    )


@pytest.mark.parametrize(
    ("build", "op"),
    [
        (lambda k: k == 0, "="),
        (lambda k: k != 0, "!="),
        (lambda k: k < 0, "<"),
        (lambda k: k <= 0, "<="),
        (lambda k: k > 0, ">"),
        (lambda k: k >= 0, ">="),
    ],
)
def test_keyword_comparisons(build: Any, op: str) -> None:
    k = build(Keyword("bitmap_bzero"))
    assert isinstance(k, Keyword)
    assert (k.name, k.op, k.value) == ("bitmap_bzero", op, "0")
    assert k.has_comparison


def test_keyword_equality_between_keywords_is_by_value() -> None:
    assert (Keyword("a") == Keyword("a")) is True
    assert (Keyword("a") == Keyword("b")) is False
    assert (Keyword("a") != Keyword("b")) is True
    assert Keyword("a", "==", 1) == Keyword("a", "=", "1")
    assert Keyword("x") != Series("x")
    assert (Keyword("x") == Series("x")) is False
    with pytest.raises(QueryError, match="already has a comparison"):
        (Keyword("a") == 1) == 2  # noqa: B015
    with pytest.raises(QueryError, match="Unsupported keyword comparison"):
        Keyword("a", "~", "1")
    assert not Keyword("a").has_comparison


def test_sample_must_convert_to_seconds() -> None:
    assert Sample(10 * u.min).seconds == 600.0
    assert Sample(600 * u.s) == Sample(10 * u.min)
    with pytest.raises(QueryError, match="convertible to seconds"):
        Sample(10)  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="convertible to seconds"):
        Sample(10 * u.m)
    with pytest.raises(QueryError, match="positive"):
        Sample(0 * u.s)


def test_operators_flatten_like_sunpy_attrs() -> None:
    s, t, m = Series("hmi.v_45s"), Time("2014-01-01", "2014-01-02"), Sample(1 * u.h)
    q = s & t & m
    assert isinstance(q, And)
    assert q.children == (s, t, m)
    o = s | t | m
    assert isinstance(o, Or)
    assert len(o.children) == 3
    mixed = (s | t) & m
    assert isinstance(mixed, And)
    assert isinstance(mixed.children[0], Or)
    assert And(s) != Or(s)
    assert And(s, t) == And(Series("hmi.v_45s"), Time("2014-01-01", "2014-01-02"))


def test_ids_are_identity_not_value() -> None:
    a, b = Series("x"), Series("x")
    assert a == b
    assert a.id != b.id
    c = a.with_id(99)
    assert c.id == 99
    assert c == a


def test_serialisation_round_trip_every_kind() -> None:
    q = Or(
        And(
            Series("hmi.sharp_720s"),
            Time(ATime("2014-01-01T00:00:35.5", scale="tai"), "2014-01-01T01:00"),
            PrimeKey("HARPNUM", "4864"),
            Segment("continuum"),
            Keyword("bitmap_bzero") == 0,
            Keyword("QUALITY"),
            Sample(12 * u.min),
            Notify("a@b.org"),
        ),
        And(Series("aia.lev1_euv_12s"), Wavelength(17.1 * u.nm, 19.3 * u.nm)),
    )
    data = node_to_dict(q)
    back = node_from_dict(data)
    assert back == q
    assert node_to_dict(back) == data


@pytest.mark.parametrize(
    "bad",
    [
        None,
        [],
        {"type": "nope"},
        {"type": "and"},
        {"type": "and", "children": {}},
        {"type": "series"},
        {"type": "series", "name": 3},
        {"type": "time", "start": "x", "end": "y", "scale": "utc"},
        {"type": "time", "start": "2014-01-01T00:00:00", "end": "y", "scale": "nope"},
        {"type": "wavelength", "min": 1, "max": 1, "unit": "parsec-ish"},
        {"type": "wavelength", "min": True, "max": 1, "unit": "AA"},
        {"type": "keyword", "name": "a", "op": 1},
        {"type": "sample", "value": 1, "unit": "m"},
        {"type": "notify", "email": "x"},
    ],
)
def test_node_from_dict_rejects_garbage(bad: Any) -> None:
    with pytest.raises(QueryError):
        node_from_dict(bad)


def test_node_from_dict_depth_limit() -> None:
    d: dict[str, Any] = {"type": "series", "name": "a"}
    for _ in range(100):
        d = {"type": "and", "children": [d]}
    with pytest.raises(QueryError, match="too deeply"):
        node_from_dict(d)


# --- QueryTree -----------------------------------------------------------------------------


class Recorder:
    def __init__(self, tree: QueryTree) -> None:
        self.log: list[tuple[Any, ...]] = []
        ev = tree.events
        for name in (
            "inserting",
            "inserted",
            "removing",
            "removed",
            "moving",
            "moved",
            "changed",
            "resetting",
            "reset",
            "modified",
        ):
            getattr(ev, name).connect(lambda *a, _n=name: self.log.append((_n, *a)))


def test_tree_wraps_leaf_root_and_reads() -> None:
    s = Series("hmi.v_45s")
    tree = QueryTree(s)
    assert isinstance(tree.root, And)
    assert tree.root.children == (s,)
    assert tree.child_ids(tree.root_id) == (s.id,)
    assert tree.node(s.id) is tree.root.children[0]
    assert tree.parent_id(s.id) == tree.root_id
    assert tree.parent_id(tree.root_id) is None
    assert tree.row(s.id) == 0
    assert tree.kind(s.id) == "series"
    assert tree.kind(tree.root_id) == "and"
    assert not tree.is_group(s.id)
    assert len(tree) == 2
    assert s.id in tree
    assert list(tree.ids()) == [tree.root_id, s.id]
    assert "QueryTree" in repr(tree)
    with pytest.raises(KeyError):
        tree.node(-1)
    assert QueryTree().root == And()


def test_tree_insert_remove_events() -> None:
    tree = QueryTree()
    rec = Recorder(tree)
    r = tree.root_id
    sid = tree.append(r, Series("hmi.v_45s"))
    tid = tree.insert(r, 0, Time("2014-01-01", "2014-01-02"))
    assert rec.log == [
        ("inserting", r, 0, 1),
        ("inserted", r, 0, 1),
        ("modified",),
        ("inserting", r, 0, 1),
        ("inserted", r, 0, 1),
        ("modified",),
    ]
    assert tree.child_ids(r) == (tid, sid)
    rec.log.clear()
    removed = tree.remove(tid)
    assert removed == Time("2014-01-01", "2014-01-02")
    assert rec.log == [("removing", r, 0, 1), ("removed", r, 0, 1), ("modified",)]
    assert tid not in tree
    with pytest.raises(IndexError):
        tree.insert(r, 5, Series("x"))
    with pytest.raises(QueryError, match="Only groups"):
        tree.insert(sid, 0, Series("x"))
    with pytest.raises(QueryError, match="root group"):
        tree.remove(r)


def test_tree_insert_group_and_duplicate_ids_get_fresh_ids() -> None:
    tree = QueryTree()
    s = Series("a")
    first = tree.append(tree.root_id, s)
    second = tree.append(tree.root_id, s)
    assert first == s.id
    assert second != first
    gid = tree.append(tree.root_id, Or(Series("b"), Series("c")))
    assert tree.is_group(gid)
    assert tree.child_count(gid) == 2
    assert tree.root == And(Series("a"), Series("a"), Or(Series("b"), Series("c")))
    assert tree.path(tree.child_id(gid, 1)) == (2, 1)


def test_tree_move_follows_qt_convention() -> None:
    a, b, c = Series("a"), Series("b"), Series("c")
    tree = QueryTree(And(a, b, c, Or()))
    rec = Recorder(tree)
    r = tree.root_id
    tree.move(a.id, r, 3)  # a before the Or group (row 3 before the move)
    assert [n.describe() for n in tree.root.children[:3]] == ["Series: b", "Series: c", "Series: a"]
    assert rec.log[0] == ("moving", r, 0, r, 3)
    assert rec.log[1] == ("moved", r, 0, r, 3)
    gid = tree.child_id(r, 3)
    tree.move(b.id, gid, 0)  # regroup into the OR
    assert tree.root == And(Series("c"), Series("a"), Or(Series("b")))
    assert tree.parent_id(b.id) == gid
    rec.log.clear()
    tree.move(c.id, r, 0)  # no-op
    tree.move(c.id, r, 1)  # no-op
    assert rec.log == []
    with pytest.raises(QueryError, match="into itself"):
        tree.move(gid, gid, 0)
    with pytest.raises(IndexError):
        tree.move(c.id, gid, 7)


def test_tree_replace_value_keeps_id_and_emits_changed() -> None:
    t = Time("2014-01-01", "2014-01-02")
    tree = QueryTree(And(Series("a"), t))
    rec = Recorder(tree)
    new_id = tree.replace(t.id, Time("2015-01-01", "2015-01-02"))
    assert new_id == t.id
    assert tree.node(t.id) == Time("2015-01-01", "2015-01-02")
    assert rec.log == [("changed", t.id), ("modified",)]


def test_tree_replace_structural_and_kind_changes() -> None:
    s = Series("a")
    inner = Or(Series("b"), Series("c"))
    tree = QueryTree(And(s, inner))
    rec = Recorder(tree)
    # same children, other kind -> changed in place
    assert tree.replace(inner.id, And(Series("b"), Series("c"))) == inner.id
    assert rec.log == [("changed", inner.id), ("modified",)]
    assert isinstance(tree.node(inner.id), And)
    rec.log.clear()
    # leaf -> group: remove + insert at the same row
    nid = tree.replace(s.id, Or(Series("x")))
    assert tree.row(nid) == 0
    assert [e[0] for e in rec.log] == [
        "removing",
        "removed",
        "modified",
        "inserting",
        "inserted",
        "modified",
    ]
    # replacing the root resets
    rec.log.clear()
    tree.replace(tree.root_id, Series("z"))
    assert tree.root == And(Series("z"))
    assert rec.log[:2] == [("resetting",), ("reset",)]


def test_tree_set_kind_wrap_unwrap() -> None:
    a, b = Series("a"), Series("b")
    tree = QueryTree(And(a, b))
    tree.set_kind(tree.root_id, "or")
    assert isinstance(tree.root, Or)
    tree.set_kind(tree.root_id, "or")  # no change, no error
    with pytest.raises(QueryError, match="Only groups"):
        tree.set_kind(a.id, "and")
    gid = tree.wrap(b.id, "and")
    assert tree.root == Or(Series("a"), And(Series("b")))
    tree.append(gid, Time("2014-01-01", "2014-01-02"))
    tree.unwrap(gid)
    assert tree.root == Or(Series("a"), Series("b"), Time("2014-01-01", "2014-01-02"))
    assert gid not in tree
    with pytest.raises(QueryError, match="Only groups can be unwrapped"):
        tree.unwrap(a.id)


def test_tree_dict_round_trip_and_snapshot_cache() -> None:
    tree = QueryTree(Series("hmi.v_45s") & (Segment("a") | Segment("b")))
    snap = tree.root
    assert tree.root is snap  # cached
    again = QueryTree.from_dict(tree.to_dict())
    assert again.root == tree.root
    tree.append(tree.root_id, Sample(1 * u.h))
    assert tree.root is not snap


# --- events drive a shadow model exactly like a Qt item model would ------------------------


class Shadow:
    """Rebuilds the tree structure from events only (what a Qt model does)."""

    def __init__(self, tree: QueryTree) -> None:
        self.tree = tree
        self.children: dict[int, list[int]] = {}
        self._pending_move: tuple[int, int, int, int] | None = None
        self._rebuild()
        ev = tree.events
        ev.inserted.connect(self._on_inserted)
        ev.removed.connect(self._on_removed)
        ev.moving.connect(self._on_moving)
        ev.moved.connect(self._on_moved)
        ev.reset.connect(self._rebuild)

    def _adopt(self, nid: int) -> None:
        if self.tree.is_group(nid):
            self.children[nid] = list(self.tree.child_ids(nid))
            for c in self.children[nid]:
                self._adopt(c)

    def _rebuild(self) -> None:
        self.children = {}
        self._adopt(self.tree.root_id)

    def _on_inserted(self, parent: int, row: int, count: int) -> None:
        new = list(self.tree.child_ids(parent)[row : row + count])
        self.children[parent][row:row] = new
        for nid in new:
            self._adopt(nid)

    def _on_removed(self, parent: int, row: int, count: int) -> None:
        del self.children[parent][row : row + count]

    def _on_moving(self, sp: int, sr: int, dp: int, dr: int) -> None:
        self._pending_move = (sp, sr, dp, dr)

    def _on_moved(self, sp: int, sr: int, dp: int, dr: int) -> None:
        assert self._pending_move == (sp, sr, dp, dr)
        item = self.children[sp].pop(sr)
        if sp == dp and dr > sr:
            dr -= 1
        self.children[dp].insert(dr, item)

    def structure(self, nid: int) -> Any:
        if nid not in self.children:
            return nid
        return (nid, [self.structure(c) for c in self.children[nid]])


def _tree_structure(tree: QueryTree, nid: int) -> Any:
    if not tree.is_group(nid):
        return nid
    return (nid, [_tree_structure(tree, c) for c in tree.child_ids(nid)])


_LEAVES = [Series("a"), Segment("s"), PrimeKey("K", "1"), Keyword("Q") > 1]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_edits_keep_events_and_structure_consistent(data: st.DataObject) -> None:
    tree = QueryTree()
    shadow = Shadow(tree)
    for _ in range(data.draw(st.integers(1, 25))):
        ids = list(tree.ids())
        groups = [i for i in ids if tree.is_group(i)]
        non_root = [i for i in ids if i != tree.root_id]
        op = data.draw(
            st.sampled_from(
                ["insert", "group", "remove", "move", "replace", "kind", "wrap", "unwrap"]
            )
        )
        if op == "insert":
            parent = data.draw(st.sampled_from(groups))
            row = data.draw(st.integers(0, tree.child_count(parent)))
            tree.insert(parent, row, data.draw(st.sampled_from(_LEAVES)))
        elif op == "group":
            parent = data.draw(st.sampled_from(groups))
            tree.append(parent, Or(Series("x"), And(Segment("y"))))
        elif op == "remove" and non_root:
            tree.remove(data.draw(st.sampled_from(non_root)))
        elif op == "move" and non_root:
            nid = data.draw(st.sampled_from(non_root))
            dest = data.draw(st.sampled_from(groups))
            inside = {n.id for n in tree.node(nid).walk()}
            if dest in inside:
                with pytest.raises(QueryError, match="into itself"):
                    tree.move(nid, dest, 0)
            else:
                tree.move(nid, dest, data.draw(st.integers(0, tree.child_count(dest))))
        elif op == "replace" and non_root:
            tree.replace(data.draw(st.sampled_from(non_root)), data.draw(st.sampled_from(_LEAVES)))
        elif op == "kind":
            tree.set_kind(
                data.draw(st.sampled_from(groups)), data.draw(st.sampled_from(["and", "or"]))
            )
        elif op == "wrap" and non_root:
            tree.wrap(data.draw(st.sampled_from(non_root)), "or")
        elif op == "unwrap":
            candidates = [g for g in groups if g != tree.root_id]
            if candidates:
                tree.unwrap(data.draw(st.sampled_from(candidates)))
        assert shadow.structure(tree.root_id) == _tree_structure(tree, tree.root_id)
        snapshot = tree.root
        assert QueryTree.from_dict(tree.to_dict()).root == snapshot
        for nid in tree.ids():
            assert tree.node(nid).id == nid
            parent = tree.parent_id(nid)
            if parent is not None:
                assert tree.child_id(parent, tree.row(nid)) == nid
