"""`tuilabel.text.visible`: control characters from the data become visible escapes."""

from __future__ import annotations

from tuilabel.text import has_control, visible


def test_escape_sequences_become_visible_text():
    osc52 = "\x1b]52;c;SGFja2Vk\x07 evil"
    shown = visible(osc52)
    assert shown == "\\x1b]52;c;SGFja2Vk\\x07 evil"
    assert "\x1b" not in shown and "\x07" not in shown
    assert visible("a\x1b[2Jb\r\n\t\x7f\x9b") == "a\\x1b[2Jb\\x0d\\x0a\\x09\\x7f\\x9b"


def test_bidi_and_line_separators_are_escaped():
    assert visible("\u202eevil\u2066x\u2028y") == "\\u202eevil\\u2066x\\u2028y"


def test_printable_text_is_unchanged():
    for text in ("plain", "Café über 東京 🙂", "[bold]x[/bold]", "back\\slash", ""):
        assert visible(text) == text
        assert not has_control(text)


def test_lines_keeps_newlines_and_tabs_only():
    assert visible("a\tb\nc\x1b[0m\r", lines=True) == "a\tb\nc\\x1b[0m\\x0d"
    assert has_control("x\x00")
    assert visible(12) == "12"
