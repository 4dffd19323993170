"""NO_COLOR for the score app: decoration loses its colours, the photo keeps them.

https://no-color.org asks programs to stop *adding* colour to their output; a photo's colours
are its content. Textual's own NO_COLOR filter strips every colour, the photo's too, so the app
replaces it with this one, which spares the half-block cells (`▄`) that draw photos.
"""

from __future__ import annotations

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter

from tuilabel.tui.cells import LOWER_HALF

_DEFAULT_COLORS = Style.from_color(RichColor.parse("default"), RichColor.parse("default"))


class PhotoKeepsColour(LineFilter):
    """Remove colour from every segment except the photo's half-block cells."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        """The segments with default colours, photo cells untouched (LineFilter's contract)."""
        default = _DEFAULT_COLORS
        return [
            seg if text == LOWER_HALF or style is None or control
            else Segment(text, style + default, control)
            for seg in segments
            for text, style, control in (seg,)
        ]
