"""Telling what the terminal draws: its recorded answers to tuilabel's queries (one round
trip, recorded 2026-11-30 from the terminals on this machine), and the choices made from them,
the options and the environment."""

from __future__ import annotations

import os
import pty
import threading
import time

import pytest

from tuilabel.tui.graphics import Replies, ask_terminal, decide, parse_replies

XTERM_VT340 = (b"\x1b[?1;0;1024S\x1bP1$r0;38:2::1:2:3m\x1b\\\x1bP>|XTerm(379)\x1b\\"
               b"\x1b[?63;1;2;4;6;9;15;16;22;28c")
XTERM = (b"\x1b[?1;3S\x1bP1$r0;38:2::1:2:3m\x1b\\\x1bP>|XTerm(379)\x1b\\"
         b"\x1b[?64;1;2;6;9;15;16;17;18;21;22;28c")
KITTY = (b"\x1b_Gi=31;OK\x1b\\\x1b[6;20;9t\x1bP0+r524742\x1b\\\x1bP1$r38:2:1:2:3m\x1b\\"
         b"\x1bP>|kitty(0.26.5)\x1b\\\x1b[?62;c")
TMUX = b"\x1bP>|tmux 3.3a\x1b\\\x1b[?1;2c"
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
