#!/usr/bin/env python
"""How often do `tuilabel roc`'s 95% intervals for the AUC cover the true AUC? A simulation.

Data sets are drawn from a binormal model: the score of a negative is logistic(X), of a
positive logistic(X + mu), X standard normal, so the true AUC is Phi(mu / sqrt(2)) (the
logistic is monotone: it changes no AUC). Scores are rounded to `--decimals` (ties, as in
exports). For each data set the DeLong interval (`tuilabel.analysis.intervals.delong`) and the
bootstrap percentile interval (`tuilabel.analysis.bootstrap.bootstrap`) are computed exactly as
`tuilabel roc` computes them, and the script counts how often each covers the true AUC, with
the Monte Carlo standard error of that share.

    .venv/bin/python scripts/sim_roc_coverage.py                 # the README's table
    .venv/bin/python scripts/sim_roc_coverage.py --reps 1000 --resamples 1000 --n 300
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from statistics import NormalDist

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tuilabel.analysis.bootstrap import bootstrap  # noqa: E402
from tuilabel.analysis.intervals import delong  # noqa: E402
from tuilabel.analysis.roc import binary_counts  # noqa: E402


def one_setting(n: int, prevalence: float, auc: float, reps: int, resamples: int,
                decimals: int, seed: int) -> dict:
    mu = math.sqrt(2) * NormalDist().inv_cdf(auc)
    rng = np.random.default_rng(seed)
    hits = {"DeLong": 0, "bootstrap": 0}
    width = {"DeLong": 0.0, "bootstrap": 0.0}
    used = {"DeLong": 0, "bootstrap": 0}
    for _ in range(reps):
        y = rng.random(n) < prevalence
        if y.sum() < 2 or (~y).sum() < 2:
            y[:2], y[2:4] = True, False
        x = rng.standard_normal(n) + mu * y
        s = np.round(1 / (1 + np.exp(-x)), decimals)
        _, tps, fps = binary_counts(y, s)
        d = delong(tps, fps)
        if d.low is not None:
            used["DeLong"] += 1
            hits["DeLong"] += d.low <= auc <= d.high
            width["DeLong"] += d.high - d.low
        b = bootstrap(y, s, resamples, seed=int(rng.integers(2**31)))
        if b is not None:
            used["bootstrap"] += 1
            hits["bootstrap"] += b.auc_low <= auc <= b.auc_high
            width["bootstrap"] += b.auc_high - b.auc_low
    out = {}
    for method in hits:
        k = used[method]
        share = hits[method] / k if k else float("nan")
        out[method] = (share, math.sqrt(share * (1 - share) / k) if k else float("nan"),
                       width[method] / k if k else float("nan"), k)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=400, help="simulated data sets per setting")
    ap.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument("--decimals", type=int, default=3, help="scores rounded to this")
    ap.add_argument("--n", type=int, nargs="*", default=[60, 300, 1500])
    ap.add_argument("--prevalence", type=float, nargs="*", default=[0.4, 0.05])
    ap.add_argument("--auc", type=float, nargs="*", default=[0.75, 0.9])
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(f"coverage of the 95% AUC intervals, {args.reps} data sets per row, "
          f"{args.resamples} resamples, scores rounded to {args.decimals} decimals")
    print(f"{'n':>6} {'positives':>9} {'true AUC':>8}  {'DeLong':>15} {'width':>6}  "
          f"{'bootstrap':>15} {'width':>6}")
    t0 = time.perf_counter()
    for n in args.n:
        for prev in args.prevalence:
            for auc in args.auc:
                r = one_setting(n, prev, auc, args.reps, args.resamples, args.decimals,
                                args.seed)
                cells = []
                for method in ("DeLong", "bootstrap"):
                    share, se, width, _ = r[method]
                    cells.append(f"{100 * share:6.1f}% +- {100 * se:3.1f} {width:6.3f}")
                print(f"{n:>6} {prev:>9.0%} {auc:>8.2f}  {cells[0]}  {cells[1]}", flush=True)
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
