#!/usr/bin/env python
"""Benchmark `tuilabel score`: key press to the next photo's frame for each way of drawing
photos (half-block cells, Sixel, Kitty graphics), and start-up to the first photo.

Method. The app runs over an SQLite database (WAL) of N+8 different 600x650 JPEGs made from the
test photo (crops, mirrored, colours shifted, see make_photos) with TUILABEL_FRAME_LOG=FILE: after
each refresh that put a new photo on screen it appends "shown <id> <unix time>" (Textual's
call_after_refresh, i.e. once the frame has been composed and handed to the terminal writer).
For each rating the script takes the time, sends `j`, and waits for the next "shown" line:
latency = shown - press. Between presses it waits --pace seconds, as a person looks at the
photo (the next photos are fetched, decoded, turned into cells or encoded as Sixel/Kitty in
that time, in the app's render worker).

Two terminals, in one run so that the ratios are side by side:
- tmux (half-block, --truecolor) at 130x50, keys by `tmux send-keys`: the latency includes the
  tmux client, the pty, Textual's input parsing, the key handler and the frame. Every
  --verify-every-th press is also timed from outside, by polling `tmux capture-pane` until the
  next photo's tweet id is on the screen tmux holds (an upper bound, poll interval 5 ms).
- a pty of 130x50 cells of 7x14 pixels (TIOCSWINSZ with the pixel fields filled in, as xterm
  and kitty do), `--graphics halfblock|sixel|kitty --truecolor`, keys written to the pty. A
  thread reads everything the app writes, as a terminal would (it draws nothing). For Sixel
  and Kitty it also notes when the bytes of the next image (the Sixel string, or the Kitty
  placement; Kitty pixels are sent ahead) have all been read: "image out".
Start-up is from starting the app to the first "shown" line; the app also logs whether
TensorFlow was imported by then.

Usage: .venv/bin/python scripts/bench_score.py [--n 60] [--pace 0.5]
       [--modes tmux,halfblock,sixel,kitty]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def make_photos(folder: Path, n: int) -> list[Path]:
    """`n` different photos of 600x650 pixels made from the test photo (scikit-image's coffee
    photo, tests/data/coffee.jpg): a random crop, mirrored or not, colours shifted, and a few
    shapes, so that no two are alike (a real photo's colours and detail, which is what a Sixel
    encoder and the terminal see; pure noise would need every colour register in every band)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageOps

    rng = np.random.default_rng(42)
    source = Image.open(REPO / "tests" / "data" / "coffee.jpg").convert("RGB")
    paths = []
    for i in range(n):
        w = int(rng.integers(300, 420))
        h = int(w * 650 / 600)
        h = min(h, source.height)
        x, y = int(rng.integers(0, source.width - w)), int(rng.integers(0, source.height - h + 1))
        img = source.crop((x, y, x + w, y + h)).resize((600, 650), Image.LANCZOS)
        if i % 2:
            img = ImageOps.mirror(img)
        shift = rng.uniform(0.7, 1.3, 3)
        img = Image.fromarray(np.clip(np.asarray(img) * shift, 0, 255).astype("uint8"))
        draw = ImageDraw.Draw(img)
        for _ in range(3):
            cx, cy = rng.integers(0, 560), rng.integers(0, 610)
            r = int(rng.integers(10, 60))
            draw.ellipse([cx, cy, cx + r, cy + r],
                         fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
        path = folder / f"photo{i:03d}.jpg"
        img.save(path, quality=90)
        paths.append(path)
    return paths


def fill_db(db: str, paths: list[Path]) -> None:
    from tuilabel.store import NewImage, open_store

    images = [
        NewImage(tweet_id=str(900000 + i), url=str(p), model="vgg16",
                 predictions=[("golden_retriever", 0.6), ("Labrador_retriever", 0.2),
                              ("tennis_ball", 0.1), ("kuvasz", 0.05), ("chow", 0.01)])
        for i, p in enumerate(paths)
    ]
    with open_store(db) as store:
        store.add_images(images)


class FrameLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.lines: list[str] = []

    def poll(self) -> None:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as fh:
            fh.seek(self.offset)
            chunk = fh.read()
        complete, _, _rest = chunk.rpartition("\n")
        if complete:
            self.offset += len(complete) + 1
            self.lines.extend(complete.split("\n"))

    def keys(self) -> list[float]:
        return [float(p[2]) for p in (ln.split() for ln in self.lines) if p[0] == "key"]

    def shown(self) -> list[tuple[int, float]]:
        return [(int(p[1]), float(p[2])) for p in (ln.split() for ln in self.lines)
                if p[0] == "shown"]


def wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"bench_score: timed out waiting for {what}")
        time.sleep(0.001)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


class Result:
    """The latencies (seconds) of one terminal/mode run."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.latencies: list[float] = []
        self.in_app: list[float] = []
        self.outside: list[float] = []
        self.image_out: list[float] = []
        self.startup = 0.0
        self.notes: list[str] = []

    def report(self) -> None:
        ms = [v * 1000 for v in self.latencies]
        print(f"[{self.name}] key press -> next photo's frame: median "
              f"{statistics.median(ms):.1f} ms, p95 {percentile(ms, 95):.1f} ms, "
              f"max {max(ms):.1f} ms ({len(ms)} ratings)")
        app_ms = [v * 1000 for v in self.in_app]
        print(f"  in the app (key handler entered -> frame): median "
              f"{statistics.median(app_ms):.1f} ms, p95 {percentile(app_ms, 95):.1f} ms")
        if self.image_out:
            out_ms = [v * 1000 for v in self.image_out]
            print(f"  key press -> image bytes out of the pty: median "
                  f"{statistics.median(out_ms):.1f} ms, p95 {percentile(out_ms, 95):.1f} ms")
        if self.outside:
            out_ms = [v * 1000 for v in self.outside]
            print(f"  seen in tmux's screen (capture-pane polling, {len(out_ms)} presses): "
                  f"median {statistics.median(out_ms):.1f} ms, max {max(out_ms):.1f} ms")
        print(f"  start-up to the first photo: {self.startup * 1000:.0f} ms")
        for note in self.notes:
            print(f"  {note}")


def _stored(db: str, rater: str) -> int:
    from tuilabel.store import open_store

    with open_store(db) as store:
        return sum(1 for _ in store.iter_ratings(rater=rater))


def run_tmux(args, tmp: Path, db: str) -> Result:
    """Half-block cells in tmux (the method of earlier versions of this script)."""
    result = Result("tmux, half-block, 24-bit")
    socket = f"bench-score-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", socket]
    log = FrameLog(tmp / "frames-tmux.log")
    try:
        command = (
            f"cd {REPO} && env TUILABEL_FRAME_LOG={log.path} TUILABEL_CACHE={tmp / 'cache'} "
            f"TERM=xterm-256color {sys.executable} -m tuilabel score --db {db} --rater tmux "
            f"--order oldest --truecolor; echo BENCH-EXIT=$?; sleep 30"
        )
        started = time.time()
        subprocess.run([*tmux, "new-session", "-d", "-s", "b", "-x", "130", "-y", "50",
                        command], check=True)

        def first():
            log.poll()
            return log.shown()

        first_id, first_t = wait(first, 60, "the first photo")[0]
        result.startup = first_t - started
        result.notes += [ln for ln in log.lines if ln.startswith("tensorflow_imported")]
        last_id = first_id
        for i in range(args.n):
            time.sleep(args.pace)
            count = len(log.shown())
            verify = args.verify_every and i % args.verify_every == 0
            t_press = time.time()
            subprocess.run([*tmux, "send-keys", "-t", "b", "j"], check=True)
            if verify:
                want = f"tweet  {900000 + last_id}"  # tweet ids run with image ids here

                def on_screen(want=want):
                    out = subprocess.run([*tmux, "capture-pane", "-p", "-t", "b"],
                                         capture_output=True, text=True).stdout
                    return want in out

                wait(on_screen, 60, "the next photo on screen")
                result.outside.append(time.time() - t_press)

            def next_shown(count=count):
                log.poll()
                shown = log.shown()
                return shown[count:] if len(shown) > count else None

            new_id, t_shown = wait(next_shown, 60, "the next photo")[0]
            result.latencies.append(t_shown - t_press)
            result.in_app.append(t_shown - log.keys()[-1])
            last_id = new_id
        subprocess.run([*tmux, "send-keys", "-t", "b", "q"], check=True)
        time.sleep(1.0)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    stored = _stored(db, "tmux")
    if stored != args.n:
        raise SystemExit(f"bench_score: {stored} ratings stored in tmux, expected {args.n}")
    return result


class PtyTerminal:
    """The app on a pty of 130x50 cells of 7x14 pixels; a thread reads all it writes."""

    MARKS = {"sixel": b"\x1bP0;0;0q", "kitty": b"\x1b_Ga=p,"}

    def __init__(self, argv: list[str], env: dict[str, str], mode: str) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the app
            os.execve(argv[0], argv, env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 130, 130 * 7, 50 * 14))
        self.mark = self.MARKS.get(mode)
        self.images: list[float] = []  # times at which a whole image had been read
        self.bytes = 0
        self._tail = b""
        self._open = True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while self._open:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 1 << 20)
            except OSError:
                return
            if not chunk:
                return
            self.bytes += len(chunk)
            if self.mark is None:
                continue
            data = self._tail + chunk
            now = time.time()
            # an image is complete once the cursor is restored after its mark (\x1b8)
            start = 0
            while True:
                at = data.find(self.mark, start)
                if at < 0:
                    break
                end = data.find(b"\x1b8", at)
                if end < 0:
                    break
                self.images.append(now)
                start = end
            keep = data.rfind(self.mark, start)
            self._tail = data[keep:] if keep >= 0 else data[-16:]

    def press(self, key: bytes) -> None:
        os.write(self.fd, key)

    def close(self) -> None:
        self._open = False
        try:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        except (OSError, ChildProcessError):
            pass
        os.close(self.fd)


def run_pty(args, tmp: Path, db: str, mode: str) -> Result:
    names = {"halfblock": "half-block, 24-bit", "sixel": "Sixel", "kitty": "Kitty graphics"}
    result = Result(f"pty 7x14-pixel cells, {names[mode]}")
    log = FrameLog(tmp / f"frames-{mode}.log")
    env = {**os.environ, "TUILABEL_FRAME_LOG": str(log.path), "TUILABEL_CACHE":
           str(tmp / "cache"), "TERM": "xterm-256color", "PYTHONPATH": str(REPO)}
    for name in ("COLUMNS", "LINES", "TMUX", "TUILABEL_GRAPHICS", "NO_COLOR"):
        env.pop(name, None)
    argv = [sys.executable, "-m", "tuilabel", "score", "--db", db, "--rater", mode,
            "--order", "oldest", "--truecolor", "--graphics", mode]
    started = time.time()
    term = PtyTerminal(argv, env, mode)
    try:
        def first():
            log.poll()
            return log.shown()

        first_t = wait(first, 60, "the first photo")[0][1]
        result.startup = first_t - started
        result.notes += [ln for ln in log.lines if ln.startswith(("display", "tensorflow"))]
        for _ in range(args.n):
            time.sleep(args.pace)
            count = len(log.shown())
            images = len(term.images)
            t_press = time.time()
            term.press(b"j")

            def next_shown(count=count):
                log.poll()
                shown = log.shown()
                return shown[count:] if len(shown) > count else None

            t_shown = wait(next_shown, 60, "the next photo")[0][1]
            result.latencies.append(t_shown - t_press)
            result.in_app.append(t_shown - log.keys()[-1])
            if term.mark is not None:
                wait(lambda images=images: len(term.images) > images, 60, "the image bytes")
                result.image_out.append(term.images[images] - t_press)
        term.press(b"q")
        time.sleep(1.5)
        result.notes.append(f"{term.bytes / 1e6:.1f} MB written to the terminal")
    finally:
        term.close()
    stored = _stored(db, mode)
    if stored != args.n:
        raise SystemExit(f"bench_score: {stored} ratings stored ({mode}), expected {args.n}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=60, help="ratings to time per mode (>= 50)")
    parser.add_argument("--pace", type=float, default=0.5, help="seconds between key presses")
    parser.add_argument("--verify-every", type=int, default=5,
                        help="also time every k-th press in tmux by polling capture-pane")
    parser.add_argument("--modes", default="tmux,halfblock,sixel,kitty",
                        help="comma-separated: tmux, halfblock, sixel, kitty")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - {"tmux", "halfblock", "sixel", "kitty"}
    if unknown:
        raise SystemExit(f"bench_score: unknown mode(s) {', '.join(sorted(unknown))}")
    if "tmux" in modes and shutil.which("tmux") is None:
        raise SystemExit("bench_score: tmux is not installed")

    tmp = Path(tempfile.mkdtemp(prefix="bench-score-"))
    try:
        t = time.perf_counter()
        paths = make_photos(tmp, args.n + 8)
        print(f"{len(paths)} JPEGs of 600x650 generated in {time.perf_counter() - t:.1f} s",
              file=sys.stderr)
        results = []
        for mode in modes:  # a database each: with --overlap 1 a rated photo is done
            db = str(tmp / f"bench-{mode}.db")
            fill_db(db, paths)
            results.append(run_tmux(args, tmp, db) if mode == "tmux"
                           else run_pty(args, tmp, db, mode))
        for result in results:
            result.report()
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
