"""How much raters agree: Cohen's kappa per pair of raters, weighted kappa, full agreement.

Only the three ordered verdicts count (top1 < top5 < none); `unrateable` ratings are left
out. The weighted kappa uses linear disagreement weights (|i - j|), so saying top5 where the
other said top1 costs half of saying none. Both kappas are scikit-learn's
`cohen_kappa_score` (imported only when two raters rated the same photos).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from tuilabel.analysis.data import UNRATEABLE, RatingTable

#: The 9 cells of a 3x3 table as (row verdict, column verdict) pairs, for cohen_kappa_score.
_ROWS, _COLS = np.divmod(np.arange(9), 3)


@dataclass(frozen=True)
class PairAgreement:
    rater_a: str
    rater_b: str
    n: int  # images both rated
    table: tuple[tuple[int, int, int], ...]  # rows: rater_a's verdict, cols: rater_b's
    observed: float  # share of images on which they gave the same verdict
    kappa: float | None  # None when undefined (both raters always gave one same verdict)
    weighted_kappa: float | None


@dataclass(frozen=True)
class Agreement:
    raters: tuple[str, ...]
    multi_rated: int  # images with verdicts from two or more raters
    full_agreement: float | None  # share of those on which every rater agreed
    pairs: tuple[PairAgreement, ...]


def kappas(table: np.ndarray) -> tuple[float | None, float | None]:
    """(Cohen's kappa, linearly weighted kappa) of a 3x3 table of counts (rows: one rater's
    verdicts, columns: the other's), by `sklearn.metrics.cohen_kappa_score` with the cells'
    counts as sample weights. Both are None when undefined: no ratings, or both raters always
    gave one same verdict (the chance agreement is then 1)."""
    t = np.asarray(table, dtype=np.float64)
    n = t.sum()
    if n == 0:
        return None, None
    expected = np.outer(t.sum(axis=1), t.sum(axis=0)) / (n * n)
    if float(np.trace(expected)) > 1.0 - 1e-12:
        return None, None
    from sklearn.metrics import cohen_kappa_score

    weight = t.ravel()
    kappa = cohen_kappa_score(_ROWS, _COLS, labels=[0, 1, 2], sample_weight=weight)
    weighted = cohen_kappa_score(_ROWS, _COLS, labels=[0, 1, 2], weights="linear",
                                 sample_weight=weight)
    return float(kappa), float(weighted)


def agreement(table: RatingTable) -> Agreement | None:
    """Agreement among the raters of `table`; None with fewer than two raters."""
    keep = table.verdict != UNRATEABLE
    image_id, rater, verdict = table.image_id[keep], table.rater[keep], table.verdict[keep]
    present = np.unique(rater)
    if present.shape[0] < 2:
        return None
    uniq, inv = np.unique(image_id, return_inverse=True)
    counts = np.bincount(inv * 3 + verdict, minlength=3 * uniq.shape[0]).reshape(-1, 3)
    total = counts.sum(axis=1)
    multi = total >= 2
    multi_rated = int(multi.sum())
    full = float((counts[multi].max(axis=1) == total[multi]).mean()) if multi_rated else None
    pairs = []
    by_rater = {}
    for r in present:
        rows = rater == r
        ids = image_id[rows]
        order = np.argsort(ids, kind="stable")
        by_rater[int(r)] = (ids[order], verdict[rows][order])
    for a, b in combinations(present.tolist(), 2):
        ids_a, v_a = by_rater[a]
        ids_b, v_b = by_rater[b]
        _, ia, ib = np.intersect1d(ids_a, ids_b, assume_unique=True, return_indices=True)
        if ia.shape[0] == 0:
            continue
        t = np.bincount(v_a[ia] * 3 + v_b[ib], minlength=9).reshape(3, 3)
        kappa, weighted = kappas(t)
        pairs.append(PairAgreement(
            table.raters[a], table.raters[b], int(ia.shape[0]),
            tuple((int(row[0]), int(row[1]), int(row[2])) for row in t),
            float(np.trace(t) / t.sum()), kappa, weighted,
        ))
    return Agreement(tuple(table.raters[int(r)] for r in present), multi_rated, full,
                     tuple(pairs))
