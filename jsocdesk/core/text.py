"""Server text made safe to show: the one sanitiser for terminals, labels and dialogs.

Anything a server (or a session file from anywhere) says can reach a terminal or a widget:
JSOC's ``error`` strings, HTTP reason phrases, file names, keyword values.  Raw, such text
can carry ESC/CSI/OSC sequences (retitle the terminal, move the cursor, erase the line and
print a fake "all files downloaded" line), BEL, carriage returns that overwrite a line, C1
controls (``\\x9b`` is a CSI on some terminals), Unicode bidi overrides that show
``evil\\u202excod.fits`` as ``evildoc.fits``, zero-width characters, and lone surrogates
that make ``print`` raise :class:`UnicodeEncodeError`.

:func:`clean` turns any string into printable text: every such character becomes a visible
``?`` (tabs and newlines stay with ``keep_newlines``, else they become a space), lone surrogates
become U+FFFD, and the result is cut to ``limit`` characters with an ellipsis.  Escape
sequences are removed whole (``ESC [ 2 J`` leaves no ``[2J`` behind).
"""

from __future__ import annotations

import re
from typing import Any

#: the longest text we show from a server in one message
DEFAULT_LIMIT = 2000

#: C0 and C1 controls (but not TAB/LF, handled separately), DEL
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f"
#: bidi embeddings/overrides/isolates and marks, zero-width and invisible formatters,
#: line/paragraph separators, the BOM and interlinear annotation characters
_INVISIBLE = (
    "\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\u00ad\u180e"
)
#: characters never shown as they are (a class; also used for file names)
UNSAFE_CHARS = re.compile(f"[{_CONTROLS}{_INVISIBLE}]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# ESC/C1-introduced sequences: CSI ... final, OSC ... BEL/ST, other ESC x
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI
    r"|(?:\x1b[\]PX^_]|[\x90\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC/DCS/...
    r"|\x1b[ -/]*[0-~]?"  # two-char escapes (ESC c, ESC 7, ...)
)


def strip_surrogates(text: str) -> str:
    """``text`` with lone surrogates (undecodable bytes) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def clean(text: Any, *, limit: int | None = DEFAULT_LIMIT, keep_newlines: bool = False) -> str:
    """Printable text for ``text`` (see the module docstring); ``str()`` of non-strings."""
    s = text if isinstance(text, str) else str(text)
    s = strip_surrogates(s)
    s = _ESCAPES.sub("", s)
    s = s.replace("\r\n", "\n")
    if keep_newlines:  # multi-line text (a table, a traceback): newlines and tabs stay
        s = UNSAFE_CHARS.sub("?", s)
    else:
        s = re.sub(r"[\t\n]+", " ", s)
        s = UNSAFE_CHARS.sub("?", s)
    if limit is not None and len(s) > limit:
        s = s[: max(0, limit - 1)] + "…"
    return s


def has_unsafe(text: str) -> bool:
    """True if :func:`clean` would change ``text`` (ignoring length)."""
    return bool(UNSAFE_CHARS.search(text) or _SURROGATE.search(text))


class SafeStream:
    """A text stream wrapper whose ``write`` shows only :func:`clean` text (newlines kept).

    The CLI installs it over ``sys.stdout``/``sys.stderr`` so that nothing a server sent can
    reach the terminal raw, whichever command prints it.  Our own terminal control (the
    progress bar's ``\\r`` and erase-line) goes through :meth:`write_control`.
    """

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def write(self, text: str) -> int:
        self.raw.write(clean(text, limit=None, keep_newlines=True))
        return len(text)

    def write_control(self, text: str) -> int:
        """Write ``text`` as it is: only for text this program composed itself."""
        return int(self.raw.write(strip_surrogates(text)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def write_control(stream: Any, text: str) -> None:
    """Write our own control sequences to ``stream`` (through a :class:`SafeStream` too)."""
    writer = getattr(stream, "write_control", None)
    if writer is not None:
        writer(text)
    else:
        stream.write(text)
