"""The figures are strings: assert on axes, marked points and legends."""

from __future__ import annotations

import re

import numpy as np
from test_analysis import make_ratings, notebook_like

from tuilabel.analysis import analyse, roc_result
from tuilabel.plots import fmt, histogram_plot, pr_plot, render_report, roc_plot

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def canvas(plot: str) -> list[str]:
    """The rows inside the plot frame, without the frame and y tick labels."""
    rows = plot.splitlines()
    top = next(i for i, r in enumerate(rows) if "┌" in r)
    bottom = next(i for i, r in enumerate(rows) if "└" in r and i > top)
    left = rows[top].index("┌")
    return [r[left + 1:].rstrip("│ ") for r in rows[top + 1:bottom]]


def find(rows: list[str], ch: str) -> list[tuple[float, float]]:
    """Positions of a character as (x, y) fractions of the canvas (0,0 bottom left)."""
    h = len(rows) - 1
    w = max(len(r) for r in rows) - 1
    return [(c / w, 1 - r / h) for r, row in enumerate(rows) for c, x in enumerate(row) if x == ch]


def test_roc_plot_has_axes_both_marked_points_and_the_legend():
    y, s = notebook_like()
    r = roc_result(y, s)
    plot = roc_plot(r, width=80, height=30)
    assert not ANSI.search(plot)
    assert "FPR (false positive rate)" in plot and "TPR" in plot
    for tick in ("0.00", "0.25", "0.50", "0.75", "1.00"):
        assert tick in plot
    assert f"Youden's J: t={fmt(r.youden.threshold)}" in plot
    assert f"closest to (0,1): t={fmt(r.closest.threshold)}" in plot
    assert f"AUC {fmt(r.auc)}" in plot and "chance" in plot
    rows = canvas(plot)
    # Each marker appears twice: on the curve and as the legend sample; the curve one sits
    # where its (FPR, TPR) is: about (0.25, 0.82) for Y, (0.22, 0.79) for C.
    for ch, pt in (("Y", r.youden), ("C", r.closest)):
        spots = find(rows, ch)
        assert any(abs(x - pt.fpr) < 0.06 and abs(yy - pt.tpr) < 0.08 for x, yy in spots), (
            ch, spots, pt)


def test_roc_plot_when_points_coincide_and_when_undefined():
    y = np.array([1, 1, 0, 0], dtype=bool)
    r = roc_result(y, np.array([0.9, 0.8, 0.2, 0.1]))
    plot = roc_plot(r, 60, 20)
    assert "Youden's J = closest to (0,1): t=0.800" in plot
    empty = roc_plot(roc_result(np.array([True]), np.array([0.5])), 60, 20)
    assert "not enough ratings yet" in empty and "┌" not in empty


def test_colour_only_when_asked():
    y, s = notebook_like(300)
    r = roc_result(y, s)
    assert ANSI.search(roc_plot(r, 60, 20, color=True))
    assert not ANSI.search(roc_plot(r, 60, 20, color=False))


def test_pr_plot_and_histograms():
    y, s = notebook_like(1000)
    report = analyse(make_ratings(y, s), n_bootstrap=0)
    pr = pr_plot(report.pr, 70, 16)
    assert "recall (TPR)" in pr and "precision" in pr
    assert f"AP {fmt(report.pr.average_precision)}" in pr and "random guess" in pr
    h = histogram_plot(report.histograms, "top1", 70, 14)
    assert f"rated top1 (n={int(y.sum())})" in h and "marker k = score k" in h
    rows = canvas(h)
    assert find(rows, "1") and find(rows, "2")  # score1 and score2 drawn with their digits
    assert "no ratings with this verdict" in histogram_plot(report.histograms, "top5", 70, 14)


def test_report_text_has_every_section_and_no_nan():
    y, s = notebook_like(800)
    report = analyse(make_ratings(y, s, ["web_site", "suit"]), n_bootstrap=100, seed=1)
    text = render_report(report, 100, 24)
    for part in ("AUC", "Operating points", "cross-check on a 100-point grid",
                 "the original notebook would print", "At threshold", "TP ", "FN ",
                 "warning: the threshold was chosen on the same", "out-of-bag",
                 "Most common top-1 labels", "web_site", "Score distributions",
                 "Agreement between raters"):
        assert part in text, part
    assert "nan" not in text.lower()
    assert not ANSI.search(text)
