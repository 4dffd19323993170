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
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from PIL import Image as PILImage
from textual.strip import Strip

from tuilabel.store.base import Image
from tuilabel.tui.cells import render_message, render_photo
from tuilabel.tui.text import clean

if TYPE_CHECKING:  # the app is not imported here: see warm.py
    from textual.app import App

Key = tuple[int, tuple[int, int]]


@dataclass(frozen=True)
class Rendered:
    """A photo turned into cells for one pane size, or the placeholder saying why it could
    not be (`failure` is then a short reason such as `http_404`)."""

    image_id: int
    size: tuple[int, int]
    strips: list[Strip]
    failure: str | None = None
    detail: str = ""


class _Failed:
    def __init__(self, reason: str, detail: str) -> None:
        self.reason, self.detail = reason, detail


def placeholder(image: Image, reason: str, detail: str, size: tuple[int, int]) -> list:
    """The pane's content for a photo that could not be shown: the reason, and what to do."""
    cols, rows = size
    lines = [
        "This photo cannot be shown",
        "",
        f"reason: {clean(reason, 80)}",
        clean(detail, 300) if detail else "",
        "",
        "x = cannot rate    s = skip for now",
    ]
    return render_message(lines, cols, rows, style="bold yellow")


class Preloader:
    """Keeps the cells of the photos about to be shown, built by background workers."""

    def __init__(
        self,
        fetch: Callable[[str], bytes],
        decode: Callable[[bytes], PILImage.Image],
        *,
        truecolor: bool = True,
        parallel: int = 1,
        keep_decoded: int = 8,
    ) -> None:
        self._fetch = fetch
        self._decode = decode
        self.truecolor = truecolor
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
        """Start the worker threads (they post PhotoRendered to `app`)."""
        for i in range(self.parallel):
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

    def set_truecolor(self, truecolor: bool) -> None:
        """Switch colour modes (forgets cells built for the other one)."""
        if truecolor != self.truecolor:
            self.truecolor = truecolor
            self._cells.clear()

    def store(self, rendered: Rendered) -> None:
        """Keep a finished result (called by the app when PhotoRendered arrives)."""
        key = (rendered.image_id, rendered.size)
        self._pending.discard(key)
        self._cells[key] = rendered

    def keep_only(self, image_ids: Iterable[int], size: tuple[int, int]) -> None:
        """Forget cells of other photos and of other pane sizes (memory stays flat)."""
        wanted = {(i, size) for i in image_ids}
        for key in [k for k in self._cells if k not in wanted]:
            del self._cells[key]

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
                strips = placeholder(image, "render_error", str(exc), size)
                rendered = Rendered(image.id, size, strips, "render_error", str(exc))
            app.post_message(PhotoRendered(rendered))

    def render(self, image: Image, size: tuple[int, int]) -> Rendered:
        """Fetch (or reuse), decode and render one photo at `size`; thread-safe."""
        photo = self._decoded_photo(image)
        if isinstance(photo, _Failed):
            strips = placeholder(image, photo.reason, photo.detail, size)
            return Rendered(image.id, size, strips, photo.reason, photo.detail)
        strips = render_photo(photo, size[0], size[1], truecolor=self.truecolor)
        _warm_styles(strips, self.truecolor)
        return Rendered(image.id, size, strips)

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


def _warm_styles(strips: list, truecolor: bool) -> None:
    """Compute each cell style's escape codes now, in the worker, so that writing the frame
    on the UI thread finds them cached (Rich caches them on the Style object)."""
    from rich.color import ColorSystem
    from textual.strip import Strip

    system = ColorSystem.TRUECOLOR if truecolor else ColorSystem.EIGHT_BIT
    for strip in strips:
        for _text, style, _ in strip:
            if style is not None and style._ansi is None:
                Strip.render_ansi(style, system)
