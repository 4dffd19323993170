"""Messages that workers post back to the app, named for what already happened.

Workers never touch widgets: they post one of these, and the app's handler (on the UI thread)
updates the session and the screen.
"""

from __future__ import annotations

from textual.message import Message

from tuilabel.store.base import Image
from tuilabel.tui.picture import Rendered
from tuilabel.tui.session import Rated


class ImagesClaimed(Message):
    """The store handed out photos to rate next (`asked` is how many were asked for)."""

    def __init__(self, images: list[Image], asked: int) -> None:
        super().__init__()
        self.images = images
        self.asked = asked


class ClaimsRenewed(Message):
    """The claims on the photos held were extended; `renewed` are the ids still held."""

    def __init__(self, held: list[int], renewed: set[int]) -> None:
        super().__init__()
        self.held = held
        self.renewed = renewed


class PhotoRendered(Message):
    """A worker finished the cells of one photo at one pane size."""

    def __init__(self, rendered: Rendered) -> None:
        super().__init__()
        self.rendered = rendered


class RatingSaved(Message):
    """A rating was committed to the store."""

    def __init__(self, entry: Rated, rating_id: int) -> None:
        super().__init__()
        self.entry = entry
        self.rating_id = rating_id


class RatingFailed(Message):
    """A rating could not be stored (the photo is shown again)."""

    def __init__(self, entry: Rated, error: str) -> None:
        super().__init__()
        self.entry = entry
        self.error = error


class RatingUndone(Message):
    """An earlier rating was deleted from the store."""

    def __init__(self, entry: Rated, existed: bool) -> None:
        super().__init__()
        self.entry = entry
        self.existed = existed


class ProgressCounted(Message):
    """The store counted the rated photos and all photos."""

    def __init__(self, rated: int, total: int) -> None:
        super().__init__()
        self.rated = rated
        self.total = total


class StoreFailed(Message):
    """A background database call failed; `what` says which."""

    def __init__(self, what: str, error: str) -> None:
        super().__init__()
        self.what = what
        self.error = error


class StoreRetrying(Message):
    """The store lost its connection (or hit a deadlock) and is retrying: say so, so that a
    rating in flight is not taken for lost (sent from the store thread)."""

    def __init__(self, note: str) -> None:
        super().__init__()
        self.note = note
