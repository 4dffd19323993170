"""The pieces of the score UI that need no running app: cells, text cleaning, the session."""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np
import pytest
from PIL import Image as PILImage
from rich_pixels import HalfcellRenderer

from tuilabel.store.base import Image
from tuilabel.tui.cells import (
    FastHalfcellRenderer,
    fit_size,
    render_message,
    render_photo,
)
from tuilabel.tui.session import LOOKAHEAD, Session
from tuilabel.tui.text import clean, link_target
from tuilabel.tui.widgets import bar, labels_text


def _triplets(segments):
    return [(s.text, s.style.color.triplet, s.style.bgcolor.triplet) if s.style else (s.text,)
            for s in segments if s.text != "\n"]


def test_fast_renderer_draws_the_same_cells_as_rich_pixels():
    rng = np.random.default_rng(0)
    img = PILImage.fromarray(rng.integers(0, 256, (8, 7, 3), dtype=np.uint8))
    ours = FastHalfcellRenderer().render(img, None)
    theirs = HalfcellRenderer().render(img, None)
    assert _triplets(ours) == _triplets(theirs)
    assert {s.text for s in ours} == {"▄", "\n"}


@pytest.mark.parametrize(
    ("image", "pane", "expected"),
    [
        ((1200, 900), (88, 46), (88, 66)),  # width-bound: 4:3 keeps 88 wide, 66 px = 33 rows
        ((900, 1200), (88, 46), (69, 92)),  # height-bound: 92 px = the pane's 46 rows
        ((10, 10), (80, 24), (48, 48)),  # small photos are scaled up to fill
        ((0, 10), (80, 24), (0, 0)),
    ],
)
def test_fit_size_keeps_the_aspect_ratio(image, pane, expected):
    width, height = fit_size(image, *pane)
    assert (width, height) == expected
    assert height % 2 == 0 and width <= pane[0] and height <= 2 * pane[1]


def test_render_photo_fills_the_pane_exactly_and_centres():
    img = PILImage.new("RGB", (400, 100), (255, 0, 0))  # very wide: bands above and below
    strips = render_photo(img, 40, 20)
    assert len(strips) == 20
    assert all(s.cell_length == 40 for s in strips)
    texts = ["".join(seg.text for seg in s) for s in strips]
    photo_rows = [i for i, t in enumerate(texts) if "▄" in t]
    assert photo_rows == list(range(photo_rows[0], photo_rows[0] + 5))  # 40x10 px -> 5 rows
    assert photo_rows[0] == (20 - 5) // 2
    red = {seg.style.color.triplet for s in strips for seg in s if seg.text == "▄"}
    assert red == {(255, 0, 0)}


def test_256_colour_cells_use_the_xterm_palette():
    img = PILImage.new("RGB", (10, 10), (255, 0, 0))
    strips = render_photo(img, 10, 5, colors="256")
    colours = {seg.style.color for s in strips for seg in s if seg.text == "▄"}
    assert {c.number for c in colours} == {196}  # xterm's pure red
    assert all(c.type.name == "EIGHT_BIT" for c in colours)


def test_render_message_is_centred_and_cut():
    strips = render_message(["hello", "x" * 50], 20, 5)
    texts = ["".join(seg.text for seg in s) for s in strips]
    assert len(texts) == 5 and all(len(t) == 20 for t in texts)
    assert texts[1].strip() == "hello"
    assert texts[2].endswith("…")


def test_clean_removes_control_sequences_and_keeps_markup_literal():
    assert clean("a\x1b[2Jb\x07c\r\n") == "a?[2Jb?c??"
    assert clean("[bold]x[/bold]") == "[bold]x[/bold]"
    assert clean("\u202eevil") == "?evil"
    assert clean("x" * 600).endswith("…") and len(clean("x" * 600)) == 500


def test_link_target_only_for_plain_web_and_file_urls():
    assert link_target("https://pbs.twimg.com/media/a.jpg") == "https://pbs.twimg.com/media/a.jpg"
    assert link_target("https://x/\x1b]8;;evil") is None
    assert link_target("javascript:alert(1)") is None
    assert link_target("/tmp/photo.png") is None


def test_labels_are_text_not_markup():
    img = _image(1, [("[bold red]x[/]", 0.5), ("a\x1b[31mb", 0.25)])
    text = labels_text(img, 40)
    assert "[bold red]x[/]" in text.plain
    assert "\x1b" not in text.plain
    assert not any("red" in str(span.style) for span in text.spans)


def test_bar():
    assert bar(1.0, 4) == "████"
    assert bar(0.0, 4) == "    "
    assert bar(0.5, 4) == "██  "
    assert bar(18 / 32, 4) == "██▎ "  # 18 eighths of 4 cells


def _image(i, preds=(("cat", 0.5),)):
    return Image(id=i, tweet_id=str(i), url=f"u{i}", model="m", predictions=tuple(preds),
                 media_id=None, labeled_at="")


def _done(value):
    fut: Future = Future()
    fut.set_result(value)
    return fut


def test_session_queue_rate_skip_undo():
    s = Session(rater="r")
    assert s.wants_more() == LOOKAHEAD + 1
    s.add_claimed([_image(i) for i in range(1, 6)], asked=5)
    assert s.current.id == 1 and [i.id for i in s.queue] == [2, 3, 4, 5]
    s.record("top1", _done(10))
    assert s.current.id == 2
    skipped = s.skip()
    assert skipped.id == 2 and s.current.id == 3 and 2 in s.held_ids()
    entry = s.undo()
    assert entry.image.id == 1 and s.current.id == 1 and s.queue[0].id == 3
    assert s.undo() is None
    # a short claim means the store has no more
    s.add_claimed([], asked=2)
    assert not s.more_available and s.wants_more() == 0


def test_session_pace_and_eta():
    import time

    s = Session(rater="r", total=100, rated=40)
    t0 = time.monotonic() - 60.0
    s._times.extend([t0, t0 + 30.0, t0 + 60.0])  # 2 intervals in 60 s: 2 ratings a minute
    assert s.per_minute(now=t0 + 60.0) == pytest.approx(2.0)
    # 60 photos left at about 2 a minute: about 30 minutes
    assert s.eta_seconds() == pytest.approx(1800, rel=0.01)
