"""The exact ROC of a score against a binary truth, its operating points, and the notebook's grid.

A rating is predicted positive when its score is >= the threshold (scikit-learn's convention:
every threshold is a score that occurs in the data). The ROC is undefined without at least
one positive and one negative; `roc_result` then returns a result with `message` set instead
of raising, so that a live view can say "not enough ratings yet".

The curve is computed here with numpy (one sort and two cumulative sums, as scikit-learn's
`roc_curve(drop_intermediate=False)` does; the tests check every point against it), so that
`tuilabel roc` need not import scikit-learn, which takes longer than the analysis of a million
ratings. Operating points are chosen on integer counts, so ties between thresholds are exact:
among thresholds with the same Youden's J, or the same distance to (0, 1), the highest wins.

`notebook_grid` re-implements the original notebook faithfully, bugs included, to show users
of the notebook how far its printed numbers are from the exact ones (see the README).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tuilabel.analysis.data import VERDICT_NAMES, Ratings

POSITIVE_WORDS = {
    "top1": "the top-1 label is right",
    "top5": "a right label is within the top 5",
}
SCORE_WORDS = {"top1": "score1", "top5": "score1 + ... + score5"}


@dataclass(frozen=True)
class OperatingPoint:
    """A point of the ROC curve: predict positive when score >= threshold."""

    threshold: float
    fpr: float
    tpr: float

    @property
    def youden_j(self) -> float:
        return self.tpr - self.fpr

    @property
    def distance_to_corner(self) -> float:
        return float(np.hypot(self.fpr, 1.0 - self.tpr))


@dataclass(frozen=True)
class RocResult:
    """The exact ROC curve (corner points only), AUC and the two operating points.

    When the ROC is undefined (no ratings, or only one class) `message` says why and the
    numbers are None / empty arrays."""

    positive: str
    n: int
    n_pos: int
    n_neg: int
    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray  # thresholds[0] is +inf (the (0, 0) corner)
    auc: float | None
    youden: OperatingPoint | None  # furthest from the diagonal (max TPR - FPR)
    closest: OperatingPoint | None  # closest to the ideal corner (0, 1)
    message: str | None = None
    ties: int = 0  # ratings whose score equals at least one other rating's score

    @property
    def defined(self) -> bool:
        return self.message is None


def undefined_message(n: int, n_pos: int, positive: str) -> str | None:
    """Why the ROC cannot be computed from these ratings, or None when it can."""
    if n == 0:
        return "not enough ratings yet: there are no ratings to analyse"
    if n_pos == 0 or n_pos == n:
        which = "positive" if n_pos == n else "negative"
        verdict = "top1" if positive == "top1" else "top1 or top5"
        return (
            f"not enough ratings yet: all {n} rating(s) are {which} (verdict "
            f"{'' if n_pos == n else 'not '}{verdict}); the ROC needs both classes"
        )
    return None


def _empty(positive: str, n: int, n_pos: int, message: str) -> RocResult:
    e = np.zeros(0)
    return RocResult(positive, n, n_pos, n - n_pos, e, e, e, None, None, None, message)


def roc_result(y: np.ndarray, score: np.ndarray, positive: str = "top1") -> RocResult:
    """Exact ROC (scikit-learn), AUC, Youden's and closest-to-(0,1) points. Never raises for
    too few ratings: see `RocResult.message`."""
    y = np.asarray(y, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    n, n_pos = int(y.shape[0]), int(y.sum())
    message = undefined_message(n, n_pos, positive)
    if message:
        return _empty(positive, n, n_pos, message)
    return _roc_and_counts(y, score, positive)[0]


def binary_counts(y: np.ndarray, score: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds, TP, FP) at every distinct score, descending, after a start point
    (+inf, 0, 0): what scikit-learn's `_binary_clf_curve` returns, with that start point.
    TP and FP are int64 counts of ratings with score >= the threshold. Two plain (unstable,
    vectorised) sorts, of all scores and of the positives' scores, and a binary search: no
    stable argsort, which took several times longer on a million scores."""
    s = np.sort(score)
    n = int(s.shape[0])
    ends = np.r_[np.flatnonzero(s[1:] != s[:-1]), n - 1]  # last index of each distinct score
    values = s[ends]
    pos = np.sort(score[y])
    n_pos = int(pos.shape[0])
    pos_le = np.searchsorted(pos, values, side="right")  # positives with score <= each value
    all_le = ends + 1
    pos_ge = n_pos - np.r_[0, pos_le[:-1]]
    all_ge = n - np.r_[0, all_le[:-1]]
    tps = np.r_[0, pos_ge[::-1]].astype(np.int64)
    fps = np.r_[0, (all_ge - pos_ge)[::-1]].astype(np.int64)
    thr = np.r_[np.inf, values[::-1]]
    return thr, tps, fps


def youden_index(tps: np.ndarray, fps: np.ndarray) -> int:
    """Index (>= 1, skipping the +inf start) of the point with the largest Youden's J,
    compared exactly on integers (J * P * N = TP * N - FP * P); ties to the highest
    threshold (the first in descending order)."""
    n_pos, n_neg = int(tps[-1]), int(fps[-1])
    j = tps[1:] * n_neg - fps[1:] * n_pos
    return 1 + int(np.argmax(j))


def closest_index(tps: np.ndarray, fps: np.ndarray) -> int:
    """Index (>= 1) of the point closest to (0, 1), compared exactly among the points whose
    float distance is within 1e-9 of the smallest; ties to the highest threshold."""
    n_pos, n_neg = int(tps[-1]), int(fps[-1])
    d = np.hypot(fps[1:] / n_neg, 1.0 - tps[1:] / n_pos)
    near = np.flatnonzero(d <= d.min() * (1 + 1e-9) + 1e-15)
    if near.shape[0] == 1:
        return 1 + int(near[0])
    # squared distance * P^2 * N^2, in Python integers (no overflow)
    exact = [int(fps[1 + i]) ** 2 * n_pos**2 + (n_pos - int(tps[1 + i])) ** 2 * n_neg**2
             for i in near]
    return 1 + int(near[exact.index(min(exact))])


def shared_scores(tps: np.ndarray, fps: np.ndarray) -> int:
    """Ratings whose score equals at least one other rating's score."""
    size = np.diff(tps + fps)
    return int(size[size > 1].sum())


def _roc_and_counts(y: np.ndarray, score: np.ndarray, positive: str
                    ) -> tuple[RocResult, np.ndarray, np.ndarray, np.ndarray]:
    """The RocResult plus every threshold's (thresholds, TP, FP) counts, from one sort."""
    n, n_pos = int(y.shape[0]), int(y.sum())
    thr, tps, fps = binary_counts(y, score)
    fpr, tpr = fps / fps[-1], tps / tps[-1]
    # The area (trapezoids; tied scores count half), on counts: exact Mann-Whitney U / (P N).
    area = float(np.sum(np.diff(fps) * (tps[1:] + tps[:-1])) / (2.0 * n_pos * (n - n_pos)))
    iy, ic = youden_index(tps, fps), closest_index(tps, fps)
    youden = OperatingPoint(float(thr[iy]), float(fpr[iy]), float(tpr[iy]))
    closest = OperatingPoint(float(thr[ic]), float(fpr[ic]), float(tpr[ic]))
    # Same rule as roc_curve(drop_intermediate=True), applied after the (0, 0) start point.
    inner = (np.r_[True, np.logical_or(np.diff(fps[1:], 2), np.diff(tps[1:], 2)), True]
             if fps.shape[0] > 3 else np.ones(fps.shape[0] - 1, dtype=bool))
    keep = np.r_[0, 1 + np.flatnonzero(inner)]
    result = RocResult(positive, n, n_pos, n - n_pos, fpr[keep], tpr[keep], thr[keep], area,
                       youden, closest, None, shared_scores(tps, fps))
    return result, thr, tps, fps


def roc_from_ratings(ratings: Ratings, positive: str = "top1") -> RocResult:
    y, s = ratings.binary(positive)
    return roc_result(y, s, positive)


# -- at one threshold ------------------------------------------------------------------------


@dataclass(frozen=True)
class ThresholdMetrics:
    """The confusion matrix and rates at one threshold (positive when score >= threshold)."""

    threshold: float
    chosen_by: str  # "youden" or "user"
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def tpr(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def fpr(self) -> float | None:
        return _ratio(self.fp, self.fp + self.tn)

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def accuracy(self) -> float | None:
        return _ratio(self.tp + self.tn, self.n)


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def confusion_masks(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, np.ndarray]:
    pred = score >= threshold
    return {"TP": pred & y, "FP": pred & ~y, "FN": ~pred & y, "TN": ~pred & ~y}


def metrics_at(y: np.ndarray, score: np.ndarray, threshold: float, chosen_by: str
               ) -> ThresholdMetrics:
    m = confusion_masks(y, score, threshold)
    return ThresholdMetrics(float(threshold), chosen_by, int(m["TP"].sum()), int(m["FP"].sum()),
                            int(m["FN"].sum()), int(m["TN"].sum()))


def top_labels(ratings: Ratings, masks: dict[str, np.ndarray], top: int = 15
               ) -> dict[str, list[tuple[str, int]]]:
    """The `top` most common top-1 labels in each confusion cell (ties: alphabetical)."""
    names = np.asarray(ratings.labels, dtype=object)
    alpha_rank = np.argsort(np.argsort(names.astype(str))) if len(names) else np.zeros(0, int)
    out: dict[str, list[tuple[str, int]]] = {}
    for cell, mask in masks.items():
        counts = np.bincount(ratings.label1[mask], minlength=len(names))
        order = np.lexsort((alpha_rank, -counts))[:top]
        out[cell] = [(str(names[i]), int(counts[i])) for i in order if counts[i] > 0]
    return out


# -- score distributions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Histograms:
    """Counts of score1..score5 in equal bins over [0, 1], for each verdict."""

    edges: np.ndarray  # (bins + 1,)
    counts: dict[str, np.ndarray]  # verdict -> (5, bins) int counts
    totals: dict[str, int]  # verdict -> number of ratings


def score_histograms(ratings: Ratings, bins: int = 20) -> Histograms:
    """Counts per bin [k/bins, (k+1)/bins), the last bin closed. Edges are k / bins (the
    float nearest each decimal edge, so a score of exactly 0.15 starts its bin; linspace's
    0.15000000000000002 put it in the bin below)."""
    edges = np.arange(bins + 1) / bins
    k = ratings.scores.shape[1]
    v = len(VERDICT_NAMES)
    flat = ratings.scores.ravel()  # row-major: rating i, score j at i * k + j
    ok = ~np.isnan(flat)
    # One count over (verdict, score rank, bin) cells for every score at once.
    cell = ((np.repeat(ratings.verdict.astype(np.int64), k) * k
             + np.tile(np.arange(k), ratings.n)) * bins)[ok] + _bin_index(flat[ok], edges)
    table = np.bincount(cell, minlength=v * k * bins).reshape(v, k, bins)
    totals_all = np.bincount(ratings.verdict.astype(np.int64), minlength=v)
    counts = {name: table[code] for code, name in enumerate(VERDICT_NAMES)}
    totals = {name: int(totals_all[code]) for code, name in enumerate(VERDICT_NAMES)}
    return Histograms(edges, counts, totals)


def _bin_index(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each value in [0, 1] for edges k / bins: edges[i] <= x < edges[i + 1], the last
    bin closed (what np.histogram does with these edges, without its sort)."""
    bins = edges.shape[0] - 1
    i = np.clip(np.floor(x * bins).astype(np.int64), 0, bins - 1)
    i -= (edges[i] > x) & (i > 0)  # x * bins rounded up past an edge
    i += (edges[np.minimum(i + 1, bins)] <= x) & (i < bins - 1)  # rounded down below one
    return i


# -- precision and recall --------------------------------------------------------------------


@dataclass(frozen=True)
class PrResult:
    precision: np.ndarray
    recall: np.ndarray
    thresholds: np.ndarray
    average_precision: float
    prevalence: float  # the precision of a random guess


def pr_from_counts(tps: np.ndarray, fps: np.ndarray, thr: np.ndarray) -> PrResult:
    """Precision-recall curve and average precision from the ROC's counts per threshold
    (descending thresholds, (0, 0) start point first), computed as scikit-learn's
    precision_recall_curve(drop_intermediate=True) and average_precision_score do."""
    tps, fps, thr = tps[1:], fps[1:], thr[1:]
    if tps.shape[0] > 2:
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(tps[:-1]), np.diff(tps[1:])),
                                    True])
        tps, fps, thr = tps[keep], fps[keep], thr[keep]
    ps = tps + fps
    precision = np.divide(tps, ps, out=np.zeros(ps.shape), where=ps != 0)
    recall = tps / tps[-1]
    precision = np.r_[precision[::-1], 1.0]
    recall = np.r_[recall[::-1], 0.0]
    ap = float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))
    n = tps[-1] + fps[-1]
    return PrResult(precision, recall, thr[::-1], ap, float(tps[-1] / n))


# -- the notebook's 100-point grid -----------------------------------------------------------


@dataclass(frozen=True)
class GridResult:
    """The notebook's method on a 100-point grid, as printed by the notebook and corrected.

    The notebook predicts positive when score > t for t in linspace(0, 1, 100). It then
    reverses its array of (FPR, TPR) points but reads the threshold at the unreversed index,
    measures "distance from the diagonal" to the point (t, t) of that index, and calls the
    mean TPR over the grid the AUC."""

    grid: np.ndarray
    fpr: np.ndarray
    tpr: np.ndarray
    notebook_closest: float  # what the notebook printed for "closest to ideal"
    notebook_diagonal: float  # what it printed for "furthest from the diagonal"
    notebook_auc: float  # mean TPR over the grid
    closest: float  # grid threshold really closest to (0, 1)
    youden: float  # grid threshold really furthest from the diagonal (max TPR - FPR)

    @property
    def step(self) -> float:
        return float(self.grid[1] - self.grid[0])

    def point(self, t: float) -> tuple[float, float]:
        """(FPR, TPR) of the grid threshold t (one of `grid`)."""
        i = int(np.argmin(np.abs(self.grid - t)))
        return float(self.fpr[i]), float(self.tpr[i])

    def agrees(self, t: float, exact: OperatingPoint) -> str | None:
        """How the corrected grid's threshold t compares with the exact operating point:
        "same operating point" when the grid lands on the exact (FPR, TPR), "within one
        step" when the thresholds are that close, else None. With few distinct scores a
        whole plateau of grid thresholds gives the exact point, and the grid takes the lowest
        of the plateau, far from the exact threshold in value but not in effect."""
        fpr, tpr = self.point(t)
        if abs(fpr - exact.fpr) <= 1e-12 and abs(tpr - exact.tpr) <= 1e-12:
            return "same operating point"
        if abs(t - exact.threshold) <= self.step + 1e-12:
            return "within one step"
        return None


def _count_above(sorted_values: np.ndarray, t: np.ndarray) -> np.ndarray:
    return sorted_values.shape[0] - np.searchsorted(sorted_values, t, side="right")


def notebook_grid(y: np.ndarray, score: np.ndarray, points: int = 100,
                  counts: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> GridResult:
    """Run the original notebook's threshold sweep (vectorised, same numbers). Needs both
    classes. `counts` (thresholds, TP, FP from the exact ROC) saves sorting the scores again."""
    t_rng = np.linspace(0, 1, points)
    if counts is None:
        y = np.asarray(y, dtype=bool)
        score = np.asarray(score, dtype=np.float64)
        pos, neg = np.sort(score[y]), np.sort(score[~y])
        tpr = _count_above(pos, t_rng) / pos.shape[0]  # pred = 1 if x > t
        fpr = _count_above(neg, t_rng) / neg.shape[0]
    else:
        thr, tps, fps = counts  # descending thresholds, thr[0] = +inf
        last_above = np.searchsorted(-thr, -t_rng, side="left") - 1  # last thr > t
        tpr = tps[last_above] / tps[-1]
        fpr = fps[last_above] / fps[-1]
    # --- as the notebook does it ---
    fptp = np.column_stack([fpr, tpr])[::-1]  # reversed "to start at (0, 0)"
    ideal_position = int(np.argmin(np.linalg.norm(fptp - np.array([0.0, 1.0]), axis=1)))
    diag = np.column_stack([t_rng, t_rng])
    diag_position = int(np.argmax(np.linalg.norm(diag - fptp, axis=1)))
    notebook_auc = float(sum(tpr) / len(tpr))
    # --- corrected: the threshold that belongs to each point ---
    closest = float(t_rng[int(np.argmin(np.hypot(fpr, 1.0 - tpr)))])
    youden = float(t_rng[int(np.argmax(tpr - fpr))])
    return GridResult(t_rng, fpr, tpr, float(t_rng[ideal_position]),
                      float(t_rng[diag_position]), notebook_auc, closest, youden)
