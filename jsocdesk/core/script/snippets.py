"""Small code snippets for the clipboard: downloaded files as a ``sunpy.map.Map(...)`` call."""

from __future__ import annotations

import os
from collections.abc import Iterable

from jsocdesk.core.script.common import py_str

__all__ = ["sunpy_map_call"]


def sunpy_map_call(paths: Iterable[str | os.PathLike[str]]) -> str:
    """``sunpy.map.Map("a.fits")`` for one file, ``sunpy.map.Map([...])`` (a list of maps)
    for several; paths are Python literals whatever their characters."""
    items = [py_str(os.fspath(p)) for p in paths]
    if not items:
        raise ValueError("no files")
    if len(items) == 1:
        return f"import sunpy.map\n\nsmap = sunpy.map.Map({items[0]})\n"
    body = "".join(f"    {p},\n" for p in items)
    return f"import sunpy.map\n\nmaps = sunpy.map.Map([\n{body}])\n"
