#!/usr/bin/env python
"""Benchmark the foundation: CLI start-up, `tuilabel load`, and the store at a million images.

Measures, in one run:
  - `tuilabel --help` wall time (median of 10 runs; target < 0.5 s);
  - `tuilabel load` of a generated original-format CSV (rows/s);
  - with N images in the store (default 1,000,000), the rater's hot path: claim_next for each
    order, add_rating, delete_rating (undo), count_rated, on SQLite and optionally MySQL.

Usage: python scripts/bench_store.py [--images 1000000] [--load-rows 200000] [--mysql URL]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tuilabel.store import NewImage, open_store  # noqa: E402

LABELS = [f"class_{i}" for i in range(1000)]


def cli(*args: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tuilabel", *args], check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def random_predictions(rng: random.Random, k: int = 5) -> list[tuple[str, float]]:
    raw = sorted((rng.random() for _ in range(k)), reverse=True)
    total = sum(raw) * rng.uniform(1.0, 2.0)
    return [(rng.choice(LABELS), x / total) for x in raw]


def write_csv(path: Path, rows: int, rng: random.Random) -> None:
    with open(path, "w") as f:
        for i in range(rows):
            preds = random_predictions(rng)
            fields = [str(10**18 + i), f"http://pbs.example/media/{i}.jpg"]
            for label, score in preds:
                fields += [label, f"{score:.6f}"]
            f.write(",".join(fields) + "\n")


def fill(store, n: int, rng: random.Random, batch: int = 20000) -> float:
    t = time.perf_counter()
    for start in range(0, n, batch):
        store.add_images(
            NewImage(str(10**18 + i), f"http://pbs.example/media/{i}.jpg", "vgg16",
                     random_predictions(rng))
            for i in range(start, min(n, start + batch))
        )
    return time.perf_counter() - t


def timed(fn, repeat: int = 20) -> tuple[float, float]:
    """(median, max) milliseconds of `repeat` calls."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times)


def hot_path(store, label: str) -> None:
    print(f"\n{label}: rater hot path ({store.count_images():,} images)")
    for order in ("random", "oldest", "uncertain"):
        med, worst = timed(lambda o=order: store.claim_next("bench", n=1, order=o))
        print(f"  claim_next(order={order:<9}) median {med:6.2f} ms   max {worst:6.2f} ms")
    ids = [i.id for i in store.claim_next("bench", n=40, order="random")]
    it = iter(ids)
    rating_ids: list[int] = []
    med, worst = timed(lambda: rating_ids.append(store.add_rating(next(it), "bench", "top1")))
    print(f"  add_rating               median {med:6.2f} ms   max {worst:6.2f} ms")
    rit = iter(rating_ids)
    med, worst = timed(lambda: store.delete_rating(next(rit)))
    print(f"  delete_rating (undo)     median {med:6.2f} ms   max {worst:6.2f} ms")
    med, worst = timed(lambda: store.count_rated(), repeat=5)
    print(f"  count_rated              median {med:6.2f} ms   max {worst:6.2f} ms")
    # a second rater, with most images already rated: the index still finds unrated ones fast
    med, worst = timed(lambda: store.claim_next("other", n=1, overlap=2))
    print(f"  claim_next(overlap=2)    median {med:6.2f} ms   max {worst:6.2f} ms")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--images", type=int, default=1_000_000)
    ap.add_argument("--load-rows", type=int, default=200_000)
    ap.add_argument("--mysql", help="also measure on this mysql:// URL (database is dropped)")
    ap.add_argument("--mysql-images", type=int, default=200_000)
    args = ap.parse_args()
    rng = random.Random(7)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}")

    cli("--help")  # warm the page cache
    helps = sorted(cli("--help") for _ in range(10))
    print(f"tuilabel --help: median {statistics.median(helps):.3f} s, max {helps[-1]:.3f} s "
          "(target < 0.5 s)")

    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "preds.csv"
        write_csv(csv_path, args.load_rows, rng)
        db = Path(tmp) / "load.db"
        secs = cli("load", str(csv_path), "--db", str(db))
        print(f"tuilabel load: {args.load_rows:,} rows in {secs:.1f} s "
              f"({args.load_rows / secs:,.0f} rows/s, SQLite)")

        store = open_store(Path(tmp) / "big.db")
        secs = fill(store, args.images, rng)
        print(f"store.add_images: {args.images:,} images in {secs:.1f} s "
              f"({args.images / secs:,.0f} images/s, SQLite)")
        hot_path(store, "SQLite")
        store.close()

    if args.mysql:
        store = open_store(args.mysql)
        try:
            secs = fill(store, args.mysql_images, rng)
            print(f"\nstore.add_images: {args.mysql_images:,} images in {secs:.1f} s "
                  f"({args.mysql_images / secs:,.0f} images/s, MySQL)")
            hot_path(store, "MySQL")
        finally:
            store._execute(f"DROP DATABASE `{store.database}`")
            store.close()


if __name__ == "__main__":
    main()
