"""One photo rendered into a box of terminal cells, the way the terminal draws best.

`render_picture(photo, cols, rows, display)` is what every photo pane uses (the score screen's
photo, zoom, and any grid tile): it returns a `Picture` with
- `strips`: exactly `rows` Textual strips of `cols` cells (half-block cells of the photo, or
  blank cells under a pixel image), and
- for Sixel and Kitty graphics, `payload`: the encoded image, at the box's real pixel size
  (cells x the cell size the terminal reported), centred on whole cells.

It runs in a worker thread, never on a key press (a 600x650 Sixel is encoded in a separate
process, see sixel.py); `PhotoView` (widgets.py) only writes the prepared strings.

Sixel is encoded by textual-image's encoder (`textual_image._sixel.image_to_sixels`: Pillow's
fast-octree quantisation to the terminal's colour registers, band packing and run-length
coding in numpy). Its Textual widgets are not used: they ask the terminal on import (three
queries, 0.1 s each), encode inside `render_lines` on the UI thread, and draw Kitty images only
through Unicode placeholders (kitty 0.28+). The Kitty graphics protocol itself is small: the
RGB pixels, zlib-compressed and base64-encoded in 4096-byte chunks (`a=t`), then placements
(`a=p`) at the cursor; see https://sw.kovidgoyal.net/kitty/graphics-protocol/.

Inside tmux with `allow-passthrough` on (graphics.py), every Kitty command is wrapped in tmux's
passthrough, each 4096-byte chunk on its own (yazi's old-kitty driver does the same: tmux
buffers a whole passthrough string before handing it on), and the placement carries its own
absolute cursor move on the outer screen (`PhotoView`, widgets.py).
"""

from __future__ import annotations

import base64
import itertools
import random
import zlib
from dataclasses import dataclass

from PIL import Image as PILImage
from textual.strip import Strip

from tuilabel.tui.cells import fit_size, render_photo, scale_to
from tuilabel.tui.graphics import Display, TmuxPane, tmux_wrap
from tuilabel.tui.sixel import encode_sixel, encode_sixel_elsewhere

#: Kitty image ids, from a point of 2**31 chosen per process: outside tmux every terminal window
#: keeps its own images, but through tmux's passthrough the panes of one window share the
#: outer terminal's, so two tuilabels there must not reuse each other's ids.
_kitty_ids = itertools.count(random.randrange(1 << 24, 1 << 31))


@dataclass(frozen=True)
class Picture:
    """A photo ready to draw in a box of `cols` x `rows` cells.

    `graphics` is "halfblock", "sixel" or "kitty". For the last two, the image (`pixels`
    wide and high) goes at cell `at` (column, row) of the box and covers `cells`; `payload` is
    the Sixel string, or the Kitty transmission of image `kitty_id` (sent once, then placed).
    `tmux`: set when the Kitty commands go through tmux's passthrough (the payload is wrapped
    already; placements and deletions must be too), the pane whose origin places them.
    """

    strips: list[Strip]
    graphics: str = "halfblock"
    at: tuple[int, int] = (0, 0)
    cells: tuple[int, int] = (0, 0)
    pixels: tuple[int, int] = (0, 0)
    payload: str = ""
    kitty_id: int = 0
    tmux: TmuxPane | None = None

    @property
    def box(self) -> tuple[int, int]:
        """(cols, rows) of the box."""
        return (self.strips[0].cell_length if self.strips else 0, len(self.strips))


def pixel_fit(image_size: tuple[int, int], cols: int, rows: int,
              cell_px: tuple[int, int]) -> tuple[int, int]:
    """The size in pixels (width, height) of a photo scaled to fit `cols` x `rows` cells of
    `cell_px` (width, height) pixels, aspect ratio kept. Sixel bands are 6 pixels high, so the
    height is a multiple of 6 that stays inside the box."""
    iw, ih = image_size
    bw, bh = cols * cell_px[0], rows * cell_px[1]
    if iw <= 0 or ih <= 0 or bw <= 0 or bh <= 0:
        return (0, 0)
    scale = min(bw / iw, bh / ih)
    width = max(1, min(bw, round(iw * scale)))
    height = max(6, min(bh - bh % 6, round(ih * scale)))
    height -= height % 6
    return (width, height)


def kitty_transmit(image: PILImage.Image, image_id: int, *, through_tmux: bool = False) -> str:
    """Kitty graphics commands that send RGB `image` as image `image_id` without showing it
    (`a=t`, zlib-compressed 24-bit pixels in base64 chunks of 4096 bytes, no replies).
    `through_tmux`: each chunk's command wrapped in tmux's passthrough."""
    data = base64.standard_b64encode(zlib.compress(image.convert("RGB").tobytes(), 1))
    chunks = [data[i:i + 4096] for i in range(0, len(data), 4096)] or [b""]
    out = []
    for n, chunk in enumerate(chunks):
        more = 1 if n < len(chunks) - 1 else 0
        keys = (f"a=t,i={image_id},f=24,s={image.width},v={image.height},o=z,q=2,m={more}"
                if n == 0 else f"m={more},q=2")
        command = f"\x1b_G{keys};{chunk.decode('ascii')}\x1b\\"
        out.append(tmux_wrap(command) if through_tmux else command)
    return "".join(out)


def kitty_place(image_id: int) -> str:
    """Show image `image_id` at the cursor, the cursor not moving (placement 1, no reply)."""
    return f"\x1b_Ga=p,i={image_id},p=1,C=1,q=2\x1b\\"


def kitty_place_at(image_id: int, row: int, column: int) -> str:
    """Show image `image_id` with its top-left corner at cell (`row`, `column`) (0-based) of
    the screen, the cursor saved before and restored after (DECSC/DECRC): a placement sent
    through tmux's passthrough, where the outer terminal's cursor is wherever tmux left it."""
    return f"\x1b7\x1b[{row + 1};{column + 1}H{kitty_place(image_id)}\x1b8"


def kitty_hide(image_id: int, free: bool = False) -> str:
    """Remove image `image_id` from the screen; `free` also drops its pixels from the
    terminal's memory."""
    return f"\x1b_Ga=d,d={'I' if free else 'i'},i={image_id},q=2\x1b\\"


#: Remove every image placement on the screen (the pixels stay in the terminal's memory).
KITTY_HIDE_ALL = "\x1b_Ga=d,d=a,q=2\x1b\\"


def render_picture(photo: PILImage.Image, cols: int, rows: int, display: Display) -> Picture:
    """The photo in a box of `cols` x `rows` cells as `display` draws it best: see the module
    docstring. Half-block pictures use `display.colors`. Thread-safe (runs in workers)."""
    if display.graphics == "halfblock" or cols <= 0 or rows <= 0:
        return Picture(render_photo(photo, cols, rows, colors=display.colors))
    cw, ch = display.cell_px
    size = pixel_fit(photo.size, cols, rows, display.cell_px)
    blank = [Strip.blank(cols)] * rows
    if size == (0, 0):
        return Picture(blank)
    scaled = scale_to(photo, size)
    cells = (-(-size[0] // cw), -(-size[1] // ch))
    at = (max(0, (cols - cells[0]) // 2), max(0, (rows - cells[1]) // 2))
    if display.graphics == "sixel":
        payload = encode_sixel_elsewhere(scaled, display.sixel_colors)
        return Picture(blank, "sixel", at, cells, size, payload)
    image_id = next(_kitty_ids)
    pane = display.passthrough
    payload = kitty_transmit(scaled, image_id, through_tmux=pane is not None)
    return Picture(blank, "kitty", at, cells, size, payload, image_id, pane)


__all__ = ["KITTY_HIDE_ALL", "Picture", "encode_sixel", "fit_size", "kitty_hide", "kitty_place",
           "kitty_place_at", "kitty_transmit", "pixel_fit", "render_picture"]


@dataclass(frozen=True)
class Rendered:
    """A photo turned into a picture for one pane size, or the placeholder saying why it
    could not be (`failure` is then a short reason such as `http_404`)."""

    image_id: int
    size: tuple[int, int]
    picture: Picture
    failure: str | None = None
    detail: str = ""

    @property
    def strips(self) -> list[Strip]:
        """The picture's cells (blank under a pixel image)."""
        return self.picture.strips
