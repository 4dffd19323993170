"""Text that comes from the data (labels, URLs, tweet ids, rater names) made safe to show.

Everything shown from the database goes through `clean` and is put on screen as a Rich `Text`
object (never parsed as markup), so neither Rich/Textual markup such as ``[bold]`` nor terminal
control sequences (ESC, BEL, CR, bidirectional overrides) in the data can change the screen.
"""

from __future__ import annotations

import re

# C0 and C1 control characters, DEL, the Unicode bidi controls and line separators: the one
# pattern every command uses (tuilabel.text); on screen they become `?`.
from tuilabel.text import CONTROL as _CONTROL

_LINKABLE = re.compile(r"^(https?|file)://", re.IGNORECASE)


def clean(value: object, limit: int = 500) -> str:
    """`value` as one line of printable text: control characters replaced by `?`, cut at
    `limit` characters."""
    text = _CONTROL.sub("?", str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape_text(value: object, limit: int = 5000) -> str:
    """Text of several lines (a tweet's) safe to show: line breaks kept, tabs as spaces, every
    other control character (ESC, BEL, CR, C1, bidi controls) written as a visible escape such
    as `\\x1b`, so it can neither change the screen nor hide; cut at `limit` characters."""
    text = str(value)
    cut = len(text) > limit
    text = text[:limit].replace("\r\n", "\n").replace("\t", "    ")

    def visible(match: re.Match[str]) -> str:
        ch = match.group(0)
        return ch if ch == "\n" else ch.encode("unicode_escape").decode("ascii")

    return _CONTROL.sub(visible, text) + ("…" if cut else "")


def link_target(url: str) -> str | None:
    """The URL to attach as a terminal hyperlink (OSC 8), or None when it should not be one:
    only http(s) and file URLs without control characters or spaces are linked."""
    if not _LINKABLE.match(url) or _CONTROL.search(url) or " " in url:
        return None
    return url
