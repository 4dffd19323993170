"""The pieces of the score UI that need no running app: cells, text cleaning, the session."""

from __future__ import annotations

from concurrent.futures import Future

import numpy as np
import pytest
from PIL import Image as PILImage
from rich_pixels import HalfcellRenderer

from tuilabel.store.base import Image
from tuilabel.tui.banner import render_banner
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


def test_a_grid_banner_too_narrow_for_large_letters_wraps_the_label_whole():
    label = "American Staffordshire terrier"
    strips = render_banner(label, 16, 6)
    rows = ["".join(seg.text for seg in strip).strip() for strip in strips]
    assert len(strips) == 6 and all(strip.cell_length == 16 for strip in strips)
    assert " ".join(r for r in rows if r) == label  # every word, none cut
    # only what cannot fit even on every row is cut, with "…"
    last = "".join(seg.text for seg in render_banner("x" * 200, 10, 2)[-1])
    assert last == "x" * 9 + "…"


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


def test_pixel_fit_uses_the_cell_size_and_whole_sixel_bands():
    from tuilabel.tui.picture import pixel_fit

    # 130x50 with 7x14 cells, less the side panel and footer: about 96x49 cells
    # width-bound: 96 x 7 = 672 px; 448 px high, cut to whole 6-pixel bands
    assert pixel_fit((600, 400), 96, 49, (7, 14)) == (672, 444)
    # height-bound: 10 rows x 14 = 140 px high (a multiple of 6: 138), aspect kept
    assert pixel_fit((400, 600), 96, 10, (7, 14)) == (93, 138)
    assert pixel_fit((600, 400), 0, 10, (7, 14)) == (0, 0)


def test_sixel_defines_every_colour_before_the_first_pixel():
    import re

    from tuilabel.tui.picture import encode_sixel

    rng = np.random.default_rng(1)
    img = PILImage.fromarray(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8))
    sixel = encode_sixel(img, colors=64)
    assert sixel.startswith("\x1bP0;0;0q\"1;1;40;30") and sixel.endswith("\x1b\\")
    body = sixel[sixel.index("q") + 1:]
    definitions = [m.start() for m in re.finditer(r"#\d+;2;\d+;\d+;\d+", body)]
    first_pixel = re.search(r"#\d+(?![;\d])", body).start()
    assert 2 <= len(definitions) <= 64 and max(definitions) < first_pixel


def test_kitty_transmission_carries_the_pixels():
    import base64
    import re
    import zlib

    from tuilabel.tui.picture import kitty_transmit

    rng = np.random.default_rng(2)
    img = PILImage.fromarray(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8))
    commands = re.findall(r"\x1b_G([^;]*);([^\x1b]*)\x1b\\", kitty_transmit(img, 77))
    assert len(commands) > 1  # chunked
    assert commands[0][0].startswith("a=t,i=77,f=24,s=70,v=50,o=z,q=2,m=1")
    assert commands[-1][0] == "m=0,q=2" and all(len(c[1]) <= 4096 for c in commands)
    pixels = zlib.decompress(base64.b64decode("".join(c[1] for c in commands)))
    assert pixels == img.tobytes()


def test_render_picture_centres_a_pixel_image_on_whole_cells():
    from tuilabel.tui.graphics import Display
    from tuilabel.tui.picture import render_picture

    img = PILImage.new("RGB", (600, 400), (200, 100, 50))
    pic = render_picture(img, 96, 49, Display(graphics="sixel", cell_px=(7, 14)))
    assert pic.graphics == "sixel" and pic.box == (96, 49)
    assert pic.pixels[0] == 672 and pic.cells == (96, -(-pic.pixels[1] // 14))
    assert pic.at == (0, (49 - pic.cells[1]) // 2)
    assert all(seg.text.strip() == "" for strip in pic.strips for seg in strip)  # blank cells
    kitty = render_picture(img, 40, 20, Display(graphics="kitty", cell_px=(10, 20)))
    assert kitty.kitty_id and "a=t" in kitty.payload and kitty.pixels == (400, 264)
    half = render_picture(img, 40, 20, Display(graphics="halfblock", colors="16"))
    assert half.graphics == "halfblock" and half.payload == ""
    colours = {seg.style.color.number for s in half.strips for seg in s if seg.text == "▄"}
    assert colours <= set(range(16))


@pytest.mark.parametrize(("colors", "palette"), [("256", range(16, 256)), ("16", range(16)),
                                                 ("8", range(8))])
def test_dithering_mixes_palette_colours_for_a_colour_between_them(colors, palette):
    from tuilabel.tui.cells import dither, xterm_rgb

    img = PILImage.new("RGB", (40, 40), (150, 110, 60))  # no palette colour is this brown
    index = dither(img, colors)
    assert set(np.unique(index)) <= set(palette) and len(np.unique(index)) >= 2
    mean = np.array([xterm_rgb(int(i)) for i in index.ravel()]).mean(axis=0)
    assert np.abs(mean - (150, 110, 60)).max() < 12  # the mixture averages to the colour


def test_sixel_is_encoded_in_other_processes_while_the_app_runs():
    """The same Sixel from the pool's processes as from the calling thread; in a process of its
    own, as `score` runs it, so that the conftest's check sees every helper process end with it
    (multiprocessing's resource tracker lives as long as the process that started the pool)."""
    import subprocess
    import sys

    code = """
import numpy as np
from PIL import Image
from tuilabel.tui import sixel
img = Image.fromarray(np.random.default_rng(3).integers(0, 256, (24, 30, 3), dtype=np.uint8))
here = sixel.encode_sixel_elsewhere(img, 32)  # pool off: in this thread
sixel.use_processes(True)
there = sixel.encode_sixel_elsewhere(img, 32)
assert sixel._pool is not None and not sixel._pool_failed
sixel.use_processes(False)
assert sixel._pool is None
assert there == here == sixel.encode_sixel(img, 32) and here.startswith("\\x1bP")
print("same")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "same", out.stderr
