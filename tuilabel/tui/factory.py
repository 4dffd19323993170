"""One factory that builds the score app, used by the CLI and by the tests alike.

It opens the store on its own thread (`StoreThread`), makes the same `Fetcher` (and image cache)
that `tuilabel label` uses unless one is given, and wires the ROC screen when the analysis
capability is installed.
"""

from __future__ import annotations

from tuilabel.tui.app import ScoreApp
from tuilabel.tui.graphics import Display
from tuilabel.tui.roc import RocView
from tuilabel.tui.roc import available as roc_available
from tuilabel.tui.storethread import StoreThread, open_store_thread
from tuilabel.tui.warm import WarmStart

__all__ = ["default_roc_view", "make_score_app", "open_store_thread"]


def default_roc_view(model: str | None) -> RocView | None:
    """The ROC screen's content, or None where the analysis capability is missing."""
    return RocView(model) if roc_available() else None


def make_score_app(
    store: StoreThread,
    *,
    rater: str,
    order: str = "random",
    model: str | None = None,
    overlap: int = 1,
    fetcher=None,
    truecolor: bool | None = None,
    display: Display | None = None,
    roc: RocView | None | str = "default",
    freeze_gc: bool = True,
    warm: WarmStart | None = None,
) -> ScoreApp:
    """A ScoreApp over an open store thread; `fetcher` defaults to `label`'s Fetcher (the
    same cache), or the warm start's. `display` says how photos are drawn (see
    graphics.detect); without it, half-block cells in the console's colours (`truecolor`
    True forces 24-bit)."""
    from tuilabel.images import Fetcher, decode_image

    if fetcher is None and warm is not None:
        fetcher = warm.wait().fetcher
    if fetcher is None:
        fetcher = Fetcher(pool_size=4)
    return ScoreApp(
        store=store,
        fetch=fetcher.fetch,
        decode=decode_image,
        rater=rater,
        order=order,
        model=model,
        overlap=overlap,
        truecolor=truecolor,
        display=display,
        roc=default_roc_view(model) if roc == "default" else roc,  # type: ignore[arg-type]
        freeze_gc=freeze_gc,
        warm=warm,
    )
