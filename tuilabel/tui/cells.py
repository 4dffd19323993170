"""Photos as terminal cells: half-block characters whose two colours are two pixels.

This runs in worker threads, ahead of the key press that shows the photo, because building the
cells of a full-size pane costs tens of milliseconds of Python, too much to do on the UI thread
between a key press and the next frame. The result is a list of Textual `Strip`s exactly as
wide and as tall as the pane (the photo centred, aspect ratio kept), so that drawing it is a
list lookup per line.

The cells are the ones rich-pixels' `HalfcellRenderer` makes (`▄`, foreground = lower pixel,
background = upper pixel); `FastHalfcellRenderer` reads the pixels in bulk instead of one
`getpixel` and one `Style.parse` per pixel, which is several times faster. In 256-colour
terminals the colours are mapped to the xterm palette here, in the worker, rather than by
Rich's per-colour downgrade on the UI thread when the frame is written.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image as PILImage
from rich.cells import cell_len, set_cell_size
from rich.color import Color
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style
from rich_pixels import HalfcellRenderer
from textual.strip import Strip

LOWER_HALF = "▄"

# The xterm 256-colour palette's cube levels (indices 16..231) and grey ramp (232..255).
_CUBE = np.array([0, 95, 135, 175, 215, 255], dtype=np.int32)
_GREYS = np.arange(8, 239, 10, dtype=np.int32)


def fit_size(image_size: tuple[int, int], cols: int, rows: int) -> tuple[int, int]:
    """The size in pixels (width, even height) a photo is scaled to so that it fits a pane of
    `cols` x `rows` cells (each cell is one pixel wide and two high), aspect ratio kept."""
    iw, ih = image_size
    if iw <= 0 or ih <= 0 or cols <= 0 or rows <= 0:
        return (0, 0)
    scale = min(cols / iw, (2 * rows) / ih)
    width = max(1, min(cols, round(iw * scale)))
    height = max(2, min(2 * rows, round(ih * scale)))
    height -= height % 2
    return (width, height)


def xterm_index(rgb: np.ndarray) -> np.ndarray:
    """The nearest xterm-256 palette index (16..255) of each RGB triple in an (..., 3) array."""
    rgb = rgb.astype(np.int32)
    # Nearest cube level per channel.
    level = np.abs(rgb[..., None] - _CUBE).argmin(axis=-1)
    cube_rgb = _CUBE[level]
    cube_idx = 16 + 36 * level[..., 0] + 6 * level[..., 1] + level[..., 2]
    cube_err = ((cube_rgb - rgb) ** 2).sum(axis=-1)
    grey_level = np.clip(np.rint((rgb.mean(axis=-1) - 8) / 10), 0, 23).astype(np.int32)
    grey = _GREYS[grey_level]
    grey_err = ((rgb - grey[..., None]) ** 2).sum(axis=-1)
    return np.where(grey_err < cube_err, 232 + grey_level, cube_idx)


@lru_cache(maxsize=256)
def _ansi(index: int) -> Color:
    return Color.from_ansi(index)


class FastHalfcellRenderer(HalfcellRenderer):
    """rich-pixels' half-cell renderer, reading pixels in bulk (see the module docstring).

    `truecolor=False` maps colours to the xterm-256 palette. Expects an RGB image already at
    its final size (resize with a good filter first: rich-pixels itself resizes NEAREST).
    """

    def __init__(self, *, truecolor: bool = True) -> None:
        super().__init__()
        self.truecolor = truecolor

    def render_rows(self, image: PILImage.Image) -> list[list[Segment]]:
        """The cells of `image`, one list of segments per row of cells (2 pixel rows)."""
        rgb = np.asarray(image.convert("RGB"))
        if rgb.shape[0] % 2:
            rgb = np.concatenate([rgb, rgb[-1:]], axis=0)
        upper, lower = rgb[0::2], rgb[1::2]
        rows: list[list[Segment]] = []
        if self.truecolor:
            from_rgb = Color.from_triplet
            for up_row, lo_row in zip(upper.tolist(), lower.tolist(), strict=True):
                rows.append(
                    [
                        Segment(
                            LOWER_HALF,
                            Style.from_color(
                                from_rgb(ColorTriplet(*lo)), from_rgb(ColorTriplet(*up))
                            ),
                        )
                        for up, lo in zip(up_row, lo_row, strict=True)
                    ]
                )
        else:
            up_idx, lo_idx = xterm_index(upper).tolist(), xterm_index(lower).tolist()
            for up_row, lo_row in zip(up_idx, lo_idx, strict=True):
                rows.append(
                    [
                        Segment(LOWER_HALF, Style.from_color(_ansi(lo), _ansi(up)))
                        for up, lo in zip(up_row, lo_row, strict=True)
                    ]
                )
        return rows

    def render(self, image: PILImage.Image, resize: tuple[int, int] | None) -> list[Segment]:
        """Same contract as rich-pixels' `Renderer.render`: segments with newlines."""
        if resize:
            image = image.resize(resize, resample=PILImage.Resampling.NEAREST)
        out: list[Segment] = []
        for row in self.render_rows(image):
            out.extend(row)
            out.append(Segment("\n", self.null_style))
        return out


def _centre(rows: list[list[Segment]], cols: int, nrows: int) -> list[Strip]:
    """Pad the cell rows with blanks to exactly cols x nrows, centred."""
    content_w = len(rows[0]) if rows else 0
    left = max(0, (cols - content_w) // 2)
    right = max(0, cols - content_w - left)
    top = max(0, (nrows - len(rows)) // 2)
    blank = Strip.blank(cols)
    strips = [blank] * top
    for row in rows[: nrows]:
        segs = []
        if left:
            segs.append(Segment(" " * left))
        segs.extend(row)
        if right:
            segs.append(Segment(" " * right))
        strips.append(Strip(segs, cols))
    strips.extend([blank] * (nrows - len(strips)))
    return strips


def render_photo(
    image: PILImage.Image, cols: int, rows: int, *, truecolor: bool = True
) -> list[Strip]:
    """The photo scaled to fit `cols` x `rows` cells and centred: exactly `rows` strips of
    `cols` cells each."""
    size = fit_size(image.size, cols, rows)
    if size == (0, 0):
        return [Strip.blank(max(cols, 0))] * max(rows, 0)
    if image.mode != "RGB":
        image = image.convert("RGB")
    # JPEG-sized photos shrink to a few dozen cells: reduce() first is fast and keeps quality.
    factor = min(image.width // size[0], image.height // size[1])
    if factor >= 2:
        image = image.reduce(factor)
    scaled = image.resize(size, resample=PILImage.Resampling.BILINEAR)
    return _centre(FastHalfcellRenderer(truecolor=truecolor).render_rows(scaled), cols, rows)


def render_message(lines: list[str], cols: int, rows: int, style: str = "") -> list[Strip]:
    """A text placeholder (a photo that failed, or "loading"), centred in the pane.

    `lines` must be plain text already cleaned of control characters."""
    rich_style = Style.parse(style) if style else None
    shown = lines[:rows]
    top = max(0, (rows - len(shown)) // 2)
    strips = [Strip.blank(cols)] * top
    for line in shown:
        line = line if cell_len(line) <= cols else set_cell_size(line, max(cols - 1, 0)) + "…"
        left = max(0, (cols - cell_len(line)) // 2)
        strips.append(
            Strip([Segment(" " * left), Segment(line, rich_style)]).adjust_cell_length(cols)
        )
    strips.extend([Strip.blank(cols)] * (rows - len(strips)))
    return strips
