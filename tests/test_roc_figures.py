"""The figures `tuilabel roc` adds for issue 11 (intervals, thresholds per target precision,
risk-coverage, calibration, per-label precision, the plan), each against an independent
computation: scipy, scikit-learn, or a plain loop written from the definition."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_cli
from scipy.stats import binomtest
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from tuilabel.analysis import analyse
from tuilabel.analysis.calibration import calibration
from tuilabel.analysis.data import Ratings
from tuilabel.analysis.intervals import (
    Z95,
    delong,
    hanley_mcneil_se,
    proportion,
    ratings_for_auc,
    ratings_for_proportion,
    wilson_bounds,
)
from tuilabel.analysis.roc import binary_counts
from tuilabel.analysis.selective import per_label, risk_coverage, target_thresholds


def generated(n: int, seed: int, prevalence: float = 0.4, decimals: int | None = None):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < prevalence
    s = np.where(y, rng.beta(5.5, 4.5, n), rng.beta(2.5, 5.5, n))
    return y, (s.round(decimals) if decimals is not None else s)


def ratings_of(y, s, label1=None, labels=("cat",)) -> Ratings:
    n = y.shape[0]
    scores = np.full((n, 5), np.nan)
    scores[:, 0] = s
    label1 = np.zeros(n, np.int32) if label1 is None else label1.astype(np.int32)
    return Ratings(np.arange(n, dtype=np.int64), np.where(y, 0, 2).astype(np.int8), scores,
                   label1, tuple(labels), "test", n)


# -- intervals -------------------------------------------------------------------------------


@pytest.mark.parametrize(("k", "n"), [(0, 10), (1, 10), (5, 10), (10, 10), (37, 120),
                                      (999, 1000), (1, 1)])
def test_wilson_matches_scipy(k, n):
    expected = binomtest(k, n).proportion_ci(0.95, method="wilson")
    p = proportion(k, n)
    assert p.low == pytest.approx(expected.low, abs=1e-12)
    assert p.high == pytest.approx(expected.high, abs=1e-12)
    assert proportion(0, 0).value is None


def delong_by_pairs(y, s):
    """DeLong 1988 written from its definition: psi over every positive/negative pair."""
    pos, neg = s[y], s[~y]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    auc = psi.mean()
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    var = v10.var(ddof=1) / pos.shape[0] + v01.var(ddof=1) / neg.shape[0]
    return auc, np.sqrt(var)


@pytest.mark.parametrize(("seed", "decimals"), [(0, None), (1, 1), (2, 2)])
def test_delong_matches_the_pairwise_definition_with_ties(seed, decimals):
    y, s = generated(300, seed, decimals=decimals)
    _, tps, fps = binary_counts(y, s)
    d = delong(tps, fps)
    auc, se = delong_by_pairs(y, s)
    assert d.auc == pytest.approx(auc, abs=1e-12) == pytest.approx(roc_auc_score(y, s))
    assert d.se == pytest.approx(se, rel=1e-9)
    assert (d.low, d.high) == pytest.approx((auc - Z95 * se, auc + Z95 * se), abs=1e-12)


def test_hanley_mcneil_agrees_with_delong_on_exponential_scores():
    """Hanley & McNeil's Q1, Q2 are exact for negative-exponential scores: there the formula
    must agree with DeLong's SE of the data (a check independent of the formula's code)."""
    rng = np.random.default_rng(4)
    n_pos, n_neg = 4000, 6000
    s = np.r_[rng.exponential(1 / 0.4, n_pos), rng.exponential(1.0, n_neg)]
    y = np.r_[np.ones(n_pos, bool), np.zeros(n_neg, bool)]
    _, tps, fps = binary_counts(y, s)
    d = delong(tps, fps)
    assert hanley_mcneil_se(d.auc, n_pos, n_neg) == pytest.approx(d.se, rel=0.05)


def test_planned_ratings_give_the_width_and_one_fewer_does_not():
    n = ratings_for_auc(0.85, 0.3, 0.05)
    width = lambda m: 2 * Z95 * hanley_mcneil_se(0.85, 0.3 * m, 0.7 * m)  # noqa: E731
    assert width(n) <= 0.05 < width(n - 1)
    m = ratings_for_proportion(0.9, 0.05)
    lo, hi = wilson_bounds(0.9 * m, m)
    lo1, hi1 = wilson_bounds(0.9 * (m - 1), m - 1)
    assert hi - lo <= 0.05 < hi1 - lo1
    assert 500 < m < 600  # the Wald approximation 4 z^2 p (1-p) / w^2 = 553


# -- thresholds for a target precision and the risk-coverage curve ---------------------------


def test_target_thresholds_match_a_loop_over_every_threshold():
    y, s = generated(3000, 5, decimals=2)  # ties
    thr, tps, fps = binary_counts(y, s)
    got = target_thresholds(thr, tps, fps, (0.6, 0.8, 0.9, 0.999))
    for goal in got:
        lowest, sure = None, None
        for t in sorted(set(s.tolist())):
            kept = s >= t
            k, m = int((y & kept).sum()), int(kept.sum())
            if lowest is None and k / m >= goal.target:
                lowest = (t, k, m)
            ci = binomtest(k, m).proportion_ci(0.95, method="wilson")
            if sure is None and ci.low >= goal.target - 1e-12:
                sure = (t, k, m)
        if lowest is None:
            assert goal.threshold is None
        else:
            assert goal.threshold == lowest[0]
            assert (goal.precision.k, goal.precision.n) == lowest[1:]
            assert goal.kept.value == lowest[2] / 3000
        if sure is None:
            assert goal.sure_threshold is None
        else:
            assert goal.sure_threshold == sure[0]
            assert goal.sure_precision.low >= goal.target


def test_risk_coverage_area_matches_the_mean_risk_of_the_best_i_photos():
    y, s = generated(2000, 6)  # distinct scores: the usual definition applies as is
    order = np.argsort(-s)
    wrong = np.cumsum(~y[order])
    i = np.arange(1, 2001)
    rc = risk_coverage(*binary_counts(y, s))
    assert rc.aurc == pytest.approx(np.mean(wrong / i), abs=1e-12)
    best = np.cumsum(~np.sort(y)[::-1])  # every right label first
    assert rc.aurc_best == pytest.approx(np.mean(best / i), abs=1e-12)
    assert rc.aurc_random == pytest.approx((~y).mean())
    assert rc.aurc_best < rc.aurc < rc.aurc_random


# -- calibration -----------------------------------------------------------------------------


@pytest.mark.parametrize("decimals", [None, 2])
def test_reliability_diagram_is_scikit_learns_isotonic_regression(decimals):
    y, s = generated(3000, 7, decimals=decimals)
    thr, tps, fps = binary_counts(y, s)
    cal = calibration(thr, tps, fps, s, y, max_points=10**9)
    iso = IsotonicRegression(y_min=0, y_max=1).fit(s, y.astype(float))
    np.testing.assert_allclose(cal.recalibrated, iso.predict(cal.score), atol=1e-12)
    assert cal.brier == pytest.approx(brier_score_loss(y, s), abs=1e-12)
    fitted = iso.predict(s)
    bs_fit = np.mean((fitted - y) ** 2)
    ybar = y.mean()
    assert cal.uncertainty == pytest.approx(ybar * (1 - ybar))
    assert cal.miscalibration == pytest.approx(brier_score_loss(y, s) - bs_fit, abs=1e-12)
    assert cal.discrimination == pytest.approx(ybar * (1 - ybar) - bs_fit, abs=1e-12)
    assert cal.brier == pytest.approx(cal.miscalibration - cal.discrimination
                                      + cal.uncertainty, abs=1e-12)
    # ECE over 10 equal-mass bins by rank, from its definition; equal scores cut by a bin edge
    # are shared in proportion (a loop over the scores and the bins).
    n = len(s)
    edges = np.r_[0, np.cumsum([len(p) for p in np.array_split(np.arange(n), 10)])]
    bin_pos, bin_sum, start = np.zeros(10), np.zeros(10), 0
    for v in np.unique(s):
        members = s == v
        m, p = members.sum(), (members & y).sum()
        for b in range(10):
            overlap = max(0, min(edges[b + 1], start + m) - max(edges[b], start))
            bin_pos[b] += overlap * p / m
            bin_sum[b] += overlap * v
        start += m
    assert cal.ece == pytest.approx(np.abs(bin_pos - bin_sum).sum() / n, abs=1e-12)
    if decimals is None:  # distinct scores: the usual cut of the sorted ratings
        parts = np.array_split(np.argsort(s), 10)
        ece = sum(len(p) * abs(y[p].mean() - s[p].mean()) for p in parts) / n
        assert cal.ece == pytest.approx(ece, abs=1e-12)


def test_a_calibrated_score_has_little_miscalibration():
    rng = np.random.default_rng(8)
    s = rng.random(20000)
    y = rng.random(20000) < s  # right with probability equal to the score
    cal = calibration(*binary_counts(y, s), s, y)
    assert cal.miscalibration < 0.005 and cal.ece < 0.02
    skewed = calibration(*binary_counts(y, s**3), s**3, y)
    assert skewed.miscalibration > 0.02


# -- per label, baseline, warning ------------------------------------------------------------


def test_per_label_precision_matches_a_loop_and_pools_small_labels():
    rng = np.random.default_rng(9)
    y, s = generated(1000, 9)
    label1 = rng.choice(5, 1000, p=[0.5, 0.3, 0.15, 0.03, 0.02])
    names = ("cat", "dog", "menu", "suit", "web_site")
    b = per_label(y, s, label1, names, 0.5, "user", min_photos=100)
    shown = {r.label for r in b.rows}
    assert shown == {names[i] for i in range(5) if (label1 == i).sum() >= 100}
    for r in b.rows:
        i = names.index(r.label)
        mask = (label1 == i) & (s >= 0.5)
        assert (r.n, r.precision.n, r.precision.k) == ((label1 == i).sum(), mask.sum(),
                                                       (mask & y).sum())
    values = [r.precision.value for r in b.rows]
    assert values == sorted(values, reverse=True)
    small = np.isin(label1, [i for i in range(5) if names[i] not in shown])
    assert b.other.n == small.sum() and b.other.labels == 5 - len(shown)
    assert b.other.precision.k == (small & (s >= 0.5) & y).sum()


def test_rare_positives_warn_and_accuracy_is_shown_beside_the_majority_baseline():
    y, s = generated(5000, 10, prevalence=0.02)
    report = analyse(ratings_of(y, s), n_bootstrap=0)
    assert report.majority_baseline.value == pytest.approx(1 - y.mean())
    assert len(report.warnings) == 1 and "positives are rare" in report.warnings[0]
    assert f"{1 - y.mean():.3f}" in report.warnings[0]
    common = analyse(ratings_of(*generated(2000, 11)), n_bootstrap=0)
    assert common.warnings == ()
    y_few = np.r_[np.ones(12, bool), np.zeros(200, bool)]
    few = analyse(ratings_of(y_few, np.linspace(0, 1, 212)), n_bootstrap=0)
    assert any(w.startswith("only 12 positives: the AUC's 95% intervals are too narrow")
               for w in few.warnings)
    iv = report.at_intervals
    at = report.at_threshold
    assert (iv["accuracy"].k, iv["accuracy"].n) == (at.tp + at.tn, at.n)
    assert (iv["precision"].k, iv["precision"].n) == (at.tp, at.tp + at.fp)


def test_recommendation_is_the_strictest_target_reached_with_confidence():
    y, s = generated(20000, 12)
    report = analyse(ratings_of(y, s), n_bootstrap=0, targets=(0.7, 0.8, 0.9))
    rec = report.recommendation
    sure = [t for t in report.targets if t.sure_threshold is not None]
    strictest = max(sure, key=lambda t: t.target)
    assert rec.sure and rec.target == strictest.target
    assert rec.threshold == strictest.sure_threshold
    kept = s >= rec.threshold
    assert rec.precision.value == pytest.approx(y[kept].mean())
    assert rec.kept.value == pytest.approx(kept.mean())
    assert rec.text.startswith(f"Keep labels with score >= {rec.threshold:.4g}: ")


# -- end to end: JSON and text ---------------------------------------------------------------


def test_json_and_text_carry_every_new_figure_with_its_interval(tmp_path):
    y, s = generated(600, 13, decimals=3)
    path = tmp_path / "e.tsv"
    with open(path, "w") as f:
        f.write("id\tkeyword1\tscore1\tlabel_id\n")
        for i, (yi, si) in enumerate(zip(y, s, strict=True)):
            f.write(f"{i}\t{'cat' if i % 3 else 'dog'}\t{si}\t{0 if yi else 2}\n")
    r = run_cli("roc", "--from", str(path), "--json", "--bootstrap", "200", "--seed", "1",
                "--target-precision", "0.7", "--target-precision", "0.85", "--min-label-photos",
                "50", "--plan-width", "0.1")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["auc_delong"]["low"] < d["roc"]["auc"] < d["auc_delong"]["high"]
    assert d["auc_delong"]["auc"] == pytest.approx(roc_auc_score(y, s))
    for name in ("tpr", "fpr", "precision", "accuracy"):
        iv = d["at_intervals"][name]
        assert iv["low"] <= iv["value"] <= iv["high"] and iv["method"] == "Wilson"
    assert [t["target"] for t in d["targets"]] == [0.7, 0.85]
    assert all("low" in t["precision"] for t in d["targets"] if t["precision"])
    assert d["majority_baseline"]["value"] == pytest.approx(max(y.mean(), 1 - y.mean()))
    assert {"aurc", "aurc_random", "aurc_best", "coverage", "risk"} <= set(d["risk_coverage"])
    assert {"brier", "miscalibration", "discrimination", "uncertainty", "ece"} <= set(
        d["calibration"])
    assert d["recommendation"]["text"].startswith("Keep labels with score >= ")
    assert d["labels"]["min_photos"] == 50 and len(d["labels"]["rows"]) == 2
    assert d["plan"]["width"] == 0.1 and d["plan"]["auc_ratings"] > 0
    text = run_cli("roc", "--from", str(path), "--bootstrap", "0", "--width", "100")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.rstrip().splitlines()
    words = " ".join(text.stdout.split())
    assert "DeLong" in words and "Wilson" in words and "always answering 'no' scores" in words
    assert "AURC" in words and "CORP" in words and "Plan:" in words
    assert any(line.startswith("Recommendation: Keep labels with score >= ") for line in
               lines[-8:])
    plan = run_cli("roc", "--from", str(path), "--plan", "--bootstrap", "0")
    assert plan.returncode == 0 and "Hanley-McNeil" in plan.stdout
    assert "ROC:" not in plan.stdout
    bad = run_cli("roc", "--from", str(path), "--target-precision", "0")
    assert bad.returncode == 2 and "--target-precision" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_live_summary_for_the_tui_gives_the_reports_figures():
    from tuilabel.analysis import live_summary

    y, s = generated(800, 14, decimals=3)
    n = y.shape[0]
    columns = {"image_id": list(range(1, n + 1)), "rater": ["ann"] * n,
               "verdict": ["top1" if v else "none" for v in y], "score1": s.tolist(),
               "label1": ["cat"] * n}
    live = live_summary(columns, "live")
    report = analyse(ratings_of(y, s), n_bootstrap=0)
    assert live.roc.auc == pytest.approx(roc_auc_score(y, s))
    assert live.auc_delong == report.auc_delong
    assert live.recommendation == report.recommendation
    assert live.plan == report.plan
    empty = live_summary({"image_id": [], "rater": [], "verdict": [], "score1": [],
                          "label1": []}, "live")
    assert not empty.roc.defined and empty.plan is None


def test_arrow_read_gives_the_same_table_as_the_plain_read(sqlite_url):
    """`roc` reads SQLite through ADBC (Arrow columns); it must give exactly what the plain
    `rating_columns` read gives, nulls (photos with fewer than 5 labels) and all."""
    pytest.importorskip("adbc_driver_sqlite")
    from tuilabel.analysis.data import read_table, table_from_columns
    from tuilabel.store import NewImage, open_store

    with open_store(sqlite_url) as store:
        store.add_images([NewImage(str(i), f"https://x/{i}.jpg", "vgg16" if i % 4 else "m2",
                                   [(f"l{i % 7}", 0.9 - i / 1000)] + [("x", 0.01)] * (i % 5))
                          for i in range(300)])
        for image_id in range(1, 301):
            store.add_rating(image_id, "ann", ("top1", "top5", "none", "unrateable")[image_id % 4])
            if image_id % 3 == 0:
                store.add_rating(image_id, "bob\x1b[2J", "top1")
        assert store.rating_arrow() is not None
        for model in (None, "vgg16", "nothing"):
            fast = read_table(store, model=model)
            plain = table_from_columns(store.rating_columns(model=model, k=5, labels=1))
            for name in ("image_id", "rater", "verdict", "scores", "label1"):
                np.testing.assert_array_equal(getattr(fast, name), getattr(plain, name))
            assert (fast.raters, fast.labels) == (plain.raters, plain.labels)


def test_bootstrap_aurc_and_brier_intervals_match_a_plain_resampling_loop():
    from tuilabel.analysis import bootstrap

    y, s = generated(800, 15, decimals=3)
    b = bootstrap(y, s, 1000, seed=2)
    rng = np.random.default_rng(7)
    aurcs, briers = [], []
    for _ in range(400):
        idx = rng.integers(0, 800, 800)
        ys, ss = y[idx], s[idx]
        aurcs.append(risk_coverage(*binary_counts(ys, ss)).aurc)
        briers.append(brier_score_loss(ys, ss))
    assert b.aurc_low == pytest.approx(np.percentile(aurcs, 2.5), abs=0.006)
    assert b.aurc_high == pytest.approx(np.percentile(aurcs, 97.5), abs=0.006)
    assert b.brier_low == pytest.approx(np.percentile(briers, 2.5), abs=0.004)
    assert b.brier_high == pytest.approx(np.percentile(briers, 97.5), abs=0.004)
    # On the data itself (counts = the data's), the formulas give the figures exactly.
    from tuilabel.analysis.bootstrap import _batch_all, _cells
    c = _cells(y, s, 4096)
    _, _, _, aurc, brier = _batch_all(c, c.pos[None, :], c.neg[None, :])
    assert aurc[0] == pytest.approx(risk_coverage(*binary_counts(y, s)).aurc, abs=1e-12)
    assert brier[0] == pytest.approx(brier_score_loss(y, s), abs=1e-12)


@pytest.mark.parametrize("case", ["noisy", "cascade", "flat", "one"])
def test_vectorised_pav_equals_scipys(case, monkeypatch):
    from scipy.optimize import isotonic_regression

    from tuilabel.analysis import calibration as cal_mod

    rng = np.random.default_rng(16)
    v, w = {
        "noisy": (rng.random(5000) < np.linspace(0, 1, 5000), rng.integers(1, 4, 5000)),
        "cascade": (np.r_[np.arange(800.0), -1.0], np.ones(801)),  # every pool cascades
        "flat": (np.full(10, 0.3), np.ones(10)),
        "one": (np.array([1.0]), np.array([2.0])),
    }[case]
    expected = isotonic_regression(np.asarray(v, float), weights=np.asarray(w, float)).x
    np.testing.assert_allclose(cal_mod.isotonic_fit(np.asarray(v, float), w), expected,
                               atol=1e-12)
    monkeypatch.setattr(cal_mod, "PAV_PASSES", 2)  # the hand-over to scipy mid-way
    np.testing.assert_allclose(cal_mod.isotonic_fit(np.asarray(v, float), w), expected,
                               atol=1e-12)
