"""The score screen's widgets: the photo pane, the labels and progress panels, the buttons.

The photo pane draws strips that a worker built ahead of time (see `cells.py`); the panels
build Rich `Text` objects from cleaned data, never markup strings.
"""

from __future__ import annotations

import os
import textwrap

from rich.cells import cell_len
from rich.console import Console, Group
from rich.segment import ControlType, Segment
from rich.style import Style
from rich.text import Text
from textual.containers import Horizontal
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Button, Static

from tuilabel.config import KeyMap
from tuilabel.store.base import Image
from tuilabel.tui.graphics import Display, tmux_wrap
from tuilabel.tui.picture import KITTY_HIDE_ALL, Picture, kitty_hide, kitty_place, kitty_place_at
from tuilabel.tui.sidepanel import (
    BAR_MAX,
    BAR_MIN,
    GUTTER,
    LABEL_EXTRA,
    MIN_COLUMNS,
    label_name,
)
from tuilabel.tui.text import clean, link_target
from tuilabel.verdicts import VERDICT_TABLE
from tuilabel.verdicts import verdict as verdict_of

BAR_CHARS = " ▏▎▍▌▋▊▉█"


class PhotoView(Widget):
    """Shows a photo prepared by a worker (a `Picture`) or a text placeholder; drawing a frame
    is one list lookup per line.

    Pixel pictures (Sixel, Kitty graphics) are written with the box's last line, after the
    blank cells above have been drawn, so that Textual's own output does not paint over them:
    the cursor goes to the picture's top-left cell, the Sixel (or the Kitty placement; its
    pixels were sent ahead, out of band: `send_kitty`, `_transmit`) is written, and Textual's
    next line moves the cursor on. Only while this widget's screen is the active one; a Kitty
    image is taken off the screen when another picture or a placeholder replaces it.

    A widget drawn over the picture (a toast, or anything else in front of it on the same
    screen) would lose against the pixels: a Sixel written after it paints over it, a Kitty
    image lies above text. So after every layout pass (which any widget that comes or goes
    causes) the pane asks the compositor whether something in front covers the image: while
    covered, no Sixel is written and the Kitty image is taken off; when the cover goes, the
    whole pane is drawn again, the image with it. Otherwise the cells the cover left would be
    repainted as text and the picture would keep a hole (xterm: the whole Sixel gone) until the
    next photo.
    """

    class Resized(Message):
        """The pane changed size: its photo must be rendered again to fit."""

    DEFAULT_CSS = """
    PhotoView { width: 1fr; height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._strips: list[Strip] = []
        self.picture: Picture | None = None
        #: (image id, pane size) of what is shown; None for a message.
        self.shown: tuple[int, tuple[int, int]] | None = None
        self._placed_kitty = 0  # the Kitty image this widget last put on screen
        self._placed_tmux = False  # ... through tmux's passthrough
        self._covered = False  # something in front covers the pixel picture

    def show(self, content: Picture | list[Strip],
             key: tuple[int, tuple[int, int]] | None = None) -> None:
        """Show a picture, or placeholder strips; `key` says which photo at which size."""
        if isinstance(content, Picture):
            self.picture, self._strips = content, content.strips
        else:
            self.picture, self._strips = None, content
        self.shown = key
        self._covered = self._picture_covered()
        self.refresh()

    @property
    def loaded(self) -> bool:
        """A photo (not a placeholder) is on screen."""
        return self.shown is not None

    def on_resize(self) -> None:
        self.post_message(self.Resized())

    @property
    def covered(self) -> bool:
        """Whether something in front (a toast) covers the pixel picture, which is then not
        drawn (see the class docstring): the rater cannot see the photo."""
        return self._covered

    def on_mount(self) -> None:
        self.screen.screen_layout_refresh_signal.subscribe(self, self._layout_refreshed)

    def _layout_refreshed(self, _screen) -> None:
        """After a layout pass: draw the image again when what covered it has gone; take a
        Kitty image off (written at once: the line that would carry it may be covered)."""
        covered = self._picture_covered()
        if covered == self._covered:
            return
        self._covered = covered
        if not covered:
            self.refresh()
        elif self._placed_kitty:
            hide = kitty_hide(self._placed_kitty)
            write = getattr(self.app, "write_terminal", None)
            if write is not None:
                write(tmux_wrap(hide) if self._placed_tmux else hide)
                self._placed_kitty = 0

    def _picture_covered(self) -> bool:
        """Whether a widget in front of this one (on its screen) overlaps its pixel picture.

        Reads the compositor's visible widgets, front-most first (Textual's private
        `Compositor.visible_widgets`; the region it gives is clipped to what shows). Widgets
        with `visibility: hidden` (Textual's toast rack and holders) are not in it. False for
        half-block pictures, and when the compositor cannot be read."""
        picture = self.picture
        if picture is None or picture.graphics == "halfblock" or not self.is_mounted:
            return False
        try:
            widgets = self.screen._compositor.visible_widgets
        except Exception:  # noqa: BLE001 - not on a screen, or Textual changed
            return False
        x, y = self.region.x + picture.at[0], self.region.y + picture.at[1]
        image = Region(x, y, *picture.cells)
        for widget, (region, clip) in widgets.items():
            if widget is self:
                return False
            if region.intersection(clip).overlaps(image):
                return True
        return False

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y >= len(self._strips):
            strip = Strip.blank(width)
        else:
            strip = self._strips[y]
            if strip.cell_length != width:  # between a resize and the re-rendered cells
                strip = strip.adjust_cell_length(width)
        if y == self.size.height - 1:
            overlay = self._overlay()
            if overlay:
                strip = Strip([*strip, Segment(overlay, None, _NO_MOVE)], strip.cell_length)
        return strip

    def _overlay(self) -> str:
        """The control sequences that draw (or take away) this widget's pixel picture."""
        picture = self.picture
        try:
            active = self.screen.is_active
        except Exception:  # noqa: BLE001 - not on a screen (yet)
            active = False
        active = active and not self._covered
        out = ""
        kitty = picture.kitty_id if picture is not None and picture.graphics == "kitty" else 0
        if self._placed_kitty and (self._placed_kitty != kitty or not active):
            hide = kitty_hide(self._placed_kitty)
            out += tmux_wrap(hide) if self._placed_tmux else hide
            self._placed_kitty = 0
        if picture is None or picture.graphics == "halfblock" or not active:
            return out
        if picture.box != (self.size.width, self.size.height):
            return out  # a picture for another size, until the right one arrives
        # DECSC/DECRC around it: Textual goes on writing this line's other widgets (the side
        # panel) where the cursor was, not where the image left it.
        x, y = self.region.x + picture.at[0], self.region.y + picture.at[1]
        self._placed_tmux = picture.tmux is not None
        if picture.tmux is not None:  # (kitty only)
            top, left = picture.tmux.current_origin()
            self._placed_kitty = picture.kitty_id
            return out + self._transmit(picture) + tmux_wrap(
                kitty_place_at(picture.kitty_id, top + y, left + x))
        out += f"\x1b7\x1b[{y + 1};{x + 1}H"
        if picture.graphics == "sixel":
            return out + picture.payload + "\x1b8"
        out += self._transmit(picture) + kitty_place(picture.kitty_id) + "\x1b8"
        self._placed_kitty = picture.kitty_id
        return out

    def _transmit(self, picture: Picture) -> str:
        """Send a Kitty picture's pixels (`send_kitty`: once per image) out of band, straight
        to the terminal ahead of the frame being drawn (the app's `write_terminal`), and
        return "": a transmission in the line would stay in Textual's cache of that line and
        go out again (about 1 MB) with every repaint of it. Returned, to go with the line,
        only in an app that has no `write_terminal` (tests of the widget alone)."""
        data = send_kitty(picture)
        write = getattr(self.app, "write_terminal", None)
        if not data or write is None:
            return data
        write(data)
        return ""


#: A zero-width control segment: Textual and Rich count it as no cells.
_NO_MOVE = ((ControlType.CURSOR_FORWARD, 0),)
_kitty_sent: set[int] = set()


def send_kitty(picture: Picture) -> str:
    """The Kitty transmission of `picture` the first time it is asked for, then "" (the
    terminal keeps the pixels; the app sends them ahead of the key press that shows them)."""
    if picture.graphics != "kitty" or picture.kitty_id in _kitty_sent:
        return ""
    _kitty_sent.add(picture.kitty_id)
    return picture.payload


def forget_kitty(picture: Picture) -> str:
    """What frees `picture`'s pixels in the terminal, if they were sent ("" otherwise)."""
    if picture.graphics == "kitty" and picture.kitty_id in _kitty_sent:
        _kitty_sent.discard(picture.kitty_id)
        free = kitty_hide(picture.kitty_id, free=True)
        return tmux_wrap(free) if picture.tmux is not None else free
    return ""


def clear_kitty(display: Display, free: bool = False) -> str:
    """What takes every Kitty image of this app off the screen (before another screen is
    drawn over the photo); `free` also drops their pixels from the terminal (on exit).

    Outside tmux the whole screen is the app's: one command for all. Through tmux's
    passthrough the outer terminal's screen is shared with other panes (and other programs'
    images), so each image sent is named. "" when photos are not Kitty images."""
    if display.graphics != "kitty":
        return ""
    if display.passthrough is None:
        return "\x1b_Ga=d,d=A,q=2\x1b\\" if free else KITTY_HIDE_ALL
    out = "".join(tmux_wrap(kitty_hide(image_id, free=free)) for image_id in sorted(_kitty_sent))
    if free:
        _kitty_sent.clear()
    return out


def bar(fraction: float, width: int) -> str:
    """A horizontal bar of `width` cells filled to `fraction` (eighths of a cell)."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (BAR_CHARS[part] if part and full < width else "")
    return text.ljust(width)


def labels_text(image: Image, width: int, *, blind: bool = False) -> Text:
    """The top-k labels with score bars, fitted to `width` cells: the bar (BAR_MIN to BAR_MAX
    cells) and the percentage stay on a label's first line; a label longer than its column
    wraps onto the next lines, indented under its first (never cut). `blind`: the labels alone,
    no bars and no scores (the model's confidence hidden)."""
    out = Text()
    names = [label_name(label) for label, _ in image.predictions[:5]]
    longest = max((cell_len(n) for n in names), default=0)
    bar_w = max(BAR_MIN, min(BAR_MAX, width - LABEL_EXTRA - longest))
    name_w = max(8, width - 3) if blind else max(8, min(longest, width - bar_w - LABEL_EXTRA))
    for rank, (name, (_label, score)) in enumerate(
            zip(names, image.predictions[:5], strict=False), start=1):
        lines = textwrap.wrap(name, name_w, break_long_words=True, break_on_hyphens=True) or [""]
        out.append(f"{rank} ", style="dim")
        style = "bold" if rank == 1 else ""
        if blind:
            out.append(lines[0] + "\n", style=style)
        else:
            out.append(lines[0].ljust(name_w), style=style)
            out.append(" ")
            out.append(bar(score, bar_w), style="green" if rank == 1 else "cyan")
            out.append(f" {score * 100:5.1f}%\n")
        for more in lines[1:]:
            out.append("  " + more + "\n", style=style)
    out.rstrip()
    return out


def cut_left(text: str, width: int) -> str:
    """`text` in at most `width` cells, cut from the left ("…" + its end), so that the end
    of a long path or URL (the file name) stays visible."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    keep = text[-(width - 1):]
    while cell_len(keep) > width - 1:
        keep = keep[1:]
    return "…" + keep


def details_text(image: Image, rater: str, width: int) -> Text:
    """Tweet id, the photo's link (clickable where the terminal supports OSC 8; a long one is
    cut from the left so that its file name shows), the rater."""
    out = Text()
    out.append("tweet  ", style="dim")
    out.append(clean(image.tweet_id, 64))
    out.append("\nmodel  ", style="dim")
    out.append(cut_left(clean(image.model, 200), max(width - 7, 8)))
    out.append("\nphoto  ", style="dim")
    shown = cut_left(clean(image.url, 2000), max(width - 7, 8))
    target = link_target(image.url)
    out.append(shown, style=Style(link=target, underline=True) if target else "")
    out.append("\nrater  ", style="dim")
    out.append(clean(rater, 64), style="bold")
    return out


_measure = Console(width=200, color_system=None, file=open(os.devnull, "w"))  # noqa: SIM115


def console_lines(renderable, width: int) -> list:
    """The lines `renderable` takes at `width` cells (to tell whether a panel grew)."""
    return _measure.render_lines(renderable, _measure.options.update_width(width), pad=False)


class InfoPanel(Static):
    """The current photo's labels and details."""

    #: Text width before the first layout (the narrowest side panel less its gutter).
    DEFAULT_WIDTH = MIN_COLUMNS - GUTTER
    _shown: tuple | None = None
    _height = 0
    _width = 0

    def on_resize(self) -> None:
        if self._shown is not None and self.size.width != self._width:
            image, rater, blind, stored = self._shown
            self.show_image(image, rater, blind=blind, stored=stored)

    def show_image(self, image: Image | None, rater: str, *, blind: bool = False,
                   stored: tuple[str, int] | None = None, width: int | None = None) -> None:
        """Show `image`'s labels (without scores when `blind`) and details; `stored` is
        (verdict, steps back) when the rater stepped back to an earlier rating. `width`: the
        text width (cells) the panel is about to have, when its layout has not caught up."""
        self._shown = (image, rater, blind, stored)
        width = max(20, width or self.size.width or self.DEFAULT_WIDTH)
        self._width = width
        if image is None:
            self.update(Text("No photo to rate.", style="dim"), layout=False)
            return
        if stored is not None:
            row = verdict_of(stored[0])
            title = Text.assemble(("Stored: ", "bold"), (f" {row.word} ", f"bold reverse "
                                  f"{row.colour}"), (f"  ({stored[1]} back)", "dim"))
        else:
            title = Text("Top labels", style="bold underline")
        # layout=False when the height is unchanged: a layout pass costs ~10 ms a key.
        body = Group(title, labels_text(image, width, blind=blind), Text(""),
                     details_text(image, rater, width))
        height = len(console_lines(body, width))
        self.update(body, layout=height != self._height)
        self._height = height


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def progress_text(rated: int, total: int, per_minute: float | None,
                  eta: float | None, session: int) -> Text:
    pct = 100.0 * rated / total if total else 0.0
    out = Text()
    out.append("rated  ", style="dim")
    out.append(f"{rated:,} of {total:,} ({pct:.1f}%)")
    out.append("\npace   ", style="dim")
    out.append(f"{per_minute:.1f}/min" if per_minute else "-")
    out.append(f" · {session} this sitting")
    out.append("\nETA    ", style="dim")
    out.append(format_duration(eta) if eta is not None else "-")
    return out


class ProgressPanel(Static):
    """Rated of total, ratings per minute, ETA."""

    def show(self, text: Text) -> None:
        self.update(text, layout=False)


class StatusLine(Static):
    """What happened last (stored, undone, failed); cleaned text only."""

    def say(self, message: str, style: str = "") -> None:
        self.update(Text(clean(message, 300), style=style), layout=False)

    def say_lines(self, lines: list[str], style: str = "") -> None:
        """Show `lines` (cleaned) one under the other, as given."""
        self.update(Text("\n".join(clean(line, 300) for line in lines), style=style),
                    layout=False)


class ZoomBar(Static):
    """The one line under a zoomed photo: the labels being rated and the keys."""

    def __init__(self, keys: KeyMap | None = None) -> None:
        super().__init__()
        self.keys = keys or KeyMap()

    def show_image(self, image: Image | None) -> None:
        keys = self.keys
        verdicts = " ".join(keys.shown(v.value) for v in VERDICT_TABLE)
        text = Text(f"{keys.shown('zoom')}/esc back  {verdicts} {keys.shown('skip')}  ",
                    style="dim")
        if image is not None:
            for rank, (label, _score) in enumerate(image.predictions[:5], start=1):
                text.append(f"{rank} ", style="dim")
                text.append(clean(label, 80).replace("_", " ") + "  ",
                            style="bold" if rank == 1 else "")
        text.truncate(max(self.size.width, 20), overflow="ellipsis")
        self.update(text, layout=False)


class MouseButton(Button, can_focus=False):
    """A button for the mouse only: it never takes the focus, so Enter and space (typed into
    the wrong window, say) press nothing; a rating is a deliberate key."""


class RateButtons(Horizontal):
    """The verdict buttons that enter the analysis (from the verdict table), for the mouse."""

    DEFAULT_CSS = """
    RateButtons { height: auto; }
    RateButtons Button { min-width: 8; width: 1fr; margin: 0; }
    """

    VARIANTS = ("success", "primary", "error")

    def __init__(self, keys: KeyMap | None = None) -> None:
        super().__init__()
        self.keys = keys or KeyMap()

    def compose(self):
        analysed = [v for v in VERDICT_TABLE if v.analysed]
        for v, variant in zip(analysed, self.VARIANTS, strict=False):
            yield MouseButton(f"{self.keys.shown(v.value)} {v.short}", id=f"rate-{v.value}",
                              variant=variant, compact=True, action=f"app.rate('{v.value}')")
