"""Screens pushed over the score screen: help (`?`) and the ROC of the ratings so far (`r`)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

from tuilabel.tui.roc import RocView
from tuilabel.tui.storethread import StoreThread

HELP = """\
Rate the model's labels of each photo

  j       top-1 correct: the first label is right
  k       a correct label is in the top 5, not first
  l       none of the labels is correct
  x       cannot rate: photo broken or not a photo
          (kept apart: never a negative in the ROC)
  s       skip this photo for now
  u  ⌫    undo the last rating (shows its photo again)
  z       zoom the photo (z or escape: back)
  r       ROC curve of the ratings so far
  ?       this help            q  quit

Buttons: the mouse only (Enter, space rate nothing).
j k l wait for the photo. Each rating is committed
at once; reopening continues where you stopped.
"""


class HelpScreen(ModalScreen[None]):
    """The keys, in words."""

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss_help", "Close", priority=True),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Static { width: auto; max-width: 90%; height: auto; max-height: 90%;
                          border: round $accent; padding: 1 2; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        yield Static(Text(HELP), id="help-text")

    def action_dismiss_help(self) -> None:
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
