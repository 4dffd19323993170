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

Inside tmux the queries reach tmux, not the terminal that draws. When the pane's
`allow-passthrough` option is on (asked with `tmux display -p`, which gives the value in force
for the pane), the Kitty query, `CSI 16 t` and a second DA1 are also sent wrapped in tmux's
passthrough (`ESC P tmux; ...`, every ESC doubled) in a round trip of their own, just before.
A terminal that answers the Kitty query through it gets Kitty graphics placed at absolute
positions of the outer screen (the pane's offset from `tmux display -p`): kitty before 0.28 has
no Unicode placeholders, the only kind of placement tmux itself could move (yazi's `kgp_old`
driver does the same). Off: half-block cells and a one-line hint saying how to turn it on.

Nothing here imports Textual; `detect` is called by `tuilabel score` only.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import subprocess
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
_KITTY_QUERY = f"\x1b_Gi={_KITTY_QUERY_ID},s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\"
QUERIES = (
    _KITTY_QUERY +
    "\x1b[16t"
    "\x1b[?1;1;0S"
    "\x1bP+q524742\x1b\\"
    "\x1b[38;2;1;2;3m\x1bP$qm\x1b\\\x1b[0m"
    "\x1b[>0q"
    "\x1b[c"
)
_DA1 = re.compile(rb"\x1b\[\?([0-9;]*)c")
#: QUERIES as asked of tmux: without the Kitty query, which tmux never answers and takes (an
#: APC, as in GNU screen) for a new pane title.
TMUX_OWN_QUERIES = QUERIES.replace(_KITTY_QUERY, "")
#: TERM names of tmux clients (`#{client_termname}`) that have the Kitty graphics protocol:
#: with passthrough off, their raters are told how to get pixels.
KITTY_CLIENT_TERMS = ("xterm-kitty", "xterm-ghostty", "ghostty", "wezterm", "konsole")
#: Environment variables that such terminals set (they leak into tmux's environment).
KITTY_CLIENT_ENV = ("KITTY_WINDOW_ID", "GHOSTTY_RESOURCES_DIR", "WEZTERM_PANE")
PASSTHROUGH_HINT = "in tmux photos are half-block: for pixels, tmux set -g allow-passthrough on"


def tmux_wrap(sequence: str) -> str:
    """`sequence` wrapped in tmux's passthrough (DCS `tmux;`, every ESC doubled, ST), so that
    tmux hands it to the outer terminal untouched. tmux 3.3+ drops it unless the pane's
    `allow-passthrough` is on."""
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"


#: Asked of the outer terminal through tmux's passthrough, after QUERIES: Kitty graphics, the
#: cell size, and DA1 (which ends the answers).
TMUX_QUERIES = tmux_wrap(_KITTY_QUERY + "\x1b[16t\x1b[c")
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


def split_replies(data: bytes) -> tuple[bytes, bytes]:
    """Split the answers to `QUERIES + TMUX_QUERIES` into tmux's own (up to and including the
    first DA1 answer) and the outer terminal's (the rest). Pure."""
    m = _DA1.search(data)
    return (data, b"") if m is None else (data[:m.end()], data[m.end():])


def ask_terminal(timeout: float = 1.0, fd_in: int | None = None,
                 fd_out: int | None = None, *, in_tmux: bool = False,
                 through_tmux: bool = False) -> bytes:
    """Write `QUERIES` to the terminal and return what it answers, up to and including the DA1
    reply or whatever came within `timeout` seconds. The terminal is put in raw mode (no echo)
    meanwhile and restored after; the queries are written on the alternate screen, so that a
    terminal that prints a query it does not know leaves nothing behind. Returns b"" when it is
    not a terminal. `in_tmux`: `TMUX_OWN_QUERIES` instead.

    `through_tmux`: first `TMUX_QUERIES`, answered by the outer terminal (another round trip,
    up to `timeout` too), before the switch to the alternate screen: tmux drops what is passed
    through while a pane waits to be redrawn, as it does right after that switch. The answers
    come back as tmux's own, then the outer terminal's (see `split_replies`)."""
    import termios
    import tty

    fd_in = sys.__stdin__.fileno() if fd_in is None else fd_in  # type: ignore[union-attr]
    fd_out = sys.__stderr__.fileno() if fd_out is None else fd_out  # type: ignore[union-attr]
    if not (os.isatty(fd_in) and os.isatty(fd_out)):
        return b""
    saved = termios.tcgetattr(fd_in)
    outer = own = b""
    try:
        tty.setraw(fd_in, termios.TCSANOW)
        if through_tmux:
            outer = _round_trip(fd_in, fd_out, TMUX_QUERIES.encode(), timeout)
        queries = TMUX_OWN_QUERIES if in_tmux else QUERIES
        own = _round_trip(fd_in, fd_out, ALT_SCREEN_ON + queries.encode(), timeout)
    finally:
        try:
            os.write(fd_out, ALT_SCREEN_OFF)
        finally:
            termios.tcsetattr(fd_in, termios.TCSAFLUSH, saved)
    return own + outer if through_tmux else own


def _round_trip(fd_in: int, fd_out: int, queries: bytes, timeout: float) -> bytes:
    """Write `queries` and read the answers up to the DA1 reply or `timeout` seconds."""
    os.write(fd_out, queries)
    data = b""
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


#: What `tmux display -p` is asked: the pane's passthrough option (in force for the pane), its
#: offset in the window, the status line (it pushes the window down when on top), and the
#: client's TERM. tmux 3.3 gives the option as 1/0, 3.4+ as on/off/all; older: empty.
TMUX_FORMAT = ("#{allow-passthrough}|#{pane_top}|#{pane_left}|#{status}|#{status-position}|"
               "#{client_termname}")


@dataclass
class TmuxPane:
    """The tmux pane the app runs in, as `tmux display -p TMUX_FORMAT` described it.

    `passthrough`: None when tmux did not say (tmux before 3.3, or it could not be asked).
    `origin` is the pane's top-left cell in the outer terminal, 0-based (row, column): where
    a Kitty placement sent through the passthrough is put, since the outer terminal knows
    nothing of panes. A window larger than the client (other clients attached with larger
    sizes) is drawn shifted by tmux; that shift is not known here."""

    passthrough: bool | None = None
    origin: tuple[int, int] = (0, 0)
    client_term: str = ""
    #: The pane's size (columns, rows) when it was asked; a new size means a new layout.
    size: tuple[int, int] | None = None
    fd: int = 2

    def current_origin(self) -> tuple[int, int]:
        """`origin`, asked of tmux again when the pane's size has changed since it was last
        asked (a split, a resize, a zoom: the pane may have moved too). One `tmux display`
        (a few ms) per resize, none otherwise. Never raises: keeps the old origin."""
        try:
            size = os.get_terminal_size(self.fd)
        except OSError:
            return self.origin
        if (size.columns, size.lines) != self.size:
            self.size = (size.columns, size.lines)
            if (fresh := ask_tmux()) is not None:
                self.origin = fresh.origin
        return self.origin


def parse_tmux_pane(text: str) -> TmuxPane | None:
    """Read `tmux display -p TMUX_FORMAT`'s one line; None when it is not that. Pure."""
    parts = text.strip("\n").split("|")
    if len(parts) != 6 or not parts[1].isdigit() or not parts[2].isdigit():
        return None
    option, top, left, status, position, client = parts
    passthrough = None if option == "" else option in ("1", "on", "all")
    lines = {"off": 0, "on": 1}.get(status, int(status) if status.isdigit() else 0)
    row = int(top) + (lines if position == "top" else 0)
    return TmuxPane(passthrough, (row, int(left)), client)


def ask_tmux(timeout: float = 2.0) -> TmuxPane | None:
    """Ask the tmux server the app runs under (the TMUX variable names it; TMUX_PANE the pane)
    about its pane; None when there is no answer (tmux not found, the server gone, a timeout).
    """
    pane = os.environ.get("TMUX_PANE", "")
    try:
        done = subprocess.run(["tmux", "display-message", "-p",
                               *(["-t", pane] if pane else []), TMUX_FORMAT],
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return parse_tmux_pane(done.stdout) if done.returncode == 0 else None


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
    #: Set when Kitty graphics go through tmux's passthrough: the pane, for its origin.
    passthrough: TmuxPane | None = None
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


def kitty_client(pane: TmuxPane | None, env: dict[str, str]) -> bool:
    """Whether the terminal outside tmux looks like one with Kitty graphics (its TERM, or the
    variables it sets), for the hint when passthrough is off."""
    term = pane.client_term.lower() if pane else ""
    return (any(term.startswith(t) for t in KITTY_CLIENT_TERMS)
            or any(env.get(name) for name in KITTY_CLIENT_ENV))


def decide(
    replies: Replies | None,
    *,
    graphics: str = "auto",
    truecolor: bool = False,
    env: dict[str, str] | None = None,
    cell_px: tuple[int, int] | None = None,
    pane: TmuxPane | None = None,
    outer: Replies | None = None,
) -> Display:
    """Choose how to draw photos from the terminal's `replies` (None: it was not asked), the
    options and the environment. Pure: see `detect` for the whole thing.

    Inside tmux (TMUX set), `pane` is what tmux said of the pane (None: not asked or no
    answer) and `outer` the outer terminal's answers through the passthrough (None: not
    asked). Kitty graphics go through the passthrough only when all three agree: in tmux, the
    pane's `allow-passthrough` on, and the outer terminal answered the Kitty query.

    Raises ValueError for a `graphics` value not in GRAPHICS_MODES."""
    env = dict(os.environ) if env is None else env
    if graphics not in GRAPHICS_MODES:
        raise ValueError(f"unknown graphics mode {graphics!r}: use one of "
                         f"{', '.join(GRAPHICS_MODES)}")
    r = replies or Replies()
    d = Display(tmux=bool(env.get("TMUX")), terminal=r.name)
    term = env.get("TERM", "")
    screen = term.startswith("screen") and bool(env.get("STY"))
    passthrough = d.tmux and pane is not None and bool(pane.passthrough)
    hint_passthrough = (d.tmux and pane is not None and pane.passthrough is False
                        and kitty_client(pane, env))
    # -- pixels
    if graphics != "auto":
        d.graphics = graphics
        d.how.append(f"graphics {graphics}: forced")
        if graphics == "kitty" and passthrough:
            d.passthrough = pane
            d.how.append("kitty graphics through tmux's passthrough")
    elif r.kitty and not d.tmux:
        d.graphics = "kitty"
        d.how.append("graphics kitty: the terminal answered the Kitty graphics query")
    elif passthrough and outer is not None and outer.kitty:
        d.graphics, d.passthrough = "kitty", pane
        d.how.append("graphics kitty: the terminal outside tmux answered the Kitty graphics "
                     "query through tmux's passthrough (allow-passthrough on)")
    elif r.sixel:
        d.graphics = "sixel"
        d.how.append("graphics sixel: DA1 lists Sixel" + (" (tmux 3.4+)" if d.tmux else ""))
    else:
        d.graphics = "halfblock"
        d.how.append("graphics halfblock: no Kitty graphics or Sixel answer")
        if hint_passthrough:
            d.note = PASSTHROUGH_HINT
            d.how.append("tmux's allow-passthrough is off for this pane")
        elif d.tmux:
            d.note = ("in tmux photos are half-block cells: run outside tmux, or tmux 3.4+ "
                      "with Sixel")
        elif screen:
            d.note = "in GNU screen photos are half-block cells: run outside screen for pixels"
    # -- cell size (the outer terminal's own answer first: it is the one that draws)
    px = (outer.cell_px if d.passthrough and outer else None) or cell_px or r.cell_px
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
        if not d.pixels and not hint_passthrough:  # (says more than the tmux or screen note;
            # passthrough would give pixels, which is more still)
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
    replies = outer = None
    pane = None
    in_tmux = bool(os.environ.get("TMUX"))
    if in_tmux and graphics in ("auto", "kitty"):
        pane = ask_tmux()
        if pane is not None:
            pane.fd = fd
            with contextlib.suppress(OSError):
                size = os.get_terminal_size(fd)
                pane.size = (size.columns, size.lines)
    through = graphics == "auto" and pane is not None and bool(pane.passthrough)
    promised = truecolor or term_colors(os.environ.get("TERM", ""),
                                        os.environ.get("COLORTERM", ""))
    need_ask = graphics == "auto" or not promised or (graphics != "halfblock" and not cell_px)
    if need_ask:
        own, theirs = split_replies(ask_terminal(timeout, in_tmux=in_tmux, through_tmux=through))
        replies = parse_replies(own)
        outer = parse_replies(theirs) if through else None
    return decide(replies, graphics=graphics, truecolor=truecolor, cell_px=cell_px,
                  pane=pane, outer=outer)

