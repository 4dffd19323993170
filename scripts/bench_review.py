#!/usr/bin/env python
"""Benchmark review speed (issue 10): the grid page on screen after Enter, and rated photos per
key press and per minute, single view against a 3x3 grid, with one exception in ten photos.

Method. Both runs are in tmux at 130x50 (half-block cells, 24-bit colour), keys sent by
`tmux send-keys`, over an SQLite database of 600x650 JPEGs (bench_score.make_photos) labeled
with LABELS, nine photos per label. The app runs with TUILABEL_FRAME_LOG=FILE: the grid logs
"shown page <id> <time>" after the refresh that put a page with all its tiles on screen, the
single view "shown <id> <time>" for each photo, and both "key ..." when a key handler starts.
- Grid: `score --grid 3x3 --order class`. For each page the script presses the digits of its
  exceptions (top5: one press, none: two) and Enter, then waits for the next page's
  "shown page": latency = shown - Enter sent (and - the handler's "key page" mark).
- Single: `score --order class`, one key per photo (j, or k/l for an exception), then waits
  for the next photo's "shown".
Exceptions: one photo in ten (EXCEPTION_EVERY), alternately top5 and none, spread over the
pages (page p gets floor((p+1)*9/10) - floor(p*9/10) of them). Before each screen's keys the
script waits, a stand-in for the rater's look: --pace seconds per photo in the single view,
--grid-pace per page of nine in the grid (assumptions, not measurements of people: the
per-minute figures follow from them plus what the UI adds). Per key press = ratings stored /
keys sent. Ratings are read back from the store at the end and checked.

Usage: .venv/bin/python scripts/bench_review.py [--pages 10] [--pace 0.5] [--grid-pace 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_score import REPO, FrameLog, make_photos, percentile, wait  # noqa: E402

LABELS = ["golden_retriever", "tabby", "tiger_cat", "Labrador_retriever", "tennis_ball",
          "kuvasz", "chow", "Egyptian_cat", "beagle", "pug", "collie", "boxer"]
EXCEPTION_EVERY = 10
TILES = 9


def fill_db(db: str, paths: list[Path]) -> None:
    from tuilabel.store import NewImage, open_store

    images = [
        NewImage(tweet_id=str(700000 + i), url=str(p), model="vgg16",
                 predictions=[(LABELS[i // TILES % len(LABELS)], 0.6), ("other_a", 0.2),
                              ("other_b", 0.1)])
        for i, p in enumerate(paths)
    ]
    with open_store(db) as store:
        store.add_images(images)


def exceptions_on(page: int) -> int:
    """How many of page `page`'s nine tiles are exceptions (one photo in ten overall)."""
    per = TILES / EXCEPTION_EVERY
    return int((page + 1) * per) - int(page * per)


class Session:
    """`tuilabel score ARGS` in a private tmux server at 130x50."""

    def __init__(self, tmp: Path, db: str, name: str, extra: str) -> None:
        self.tmux = ["tmux", "-L", f"bench-review-{uuid.uuid4().hex[:8]}"]
        self.log = FrameLog(tmp / f"frames-{name}.log")
        self.keys = 0
        command = (
            f"cd {REPO} && env TUILABEL_FRAME_LOG={self.log.path} "
            f"TUILABEL_CACHE={tmp / 'cache'} TUILABEL_GRAPHICS=halfblock TERM=xterm-256color "
            f"{sys.executable} -m tuilabel score --db {db} --rater {name} --order class "
            f"--truecolor {extra}; echo BENCH-EXIT=$?; sleep 30"
        )
        self.started = time.time()
        subprocess.run([*self.tmux, "new-session", "-d", "-s", "b", "-x", "130", "-y", "50",
                        command], check=True)

    def send(self, *keys: str) -> float:
        """Send keys; the time just before."""
        t = time.time()
        subprocess.run([*self.tmux, "send-keys", "-t", "b", *keys], check=True)
        self.keys += len(keys)
        return t

    def shown(self, prefix: str) -> list[tuple[str, float]]:
        self.log.poll()
        out = []
        for line in self.log.lines:
            parts = line.split()
            if line.startswith(prefix + " ") and len(parts) == len(prefix.split()) + 2:
                out.append((parts[-2], float(parts[-1])))
        return out

    def key_marks(self, what: str) -> list[float]:
        self.log.poll()
        return [float(ln.split()[-1]) for ln in self.log.lines if ln.startswith(f"key {what}")]

    def close(self) -> None:
        subprocess.run([*self.tmux, "send-keys", "-t", "b", "q"], check=True)
        time.sleep(1.0)
        subprocess.run([*self.tmux, "kill-server"], capture_output=True)


def run_grid(args, tmp: Path, db: str) -> dict:
    s = Session(tmp, db, "grid", "--grid 3x3")
    latencies, in_app = [], []
    try:
        wait(lambda: s.shown("shown page"), 60, "the first page")
        t0 = time.time()
        for page in range(args.pages):
            count = len(s.shown("shown page"))
            time.sleep(args.grid_pace)
            keys: list[str] = []
            for e in range(exceptions_on(page)):
                tile = str(2 + 3 * e)  # tiles 2, 5, 8
                keys += [tile] * (1 if (page + e) % 2 == 0 else 2)  # top5, or none
            if keys:
                s.send(*keys)
            t_enter = s.send("Enter")
            if page == args.pages - 1:
                break  # no page after the last: nothing to wait for
            _, t_shown = wait(lambda count=count: s.shown("shown page")[count:], 10,
                              "the next page")[0]
            wait(lambda page=page: s.key_marks("page")[page:], 5, "the Enter handler's mark")
            latencies.append(t_shown - t_enter)
            in_app.append(t_shown - s.key_marks("page")[-1])
        elapsed = time.time() - t0
    finally:
        s.close()
    return {"latencies": latencies, "in_app": in_app, "keys": s.keys, "elapsed": elapsed}


def run_single(args, tmp: Path, db: str, n: int) -> dict:
    s = Session(tmp, db, "single", "")
    latencies = []
    try:
        wait(lambda: s.shown("shown"), 60, "the first photo")
        t0 = time.time()
        for i in range(n):
            count = len(s.shown("shown"))
            time.sleep(args.pace)
            page, tile = divmod(i, TILES)
            exception = tile in [1 + 3 * e for e in range(exceptions_on(page))]
            key = ("k" if (page + (tile - 1) // 3) % 2 == 0 else "l") if exception else "j"
            t_press = s.send(key)
            if i == n - 1:
                break
            _, t_shown = wait(lambda count=count: s.shown("shown")[count:], 10,
                              "the next photo")[0]
            latencies.append(t_shown - t_press)
        elapsed = time.time() - t0
    finally:
        s.close()
    return {"latencies": latencies, "keys": s.keys, "elapsed": elapsed}


def _verdicts(db: str, rater: str) -> dict[str, int]:
    from collections import Counter

    from tuilabel.store import open_store

    with open_store(db) as store:
        return dict(Counter(r.verdict for r in store.iter_ratings(rater=rater)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=10, help="grid pages (9 photos each)")
    parser.add_argument("--pace", type=float, default=0.5,
                        help="seconds looked at each photo in the single view before its key")
    parser.add_argument("--grid-pace", type=float, default=2.0,
                        help="seconds looked at each grid page (nine photos) before its keys")
    args = parser.parse_args()
    n = args.pages * TILES
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "photos").mkdir()
        paths = make_photos(tmp / "photos", n)
        grid_db, single_db = str(tmp / "grid.db"), str(tmp / "single.db")
        fill_db(grid_db, paths)
        fill_db(single_db, paths)
        grid = run_grid(args, tmp, grid_db)
        single = run_single(args, tmp, single_db, n)
        got_grid, got_single = _verdicts(grid_db, "grid"), _verdicts(single_db, "single")
    rated = {"grid": sum(got_grid.values()), "single": sum(got_single.values())}
    want_ex = sum(exceptions_on(p) for p in range(args.pages))
    for name, got in (("grid", got_grid), ("single", got_single)):
        if rated[name] != n or n - got.get("top1", 0) != want_ex:
            raise SystemExit(f"bench_review: {name} stored {got}, expected {n} ratings with "
                             f"{want_ex} exceptions")
    ms = [v * 1000 for v in grid["latencies"]]
    app_ms = [v * 1000 for v in grid["in_app"]]
    print(f"photos: {n} ({args.pages} pages of {TILES}), exceptions: {want_ex} "
          f"(one in {EXCEPTION_EVERY}); looked at for {args.pace:g} s per photo (single), "
          f"{args.grid_pace:g} s per page (grid); tmux 130x50, half-block, 24-bit")
    print(f"[grid 3x3] Enter -> next page on screen: median {statistics.median(ms):.1f} ms, "
          f"p95 {percentile(ms, 95):.1f} ms, max {max(ms):.1f} ms ({len(ms)} pages)")
    print(f"  in the app (Enter handler -> page frame): median "
          f"{statistics.median(app_ms):.1f} ms, p95 {percentile(app_ms, 95):.1f} ms")
    sm = [v * 1000 for v in single["latencies"]]
    print(f"[single] key -> next photo on screen: median {statistics.median(sm):.1f} ms, "
          f"p95 {percentile(sm, 95):.1f} ms")
    for name, r in (("single", single), ("grid 3x3", grid)):
        key = "grid" if name.startswith("grid") else "single"
        print(f"[{name}] {rated[key] / r['keys']:.2f} photos per key press "
              f"({rated[key]} photos, {r['keys']} keys), "
              f"{60 * rated[key] / r['elapsed']:.0f} photos per minute "
              f"({r['elapsed']:.1f} s)")
    print(f"grid / single: {single['keys'] / grid['keys']:.1f}x fewer key presses, "
          f"{single['elapsed'] / grid['elapsed']:.1f}x the photos per minute")


if __name__ == "__main__":
    main()
