"""Photos as terminal cells: half-block characters whose two colours are two pixels.

This runs in worker threads, ahead of the key press that shows the photo, because building the
cells of a full-size pane costs tens of milliseconds of Python, too much to do on the UI thread
between a key press and the next frame. The result is a list of Textual `Strip`s exactly as
wide and as tall as the pane (the photo centred, aspect ratio kept), so that drawing it is a
list lookup per line.

The cells are the ones rich-pixels' `HalfcellRenderer` makes (`▄`, foreground = lower pixel,
background = upper pixel); `FastHalfcellRenderer` reads the pixels in bulk instead of one
`getpixel` and one `Style.parse` per pixel, which is several times faster.

Terminals without 24-bit colour get a dithered photo: Floyd-Steinberg error diffusion (Pillow's
`quantize(palette=...)`, in C) onto the colours the terminal has: xterm's 240 palette colours
16-255 (the cube and the grey ramp; 0-15 are left out because colour schemes change them), or
the 16 (8) basic colours as xterm draws them by default. Mapping each pixel to its nearest
palette colour instead loses the photo: measured on scikit-image's coffee photo at 130x50 with
tuilabel's fidelity tool, 256 colours go from 26 dB (nearest) to 41 dB (dithered), 16 colours
from 17 dB to 28 dB. The colours are chosen here, in the worker, rather than by Rich's
per-colour downgrade on the UI thread when the frame is written.
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
#: xterm's default colours for the 16 basic indices (what most terminals draw, give or take).
BASIC_RGB = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205),
             (0, 205, 205), (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0),
             (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255)]


def xterm_rgb(index: int) -> tuple[int, int, int]:
    """The RGB colour xterm draws for palette `index` (0..255) by default."""
    if index < 16:
        return BASIC_RGB[index]
    if index < 232:
        n = index - 16
        return (int(_CUBE[n // 36]), int(_CUBE[(n // 6) % 6]), int(_CUBE[n % 6]))
    return (int(_GREYS[index - 232]),) * 3


@lru_cache(maxsize=4)
def _palette(colors: str) -> tuple[PILImage.Image, np.ndarray]:
    """A Pillow palette image for `colors` ("256", "16" or "8") and the table from its
    entries to terminal colour indices. Pillow palettes have 256 entries: the unused ones
    repeat the first colour (and map to its index)."""
    indices = {"256": list(range(16, 256)), "16": list(range(16)), "8": list(range(8))}[colors]
    entries = indices + [indices[0]] * (256 - len(indices))
    flat = [c for i in entries for c in xterm_rgb(i)]
    image = PILImage.new("P", (1, 1))
    image.putpalette(flat)
    return image, np.array(entries, dtype=np.int32)


def dither(image: PILImage.Image, colors: str) -> np.ndarray:
    """Terminal colour indices (an int array of the image's height x width) that draw RGB
    `image` with the `colors` palette ("256", "16" or "8"), by Floyd-Steinberg error
    diffusion."""
    palette, table = _palette(colors)
    quantized = image.convert("RGB").quantize(palette=palette,
                                              dither=PILImage.Dither.FLOYDSTEINBERG)
    return table[np.asarray(quantized, dtype=np.uint8)]


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


@lru_cache(maxsize=256)
def _ansi(index: int) -> Color:
    return Color.from_ansi(index)


class FastHalfcellRenderer(HalfcellRenderer):
    """rich-pixels' half-cell renderer, reading pixels in bulk (see the module docstring).

    `colors` is the terminal's colour depth: "truecolor" (24-bit RGB cells), or "256", "16",
    "8" (a dithered photo in palette colours, see `dither`). Expects an RGB image already at
    its final size (resize with a good filter first: rich-pixels itself resizes NEAREST).
    """

    def __init__(self, *, colors: str = "truecolor") -> None:
        super().__init__()
        if colors not in ("truecolor", "256", "16", "8"):
            raise ValueError(f"unknown colour depth {colors!r}")
        self.colors = colors

    def render_rows(self, image: PILImage.Image) -> list[list[Segment]]:
        """The cells of `image`, one list of segments per row of cells (2 pixel rows)."""
        rgb = np.asarray(image.convert("RGB"))
        if rgb.shape[0] % 2:
            rgb = np.concatenate([rgb, rgb[-1:]], axis=0)
        rows: list[list[Segment]] = []
        if self.colors == "truecolor":
            upper, lower = rgb[0::2], rgb[1::2]
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
            index = dither(PILImage.fromarray(rgb), self.colors)
            up_idx, lo_idx = index[0::2].tolist(), index[1::2].tolist()
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


def scale_to(image: PILImage.Image, size: tuple[int, int]) -> PILImage.Image:
    """`image` as RGB at `size` (width, height) pixels: reduce() by a whole factor first when
    shrinking a lot (fast, and keeps quality), then a bilinear resize to the exact size."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    factor = min(image.width // size[0], image.height // size[1])
    if factor >= 2:
        image = image.reduce(factor)
    if image.size == size:
        return image
    return image.resize(size, resample=PILImage.Resampling.BILINEAR)


def render_photo(
    image: PILImage.Image, cols: int, rows: int, *, colors: str = "truecolor"
) -> list[Strip]:
    """The photo scaled to fit `cols` x `rows` cells and centred: exactly `rows` strips of
    `cols` cells each. `colors`: see `FastHalfcellRenderer`."""
    size = fit_size(image.size, cols, rows)
    if size == (0, 0):
        return [Strip.blank(max(cols, 0))] * max(rows, 0)
    scaled = scale_to(image, size)
    return _centre(FastHalfcellRenderer(colors=colors).render_rows(scaled), cols, rows)


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
