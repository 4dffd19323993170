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

from tuilabel.analysis.data import VERDICT_NAMES
from tuilabel.analysis.report import Report
from tuilabel.analysis.roc import POSITIVE_WORDS, SCORE_WORDS, Histograms, PrResult, RocResult
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
    assert result.youden is not None and result.closest is not None

    def setup(f) -> None:
        x, y = _thin(result.fpr, result.tpr)
        f.draw(f.signal(x, y, marker="braille").lines()
               .label(f"ROC, AUC {fmt(result.auc)}"))
        f.draw(f.signal([0.0, 1.0], [0.0, 1.0], marker="dot").lines().label("chance"))
        y_pt, c_pt = result.youden, result.closest
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
    out.append("")
    auc_line = f"AUC {fmt(roc.auc)}"
    if boot:
        auc_line += (f" (95% bootstrap interval {fmt(boot.auc_low)} to {fmt(boot.auc_high)}, "
                     f"{boot.n_used} resamples)")
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
    out.append(f"  TPR {fmt(at.tpr)}   FPR {fmt(at.fpr)}   precision {fmt(at.precision)}   "
               f"accuracy {fmt(at.accuracy)}")
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
    return "\n".join(_wrap(line, width) for line in out) + "\n"


def _wrap(text: str, width: int) -> str:
    """Wrap long text lines to the width (plots are already sized; they pass untouched)."""
    if "\n" in text or len(text) <= width or "\x1b" in text:
        return text
    indent = " " * (len(text) - len(text.lstrip()) + 2)
    return textwrap.fill(text, width, subsequent_indent=indent, break_on_hyphens=False)
