"""The `r` screen's content: the ROC curve, AUC and thresholds of the ratings so far.

The analysis and plotting are `tuilabel.analysis` and `tuilabel.plots` (the same code as
`tuilabel roc`); this module only splits the work by thread: the ratings are read on the store
thread (`read`), the curve is computed and drawn in a worker thread (`build`), because the
analysis modules take seconds to import (scikit-learn) and the store thread must stay free for
the ratings being stored.
"""

from __future__ import annotations

import importlib.util
import time


def available() -> bool:
    """Whether the analysis capability is installed (checked without importing it)."""
    return all(importlib.util.find_spec(m) is not None
               for m in ("tuilabel.analysis", "tuilabel.plots"))


class RocView:
    """Reads and draws the live ROC (top-1 correct as the positive class, all raters'
    majority verdict per photo, unrateable photos left out, as `tuilabel roc` does)."""

    def __init__(self, model: str | None = None) -> None:
        self.model = model

    def prepare(self) -> None:
        """Import the analysis (scikit-learn: over a second, once) in a worker thread, so the
        store thread never spends that time while ratings wait behind it."""
        import tuilabel.analysis  # noqa: F401
        import tuilabel.plots  # noqa: F401

    def read(self, store) -> dict[str, list]:
        """The ratings as columns (run on the store thread)."""
        from tuilabel.analysis.data import read_columns

        return read_columns(store, model=self.model)

    def build(self, columns: dict[str, list], width: int, height: int) -> str:
        """The report as text with ANSI colours (run in a worker thread)."""
        from tuilabel.analysis import live_summary
        from tuilabel.plots import fmt, pct_ci, roc_plot

        live = live_summary(columns, "ratings so far")
        result = live.roc
        stamp = time.strftime("%H:%M:%S")
        lines = 2
        if result.defined:
            y, c = result.youden, result.closest
            assert y is not None and c is not None  # (a defined ROC has both)
            dl = live.auc_delong
            interval = (f" (95% {fmt(dl.low)} to {fmt(dl.high)}, DeLong)"
                        if dl is not None and dl.low is not None else "")
            head = (
                f"AUC {fmt(result.auc)}{interval}   Youden's J threshold {fmt(y.threshold)} "
                f"(TPR {fmt(y.tpr)}, FPR {fmt(y.fpr)})   closest to (0,1) {fmt(c.threshold)}\n"
                f"{result.n} photos rated ({result.n_pos} top-1 right, {result.n_neg} not)"
                f" · updated {stamp}, every few seconds and after each rating"
            )
            rec = live.recommendation
            if rec is not None and rec.threshold is not None:
                head += (f"\nscore >= {rec.threshold:.4g}: precision {pct_ci(rec.precision)}"
                         f" (Wilson), {fmt(rec.kept.value if rec.kept else None)} of photos "
                         f"kept{'' if rec.sure else ', not yet sure'}")
                lines += 1
            if live.plan is not None:
                head += f"\n{live.plan.text}"
                lines += 1 + len(live.plan.text) // max(width, 40)
        else:
            head = f"{result.message}\nupdated {stamp}"
        return head + "\n\n" + roc_plot(result, width, max(8, height - lines - 1), color=True)
