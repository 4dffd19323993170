"""The score screen's widgets: the photo pane, the labels and progress panels, the buttons.

The photo pane draws strips that a worker built ahead of time (see `cells.py`); the panels
build Rich `Text` objects from cleaned data, never markup strings.
"""

from __future__ import annotations

from rich.console import Group
from rich.style import Style
from rich.text import Text
from textual.containers import Horizontal
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Button, Static

from tuilabel.store.base import Image
from tuilabel.tui.text import clean, link_target

BAR_CHARS = " ▏▎▍▌▋▊▉█"


class PhotoView(Widget):
    """Shows pre-built cell rows; drawing a frame is one list lookup per line."""

    class Resized(Message):
        """The pane changed size: its photo must be rendered again to fit."""

    DEFAULT_CSS = """
    PhotoView { width: 1fr; height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._strips: list[Strip] = []
        #: (image id, pane size) of what is shown; None for a message.
        self.shown: tuple[int, tuple[int, int]] | None = None

    def show(self, strips: list[Strip], key: tuple[int, tuple[int, int]] | None = None) -> None:
        self._strips = strips
        self.shown = key
        self.refresh()

    def on_resize(self) -> None:
        self.post_message(self.Resized())

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y >= len(self._strips):
            return Strip.blank(width)
        strip = self._strips[y]
        if strip.cell_length != width:  # between a resize and the re-rendered cells
            strip = strip.adjust_cell_length(width)
        return strip


def bar(fraction: float, width: int) -> str:
    """A horizontal bar of `width` cells filled to `fraction` (eighths of a cell)."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (BAR_CHARS[part] if part and full < width else "")
    return text.ljust(width)


def labels_text(image: Image, width: int) -> Text:
    """The top-k labels with score bars, one line each, fitted to `width` cells."""
    out = Text()
    name_w = max(8, min(22, width - 19))
    bar_w = max(4, width - name_w - 12)
    for rank, (label, score) in enumerate(image.predictions[:5], start=1):
        name = clean(label, 200).replace("_", " ")
        if len(name) > name_w:
            name = name[: name_w - 1] + "…"
        out.append(f"{rank} ", style="dim")
        out.append(name.ljust(name_w), style="bold" if rank == 1 else "")
        out.append(" ")
        out.append(bar(score, bar_w), style="green" if rank == 1 else "cyan")
        out.append(f" {score * 100:5.1f}%\n")
    out.rstrip()
    return out


def details_text(image: Image, rater: str, width: int) -> Text:
    """Tweet id, the photo's link (clickable where the terminal supports OSC 8), the rater."""
    out = Text()
    out.append("tweet  ", style="dim")
    out.append(clean(image.tweet_id, 64))
    out.append("\nmodel  ", style="dim")
    out.append(clean(image.model, 64))
    out.append("\nphoto  ", style="dim")
    url = clean(image.url, 2000)
    shown = url if len(url) <= width - 7 else url[: max(width - 8, 8)] + "…"
    target = link_target(image.url)
    out.append(shown, style=Style(link=target, underline=True) if target else "")
    out.append("\nrater  ", style="dim")
    out.append(clean(rater, 64), style="bold")
    return out


class InfoPanel(Static):
    """The current photo's labels and details."""

    #: Content width before the first layout (the side panel's CSS width less its gutter).
    DEFAULT_WIDTH = 39
    _shown: tuple[Image | None, str] | None = None

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show_image(*self._shown)

    def show_image(self, image: Image | None, rater: str) -> None:
        self._shown = (image, rater)
        width = max(20, self.size.width or self.DEFAULT_WIDTH)
        if image is None:
            self.update(Text("No photo to rate.", style="dim"), layout=False)
            return
        title = Text("Top labels", style="bold underline")
        # layout=False: the panels have fixed sizes, and a layout pass costs ~10 ms a key.
        self.update(Group(title, labels_text(image, width), Text(""),
                          details_text(image, rater, width)), layout=False)


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


class RateButtons(Horizontal):
    """The three verdict buttons, for the mouse."""

    DEFAULT_CSS = """
    RateButtons { height: auto; }
    RateButtons Button { min-width: 8; width: 1fr; margin: 0; }
    """

    def compose(self):
        yield Button("j top-1", id="rate-top1", variant="success", compact=True,
                     action="app.rate('top1')")
        yield Button("k top-5", id="rate-top5", variant="primary", compact=True,
                     action="app.rate('top5')")
        yield Button("l none", id="rate-none", variant="error", compact=True,
                     action="app.rate('none')")
