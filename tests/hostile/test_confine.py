"""``core.paths.confine``: the one path check every writer of data-supplied paths uses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jsocdesk.core.paths import UnsafePath, confine


def test_relative_names_and_subfolders_stay_inside(tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.mkdir()
    assert confine(root, "a.fits") == root.resolve() / "a.fits"
    assert confine(root, "sub/dir/a.fits") == root.resolve() / "sub" / "dir" / "a.fits"
    assert confine(root, "./a.fits") == root.resolve() / "a.fits"
    assert confine(root, str(root / "b.fits")) == root.resolve() / "b.fits"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "..",
        "../x.fits",
        "a/../../x.fits",
        "sub/../../x",
        "/etc/passwd",
        "C:/Windows/x",
        "c:x",
        "\\\\host\\share\\x",
        "..\\x",
        "a\x00b",
        ".",
        "sub/..",
    ],
)
def test_escapes_are_refused(tmp_path: Path, bad: str) -> None:
    root = tmp_path / "out"
    root.mkdir()
    with pytest.raises(UnsafePath):
        confine(root, bad)


def test_absolute_path_of_a_sibling_folder_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.mkdir()
    with pytest.raises(UnsafePath):
        confine(root, str(tmp_path / "out2" / "x"))
    with pytest.raises(UnsafePath):
        confine(root, str(tmp_path / "x"))


def test_symlinked_directory_leading_out_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", root / "link")
    with pytest.raises(UnsafePath):
        confine(root, "link/x.fits")


def test_root_that_is_a_link_is_resolved(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "alias")
    assert confine(tmp_path / "alias", "a") == real.resolve() / "a"
    assert confine(tmp_path / "alias", str(tmp_path / "alias" / "a")) == real.resolve() / "a"


def test_unsafe_path_is_a_jsocdesk_error() -> None:
    from jsocdesk.core.errors import JsocdeskError

    assert issubclass(UnsafePath, JsocdeskError)
