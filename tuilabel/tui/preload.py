"""Photos fetched, decoded and turned into cells ahead of time, in Textual thread workers.

The cells of a photo depend on the pane they fill, so results are keyed by (image id, pane
size). The decoded photos of the last few images are kept too, so that a resize re-renders
without fetching again. At most `parallel` photos are worked on at once: on a small machine more
threads would only slow the UI thread, which shares the interpreter lock with them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import partial

from PIL import Image as PILImage
from textual.app import App

from tuilabel.store.base import Image
from tuilabel.tui.cells import render_message, render_photo
from tuilabel.tui.messages import PhotoRendered, Rendered
from tuilabel.tui.text import clean

Key = tuple[int, tuple[int, int]]


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
        parallel: int = 2,
        keep_decoded: int = 8,
    ) -> None:
        self._fetch = fetch
        self._decode = decode
        self.truecolor = truecolor
        self._slots = threading.Semaphore(parallel)
        self._lock = threading.Lock()  # guards _decoded (touched by the worker threads)
        self._decoded: OrderedDict[int, PILImage.Image | _Failed] = OrderedDict()
        self._keep_decoded = keep_decoded
        self._cells: dict[Key, Rendered] = {}  # UI thread only
        self._pending: set[Key] = set()  # UI thread only

    # -- UI thread ------------------------------------------------------------------------
    def get(self, image_id: int, size: tuple[int, int]) -> Rendered | None:
        return self._cells.get((image_id, size))

    def request(self, app: App, image: Image, size: tuple[int, int]) -> None:
        """Start building `image`'s cells at `size` unless they exist or are on their way."""
        key = (image.id, size)
        if size[0] <= 0 or size[1] <= 0 or key in self._cells or key in self._pending:
            return
        self._pending.add(key)
        app.run_worker(
            partial(self._build, app, image, size),
            name=f"photo {image.id}",
            group="photos",
            thread=True,
            exit_on_error=False,
        )

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
    def _build(self, app: App, image: Image, size: tuple[int, int]) -> None:
        with self._slots:
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
