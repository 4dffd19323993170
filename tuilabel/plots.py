"""Terminal figures and the text report of `tuilabel roc`, built as strings.

Every function returns a string (ANSI colours only when `color=True`): the CLI prints it,
`-o` saves it, the TUI shows it (`Text.from_ansi(roc_plot(result, w, h, color=True))`) and
tests assert on it. plotext keeps one global figure, so building is serialised with a lock
(safe to call from a Textual worker thread).
"""

from __future__ import annotations

import math
import textwrap
import threading
from collections.abc import Sequence

import numpy as np

from tuilabel.analysis.calibration import Calibration
from tuilabel.analysis.data import VERDICT_NAMES
from tuilabel.analysis.intervals import Proportion
from tuilabel.analysis.report import Report
from tuilabel.analysis.roc import POSITIVE_WORDS, SCORE_WORDS, Histograms, PrResult, RocResult
from tuilabel.analysis.selective import RiskCoverage
from tuilabel.text import visible

_LOCK = threading.Lock()
_TICKS = [0.0, 0.25, 0.5, 0.75, 1.0]
_MAX_POINTS = 800  # a terminal cannot show more; the curve is thinned evenly along its length


def fmt(value: float | None, digits: int = 3) -> str:
    """A number for people: never "nan"; None and non-finite values read "n/a"."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{digits}f}"


def _thin(x: np.ndarray, y: np.ndarray) -> tuple[list[float], list[float]]:
    if x.shape[0] > _MAX_POINTS:
        idx = np.unique(np.linspace(0, x.shape[0] - 1, _MAX_POINTS).astype(int))
        x, y = x[idx], y[idx]
    return x.tolist(), y.tolist()


def _build(setup, width: int, height: int, color: bool) -> str:
    import plotext as plt

    with _LOCK:
        f = plt.figure
        f.clear()
        f.theme("simple" if color else "colorless")
        plt.terminal.limit(False, False)  # --width/--height may exceed the terminal
        f.plot_size(max(width, 30), max(height, 10))
        setup(f)
        matrix = f.build()
        text = str(matrix) if color else plt.uncolorize(matrix)
        f.clear()
    return text.rstrip()


def _message_box(message: str, width: int, title: str) -> str:
    return f"{title}\n  {message}"


def roc_plot(result: RocResult, width: int = 80, height: int = 24, color: bool = False,
             threshold: float | None = None) -> str:
    """The ROC curve, the diagonal, and the two operating points marked Y (Youden's J, the
    point furthest from the diagonal) and C (closest to (0, 1)), with their thresholds in the
    legend. An undefined ROC gives its message instead of a plot."""
    title = f"ROC: {POSITIVE_WORDS[result.positive]}, scored by {SCORE_WORDS[result.positive]}"
    if not result.defined:
        return _message_box(result.message or "", width, title)
    y_pt, c_pt = result.youden, result.closest
    assert y_pt is not None and c_pt is not None  # (a defined ROC has both)

    def setup(f) -> None:
        x, y = _thin(result.fpr, result.tpr)
        f.draw(f.signal(x, y, marker="braille").lines()
               .label(f"ROC, AUC {fmt(result.auc)}"))
        f.draw(f.signal([0.0, 1.0], [0.0, 1.0], marker="dot").lines().label("chance"))
        if y_pt.threshold == c_pt.threshold:
            f.draw(f.signal([y_pt.fpr], [y_pt.tpr], marker="Y").label(
                f"Youden's J = closest to (0,1): t={fmt(y_pt.threshold)}"))
        else:
            f.draw(f.signal([c_pt.fpr], [c_pt.tpr], marker="C").label(
                f"closest to (0,1): t={fmt(c_pt.threshold)}"))
            f.draw(f.signal([y_pt.fpr], [y_pt.tpr], marker="Y").label(
                f"Youden's J: t={fmt(y_pt.threshold)}"))
        f.legend(x=1, y=0, ha="right", va="bottom", relative=True)
        for axis in ("x", "y"):
            f.ruler(axis).lim(0, 1)
            f.ruler(axis).ticks(_TICKS)
        f.title(f"{title} (n={result.n})")
        f.label("FPR (false positive rate)", axis="x")
        f.label("TPR", axis="y")

    return _build(setup, width, height, color)


def pr_plot(pr: PrResult, width: int = 80, height: int = 20, color: bool = False) -> str:
    """Precision against recall, with the precision of a random guess (the prevalence)."""

    def setup(f) -> None:
        # recall decreases along scikit-learn's arrays; reverse for a left-to-right line.
        x, y = _thin(pr.recall[::-1], pr.precision[::-1])
        f.draw(f.signal(x, y, marker="braille").lines()
               .label(f"AP {fmt(pr.average_precision)}"))
        f.draw(f.signal([0.0, 1.0], [pr.prevalence] * 2, marker="dot").lines()
               .label(f"random guess {fmt(pr.prevalence)}"))
        f.legend(x=0, y=0, ha="left", va="bottom", relative=True)
        for axis in ("x", "y"):
            f.ruler(axis).lim(0, 1)
            f.ruler(axis).ticks(_TICKS)
        f.title("Precision-recall")
        f.label("recall (TPR)", axis="x")
        f.label("precision", axis="y")

    return _build(setup, width, height, color)


def histogram_plot(hist: Histograms, verdict: str, width: int = 80, height: int = 14,
                   color: bool = False) -> str:
    """Share of ratings per score bin (20 bins over [0, 1]) of score1..score5, drawn with the
    digits 1..5 as markers (readable without colour), for one verdict."""
    total = hist.totals[verdict]
    title = f"Scores of the images rated {verdict} (n={total}); marker k = score k"
    if total == 0:
        return f"{title}\n  no ratings with this verdict"
    centres = ((hist.edges[:-1] + hist.edges[1:]) / 2).tolist()

    top = max(float(hist.counts[verdict].max()) / total, 0.01) * 1.05

    def setup(f) -> None:
        for j, counts in enumerate(hist.counts[verdict]):
            if counts.sum() == 0:
                continue
            share = (counts / total).tolist()
            f.draw(f.signal(centres, share, marker=str(j + 1)))
        f.ruler("x").lim(0, 1)
        f.ruler("x").ticks(_TICKS)
        f.ruler("y").lim(0, top)
        f.title(title)
        f.label("score", axis="x")
        f.label("share of ratings", axis="y")

    return _build(setup, width, height, color)


def risk_coverage_plot(rc: RiskCoverage, width: int = 80, height: int = 20, color: bool = False,
                       mark: tuple[float, float] | None = None) -> str:
    """Risk (share of kept labels that are wrong) against coverage (share of photos kept,
    score >= t), with the overall error rate (keeping everything) and, when given, the
    recommended threshold's point marked R."""

    def setup(f) -> None:
        x, y = _thin(rc.coverage, rc.risk)
        f.draw(f.signal(x, y, marker="braille").lines().label(f"AURC {fmt(rc.aurc)}"))
        f.draw(f.signal([0.0, 1.0], [rc.aurc_random] * 2, marker="dot").lines()
               .label(f"keep all: {fmt(rc.aurc_random)} wrong"))
        if mark is not None:
            f.draw(f.signal([mark[0]], [mark[1]], marker="R").label("recommended threshold"))
        f.legend(x=1, y=0, ha="right", va="bottom", relative=True)
        f.ruler("x").lim(0, 1)
        f.ruler("x").ticks(_TICKS)
        f.ruler("y").lim(0, max(0.05, float(np.max(rc.risk)) * 1.05 if rc.risk.size else 1.0))
        f.title("Risk-coverage: keep the labels whose score is at least t")
        f.label("coverage (share of photos kept)", axis="x")
        f.label("wrong", axis="y")

    return _build(setup, width, height, color)


def reliability_plot(cal: Calibration, width: int = 80, height: int = 20,
                     color: bool = False) -> str:
    """The CORP reliability diagram: the isotonic recalibration of the score (how often a
    label with that score is right) against the score, and the diagonal of perfect
    calibration."""

    def setup(f) -> None:
        x, y = _thin(np.repeat(cal.score, 2)[1:], np.repeat(cal.recalibrated, 2)[:-1])
        f.draw(f.signal(x, y, marker="braille").lines().label("recalibrated (CORP)"))
        f.draw(f.signal([0.0, 1.0], [0.0, 1.0], marker="dot").lines()
               .label("perfectly calibrated"))
        f.legend(x=1, y=0, ha="right", va="bottom", relative=True)
        for axis in ("x", "y"):
            f.ruler(axis).lim(0, 1)
            f.ruler(axis).ticks(_TICKS)
        f.title(f"Reliability (isotonic, CORP): Brier {fmt(cal.brier)}, ECE {fmt(cal.ece)}")
        f.label("score", axis="x")
        f.label("right", axis="y")

    return _build(setup, width, height, color)


# -- the text report -------------------------------------------------------------------------


def _columns(blocks: Sequence[list[str]], width: int, gap: int = 3) -> list[str]:
    """Lay text blocks side by side, as many per row as fit in `width`."""
    col_w = max((len(line) for b in blocks for line in b), default=0)
    per_row = max(1, (width + gap) // (col_w + gap))
    out: list[str] = []
    for start in range(0, len(blocks), per_row):
        row = blocks[start:start + per_row]
        height = max(len(b) for b in row)
        if out:
            out.append("")
        out += [
            (" " * gap).join((b[i] if i < len(b) else "").ljust(col_w) for b in row).rstrip()
            for i in range(height)
        ]
    return out


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def ci(p: Proportion | None, digits: int = 3) -> str:
    """'0.812 (0.790 to 0.833)': a proportion with its 95% interval."""
    if p is None or p.value is None:
        return "n/a"
    return f"{fmt(p.value, digits)} ({fmt(p.low, digits)} to {fmt(p.high, digits)})"


def _span(p: Proportion) -> str:
    return f"({_pct(p.low)}-{_pct(p.high)})"


def pct_ci(p: Proportion | None) -> str:
    if p is None or p.value is None:
        return "n/a"
    return f"{_pct(p.value)} ({_pct(p.low)} to {_pct(p.high)})"


def render_report(report: Report, width: int = 100, height: int = 30, color: bool = False
                  ) -> str:
    """The whole plain-text report: summary, plots, operating points, confusion matrix,
    categories, histograms and agreement. Text from the data (source, model, rater names,
    labels, notes) has its control characters made visible (`tuilabel.text.visible`)."""
    roc, at, grid, boot = report.roc, report.at_threshold, report.grid, report.bootstrap
    assert roc.youden is not None and roc.closest is not None
    out: list[str] = []
    who = (f"rater {visible(report.rater)}" if report.rater
           else "majority verdict per image" if report.agreement else "one verdict per image")
    out.append(f"tuilabel roc: {visible(report.source)}"
               + (f", model {visible(report.model)}" if report.model else ""))
    out.append(
        f"  {report.n} rated images ({who}; {report.n_read} ratings read); positive: "
        f"{POSITIVE_WORDS[report.positive]} ({roc.n_pos} positive, {roc.n_neg} negative); "
        f"score: {SCORE_WORDS[report.positive]}"
    )
    for note in report.notes:
        out.append(f"  note: {visible(note)}")
    for warning in report.warnings:
        out.append(f"  warning: {warning}")
    out.append("")
    dl = report.auc_delong
    auc_line = f"AUC {fmt(roc.auc)}"
    intervals = []
    if dl.low is not None:
        intervals.append(f"DeLong {fmt(dl.low)} to {fmt(dl.high)}")
    if boot:
        intervals.append(f"bootstrap {fmt(boot.auc_low)} to {fmt(boot.auc_high)}, "
                         f"{boot.n_used} resamples")
    if intervals:
        auc_line += f" (95% intervals: {'; '.join(intervals)})"
    ap_line = (f"average precision {fmt(report.pr.average_precision)} "
               f"(a random guess: {fmt(report.pr.prevalence)})")
    out += [auc_line + "; " + ap_line, ""]
    out.append(roc_plot(roc, width, height, color))
    out.append("")
    out.append(pr_plot(report.pr, width, max(10, height * 2 // 3), color))
    out.append("")

    out.append("Operating points (positive when score >= threshold)")
    for name, pt in (("Youden's J (max TPR-FPR)", roc.youden),
                     ("closest to (0,1)", roc.closest)):
        out.append(f"  {name:<26}t={fmt(pt.threshold, 4)}  FPR {fmt(pt.fpr)}  "
                   f"TPR {fmt(pt.tpr)}  J {fmt(pt.youden_j)}")
    out.append("  (Youden's J maximises TPR + TNR, weighing a missed right label as much as a "
               "wrong label kept, however common each is; closest to (0,1) minimises the "
               "distance to the perfect corner, FPR 0 and TPR 1. Neither aims at a precision: "
               "for that see the target precisions below.)")
    if boot:
        out.append(f"  Youden's threshold, 95% bootstrap interval: {fmt(boot.threshold_low, 4)} "
                   f"to {fmt(boot.threshold_high, 4)}"
                   + ("" if boot.exact_groups else
                      f" (resampled over {boot.groups} score groups)"))
    step = grid.step
    ok_y = grid.agrees(grid.youden, roc.youden) or "MORE than one step away"
    ok_c = grid.agrees(grid.closest, roc.closest) or "MORE than one step away"
    out.append(f"  cross-check on a {grid.grid.shape[0]}-point grid (step {fmt(step, 4)}, "
               f"positive when score > t): Youden {fmt(grid.youden)} ({ok_y}), closest "
               f"{fmt(grid.closest)} ({ok_c})")
    out.append(f"  the original notebook would print: furthest from diagonal t="
               f"{fmt(grid.notebook_diagonal, 2)}, closest to ideal t="
               f"{fmt(grid.notebook_closest, 2)}, \"AUC ~ {fmt(grid.notebook_auc, 2)}\" "
               "(reversed-index and mean-TPR bugs)")
    out.append("")

    how = "Youden's J" if at.chosen_by == "youden" else "--threshold"
    out.append(f"At threshold {fmt(at.threshold, 4)} ({how})")
    iv = report.at_intervals
    base = report.majority_baseline
    commoner = (f"'{'yes' if roc.n_pos >= roc.n_neg else 'no'}'")
    out.append(f"  TPR {ci(iv['tpr'])}   FPR {ci(iv['fpr'])}")
    out.append(f"  precision {ci(iv['precision'])}   accuracy {ci(iv['accuracy'])}; always "
               f"answering {commoner} scores {fmt(base.value)}   (95% Wilson intervals)")
    pos_name = "top1" if report.positive == "top1" else "top1/top5"
    out.append(f"  {'':<18}{'rated ' + pos_name:>16}{'rated otherwise':>18}")
    out.append(f"  {'score >= t':<18}{'TP ' + str(at.tp):>16}{'FP ' + str(at.fp):>18}")
    out.append(f"  {'score <  t':<18}{'FN ' + str(at.fn):>16}{'TN ' + str(at.tn):>18}")
    if report.optimistic:
        held = boot.heldout_accuracy if boot else None
        line = (f"  warning: the threshold was chosen on the same {report.n} ratings it is "
                f"evaluated on, so accuracy {fmt(at.accuracy)} is optimistic")
        if held is not None:
            line += (f"; chosen on bootstrap resamples and measured on the ratings each left out "
                     f"(out-of-bag), accuracy is {fmt(held)}")
        else:
            line += "; run with --bootstrap N for a held-out estimate"
        out.append(line)
    out.append("")

    out.append("Most common top-1 labels (15 per cell)")
    blocks = []
    digits = len(str(max(at.tp, at.fp, at.fn, at.tn)))
    for cell in ("TP", "FP", "FN", "TN"):
        rows = report.categories.get(cell, [])
        total = {"TP": at.tp, "FP": at.fp, "FN": at.fn, "TN": at.tn}[cell]
        block = [f"{cell} ({total})"]
        block += [f"{count:>{digits}} {_pct(count / total if total else None):>6} "
                  f"{visible(label)[:22]}" for label, count in rows] or ["  (none)"]
        blocks.append(block)
    out += _columns(blocks, width)
    out.append("")

    out.append("Score distributions per verdict")
    for verdict in VERDICT_NAMES:
        out.append(histogram_plot(report.histograms, verdict, width, max(10, height // 2), color))
        out.append("")

    agr = report.agreement
    out.append("Agreement between raters")
    if agr is None:
        out.append("  needs ratings from two or more raters")
    else:
        out.append(f"  {agr.multi_rated} images rated by two or more raters; all agreed on "
                   f"{_pct(agr.full_agreement)}")
        if agr.pairs:
            out.append(f"  {'rater A':<16}{'rater B':<16}{'images':>8}{'agree':>8}"
                       f"{'kappa':>8}{'weighted':>10}")
        for p in agr.pairs:
            out.append(f"  {visible(p.rater_a)[:15]:<16}{visible(p.rater_b)[:15]:<16}{p.n:>8}"
                       f"{_pct(p.observed):>8}{fmt(p.kappa):>8}{fmt(p.weighted_kappa):>10}")
        out.append("  (weighted: linear weights over top1 < top5 < none)")
    out.append("")
    out += _selective_section(report, width, height, color)
    return "\n".join(_wrap(line, width) for line in out) + "\n"


def _selective_section(report: Report, width: int, height: int, color: bool) -> list[str]:
    """Risk-coverage, target precisions, calibration, per-label precision, the plan and, last,
    the recommendation."""
    rc, rec, cal = report.risk_coverage, report.recommendation, report.calibration
    out = ["Which threshold: keep a label when its score is at least t"]
    mark = None
    if rec.kept is not None and rec.precision is not None and rec.precision.value is not None:
        mark = (rec.kept.value or 0.0, 1.0 - rec.precision.value)
    out.append(risk_coverage_plot(rc, width, max(10, height * 2 // 3), color, mark))
    boot = report.bootstrap
    aurc_ci = (f" (95% bootstrap interval {fmt(boot.aurc_low)} to {fmt(boot.aurc_high)})"
               if boot and boot.aurc_low is not None else "")
    out.append(f"  area under the risk-coverage curve (AURC, lower is better) {fmt(rc.aurc)}"
               f"{aurc_ci}; a random ranking {fmt(rc.aurc_random)}, a perfect one "
               f"{fmt(rc.aurc_best)}")
    for title, pick in (
        ("lowest t whose precision reaches the target",
         lambda t: (t.threshold, t.precision, t.kept)),
        ("lowest t whose 95% interval lies at or above the target (sure)",
         lambda t: (t.sure_threshold, t.sure_precision, t.sure_kept)),
    ):
        out.append(f"  {title}")
        out.append(f"  {'target':>7} {'t':>8} {'precision':>10} {'95% interval':<16}"
                   f"{'kept':>7}")
        for t in report.targets:
            thr, p, kept = pick(t)
            if thr is None or p is None or kept is None:
                out.append(f"  {_pct(t.target):>7} {'none':>8}")
                continue
            out.append(f"  {_pct(t.target):>7} {fmt(thr, 4):>8} {_pct(p.value):>10} "
                       f"{_span(p):<16}{_pct(kept.value):>7}")
    out.append("")
    out.append("Calibration: is a score of 0.7 right 70% of the time?")
    out.append(reliability_plot(cal, width, max(10, height * 2 // 3), color))
    brier_ci = (f" (95% bootstrap interval {fmt(boot.brier_low, 4)} to "
                f"{fmt(boot.brier_high, 4)})" if boot and boot.brier_low is not None else "")
    out.append(f"  Brier score {fmt(cal.brier, 4)}{brier_ci} = miscalibration "
               f"{fmt(cal.miscalibration, 4)}"
               f" - discrimination {fmt(cal.discrimination, 4)} + uncertainty "
               f"{fmt(cal.uncertainty, 4)} (CORP decomposition); ECE {fmt(cal.ece, 4)} "
               f"({cal.ece_bins} equal-mass bins)")
    out.append("")
    lab = report.labels
    by = {"recommendation": "the recommended threshold", "user": "--threshold",
          "youden": "Youden's J"}[lab.chosen_by]
    out.append(f"Precision per top-1 label at t={fmt(lab.threshold, 4)} ({by}), labels with at "
               f"least {lab.min_photos} rated photos")
    if lab.rows or lab.other:
        out.append(f"  {'label':<24}{'photos':>8}{'kept':>8}   precision (95% interval)")
    for row in (*lab.rows, *((lab.other,) if lab.other else ())):
        out.append(f"  {visible(row.label)[:23]:<24}{row.n:>8}{row.precision.n:>8}   "
                   f"{pct_ci(row.precision)}")
    if not lab.rows:
        out.append(f"  no label has {lab.min_photos} rated photos yet (--min-label-photos)")
    out.append("")
    out.append(f"Plan: {report.plan.text}")
    out.append("")
    out.append(f"Recommendation: {rec.text}")
    out.append(f"  Why: {rec.why}")
    return out


def _wrap(text: str, width: int) -> str:
    """Wrap long text lines to the width (plots are already sized; they pass untouched)."""
    if "\n" in text or len(text) <= width or "\x1b" in text:
        return text
    indent = " " * (len(text) - len(text.lstrip()) + 2)
    return textwrap.fill(text, width, subsequent_indent=indent, break_on_hyphens=False)


def render_plan(report: Report) -> str:
    """`tuilabel roc --plan`: the intervals now and how many ratings narrow them."""
    roc, dl, rec = report.roc, report.auc_delong, report.recommendation
    lines = [f"tuilabel roc --plan: {visible(report.source)}",
             f"  {roc.n:,} rated photos ({roc.n_pos:,} positive: {POSITIVE_WORDS[roc.positive]})",
             f"  AUC {fmt(roc.auc)}, 95% interval {fmt(dl.low)} to {fmt(dl.high)} (DeLong)"]
    if rec.threshold is not None:
        lines.append(f"  precision at t={rec.threshold:.4g}: {pct_ci(rec.precision)} (Wilson), "
                     f"{_pct(rec.kept.value if rec.kept else None)} of photos kept")
    lines.append(f"  {report.plan.text}")
    return "\n".join(lines) + "\n"

