"""One factory that builds the score app, used by the CLI and by the tests alike.

It opens the store on its own thread (`StoreThread`), makes the same `Fetcher` (and image cache)
that `tuilabel label` uses unless one is given, and wires the ROC screen when the analysis
capability is installed.
"""

from __future__ import annotations

from dataclasses import replace

from tuilabel.tui.app import ScoreApp
from tuilabel.tui.graphics import Display
from tuilabel.tui.roc import RocView
from tuilabel.tui.roc import available as roc_available
from tuilabel.tui.settings import ScoreSettings
from tuilabel.tui.storethread import StoreThread, open_store_thread
from tuilabel.tui.warm import WarmStart

__all__ = ["default_roc_view", "make_score_app", "open_store_thread"]


def default_roc_view(model: str | None) -> RocView | None:
    """The ROC screen's content, or None where the analysis capability is missing."""
    return RocView(model) if roc_available() else None


def make_score_app(
    store: StoreThread,
    settings: ScoreSettings | None = None,
    *,
    fetcher=None,
    display: Display | None = None,
    roc: RocView | None | str = "default",
    freeze_gc: bool = True,
    warm: WarmStart | None = None,
    **fields,
) -> ScoreApp:
    """A ScoreApp over an open store thread, for `settings` (or, in tests, a ScoreSettings
    built from `fields`, such as rater="alice", order="oldest"); `fetcher` defaults to
    `label`'s Fetcher (the same cache), or the warm start's. `display` says how photos are
    drawn (see graphics.detect); without it, half-block cells in the console's colours
    (`settings.truecolor` forces 24-bit). Raises InputError for settings that
    `ScoreSettings.check` refuses."""
    from tuilabel.images import Fetcher, decode_image

    if settings is None:
        settings = ScoreSettings(**fields)
    elif fields:
        settings = replace(settings, **fields)
    settings = settings.check()
    if fetcher is None and warm is not None:
        fetcher = warm.wait().fetcher
    if fetcher is None:
        fetcher = Fetcher(pool_size=4)
    return ScoreApp(
        settings,
        store=store,
        fetch=fetcher.fetch,
        decode=decode_image,
        display=display,
        roc=default_roc_view(settings.model) if roc == "default" else roc,  # type: ignore[arg-type]
        freeze_gc=freeze_gc,
        warm=warm,
    )
