"""Bootstrap intervals for the AUC, Youden's threshold, the area under the risk-coverage curve
and the Brier score, and a held-out accuracy, vectorised.

A resample is summarised by how many of its ratings fall in each cell (score group x class).
Resampling n ratings with replacement gives cell counts that are exactly multinomial(n, cell
sizes / n), so one `Generator.multinomial` call draws a whole batch of resamples and every
statistic is computed for all of them at once with cumulative sums: no Python loop over
resamples, no per-resample sort.

Score groups are the distinct scores when there are at most `max_groups` of them: then the
AUC and threshold of every resample are exact. With more distinct scores (large stores),
scores are grouped into `max_groups` quantile groups that never split equal scores: thresholds
of the resamples are group boundaries (each group holds about 1/max_groups of the ratings),
and pairs inside one group count with the win rate they have in the full data, so that the
unresampled data gives back the exact AUC.

Held-out accuracy: for each resample the threshold is chosen on the resample (Youden's J) and
the accuracy measured on the ratings it left out (out-of-bag). Which ratings of a group were
left out is not drawn: the expected out-of-bag count of a group of m ratings drawn k times,
m (1 - 1/m)^k, is used (exact when every group holds one rating). The mean over resamples is
reported; it is the "optimism-corrected" accuracy next to the in-sample one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Resamples drawn per batch (bounds memory: batch x groups x a few arrays of 8 bytes).
BATCH = 100


@dataclass(frozen=True)
class BootstrapResult:
    n_resamples: int  # requested
    n_used: int  # resamples that held both classes (the others have no ROC)
    seed: int | None
    auc_low: float
    auc_high: float
    threshold_low: float  # Youden's threshold, 2.5th percentile over resamples
    threshold_high: float
    heldout_accuracy: float | None  # mean out-of-bag accuracy at the resample's threshold
    groups: int  # score groups used
    exact_groups: bool  # True when every group is one distinct score
    aurc_low: float | None = None  # area under the risk-coverage curve, percentile interval
    aurc_high: float | None = None
    brier_low: float | None = None  # Brier score of the score against the truth
    brier_high: float | None = None


@dataclass(frozen=True)
class _Cells:
    pos: np.ndarray  # ratings per group, positives (ascending score order)
    neg: np.ndarray
    low: np.ndarray  # smallest score in each group (the group's threshold)
    win: np.ndarray  # within-group win rate of a positive over a negative
    exact: bool
    sq_pos: np.ndarray  # mean (score - 1)^2 of the group's positives (0 where none)
    sq_neg: np.ndarray  # mean score^2 of the group's negatives


def _cells(y: np.ndarray, score: np.ndarray, max_groups: int) -> _Cells:
    uniq, inv = np.unique(score, return_inverse=True)
    pos_u = np.bincount(inv, weights=y, minlength=uniq.shape[0])
    neg_u = np.bincount(inv, minlength=uniq.shape[0]) - pos_u
    n = score.shape[0]
    if uniq.shape[0] <= max_groups:
        group_u = np.arange(uniq.shape[0])
        exact = True
    else:
        before = np.cumsum(pos_u + neg_u) - (pos_u + neg_u)
        _, group_u = np.unique(np.floor(before * max_groups / n), return_inverse=True)
        exact = False
    g = int(group_u[-1]) + 1
    pos = np.bincount(group_u, weights=pos_u, minlength=g)
    neg = np.bincount(group_u, weights=neg_u, minlength=g)
    low = np.full(g, np.inf)
    np.minimum.at(low, group_u, uniq)
    # Exact wins of positives over negatives inside each group (ties count half).
    neg_below_u = np.cumsum(neg_u) - neg_u
    neg_before_group = (np.cumsum(neg) - neg)[group_u]
    wins = np.bincount(group_u, weights=pos_u * (neg_below_u - neg_before_group + 0.5 * neg_u),
                       minlength=g)
    pairs = pos * neg
    win = np.divide(wins, pairs, out=np.full(g, 0.5), where=pairs > 0)
    sq_pos = np.bincount(group_u, weights=pos_u * (uniq - 1) ** 2, minlength=g)
    sq_neg = np.bincount(group_u, weights=neg_u * uniq**2, minlength=g)
    return _Cells(pos, neg, low, win, exact,
                  np.divide(sq_pos, pos, out=np.zeros(g), where=pos > 0),
                  np.divide(sq_neg, neg, out=np.zeros(g), where=neg > 0))


def _oob(m: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Expected ratings of a group of m left out after drawing k of them with replacement."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = m * np.power(np.where(m > 0, 1.0 - 1.0 / np.maximum(m, 1), 0.0), k)
    return np.where(m > 0, out, 0.0)


def _batch_stats(c: _Cells, kp: np.ndarray, kn: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUC, Youden's threshold and out-of-bag accuracy of a batch of resamples, each given
    by its counts per group (kp: positives, kn: negatives; both classes present)."""
    auc, thr, acc, _, _ = _batch_all(c, kp, kn)
    return auc, thr, acc


def _batch_all(c: _Cells, kp: np.ndarray, kn: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`_batch_stats` plus each resample's AURC and Brier score (exact when every group is one
    distinct score; with quantile groups a group's members count with the group's mean)."""
    g = c.pos.shape[0]
    npos, nneg = kp.sum(axis=1), kn.sum(axis=1)
    neg_below = np.cumsum(kn, axis=1) - kn
    auc = ((kp * neg_below).sum(axis=1) + (kp * kn * c.win).sum(axis=1)) / (npos * nneg)
    # Predict positive for groups >= i: TP and FP counted from the top down.
    tp = np.cumsum(kp[:, ::-1], axis=1)[:, ::-1]
    fp = np.cumsum(kn[:, ::-1], axis=1)[:, ::-1]
    # Youden's J * npos * nneg, exact on integer counts (floats hold them exactly), so ties
    # between thresholds are ties; thresholds only at the resample's own scores (a group it
    # did not draw is no threshold of it: otherwise an undrawn top group, TP = FP = 0, would
    # offer "predict nothing", a point the analysis of the data never returns).
    j = tp * nneg[:, None] - fp * npos[:, None]
    j[(kp + kn) == 0] = -np.inf
    best = g - 1 - np.argmax(j[:, ::-1], axis=1)  # highest threshold among equals
    op, on = _oob(c.pos, kp), _oob(c.neg, kn)
    tp_oob = np.take_along_axis(np.cumsum(op[:, ::-1], axis=1)[:, ::-1], best[:, None], 1)
    tn_oob = np.take_along_axis(np.cumsum(on, axis=1) - on, best[:, None], 1)
    total = op.sum(axis=1) + on.sum(axis=1)
    acc = np.divide((tp_oob + tn_oob)[:, 0], total, out=np.full(total.shape, np.nan),
                    where=total > 0)
    n = npos + nneg
    kept = tp + fp
    risk = np.divide(fp, kept, out=np.zeros(kept.shape), where=kept > 0)
    aurc = (risk * (kp + kn)).sum(axis=1) / n
    brier = (kp * c.sq_pos + kn * c.sq_neg).sum(axis=1) / n
    return auc, c.low[best], acc, aurc, brier


def bootstrap(y: np.ndarray, score: np.ndarray, n_resamples: int = 1000,
              seed: int | None = None, max_groups: int = 4096,
              on_batch: Callable[[int, int], None] | None = None) -> BootstrapResult | None:
    """Percentile 95% intervals over `n_resamples` resamples; None when no resample (or the
    data) has both classes. `on_batch(done, total)` is called after each batch."""
    y = np.asarray(y, dtype=bool)
    score = np.asarray(score, dtype=np.float64)
    n = int(y.shape[0])
    if n == 0 or y.all() or not y.any() or n_resamples <= 0:
        return None
    c = _cells(y, score, max_groups)
    g = c.pos.shape[0]
    p = np.concatenate([c.pos, c.neg]) / n
    p = p / p.sum()
    rng = np.random.default_rng(seed)
    aucs, thresholds, heldout, aurcs, briers = [], [], [], [], []
    for start in range(0, n_resamples, BATCH):
        b = min(BATCH, n_resamples - start)
        draw = rng.multinomial(n, p, size=b).astype(np.float64)
        kp, kn = draw[:, :g], draw[:, g:]
        npos, nneg = kp.sum(axis=1), kn.sum(axis=1)
        ok = (npos > 0) & (nneg > 0)
        if not ok.any():
            if on_batch is not None:
                on_batch(start + b, n_resamples)
            continue
        auc, thr, acc, aurc, brier = _batch_all(c, kp[ok], kn[ok])
        aucs.append(auc)
        thresholds.append(thr)
        heldout.append(acc)
        aurcs.append(aurc)
        briers.append(brier)
        if on_batch is not None:
            on_batch(start + b, n_resamples)
    if not aucs:
        return None
    auc = np.concatenate(aucs)
    thr = np.concatenate(thresholds)
    acc = np.concatenate(heldout)
    acc = acc[~np.isnan(acc)]
    aurc_all, brier_all = np.concatenate(aurcs), np.concatenate(briers)
    return BootstrapResult(
        n_resamples=n_resamples,
        n_used=int(auc.shape[0]),
        seed=seed,
        auc_low=float(np.percentile(auc, 2.5)),
        auc_high=float(np.percentile(auc, 97.5)),
        threshold_low=float(np.percentile(thr, 2.5)),
        threshold_high=float(np.percentile(thr, 97.5)),
        heldout_accuracy=float(acc.mean()) if acc.size else None,
        groups=g,
        exact_groups=c.exact,
        aurc_low=float(np.percentile(aurc_all, 2.5)),
        aurc_high=float(np.percentile(aurc_all, 97.5)),
        brier_low=float(np.percentile(brier_all, 2.5)),
        brier_high=float(np.percentile(brier_all, 97.5)),
    )
