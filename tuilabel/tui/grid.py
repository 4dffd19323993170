"""The grid view: a page of photos whose top-1 label is the same, rated by their exceptions.

The label is written large above the tiles; every tile starts as "top-1 correct" and its
number cycles its verdict (top1 -> top5 -> none -> unrateable, from the verdict table); Enter
hands the whole page to the store in one transaction (`Store.add_ratings`) and shows the next
page, whose tiles the preloader's worker has already built. `u` undoes the last page, `b`/`n`
step through the pages stored in this sitting (Enter on one stores its new verdicts in place),
`i` opens the last tile touched in the single view with its top 5, `s` skips the page (its
photos come back at the end of the sitting, as a skipped photo does in the single view).

Pages are claimed ahead (PAGES_AHEAD) by `pages.claim_page` on the store thread, under the same
claims, rater and overlap rules as the single view.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Static

from tuilabel.config import ACTIONS
from tuilabel.store.base import Image
from tuilabel.tui.banner import render_banner
from tuilabel.tui.cells import render_message
from tuilabel.tui.messages import StoreFailed
from tuilabel.tui.pages import Page, PageSession, claim_page
from tuilabel.tui.picture import Rendered
from tuilabel.tui.screens import TweetTextScreen
from tuilabel.tui.sidepanel import GUTTER, MIN_COLUMNS, side_columns
from tuilabel.tui.text import clean
from tuilabel.tui.widgets import (
    InfoPanel,
    PhotoView,
    StatusLine,
    forget_kitty,
    format_duration,
)
from tuilabel.verdicts import VERDICT_TABLE
from tuilabel.verdicts import verdict as verdict_of

if TYPE_CHECKING:
    from tuilabel.tui.app import ScoreApp

#: Rows the label banner takes above the tiles.
BANNER_ROWS = 6
#: How long a first digit waits for a second one on pages of 10 tiles or more (seconds).
DIGIT_WAIT = 0.6


def tile_cells(app: ScoreApp, image: Image, size: tuple[int, int]) -> Rendered | None:
    """A tile's photo cells at `size` (columns, rows), if the worker has built them. The one
    place tiles get their pixels: switching the grid to another renderer is this function."""
    return app.preloader.get(image.id, size)


class Tile(Vertical):
    """One tile: a header row (its number and verdict, in the verdict's colour) over a photo
    pane, the same `PhotoView` as the single view's (half-block cells, Sixel or Kitty)."""

    DEFAULT_CSS = """
    Tile { width: 1fr; height: 1fr; }
    Tile > Static { height: 1; width: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        # Kept, not queried: a DOM query per tile per page cost ~30 ms a page.
        self._head = Static(classes="tile-head")
        self.photo = PhotoView()

    def compose(self) -> ComposeResult:
        yield self._head
        yield self.photo

    def head(self, text: Text) -> None:
        self._head.update(text, layout=False)


class GridView(Grid):
    """The tiles of one page, `columns` x `rows`; a tile without a photo stays blank."""

    DEFAULT_CSS = """
    GridView { width: 1fr; height: 1fr; grid-gutter: 0 1; }
    """

    def __init__(self, columns: int, rows: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.columns, self.rows = columns, rows
        self.styles.grid_size_columns = columns
        self.styles.grid_size_rows = rows
        self.page: Page | None = None
        self.selected: int | None = None
        #: image id -> the tile's rendering (at tile_size()) shown for it.
        self.cells: dict[int, Rendered] = {}
        self.tiles = [Tile() for _ in range(columns * rows)]

    def compose(self) -> ComposeResult:
        yield from self.tiles

    def tile_size(self) -> tuple[int, int]:
        """(columns, rows) of a tile's photo pane (all tiles are the same size)."""
        size = self.tiles[0].photo.size
        return size.width, size.height

    def header(self, index: int) -> Text:
        assert self.page is not None
        row = verdict_of(self.page.verdicts[index])
        mark = "▶" if index == self.selected else " "
        return Text(f"{mark}{index + 1:>2} {row.word}", style=f"bold black on {row.colour}")

    def show(self, page: Page | None, cells: dict[int, Rendered]) -> None:
        """Put `page` in the tiles: the pictures in `cells` where ready, "loading…" else."""
        self.page, self.cells = page, cells
        size = self.tile_size()
        for index, tile in enumerate(self.tiles):
            image = page.images[index] if page is not None and index < len(page.images) else None
            if image is None:
                tile.head(Text(""))
                tile.photo.show([])
                continue
            tile.head(self.header(index))
            rendered = cells.get(image.id)
            if rendered is not None:
                tile.photo.show(rendered.picture, (image.id, size))
            elif tile.photo.shown is None or tile.photo.shown[0] != image.id:
                tile.photo.show(render_message(["loading…"], *size, style="dim"))

    def put(self, rendered: Rendered) -> None:
        """A tile's picture arrived: draw it where its photo is on the page."""
        if self.page is None:
            return
        for index, image in enumerate(self.page.images):
            if image.id == rendered.image_id:
                self.cells[image.id] = rendered
                self.tiles[index].photo.show(rendered.picture, (image.id, rendered.size))

    def mark(self) -> None:
        """Redraw the headers (a verdict or the selection changed)."""
        if self.page is not None:
            for index, tile in enumerate(self.tiles[: len(self.page.images)]):
                tile.head(self.header(index))


class Banner(Widget):
    """The page's top-1 label, written large."""

    DEFAULT_CSS = f"""
    Banner {{ width: 1fr; height: {BANNER_ROWS}; }}
    """
    label = ""
    style = "bold"

    def set_label(self, label: str, style: str = "bold") -> None:
        self.label, self.style = label, style
        self.refresh()

    def render_line(self, y: int) -> Strip:
        strips = render_banner(self.label, self.size.width, self.size.height, self.style)
        return strips[y] if y < len(strips) else Strip.blank(self.size.width)


def _grid_bindings() -> list[BindingType]:
    out: list[BindingType] = [Binding(str(d % 10), f"tile({d % 10})", str(d % 10), show=False)
           for d in range(1, 11)]
    # (Not a priority binding: those run on arrival, ahead of keys typed before them.)
    out.append(Binding("enter", "store_page", "store page"))
    names = {"undo": ("undo_page", "undo page"), "back": ("page_back", "back"),
             "forward": ("page_forward", "fwd"), "grid": ("close_grid", "single view"),
             "text": ("text", "text"), "skip": ("skip_page", "skip page")}
    hidden = ("forward", "text", "skip")  # (no room in an 80-column footer; see the help)
    out += [Binding(",".join(a.keys), names[a.name][0], names[a.name][1], id=a.name,
                    show=a.name not in hidden)
            for a in ACTIONS if a.name in names]
    out.append(Binding("i", "open_tile", "open tile"))
    return out


class GridScreen(Screen[None]):
    """Pages of photos sharing a top-1 label; Enter stores a page in one transaction."""

    BINDINGS = _grid_bindings()
    DEFAULT_CSS = """
    GridScreen #grid-status { height: 1; }
    GridScreen #grid-message { height: 1fr; content-align: center middle; display: none; }
    GridScreen #grid-progress { height: 1; width: 48; }
    GridScreen StatusLine { height: 1; width: 1fr; }
    """

    def __init__(self, app: ScoreApp) -> None:
        super().__init__()
        self.score = app
        self.settings = app.settings
        cols, rows = self.settings.grid_size
        self.pages = PageSession(cols * rows)
        self._view = GridView(cols, rows, id="grid")
        self._banner = Banner(id="banner")
        self._claiming = False
        self._digits = ""
        self._relayout_pending = False
        self._logged_page: Page | None = None
        self._digit_timer: Timer | None = None

    # -- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield self._banner
        yield self._view
        yield Static(id="grid-message")
        with Horizontal(id="grid-status"):
            yield Static(id="grid-progress")
            yield StatusLine(id="grid-say")
        yield Footer()

    @property
    def view(self) -> GridView:
        return self._view

    def on_mount(self) -> None:
        self.say("Finding a page of photos…", "dim")
        self.claim_more()
        self.progress_counted()

    def say(self, message: str, style: str = "") -> None:
        self.query_one("#grid-say", StatusLine).say(message, style)

    # -- claiming pages -------------------------------------------------------------------
    def claim_more(self) -> None:
        if self.pages.return_skipped():  # the end of the sitting: the skipped come back
            self.say("the pages skipped in this sitting come back now", "cyan")
        if self.pages.wants_more() and not self._claiming:
            self._claiming = True
            self.run_worker(self._claim(self.pages.held_ids()), group="store")

    async def _claim(self, exclude: list[int]) -> None:
        app, settings, tiles = self.score, self.settings, self.pages.tiles
        seconds = app.claim_seconds
        try:
            images = await app.store.run(
                lambda s: claim_page(s, settings, tiles, exclude, seconds))
        except Exception as exc:  # noqa: BLE001 - shown; the grid keeps running
            self._claiming = False
            app.post_message(StoreFailed("finding the next page", str(exc)))
            return
        self._claiming = False
        self._page_claimed(images)

    def _page_claimed(self, images: list[Image]) -> None:
        if not self.is_attached:  # closed meanwhile: let the photos go
            ids = [i.id for i in images]
            if ids:
                self.score.store.submit(lambda s: s.release_claims(self.score.rater, ids))
            return
        had = self.pages.current is not None
        self.pages.add_page(images)
        self.prepare()
        if not had:
            self.draw()
        self.claim_more()

    def claims_lost(self, lost: set[int]) -> None:
        """Photos taken by another rater while this one was away: off the pages ahead."""
        self.pages.drop(lost)
        self.claim_more()

    # -- drawing --------------------------------------------------------------------------
    def prepare(self) -> None:
        """Ask the worker for the tiles of the page shown and the pages ahead (in order)."""
        if not self.is_mounted:
            return
        size = self.view.tile_size()
        if size[0] <= 0 or size[1] <= 0:
            return  # not laid out yet: the first resize prepares
        pages = [p for p in (self.pages.shown, self.pages.current) if p] + list(self.pages.ahead)
        priority = 0
        wanted: list[int] = []
        for page in pages:
            for image in page.images:
                self.score.preloader.request(image, size, priority)
                wanted.append(image.id)
                priority += 1
        dropped = self.score.preloader.keep_only(wanted, size)
        self.score.write_terminal("".join(forget_kitty(r.picture) for r in dropped))

    def draw(self) -> None:
        """Put the page shown on screen from the tiles built so far."""
        page = self.pages.shown
        if not self.is_mounted:
            return
        view = self.view
        message = self.query_one("#grid-message", Static)
        if page is None:
            banner = "all done" if not self.pages.more_available else "…"
            self._banner.set_label(banner, "dim")
            lines = (["Finding a page of photos…"] if self.pages.more_available
                     else self._nothing_left())
            message.update(Text("\n".join(lines), style="bold", justify="center"))
            view.show(None, {})
            view.display, message.display = False, True
            return
        view.display, message.display = True, False
        size = view.tile_size()
        cells = {}
        for image in page.images:
            rendered = tile_cells(self.score, image, size)
            if rendered is not None:
                cells[image.id] = rendered
        style = "bold" if not self.pages.back else "bold cyan"
        self._banner.set_label(clean(page.label, 120).replace("_", " "), style)
        view.show(page, cells)
        self._frame(page)

    def _frame(self, page: Page) -> None:
        if self.score._frame_log or not self.score._started_gc:
            self.call_after_refresh(self._frame_written, page)

    def _frame_written(self, page: Page) -> None:
        view = self.view
        if view.page is page and page is not self._logged_page and all(
                i.id in view.cells for i in page.images):
            self._logged_page = page  # once per page shown (not per tile or redraw)
            self.score._mark(f"shown page {page.images[0].id}")
            self.score._settle_gc()

    def photo_rendered(self, rendered: Rendered) -> None:
        """A tile arrived from the worker: draw it if it belongs to the page shown."""
        page = self.pages.shown
        if page is None or rendered.size != self.view.tile_size():
            return
        if any(img.id == rendered.image_id for img in page.images):
            self.view.put(rendered)
            if all(i.id in self.view.cells for i in page.images):
                self._frame(page)

    def on_photo_view_resized(self, message: PhotoView.Resized) -> None:
        """The tiles changed size (all at once): render the pages again, once."""
        message.stop()
        if not self._relayout_pending:
            self._relayout_pending = True
            self.call_after_refresh(self._relayout)

    def _relayout(self) -> None:
        self._relayout_pending = False
        self.prepare()
        self.draw()

    def _nothing_left(self) -> list[str]:
        s = self.score.session
        return ["Nothing left to rate for " + clean(self.score.rater, 60), "",
                f"{s.rated:,} of {s.total:,} photos have their ratings.", "",
                f"{self.settings.keys.shown('undo')} = undo the last page    q = quit"]

    def progress_counted(self) -> None:
        if not self.is_mounted:
            return
        s = self.score.session
        if s.total:
            self.query_one("#grid-progress", Static).update(Text.assemble(
                ("rated ", "dim"), f"{s.rated:,} of {s.total:,}",
                ("  sitting ", "dim"), f"{self.score.rated_this_sitting():,}",
                ("  ", ""), (format_duration(time.monotonic() - self.score.started), "dim")))
        if self.pages.current is None and not self.pages.more_available:
            self.draw()

    # -- keys -----------------------------------------------------------------------------
    def action_tile(self, digit: int) -> None:
        """A tile's number: cycle its verdict. Pages of 10+ tiles take two digits (a first
        digit that could start a larger number waits DIGIT_WAIT for the second)."""
        page = self.pages.shown
        if page is None:
            self.app.bell()
            return
        self._digits += str(digit)
        if self._digit_timer is not None:
            self._digit_timer.stop()
            self._digit_timer = None
        number = int(self._digits)
        if len(self._digits) >= 2 or number * 10 > len(page.images) or number == 0:
            self._apply_digits()
        else:
            self._digit_timer = self.set_timer(DIGIT_WAIT, self._apply_digits)

    def _apply_digits(self) -> None:
        self._digit_timer = None
        text, self._digits = self._digits, ""
        page = self.pages.shown
        if not text or page is None:
            return
        number = int(text) if text != "0" else 10
        if not 1 <= number <= len(page.images):
            self.app.bell()
            return
        verdict = page.cycle(number - 1)
        self.view.selected = number - 1
        self.view.mark()
        self.say(f"tile {number}: {verdict_of(verdict).word}", verdict_of(verdict).colour)

    def action_store_page(self) -> None:
        """Enter: store every tile's verdict in one transaction, then the next page."""
        if self._digits:
            self._apply_digits()
        page = self.pages.shown
        if page is None or not page.images:
            self.app.bell()
            return
        app = self.score
        app._mark("key page")
        rater, blind, pairs = app.rater, self.settings.blind, page.pairs()
        future = app.store.submit(lambda s: s.add_ratings(rater, pairs, blind=blind))
        if self.pages.back:  # re-rating a stored page: its ratings are replaced in place
            page.rating_ids, page.blind = future, blind
            self.pages.back -= 1
        else:
            self.pages.store_current(future, blind)
            app._grid_history.append(page)
        self.view.selected = None
        self.draw()
        self.prepare()
        self.run_worker(self._await_page(page, future), group="store")
        self.claim_more()

    async def _await_page(self, page: Page, future) -> None:
        import asyncio

        try:
            await asyncio.wrap_future(future)
        except Exception as exc:  # noqa: BLE001 - reported; the page is shown again
            self._page_failed(page, str(exc))
            return
        n, ex = len(page.images), page.exceptions()
        self.say(f"✓ page of {n} stored ({ex} exception{'s' if ex != 1 else ''})", "green")
        self.score.count_progress()

    def _page_failed(self, page: Page, error: str) -> None:
        self.say(f"✗ page NOT stored: {error}", "bold red")
        self.app.notify(f"Page not stored: {clean(error, 200)}", severity="error")
        if page in self.pages.history:
            self.pages.history.remove(page)
            if page in self.score._grid_history:
                self.score._grid_history.remove(page)
            page.rating_ids = None
            if self.pages.current is not None:
                self.pages.ahead.appendleft(self.pages.current)
            self.pages.current = page
            self.pages.back = 0
            self.draw()

    def action_skip_page(self) -> None:
        """Pass over the page to rate, as the single view's skip does a photo: its claims are
        released (others may rate its photos meanwhile) and its photos come back at the end
        of the sitting, once nothing else is left. Not on a page stepped back to."""
        if self._digit_timer is not None:
            self._digit_timer.stop()
            self._digit_timer = None
        self._digits = ""
        if self.pages.back:
            self.say("a stored page cannot be skipped: Enter stores it again", "yellow")
            self.app.bell()
            return
        page = self.pages.skip_current()
        if page is None:
            self.app.bell()
            return
        app, ids = self.score, [img.id for img in page.images]
        app.store.submit(lambda s: s.release_claims(app.rater, ids))
        self.view.selected = None
        self.say(f"page skipped, back at the end of the sitting ({len(ids)} "
                 f"{clean(page.label, 40)})", "dim")
        self.draw()
        self.prepare()
        self.claim_more()

    def action_undo_page(self) -> None:
        """Take back the last stored page: its ratings deleted in one transaction, the page
        shown again with the verdicts it had."""
        page = self.pages.undo()
        if page is None:
            self.say("no page to undo in this sitting", "yellow")
            self.app.bell()
            return
        if page in self.score._grid_history:
            self.score._grid_history.remove(page)
        future, page.rating_ids = page.rating_ids, None
        app = self.score

        def delete(s) -> int:
            try:
                ids = future.result() if future is not None else []
            except Exception:  # noqa: BLE001 - never stored
                return 0
            return s.delete_ratings(ids, claim_seconds=app.claim_seconds)

        done = app.store.submit(delete)
        self.draw()
        self.prepare()
        self.run_worker(self._await_undo(page, done), group="store")

    async def _await_undo(self, page: Page, future) -> None:
        import asyncio

        try:
            n = await asyncio.wrap_future(future)
        except Exception as exc:  # noqa: BLE001
            self.score.post_message(StoreFailed("undoing the last page", str(exc)))
            return
        self.say(f"↶ undone: a page of {n} ({clean(page.label, 40)})", "cyan")
        self.score.count_progress()

    def action_page_back(self) -> None:
        if self.pages.back >= len(self.pages.history):
            self.say("no earlier page in this sitting", "yellow")
            self.app.bell()
            return
        self.pages.back += 1
        self.view.selected = None
        self.say(f"{self.pages.back} page(s) back: change tiles, Enter stores them again; "
                 f"{self.settings.keys.shown('forward')} steps forward", "cyan")
        self.prepare()
        self.draw()

    def action_page_forward(self) -> None:
        if not self.pages.back:
            self.app.bell()
            return
        self.pages.back -= 1
        self.view.selected = None
        self.prepare()
        self.draw()

    def _selected_image(self) -> tuple[Page, int] | None:
        page, index = self.pages.shown, self.view.selected
        if page is None or index is None or index >= len(page.images):
            self.say("press a tile's number first", "yellow")
            self.app.bell()
            return None
        return page, index

    def action_open_tile(self) -> None:
        """The last tile touched, in the single view with its top 5; a verdict key there
        sets the tile's verdict."""
        picked = self._selected_image()
        if picked is None:
            return
        page, index = picked

        def chosen(verdict: str | None) -> None:
            if verdict is not None:
                page.verdicts[index] = verdict
                self.say(f"tile {index + 1}: {verdict_of(verdict).word}",
                         verdict_of(verdict).colour)
            self.prepare()
            self.draw()

        self.app.push_screen(TileScreen(self.score, page.images[index], page.verdicts[index]),
                             chosen)

    def action_text(self) -> None:
        picked = self._selected_image()
        if picked is not None:
            page, index = picked
            self.app.push_screen(TweetTextScreen(page.images[index]))

    def action_close_grid(self) -> None:
        """Back to the single view: the pages not stored are let go."""
        held = self.pages.claimed_ids()
        app = self.score
        if held:
            app.store.submit(lambda s: s.release_claims(app.rater, held))
        app.close_grid()


class TileScreen(ModalScreen[str | None]):
    """One tile of the grid in the single view: the photo large, its top 5, the verdict keys
    set the tile's verdict (and close); Escape or `i` closes unchanged."""

    DEFAULT_CSS = f"""
    TileScreen #tile-main {{ height: 1fr; }}
    TileScreen #tile-side {{ width: {MIN_COLUMNS}; padding: 0 1; border-left: solid $primary; }}
    """

    # Same binding ids as the single view's verdicts: the config file's keys apply here too.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,i", "close", "back to the grid"),
        *(Binding(",".join(v.keys), f"set('{v.value}')", v.short, id=v.value)
          for v in VERDICT_TABLE),
    ]

    def __init__(self, app: ScoreApp, image: Image, verdict: str) -> None:
        super().__init__()
        self.score, self.image, self.verdict = app, image, verdict

    def compose(self) -> ComposeResult:
        with Horizontal(id="tile-main"):
            yield PhotoView(id="tile-photo")
            yield InfoPanel(id="tile-side")
        yield Footer()

    def on_mount(self) -> None:
        # The side panel takes what the photo's text needs, as in the single view.
        score, side = self.score, self.query_one(InfoPanel)
        cols = side_columns(score.side_text_width(self.image), self.app.size.width)
        side.styles.width = cols
        side.show_image(self.image, score.rater, blind=score.settings.blind,
                        width=cols - GUTTER)
        self.call_after_refresh(self._draw)

    def _pane_size(self) -> tuple[int, int]:
        size = self.query_one(PhotoView).size
        return size.width, size.height

    def _draw(self) -> None:
        size = self._pane_size()
        rendered = tile_cells(self.score, self.image, size)
        if rendered is None:
            self.query_one(PhotoView).show(render_message(["loading…"], *size, style="dim"))
            self.score.preloader.request(self.image, size, 0)
        else:
            self.query_one(PhotoView).show(rendered.picture, (self.image.id, size))

    def photo_rendered(self, rendered: Rendered) -> None:
        if rendered.image_id == self.image.id and rendered.size == self._pane_size():
            self.query_one(PhotoView).show(rendered.picture, (self.image.id, rendered.size))

    def on_photo_view_resized(self, message: PhotoView.Resized) -> None:
        message.stop()
        self._draw()

    def action_set(self, verdict: str) -> None:
        self.dismiss(verdict)

    def action_close(self) -> None:
        self.dismiss(None)
