"""Analysis of the ratings: where the top-1 score can be trusted.

Pure functions over numpy arrays that return dataclasses; no terminal, no plotting (that is
`tuilabel.plots`). Nothing here imports TensorFlow, Textual or Typer.

For a live view (the TUI's `r` key in `tuilabel score`), two cheap calls, no bootstrap
(`live_summary(columns, source)` adds DeLong's interval, the recommended threshold with its
precision interval and the plan line, from the same sort):

    from tuilabel.analysis import roc_from_store
    from tuilabel.plots import roc_plot

    result = roc_from_store(store, rater=None, model=None, positive="top1")
    text = roc_plot(result, width, height, color=True)   # ANSI string; Text.from_ansi(text)
    if result.defined: result.auc, result.youden.threshold, result.closest.threshold
    else: result.message   # e.g. "not enough ratings yet: all 3 rating(s) are positive ..."

`roc_from_store` never raises for too few ratings (only StoreError if the database fails).
It reads every rating each call (seconds on a million ratings), so call it in a worker thread,
not on the UI thread. The TUI splits it: `read_columns` on the store thread, `roc_from_columns`
in a worker (which also pays for importing this package and scikit-learn, first).

The full report (`report.run` / `analyse`) adds the grid cross-check, categories, histograms,
PR curve, bootstrap and rater agreement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tuilabel.analysis.agreement import Agreement, PairAgreement, agreement, kappas
from tuilabel.analysis.bootstrap import BootstrapResult, bootstrap
from tuilabel.analysis.data import (
    VERDICT_NAMES,
    Ratings,
    RatingTable,
    ratings_from_table,
    read_columns,
    read_tsv,
    table_from_columns,
)
from tuilabel.analysis.intervals import AucInterval, Proportion, delong, proportion
from tuilabel.analysis.report import Report, analyse, report_to_dict, run
from tuilabel.analysis.roc import (
    GridResult,
    OperatingPoint,
    RocResult,
    ThresholdMetrics,
    _roc_and_counts,
    notebook_grid,
    roc_from_ratings,
    roc_result,
    undefined_message,
)
from tuilabel.analysis.selective import (
    Plan,
    Recommendation,
    plan,
    recommend,
    target_thresholds,
)

__all__ = [
    "VERDICT_NAMES",
    "Agreement",
    "BootstrapResult",
    "AucInterval",
    "GridResult",
    "LiveSummary",
    "Plan",
    "Proportion",
    "Recommendation",
    "OperatingPoint",
    "PairAgreement",
    "RatingTable",
    "Ratings",
    "Report",
    "RocResult",
    "ThresholdMetrics",
    "agreement",
    "analyse",
    "bootstrap",
    "delong",
    "kappas",
    "live_summary",
    "notebook_grid",
    "proportion",
    "ratings_from_table",
    "read_tsv",
    "report_to_dict",
    "roc_from_columns",
    "roc_from_ratings",
    "roc_from_store",
    "roc_result",
    "run",
    "table_from_columns",
    "undefined_message",
]


def roc_from_columns(columns: dict[str, list], source: str, rater: str | None = None,
                     positive: str = "top1") -> RocResult:
    """The exact ROC of ratings read with `read_columns` (majority verdict per image, or
    `rater`'s). Returns a result with `message` set, rather than raising, when there are too
    few ratings for a ROC (none, or one class only)."""
    table = table_from_columns(columns)
    if table.n == 0:
        return roc_result(np.zeros(0, bool), np.zeros(0), positive)
    return roc_from_ratings(ratings_from_table(table, rater, source), positive)


@dataclass(frozen=True)
class LiveSummary:
    """What the TUI's ROC screen shows: the curve, the AUC's DeLong interval, the
    recommended threshold with its precision interval, and the plan line."""

    roc: RocResult
    auc_delong: AucInterval | None
    recommendation: Recommendation | None
    plan: Plan | None


def live_summary(columns: dict[str, list], source: str, positive: str = "top1") -> LiveSummary:
    """`roc_from_columns` plus the intervals, the recommendation and the plan (one sort, no
    bootstrap); fields other than `roc` are None while the ROC is undefined."""
    table = table_from_columns(columns)
    if table.n == 0:
        return LiveSummary(roc_result(np.zeros(0, bool), np.zeros(0), positive), None, None, None)
    y, s = ratings_from_table(table, None, source).binary(positive)
    if undefined_message(int(y.shape[0]), int(y.sum()), positive):
        return LiveSummary(roc_result(y, s, positive), None, None, None)
    roc, thr, tps, fps = _roc_and_counts(y, s, positive)
    rec = recommend(target_thresholds(thr, tps, fps), positive)
    assert roc.auc is not None
    return LiveSummary(roc, delong(tps, fps), rec, plan(roc.auc, roc.n, roc.n_pos, rec))


def roc_from_store(store, rater: str | None = None, model: str | None = None,
                   positive: str = "top1") -> RocResult:
    """`roc_from_columns` of the ratings in an open Store so far."""
    return roc_from_columns(read_columns(store, rater=rater, model=model), store.name, rater,
                            positive)
