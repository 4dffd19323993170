"""Sixel encoding, in separate processes so that it neither waits for nor holds up the app.

textual-image's encoder is Python and numpy work per band and colour: about 0.3 s for a 633x684
photo on an idle core, and it holds the interpreter lock meanwhile. In the render thread it
competed with the UI thread for the lock, and one photo at a time fell behind a rater pressing
a key every half second on a busy 2-core machine (the bench measured 0.3 s from key to frame,
waiting for the next Sixel). So the render workers hand the scaled photo to a small pool of
spawned processes (started on first use; they import Pillow, numpy and the encoder only, not
Textual) and wait without the lock. If the pool cannot run, the photo is encoded in the thread,
as it is when the pool is not turned on (`use_processes`: the app turns it on while it runs).

This module must stay light: the pool's processes import it.
"""

from __future__ import annotations

import atexit
import re
import threading
from concurrent.futures import ProcessPoolExecutor

from PIL import Image as PILImage

#: Processes encoding at once (the render workers for Sixel are as many).
PROCESSES = 2

_REGISTER = re.compile(r"#(\d+);2;\d+;\d+;\d+")
_RASTER = re.compile(r'"[0-9;]*')
_pool: ProcessPoolExecutor | None = None
_pool_failed = False
_enabled = False
_lock = threading.Lock()


def use_processes(enabled: bool) -> None:
    """Encode in the process pool from now on (the app turns it on while it runs), or stop
    and shut the pool down (its processes end; nothing waits for them)."""
    global _enabled, _pool
    pool = None
    with _lock:
        _enabled = enabled
        if not enabled:
            pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def encode_sixel(image: PILImage.Image, colors: int = 256) -> str:
    """The Sixel (DCS ... ST) string of RGB `image` with at most `colors` colour registers,
    every register defined before the first pixel.

    textual-image defines each register where it is first used, mid-image; xterm (379, -ti
    vt340) then draws the first bands in a wrong colour (measured: 20 dB against the source
    instead of 35.5 dB), so the definitions are moved up front, as ImageMagick writes them."""
    from textual_image._sixel import SixelOptions, image_to_sixels

    sixel = image_to_sixels(image, SixelOptions(colors=max(2, min(256, colors))))
    start = sixel.index("q") + 1
    raster = _RASTER.match(sixel, start)
    body_at = raster.end() if raster else start
    defined: dict[str, str] = {}

    def select(match: re.Match[str]) -> str:
        defined.setdefault(match.group(1), match.group(0))
        return "#" + match.group(1)

    body = _REGISTER.sub(select, sixel[body_at:])
    return sixel[:body_at] + "".join(defined.values()) + body


def _get_pool() -> ProcessPoolExecutor | None:
    global _pool
    with _lock:
        if _pool is None and _enabled and not _pool_failed:
            import multiprocessing

            _pool = ProcessPoolExecutor(PROCESSES, mp_context=multiprocessing.get_context("spawn"))
            atexit.register(_pool.shutdown, wait=False, cancel_futures=True)
        return _pool


def encode_sixel_elsewhere(image: PILImage.Image, colors: int = 256) -> str:
    """`encode_sixel` in one of the pool's processes (the calling thread waits without the
    interpreter lock); in this thread when the pool cannot be used."""
    global _pool_failed
    pool = _get_pool()
    if pool is not None:
        try:
            return pool.submit(encode_sixel, image, colors).result()
        except Exception:  # noqa: BLE001 - a broken pool (a killed process...): encode here
            with _lock:
                _pool_failed = True
    return encode_sixel(image, colors)
