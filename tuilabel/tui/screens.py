"""Screens pushed over the score screen: help (`?`), the tweet's text (`t`) and the ROC of the
ratings so far (`r`)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from tuilabel.config import ACTIONS, KeyMap, default_keys
from tuilabel.store.base import Image
from tuilabel.tui.roc import RocView
from tuilabel.tui.storethread import StoreThread
from tuilabel.tui.text import clean, escape_text
from tuilabel.verdicts import VERDICT_TABLE


def keymap_changes(keys: KeyMap) -> dict[str, str]:
    """The config file's keys as a Textual keymap (binding id -> comma-separated keys), for
    the entries that differ from the defaults."""
    defaults = default_keys()
    return {name: ",".join(bound) for name, bound in keys.keys.items()
            if bound != defaults.get(name)}


def _keys_column(keys: tuple[str, ...]) -> str:
    shown = [{"question_mark": "?", "backspace": "⌫", "space": "␣"}.get(k, k) for k in keys]
    return " ".join(shown)


def help_text(keys: KeyMap, *, grid: bool = False) -> str:
    """The help screen's text, built from the verdict table, the action table and the keys
    in force (a remapped key shows as remapped)."""
    lines = ["Rate the model's labels of each photo"]
    for v in VERDICT_TABLE:
        lines.append(f"  {_keys_column(keys.of(v.value)):<7} {v.help}")
    for a in ACTIONS:
        if a.name == "forward":
            continue  # on the line of `back`
        shown = _keys_column(keys.of(a.name))
        if a.name == "back":
            shown += " / " + _keys_column(keys.of("forward"))
        lines.append(f"  {shown:<7} {a.help}")
    lines.append(f"  {'?':<7} this help            q  quit")
    if grid:
        lines += ["", "Grid: every tile starts as top-1 correct; its number",
                  "cycles top-1 → top-5 → none → cannot rate; i opens",
                  "the last tile touched; Enter stores the page at once;",
                  f"{keys.shown('skip')} skips the page (it comes back at the end)."]
    else:
        lines += ["", f"{keys.judging()} wait for the photo; Enter and space rate nothing.",
                  "Each rating is committed at once;",
                  "reopening continues where you stopped."]
    if keys.source is not None:
        lines += ["", f"Keys from {keys.source}"]
    return "\n".join(lines) + "\n"


class HelpScreen(ModalScreen[None]):
    """The keys, in words (from the verdict and action tables and the keys in force). On a
    screen too short for them the box scrolls (arrow keys, Page Up/Down, the mouse wheel), and
    its lower border says so."""

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss_help", "Close", priority=True),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: auto; max-width: 100%; height: auto; max-height: 100%;
                                  border: round $accent; padding: 0 1; background: $surface;
                                  scrollbar-size-vertical: 1; }
    HelpScreen #help-text { width: auto; }
    """

    def __init__(self, keys: KeyMap | None = None, *, grid: bool = False) -> None:
        super().__init__()
        self._text = help_text(keys or KeyMap(), grid=grid)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text(self._text.rstrip("\n")), id="help-text")

    def on_mount(self) -> None:
        box = self.query_one("#help-box", VerticalScroll)
        # (the text's width, its padding and the scrollbar's column: no line wraps)
        box.styles.width = max(len(line) for line in self._text.splitlines()) + 6
        box.focus()
        self.call_after_refresh(self._say_scrolls)

    def on_resize(self) -> None:
        self.call_after_refresh(self._say_scrolls)

    def _say_scrolls(self) -> None:
        box = self.query_one("#help-box", VerticalScroll)
        box.border_subtitle = "↑↓ more · esc closes" if box.max_scroll_y > 0 else ""

    def action_dismiss_help(self) -> None:
        self.dismiss(None)


class TweetTextScreen(ModalScreen[None]):
    """The tweet's text, kept at labeling time, control characters escaped (`t`)."""

    BINDINGS = [
        Binding("escape,t,q,enter", "close", "Close", priority=True),
    ]
    DEFAULT_CSS = """
    TweetTextScreen { align: center middle; }
    TweetTextScreen > Static { width: 80%; max-width: 100; height: auto; max-height: 90%;
                               border: round $accent; padding: 1 2; background: $surface; }
    """

    def __init__(self, image: Image) -> None:
        super().__init__()
        self.image = image

    def compose(self) -> ComposeResult:
        title = Text(f"Tweet {clean(self.image.tweet_id, 64)}\n\n", style="bold")
        if self.image.text:
            body = Text(escape_text(self.image.text))
        else:
            body = Text("No text was kept for this tweet (labeled from a list of images, or "
                        "before tuilabel kept tweets' text).", style="dim")
        yield Static(title + body, id="tweet-text")

    def action_close(self) -> None:
        self.dismiss(None)


class RocScreen(Screen[None]):
    """The ROC curve, AUC and threshold of the ratings so far, rebuilt every few seconds and
    whenever a rating is stored."""

    BINDINGS = [
        Binding("escape,r,q", "close", "Back to rating", priority=True),
    ]
    REFRESH_SECONDS = 5.0

    def __init__(self, view: RocView, store: StoreThread) -> None:
        super().__init__()
        self._view = view
        self._store = store
        self._busy = False

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("Computing the ROC of the ratings so far…"), id="roc-body")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_roc()
        self.set_interval(self.REFRESH_SECONDS, self.refresh_roc)

    def refresh_roc(self) -> None:
        if not self._busy:
            self._busy = True
            self.run_worker(self._rebuild(), group="roc", exclusive=True)

    async def _rebuild(self) -> None:
        import asyncio

        width = max(40, self.size.width - 2)
        height = max(12, self.size.height - 2)
        view = self._view
        try:
            await asyncio.to_thread(view.prepare)
            columns = await self._store.run(view.read)  # store thread
            report = await asyncio.to_thread(view.build, columns, width, height)
            body = Text.from_ansi(report)
        except Exception as exc:  # noqa: BLE001 - shown, not raised: the rating goes on
            body = Text(f"The ROC cannot be drawn yet: {exc}", style="yellow")
        finally:
            self._busy = False
        self.query_one("#roc-body", Static).update(body)

    def action_close(self) -> None:
        self.dismiss(None)
