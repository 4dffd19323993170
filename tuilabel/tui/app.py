"""The score app: one photo at a time, rated with j/k/l (or 1/2/3), committed on each key
press; `g` opens the grid view (`grid.py`), a page of photos at a time.

Collaborators are injected (see `factory.make_score_app`): a `StoreThread` that owns the
database, and fetch/decode functions. Every blocking call runs in a Textual worker; workers
report back with the messages in `messages.py`, and only the handlers here touch the session
and the widgets.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from PIL import Image as PILImage
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer

from tuilabel.config import ACTIONS
from tuilabel.store.base import Image
from tuilabel.tui.cells import render_message
from tuilabel.tui.filters import PhotoKeepsColour
from tuilabel.tui.graphics import Display
from tuilabel.tui.messages import (
    ClaimsRenewed,
    ImagesClaimed,
    PhotoRendered,
    ProgressCounted,
    RatingFailed,
    RatingSaved,
    RatingUndone,
    StoreFailed,
    StoreRetrying,
)
from tuilabel.tui.preload import Preloader, reason_words
from tuilabel.tui.roc import RocView
from tuilabel.tui.screens import HelpScreen, RocScreen, TweetTextScreen, keymap_changes
from tuilabel.tui.session import CLAIM_SECONDS, Rated, Session
from tuilabel.tui.settings import ScoreSettings
from tuilabel.tui.sidepanel import (
    GUTTER,
    MIN_COLUMNS,
    hint_pieces,
    side_columns,
    text_width,
    wrap_pieces,
)
from tuilabel.tui.storethread import StoreThread
from tuilabel.tui.text import clean
from tuilabel.tui.warm import WarmStart
from tuilabel.tui.widgets import (
    InfoPanel,
    PhotoView,
    ProgressPanel,
    RateButtons,
    StatusLine,
    ZoomBar,
    clear_kitty,
    forget_kitty,
    format_duration,
    progress_text,
    send_kitty,
)
from tuilabel.verdicts import VERDICT_TABLE
from tuilabel.verdicts import verdict as verdict_of

#: Verdicts that judge the photo: refused while it is loading or could not be drawn.
NEEDS_PHOTO = ("top1", "top5", "none")

if TYPE_CHECKING:
    from tuilabel.tui.grid import GridScreen


def _bindings() -> list[Binding]:
    """The key bindings, built from the verdict table and the action table (their default
    keys; the config file's keys are applied over them as a Textual keymap, by binding id)."""
    out = [Binding(",".join(v.keys), f"rate('{v.value}')", v.short, id=v.value)
           for v in VERDICT_TABLE]
    descriptions = {"skip": "skip", "undo": "undo", "back": "back", "forward": "fwd",
                    "grid": "grid", "text": "text", "roc": "ROC", "zoom": "zoom"}
    hidden = {"forward", "text", "zoom"}  # (no room in an 80-column footer)
    method = {"back": "step_back", "forward": "step_forward"}  # (App has its own "back")
    actions = [Binding(",".join(a.keys), method.get(a.name, a.name), descriptions[a.name],
                       id=a.name, show=a.name not in hidden) for a in ACTIONS]
    # help and quit right after skip and undo, so that an 80-column footer still shows them
    return out + actions[:2] + [
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit", "quit"),
    ] + actions[2:]

#: Set to a file path to append "shown <image id> <unix time>" each time a photo's frame
#: has been written, "key <verdict> <time>" on rating keys and start-up milestones
#: (scripts/bench_score.py reads it).
FRAME_LOG_ENV = "TUILABEL_FRAME_LOG"


class ScoreApp(App[None]):
    """Rate the model's top labels of each photo."""

    TITLE = "tuilabel score"
    ENABLE_COMMAND_PALETTE = False  # its footer entry would push `q quit` off an 80-col footer
    CSS = f"""
    #main {{ height: 1fr; }}
    #photo-column {{ width: 1fr; height: 1fr; }}
    #note {{ height: 1; padding: 0 1; display: none; }}
    #note.-shown {{ display: block; }}
    #side {{ width: {MIN_COLUMNS}; height: 1fr; padding: 0 1; border-left: solid $primary;
             overflow-y: auto; scrollbar-size-vertical: 0; }}
    #info {{ height: auto; max-height: 18; }}
    #progress {{ height: auto; max-height: 5; margin-top: 1; }}
    #status {{ height: auto; max-height: 3; margin-top: 1; }}
    RateButtons {{ margin-top: 1; }}
    ZoomBar {{ display: none; }}
    .-zoom #side {{ display: none; }}
    .-zoom Footer {{ display: none; }}
    .-zoom #note {{ display: none; }}
    .-zoom ZoomBar {{ display: block; }}
    """
    BINDINGS = [
        *_bindings(),
        Binding("escape", "unzoom", "back", show=False),
        # Ctrl-C quits too (Textual's default only says to press Ctrl-Q): same clean exit.
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
    ]

    def __init__(
        self,
        settings: ScoreSettings,
        *,
        store: StoreThread,
        fetch: Callable[[str], bytes],
        decode: Callable[[bytes], PILImage.Image],
        display: Display | None = None,
        roc: RocView | None = None,
        freeze_gc: bool = True,
        warm: WarmStart | None = None,
        claim_seconds: int = CLAIM_SECONDS,
    ) -> None:
        # ansi_color=True: no per-frame ANSI-to-truecolor filter over every cell. The photo
        # cells are already truecolor (or xterm-256 indices, pre-mapped in the worker), and
        # that filter, with one lru_cache miss per unique cell colour, cost ~10 ms a frame.
        super().__init__(ansi_color=True)
        if self.no_color:  # NO_COLOR turns off decoration, not the photo
            self._filters = [f for f in self._filters if type(f).__name__ not in (
                "NoColor", "Monochrome")] + [PhotoKeepsColour()]
        self.settings = settings
        self.store = store
        self.rater = settings.who
        self.claim_seconds = claim_seconds
        self.roc_view = roc
        self.session = Session(rater=self.rater)
        self.started = time.monotonic()
        #: The grid view while it is open (it keeps its pages when closed with `g`).
        self.grid: GridScreen | None = None
        self._size_guess: tuple[int, int] = (0, 0)
        if display is None:
            system = self.console.color_system
            colors = "truecolor" if settings.truecolor or system == "truecolor" \
                else {"256": "256", "standard": "16", "windows": "16"}.get(system or "", "256")
            display = Display(graphics="halfblock", colors=colors)
        self.photo_display = display
        changed = keymap_changes(settings.keys)
        if changed:
            self.set_keymap(changed)
        self.preloader: Preloader
        if warm is not None and warm.wait().ready and warm.preloader is not None:
            self.preloader = warm.preloader
            self.preloader.set_display(display)
            self.session.add_claimed(warm.images, warm.asked)
            self._size_guess = warm.size
            if warm.counts is not None:
                self.session.rated, self.session.total = warm.counts
        else:  # (a failed warm start is retried by the normal path, which reports errors)
            self.preloader = Preloader(fetch, decode, display=display, keys=settings.keys)
        self._freeze_gc = freeze_gc
        self._claiming = False
        self._counting = False
        self._count_again = False
        self._frame_log = os.environ.get(FRAME_LOG_ENV)
        self._started_gc = False
        #: The id of the photo on screen when it is drawn and may be judged (j/k/l).
        self._rateable: int | None = None
        self._grid_history: list = []
        #: The widest side panel text of the photos shown in this sitting (cells): the panel
        #: grows to fit a photo's text and does not shrink back, so that it does not jump
        #: between photos and the photos rendered ahead keep their size.
        self._side_text = 0
        #: The side panel's width in columns (border and padding included), as last set.
        self._side_cols = MIN_COLUMNS

    # -- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="photo-column"):
                yield PhotoView(id="photo")
                yield ZoomBar(self.settings.keys)
            with Vertical(id="side"):
                yield InfoPanel(id="info")
                yield ProgressPanel(id="progress")
                yield StatusLine(id="status")
                yield RateButtons(self.settings.keys)
        yield StatusLine(id="note")
        yield Footer()

    @property
    def photo(self) -> PhotoView:
        return self.query_one("#photo", PhotoView)

    @property
    def status(self) -> StatusLine:
        return self.query_one("#status", StatusLine)

    def write_terminal(self, data: str) -> None:
        """Write control sequences (Kitty graphics) straight to the terminal, in order with
        the frames (Textual's writer thread)."""
        if data and self._driver is not None and not self.is_headless:
            self._driver.write(data)

    def pane_size(self, side: int | None = None) -> tuple[int, int]:
        """The photo pane's size in cells (columns, rows) next to a side panel `side` columns
        wide (default: as set for the photo shown), which a pending layout may not have
        applied yet; zoomed, the whole pane; before the first layout, the warm start's guess."""
        size = self.photo.size
        if size.width == 0 and size.height == 0:
            return self._size_guess
        if self.zoomed or not self.size.width:
            return (size.width, size.height)
        side = self._side_cols if side is None else side
        return (max(0, self.size.width - side), size.height)

    def side_text_width(self, image: Image | None) -> int:
        """The side panel text width (cells) that `image`'s labels and details need."""
        st = self.settings
        return text_width(image, self.rater, st.keys, blind=st.blind)

    def fit_side(self, image: Image | None) -> int:
        """Size the side panel for `image` (the photo about to be shown): wide enough for its
        text and every earlier photo's in this sitting, within `side_columns`' bounds for this
        screen. Returns the text width (cells) the panel then has."""
        if image is not None:
            self._side_text = max(self._side_text, self.side_text_width(image))
        cols = side_columns(self._side_text, self.size.width or MIN_COLUMNS)
        if cols != self._side_cols:
            self._side_cols = cols
            self.query_one("#side").styles.width = cols
        return cols - GUTTER

    def on_mount(self) -> None:
        self._mark("startup mounted")
        # Hand the interpreter lock from the render worker to the UI thread sooner (default
        # 5 ms), so a frame is not kept waiting behind cells being built for the next photo.
        sys.setswitchinterval(0.001)
        # post_message is thread-safe: the store thread reports its retries ("reconnecting…")
        def on_retry(note: str) -> None:
            self.post_message(StoreRetrying(note))

        self.store.store.on_retry = on_retry
        self.screen.screen_layout_refresh_signal.subscribe(self, self._fit_buttons)
        self.preloader.start(self)
        self.set_interval(max(1.0, self.claim_seconds / 3), self.renew_claims)
        self.status.say("Finding photos to rate…", "dim")
        if self.photo_display.note:
            self.query_one("#note", StatusLine).say(self.photo_display.note, "dim")
            self.query_one("#note").add_class("-shown")
        self._show_progress()
        if self.session.total == 0:  # not counted by the warm start
            self.count_progress()
        if self.settings.grid:
            self.open_grid()
            return
        if self.session.current is not None or not self.session.more_available:
            self._warm_started()  # drawn in the very first frame
        self.claim_more()

    def _fit_buttons(self, _screen=None) -> None:
        """After a layout pass: show the verdict buttons (mouse only; every verdict has its
        key) only where the side panel has room for them under its text, so that on a short
        screen (80x24 with long class names) they do not push the panel's text out of view.
        What is still too tall for the panel scrolls with the mouse wheel (`#side`
        overflow-y: auto, without a scroll bar, which would narrow the text by a column)."""
        side = self.query_one("#side")
        if not side.display or not side.size.height:
            return  # (zoomed: the panel is hidden)
        buttons = self.query_one(RateButtons)
        used = 0
        for widget in side.children:
            if widget is not buttons and widget.display:
                used += widget.outer_size.height + widget.styles.margin.top
        need = buttons.styles.margin.top + max(1, buttons.outer_size.height)
        fits = used + need <= side.size.height
        if fits != buttons.display:
            buttons.display = fits

    def say_keys_hint(self) -> None:
        """The verdict, zoom and help keys in force, in the status line (broken into lines
        between keys, to the side panel's width)."""
        width = self.fit_side(self.session.shown)
        self.status.say_lines(wrap_pieces(hint_pieces(self.settings.keys), width), "dim")

    def _warm_started(self) -> None:
        self._mark("startup claimed")
        if self.session.current is not None:
            self.say_keys_hint()
        self.show_current()

    # -- claiming photos ------------------------------------------------------------------
    def claim_more(self) -> None:
        """Keep LOOKAHEAD photos claimed behind the one shown."""
        if self.grid is not None:
            return  # the grid claims its own pages
        if self.session.return_skipped():  # the end of the sitting: the skipped come back
            self.status.say(
                "the photos skipped in this sitting come back now", "cyan")
        wanted = self.session.wants_more()
        if wanted and not self._claiming:
            self._claiming = True
            self.run_worker(self._claim(wanted, self.session.held_ids()), group="store")

    async def _claim(self, n: int, exclude: list[int]) -> None:
        st, seconds = self.settings, self.claim_seconds
        try:
            images = await self.store.run(lambda s: s.claim_next(
                st.who, n=n, order=st.order, model=st.model, overlap=st.overlap,
                exclude=exclude, claim_seconds=seconds, where=st.where))
        except Exception as exc:  # noqa: BLE001 - shown on screen; the app keeps running
            self._claiming = False
            self.post_message(StoreFailed("finding the next photos", str(exc)))
            return
        self.post_message(ImagesClaimed(images, n))

    def on_images_claimed(self, message: ImagesClaimed) -> None:
        if not self._started_gc:
            self._mark("startup claimed")
        self._claiming = False
        if self.grid is not None:  # claimed for the single view just before `g`: let go
            ids = [i.id for i in message.images]
            self.store.submit(lambda s: s.release_claims(self.rater, ids))
            return
        had_current = self.session.current is not None
        self.session.add_claimed(message.images, message.asked)
        if not had_current:
            if self.session.current is not None:
                self.say_keys_hint()
            elif not self.session.more_available:
                self._settle_gc()  # no photo frame will do it
            self.show_current()
        else:
            self.preload_ahead()
        self.claim_more()

    def renew_claims(self) -> None:
        """Extend the claims on the photos held, so that a rater away from the keyboard does
        not come back to photos meanwhile handed to someone else."""
        held = self.session.claimed_ids()
        if self.grid is not None:
            held = self.grid.pages.claimed_ids()
        if self._claiming or not held:
            return
        self._claiming = True
        self.run_worker(self._renew(held), group="store")

    async def _renew(self, held: list[int]) -> None:
        rater, seconds, overlap = self.rater, self.claim_seconds, self.settings.overlap
        try:
            renewed = await self.store.run(lambda s: s.renew_claims(
                rater, held, claim_seconds=seconds, overlap=overlap))
        except Exception as exc:  # noqa: BLE001 - shown; the claims expire later
            self._claiming = False
            self.post_message(StoreFailed("renewing the claims", str(exc)))
            return
        self.post_message(ClaimsRenewed(held, renewed))

    def on_claims_renewed(self, message: ClaimsRenewed) -> None:
        self._claiming = False
        lost = set(message.held) - message.renewed
        if lost and self.grid is not None:
            self.grid.claims_lost(lost)
        elif lost:  # taken by someone else while this rater was away: pass them over
            self.session.queue = deque(i for i in self.session.queue if i.id not in lost)
            self.session.more_available = True
            self.preload_ahead()
        self.claim_more()  # a claim wanted while the renewal held the flag happens now

    # -- showing photos -------------------------------------------------------------------
    def show_current(self) -> None:
        """Put the current photo, or the earlier one stepped back to (or why there is none)
        on screen, from pre-built cells."""
        image = self.session.shown
        entry = self.session.shown_entry
        width = self.fit_side(image)
        info = self.query_one(InfoPanel)
        info.show_image(image, self.rater, blind=self.settings.blind,
                        stored=(entry.verdict, self.session.back) if entry else None,
                        width=width)
        size = self.pane_size()
        if image is None and self.session.more_available:
            self.photo.show(render_message(["Finding photos to rate…"], *size, style="dim"))
        elif image is None:
            self.photo.show(render_message(self._nothing_left(), *size, style="bold"))
        else:
            rendered = self.preloader.get(image.id, size)
            if rendered is not None:
                self._show_rendered(rendered)
            else:
                shown = self.photo.shown
                if shown is None or shown[0] != image.id:  # (after a resize: keep the old
                    # cells, cropped, until the new ones arrive)
                    self.photo.show(render_message(["loading…"], *size, style="dim"))
                self.preloader.request(image, size, priority=0)
        # The next photos are queued once this frame is out, not competing with it.
        self.call_after_refresh(self.preload_ahead)

    def _show_rendered(self, rendered) -> None:
        key = (rendered.image_id, rendered.size)
        if self.photo.shown == key:
            return
        self.photo.show(rendered.picture, key)
        self._rateable = None if rendered.failure else rendered.image_id
        self._update_zoom_bar()
        if rendered.failure:
            # (the keys first: a long reason may run past the status line's rows)
            self.status.say(f"photo not shown ({self._cannot_show_keys()}): "
                            f"{reason_words(rendered.failure)}", "yellow")
        if self._frame_log or not self._started_gc:
            self.call_after_refresh(self._frame_written, rendered.image_id)

    def _frame_written(self, image_id: int) -> None:
        if self._frame_log:
            with open(self._frame_log, "a", encoding="utf-8") as fh:
                fh.write(f"shown {image_id} {time.time():.6f}\n")
                if not self._started_gc:
                    fh.write(f"tensorflow_imported {'tensorflow' in sys.modules}\n")
        self._settle_gc()

    def _settle_gc(self) -> None:
        """Once, after start-up: move everything alive now out of the collector's sight, so
        that full collections stay short while rating (see the README), and turn it back on
        (run_score disables it during start-up)."""
        if not self._started_gc and self._freeze_gc:
            self._started_gc = True
            gc.collect()
            gc.freeze()
            gc.enable()

    def _cannot_show_keys(self) -> str:
        """The keys that work on a photo that cannot be shown, as the config file has them."""
        keys = self.settings.keys
        return f"{keys.shown('unrateable')} = cannot rate, {keys.shown('skip')} = skip"

    def _mark(self, event: str) -> None:
        """Append `event` and the time to the frame log (benchmarks only)."""
        if self._frame_log:
            with open(self._frame_log, "a", encoding="utf-8") as fh:
                fh.write(f"{event} {time.time():.6f}\n")

    def _nothing_left(self) -> list[str]:
        s = self.session
        lines = ["Nothing left to rate for " + clean(self.rater, 60), ""]
        lines.append(f"{s.rated:,} of {s.total:,} photos have their ratings.")
        keys = self.settings.keys
        lines += ["", f"{keys.shown('undo')} = undo the last rating    "
                  f"{keys.shown('back')} = step back    q = quit"]
        return lines

    def preload_ahead(self) -> None:
        """Queue the photos about to be shown, each at the pane size it will have (the side
        panel may grow for a photo's text); forget the other pictures."""
        size = self.pane_size()
        s = self.session
        if self.grid is not None:
            return  # the grid keeps the preloader busy with its tiles
        upcoming = ([s.current] if s.current else []) + list(s.queue)
        if s.back:
            upcoming = [s.history[-s.back].image] + upcoming
        wanted = set()
        text = self._side_text
        for priority, image in enumerate(upcoming):
            text = max(text, self.side_text_width(image))  # the panel's text when it is shown
            at = self.pane_size(side_columns(text, self.size.width or MIN_COLUMNS))
            self.preloader.request(image, at, priority)
            wanted.add((image.id, at))
        wanted |= {(e.image.id, size) for e in s.history[-max(2, s.back + 2):]}
        dropped = self.preloader.keep_keys(wanted)
        on_screen = self.photo.picture
        self.write_terminal("".join(forget_kitty(r.picture) for r in dropped
                                    if r.picture is not on_screen))

    def on_photo_rendered(self, message: PhotoRendered) -> None:
        rendered = message.rendered
        if not self._started_gc:
            self._mark(f"startup rendered_{rendered.image_id}")
        self.preloader.store(rendered)
        # Kitty pixels go to the terminal now, ahead of the key press that shows them.
        self.write_terminal(send_kitty(rendered.picture))
        if not self.screen_stack:  # arrived while the app closes
            return
        screen = self.screen
        if hasattr(screen, "photo_rendered"):  # the grid, or a tile opened from it
            screen.photo_rendered(rendered)
            return
        shown = self.session.shown
        if shown is not None and rendered.image_id == shown.id \
                and rendered.size == self.pane_size():
            self._show_rendered(rendered)

    def on_photo_view_resized(self, message: PhotoView.Resized) -> None:
        if self.grid is not None or not self._on_main_screen():
            return
        if self.session.shown is not None or not self.session.more_available:
            self.show_current()

    # -- rating ---------------------------------------------------------------------------
    def action_rate(self, verdict: str) -> None:
        self._mark(f"key {verdict}")
        if not self._on_main_screen():
            self.bell()
            return
        image = self.session.shown
        if image is None:
            self.bell()
            return
        if verdict in NEEDS_PHOTO and self._rateable != image.id:
            # Nobody can judge a photo they cannot see: only x (cannot rate) and s (skip).
            self.bell()
            rendered = self.preloader.get(image.id, self.pane_size())
            if rendered is not None and rendered.failure:
                self.status.say(f"not stored: this photo cannot be shown "
                                f"({self._cannot_show_keys()}): "
                                f"{reason_words(rendered.failure)}", "yellow")
            else:
                keys = self.settings.keys
                self.status.say(f"not stored: {keys.judging()} wait until the photo is "
                                f"drawn ({keys.shown('skip')} = skip)", "yellow")
            return
        if verdict in NEEDS_PHOTO and self.photo.covered:
            # A message over a Sixel or Kitty photo hides it (it is not drawn while covered):
            # the key takes the messages away, and the photo is drawn again to be judged.
            self.bell()
            self.clear_notifications()
            self.status.say(f"not stored: a message covered the photo; it is back, press "
                            f"{self.settings.keys.shown(verdict)} again", "yellow")
            return
        if self.session.back:
            self._rerate(verdict)
            return
        rater, blind = self.rater, self.settings.blind
        future = self.store.submit(lambda s: s.add_rating(image.id, rater, verdict,
                                                          blind=blind))
        entry = self.session.record(verdict, future)
        entry.blind = blind
        self.claim_more()  # (before drawing: the skipped photos may come back now)
        self.show_current()
        self.run_worker(self._await_rating(entry), group="store")

    async def _await_rating(self, entry: Rated) -> None:
        import asyncio

        try:
            rating_id = await asyncio.wrap_future(entry.rating_id)
        except Exception as exc:  # noqa: BLE001 - reported and the photo shown again
            self.post_message(RatingFailed(entry, str(exc)))
            return
        self.post_message(RatingSaved(entry, rating_id))

    def _rerate(self, verdict: str) -> None:
        """A new verdict for the rating stepped back to: it replaces the stored one (same
        rating id); then one step forward."""
        s = self.session
        entry = s.shown_entry
        assert entry is not None
        image, rater, blind = entry.image, self.rater, self.settings.blind
        entry.verdict, entry.blind = verdict, blind
        entry.rating_id = self.store.submit(
            lambda st: st.add_rating(image.id, rater, verdict, blind=blind))
        s.step_forward()
        self.show_current()
        self.run_worker(self._await_rating(entry), group="store")

    def on_rating_saved(self, message: RatingSaved) -> None:
        if isinstance(self.screen, RocScreen):
            self.screen.refresh_roc()
        entry = message.entry
        self.status.say(
            f"✓ stored: {verdict_of(entry.verdict).word} (tweet {entry.image.tweet_id})",
            "green")
        self.count_progress()

    def on_rating_failed(self, message: RatingFailed) -> None:
        entry, s = message.entry, self.session
        self.status.say(f"✗ NOT stored: {message.error}", "bold red")
        self.notify(f"Rating not stored: {clean(message.error, 200)}", severity="error")
        if entry in s.history:  # show that photo again, to be rated once more
            s.history.remove(entry)
            s.back = 0
            if s.current is not None:
                s.queue.appendleft(s.current)
            s.current = entry.image
            self.show_current()

    def action_skip(self) -> None:
        if self.session.current is None or not self._on_main_screen() or self.session.back:
            self.bell()
            return
        skipped = self.session.skip()
        rater = self.rater
        self.store.submit(lambda s: s.release_claims(rater, [skipped.id]))
        self.status.say(
            f"skipped tweet {skipped.tweet_id} (it comes back at the end of the sitting)", "dim")
        self.show_current()
        self.claim_more()

    # -- going back, context --------------------------------------------------------------
    def action_step_back(self) -> None:
        """Step back to the rating before the one shown, with its stored verdict."""
        if not self._on_main_screen():
            return
        if not self.session.step_back():
            self.status.say("no earlier rating in this sitting", "yellow")
            self.bell()
            return
        self.status.say(
            f"{self.session.back} back: a new verdict replaces the stored one; "
            f"{self.settings.keys.shown('forward')} steps forward", "cyan")
        self.show_current()

    def action_step_forward(self) -> None:
        """Step forward again after `b`."""
        if not self._on_main_screen():
            return
        if not self.session.step_forward():
            self.bell()
            return
        self.show_current()

    def action_text(self) -> None:
        """Show the tweet's text (kept at labeling time) over the photo."""
        if not self._on_main_screen():
            return
        image = self.session.shown
        if image is None:
            self.bell()
            return
        self.push_screen(TweetTextScreen(image))

    def action_grid(self) -> None:
        """Switch to the grid view (its screen's `g` switches back)."""
        if not self._on_main_screen():
            return
        self.open_grid()

    def open_grid(self) -> None:
        """Open the grid view: the single view's photos claimed ahead are let go (the grid
        claims pages of its own)."""
        from tuilabel.tui.grid import GridScreen

        s, rater = self.session, self.rater
        held = s.claimed_ids()
        if held:
            self.store.submit(lambda st: st.release_claims(rater, held))
        s.queue.clear()
        s.current = None
        s.back = 0
        s.more_available = True
        self.grid = GridScreen(self)
        self.push_screen(self.grid)

    def close_grid(self) -> None:
        """Back to the single view (called by the grid screen after releasing its claims)."""
        self.grid = None
        self.pop_screen()
        self.show_current()
        self.claim_more()

    def action_undo(self) -> None:
        if not self._on_main_screen():
            return
        if self.session.back:
            self.session.back = 0
        entry = self.session.undo()
        if entry is None:
            self.status.say("nothing to undo in this sitting", "yellow")
            self.bell()
            return

        def delete(s) -> bool:
            try:
                rating_id = entry.rating_id.result()  # done: calls run in order
            except Exception:  # noqa: BLE001 - it was never stored
                return False
            return s.delete_rating(rating_id, claim_seconds=self.claim_seconds)

        future = self.store.submit(delete)
        self.show_current()
        self.run_worker(self._await_undo(entry, future), group="store")

    async def _await_undo(self, entry: Rated, future) -> None:
        import asyncio

        try:
            existed = await asyncio.wrap_future(future)
        except Exception as exc:  # noqa: BLE001
            self.post_message(StoreFailed("undoing the last rating", str(exc)))
            return
        self.post_message(RatingUndone(entry, existed))

    def on_rating_undone(self, message: RatingUndone) -> None:
        self.status.say(
            f"↶ undone: {verdict_of(message.entry.verdict).word} "
            f"(tweet {message.entry.image.tweet_id})", "cyan")
        self.count_progress()

    # -- progress -------------------------------------------------------------------------
    def count_progress(self) -> None:
        if self._counting:
            self._count_again = True
            return
        self._counting = True
        self.run_worker(self._count(), group="store")

    async def _count(self) -> None:
        try:
            st = self.settings
            rated, total = await self.store.run(
                lambda s: s.count_rated(st.model, st.overlap, st.where))
        except Exception as exc:  # noqa: BLE001
            self._counting = False
            self.post_message(StoreFailed("counting the ratings", str(exc)))
            return
        self.post_message(ProgressCounted(rated, total))

    def on_progress_counted(self, message: ProgressCounted) -> None:
        self._counting = False
        s = self.session
        s.rated, s.total = message.rated, message.total
        self._show_progress()
        if self.grid is not None:
            self.grid.progress_counted()
        elif s.current is None and not s.more_available and self._on_main_screen():
            self.show_current()
        if self._count_again:
            self._count_again = False
            self.count_progress()

    def _show_progress(self) -> None:
        s = self.session
        if s.total:
            self.query_one(ProgressPanel).show(progress_text(
                s.rated, s.total, s.per_minute(), s.eta_seconds(), self.rated_this_sitting()))

    def on_store_retrying(self, message: StoreRetrying) -> None:
        self.status.say(message.note, "bold yellow")

    def on_store_failed(self, message: StoreFailed) -> None:
        if self.grid is not None:
            self.grid.say(f"✗ {message.what} failed: {message.error}", "bold red")
        self.status.say(f"✗ {message.what} failed: {message.error}", "bold red")
        self.notify(f"{message.what} failed: {clean(message.error, 200)}", severity="error")

    # -- other screens, quitting ----------------------------------------------------------
    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.settings.keys, grid=self.grid is not None))

    def action_roc(self) -> None:
        if self.roc_view is None:
            self.notify("The ROC screen is not available in this build.", severity="warning")
            return
        if not self._on_main_screen():
            return
        self.push_screen(RocScreen(self.roc_view, self.store))

    # -- zoom -----------------------------------------------------------------------------
    @property
    def zoomed(self) -> bool:
        """The photo fills the screen (z); the rating keys still work."""
        return self.screen_stack[0].has_class("-zoom") if self.screen_stack else False

    def action_zoom(self) -> None:
        if not self._on_main_screen():
            return
        self.screen.toggle_class("-zoom")
        self._update_zoom_bar()

    def action_unzoom(self) -> None:
        if self._on_main_screen() and self.zoomed:
            self.action_zoom()

    def _update_zoom_bar(self) -> None:
        if self.zoomed:
            self.query_one(ZoomBar).show_image(self.session.shown)

    # -- screens over the photo -----------------------------------------------------------
    def push_screen(self, *args, **kwargs):
        """Kitty images lie above the text: take them off before another screen is drawn.
        The photo pane draws its lines again, without the image (a Sixel written with its
        cached last line would cover the new screen), and draws it again when it is back on
        top."""
        if self.photo_display.pixels:
            self.write_terminal(clear_kitty(self.photo_display))
            if self._on_main_screen():
                self.photo.refresh()
        return super().push_screen(*args, **kwargs)

    def pop_screen(self):
        result = super().pop_screen()
        if self.photo_display.pixels:
            self.call_after_refresh(self._redraw_photo)
        return result

    def _redraw_photo(self) -> None:
        if self._on_main_screen():
            self.photo.refresh()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The single view's rating keys are off (and out of the footer) under the grid."""
        if self.grid is not None and action in ("rate", "skip", "roc"):
            return False
        return True

    def _on_main_screen(self) -> bool:
        """Rating keys act only where the photo is visible (not under help or the ROC)."""
        return len(self.screen_stack) == 1

    # -- the sitting ----------------------------------------------------------------------
    def sitting_verdicts(self) -> Counter[str]:
        """The verdicts given in this sitting (single view and grid pages, undone ones not
        counted, re-rated ones as they stand)."""
        counts: Counter[str] = Counter(e.verdict for e in self.session.history)
        for page in self.grid_history:
            counts.update(page.stored_verdicts())
        return counts

    def rated_this_sitting(self) -> int:
        """Photos rated in this sitting."""
        return len(self.session.history) + sum(len(p.images) for p in self.grid_history)

    @property
    def grid_history(self) -> list:
        """The grid pages stored in this sitting (kept when the grid is closed)."""
        return self._grid_history

    def summary(self) -> str:
        """What this sitting did, printed after the screen has closed: photos rated by
        verdict, pace, time spent, what is left."""
        s = self.session
        counts = self.sitting_verdicts()
        n = sum(counts.values())
        minutes = max(time.monotonic() - self.started, 0.0) / 60.0
        lines = [f"tuilabel score: {n:,} photo(s) rated by {clean(self.rater, 60)} "
                 f"in {format_duration(minutes * 60)}"]
        for v in VERDICT_TABLE:
            if counts.get(v.value):
                lines.append(f"  {v.word:<14} {counts[v.value]:>6,}")
        if n and minutes > 0:
            lines.append(f"  pace           {n / minutes:>8.1f} photos/min")
        if s.total:
            lines.append(f"  left           {max(0, s.total - s.rated):>6,} of {s.total:,} "
                         f"photos still want ratings")
        if self.settings.blind and n:
            lines.append("  (rated blind: the model's scores were hidden)")
        return "\n".join(lines)

    def exit(self, result=None, return_code: int = 0, message=None) -> None:
        """Free the terminal's copies of the photos (Kitty graphics) first, then exit: by
        unmount time Textual has left the alternate screen, and tmux drops what is passed
        through to a pane that waits for its redraw, as it does from that moment."""
        self.write_terminal(clear_kitty(self.photo_display, free=True))
        super().exit(result, return_code, message)

    def on_unmount(self) -> None:
        self.store.store.on_retry = None
        self.preloader.stop()
        # (again, for an exit that did not pass through `exit`; "" through tmux once freed)
        self.write_terminal(clear_kitty(self.photo_display, free=True))

    async def action_quit(self) -> None:
        rater = self.rater
        try:  # let others have the photos claimed ahead; ratings are already committed
            await self.store.run(lambda s: s.release_claims(rater))
        except Exception:  # noqa: BLE001 - claims expire on their own
            pass
        self.exit()
