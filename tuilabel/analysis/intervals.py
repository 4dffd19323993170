"""How sure each figure is: Wilson intervals for proportions, DeLong's for the AUC, and how many
ratings a chosen interval width needs (Hanley and McNeil for the AUC, Wilson for a proportion).

All intervals are two-sided 95% (z = 1.959964, from the standard library's NormalDist).

- Wilson score interval for k successes out of n (Wilson 1927; recommended over the Wald
  interval by Brown, Cai & DasGupta, Statistical Science 2001):
  centre (k + z^2/2) / (n + z^2), half-width z sqrt(k (n - k) / n + z^2 / 4) / (n + z^2).
- DeLong, DeLong & Clarke-Pearson (Biometrics 1988), computed from placement values with the
  midrank trick of Sun & Xu (IEEE Signal Processing Letters 2014), here on the counts per
  distinct score: O(distinct scores), no pairwise comparison. The interval is AUC +- z SE,
  clipped to [0, 1].
- Hanley & McNeil (Radiology 1982): SE^2 = (A (1 - A) + (P - 1)(Q1 - A^2) + (N - 1)(Q2 - A^2))
  / (P N), with Q1 = A / (2 - A) and Q2 = 2 A^2 / (1 + A), for planning how many ratings an
  interval of a given width needs at the current AUC and share of positives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

#: The normal quantile of a two-sided 95% interval.
Z95 = NormalDist().inv_cdf(0.975)


@dataclass(frozen=True)
class Proportion:
    """k of n with its Wilson 95% interval; value, low and high are None when n = 0."""

    k: int
    n: int
    value: float | None
    low: float | None
    high: float | None
    method: str = "Wilson"


def wilson_bounds(k: np.ndarray | float, n: np.ndarray | int, z: float = Z95
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval (low, high) for k of n, elementwise; NaN where n = 0."""
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = (k + z2 / 2) / (n + z2)
        half = z * np.sqrt(np.maximum(k * (n - k) / n, 0.0) + z2 / 4) / (n + z2)
        low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    # k = 0 or k = n: the bound on that side is exactly 0 or 1.
    low = np.where((n > 0) & (k == 0), 0.0, low)
    high = np.where((n > 0) & (k == n), 1.0, high)
    return low, high


def proportion(k: int, n: int) -> Proportion:
    """k of n with its Wilson 95% interval."""
    k, n = int(k), int(n)
    if n <= 0:
        return Proportion(k, n, None, None, None)
    low, high = wilson_bounds(k, n)
    return Proportion(k, n, k / n, float(low), float(high))


@dataclass(frozen=True)
class AucInterval:
    """The AUC with DeLong's standard error and 95% interval (None when undefined: fewer than
    two positives or two negatives, or a standard error of 0 when the classes do not overlap,
    where the method has nothing to say)."""

    auc: float
    se: float | None
    low: float | None
    high: float | None
    method: str = "DeLong"


def delong(tps: np.ndarray, fps: np.ndarray) -> AucInterval:
    """DeLong's interval from the cumulative counts of `roc.binary_counts` (TP and FP at each
    distinct score, descending, after a (0, 0) start). Ties count half, as in the AUC."""
    n_pos, n_neg = int(tps[-1]), int(fps[-1])
    p_g = np.diff(tps).astype(np.float64)  # positives at each distinct score
    n_g = np.diff(fps).astype(np.float64)
    # Placement of a positive: share of negatives below it (ties half); of a negative: share
    # of positives above it (ties half).
    v10 = (n_neg - fps[1:] + 0.5 * n_g) / n_neg
    v01 = (tps[1:] - 0.5 * p_g) / n_pos
    auc = float(np.sum(p_g * v10) / n_pos)
    if n_pos < 2 or n_neg < 2:
        return AucInterval(auc, None, None, None)
    s10 = float(np.sum(p_g * (v10 - auc) ** 2) / (n_pos - 1))
    s01 = float(np.sum(n_g * (v01 - auc) ** 2) / (n_neg - 1))
    se = math.sqrt(max(s10 / n_pos + s01 / n_neg, 0.0))
    if se == 0.0:  # perfect (or perfectly wrong) separation: DeLong has no interval to give
        return AucInterval(auc, se, None, None)
    return AucInterval(auc, se, max(0.0, auc - Z95 * se), min(1.0, auc + Z95 * se))


def hanley_mcneil_se(auc: float, n_pos: float, n_neg: float) -> float:
    """Hanley & McNeil's standard error of an AUC (see the module doc)."""
    a = min(max(auc, 1e-9), 1 - 1e-9)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (n_pos * n_neg)
    return math.sqrt(max(var, 0.0))


def _smallest_n(fits, start: int = 2, limit: int = 10**10) -> int | None:
    """The smallest integer n >= start with fits(n) true (fits monotone); None past limit."""
    if not fits(limit):
        return None
    lo, hi = start, start
    while not fits(hi):
        lo, hi = hi, hi * 2
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def ratings_for_auc(auc: float, prevalence: float, width: float) -> int | None:
    """Rated photos for a 95% AUC interval of full width `width` (Hanley-McNeil), at this AUC
    and share of positives; None when no number would do (an AUC of exactly 0.5 is fine)."""
    if not 0 < prevalence < 1 or width <= 0:
        return None
    return _smallest_n(lambda n: 2 * Z95 * hanley_mcneil_se(
        auc, max(1.0, prevalence * n), max(1.0, (1 - prevalence) * n)) <= width)


def ratings_for_proportion(p: float, width: float) -> int | None:
    """Cases (n) for a Wilson 95% interval of full width `width` around a proportion p."""
    if width <= 0:
        return None

    def fits(n: int) -> bool:
        low, high = wilson_bounds(p * n, n)
        return float(high - low) <= width

    return _smallest_n(fits, start=1)
