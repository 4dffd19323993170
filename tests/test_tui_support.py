"""Helpers shared by the score/TUI tests: fixture photos, a filled store, waiting in Pilot.

(Named test_* so that it lives with the tests it serves; it holds no tests itself.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image as PILImage

from tuilabel.store import NewImage, open_store

LABELS = ["golden_retriever", "tabby", "[bold red]markup[/]", "lab\x1b[2Jcoat", "tiger_cat"]


def make_photo(path: Path, size=(48, 36), colours=((220, 30, 30), (30, 30, 220))) -> Path:
    """A photo whose left half is one colour and right half another (easy to recognise)."""
    img = PILImage.new("RGB", size, colours[0])
    img.paste(colours[1], (size[0] // 2, 0, size[0], size[1]))
    img.save(path)
    return path


def fill_store(db_url: str, photo_dir: Path, n: int = 8, *, model: str = "vgg16",
               relative: bool = False, broken: tuple[int, ...] = (),
               labels: list[str] | None = None, file_name: str = "photo{i}.png") -> list[int]:
    """Store `n` photos (real files named `file_name` with {i} the index, labeled with fixed
    predictions: the top 5 of `labels`, default LABELS); returns their ids in storage order.
    Indices in `broken` point at a file that does not exist."""
    names = labels or LABELS
    photo_dir.mkdir(parents=True, exist_ok=True)
    images = []
    for i in range(n):
        path = photo_dir / file_name.format(i=i)
        if i not in broken:
            make_photo(path)
        url = path.name if relative else str(path)
        score = round(0.9 - 0.05 * i, 3)
        preds = list(zip(names, [score, 0.05, 0.03, 0.01, 0.005], strict=False))
        images.append(NewImage(tweet_id=str(1000 + i), url=url, model=model, predictions=preds))
    store = open_store(db_url)
    try:
        store.add_images(images)
        ids = [img.id for img in store.claim_next("__probe__", n=n, order="oldest")]
        store.release_claims("__probe__")
    finally:
        store.close()
    return ids


def ratings(db_url: str, rater: str | None = None) -> dict[int, str]:
    """image id -> verdict, read through a Store of the test's own."""
    store = open_store(db_url)
    try:
        return {r.image.id: r.verdict for r in store.iter_ratings(rater=rater)}
    finally:
        store.close()


async def until(pilot, condition: Callable[[], bool], timeout: float = 15.0,
                what: str = "condition") -> None:
    """Let the app run until `condition()` holds (workers finish on their own threads)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def settle(pilot, app) -> None:
    """Wait until the current photo is on screen (its cells, not "loading…")."""
    def shown() -> bool:
        cur = app.session.current
        return cur is not None and app.photo.shown is not None and app.photo.shown[0] == cur.id

    await until(pilot, shown, what="the current photo to be drawn")


async def rate(pilot, app, key: str) -> None:
    """Press a rating key and wait until the app has taken it (the rating is recorded).

    Pilot's own wait after a key press guesses from CPU time whether the app is idle, which a
    busy machine fools; the next key could then reach a photo still loading, where j/k/l are
    refused."""
    before = len(app.session.history)
    await pilot.press(key)
    await until(pilot, lambda: len(app.session.history) > before, what=f"{key!r} to be taken")


async def saved(pilot, app) -> None:
    """Wait until every rating made so far is committed."""
    await until(pilot, lambda: all(e.rating_id.done() for e in app.session.history),
                what="the ratings to be committed")
    await pilot.pause(0.05)


def run(coro) -> None:
    asyncio.run(coro)


def screen_lines(app) -> list[str]:
    """The text on screen now, one string per terminal row."""
    strips = app.screen._compositor.render_strips()
    return ["".join(seg.text for seg in strip) for strip in strips]


class HeldFetcher:
    """The real Fetcher, but the bytes of the photo at `slow_url` wait until `release` is set
    (a slow network, at the outermost edge)."""

    def __init__(self, slow_url):
        import threading

        from tuilabel.images import Fetcher

        self.inner = Fetcher(cache_dir=None)
        self.slow_url = slow_url
        self.release = threading.Event()

    def fetch(self, url):
        if url == self.slow_url:
            self.release.wait(20)
        return self.inner.fetch(url)
