"""Telling what the terminal draws: its recorded answers to tuilabel's queries (one round
trip, recorded 2026-11-30 from the terminals on this machine), and the choices made from them,
the options and the environment."""

from __future__ import annotations

import os
import pty
import threading
import time

import pytest

from tuilabel.tui.graphics import (
    PASSTHROUGH_HINT,
    TMUX_QUERIES,
    Display,
    Replies,
    TmuxPane,
    ask_terminal,
    decide,
    parse_replies,
    parse_tmux_pane,
    split_replies,
    tmux_wrap,
)

XTERM_VT340 = (b"\x1b[?1;0;1024S\x1bP1$r0;38:2::1:2:3m\x1b\\\x1bP>|XTerm(379)\x1b\\"
               b"\x1b[?63;1;2;4;6;9;15;16;22;28c")
XTERM = (b"\x1b[?1;3S\x1bP1$r0;38:2::1:2:3m\x1b\\\x1bP>|XTerm(379)\x1b\\"
         b"\x1b[?64;1;2;6;9;15;16;17;18;21;22;28c")
KITTY = (b"\x1b_Gi=31;OK\x1b\\\x1b[6;20;9t\x1bP0+r524742\x1b\\\x1bP1$r38:2:1:2:3m\x1b\\"
         b"\x1bP>|kitty(0.26.5)\x1b\\\x1b[?62;c")
TMUX = b"\x1bP>|tmux 3.3a\x1b\\\x1b[?1;2c"
#: tmux 3.3a in kitty 0.26 with allow-passthrough on: tmux's answers, then kitty's through it.
TMUX_KITTY = TMUX + b"\x1b_Gi=31;OK\x1b\\\x1b[6;20;9t\x1b[?62;c"
IN_TMUX = {"TERM": "tmux-256color", "COLORTERM": "truecolor", "TMUX": "/tmp/tmux-0/x,1,0"}
#: A terminal without 24-bit colour answers DECRQSS with the palette colour it chose.
PALETTE_ONLY = b"\x1bP1$r0;38;5;16m\x1b\\\x1b[?62;22c"


def test_recorded_answers_are_read():
    x = parse_replies(XTERM_VT340)
    assert (x.answered, x.sixel, x.kitty, x.truecolor, x.sixel_colors, x.name) == (
        True, True, False, True, 1024, "XTerm(379)")
    assert not parse_replies(XTERM).sixel  # plain xterm: no Sixel
    k = parse_replies(KITTY)
    assert (k.kitty, k.sixel, k.cell_px, k.truecolor) == (True, False, (9, 20), True)
    t = parse_replies(TMUX)
    assert t.answered and not (t.sixel or t.kitty or t.truecolor) and t.name == "tmux 3.3a"
    assert not parse_replies(PALETTE_ONLY).truecolor
    assert parse_replies(b"").answered is False


def test_choices_from_the_answers():
    env = {"TERM": "xterm"}
    sixel = decide(parse_replies(XTERM_VT340), env=env, cell_px=(6, 13))
    assert (sixel.graphics, sixel.colors, sixel.cell_px, sixel.sixel_colors, sixel.note) == (
        "sixel", "truecolor", (6, 13), 256, "")
    kitty = decide(parse_replies(KITTY), env={"TERM": "xterm-kitty"})
    assert (kitty.graphics, kitty.cell_px) == ("kitty", (9, 20))
    plain = decide(parse_replies(XTERM), env=env)
    assert (plain.graphics, plain.colors, plain.note) == ("halfblock", "truecolor", "")


def test_tmux_without_sixel_is_half_block_with_a_hint():
    d = decide(parse_replies(TMUX), env={"TERM": "tmux-256color", "COLORTERM": "truecolor",
                                         "TMUX": "/tmp/tmux-0/default,1,0"})
    assert d.graphics == "halfblock" and d.colors == "truecolor"
    assert "tmux" in d.note and "Sixel" in d.note and len(d.note) <= 80
    # tmux 3.4 built with Sixel lists it in DA1: used
    d = decide(parse_replies(b"\x1b[?1;2;4c"), env={"TERM": "tmux-256color", "TMUX": "x"})
    assert d.graphics == "sixel"
    # Kitty graphics would need passthrough placements: not used inside tmux
    d = decide(Replies(answered=True, kitty=True), env={"TERM": "screen", "TMUX": "x"})
    assert d.graphics == "halfblock"


@pytest.mark.parametrize(("env", "replies", "colors"), [
    ({"TERM": "xterm-256color"}, TMUX, "256"),  # COLORTERM lost over SSH, nothing answers
    ({"TERM": "xterm-256color", "COLORTERM": "truecolor"}, b"", "truecolor"),
    ({"TERM": "xterm-kitty"}, b"", "truecolor"),  # a TERM known to have 24-bit colour
    ({"TERM": "xterm-direct"}, b"", "truecolor"),
    ({"TERM": "xterm-256color"}, XTERM, "truecolor"),  # DECRQSS says so
    ({"TERM": "screen"}, TMUX, "16"),
    ({"TERM": "xterm"}, PALETTE_ONLY, "16"),
    ({"TERM": "linux"}, b"", "8"),
    ({"TERM": "xterm", "TEXTUAL_COLOR_SYSTEM": "256"}, XTERM, "256"),
])
def test_colour_depth(env, replies, colors):
    d = decide(parse_replies(replies), env=env)
    assert d.colors == colors
    if colors != "truecolor" and "TEXTUAL_COLOR_SYSTEM" not in env:
        # the one line that says what is used and how to get more (not when asked for)
        assert f"photo in {colors} colours" in d.note and "--truecolor" in d.note
        assert len(d.note) <= 80


def test_options_and_the_variable_override_detection(monkeypatch):
    assert decide(parse_replies(XTERM), graphics="sixel", env={"TERM": "xterm"}).graphics \
        == "sixel"
    assert decide(parse_replies(KITTY), graphics="halfblock", env={}).graphics == "halfblock"
    assert decide(parse_replies(TMUX), truecolor=True, env={"TERM": "screen"}).colors \
        == "truecolor"
    with pytest.raises(ValueError, match="unknown graphics mode 'png'"):
        decide(None, graphics="png", env={})
    from tuilabel.tui.graphics import detect

    monkeypatch.setenv("TUILABEL_GRAPHICS", "bogus")
    with pytest.raises(ValueError, match="TUILABEL_GRAPHICS"):
        detect()


def test_one_round_trip_ends_at_the_da1_answer_or_the_timeout():
    """A real pty: the 'terminal' end answers like kitty after 50 ms; ask_terminal returns as
    soon as DA1's answer is in. A terminal that never answers costs the timeout, no more."""
    master, slave = pty.openpty()
    try:
        asked = []

        def terminal():
            asked.append(os.read(master, 4096))
            time.sleep(0.05)
            os.write(master, KITTY)

        threading.Thread(target=terminal, daemon=True).start()
        t = time.monotonic()
        data = ask_terminal(timeout=5.0, fd_in=slave, fd_out=slave)
        assert time.monotonic() - t < 2.0
        assert parse_replies(data).kitty
        assert asked and asked[0].startswith(b"\x1b[?1049h")  # on the alternate screen
        assert asked[0].endswith(b"\x1b[c")  # DA1 last
        t = time.monotonic()
        assert ask_terminal(timeout=0.3, fd_in=slave, fd_out=slave) == b""
        assert 0.25 < time.monotonic() - t < 2.0
    finally:
        os.close(master)
        os.close(slave)


def test_tmux_passthrough_wraps_with_every_escape_doubled():
    wrapped = tmux_wrap("\x1b_Ga=d,d=i,i=7,q=2\x1b\\")
    assert wrapped == "\x1bPtmux;\x1b\x1b_Ga=d,d=i,i=7,q=2\x1b\x1b\\\x1b\\"
    # inside the envelope no lone ESC is left: tmux would take one for the end of it
    inner = wrapped[len("\x1bPtmux;"):-2]
    assert inner.replace("\x1b\x1b", "") .count("\x1b") == 0
    assert TMUX_QUERIES.startswith("\x1bPtmux;") and TMUX_QUERIES.endswith("\x1b\x1b[c\x1b\\")


@pytest.mark.parametrize(("line", "passthrough", "origin", "client"), [
    ("1|0|0|on|bottom|xterm-kitty\n", True, (0, 0), "xterm-kitty"),  # tmux 3.3a
    ("on|12|65|on|top|xterm-kitty", True, (13, 65), "xterm-kitty"),  # status line on top
    ("all|0|40|2|top|wezterm", True, (2, 40), "wezterm"),  # tmux 3.4+, two status lines
    ("0|0|0|off|top|xterm-256color", False, (0, 0), "xterm-256color"),
    ("off|3|0|on|bottom|", False, (3, 0), ""),
    ("|0|0|on|bottom|xterm", None, (0, 0), "xterm"),  # tmux before 3.3: no such option
])
def test_tmux_pane_answers_are_read(line, passthrough, origin, client):
    pane = parse_tmux_pane(line)
    assert pane is not None
    assert (pane.passthrough, pane.origin, pane.client_term) == (passthrough, origin, client)


def test_a_garbled_tmux_answer_is_no_answer():
    assert parse_tmux_pane("") is None
    assert parse_tmux_pane("no server running on /tmp/tmux-0/default") is None
    assert parse_tmux_pane("1|x|0|on|bottom|kitty") is None


def test_replies_through_tmux_split_at_tmux_own_da1():
    own, outer = split_replies(TMUX_KITTY)
    assert own == TMUX and parse_replies(own).kitty is False
    theirs = parse_replies(outer)
    assert (theirs.kitty, theirs.cell_px, theirs.answered) == (True, (9, 20), True)
    assert split_replies(TMUX) == (TMUX, b"")
    assert split_replies(b"") == (b"", b"")


def _through(data: bytes, pane: TmuxPane | None, env=None, **kw) -> Display:
    own, outer = split_replies(data)
    return decide(parse_replies(own), env=env or IN_TMUX, pane=pane,
                  outer=parse_replies(outer) if pane and pane.passthrough else None, **kw)


def test_kitty_graphics_through_tmux_when_all_three_agree():
    pane = TmuxPane(True, (0, 0), "xterm-kitty")
    d = _through(TMUX_KITTY, pane)
    assert (d.graphics, d.passthrough, d.cell_px, d.note) == ("kitty", pane, (9, 20), "")
    assert any("passthrough" in how for how in d.how)
    # the outer terminal's cell size wins over the pane's pixel fields (it draws)
    assert _through(TMUX_KITTY, pane, cell_px=(8, 16)).cell_px == (9, 20)
    # outside tmux (TMUX unset) the pane says nothing
    d = _through(KITTY, pane, env={"TERM": "xterm-kitty"})
    assert d.graphics == "kitty" and d.passthrough is None


def test_no_kitty_graphics_through_tmux_when_one_is_missing():
    # passthrough on, but the outer terminal did not answer the Kitty query (xterm, say)
    d = _through(TMUX + b"\x1b[?64;1;2c", TmuxPane(True, (0, 0), "xterm"))
    assert (d.graphics, d.passthrough) == ("halfblock", None)
    assert "tmux 3.4+ with Sixel" in d.note
    # tmux could not be asked: today's behaviour
    d = _through(TMUX, None)
    assert d.graphics == "halfblock" and "tmux" in d.note
    # tmux 3.4 with Sixel and passthrough off: Sixel
    d = _through(b"\x1b[?1;2;4c", TmuxPane(False, (0, 0), "xterm-kitty"))
    assert d.graphics == "sixel" and d.note == ""


def test_passthrough_off_in_kitty_gives_the_hint_that_turns_it_on():
    d = _through(TMUX, TmuxPane(False, (0, 0), "xterm-kitty"))
    assert (d.graphics, d.note) == ("halfblock", PASSTHROUGH_HINT)
    assert "tmux set -g allow-passthrough on" in d.note and len(d.note) <= 80
    # ... even where colours are few: pixels are the better fix
    d = _through(TMUX, TmuxPane(False, (0, 0), "screen"), env={
        "TERM": "screen", "TMUX": "x", "KITTY_WINDOW_ID": "1"})
    assert d.colors == "16" and d.note == PASSTHROUGH_HINT
    # a terminal without Kitty graphics outside: no promise of pixels
    d = _through(TMUX, TmuxPane(False, (0, 0), "xterm-256color"))
    assert "allow-passthrough" not in d.note and "tmux" in d.note


def test_forced_kitty_in_tmux_goes_through_the_passthrough_when_it_is_on():
    pane = TmuxPane(True, (4, 0), "xterm-kitty")
    d = decide(None, graphics="kitty", env=IN_TMUX, pane=pane, cell_px=(9, 20))
    assert (d.graphics, d.passthrough) == ("kitty", pane)
    d = decide(None, graphics="kitty", env=IN_TMUX, pane=TmuxPane(False), cell_px=(9, 20))
    assert (d.graphics, d.passthrough) == ("kitty", None)


def test_through_tmux_the_outer_terminal_is_asked_first_then_tmux():
    """A real pty: the 'outer terminal' answers the passthrough round, 'tmux' the second.
    The passthrough queries go out before the alternate screen (tmux drops passthrough while
    the pane waits for its redraw), and tmux is not sent the raw Kitty query (an APC: tmux
    takes it for a pane title)."""
    master, slave = pty.openpty()
    try:
        asked = []

        def terminal():
            asked.append(os.read(master, 4096))
            os.write(master, b"\x1b_Gi=31;OK\x1b\\\x1b[6;20;9t\x1b[?62;c")
            asked.append(os.read(master, 4096))
            os.write(master, TMUX)

        threading.Thread(target=terminal, daemon=True).start()
        data = ask_terminal(timeout=5.0, fd_in=slave, fd_out=slave, in_tmux=True,
                            through_tmux=True)
        assert asked[0] == TMUX_QUERIES.encode()
        assert asked[1].startswith(b"\x1b[?1049h") and b"\x1b_G" not in asked[1]
        assert data == TMUX_KITTY
    finally:
        os.close(master)
        os.close(slave)


def test_kitty_pictures_through_tmux_wrap_each_chunk():
    from PIL import Image

    from tuilabel.tui.picture import render_picture

    pane = TmuxPane(True, (0, 0), "xterm-kitty")
    noise = Image.effect_noise((300, 200), 80).convert("RGB")  # several 4096-byte chunks
    pic = render_picture(noise, 40, 20, Display(graphics="kitty", cell_px=(9, 20),
                                                passthrough=pane))
    assert pic.tmux is pane
    chunks = pic.payload.split("\x1b\\\x1bPtmux;")
    assert len(chunks) > 3 and pic.payload.startswith("\x1bPtmux;\x1b\x1b_Ga=t,")
    assert all(c.count("\x1b\x1b_G") == 1 for c in chunks)
    plain = render_picture(noise, 40, 20, Display(graphics="kitty", cell_px=(9, 20)))
    assert plain.tmux is None and "tmux" not in plain.payload


def _recording_photo_app():
    """(an App class holding one PhotoView, that PhotoView's class): the view records what it
    writes with its last line (Sixel, Kitty commands), frame after frame, in `written`."""
    from textual.app import App

    from tuilabel.tui.widgets import PhotoView

    class Recording(PhotoView):
        written: list[str] = []

        def _overlay(self) -> str:
            out = super()._overlay()
            self.written.append(out)
            return out

    class One(App):
        def compose(self):
            yield Recording()

    return One, Recording


def test_photo_view_places_and_takes_away_kitty_images_through_tmux():
    """A real Textual app: the placement goes to the pane's origin plus the picture's cell,
    wrapped; replacing the picture takes the old image away, wrapped; `clear_kitty` names
    each image sent (the outer screen is shared with other panes)."""
    import asyncio

    from PIL import Image

    from tuilabel.tui.picture import render_picture
    from tuilabel.tui.widgets import clear_kitty, send_kitty

    pane = TmuxPane(True, (3, 50), "xterm-kitty")  # size None: the origin is not asked again
    display = Display(graphics="kitty", cell_px=(9, 20), passthrough=pane, tmux=True)

    One, Recording = _recording_photo_app()

    async def scenario():
        async with One().run_test(size=(60, 20)) as pilot:
            view = pilot.app.query_one(Recording)
            pic = render_picture(Image.new("RGB", (300, 200), (9, 99, 199)), 60, 20, display)
            view.show(pic)
            await pilot.pause()
            first = "".join(view.written)
            view.written.clear()
            view.show(render_picture(Image.new("RGB", (300, 200), 0), 60, 20, display))
            await pilot.pause()
            return pic, first, "".join(view.written)

    pic, first, second = asyncio.run(scenario())
    row, col = 3 + pic.at[1], 50 + pic.at[0]
    place = tmux_wrap(f"\x1b7\x1b[{row + 1};{col + 1}H"
                      f"\x1b_Ga=p,i={pic.kitty_id},p=1,C=1,q=2\x1b\\\x1b8")
    # sent with the placement here, in an app without `write_terminal` (the score app sends
    # it ahead, out of band, when it is rendered or first shown)
    assert first == pic.payload + place
    assert second.startswith(tmux_wrap(f"\x1b_Ga=d,d=i,i={pic.kitty_id},q=2\x1b\\"))
    assert place not in second and "\x1b\x1b_Ga=p," in second
    assert send_kitty(pic) == ""  # sent once
    cleared = clear_kitty(display, free=True)
    assert tmux_wrap(f"\x1b_Ga=d,d=I,i={pic.kitty_id},q=2\x1b\\") in cleared
    assert "d=A" not in cleared and "d=a" not in cleared
    assert clear_kitty(display, free=True) == ""  # all freed
    assert clear_kitty(Display(graphics="kitty")) == "\x1b_Ga=d,d=a,q=2\x1b\\"
    assert clear_kitty(Display(graphics="sixel")) == ""


def test_photo_view_writes_its_sixel_again_when_a_toast_over_it_goes():
    """A real Textual app with a toast over a Sixel picture: while it is there the Sixel is
    not written (it would paint over the toast); when it goes, the pane is drawn again with
    the Sixel (the toast's cells, repainted as text, took its pixels away)."""
    import asyncio

    from textual.strip import Strip

    from tuilabel.tui.picture import Picture

    One, Recording = _recording_photo_app()

    sixel = "\x1bPq#0;2;0;0;0#0~~\x1b\\"
    picture = Picture([Strip.blank(60)] * 20, "sixel", (0, 0), (60, 20), (600, 400), sixel)

    async def scenario():
        app = One()
        async with app.run_test(size=(60, 20), notifications=True) as pilot:
            view = app.query_one(Recording)
            view.show(picture)
            await pilot.pause()
            assert sixel in "".join(view.written) and not view._covered
            app.notify("a toast over the photo", timeout=0.5)
            for _ in range(50):
                await pilot.pause(0.02)
                if view._covered:
                    break
            assert view._covered, "the toast was not seen over the picture"
            view.written.clear()
            view.refresh()  # (a redraw while it is there: no Sixel over the toast)
            await pilot.pause()
            assert sixel not in "".join(view.written)
            for _ in range(100):
                await pilot.pause(0.02)
                if not view._covered and sixel in "".join(view.written):
                    break
            assert not view._covered
            assert sixel in "".join(view.written), "the Sixel was not written again"

    asyncio.run(scenario())


def test_a_rating_key_over_a_covered_photo_takes_the_message_away_not_the_rating(tmp_path):
    """A toast over a Sixel photo hides it (the picture is not drawn while covered): j then
    stores nothing and clears the messages; once the photo is drawn again, j rates it."""
    from test_tui_support import fill_store, ratings, saved, settle, until

    from tuilabel.images import Fetcher
    from tuilabel.tui.factory import make_score_app, open_store_thread
    from tuilabel.tui.graphics import Display

    db = str(tmp_path / "t.db")
    fill_store(db, tmp_path / "photos", n=3)
    store = open_store_thread(db)
    app = make_score_app(store, rater="alice", order="oldest", fetcher=Fetcher(cache_dir=None),
                         display=Display(graphics="sixel", cell_px=(10, 20)), roc=None,
                         freeze_gc=False)

    async def scenario():
        async with app.run_test(size=(100, 30), notifications=True) as pilot:
            await settle(pilot, app)
            await pilot.press("z")  # the photo on the whole screen: under any toast
            await until(pilot, lambda: app.photo.picture is not None
                        and app.photo.picture.graphics == "sixel", what="the Sixel photo")
            first = app.session.current.id
            await until(pilot, lambda: app._rateable == first, what="the photo drawn")
            app.notify("a message over the photo\n" * 4, timeout=30)
            await until(pilot, lambda: app.photo.covered, what="the toast over the photo")
            await pilot.press("j")
            await pilot.pause(0.2)
            assert ratings(db) == {} and not app.session.history
            assert "covered the photo" in str(app.status.content)
            await until(pilot, lambda: not app.photo.covered, what="the toast to go")
            await pilot.press("j")
            await until(pilot, lambda: len(app.session.history) == 1, what="the rating")
            await saved(pilot, app)
            assert ratings(db) == {first: "top1"}

    try:
        import asyncio

        asyncio.run(scenario())
    finally:
        store.close()
