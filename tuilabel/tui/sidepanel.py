"""How wide the score screen's side panel is: what its text needs, within bounds, so that the
photo gets the rest of the screen.

The text that sets the width is what belongs to the photo: the top-5 labels with their bars and
percentages, the tweet id, the model, the photo's file name (a long path is cut from the left),
the rater, the key hints and the verdict buttons. Lines that may run longer (progress figures,
status messages, a class name longer than the panel may grow) wrap inside it.

Plain functions of the photo and the keys, without Textual, so that the warm start (`warm.py`)
can size the first photo's pane before Textual is imported, and the preloader can render each
photo ahead at the pane size it will be shown at.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len

from tuilabel.config import KeyMap
from tuilabel.store.base import Image
from tuilabel.tui.text import clean
from tuilabel.verdicts import VERDICT_TABLE

#: Columns the side panel takes besides its text: the border on its left, one cell of padding
#: on each side (see ScoreApp.CSS `#side`).
GUTTER = 3
#: The narrowest side panel (columns, gutter included): room for the three verdict buttons and
#: a label line with its bar.
MIN_COLUMNS = 28
#: The side panel takes at most this share of the screen's width (MIN_COLUMNS on a screen too
#: narrow for that), so that on 80x24 the photo keeps most of the screen.
MAX_SHARE = 0.4
#: Width of a label's score bar (cells): BAR_MAX when the panel has room, down to BAR_MIN.
BAR_MIN, BAR_MAX = 4, 8
#: Cells of a label line besides its name and bar: the rank ("1 "), a space, " 90.0%".
LABEL_EXTRA = 2 + 1 + 7
#: Width of "tweet  ", "model  ", "photo  ", "rater  " before the details' values.
DETAIL_TAG = 7
#: Between the key hints on a line.
HINT_SEP = " · "


def label_name(label: str) -> str:
    """A class name as shown: cleaned, underscores as spaces."""
    return clean(label, 200).replace("_", " ")


def labels_width(image: Image, *, blind: bool = False) -> int:
    """Cells the top-5 label lines need unwrapped (with the narrowest bars and percentages
    unless `blind`): the photo gets the space a longer bar would take; bars grow only where
    the panel is wider for other reasons."""
    names = [cell_len(label_name(label)) for label, _ in image.predictions[:5]] or [0]
    if blind:
        return 2 + max(names)
    return max(names) + BAR_MIN + LABEL_EXTRA


def url_width(url: str) -> int:
    """Cells that show a photo's address down to its whole file name: the address itself when
    short, else "…/" and the part after its last slash."""
    text = clean(url, 2000)
    tail = text.rsplit("/", 1)[-1]
    return min(cell_len(text), cell_len(tail) + 2)


def details_width(image: Image, rater: str) -> int:
    """Cells the tweet id, model, photo and rater lines need (the photo's file name whole)."""
    values = (cell_len(clean(image.tweet_id, 64)), cell_len(clean(image.model, 200)),
              url_width(image.url), cell_len(clean(rater, 64)))
    return DETAIL_TAG + max(values)


def hint_pieces(keys: KeyMap) -> list[str]:
    """The key hints under the photo's details, from the verdict table and the keys in force:
    ["j top-1", "k top-5", "l none", "z zoom", "? help"] with the default keys."""
    pieces = [f"{keys.shown(v.value)} {v.short}" for v in VERDICT_TABLE if v.analysed]
    return [*pieces, f"{keys.shown('zoom')} zoom", "? help"]


def hints_width(keys: KeyMap) -> int:
    """Cells the verdict hints need on one line (zoom and help may go to the next)."""
    pieces = hint_pieces(keys)[:-2]
    return cell_len(HINT_SEP.join(pieces))


def wrap_pieces(pieces: Sequence[str], width: int, sep: str = HINT_SEP) -> list[str]:
    """`pieces` joined by `sep` into lines of at most `width` cells, broken only between
    pieces (a piece wider than `width` gets a line of its own)."""
    lines: list[str] = []
    for piece in pieces:
        if lines and cell_len(lines[-1] + sep + piece) <= width:
            lines[-1] += sep + piece
        else:
            lines.append(piece)
    return lines


def buttons_width(keys: KeyMap) -> int:
    """Cells the verdict buttons need side by side (each its label and a cell each side)."""
    return sum(cell_len(f"{keys.shown(v.value)} {v.short}") + 2
               for v in VERDICT_TABLE if v.analysed)


def text_width(image: Image | None, rater: str, keys: KeyMap, *, blind: bool = False) -> int:
    """The side panel's text width (cells) that shows `image`'s labels, details, the key hints
    and the buttons without wrapping or cutting; with no photo, the hints and buttons only."""
    widths = [hints_width(keys), buttons_width(keys)]
    if image is not None:
        widths += [labels_width(image, blind=blind), details_width(image, rater)]
    return max(widths)


def side_columns(text: int, screen_columns: int) -> int:
    """The side panel's width in columns (gutter included) for `text` cells of text on a
    screen `screen_columns` wide: at least MIN_COLUMNS, at most MAX_SHARE of the screen
    (never below MIN_COLUMNS)."""
    most = max(MIN_COLUMNS, int(screen_columns * MAX_SHARE))
    return min(max(text + GUTTER, MIN_COLUMNS), most)
