"""A label written large above the grid: the text drawn with a bitmap font into block
characters, two font pixels per cell (upper and lower half), so that "tabby" reads at a glance.

Pillow's built-in font (`ImageFont.load_default(size)`) draws the text; each cell then shows one
of ` `, `▀`, `▄`, `█` in one colour. When the text does not fit even at the smallest size, it is
shown in plain bold letters, wrapped over the banner's rows (cut only where even they are too
few). Runs on the UI thread but is cached per (text, width).
"""

from __future__ import annotations

import textwrap
from functools import lru_cache

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont
from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}
#: Font sizes tried, largest first (pixels; each cell row holds two).
SIZES = (14, 12, 10, 8)


def _bitmap(text: str, size: int) -> np.ndarray:
    """`text` drawn at `size` pixels: a boolean array (rows, columns), trimmed to the ink."""
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    width, height = max(1, right - left), max(1, bottom - top)
    img = PILImage.new("L", (int(width), int(height)), 0)
    ImageDraw.Draw(img).text((-left, -top), text, fill=255, font=font)
    ink = np.asarray(img) >= 110
    if ink.shape[0] % 2:
        ink = np.vstack([ink, np.zeros((1, ink.shape[1]), dtype=bool)])
    return ink


@lru_cache(maxsize=64)
def banner_lines(text: str, width: int, height: int) -> tuple[str, ...]:
    """`text` in block characters at the largest size that fits `width` x `height` cells;
    () when none fits (the caller then shows the text plainly)."""
    if not text.strip():
        return ()
    for size in SIZES:
        ink = _bitmap(text, size)
        rows, cols = ink.shape[0] // 2, ink.shape[1]
        if cols <= width and rows <= height:
            upper, lower = ink[0::2], ink[1::2]
            return tuple("".join(_BLOCKS[(bool(u), bool(lo))] for u, lo in zip(ur, lr,
                                                                                 strict=True))
                         for ur, lr in zip(upper, lower, strict=True))
    return ()


def plain_lines(text: str, width: int, height: int) -> list[str]:
    """`text` in plain letters, wrapped onto at most `height` lines of `width` cells (between
    words where it can); only what does not fit even then is cut, with "…"."""
    if width <= 0 or height <= 0:
        return []
    lines = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=True) or [""]
    lines = [line if cell_len(line) <= width else set_cell_size(line, width) for line in lines]
    if len(lines) > height:
        last = " ".join(lines[height - 1:])
        lines = lines[:height - 1] + [set_cell_size(last, max(width - 1, 0)) + "…"]
    return lines


def render_banner(text: str, width: int, height: int, style: str = "bold") -> list[Strip]:
    """Exactly `height` strips of `width` cells: `text` large and centred, else plain."""
    rich_style = Style.parse(style)
    lines = list(banner_lines(text, width, height)) or plain_lines(text, width, height)
    top = max(0, (height - len(lines)) // 2)
    strips = [Strip.blank(width)] * top
    for line in lines[:height]:
        left = max(0, (width - cell_len(line)) // 2)
        strips.append(Strip([Segment(" " * left), Segment(line, rich_style)])
                      .adjust_cell_length(width))
    strips.extend([Strip.blank(width)] * (height - len(strips)))
    return strips
