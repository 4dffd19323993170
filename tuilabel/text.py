"""Text from the data made safe to write to a terminal or a text file.

Labels, rater names, URLs, tweet ids, file names and error messages that quote them come from
files and databases that anyone may have written. A rater name holding ``ESC ] 52 ; c ; ... BEL``
writes into the clipboard of the terminal that prints it (through tmux too), ``ESC [ 2 J`` clears
the screen, a bidirectional override reorders the rest of the line. Every command that writes
such text to a terminal or a text file passes it through `visible` first: each control
character becomes a visible escape (``\\x1b``, ``\\u202e``), as Python's `repr` writes it, so
the reader sees that it is there and nothing acts on it.

Kept apart from the UI (`tuilabel.tui.text` reuses the pattern) and free of imports beyond the
standard library so that every layer may use it.
"""

from __future__ import annotations

import re
from typing import IO, Any, TypeVar

#: C0 and C1 control characters and DEL (category Cc), the Unicode bidirectional embedding,
#: override, isolate and mark characters, and the line and paragraph separators: everything
#: that moves the cursor, starts an escape sequence, reorders a line or breaks it.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

#: The same, less newline and tab (for multi-line text: reports, messages).
CONTROL_BUT_LINES = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(value: object, *, lines: bool = False) -> str:
    """`str(value)` with every control character written as a visible escape (``\\x1b``,
    ``\\x07``, ``\\u202e``), so that text from the data cannot act on a terminal.

    With `lines=True`, newlines and tabs are kept (for multi-line text); otherwise the result
    is one line. Printable text, including any non-ASCII letter, is unchanged.
    """
    text = str(value)
    pattern = CONTROL_BUT_LINES if lines else CONTROL
    return pattern.sub(_escape, text) if pattern.search(text) else text


def has_control(value: object) -> bool:
    """Whether `str(value)` holds a character that `visible` would escape."""
    return CONTROL.search(str(value)) is not None


class VisibleWriter:
    """A text stream that writes through `visible(..., lines=True)`: for data formats (an
    export, CSV rows) printed to a terminal, where an escape sequence in a field would act on
    it. Written to a file or a pipe the data is left as it is (it is data for other programs);
    see `for_terminal`."""

    def __init__(self, target: IO[str]) -> None:
        self._target = target

    def write(self, text: str) -> int:
        self._target.write(visible(text, lines=True))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


S = TypeVar("S", bound=IO[Any])


def for_terminal(stream: S) -> S:
    """`stream` itself, or a `VisibleWriter` over it (same interface) when it is a
    terminal."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError, OSError):
        tty = False
    return VisibleWriter(stream) if tty else stream  # type: ignore[return-value]


