"""Calibration: is a score of 0.7 right 70% of the time?

- The reliability diagram by the CORP method (Dimitriadis, Gneiting & Jordan, "Stable
  reliability diagrams for probabilistic classifiers", PNAS 118(8), 2021): the recalibrated
  probability of each score is the isotonic (non-decreasing) regression of the outcome on the
  score, fitted by pool-adjacent-violators; equal scores share one value. No bins to choose.
- The Brier score (mean of (score - y)^2) and its CORP decomposition into miscalibration
  (MCB), discrimination (DSC) and uncertainty (UNC): BS = MCB - DSC + UNC, with
  MCB = BS(score) - BS(recalibrated), DSC = UNC - BS(recalibrated), UNC = ybar (1 - ybar).
  MCB >= 0 and DSC >= 0 (PAV's properties), so the split is never negative.
- ECE with equal-mass bins (the familiar figure): ratings sorted by score, cut into `bins`
  groups of (nearly) equal size; ECE = sum over bins of (n_b / n) |mean y_b - mean score_b|.
  Equal scores cut by a bin edge are shared in proportion (no dependence on row order).

PAV runs once on the distinct scores weighted by their counts, vectorised with numpy (see
`isotonic_fit`); scikit-learn's IsotonicRegression and scipy's isotonic_regression give the
same fit (tests check), but importing either costs `tuilabel roc` more than the fit itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Equal-mass bins of the ECE.
ECE_BINS = 10


@dataclass(frozen=True)
class Calibration:
    """The CORP reliability curve on the distinct scores (ascending) and the scores of fit."""

    score: np.ndarray  # distinct scores, ascending (thinned for the JSON, see `thin`)
    recalibrated: np.ndarray  # the isotonic fit at each of them
    brier: float
    miscalibration: float  # MCB
    discrimination: float  # DSC
    uncertainty: float  # UNC
    ece: float  # equal-mass bins
    ece_bins: int


#: Passes of the vectorised PAV before handing over to scipy's (a cascade of pools).
PAV_PASSES = 500


def isotonic_fit(value: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted isotonic (non-decreasing) regression of `value` in its given order, by pool
    adjacent violators. Vectorised: each pass pools every maximal run of decreasing block
    means into one block (pooling adjacent violators in any order gives PAV's unique fit),
    until no block exceeds the next. On a million ratings this takes a few tenths of a
    second, less than importing scipy.optimize; after `PAV_PASSES` passes (a long cascade of
    pools) scipy's compiled PAV finishes the job."""
    total: np.ndarray = np.asarray(value, dtype=np.float64) * weight
    mass: np.ndarray = np.asarray(weight, dtype=np.float64)
    size: np.ndarray = np.ones(total.shape[0], dtype=np.int64)
    for _ in range(PAV_PASSES):
        mean = total / mass
        down = mean[:-1] > mean[1:]
        if not down.any():
            return np.repeat(mean, size)
        groups = np.cumsum(np.r_[True, ~down]) - 1  # runs flowing down become one block
        total = np.bincount(groups, weights=total)
        mass = np.bincount(groups, weights=mass)
        size = np.bincount(groups, weights=size).astype(np.int64)
    from scipy.optimize import isotonic_regression

    fit = isotonic_regression(total / mass, weights=mass, increasing=True).x
    return np.repeat(np.asarray(fit), size)


def calibration(thr: np.ndarray, tps: np.ndarray, fps: np.ndarray, score: np.ndarray,
                y: np.ndarray, bins: int = ECE_BINS, max_points: int = 2000) -> Calibration:
    """CORP reliability, Brier decomposition and equal-mass ECE. `thr, tps, fps` are the
    cumulative counts of `roc.binary_counts` (descending, +inf start); `score` and `y` (the
    ratings themselves) are not read again. Scores must lie in [0, 1]. The curve returned is
    thinned to `max_points` (the figures use every distinct score)."""
    s = thr[1:][::-1]  # distinct scores, ascending
    pos = np.diff(tps)[::-1].astype(np.float64)
    cnt = np.diff(tps + fps)[::-1].astype(np.float64)
    n, n_pos = float(cnt.sum()), float(pos.sum())
    fit = isotonic_fit(pos / cnt, cnt)

    def brier_of(p: np.ndarray) -> float:  # sum over groups of pos (p-1)^2 + neg p^2
        return float(np.sum(pos * (p - 1) ** 2 + (cnt - pos) * p**2) / n)

    bs, bs_fit = brier_of(s), brier_of(fit)
    ybar = n_pos / n
    unc = ybar * (1 - ybar)
    ece, n_bins = _ece_equal_mass(s, pos, cnt, bins)
    idx = (np.unique(np.linspace(0, s.shape[0] - 1, max_points).astype(int))
           if s.shape[0] > max_points else np.arange(s.shape[0]))
    return Calibration(s[idx], fit[idx], bs, max(0.0, bs - bs_fit), max(0.0, unc - bs_fit),
                       unc, ece, n_bins)


def _ece_equal_mass(s: np.ndarray, pos: np.ndarray, cnt: np.ndarray, bins: int
                    ) -> tuple[float, int]:
    """ECE over `bins` bins of (nearly) equal size by rank, as np.array_split cuts the sorted
    ratings; from the counts per distinct score (ascending). A group of equal scores that a
    bin edge cuts is shared in proportion (its positives too), so the figure does not depend
    on the order of tied ratings."""
    n = int(cnt.sum())
    b = min(bins, n)
    size = np.full(b, n // b)
    size[: n % b] += 1
    edge = np.r_[0, np.cumsum(size)].astype(np.float64)  # rank edges, 0..n
    c_end = np.cumsum(cnt)
    c_start = c_end - cnt

    def upto(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positives and score sum of the r lowest-ranked ratings."""
        g = np.minimum(np.searchsorted(c_end, r, side="left"), cnt.shape[0] - 1)
        frac = np.clip((r - c_start[g]) / cnt[g], 0.0, 1.0)
        cum_pos = np.r_[0.0, np.cumsum(pos)]
        cum_sum = np.r_[0.0, np.cumsum(s * cnt)]
        return (cum_pos[g] + frac * pos[g], cum_sum[g] + frac * cnt[g] * s[g])

    p_at, s_at = upto(edge)
    return float(np.sum(np.abs(np.diff(p_at) - np.diff(s_at))) / n), b
