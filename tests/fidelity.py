"""How faithfully a terminal screen shows a photo: the method of the project's fidelity tool
(`../shared/tools/fidelity.py`, issue 9), kept here so that the tests run on a fresh clone.

- `ansi_image(text)`: the half-block photo in a `tmux capture-pane -e -p` text (the longest run
  of rows with at least 8 half-block cells), its SGR colours (24-bit, 256, the 16 basic ones in
  xterm's default palette) turned back into pixels.
- `framed_region(screenshot)`: what lies inside the 12-pixel magenta frame of a framed photo
  (`PIL.ImageOps.expand(photo, border=12, fill=(255, 0, 255))`) on a screenshot.
- `psnr(shown, source)`: PSNR in dB between the two after a Gaussian blur of radius 1.5 px (how
  an eye sees dithering and half-block cells from a normal distance), the source scaled to the
  shown size with Lanczos.

(Named without test_: it holds no tests.)
"""

from __future__ import annotations

import re

import numpy as np
from PIL import Image, ImageFilter

BASIC = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205),
         (0, 205, 205), (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0),
         (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255)]
FRAME = 12


def xterm256(n: int) -> tuple[int, int, int]:
    if n < 16:
        return BASIC[n]
    if n < 232:
        n -= 16
        lv = [0, 95, 135, 175, 215, 255]
        return (lv[n // 36], lv[(n // 6) % 6], lv[n % 6])
    v = 8 + 10 * (n - 232)
    return (v, v, v)


def _parse_sgr(params, fg, bg):
    p = [int(x) if x else 0 for x in params.split(";")] if params else [0]
    i = 0
    while i < len(p):
        c = p[i]
        if c == 0:
            fg, bg = None, None
        elif c in (38, 48) and i + 1 < len(p):
            if p[i + 1] == 2 and i + 4 < len(p):
                col = tuple(p[i + 2:i + 5])
                i += 4
            elif p[i + 1] == 5 and i + 2 < len(p):
                col = xterm256(p[i + 2])
                i += 2
            else:
                col = None
            if c == 38:
                fg = col
            else:
                bg = col
        elif 30 <= c <= 37:
            fg = BASIC[c - 30]
        elif 90 <= c <= 97:
            fg = BASIC[c - 90 + 8]
        elif 40 <= c <= 47:
            bg = BASIC[c - 40]
        elif 100 <= c <= 107:
            bg = BASIC[c - 100 + 8]
        elif c == 39:
            fg = None
        elif c == 49:
            bg = None
        i += 1
    return fg, bg


def _cells(text):
    rows = []
    fg = bg = None
    pattern = r"\x1b\[([0-9;]*)m|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[^\[\]]|(.)"
    for line in text.split("\n"):
        row = []
        for m in re.finditer(pattern, line):
            if m.group(2) is not None:
                row.append((m.group(2), fg, bg))
            elif m.group(0).startswith("\x1b["):
                fg, bg = _parse_sgr(m.group(1), fg, bg)
        rows.append(row)
    return rows


def ansi_image(text: str) -> np.ndarray | None:
    """The half-block photo on a captured screen as an (h, w, 3) float array, or None."""
    rows = _cells(text)
    hb = [[i for i, (ch, _f, _b) in enumerate(r) if ch in "▀▄█"] for r in rows]
    good = [len(h) >= 8 for h in hb]
    best, cur, start = (0, 0), 0, 0
    for y, g in enumerate([*good, False]):
        if g:
            if cur == 0:
                start = y
            cur += 1
        else:
            if cur > best[1] - best[0]:
                best = (start, start + cur)
            cur = 0
    y0, y1 = best
    if y1 <= y0:
        return None
    x0 = min(min(hb[y]) for y in range(y0, y1) if hb[y])
    x1 = max(max(hb[y]) for y in range(y0, y1) if hb[y]) + 1
    img = np.zeros((2 * (y1 - y0), x1 - x0, 3), float)
    dflt_bg, dflt_fg = (0, 0, 0), (229, 229, 229)
    for y in range(y0, y1):
        r = rows[y]
        for x in range(x0, x1):
            ch, f, b = r[x] if x < len(r) else (" ", None, None)
            f = f or dflt_fg
            b = b or dflt_bg
            if ch == "▄":
                top, bot = b, f
            elif ch == "▀":
                top, bot = f, b
            elif ch == "█":
                top = bot = f
            else:
                top = bot = b
            img[2 * (y - y0), x - x0] = top
            img[2 * (y - y0) + 1, x - x0] = bot
    return img


def framed_region(screenshot: Image.Image) -> np.ndarray | None:
    """What lies inside the magenta frame on `screenshot`, or None when there is no frame."""
    a = np.asarray(screenshot.convert("RGB"), int)
    mag = (a[..., 0] > 200) & (a[..., 1] < 70) & (a[..., 2] > 200)
    ys, xs = np.nonzero(mag)
    if len(xs) < 50:
        return None
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    fx, fy = (x1 - x0) * FRAME / 624, (y1 - y0) * FRAME / 424
    box = (int(round(x0 + fx)) + 1, int(round(y0 + fy)) + 1,
           int(round(x1 - fx)) - 1, int(round(y1 - fy)) - 1)
    return a[box[1]:box[3], box[0]:box[2]].astype(float)


def psnr(shown: np.ndarray, source: Image.Image) -> float:
    """PSNR (dB) of `shown` against `source` scaled to its size, both blurred 1.5 px."""
    h, w = shown.shape[:2]
    ref = np.asarray(source.convert("RGB").resize((w, h), Image.LANCZOS), float)

    def blur(arr):
        image = Image.fromarray(arr.clip(0, 255).astype(np.uint8))
        return np.asarray(image.filter(ImageFilter.GaussianBlur(1.5)), float)

    mse = ((blur(shown) - blur(ref)) ** 2).mean()
    return float(10 * np.log10(255 ** 2 / max(mse, 1e-9)))
