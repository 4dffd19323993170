"""`tuilabel score` as a plain function: check the terminal and the database, run the app.

No Textual import at module level: the terminal checks and the colour setting must happen
before Textual is imported (it reads TEXTUAL_COLOR_SYSTEM once, at import).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time

from tuilabel.errors import DataError, InputError
from tuilabel.tui.settings import ScoreSettings
from tuilabel.tui.storethread import StoreThread

#: After a hang-up, how long the store thread may take to finish the rating in flight and
#: release this rater's claims before the process ends anyway.
HANGUP_GRACE_SECONDS = 1.0


def check_terminal() -> None:
    """Refuse to start a full-screen app without a terminal (it would hang or garble)."""
    for name, stream in (("stdin", sys.stdin), ("stdout", sys.stdout),
                         ("stderr (where Textual draws the screen)", sys.stderr)):
        if stream is None or not stream.isatty():
            raise InputError(
                f"`tuilabel score` is interactive and needs a terminal, but {name} is not one "
                "(run it in a terminal, or over `ssh -t`)"
            )
    if os.environ.get("TERM") == "dumb":
        raise InputError("`tuilabel score` needs a terminal with cursor control (TERM=dumb)")


def run_score(settings: ScoreSettings) -> str:
    """Run the score app until the rater quits; returns the sitting's summary, to be printed
    once the screen has closed. `settings.graphics` is auto, kitty, sixel or halfblock (None:
    the TUILABEL_GRAPHICS variable, else auto). Raises TuilabelError for the user's mistakes."""
    settings = settings.check()
    # No cyclic garbage collection during start-up: importing Textual and building the app
    # make hundreds of thousands of objects and trigger full collections over all of them.
    # The app collects once and freezes the heap after its first photo is on screen.
    gc.disable()

    from tuilabel.tui.storethread import open_store_thread

    store = open_store_thread(settings.db)
    try:
        model, where = settings.model, settings.where
        rated, total = store.call(lambda s: s.count_rated(model, settings.overlap, where))
        if total == 0:
            what = f" labeled by model {model!r}" if model else ""
            if where is not None:
                what += " that match --label/--min-score/--max-score"
            raise DataError(
                f"{store.name} has no photos{what} to rate: fill it with `tuilabel label` "
                "(classify the photos of tweets) or `tuilabel load` (import an export)"
            )
        check_terminal()
        # Textual sizes the screen with shutil.get_terminal_size(), which prefers COLUMNS and
        # LINES: exported (stale) values would pin the app to the wrong size and ignore
        # resizes. The terminal itself knows its size.
        os.environ.pop("COLUMNS", None)
        os.environ.pop("LINES", None)
        # Ask the terminal what it draws (one round trip) before Textual reads its input.
        from tuilabel.tui.graphics import detect

        try:
            display = detect(settings.graphics, truecolor=settings.truecolor)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        if display.graphics == "sixel":  # encoded in other processes (see sixel.py)
            from tuilabel.tui.sixel import use_processes

            use_processes(True)
        os.environ["TEXTUAL_COLOR_SYSTEM"] = {"truecolor": "truecolor", "256": "256"}.get(
            display.colors, "standard")
        if os.environ.get("TUILABEL_DEBUG"):
            print("tuilabel: " + "; ".join(display.how), file=sys.stderr)
        from tuilabel.tui.session import CLAIM_SECONDS
        from tuilabel.tui.warm import WarmStart

        # The first photo is claimed, fetched and drawn while Textual is imported.
        warm = WarmStart(store, settings, claim_seconds=CLAIM_SECONDS, counts=(rated, total),
                         display=display)
        # Textual is imported only now, after the colour system is settled.
        from tuilabel.tui.factory import make_score_app

        if os.environ.get("TUILABEL_FRAME_LOG"):
            with open(os.environ["TUILABEL_FRAME_LOG"], "a", encoding="utf-8") as fh:
                fh.write(f"display {display.graphics} {display.colors} "
                         f"{display.cell_px[0]}x{display.cell_px[1]} {'; '.join(display.how)}"
                         f" | {display.terminal}\n")
                fh.write(f"startup imported {time.time():.6f}\n")
        app = make_score_app(store, settings, display=display, warm=warm)
        end_on_hangup(store, settings.who)
        app.run()
        return app.summary()
    finally:
        gc.enable()
        store.close()
        if "tuilabel.tui.sixel" in sys.modules:  # the Sixel encoding processes end
            sys.modules["tuilabel.tui.sixel"].use_processes(False)


def end_on_hangup(store: StoreThread, rater: str) -> None:
    """When the terminal goes away (SSH dropped, terminal closed, tmux killed: SIGHUP), end
    the process within about a second, its ratings kept and its claims released.

    Not through the app's shutdown: it writes the sequences that restore the terminal, and
    with the terminal gone Textual's writer thread dies on the first write, its queue fills
    and the shutdown blocks for good (16 of 32 hang-ups left `score` running, holding its
    database connection). Instead a thread lets the store thread finish what is queued (every
    rating whose key was pressed), releases the rater's claims, and ends the process. A plain
    `signal.signal` handler, not an asyncio one, so it runs even when the event loop is stuck
    on such a write (Python interrupts lock waits for signal handlers)."""

    def after_hangup() -> None:
        try:  # queued behind every rating already asked for: those are committed first
            store.submit(lambda s: s.release_claims(rater)).result(timeout=HANGUP_GRACE_SECONDS)
        except Exception:  # noqa: BLE001 - the claims expire on their own
            pass
        os._exit(128 + signal.SIGHUP)

    def on_hangup(signum: int, frame: object) -> None:
        threading.Thread(target=after_hangup, name="tuilabel-hangup", daemon=True).start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGHUP, on_hangup)
