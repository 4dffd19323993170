"""Which threshold to use, and why: keep a photo's label when its score is at least t.

- The risk-coverage curve (Geifman & El-Yaniv, NeurIPS 2017; El-Yaniv & Wiener, JMLR 2010):
  for each threshold, coverage = share of photos kept (score >= t), risk = share of the kept
  labels that are wrong (1 - precision). Its area (AURC, Geifman et al., ICLR 2019) is the mean
  risk over coverages: (1/n) sum over i of the risk of the i best-scored photos, with tied
  scores entering together. It is shown beside the AURC of a score that ranks at random (the
  overall error rate) and of a perfect ranking (wrong labels last).
- For each target precision, the lowest threshold whose precision reaches it (it keeps the most
  photos), and the lowest whose Wilson 95% interval lies wholly at or above it ("sure").
  Precision is not monotone in t; each threshold is judged on the photos it keeps.
- One recommendation: the strictest target reached "sure" (else reached at all, with a caveat).
- Precision per top-1 label at that threshold, for labels with enough rated photos.
- How many ratings would narrow the intervals to a chosen width (see `intervals`).

All functions take the cumulative counts of `roc.binary_counts` (thresholds descending after
a +inf start, TP, FP), so nothing is sorted twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from tuilabel.analysis.intervals import (
    Proportion,
    proportion,
    ratings_for_auc,
    ratings_for_proportion,
    wilson_bounds,
)

#: Target precisions of `tuilabel roc` unless --target-precision is given.
DEFAULT_TARGETS = (0.8, 0.9, 0.95, 0.99)
#: Labels with fewer rated photos are pooled in the per-label table.
DEFAULT_MIN_LABEL_PHOTOS = 30
#: Full width of the 95% intervals `--plan` aims at unless given.
DEFAULT_PLAN_WIDTH = 0.05

RIGHT_WORDS = {"top1": "are right", "top5": "have a right label in their top 5"}


@dataclass(frozen=True)
class RiskCoverage:
    """The risk-coverage curve at the ROC's corner thresholds (coverage ascending)."""

    thresholds: np.ndarray
    coverage: np.ndarray  # share of photos kept (score >= threshold)
    risk: np.ndarray  # share of the kept labels that are wrong
    aurc: float  # area under the curve, over every threshold
    aurc_random: float  # a score that ranks at random: the overall share of wrong labels
    aurc_best: float  # a perfect ranking (every right label before any wrong one)


def risk_coverage(thr: np.ndarray, tps: np.ndarray, fps: np.ndarray,
                  keep: np.ndarray | None = None) -> RiskCoverage:
    """The curve and its area from the cumulative counts; `keep` (indices into the counts)
    thins the points returned (the area always uses every threshold)."""
    n, n_pos = int(tps[-1] + fps[-1]), int(tps[-1])
    kept = (tps + fps)[1:]
    risk = fps[1:] / kept
    aurc = float(np.sum(risk * np.diff(tps + fps)) / n)
    i = np.arange(n_pos + 1, n + 1, dtype=np.float64)
    best = float(np.sum((i - n_pos) / i) / n)
    idx = np.arange(1, thr.shape[0]) if keep is None else np.asarray(keep)[np.asarray(keep) > 0]
    return RiskCoverage(thr[idx], (tps + fps)[idx] / n, fps[idx] / (tps + fps)[idx], aurc,
                        1 - n_pos / n, best)


@dataclass(frozen=True)
class TargetThreshold:
    """For one target precision: the lowest threshold reaching it, and the lowest whose 95%
    interval lies at or above it; None where no threshold does."""

    target: float
    threshold: float | None
    precision: Proportion | None  # right labels among the kept photos
    kept: Proportion | None  # photos kept among all
    sure_threshold: float | None
    sure_precision: Proportion | None
    sure_kept: Proportion | None


def _at(i: int, thr, tps, fps) -> tuple[float, Proportion, Proportion]:
    n = int(tps[-1] + fps[-1])
    k = int(tps[i] + fps[i])
    return float(thr[i]), proportion(int(tps[i]), k), proportion(k, n)


def target_thresholds(thr: np.ndarray, tps: np.ndarray, fps: np.ndarray,
                      targets: tuple[float, ...] = DEFAULT_TARGETS) -> tuple[TargetThreshold, ...]:
    """One `TargetThreshold` per target (a precision in (0, 1]); the comparison with the
    target is exact (the target as a fraction of at most 9 digits)."""
    tp, kept = tps[1:], (tps + fps)[1:]
    low, _ = wilson_bounds(tp, kept)
    out = []
    for target in targets:
        frac = Fraction(str(target)).limit_denominator(10**9)
        reach = np.flatnonzero(tp * frac.denominator >= kept * frac.numerator)
        sure = np.flatnonzero(low >= target)
        point = _at(1 + int(reach[-1]), thr, tps, fps) if reach.size else (None, None, None)
        safe = _at(1 + int(sure[-1]), thr, tps, fps) if sure.size else (None, None, None)
        out.append(TargetThreshold(float(target), *point, *safe))
    return tuple(out)


@dataclass(frozen=True)
class Recommendation:
    """The threshold to use, in plain words (`text`), and why (`why`)."""

    threshold: float | None
    target: float | None
    precision: Proportion | None
    kept: Proportion | None
    sure: bool  # the precision's 95% interval lies at or above the target
    text: str
    why: str


def _pct(p: float | None) -> str:
    if p is None:
        return "n/a"
    text = f"{100 * p:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"


def recommend(targets: tuple[TargetThreshold, ...], positive: str = "top1") -> Recommendation:
    """The strictest target reached with its whole 95% interval at or above it; else the
    strictest reached by its point estimate, with a caveat; else a warning."""
    right = RIGHT_WORDS[positive]
    listed = ", ".join(_pct(t.target) for t in targets)
    ordered = sorted(targets, key=lambda t: t.target, reverse=True)
    for t in ordered:
        if t.sure_threshold is not None:
            p, k = t.sure_precision, t.sure_kept
            assert p is not None and k is not None
            text = (f"Keep labels with score >= {t.sure_threshold:.4g}: {_pct(p.value)} of them "
                    f"{right} ({_pct(p.low)} to {_pct(p.high)}), and {_pct(k.value)} of photos "
                    "keep their label.")
            why = (f"It is the lowest threshold whose 95% interval for the precision lies at "
                   f"or above {_pct(t.target)}, the strictest of the target precisions "
                   f"({listed}) that these ratings show with that confidence.")
            wider = [o for o in ordered if o.target < t.target and o.sure_kept is not None
                     and o.sure_kept.value is not None and k.value is not None
                     and o.sure_kept.value > k.value]
            if wider:
                o = wider[0]
                assert o.sure_precision is not None and o.sure_kept is not None
                why += (f" To keep more photos: score >= {o.sure_threshold:.4g} keeps "
                        f"{_pct(o.sure_kept.value)} with {_pct(o.sure_precision.value)} right "
                        f"({_pct(o.sure_precision.low)} to {_pct(o.sure_precision.high)}).")
            return Recommendation(t.sure_threshold, t.target, p, k, True, text, why)
    reached = [(t.precision.low or 0.0, t.target, t) for t in ordered
               if t.threshold is not None and t.precision is not None]
    if reached:
        # Nothing sure: the threshold whose precision is most surely high (the largest lower
        # bound; the stricter target among equals), not the one on the fewest photos.
        t = max(reached, key=lambda r: (r[0], r[1]))[2]
        p, k = t.precision, t.kept
        assert p is not None and k is not None and t.threshold is not None
        text = (f"Keep labels with score >= {t.threshold:.4g}: {_pct(p.value)} of them "
                f"{right} ({_pct(p.low)} to {_pct(p.high)}), and {_pct(k.value)} of photos "
                "keep their label; not yet sure.")
        why = (f"It is the lowest threshold whose precision reaches {_pct(t.target)}, the "
               "target whose threshold has the highest lower bound, but for every target "
               f"({listed}) the 95% interval still reaches below it: rate more photos (see "
               "the plan line).")
        return Recommendation(t.threshold, t.target, p, k, False, text, why)
    lowest = min(t.target for t in targets)
    return Recommendation(None, None, None, None, False,
                          f"Do not trust the labels unreviewed: no threshold reaches "
                          f"{_pct(lowest)} precision.",
                          f"Even the photos with the highest scores are right less often than "
                          f"the lowest target ({_pct(lowest)}).")


@dataclass(frozen=True)
class LabelPrecision:
    """One top-1 label (or the pooled smaller ones) at a threshold."""

    label: str
    n: int  # rated photos with this top-1 label
    labels: int  # 1, or how many labels were pooled
    precision: Proportion  # right among this label's photos kept at the threshold


@dataclass(frozen=True)
class LabelBreakdown:
    threshold: float
    chosen_by: str  # "recommendation", "user" or "youden"
    min_photos: int
    rows: tuple[LabelPrecision, ...]  # labels with >= min_photos rated photos, best first
    other: LabelPrecision | None  # the smaller labels together


def per_label(y: np.ndarray, score: np.ndarray, label1: np.ndarray, labels: tuple[str, ...],
              threshold: float, chosen_by: str,
              min_photos: int = DEFAULT_MIN_LABEL_PHOTOS) -> LabelBreakdown:
    """Precision at `threshold` per top-1 label with at least `min_photos` rated photos,
    sorted by precision (then by the interval's lower bound, then by n); smaller labels
    pooled. A label none of whose photos is kept has precision n/a and comes last."""
    m = len(labels)
    n = np.bincount(label1, minlength=m)
    kept = score >= threshold
    k_kept = np.bincount(label1[kept], minlength=m)
    k_right = np.bincount(label1[kept & y], minlength=m)
    big = np.flatnonzero(n >= max(1, min_photos))
    rows = [LabelPrecision(labels[i], int(n[i]), 1, proportion(int(k_right[i]), int(k_kept[i])))
            for i in big]
    rows.sort(key=lambda r: (r.precision.value is None, -(r.precision.value or 0),
                             -(r.precision.low or 0), -r.n))
    small = np.setdiff1d(np.flatnonzero(n > 0), big)
    other = (LabelPrecision(f"other ({small.shape[0]} labels)", int(n[small].sum()),
                            int(small.shape[0]),
                            proportion(int(k_right[small].sum()), int(k_kept[small].sum())))
             if small.size else None)
    return LabelBreakdown(float(threshold), chosen_by, int(min_photos), tuple(rows), other)


@dataclass(frozen=True)
class Plan:
    """Rated photos needed for 95% intervals of full width `width` (None: not reachable)."""

    width: float
    n_now: int
    auc_ratings: int | None  # Hanley-McNeil, at the current AUC and share of positives
    threshold: float | None  # the recommended threshold, for the precision
    precision_ratings: int | None  # Wilson, at the current precision and share kept
    text: str


def plan(auc: float, n: int, n_pos: int, rec: Recommendation,
         width: float = DEFAULT_PLAN_WIDTH) -> Plan:
    """How many rated photos would give the AUC and the precision at the recommended
    threshold 95% intervals of full width `width` (assuming the AUC, the share of positives,
    the precision and the share kept stay as they are)."""
    auc_n = ratings_for_auc(auc, n_pos / n, width)
    prec_n = None
    if rec.threshold is not None and rec.precision is not None and rec.kept is not None \
            and rec.precision.value is not None and rec.kept.value:
        kept_needed = ratings_for_proportion(rec.precision.value, width)
        if kept_needed is not None:
            prec_n = int(np.ceil(kept_needed / rec.kept.value))

    def need(count: int | None, method: str) -> str:
        if count is None:
            return f"n/a ({method})"
        more = count - n
        return f"{count:,} ({f'{more:,} more' if more > 0 else 'reached'}; {method})"

    text = (f"For 95% intervals {width:g} wide: the AUC needs about "
            f"{need(auc_n, 'Hanley-McNeil')} rated photos")
    if rec.threshold is not None:
        text += f", the precision at t={rec.threshold:.4g} about {need(prec_n, 'Wilson')}"
    text += f"; {n:,} rated so far."
    return Plan(float(width), int(n), auc_n, rec.threshold, prec_n, text)
