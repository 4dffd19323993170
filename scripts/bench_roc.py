#!/usr/bin/env python
"""Benchmark `tuilabel roc` on a SQLite store of one million ratings.

Targets (issue 6): `tuilabel roc --bootstrap 0` end to end under 3 s; the bootstrap of 1000
resamples under 10 s. Also times each stage in-process (reading the store, building arrays,
the analysis, the report text, the TUI's roc_from_store) to show where the time goes.

    .venv/bin/python scripts/bench_roc.py            # builds /tmp/tuilabel-bench-roc.db once
    .venv/bin/python scripts/bench_roc.py --n 100000 --rebuild

The store is filled with executemany in large transactions straight into the store's schema
(created by open_store), with generated scores whose ROC resembles the original data's.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

LABELS = ["web_site", "suit", "envelope", "menu", "jersey", "comic_book", "t-shirt", "book_jacket"]


def build(path: Path, n: int, seed: int = 0) -> float:
    import numpy as np

    from tuilabel.store import open_store

    t0 = time.perf_counter()
    if path.exists():
        path.unlink()
    open_store(str(path)).close()  # the schema, by the store itself
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.4
    s1 = np.where(y, rng.beta(5.5, 4.5, n), rng.beta(2.5, 5.5, n))
    rest = -np.sort(-((1 - s1)[:, None] * rng.dirichlet([1, 1, 1, 1, 4], n)[:, :4]), axis=1)
    scores = np.column_stack([s1, rest]).round(6)
    verdict = np.where(y, "top1", rng.choice(["top5", "none", "unrateable"], n,
                                            p=[0.3, 0.68, 0.02]))
    lab = rng.integers(0, len(LABELS), (n, 5))
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    cols = ["tweet_id", "url", "url_hash", "model", "k", "rand_key", "n_ratings", "labeled_at"]
    cols += [c for i in range(1, 6) for c in (f"label{i}", f"score{i}")]
    sql = f"INSERT INTO images ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    chunk = 100_000
    for start in range(0, n, chunk):
        rows = []
        for i in range(start, min(n, start + chunk)):
            row = [str(10**17 + i), f"https://pbs.example/{i}.jpg", f"{i:040x}", "vgg16", 5,
                   int(rng.integers(0, 2**62)), 1, "2026-11-29T00:00:00.000000Z"]
            for j in range(5):
                row += [LABELS[lab[i, j]], float(scores[i, j])]
            rows.append(row)
        with con:
            con.executemany(sql, rows)
    ratings = ((i + 1, "rater1", str(verdict[i]), "2026-11-29T00:00:00.000000Z")
               for i in range(n))
    with con:
        con.executemany(
            "INSERT INTO ratings (image_id, rater, verdict, rated_at) VALUES (?, ?, ?, ?)",
            ratings)
    con.close()
    return time.perf_counter() - t0


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="ratings (one per image)")
    ap.add_argument("--db", type=Path, default=Path("/tmp/tuilabel-bench-roc.db"))
    ap.add_argument("--rebuild", action="store_true", help="rebuild the store even if present")
    ap.add_argument("--repeat", type=int, default=3, help="end-to-end runs per command")
    args = ap.parse_args()

    if args.rebuild or not args.db.exists():
        print(f"building {args.db} with {args.n:,} ratings ...", flush=True)
        print(f"  built in {build(args.db, args.n):.1f} s", flush=True)

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    base = [sys.executable, "-m", "tuilabel", "roc", "--db", str(args.db), "--width", "100",
            "--height", "30", "--seed", "1"]
    for label, extra, target in (("roc --bootstrap 0", ["--bootstrap", "0"], 3.0),
                                 ("roc (bootstrap 1000)", ["--bootstrap", "1000"], None)):
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            r = subprocess.run(base + extra, capture_output=True, text=True, env=env)
            times.append(time.perf_counter() - t0)
            if r.returncode != 0:
                sys.exit(f"{label} failed: {r.stderr}")
        verdict = "" if target is None else (" PASS" if min(times) < target else " FAIL")
        print(f"end to end  tuilabel {label:<22} best {min(times):5.2f} s, "
              f"median {statistics.median(times):5.2f} s{verdict}"
              + (f" (target < {target:.0f} s)" if target else ""))

    # In-process stages, imports already paid.
    from tuilabel.analysis import (
        analyse,
        bootstrap,
        ratings_from_table,
        read_columns,
        roc_from_store,
        table_from_columns,
    )
    from tuilabel.plots import render_report
    from tuilabel.store import open_store

    imports = {}
    for mod in ("numpy", "sklearn.metrics", "plotext", "tuilabel.cli"):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", f"import {mod}"], check=True, env=env)
        imports[mod] = time.perf_counter() - t0
    store = open_store(str(args.db), create=False)
    _, t_raw = timed(store.rating_columns)
    cols, t_cols = timed(read_columns, store)
    table, t_table = timed(table_from_columns, cols)
    ratings, t_ratings = timed(ratings_from_table, table, None, str(args.db))
    report, t_analyse = timed(analyse, ratings, n_bootstrap=0)
    _, t_render = timed(render_report, report, 100, 30)
    y, s = ratings.binary("top1")
    boot, t_boot = timed(bootstrap, y, s, 1000, 1)
    _, t_tui = timed(roc_from_store, store)
    store.close()
    print(f"stages ({ratings.n:,} ratings in the ROC):")
    for mod, t in imports.items():
        print(f"  {'python -c import ' + mod:<38} {t:6.2f} s")
    for name, t in (("store.rating_columns(), labels 1-5", t_raw),
                    ("read_columns, label1 only (roc's)", t_cols),
                    ("arrays from the columns", t_table),
                    ("one verdict per image", t_ratings),
                    ("analyse (ROC, PR, grid, categories)", t_analyse),
                    ("report text and plots", t_render),
                    ("roc_from_store (TUI)", t_tui)):
        print(f"  {name:<38} {t:6.2f} s")
    verdict = "PASS" if t_boot < 10 else "FAIL"
    print(f"  {'bootstrap, 1000 resamples':<38} {t_boot:6.2f} s {verdict} (target < 10 s; "
          f"{boot.groups} score groups)")


if __name__ == "__main__":
    main()
