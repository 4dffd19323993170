"""The whole `tuilabel roc` analysis as one dataclass, and its JSON form.

`analyse` raises DataError when nothing can be computed (no ratings, one class only); the
cheap, never-raising view for a live display is `tuilabel.analysis.roc_from_store`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

import numpy as np

from tuilabel.analysis.agreement import Agreement, agreement
from tuilabel.analysis.bootstrap import BootstrapResult, bootstrap
from tuilabel.analysis.calibration import Calibration, calibration
from tuilabel.analysis.data import (
    Ratings,
    RatingTable,
    ratings_from_table,
    read_table,
    read_tsv,
)
from tuilabel.analysis.intervals import AucInterval, Proportion, delong, proportion
from tuilabel.analysis.roc import (
    POSITIVE_WORDS,
    GridResult,
    Histograms,
    PrResult,
    RocResult,
    ThresholdMetrics,
    _roc_and_counts,
    confusion_masks,
    metrics_at,
    notebook_grid,
    pr_from_counts,
    score_histograms,
    top_labels,
    undefined_message,
)
from tuilabel.analysis.selective import (
    DEFAULT_MIN_LABEL_PHOTOS,
    DEFAULT_PLAN_WIDTH,
    DEFAULT_TARGETS,
    LabelBreakdown,
    Plan,
    Recommendation,
    RiskCoverage,
    TargetThreshold,
    per_label,
    plan,
    recommend,
    risk_coverage,
    target_thresholds,
)
from tuilabel.errors import DataError, InputError

#: Below this share of positives (or of negatives) accuracy and Youden's J mislead.
RARE = 0.1


@dataclass(frozen=True)
class Report:
    source: str
    positive: str
    rater: str | None  # None: majority verdict (or the TSV's single verdict)
    model: str | None
    n_read: int  # ratings or rows read
    n: int  # ratings in the ROC (one per image)
    notes: tuple[str, ...]
    roc: RocResult
    pr: PrResult
    at_threshold: ThresholdMetrics
    youden_metrics: ThresholdMetrics  # the in-sample accuracy the optimism warning is about
    categories: dict[str, list[tuple[str, int]]]
    histograms: Histograms
    grid: GridResult
    bootstrap: BootstrapResult | None
    agreement: Agreement | None
    auc_delong: AucInterval  # DeLong's 95% interval, beside the bootstrap's
    at_intervals: dict[str, Proportion]  # tpr, fpr, precision, accuracy at the threshold
    majority_baseline: Proportion  # accuracy of always answering the commoner class
    warnings: tuple[str, ...]  # e.g. positives too rare for accuracy and Youden's J
    risk_coverage: RiskCoverage
    targets: tuple[TargetThreshold, ...]
    recommendation: Recommendation
    calibration: Calibration
    labels: LabelBreakdown
    plan: Plan

    @property
    def optimistic(self) -> bool:
        """True when the reported threshold was chosen on the ratings it is evaluated on."""
        return self.at_threshold.chosen_by == "youden"


def at_intervals(m: ThresholdMetrics) -> dict[str, Proportion]:
    """Wilson 95% intervals of TPR, FPR, precision and accuracy at one threshold."""
    return {"tpr": proportion(m.tp, m.tp + m.fn), "fpr": proportion(m.fp, m.fp + m.tn),
            "precision": proportion(m.tp, m.tp + m.fp),
            "accuracy": proportion(m.tp + m.tn, m.n)}


def rare_warning(n_pos: int, n: int, youden: ThresholdMetrics, positive: str
                 ) -> str | None:
    """A warning when one class is so rare that accuracy and Youden's J mislead."""
    share = n_pos / n
    if min(share, 1 - share) >= RARE:
        return None
    verdict = POSITIVE_WORDS[positive]
    if share < RARE:
        return (f"positives are rare ({100 * share:.1f}% of photos: {verdict}): always "
                f"answering 'no' scores an accuracy of {1 - share:.3f}, and Youden's J weighs "
                "a missed right label as much as a wrong one kept, so its threshold keeps "
                f"many wrong labels (precision {youden.precision or 0:.3f}); judge by the "
                "precision, the risk-coverage curve and the target-precision thresholds")
    return (f"negatives are rare ({100 * (1 - share):.1f}% of photos): always answering 'yes' "
            f"({verdict}) scores an accuracy of {share:.3f}; accuracy and Youden's J say "
            "little here, judge by the precision and the risk-coverage curve")


#: Below this many positives (or negatives) the AUC's 95% intervals cover less than 95%.
FEW = 30


def few_warning(n_pos: int, n_neg: int) -> str | None:
    """A warning when a class has so few ratings that the AUC's intervals are too narrow
    (scripts/sim_roc_coverage.py: with 3 positives of 60 the DeLong and bootstrap intervals
    covered the true AUC 71-77% of the time, with 15 of 300 87-93%, with 120 of 300 92-96%)."""
    fewest = min(n_pos, n_neg)
    if fewest >= FEW:
        return None
    which = "positives" if n_pos <= n_neg else "negatives"
    return (f"only {fewest} {which}: the AUC's 95% intervals are too narrow with so few (in "
            "simulation they covered the true AUC 70-93% of the time, not 95%); rate more "
            "photos before trusting them")


def analyse(ratings: Ratings, *, positive: str = "top1", threshold: float | None = None,
            n_bootstrap: int = 1000, seed: int | None = None, rater: str | None = None,
            model: str | None = None, agreement: Agreement | None = None,
            on_bootstrap: Callable[[int, int], None] | None = None,
            targets: tuple[float, ...] = DEFAULT_TARGETS,
            min_label_photos: int = DEFAULT_MIN_LABEL_PHOTOS,
            plan_width: float = DEFAULT_PLAN_WIDTH) -> Report:
    """Everything `tuilabel roc` reports. Raises DataError when the ROC is undefined.
    `on_bootstrap(done, total)` follows the resamples. `targets` are the target precisions,
    `min_label_photos` the smallest label shown on its own, `plan_width` the full width of
    the 95% intervals the plan aims at."""
    y, s = ratings.binary(positive)
    message = undefined_message(int(y.shape[0]), int(y.sum()), positive)
    if message:
        reason = message.removeprefix("not enough ratings yet: ")
        raise DataError(f"{ratings.source}: the ROC is undefined: {reason}")
    roc, thr, tps, fps = _roc_and_counts(y, s, positive)
    assert roc.youden is not None
    notes = list(ratings.notes)
    if ratings.votes is not None:
        tied = ratings.tied(positive)
        if tied:
            notes.append(f"{tied} tied vote(s) on whether {POSITIVE_WORDS[positive]} "
                         "counted as no (against the model)")
    if roc.ties:
        notes.append(
            f"{roc.ties} rating(s) share their score with another; the curve steps diagonally "
            "across tied scores and the AUC counts tied pairs as half"
        )
    if roc.youden.youden_j <= 0:
        notes.append("the score does no better than chance at any threshold (Youden's J <= 0)")
    youden_metrics = metrics_at(y, s, roc.youden.threshold, "youden")
    at = youden_metrics if threshold is None else metrics_at(y, s, threshold, "user")
    pr = pr_from_counts(tps, fps, thr)
    warning = rare_warning(roc.n_pos, roc.n, youden_metrics, positive)
    few = few_warning(roc.n_pos, roc.n_neg)
    keep = np.searchsorted(-thr, -roc.thresholds)  # the ROC's corner points among all
    goals = target_thresholds(thr, tps, fps, targets)
    rec = recommend(goals, positive)
    if rec.threshold is not None:
        label_t, label_by = rec.threshold, "recommendation"
    else:
        label_t, label_by = at.threshold, at.chosen_by
    majority = max(roc.n_pos, roc.n_neg)
    assert roc.auc is not None
    return Report(
        source=ratings.source, positive=positive, rater=rater, model=model,
        n_read=ratings.n_read, n=ratings.n, notes=tuple(notes), roc=roc, pr=pr,
        at_threshold=at, youden_metrics=youden_metrics,
        categories=top_labels(ratings, confusion_masks(y, s, at.threshold)),
        histograms=score_histograms(ratings),
        grid=notebook_grid(y, s, counts=(thr, tps, fps)),
        bootstrap=(bootstrap(y, s, n_bootstrap, seed, on_batch=on_bootstrap)
                   if n_bootstrap > 0 else None),
        agreement=agreement,
        auc_delong=delong(tps, fps),
        at_intervals=at_intervals(at),
        majority_baseline=proportion(majority, roc.n),
        warnings=tuple(w for w in (warning, few) if w),
        risk_coverage=risk_coverage(thr, tps, fps, keep),
        targets=goals,
        recommendation=rec,
        calibration=calibration(thr, tps, fps, s, y),
        labels=per_label(y, s, ratings.label1, ratings.labels, label_t, label_by,
                         min_label_photos),
        plan=plan(roc.auc, roc.n, roc.n_pos, rec, plan_width),
    )


# -- loading ---------------------------------------------------------------------------------


def load_store(db: str | None, rater: str | None = None, model: str | None = None
               ) -> tuple[Ratings, RatingTable]:
    """The ratings of a store (majority or `rater`'s), plus every rating for agreement."""
    from tuilabel.store import open_store

    with open_store(db, read_only=True) as store:
        table = read_table(store, model=model)
        name = store.name
    if table.n == 0:
        which = f" for model {model!r}" if model else ""
        raise DataError(f"{name}: no ratings{which} yet: rate some with `tuilabel score`")
    return ratings_from_table(table, rater, name), table


def load_tsv(path: str, positive: str = "top1") -> Ratings:
    ratings = read_tsv(path, positive)
    if ratings.n == 0:
        left = "; ".join(ratings.notes)
        raise DataError(f"{path}: no usable ratings" + (f" ({left})" if left else ""))
    return ratings


def run(*, db: str | None = None, tsv: str | None = None, rater: str | None = None,
        model: str | None = None, positive: str = "top1", threshold: float | None = None,
        n_bootstrap: int = 1000, seed: int | None = None,
        on_stage: Callable[[str], None] | None = None,
        on_bootstrap: Callable[[int, int], None] | None = None,
        targets: tuple[float, ...] = DEFAULT_TARGETS,
        min_label_photos: int = DEFAULT_MIN_LABEL_PHOTOS,
        plan_width: float = DEFAULT_PLAN_WIDTH) -> Report:
    """Load ratings from a store or a TSV export and analyse them (what the CLI calls).
    `on_stage(text)` names each stage as it starts, `on_bootstrap(done, total)` follows the
    resamples (for a progress bar). Raises InputError for a bad option, DataError when there
    is nothing to analyse."""
    stage = on_stage or (lambda _text: None)
    for target in targets:
        if not (math.isfinite(target) and 0.0 < target <= 1.0):
            raise InputError(f"--target-precision must be above 0 and at most 1, not {target}")
    if not targets:
        targets = DEFAULT_TARGETS
    if min_label_photos < 1:
        raise InputError(f"--min-label-photos must be 1 or more, not {min_label_photos}")
    if not (math.isfinite(plan_width) and 0.0 < plan_width < 1.0):
        raise InputError(f"--plan-width must be between 0 and 1, not {plan_width}")
    more: dict[str, Any] = {"targets": tuple(sorted(set(targets))),
                            "min_label_photos": min_label_photos, "plan_width": plan_width}
    if positive not in ("top1", "top5"):
        raise InputError(f"--positive must be top1 or top5, not {positive!r}")
    if threshold is not None and not (math.isfinite(threshold) and 0.0 <= threshold <= 1.0):
        raise InputError(f"--threshold must be a number between 0 and 1, not {threshold}")
    if n_bootstrap < 0:
        raise InputError("--bootstrap must be 0 (off) or a positive number of resamples")
    if seed is not None and seed < 0:  # numpy's generator would fail with a traceback
        raise InputError(f"--seed must be 0 or more, not {seed}")
    if tsv is not None:
        if db is not None:
            raise InputError("give either --db or --from, not both")
        if rater is not None or model is not None:
            raise InputError("--rater and --model need a store: a TSV export holds one "
                             "verdict per image and no model name")
        stage(f"reading {tsv}")
        ratings = load_tsv(tsv, positive)
        stage(f"analysing {ratings.n:,} ratings")
        return analyse(ratings, positive=positive, threshold=threshold,
                       n_bootstrap=n_bootstrap, seed=seed, on_bootstrap=on_bootstrap, **more)
    stage("reading ratings from the store")
    ratings, table = load_store(db, rater, model)
    stage(f"analysing {ratings.n:,} ratings")
    return analyse(ratings, positive=positive, threshold=threshold, n_bootstrap=n_bootstrap,
                   seed=seed, rater=rater, model=model, agreement=agreement(table),
                   on_bootstrap=on_bootstrap, **more)


# -- JSON ------------------------------------------------------------------------------------


def _plain(value: object) -> object:
    """JSON-safe: arrays to lists, NaN/inf to None, dataclasses to dicts."""
    if is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
        for extra in ("tpr", "fpr", "precision", "accuracy", "youden_j", "defined", "step"):
            if extra not in out and isinstance(getattr(type(value), extra, None), property):
                out[extra] = _plain(getattr(value, extra))
        return out
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def report_to_dict(report: Report) -> dict:
    """Every number of the report, JSON-safe (no NaN: undefined values are null)."""
    out = _plain(report)
    assert isinstance(out, dict)
    out["optimistic"] = report.optimistic
    return out
