"""The grid view's pages, apart from any UI: photos that share a top-1 label, one verdict per
tile, the pages claimed ahead, the ones stored in this sitting (for undo and going back).

Plain Python so that it can be tested without Textual; the app mutates it on the UI thread
only, and the database calls it implies run on the store thread (`claim_page` is one of them).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from tuilabel.store.base import Image, ImageFilter, Store
from tuilabel.tui.settings import ScoreSettings
from tuilabel.verdicts import VERDICT_VALUES, next_verdict

#: Pages claimed (and their tiles rendered) ahead of the one shown.
PAGES_AHEAD = 2
#: Every tile starts as this verdict ("top-1 right"): only the exceptions need a key.
START_VERDICT = VERDICT_VALUES[0]


@dataclass
class Page:
    """One grid page: photos whose top-1 label is `label`, each with the verdict its tile
    shows. `rating_ids` is set once the page was handed to the store (resolved when the
    page's one transaction has committed)."""

    label: str
    images: list[Image]
    verdicts: list[str] = field(default_factory=list)
    rating_ids: Future[list[int]] | None = None
    blind: bool = False

    def __post_init__(self) -> None:
        if not self.verdicts:
            self.verdicts = [START_VERDICT] * len(self.images)

    def cycle(self, tile: int) -> str:
        """Tile `tile` (0-based) to its next verdict (top1 -> top5 -> none -> unrateable ->
        top1); returns the new one. Raises IndexError for a tile the page lacks."""
        self.verdicts[tile] = next_verdict(self.verdicts[tile])
        return self.verdicts[tile]

    def pairs(self) -> list[tuple[int, str]]:
        """(image id, verdict) of every tile, what the store is given."""
        return [(img.id, v) for img, v in zip(self.images, self.verdicts, strict=True)]

    def exceptions(self) -> int:
        """Tiles not left at the starting verdict."""
        return sum(v != START_VERDICT for v in self.verdicts)

    def stored_verdicts(self) -> list[str]:
        """The verdicts as stored (a page not yet handed to the store counts for none)."""
        return list(self.verdicts) if self.rating_ids is not None else []


@dataclass
class PageSession:
    """The grid's pages in one sitting."""

    tiles: int
    ahead: deque[Page] = field(default_factory=deque)
    current: Page | None = None
    history: list[Page] = field(default_factory=list)
    #: Pages stepped back with `b` (0: at the page to rate next).
    back: int = 0
    #: False once the store had no more photos for this rater (until an undo or skip).
    more_available: bool = True
    #: Ids of the photos on pages skipped in this sitting: not claimed again until nothing
    #: else is left (`return_skipped`).
    skipped: set[int] = field(default_factory=set)

    def claimed_ids(self) -> list[int]:
        """Ids of the photos on the page to rate and on the pages ahead (claimed)."""
        pages = ([self.current] if self.current else []) + list(self.ahead)
        return [img.id for page in pages for img in page.images]

    def held_ids(self) -> list[int]:
        """Ids excluded from the next claim: held by this sitting already, or skipped."""
        return [*self.claimed_ids(), *self.skipped]

    @property
    def shown(self) -> Page | None:
        """The page on screen: an earlier one when stepped back, else the one to rate."""
        return self.history[-self.back] if self.back else self.current

    def wants_more(self) -> bool:
        """Whether another page should be claimed now."""
        return self.more_available and len(self.ahead) + (self.current is None) < PAGES_AHEAD + 1

    def add_page(self, images: list[Image]) -> Page | None:
        """A claimed page arrived (empty: the store has nothing more). Returns the page."""
        if not images:
            self.more_available = False
            return None
        page = Page(images[0].label1, list(images))
        if self.current is None:
            self.current = page
        else:
            self.ahead.append(page)
        return page

    def store_current(self, rating_ids: Future[list[int]], blind: bool) -> Page:
        """The page to rate was handed to the store: keep it for undo; the next one shows."""
        assert self.current is not None
        page = self.current
        page.rating_ids, page.blind = rating_ids, blind
        self.history.append(page)
        self.current = self.ahead.popleft() if self.ahead else None
        return page

    def skip_current(self) -> Page | None:
        """Pass over the page to rate for the rest of this sitting (its verdicts are dropped;
        the caller releases its claims); the next page shows. None when there is none."""
        page = self.current
        if page is None:
            return None
        self.skipped.update(img.id for img in page.images)
        self.current = self.ahead.popleft() if self.ahead else None
        return page

    def return_skipped(self) -> bool:
        """At the end of the sitting (no page to rate or ahead, the store has nothing more):
        let the photos of the pages skipped be claimed again. True if there were any."""
        if self.current is not None or self.ahead or self.more_available or not self.skipped:
            return False
        self.skipped.clear()
        self.more_available = True
        return True

    def undo(self) -> Page | None:
        """Take back the last stored page: shown again (with the verdicts it had), the page
        that was next goes back in front of the pages ahead. None if nothing to undo."""
        if not self.history:
            return None
        self.back = 0
        page = self.history.pop()
        if self.current is not None:
            self.ahead.appendleft(self.current)
        self.current = page
        self.more_available = True
        return page

    def drop(self, lost: set[int]) -> None:
        """Photos whose claims lapsed to another rater: taken off the pages ahead."""
        for page in self.ahead:
            keep = [i for i, img in enumerate(page.images) if img.id not in lost]
            page.images = [page.images[i] for i in keep]
            page.verdicts = [page.verdicts[i] for i in keep]
        self.ahead = deque(p for p in self.ahead if p.images)
        self.more_available = True


def claim_page(store: Store, settings: ScoreSettings, tiles: int, exclude: Sequence[int],
               claim_seconds: int) -> list[Image]:
    """Claim the next grid page for the rater (run on the store thread): the first photo in
    the sitting's order and filters, then up to `tiles - 1` more with the same top-1 label.
    Each claim is atomic across processes, under the same rater and overlap rules as the
    single view, so two raters never get the same photo. Returns [] when nothing is left."""
    st = settings
    first = store.claim_next(st.who, n=1, order=st.order, model=st.model, overlap=st.overlap,
                             exclude=exclude, claim_seconds=claim_seconds, where=st.where)
    if not first or tiles <= 1:
        return first
    same = (st.where or ImageFilter()).same_label(first[0].label1)
    rest = store.claim_next(st.who, n=tiles - 1, order=st.order, model=st.model,
                            overlap=st.overlap, exclude=[*exclude, first[0].id],
                            claim_seconds=claim_seconds, where=same)
    return first + rest
