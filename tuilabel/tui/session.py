"""What a rater's sitting holds, apart from any UI: the photos claimed ahead, the one shown, the
ratings that can be undone, the photos skipped, and the pace.

Plain Python so that it can be tested without Textual. The app mutates it only on the UI thread;
the database calls it implies are made elsewhere (see `storethread.py`).
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field

from tuilabel.store.base import Image

#: How many photos are claimed (and pre-rendered) ahead of the one shown.
LOOKAHEAD = 4
#: How long the photos claimed ahead stay reserved for this rater; the app renews the claims
#: every third of that while it runs (see claims.py), so an idle rater keeps them.
CLAIM_SECONDS = 900
#: The pace is measured over the last this-many ratings.
PACE_WINDOW = 20


@dataclass
class Rated:
    """A rating made in this sitting, kept so that it can be undone."""

    image: Image
    verdict: str
    rating_id: Future[int]  # resolved on the store thread when the rating is committed
    blind: bool = False


@dataclass
class Session:
    rater: str
    queue: deque[Image] = field(default_factory=deque)
    current: Image | None = None
    history: list[Rated] = field(default_factory=list)
    skipped: set[int] = field(default_factory=set)
    #: False once the store had no more photos for this rater (until an undo or skip).
    more_available: bool = True
    rated: int = 0  # images with enough ratings in the store (last count)
    total: int = 0  # images in the store (for the model filter)
    #: How many ratings back the rater has stepped with `b` (0: at the photo to rate next).
    back: int = 0
    _times: deque[float] = field(default_factory=lambda: deque(maxlen=PACE_WINDOW))
    started: float = field(default_factory=time.monotonic)

    # -- the queue ------------------------------------------------------------------------
    def claimed_ids(self) -> list[int]:
        """Ids of the photos shown and queued (claimed for this rater)."""
        ids = [img.id for img in self.queue]
        if self.current is not None:
            ids.append(self.current.id)
        return ids

    def held_ids(self) -> list[int]:
        """Ids this sitting already holds (shown or queued) or passed over: excluded from the
        next claim."""
        return [*self.claimed_ids(), *self.skipped]

    def wants_more(self) -> int:
        """How many more photos to claim to keep LOOKAHEAD queued behind the current one."""
        if not self.more_available:
            return 0
        return max(0, LOOKAHEAD - len(self.queue) + (1 if self.current is None else 0))

    def add_claimed(self, images: list[Image], asked: int) -> None:
        held = set(self.held_ids())
        for image in images:
            if image.id not in held:
                self.queue.append(image)
        if len(images) < asked:
            self.more_available = False
        if self.current is None and self.queue:
            self.current = self.queue.popleft()

    def return_skipped(self) -> bool:
        """At the end of the sitting (nothing queued, the store has nothing more): let the
        photos skipped in this sitting be claimed again. True if there were any."""
        if self.current is not None or self.queue or self.more_available or not self.skipped:
            return False
        self.skipped.clear()
        self.more_available = True
        return True

    # -- going back -----------------------------------------------------------------------
    @property
    def shown(self) -> Image | None:
        """The photo on screen: an earlier rating's when stepped back, else the current one."""
        return self.history[-self.back].image if self.back else self.current

    @property
    def shown_entry(self) -> Rated | None:
        """The rating being looked at again after `b` (None at the photo to rate next)."""
        return self.history[-self.back] if self.back else None

    def step_back(self) -> bool:
        """One rating further back (False when at the first rating of the sitting)."""
        if self.back >= len(self.history):
            return False
        self.back += 1
        return True

    def step_forward(self) -> bool:
        """One rating forward again (False when already at the photo to rate next)."""
        if self.back == 0:
            return False
        self.back -= 1
        return True

    def advance(self) -> Image | None:
        """Show the next queued photo (None when the queue is empty)."""
        self.current = self.queue.popleft() if self.queue else None
        return self.current

    # -- the keys -------------------------------------------------------------------------
    def record(self, verdict: str, rating_id: Future[int]) -> Rated:
        """The current photo got `verdict`; move on. Returns the undo entry."""
        assert self.current is not None
        entry = Rated(self.current, verdict, rating_id)
        self.history.append(entry)
        self._times.append(time.monotonic())
        self.advance()
        return entry

    def skip(self) -> Image:
        """Pass over the current photo for the rest of this sitting; move on."""
        assert self.current is not None
        skipped = self.current
        self.skipped.add(skipped.id)
        self.advance()
        return skipped

    def undo(self) -> Rated | None:
        """Take back the last rating: its photo is shown again, the current one goes back to
        the front of the queue. None when there is nothing to undo."""
        if not self.history:
            return None
        self.back = 0
        entry = self.history.pop()
        if self._times:
            self._times.pop()
        if self.current is not None:
            self.queue.appendleft(self.current)
        self.current = entry.image
        self.more_available = True
        return entry

    # -- the pace -------------------------------------------------------------------------
    def per_minute(self, now: float | None = None) -> float | None:
        """Ratings per minute over the recent ratings; None until two ratings were made."""
        now = time.monotonic() if now is None else now
        if len(self._times) < 2:
            return None
        span = max(now, self._times[-1]) - self._times[0]
        if span <= 0:
            return None
        return 60.0 * (len(self._times) - 1) / span

    def eta_seconds(self) -> float | None:
        """Seconds until every photo has its ratings at the current pace (None if unknown)."""
        pace = self.per_minute()
        if not pace:
            return None
        return 60.0 * max(0, self.total - self.rated) / pace
