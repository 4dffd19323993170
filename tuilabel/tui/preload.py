"""Photos fetched, decoded and turned into cells ahead of time, in Textual thread workers.

The cells of a photo depend on the pane they fill, so results are keyed by (image id, pane
size). The decoded photos of the last few images are kept too, so that a resize re-renders
without fetching again.

Requests wait in a priority queue (the photo on screen first, then the next ones in order) that
`parallel` long-lived thread workers take from. One worker is the default: the cells are
Python work that holds the interpreter lock, and on a small machine a second rendering thread
would slow the UI thread's frames more than it shortens a queue that is normally empty.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

from PIL import Image as PILImage
from textual.strip import Strip

from tuilabel.config import KeyMap
from tuilabel.store.base import Image
from tuilabel.tui.cells import render_message
from tuilabel.tui.graphics import Display
from tuilabel.tui.picture import Picture, Rendered, render_picture
from tuilabel.tui.text import clean

if TYPE_CHECKING:  # the app is not imported here: see warm.py
    from textual.app import App

Key = tuple[int, tuple[int, int]]


class _Failed:
    def __init__(self, reason: str, detail: str) -> None:
        self.reason, self.detail = reason, detail


#: What a rater can make of each failure reason (the tokens of images.py), in words.
REASON_WORDS = {
    "dns": "the photo's server name does not resolve: check the network (or the URL)",
    "refused": "the photo's server refuses connections: try again later",
    "timeout": "the photo's server did not answer in time: check the network",
    "connection": "the connection to the photo's server broke: check the network",
    "redirects": "the photo's URL redirects in a loop: the photo is not reachable",
    "http_404": "the photo is gone from the server (HTTP 404: deleted tweet or account?)",
    "http_403": "the server refuses the photo (HTTP 403: protected or suspended account?)",
    "http_410": "the photo was removed from the server (HTTP 410)",
    "http_429": "the server limits requests (HTTP 429): skip it, and come back later",
    "http_5xx": "the photo's server has an error (HTTP 5xx): skip it, and come back later",
    "too_large": "the photo file is larger than the download limit",
    "empty": "the photo file is empty",
    "bad_scheme": "the photo's address is not http(s) or a file",
    "bad_url": "the photo's address is malformed",
    "not_found": "the photo's file does not exist here (moved or deleted since labeling?)",
    "io": "the photo's file cannot be read (permissions, or a folder)",
    "not_image": "the file is not a picture (an HTML page or other data)",
    "truncated": "the photo file is cut short or corrupt",
    "decompression_bomb": "the photo is too large to decode safely",
    "unsupported": "the photo's format or colour mode cannot be decoded",
    "render_error": "drawing the photo failed (a bug in tuilabel: please report it)",
}


def reason_words(reason: str) -> str:
    """`reason` (a failure token) as a sentence a rater can act on."""
    if reason in REASON_WORDS:
        return REASON_WORDS[reason]
    if reason.startswith("http_"):
        return f"the server answered HTTP {reason[5:]} instead of the photo"
    return reason


def placeholder(image: Image, reason: str, detail: str, size: tuple[int, int],
                keys: KeyMap | None = None) -> list:
    """The pane's content for a photo that could not be shown: why, in words a rater can act
    on, and the keys that still work (j/k/l are refused: nobody can judge an unseen photo);
    the keys as `keys` has them."""
    keys = keys or KeyMap()
    cols, rows = size
    lines = [
        f"This photo cannot be shown, so {keys.judging().replace(' ', '/')} cannot rate it",
        "",
        clean(reason_words(reason), 120),
        f"({clean(reason, 40)}{': ' + clean(detail, 200) if detail else ''})",
        "",
        f"{keys.shown('unrateable')} = mark it cannot rate    "
        f"{keys.shown('skip')} = skip it for now",
    ]
    return render_message(lines, cols, rows, style="bold yellow")


class Preloader:
    """Keeps the cells of the photos about to be shown, built by background workers."""

    def __init__(
        self,
        fetch: Callable[[str], bytes],
        decode: Callable[[bytes], PILImage.Image],
        *,
        display: Display | None = None,
        keys: KeyMap | None = None,
        parallel: int = 1,
        keep_decoded: int = 8,
    ) -> None:
        self._fetch = fetch
        self._decode = decode
        self.display = display or Display()
        #: The keys in force, named on the placeholder of a photo that cannot be shown.
        self.keys = keys or KeyMap()
        self.parallel = parallel
        self._queue: queue.PriorityQueue = queue.PriorityQueue()
        self._seq = itertools.count()
        self._stop = threading.Event()
        self._lock = threading.Lock()  # guards _decoded (touched by the worker threads)
        self._decoded: OrderedDict[int, PILImage.Image | _Failed] = OrderedDict()
        self._keep_decoded = keep_decoded
        self._cells: dict[Key, Rendered] = {}  # UI thread only
        self._pending: set[Key] = set()  # UI thread only

    # -- UI thread ------------------------------------------------------------------------
    def get(self, image_id: int, size: tuple[int, int]) -> Rendered | None:
        return self._cells.get((image_id, size))

    def start(self, app: App) -> None:
        """Start the worker threads (they post PhotoRendered to `app`). Sixel photos get as
        many threads as encoding processes (each waits on its process without the lock)."""
        from tuilabel.tui.sixel import PROCESSES

        workers = max(self.parallel, PROCESSES if self.display.graphics == "sixel" else 1)
        for i in range(workers):
            app.run_worker(partial(self._work, app), name=f"photos {i}", group="photos",
                           thread=True, exit_on_error=False)

    def stop(self) -> None:
        self._stop.set()

    def request(self, image: Image, size: tuple[int, int], priority: int = 0) -> None:
        """Queue `image`'s cells at `size` unless they exist or are on their way; lower
        `priority` first (0 = the photo on screen)."""
        key = (image.id, size)
        if size[0] <= 0 or size[1] <= 0 or key in self._cells or key in self._pending:
            return
        self._pending.add(key)
        self._queue.put((priority, next(self._seq), image, size))

    def set_display(self, display: Display) -> None:
        """Switch how photos are drawn (forgets pictures made the other way)."""
        if display != self.display:
            self.display = display
            self._cells.clear()

    def store(self, rendered: Rendered) -> None:
        """Keep a finished result (called by the app when PhotoRendered arrives)."""
        key = (rendered.image_id, rendered.size)
        self._pending.discard(key)
        self._cells[key] = rendered

    def keep_only(self, image_ids: Iterable[int], size: tuple[int, int]) -> list[Rendered]:
        """Forget pictures of other photos and of other pane sizes (memory stays flat);
        returns the ones forgotten."""
        return self.keep_keys({(i, size) for i in image_ids})

    def keep_keys(self, wanted: set[Key]) -> list[Rendered]:
        """Forget every picture but those of `wanted` (image id, pane size) pairs; returns the
        ones forgotten."""
        return [self._cells.pop(key) for key in [k for k in self._cells if k not in wanted]]

    # -- worker threads -------------------------------------------------------------------
    def _work(self, app: App) -> None:
        from textual.worker import get_current_worker

        from tuilabel.tui.messages import PhotoRendered

        worker = get_current_worker()
        while not self._stop.is_set() and not worker.is_cancelled:
            try:
                _, _, image, size = self._queue.get(timeout=0.25)
            except queue.Empty:
                continue
            try:
                rendered = self.render(image, size)
            except Exception as exc:  # never lose the photo: show why instead
                strips = placeholder(image, "render_error", str(exc), size, self.keys)
                rendered = Rendered(image.id, size, Picture(strips), "render_error", str(exc))
            app.post_message(PhotoRendered(rendered))

    def render(self, image: Image, size: tuple[int, int]) -> Rendered:
        """Fetch (or reuse), decode and render one photo at `size`; thread-safe."""
        photo = self._decoded_photo(image)
        if isinstance(photo, _Failed):
            strips = placeholder(image, photo.reason, photo.detail, size, self.keys)
            return Rendered(image.id, size, Picture(strips), photo.reason, photo.detail)
        display = self.display
        picture = render_picture(photo, size[0], size[1], display)
        if picture.graphics == "halfblock":
            _warm_styles(picture.strips, display.colors)
        return Rendered(image.id, size, picture)

    def _decoded_photo(self, image: Image) -> PILImage.Image | _Failed:
        with self._lock:
            if image.id in self._decoded:
                self._decoded.move_to_end(image.id)
                return self._decoded[image.id]
        try:
            photo: PILImage.Image | _Failed = self._decode(self._fetch(image.url))
        except Exception as exc:  # FetchError/DecodeError carry .reason; anything else too
            photo = _Failed(getattr(exc, "reason", type(exc).__name__), getattr(
                exc, "detail", str(exc)))
        with self._lock:
            self._decoded[image.id] = photo
            while len(self._decoded) > self._keep_decoded:
                self._decoded.popitem(last=False)
        return photo


def _warm_styles(strips: list, colors: str) -> None:
    """Compute each cell style's escape codes now, in the worker, so that writing the frame
    on the UI thread finds them cached (Rich caches them on the Style object)."""
    from rich.color import ColorSystem

    system = {"truecolor": ColorSystem.TRUECOLOR, "256": ColorSystem.EIGHT_BIT}.get(
        colors, ColorSystem.STANDARD)
    for strip in strips:
        for _text, style, _ in strip:
            if style is not None and style._ansi is None:
                Strip.render_ansi(style, system)
