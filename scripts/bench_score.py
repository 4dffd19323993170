#!/usr/bin/env python
"""Benchmark `tuilabel score` in a real terminal: key press to the next photo's frame, and
start-up to the first photo.

Method. A private tmux server runs `python -m tuilabel score --truecolor` at 130x50 over an
SQLite database (WAL) of N generated 1200x900 JPEGs (gradients, shapes and noise, so that
nearly every cell has its own colours: the worst case for the terminal output). The app is
started with TUILABEL_FRAME_LOG=FILE: after each refresh that put a new photo on screen it
appends "shown <id> <unix time>" (Textual's call_after_refresh, i.e. once the frame has been
composed and handed to the terminal writer). For each rating the script takes the time, runs
`tmux send-keys j`, and waits for the next "shown" line: latency = shown - press, so it
includes the tmux client, the pty, Textual's input parsing, the key handler and the frame.
Every --verify-every-th press is also timed from outside, by polling `tmux capture-pane` until
the next photo's tweet id is on the screen tmux holds (an upper bound, poll interval 5 ms).
Between presses the script waits --pace seconds, as a person looks at the photo (the next
photos are fetched, decoded and turned into cells in that time, in the app's workers).
Start-up is from starting the tmux session to the first "shown" line; the app also logs
whether TensorFlow was imported by then.

Usage: .venv/bin/python scripts/bench_score.py [--n 60] [--pace 0.5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def make_photos(folder: Path, n: int) -> list[Path]:
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(42)
    paths = []
    yy, xx = np.mgrid[0:900, 0:1200]
    for i in range(n):
        base = np.stack([
            (xx * rng.uniform(0.05, 0.2) + i * 17) % 256,
            (yy * rng.uniform(0.05, 0.2) + i * 31) % 256,
            ((xx + yy) * rng.uniform(0.02, 0.1)) % 256,
        ], axis=-1)
        base = base + rng.normal(0, 18, base.shape)
        img = Image.fromarray(np.clip(base, 0, 255).astype("uint8"))
        draw = ImageDraw.Draw(img)
        for _ in range(12):
            x, y = rng.integers(0, 1100), rng.integers(0, 800)
            w, h = rng.integers(40, 400, size=2)
            draw.ellipse([x, y, x + w, y + h], fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
        path = folder / f"photo{i:03d}.jpg"
        img.save(path, quality=85)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=60, help="ratings to time (>= 50)")
    parser.add_argument("--pace", type=float, default=0.5, help="seconds between key presses")
    parser.add_argument("--verify-every", type=int, default=5,
                        help="also time every k-th press by polling capture-pane")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("bench_score: tmux is not installed")

    tmp = Path(tempfile.mkdtemp(prefix="bench-score-"))
    socket = f"bench-score-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", socket]
    try:
        t = time.perf_counter()
        paths = make_photos(tmp, args.n + 8)
        db = str(tmp / "bench.db")
        fill_db(db, paths)
        print(f"{len(paths)} JPEGs of 1200x900 generated in {time.perf_counter() - t:.1f} s",
              file=sys.stderr)
        log = FrameLog(tmp / "frames.log")
        command = (
            f"cd {REPO} && env TUILABEL_FRAME_LOG={log.path} TUILABEL_CACHE={tmp / 'cache'} "
            f"TERM=xterm-256color {sys.executable} -m tuilabel score --db {db} --rater bench "
            f"--order oldest --truecolor; echo BENCH-EXIT=$?; sleep 30"
        )
        started = time.time()
        subprocess.run([*tmux, "new-session", "-d", "-s", "b", "-x", "130", "-y", "50",
                        command], check=True)

        def first():
            log.poll()
            return log.shown()

        first_id, first_t = wait(first, 30, "the first photo")[0]
        startup = first_t - started
        tf = [ln for ln in log.lines if ln.startswith("tensorflow_imported")]

        latencies, outside, in_app, send = [], [], [], []
        last_id = first_id
        for i in range(args.n):
            time.sleep(args.pace)
            count = len(log.shown())
            verify = args.verify_every and i % args.verify_every == 0
            t_press = time.time()
            subprocess.run([*tmux, "send-keys", "-t", "b", "j"], check=True)
            send.append(time.time() - t_press)
            if verify:
                # tweet ids run with image ids here: the next photo's id is on screen
                want = f"tweet  {900000 + last_id}"

                def on_screen(want=want):
                    out = subprocess.run([*tmux, "capture-pane", "-p", "-t", "b"],
                                         capture_output=True, text=True).stdout
                    return want in out

                wait(on_screen, 10, "the next photo on screen")
                outside.append(time.time() - t_press)

            def next_shown(count=count):
                log.poll()
                shown = log.shown()
                return shown[count:] if len(shown) > count else None

            new_id, t_shown = wait(next_shown, 10, "the next photo")[0]
            latencies.append(t_shown - t_press)
            in_app.append(t_shown - log.keys()[-1])
            last_id = new_id
        subprocess.run([*tmux, "send-keys", "-t", "b", "q"], check=True)
        time.sleep(1.0)

        from tuilabel.store import open_store

        with open_store(db) as store:
            stored = sum(1 for r in store.iter_ratings(rater="bench"))
        ms = [v * 1000 for v in latencies]
        print(f"ratings timed: {len(ms)}; ratings stored: {stored}")
        print(f"key press -> next photo's frame: median {statistics.median(ms):.1f} ms, "
              f"p95 {percentile(ms, 95):.1f} ms, max {max(ms):.1f} ms")
        app_ms = [v * 1000 for v in in_app]
        print(f"  of which in the app (key handler entered -> frame): median "
              f"{statistics.median(app_ms):.1f} ms, p95 {percentile(app_ms, 95):.1f} ms; "
              f"`tmux send-keys` itself took median {statistics.median(send) * 1000:.1f} ms")
        if outside:
            out_ms = [v * 1000 for v in outside]
            print(f"same, seen in tmux's screen (capture-pane polling, {len(out_ms)} presses): "
                  f"median {statistics.median(out_ms):.1f} ms, max {max(out_ms):.1f} ms")
        print(f"start-up to the first photo: {startup * 1000:.0f} ms; {tf[0] if tf else ''}")
        phases = [ln.split() for ln in log.lines if ln.startswith("startup ")]
        print("  start-up phases (ms after the tmux session started): " + ", ".join(
            f"{p[1]} {(float(p[2]) - started) * 1000:.0f}" for p in phases))
        if stored != args.n:
            raise SystemExit(f"bench_score: {stored} ratings stored, expected {args.n}")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
