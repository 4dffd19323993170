"""A warm start: claim and draw the first photo while Textual is still being imported.

Importing Textual and building the app take most of the start-up time. The first photo's
claim (a database call), fetch and decode (mostly C code that releases the interpreter lock)
do not need Textual, so a thread does them meanwhile, at the size the photo pane will have
(the terminal's size less the footer and the side panel that photo's text takes). The app
starts with that photo's cells ready; if the guess of the pane size or colour system was wrong
it simply renders again.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import TYPE_CHECKING

from tuilabel.store.base import Image
from tuilabel.tui.session import LOOKAHEAD
from tuilabel.tui.settings import ScoreSettings
from tuilabel.tui.sidepanel import side_columns, text_width
from tuilabel.tui.storethread import StoreThread

if TYPE_CHECKING:  # imported by the thread itself: this module must stay light
    from tuilabel.tui.graphics import Display
    from tuilabel.tui.preload import Preloader

#: Rows the footer takes (see ScoreApp.CSS).
FOOTER_ROWS = 1


def terminal_size() -> tuple[int, int]:
    """The terminal's (columns, rows), or (0, 0) when stderr is not a terminal."""
    if sys.__stderr__ is None:
        return (0, 0)
    try:
        cols, rows = os.get_terminal_size(sys.__stderr__.fileno())
    except (OSError, ValueError):
        return (0, 0)
    return (cols, rows)


def guess_pane_size(note: bool = False, text: int = 0) -> tuple[int, int]:
    """The photo pane's size in cells, from the terminal's size, next to a side panel that
    holds `text` cells of text (see `sidepanel.side_columns`; `note`: a line under the photo
    says how to get a better picture). (0, 0) when the size is unknown."""
    cols, rows = terminal_size()
    if cols <= 0 or rows <= 0:
        return (0, 0)
    return (max(0, cols - side_columns(text, cols)),
            max(0, rows - FOOTER_ROWS - (1 if note else 0)))


class WarmStart:
    """The first photos claimed and the first one rendered, on a background thread.

    The claim is queued on the store thread at once; the thread imports the image and cell
    modules itself, so that they load while the main thread imports Textual. `fetcher`
    (a tuilabel.images.Fetcher) is made by the thread unless given."""

    def __init__(
        self,
        store: StoreThread,
        settings: ScoreSettings,
        *,
        claim_seconds: int,
        counts: tuple[int, int] | None = None,
        fetcher=None,
        display: Display | None = None,
    ) -> None:
        # In the grid view the app claims whole pages itself: nothing is claimed here then.
        self.asked = 0 if settings.grid else LOOKAHEAD + 1
        st = settings
        self._claim = store.submit(lambda s: s.claim_next(
            st.who, n=self.asked, order=st.order, model=st.model, overlap=st.overlap,
            claim_seconds=claim_seconds, where=st.where) if self.asked else [])
        #: (rated, total) as the caller counted them just before, if it did.
        self.counts = counts
        self.display = display
        self.settings = settings
        #: The first photo's pane size (known once its side panel text is: see _run).
        self.size = guess_pane_size(note=bool(display and display.note))
        self.fetcher = fetcher
        self.preloader: Preloader | None = None
        self.images: list[Image] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="tuilabel-warm", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            from tuilabel.images import Fetcher, decode_image
            from tuilabel.tui.preload import Preloader

            if self.fetcher is None:
                self.fetcher = Fetcher(pool_size=4)
            st = self.settings
            self.preloader = Preloader(self.fetcher.fetch, decode_image, display=self.display,
                                       keys=st.keys)
            self.images = self._claim.result()
            if self.images:
                text = text_width(self.images[0], st.who, st.keys, blind=st.blind)
                self.size = guess_pane_size(bool(self.display and self.display.note), text)
            if self.images and min(self.size) > 0:
                self.preloader.store(self.preloader.render(self.images[0], self.size))
        except BaseException as exc:  # noqa: BLE001 - handed to the app, which reports it
            self.error = exc

    def wait(self, timeout: float | None = 30.0) -> WarmStart:
        self._thread.join(timeout)
        return self

    @property
    def ready(self) -> bool:
        """Finished without error (the app then starts from its results)."""
        return not self._thread.is_alive() and self.error is None and self.preloader is not None
