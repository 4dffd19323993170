"""The faults of issue 11 (cases in shared/cases/roc/fail-NN.md), each with its right value from
an independent computation: scikit-learn, exact fractions, or a count by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest
from conftest import REPO, run_cli
from sklearn.metrics import roc_auc_score, roc_curve

from tuilabel.analysis import analyse, bootstrap, roc_result
from tuilabel.analysis.bootstrap import BATCH, _cells
from tuilabel.analysis.data import Ratings
from tuilabel.plots import render_report
from tuilabel.store import NewImage

HEADER = ("id\ttweet_id\tlink\tkeyword1\tscore1\tkeyword2\tscore2\tkeyword3\tscore3\tkeyword4"
          "\tscore4\tkeyword5\tscore5\tlabel_id\n")


def tsv_rows(rows: list[tuple[int, float, int]]) -> str:
    """An export: (id, score1, label_id) per row."""
    return HEADER + "".join(
        f"{i}\t{10**17 + i}\thttps://x/{i}.jpg\tk{i}\t{s}\tb\t0.01\t\t\t\t\t\t\t{lab}\n"
        for i, s, lab in rows)


def ratings_of(y, s) -> Ratings:
    y, s = np.asarray(y, bool), np.asarray(s, float)
    n = y.shape[0]
    scores = np.full((n, 5), np.nan)
    scores[:, 0] = s
    return Ratings(np.arange(n, dtype=np.int64), np.where(y, 0, 2).astype(np.int8), scores,
                   np.zeros(n, np.int32), ("cat",), "test", n)


def exact_points(y, s):
    """Every finite threshold of scikit-learn's curve with its exact (FPR, TPR) fractions."""
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    n_pos, n_neg = int(np.sum(y)), int(np.sum(~np.asarray(y, bool)))
    return [(float(t), Fraction(round(f * n_neg), n_neg), Fraction(round(p * n_pos), n_pos))
            for f, p, t in zip(fpr[1:], tpr[1:], thr[1:], strict=True)]


def best_highest(points, key):
    """The highest threshold among those with the largest key (exact comparison)."""
    top = max(key(f, p) for _, f, p in points)
    return max(t for t, f, p in points if key(f, p) == top)


# -- fail-01: exact ties on Youden's J and on the distance to (0, 1) ----------------------------

FAIL01_POS = [0.9, 0.8, 0.7, 0.5, 0.01]
FAIL01_NEG = [0.6, 0.2, 0.1, 0.05, 0.04]


def test_fail01_youden_tie_goes_to_the_higher_threshold_exactly():
    y = np.r_[np.ones(5, bool), np.zeros(5, bool)]
    s = np.r_[FAIL01_POS, FAIL01_NEG]
    # J = 3/5 exactly at t=0.7 (TPR 3/5, FPR 0) and at t=0.5 (TPR 4/5, FPR 1/5).
    expected = best_highest(exact_points(y, s), lambda f, p: p - f)
    assert expected == 0.7
    r = roc_result(y, s)
    assert (r.youden.threshold, r.youden.fpr, r.youden.tpr) == (0.7, 0.0, 0.6)
    at = analyse(ratings_of(y, s), n_bootstrap=0).at_threshold
    assert (at.tp, at.fp, at.fn, at.tn) == (3, 0, 2, 5)
    # The bootstrap's formula on the data itself lands on the same threshold.
    from tuilabel.analysis.bootstrap import _batch_stats
    c = _cells(y, s, 4096)
    assert _batch_stats(c, c.pos[None, :], c.neg[None, :])[1][0] == 0.7


def test_fail01_kind_closest_tie_goes_to_the_higher_threshold_exactly():
    # Found by search: (1/3, 1/3) at t=0.92 and at t=0.15 are exactly as far from (0, 1),
    # but in floats the lower one looked closer.
    y = np.array([1, 1, 1, 0, 0, 0], bool)
    s = np.array([0.92, 0.15, 0.07, 0.97, 0.67, 0.09])
    points = exact_points(y, s)
    expected = best_highest(points, lambda f, p: -(f * f + (1 - p) * (1 - p)))
    assert expected == 0.92
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    assert thr[1 + int(np.argmin(np.hypot(fpr[1:], 1 - tpr[1:])))] == 0.15  # the float trap
    assert roc_result(y, s).closest.threshold == 0.92


def test_fail01_kind_ties_on_random_data_with_heavy_ties():
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(4, 40))
        s = rng.integers(0, 6, n) / 5  # six distinct scores: ties everywhere
        y = rng.random(n) < 0.4
        if y.all() or not y.any():
            continue
        points = exact_points(y, s)
        r = roc_result(y, s)
        assert r.youden.threshold == best_highest(points, lambda f, p: p - f)
        assert r.closest.threshold == best_highest(
            points, lambda f, p: -(f * f + (1 - p) * (1 - p)))
        assert r.auc == pytest.approx(roc_auc_score(y, s), abs=1e-12)


# -- fail-03: the grid cross-check compares operating points --------------------------------


def test_fail03_grid_on_the_same_operating_point_is_not_called_far():
    y = np.array([1, 1, 1, 0, 0, 0], bool)
    s = np.array([0.9, 0.7, 0.7, 0.5, 0.3, 0.3])
    report = analyse(ratings_of(y, s), n_bootstrap=0)
    assert report.roc.youden.threshold == 0.7 and report.roc.closest.threshold == 0.7
    assert report.grid.youden == pytest.approx(50 / 99)  # first of the plateau, 0.505
    words = " ".join(render_report(report, 100, 24).split())
    assert "Youden 0.505 (same operating point), closest 0.505 (same operating point)" in words
    assert "MORE than one step away" not in words


# -- fail-04: --from an export with several raters' rows per photo --------------------------


def test_fail04_repeated_ids_in_an_export_are_voted_per_photo(tmp_path):
    # 4 images rated by ann and bob: (0.9 top1/top1), (0.8 top1/none), (0.3 none/none),
    # (0.2 top1/none). By hand: only image 1 has a majority for top1 (ties count as no).
    rows = [(1, 0.9, 0), (1, 0.9, 0), (2, 0.8, 0), (2, 0.8, 2), (3, 0.3, 2), (3, 0.3, 2),
            (4, 0.2, 0), (4, 0.2, 2)]
    path = tmp_path / "export.tsv"
    path.write_text(tsv_rows(rows))
    r = run_cli("roc", "--from", str(path), "--json", "--bootstrap", "0")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    y_hand, s_hand = [True, False, False, False], [0.9, 0.8, 0.3, 0.2]
    assert (d["n"], d["roc"]["n_pos"], d["roc"]["n_neg"]) == (4, 1, 3)
    assert d["roc"]["auc"] == roc_auc_score(y_hand, s_hand) == 1.0
    assert d["pr"]["average_precision"] == 1.0
    notes = " ".join(d["notes"])
    assert "8 rows of 4 images (ids repeat" in notes
    assert "2 tied vote(s) on whether the top-1 label is right" in notes
    assert "share their score" not in notes


# -- fail-05: --positive top5 with several raters votes on the question analysed ------------


def test_fail05_top5_vote_is_on_the_question_analysed(store, db_url):
    # image: (score1..5, ann, bob, cy); image 1: two of three say a right label is in the top 5
    images = [((0.3, 0.1, 0.05, 0.03, 0.02), ("top1", "top5", "none")),
              ((0.4, 0.1, 0.05, 0.03, 0.02), ("none", "none", "none")),
              ((0.7, 0.2, 0.05, 0.02, 0.01), ("top5", "top5", "top5")),
              ((0.1, 0.1, 0.05, 0.03, 0.02), ("none", "none", "top5"))]
    store.add_images([NewImage(str(i), f"https://x/{i}.jpg", "vgg16",
                               [(f"l{j}", sc) for j, sc in enumerate(scores)])
                      for i, (scores, _) in enumerate(images)])
    for image_id, (_, verdicts) in enumerate(images, start=1):
        for rater, v in zip(("ann", "bob", "cy"), verdicts, strict=True):
            store.add_rating(image_id, rater, v)
    r = run_cli("roc", "--db", db_url, "--positive", "top5", "--json", "--bootstrap", "0")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    y_hand = [True, False, True, False]  # yes votes 2/3, 0/3, 3/3, 1/3
    s_hand = [sum(scores) for scores, _ in images]
    assert d["roc"]["n_pos"] == 2
    assert d["roc"]["auc"] == pytest.approx(roc_auc_score(y_hand, s_hand)) == 0.75
    # top1 on the same ratings: image 1 is one yes (ann) against two no.
    r1 = run_cli("roc", "--db", db_url, "--bootstrap", "0")
    assert r1.returncode == 1 and "all 4 rating(s) are negative" in r1.stderr


# -- fail-06: how many ratings share a score ------------------------------------------------


def test_fail06_tie_count_is_the_ratings_that_share_a_score():
    r = roc_result(np.array([1, 1, 0, 0], bool), np.array([0.7, 0.5, 0.5, 0.2]))
    assert r.ties == 2  # by hand: the two ratings at 0.5
    assert roc_result(np.r_[np.ones(20, bool), np.zeros(20, bool)], np.full(40, 0.4)).ties == 40
    assert roc_result(np.array([1, 0, 1], bool), np.array([0.3, 0.2, 0.1])).ties == 0


# -- fail-07: histogram bin edges -----------------------------------------------------------


def test_fail07_a_score_on_a_bin_edge_goes_in_the_bin_it_starts():
    from tuilabel.analysis.roc import score_histograms

    s = np.array([k / 20 for k in range(21)])
    y = np.arange(21) % 2 == 0
    h = score_histograms(ratings_of(y, s))
    total = h.counts["top1"][0] + h.counts["none"][0]
    # By hand, in decimal: score k/20 opens bin k; 1.0 closes the last bin.
    from decimal import Decimal
    hand = np.zeros(20, int)
    for k in range(21):
        hand[min(19, int(Decimal(str(s[k])) * 20))] += 1
    assert total.tolist() == hand.tolist() == [1] * 19 + [2]


# -- fail-08: a bootstrap resample's threshold is one of its own scores ---------------------

FAIL08 = [(0.58, 0), (0.62, 0), (0.46, 1), (0.4, 1), (0.49, 0), (0.92, 1), (0.82, 0),
          (0.59, 0), (0.31, 1), (0.77, 0), (0.85, 1), (0.51, 0)]


def test_fail08_bootstrap_never_picks_an_undrawn_top_score():
    s = np.array([v for v, _ in FAIL08])
    y = np.array([p for _, p in FAIL08], bool)
    b = bootstrap(y, s, 1000, seed=1)
    # Replay the bootstrap's random stream (one multinomial over score x class cells per
    # batch) and analyse each resample spelled out, with scikit-learn and exact fractions.
    c = _cells(y, s, 4096)
    order = np.argsort(s)
    p = np.concatenate([c.pos, c.neg]) / 12
    rng = np.random.default_rng(1)
    thresholds, accuracy = [], []
    for _ in range(1000 // BATCH):
        for draw in rng.multinomial(12, p / p.sum(), size=BATCH):
            counts = draw[:12] + draw[12:]
            idx = np.repeat(order, counts)
            ys, ss = y[idx], s[idx]
            if ys.all() or not ys.any():
                continue
            t = best_highest(exact_points(ys, ss), lambda f, q: q - f)
            thresholds.append(t)
            oob = np.setdiff1d(np.arange(12), idx)
            accuracy.append(((s[oob] >= t) == y[oob]).mean())
    assert b.n_used == len(thresholds)
    lo, hi = np.percentile(thresholds, [2.5, 97.5])
    assert (b.threshold_low, b.threshold_high) == (lo, hi) == (0.31, 0.92)
    assert b.heldout_accuracy == pytest.approx(np.mean(accuracy), abs=1e-12)
    assert round(b.heldout_accuracy, 3) == 0.659


# -- fail-09: --width/--height beyond the terminal, or without one --------------------------


def test_fail09_plot_size_follows_width_and_height_without_a_terminal(tmp_path):
    rng = np.random.default_rng(0)
    rows = [(i, round(float(rng.random()), 3), int(rng.integers(0, 3))) for i in range(1, 41)]
    path = tmp_path / "e.tsv"
    path.write_text(tsv_rows(rows))
    out = tmp_path / "out.txt"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PYTHONPATH"] = str(REPO)
    r = subprocess.run([sys.executable, "-m", "tuilabel", "roc", "--from", str(path),
                        "--bootstrap", "0", "--width", "120", "--height", "40", "-o", str(out)],
                       capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL,
                       start_new_session=True, timeout=300)  # no controlling terminal
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("ROC:"))
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    plot = lines[start:end]
    assert len(plot) == 40
    assert max(len(line) for line in plot) == 120
