"""The score app: one photo at a time, rated with j/k/l, committed on each key press.

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
from collections import deque
from collections.abc import Callable

from PIL import Image as PILImage
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer

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
from tuilabel.tui.picture import KITTY_HIDE_ALL
from tuilabel.tui.preload import Preloader, reason_words
from tuilabel.tui.roc import RocView
from tuilabel.tui.screens import HelpScreen, RocScreen
from tuilabel.tui.session import CLAIM_SECONDS, Rated, Session
from tuilabel.tui.storethread import StoreThread
from tuilabel.tui.text import clean
from tuilabel.tui.warm import SIDE_COLUMNS, WarmStart
from tuilabel.tui.widgets import (
    InfoPanel,
    PhotoView,
    ProgressPanel,
    RateButtons,
    StatusLine,
    ZoomBar,
    forget_kitty,
    progress_text,
    send_kitty,
)

VERDICT_WORDS = {"top1": "top-1 correct", "top5": "in the top 5", "none": "none correct",
                 "unrateable": "cannot rate"}
#: Verdicts that judge the photo: refused while it is loading or could not be drawn.
NEEDS_PHOTO = ("top1", "top5", "none")

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
    #side {{ width: {SIDE_COLUMNS}; height: 1fr; padding: 0 1; border-left: solid $primary; }}
    #info {{ height: auto; max-height: 18; }}
    #progress {{ height: 3; margin-top: 1; }}
    #status {{ height: auto; max-height: 3; margin-top: 1; }}
    RateButtons {{ margin-top: 1; }}
    ZoomBar {{ display: none; }}
    .-zoom #side {{ display: none; }}
    .-zoom Footer {{ display: none; }}
    .-zoom #note {{ display: none; }}
    .-zoom ZoomBar {{ display: block; }}
    """
    BINDINGS = [
        Binding("j", "rate('top1')", "top-1"),
        Binding("k", "rate('top5')", "top-5"),
        Binding("l", "rate('none')", "none"),
        Binding("x", "rate('unrateable')", "broken"),
        Binding("s", "skip", "skip"),
        Binding("z", "zoom", "zoom", show=False),  # (no room in an 80-column footer)
        Binding("escape", "unzoom", "back", show=False),
        Binding("u", "undo", "undo"),
        Binding("backspace", "undo", "undo", show=False),
        Binding("r", "roc", "ROC"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit", "quit"),
        # Ctrl-C quits too (Textual's default only says to press Ctrl-Q): same clean exit.
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
    ]

    def __init__(
        self,
        *,
        store: StoreThread,
        fetch: Callable[[str], bytes],
        decode: Callable[[bytes], PILImage.Image],
        rater: str,
        order: str = "random",
        model: str | None = None,
        overlap: int = 1,
        truecolor: bool | None = None,
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
        self.store = store
        self.rater = rater
        self.order = order
        self.model_filter = model
        self.overlap = overlap
        self.claim_seconds = claim_seconds
        self.roc_view = roc
        self.session = Session(rater=rater)
        self._size_guess: tuple[int, int] = (0, 0)
        if display is None:
            system = self.console.color_system
            colors = "truecolor" if truecolor or (truecolor is None and system == "truecolor") \
                else {"256": "256", "standard": "16", "windows": "16"}.get(system or "", "256")
            display = Display(graphics="halfblock", colors=colors)
        self.photo_display = display
        self.preloader: Preloader
        if warm is not None and warm.wait().ready and warm.preloader is not None:
            self.preloader = warm.preloader
            self.preloader.set_display(display)
            self.session.add_claimed(warm.images, warm.asked)
            self._size_guess = warm.size
            if warm.counts is not None:
                self.session.rated, self.session.total = warm.counts
        else:  # (a failed warm start is retried by the normal path, which reports errors)
            self.preloader = Preloader(fetch, decode, display=display)
        self._freeze_gc = freeze_gc
        self._claiming = False
        self._counting = False
        self._count_again = False
        self._frame_log = os.environ.get(FRAME_LOG_ENV)
        self._started_gc = False
        #: The id of the photo on screen when it is drawn and may be judged (j/k/l).
        self._rateable: int | None = None

    # -- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="photo-column"):
                yield PhotoView(id="photo")
                yield ZoomBar()
            with Vertical(id="side"):
                yield InfoPanel(id="info")
                yield ProgressPanel(id="progress")
                yield StatusLine(id="status")
                yield RateButtons()
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

    def pane_size(self) -> tuple[int, int]:
        """The photo pane's size in cells (before the first layout: the warm start's guess)."""
        size = self.photo.size
        if size.width == 0 and size.height == 0:
            return self._size_guess
        return (size.width, size.height)

    def on_mount(self) -> None:
        self._mark("startup mounted")
        # Hand the interpreter lock from the render worker to the UI thread sooner (default
        # 5 ms), so a frame is not kept waiting behind cells being built for the next photo.
        sys.setswitchinterval(0.001)
        # post_message is thread-safe: the store thread reports its retries ("reconnecting…")
        def on_retry(note: str) -> None:
            self.post_message(StoreRetrying(note))

        self.store.store.on_retry = on_retry
        self.preloader.start(self)
        self.set_interval(max(1.0, self.claim_seconds / 3), self.renew_claims)
        self.status.say("Finding photos to rate…", "dim")
        if self.photo_display.note:
            self.query_one("#note", StatusLine).say(self.photo_display.note, "dim")
            self.query_one("#note").add_class("-shown")
        self._show_progress()
        if self.session.current is not None or not self.session.more_available:
            self._warm_started()  # drawn in the very first frame
        self.claim_more()
        if self.session.total == 0:  # not counted by the warm start
            self.count_progress()

    def _warm_started(self) -> None:
        self._mark("startup claimed")
        if self.session.current is not None:
            self.status.say("j top-1 · k top-5 · l none · z zoom · ? help", "dim")
        self.show_current()

    # -- claiming photos ------------------------------------------------------------------
    def claim_more(self) -> None:
        """Keep LOOKAHEAD photos claimed behind the one shown."""
        wanted = self.session.wants_more()
        if wanted and not self._claiming:
            self._claiming = True
            self.run_worker(self._claim(wanted, self.session.held_ids()), group="store")

    async def _claim(self, n: int, exclude: list[int]) -> None:
        rater, order, model, overlap = self.rater, self.order, self.model_filter, self.overlap
        seconds = self.claim_seconds
        try:
            images = await self.store.run(lambda s: s.claim_next(
                rater, n=n, order=order, model=model, overlap=overlap, exclude=exclude,
                claim_seconds=seconds))
        except Exception as exc:  # noqa: BLE001 - shown on screen; the app keeps running
            self._claiming = False
            self.post_message(StoreFailed("finding the next photos", str(exc)))
            return
        self.post_message(ImagesClaimed(images, n))

    def on_images_claimed(self, message: ImagesClaimed) -> None:
        if not self._started_gc:
            self._mark("startup claimed")
        self._claiming = False
        had_current = self.session.current is not None
        self.session.add_claimed(message.images, message.asked)
        if not had_current:
            if self.session.current is not None:
                self.status.say("j top-1 · k top-5 · l none · z zoom · ? help", "dim")
            else:
                self._settle_gc()  # no photo frame will do it
            self.show_current()
        else:
            self.preload_ahead()
        self.claim_more()

    def renew_claims(self) -> None:
        """Extend the claims on the photos held, so that a rater away from the keyboard does
        not come back to photos meanwhile handed to someone else."""
        held = self.session.claimed_ids()
        if self._claiming or not held:
            return
        self._claiming = True
        self.run_worker(self._renew(held), group="store")

    async def _renew(self, held: list[int]) -> None:
        rater, seconds, overlap = self.rater, self.claim_seconds, self.overlap
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
        if lost:  # taken by someone else while this rater was away: pass them over
            self.session.queue = deque(i for i in self.session.queue if i.id not in lost)
            self.session.more_available = True
            self.preload_ahead()
        self.claim_more()  # a claim wanted while the renewal held the flag happens now

    # -- showing photos -------------------------------------------------------------------
    def show_current(self) -> None:
        """Put the current photo (or why there is none) on screen, from pre-built cells."""
        image = self.session.current
        info = self.query_one(InfoPanel)
        info.show_image(image, self.rater)
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
            self.status.say(f"photo not shown: {reason_words(rendered.failure)}. "
                            "x = cannot rate, s = skip", "yellow")
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

    def _mark(self, event: str) -> None:
        """Append `event` and the time to the frame log (benchmarks only)."""
        if self._frame_log:
            with open(self._frame_log, "a", encoding="utf-8") as fh:
                fh.write(f"{event} {time.time():.6f}\n")

    def _nothing_left(self) -> list[str]:
        s = self.session
        lines = ["Nothing left to rate for " + clean(self.rater, 60), ""]
        lines.append(f"{s.rated:,} of {s.total:,} photos have their ratings.")
        if s.skipped:
            lines.append(f"{len(s.skipped)} skipped in this sitting: reopen to see them again.")
        lines += ["", "u = undo the last rating    q = quit"]
        return lines

    def preload_ahead(self) -> None:
        size = self.pane_size()
        s = self.session
        upcoming = ([s.current] if s.current else []) + list(s.queue)
        for priority, image in enumerate(upcoming):
            self.preloader.request(image, size, priority)
        recent = [e.image.id for e in s.history[-2:]]
        dropped = self.preloader.keep_only([i.id for i in upcoming] + recent, size)
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
        current = self.session.current
        if current is not None and rendered.image_id == current.id \
                and rendered.size == self.pane_size():
            self._show_rendered(rendered)

    def on_photo_view_resized(self, message: PhotoView.Resized) -> None:
        if self.session.current is not None or not self.session.more_available:
            self.show_current()

    # -- rating ---------------------------------------------------------------------------
    def action_rate(self, verdict: str) -> None:
        self._mark(f"key {verdict}")
        image = self.session.current
        if image is None or not self._on_main_screen():
            self.bell()
            return
        if verdict in NEEDS_PHOTO and self._rateable != image.id:
            # Nobody can judge a photo they cannot see: only x (cannot rate) and s (skip).
            self.bell()
            rendered = self.preloader.get(image.id, self.pane_size())
            if rendered is not None and rendered.failure:
                self.status.say(f"not stored: this photo cannot be shown "
                                f"({reason_words(rendered.failure)}); x = cannot rate, "
                                "s = skip", "yellow")
            else:
                self.status.say("not stored: j k l wait until the photo is drawn "
                                "(s = skip)", "yellow")
            return
        rater = self.rater
        future = self.store.submit(lambda s: s.add_rating(image.id, rater, verdict))
        entry = self.session.record(verdict, future)
        self.show_current()
        self.run_worker(self._await_rating(entry), group="store")
        self.claim_more()

    async def _await_rating(self, entry: Rated) -> None:
        import asyncio

        try:
            rating_id = await asyncio.wrap_future(entry.rating_id)
        except Exception as exc:  # noqa: BLE001 - reported and the photo shown again
            self.post_message(RatingFailed(entry, str(exc)))
            return
        self.post_message(RatingSaved(entry, rating_id))

    def on_rating_saved(self, message: RatingSaved) -> None:
        if isinstance(self.screen, RocScreen):
            self.screen.refresh_roc()
        entry = message.entry
        self.status.say(
            f"✓ stored: {VERDICT_WORDS[entry.verdict]} (tweet {entry.image.tweet_id})", "green")
        self.count_progress()

    def on_rating_failed(self, message: RatingFailed) -> None:
        entry, s = message.entry, self.session
        self.status.say(f"✗ NOT stored: {message.error}", "bold red")
        self.notify(f"Rating not stored: {clean(message.error, 200)}", severity="error")
        if entry in s.history:  # show that photo again, to be rated once more
            s.history.remove(entry)
            if s.current is not None:
                s.queue.appendleft(s.current)
            s.current = entry.image
            self.show_current()

    def action_skip(self) -> None:
        if self.session.current is None or not self._on_main_screen():
            self.bell()
            return
        skipped = self.session.skip()
        rater = self.rater
        self.store.submit(lambda s: s.release_claims(rater, [skipped.id]))
        self.status.say(f"skipped tweet {skipped.tweet_id}", "dim")
        self.show_current()
        self.claim_more()

    def action_undo(self) -> None:
        if not self._on_main_screen():
            return
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
            f"↶ undone: {VERDICT_WORDS[message.entry.verdict]} "
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
            rated, total = await self.store.run(
                lambda s: s.count_rated(self.model_filter, self.overlap))
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
        if s.current is None and not s.more_available:
            self.show_current()
        if self._count_again:
            self._count_again = False
            self.count_progress()

    def _show_progress(self) -> None:
        s = self.session
        if s.total:
            self.query_one(ProgressPanel).show(progress_text(
                s.rated, s.total, s.per_minute(), s.eta_seconds(), len(s.history)))

    def on_store_retrying(self, message: StoreRetrying) -> None:
        self.query_one(StatusLine).say(message.note, "bold yellow")

    def on_store_failed(self, message: StoreFailed) -> None:
        self.status.say(f"✗ {message.what} failed: {message.error}", "bold red")
        self.notify(f"{message.what} failed: {clean(message.error, 200)}", severity="error")

    # -- other screens, quitting ----------------------------------------------------------
    def action_help(self) -> None:
        self.push_screen(HelpScreen())

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
        return self.screen.has_class("-zoom")

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
            self.query_one(ZoomBar).show_image(self.session.current)

    # -- screens over the photo -----------------------------------------------------------
    def push_screen(self, *args, **kwargs):
        """Kitty images lie above the text: take them off before another screen is drawn
        (the photo pane draws its own again when it is back on top)."""
        if self.photo_display.graphics == "kitty":
            self.write_terminal(KITTY_HIDE_ALL)
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

    def _on_main_screen(self) -> bool:
        """Rating keys act only where the photo is visible (not under help or the ROC)."""
        return len(self.screen_stack) == 1

    def on_unmount(self) -> None:
        self.store.store.on_retry = None
        self.preloader.stop()
        if self.photo_display.graphics == "kitty":  # free the terminal's copies of the photos
            self.write_terminal("\x1b_Ga=d,d=A,q=2\x1b\\")

    async def action_quit(self) -> None:
        rater = self.rater
        try:  # let others have the photos claimed ahead; ratings are already committed
            await self.store.run(lambda s: s.release_claims(rater))
        except Exception:  # noqa: BLE001 - claims expire on their own
            pass
        self.exit()
