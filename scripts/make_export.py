#!/usr/bin/env python
"""Write a generated ratings export in the original TSV format, for trying `tuilabel roc`.

Why: the README's `roc` example needs thousands of ratings with known properties, and a
reader must be able to make the same file (tests/test_readme.py runs that example). The
ratings are drawn as tests/test_roc_cli.py's `generated` draws them: 40% of photos have a
right top-1 label, their score1 from Beta(5.5, 4.5), the others' from Beta(2.5, 5.5) (so the
true Youden threshold is about 0.42 and the AUC about 0.86); a wrong photo is rated top5 or
none, 3 to 7; score2..5 share what score1 leaves, none above score1. `--button-bug N` adds N
rows with label_id 3, which the original web page's button bug wrote and `roc` leaves out.
Scores have 6 decimals. The same arguments write the same bytes.

    python scripts/make_export.py --rows 4000 --button-bug 8 > export.tsv

Output: the header line `id tweet_id link keyword1 score1 ... keyword5 score5 label_id`
(tab-separated), then one row per rating, on stdout.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

HEADER = ["id", "tweet_id", "link", *(f"{kind}{i}" for i in range(1, 6)
                                      for kind in ("keyword", "score")), "label_id"]
LABELS = ["web_site", "suit", "envelope", "menu", "jersey"]


def ratings(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores (n, 5) float, label_id (n,) int 0/1/2) of `n` generated ratings."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.4
    s1 = np.where(y, rng.beta(5.5, 4.5, n), rng.beta(2.5, 5.5, n))
    rest = -np.sort(-((1 - s1)[:, None] * rng.dirichlet([1, 1, 1, 1, 4], n)[:, :4]), axis=1)
    rest = np.minimum(rest, s1[:, None])  # a top-k list: no score above score1
    verdict = np.where(y, 0, rng.choice([1, 2], n, p=[0.3, 0.7]))
    return np.column_stack([s1, rest]), verdict


def rows(n: int, button_bug: int, seed: int):
    """The TSV's rows (lists of fields), the `button_bug` rows with label_id 3 last."""
    scores, verdict = ratings(n, seed)
    if button_bug:
        bug_scores, _ = ratings(button_bug, seed + 1)
        scores = np.concatenate([scores, bug_scores])
        verdict = np.concatenate([verdict, np.full(button_bug, 3)])
    for i, (sc, v) in enumerate(zip(scores, verdict, strict=True)):
        labels = [LABELS[(i + j) % len(LABELS)] for j in range(5)]
        pairs = [x for k, s in zip(labels, sc, strict=True) for x in (k, f"{s:.6f}")]
        yield [str(i + 1), str(10**17 + i), f"https://pbs.twimg.com/media/{i}.jpg", *pairs,
               str(v)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4000, help="ratings (default 4000)")
    parser.add_argument("--button-bug", type=int, default=0,
                        help="extra rows with label_id 3 (default 0)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.button_bug < 0:
        parser.error("--rows must be at least 1 and --button-bug at least 0")
    out = sys.stdout
    out.write("\t".join(HEADER) + "\n")
    for fields in rows(args.rows, args.button_bug, args.seed):
        out.write("\t".join(fields) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
