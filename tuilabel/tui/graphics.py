"""What the terminal can draw, found once before Textual starts: pixels (Kitty graphics or
Sixel), the cell size in pixels, and the colour depth.

Textual reads the terminal's input on its own thread once it runs, so the terminal is asked
here, before it is imported, in one round trip: every query is written at once, followed by a
Primary Device Attributes request (DA1, `CSI c`), which every terminal answers and answers
last. The replies are read until DA1's arrives or `timeout` seconds pass (a second, so that a
slow SSH link still answers in time; a terminal that answers DA1 takes one round trip).

Queries (xterm's ctlseqs, kitty's graphics protocol documentation):
- Kitty graphics: `APC G a=q` with a 1x1 image; a terminal that has the protocol answers `OK`.
- DA1: a `4` among the attributes means Sixel graphics.
- `CSI 16 t`: the cell size in pixels (the pixel fields of TIOCGWINSZ are tried first).
- `CSI ? 1 ; 1 ; 0 S` (XTSMGRAPHICS): how many Sixel colour registers there are.
- XTGETTCAP `RGB` and a DECRQSS of the SGR state after setting a 24-bit colour: either says
  that 24-bit colour works when COLORTERM did not come along (it is not forwarded by SSH).
- XTVERSION (`CSI > 0 q`): the terminal's name, shown in the diagnostics.

Nothing here imports Textual; `detect` is called by `tuilabel score` only.
"""

from __future__ import annotations

import os
import re
import select
import sys
import time
from dataclasses import dataclass, field

#: --graphics values; "auto" detects.
GRAPHICS_MODES = ("auto", "kitty", "sixel", "halfblock")
#: Environment variable with the same values as --graphics (the option wins).
GRAPHICS_ENV = "TUILABEL_GRAPHICS"
#: Colour depths of half-block photos, best first.
COLOR_DEPTHS = ("truecolor", "256", "16", "8")

#: TERM values of terminals known to draw 24-bit colour (COLORTERM is often lost over SSH
#: and sudo; TERM is forwarded). Names ending in "-direct" (terminfo's direct-colour entries)
#: count too.
TRUECOLOR_TERMS = frozenset({
    "xterm-kitty", "xterm-ghostty", "ghostty", "wezterm", "alacritty", "foot", "foot-extra",
    "contour", "iterm2", "xterm-iterm2", "mintty", "st-256color", "konsole-256color",
    "vte-256color", "rio", "tmux-direct", "xterm-direct",
})
#: TERM values (or prefixes before "-") with only 8 colours.
EIGHT_COLOR_TERMS = frozenset({"linux", "vt100", "vt220", "ansi", "cons25", "sun"})

_KITTY_QUERY_ID = 31
QUERIES = (
    f"\x1b_Gi={_KITTY_QUERY_ID},s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
    "\x1b[16t"
    "\x1b[?1;1;0S"
    "\x1bP+q524742\x1b\\"
    "\x1b[38;2;1;2;3m\x1bP$qm\x1b\\\x1b[0m"
    "\x1b[>0q"
    "\x1b[c"
)
_DA1 = re.compile(rb"\x1b\[\?([0-9;]*)c")
ALT_SCREEN_ON = b"\x1b[?1049h"
ALT_SCREEN_OFF = b"\x1b[2J\x1b[?1049l"


@dataclass
class Replies:
    """What the terminal answered to `QUERIES` (see `parse_replies`)."""

    answered: bool = False  # DA1 came back
    sixel: bool = False
    kitty: bool = False
    cell_px: tuple[int, int] | None = None  # (width, height)
    sixel_colors: int | None = None
    truecolor: bool = False
    name: str = ""


def parse_replies(data: bytes) -> Replies:
    """Read the terminal's answers to `QUERIES` out of `data` (in any order, with anything
    else mixed in). Pure: the tests feed it recorded answers."""
    out = Replies()
    if m := _DA1.search(data):
        out.answered = True
        out.sixel = "4" in m.group(1).decode().split(";")
    if m := re.search(rb"\x1b_Gi=%d;([^\x1b]*)\x1b\\" % _KITTY_QUERY_ID, data):
        out.kitty = m.group(1).startswith(b"OK")
    if m := re.search(rb"\x1b\[6;(\d+);(\d+)t", data):
        h, w = int(m.group(1)), int(m.group(2))
        if w > 0 and h > 0:
            out.cell_px = (w, h)
    if m := re.search(rb"\x1b\[\?1;0;(\d+)S", data):
        out.sixel_colors = int(m.group(1))
    if re.search(rb"\x1bP1\+r524742", data):
        out.truecolor = True
    if m := re.search(rb"\x1bP1\$r([0-9;:]*)m\x1b\\", data):
        sgr = m.group(1).replace(b":", b";")
        if re.search(rb"38;2;(?:\d*;)?1;2;3(?:;|$)", sgr):
            out.truecolor = True
    if m := re.search(rb"\x1bP>\|([^\x1b]*)\x1b\\", data):
        out.name = m.group(1).decode(errors="replace")[:60]
    return out


def ask_terminal(timeout: float = 1.0, fd_in: int | None = None,
                 fd_out: int | None = None) -> bytes:
    """Write `QUERIES` to the terminal and return what it answers, up to and including the DA1
    reply or whatever came within `timeout` seconds. The terminal is put in raw mode (no echo)
    meanwhile and restored after; the queries are written on the alternate screen, so that a
    terminal that prints a query it does not know leaves nothing behind. Returns b"" when it is
    not a terminal."""
    import termios
    import tty

    fd_in = sys.__stdin__.fileno() if fd_in is None else fd_in  # type: ignore[union-attr]
    fd_out = sys.__stderr__.fileno() if fd_out is None else fd_out  # type: ignore[union-attr]
    if not (os.isatty(fd_in) and os.isatty(fd_out)):
        return b""
    saved = termios.tcgetattr(fd_in)
    data = b""
    try:
        tty.setraw(fd_in, termios.TCSANOW)
        os.write(fd_out, ALT_SCREEN_ON + QUERIES.encode())
        deadline = time.monotonic() + timeout
        while not _DA1.search(data):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([fd_in], [], [], left)
            if ready:
                chunk = os.read(fd_in, 4096)
                if not chunk:
                    break
                data += chunk
    finally:
        try:
            os.write(fd_out, ALT_SCREEN_OFF)
        finally:
            termios.tcsetattr(fd_in, termios.TCSAFLUSH, saved)
    return data


def winsize_cell_px(fd: int) -> tuple[int, int] | None:
    """The cell size in pixels from the pixel fields of TIOCGWINSZ, when the terminal fills
    them in (many do not: zeros)."""
    import fcntl
    import struct
    import termios

    try:
        rows, cols, xpix, ypix = struct.unpack(
            "HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        return None
    if rows and cols and xpix and ypix:
        return (xpix // cols, ypix // rows)
    return None


@dataclass
class Display:
    """How photos are drawn: `graphics` (kitty, sixel or halfblock), the cell size in pixels,
    the colour depth of half-block photos and of the rest of the screen, and a one-line note
    for the rater when something better exists (empty when not)."""

    graphics: str = "halfblock"
    colors: str = "truecolor"
    cell_px: tuple[int, int] = (10, 20)
    sixel_colors: int = 256
    tmux: bool = False
    note: str = ""
    terminal: str = ""
    how: list[str] = field(default_factory=list)  # why each choice was made (diagnostics)

    @property
    def pixels(self) -> bool:
        """True when photos are drawn in pixels (Kitty graphics or Sixel)."""
        return self.graphics in ("kitty", "sixel")


def term_colors(term: str, colorterm: str) -> str | None:
    """The colour depth that TERM and COLORTERM promise, or None when they say nothing sure
    (then the terminal's answers decide, and 256 or 16 colours are the fallback)."""
    if colorterm.strip().lower() in ("truecolor", "24bit"):
        return "truecolor"
    term = term.strip().lower()
    if term in TRUECOLOR_TERMS or term.endswith("-direct"):
        return "truecolor"
    return None


def fallback_colors(term: str) -> str:
    """The colour depth TERM implies when no answer says more: 256 for *-256color, 8 for the
    Linux console and old terminals, 16 for the rest (screen, xterm, rxvt, ...)."""
    term = term.strip().lower()
    if "256" in term:
        return "256"
    if term in EIGHT_COLOR_TERMS or term.split("-")[0] in EIGHT_COLOR_TERMS:
        return "8"
    return "16"


def decide(
    replies: Replies | None,
    *,
    graphics: str = "auto",
    truecolor: bool = False,
    env: dict[str, str] | None = None,
    cell_px: tuple[int, int] | None = None,
) -> Display:
    """Choose how to draw photos from the terminal's `replies` (None: it was not asked), the
    options and the environment. Pure: see `detect` for the whole thing.

    Raises ValueError for a `graphics` value not in GRAPHICS_MODES."""
    env = dict(os.environ) if env is None else env
    if graphics not in GRAPHICS_MODES:
        raise ValueError(f"unknown graphics mode {graphics!r}: use one of "
                         f"{', '.join(GRAPHICS_MODES)}")
    r = replies or Replies()
    d = Display(tmux=bool(env.get("TMUX")), terminal=r.name)
    term = env.get("TERM", "")
    screen = term.startswith("screen") and bool(env.get("STY"))
    # -- pixels
    if graphics != "auto":
        d.graphics = graphics
        d.how.append(f"graphics {graphics}: forced")
    elif r.kitty and not d.tmux:
        d.graphics = "kitty"
        d.how.append("graphics kitty: the terminal answered the Kitty graphics query")
    elif r.sixel:
        d.graphics = "sixel"
        d.how.append("graphics sixel: DA1 lists Sixel" + (" (tmux 3.4+)" if d.tmux else ""))
    else:
        d.graphics = "halfblock"
        d.how.append("graphics halfblock: no Kitty graphics or Sixel answer")
        if d.tmux:
            d.note = ("in tmux photos are half-block cells: run outside tmux, or tmux 3.4+ "
                      "with Sixel")
        elif screen:
            d.note = "in GNU screen photos are half-block cells: run outside screen for pixels"
    # -- cell size
    px = cell_px or r.cell_px
    if px:
        d.cell_px = px
    elif d.pixels:
        d.how.append("cell size unknown: assuming 10x20 pixels")
    if r.sixel_colors:
        d.sixel_colors = max(2, min(256, r.sixel_colors))
    # -- colours
    forced = env.get("TEXTUAL_COLOR_SYSTEM", "auto")
    promised = term_colors(term, env.get("COLORTERM", ""))
    if truecolor:
        d.colors = "truecolor"
        d.how.append("colours 24-bit: --truecolor")
    elif forced in ("truecolor", "256", "standard"):
        d.colors = {"truecolor": "truecolor", "256": "256", "standard": "16"}[forced]
        d.how.append(f"colours {d.colors}: TEXTUAL_COLOR_SYSTEM={forced}")
    elif promised:
        d.colors = promised
        d.how.append("colours 24-bit: COLORTERM or TERM")
    elif r.truecolor or r.kitty:
        d.colors = "truecolor"
        d.how.append("colours 24-bit: the terminal answered XTGETTCAP/DECRQSS (or Kitty)")
    else:
        d.colors = fallback_colors(term)
        d.how.append(f"colours {d.colors}: from TERM={term!r}")
        if not d.pixels:  # (says more than the tmux or screen note)
            d.note = (f"photo in {d.colors} colours: 24-bit colour with --truecolor or "
                      "COLORTERM=truecolor")
    return d


def detect(graphics: str | None = None, *, truecolor: bool = False,
           timeout: float = 1.0) -> Display:
    """Ask the terminal (one round trip, unless everything is forced) and decide how to draw
    photos. `graphics` None reads TUILABEL_GRAPHICS, then "auto".

    Raises ValueError for an unknown graphics mode (from the option or the variable)."""
    if graphics is None:
        graphics = os.environ.get(GRAPHICS_ENV, "").strip().lower() or "auto"
    if graphics not in GRAPHICS_MODES:
        raise ValueError(f"unknown graphics mode {graphics!r} (--graphics or {GRAPHICS_ENV}): "
                         f"use one of {', '.join(GRAPHICS_MODES)}")
    fd = sys.__stderr__.fileno() if sys.__stderr__ else 2
    cell_px = winsize_cell_px(fd)
    replies = None
    promised = truecolor or term_colors(os.environ.get("TERM", ""),
                                        os.environ.get("COLORTERM", ""))
    need_ask = graphics == "auto" or not promised or (graphics != "halfblock" and not cell_px)
    if need_ask:
        replies = parse_replies(ask_terminal(timeout))
    return decide(replies, graphics=graphics, truecolor=truecolor, cell_px=cell_px)
