"""The analysis core against scikit-learn, a hand-computed case, and the notebook's grid."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    cohen_kappa_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from tuilabel.analysis import (
    agreement,
    analyse,
    bootstrap,
    kappas,
    notebook_grid,
    ratings_from_table,
    report_to_dict,
    roc_result,
    table_from_columns,
)
from tuilabel.analysis.bootstrap import _batch_stats, _cells
from tuilabel.analysis.data import Ratings
from tuilabel.errors import DataError


def notebook_like(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generated ratings whose true Youden threshold is about 0.42 and AUC about 0.86."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.4
    s = np.where(y, rng.beta(5.5, 4.5, n), rng.beta(2.5, 5.5, n))
    return y, s


def make_ratings(y: np.ndarray, s: np.ndarray, labels: list[str] | None = None) -> Ratings:
    n = y.shape[0]
    scores = np.full((n, 5), np.nan)
    scores[:, 0] = s
    scores[:, 1] = (1 - s) / 2
    verdict = np.where(y, 0, 2).astype(np.int8)
    vocab = tuple(labels or ["cat"])
    label1 = np.arange(n, dtype=np.int32) % len(vocab)
    return Ratings(np.arange(n, dtype=np.int64), verdict, scores, label1, vocab, "test", n)


# -- exact ROC -------------------------------------------------------------------------------

HAND_S = np.array([0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.2])
HAND_Y = np.array([1, 1, 0, 1, 0, 0, 1, 0], dtype=bool)


def test_hand_computed_case():
    r = roc_result(HAND_Y, HAND_S)
    # 12 of the 16 positive/negative pairs are ordered correctly.
    assert r.auc == pytest.approx(12 / 16)
    # Youden's J is 0.5 at thresholds 0.8 and 0.6: the higher one is reported.
    assert r.youden.threshold == 0.8
    assert (r.youden.fpr, r.youden.tpr) == (0.0, 0.5)
    # Closest to (0, 1): (0.25, 0.75) at 0.6, distance sqrt(2)/4.
    assert r.closest.threshold == 0.6
    assert r.closest.distance_to_corner == pytest.approx(np.sqrt(2) / 4)
    assert (r.n, r.n_pos, r.n_neg) == (8, 4, 4)


def test_hand_computed_metrics_at_threshold():
    report = analyse(make_ratings(HAND_Y, HAND_S), threshold=0.6, n_bootstrap=0)
    at = report.at_threshold
    assert (at.tp, at.fp, at.fn, at.tn) == (3, 1, 1, 3)
    assert at.tpr == 0.75 and at.fpr == 0.25 and at.precision == 0.75 and at.accuracy == 0.75
    assert at.chosen_by == "user" and not report.optimistic


def test_against_scikit_learn():
    y, s = notebook_like(3000, seed=3)
    r = roc_result(y, s)
    assert r.auc == pytest.approx(roc_auc_score(y, s))
    fpr, tpr, thr = roc_curve(y, s)  # drop_intermediate=True: the corners
    np.testing.assert_allclose(r.fpr, fpr)
    np.testing.assert_allclose(r.tpr, tpr)
    np.testing.assert_allclose(r.thresholds[1:], thr[1:])
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    i = int(np.argmax(tpr - fpr))
    assert r.youden.threshold == thr[i]
    j = int(np.argmin(np.hypot(fpr, 1 - tpr)))
    assert r.closest.threshold == thr[j]
    report = analyse(make_ratings(y, s), n_bootstrap=0)
    assert report.roc.auc == pytest.approx(roc_auc_score(y, s))
    assert report.pr.average_precision == pytest.approx(average_precision_score(y, s))
    precision, recall, thr = precision_recall_curve(y, s, drop_intermediate=True)
    np.testing.assert_allclose(report.pr.precision, precision)
    np.testing.assert_allclose(report.pr.recall, recall)
    np.testing.assert_allclose(report.pr.thresholds, thr)
    # The grid read off the exact curve's counts equals the grid swept over the scores.
    g = notebook_grid(y, s)
    np.testing.assert_allclose(report.grid.tpr, g.tpr)
    np.testing.assert_allclose(report.grid.fpr, g.fpr)
    assert report.grid.notebook_auc == g.notebook_auc


def test_ties_are_handled_like_scikit_learn():
    y = np.array([1, 0, 1, 0, 1, 0], dtype=bool)
    s = np.array([0.5, 0.5, 0.5, 0.2, 0.8, 0.8])
    r = roc_result(y, s)
    assert r.auc == pytest.approx(roc_auc_score(y, s))
    assert r.ties == 5  # by hand: three ratings at 0.5 and two at 0.8


def test_all_scores_equal_gives_the_diagonal():
    y = np.array([1, 0, 1, 0, 0], dtype=bool)
    r = roc_result(y, np.full(5, 0.3))
    assert r.auc == 0.5 and r.ties == 5
    assert r.youden.threshold == 0.3 and r.youden.youden_j == 0.0
    report = analyse(make_ratings(y, np.full(5, 0.3)), n_bootstrap=20, seed=1)
    assert any("no better than chance" in note for note in report.notes)


@pytest.mark.parametrize(
    ("y", "expect"),
    [([], "no ratings"), ([True], "all 1 rating(s) are positive"),
     ([False, False], "all 2 rating(s) are negative")],
)
def test_undefined_roc_says_why_instead_of_raising(y, expect):
    r = roc_result(np.array(y, dtype=bool), np.full(len(y), 0.5))
    assert not r.defined and r.auc is None and r.youden is None
    assert r.message.startswith("not enough ratings yet") and expect in r.message
    with pytest.raises(DataError, match="the ROC is undefined"):
        analyse(make_ratings(np.array(y, dtype=bool), np.full(len(y), 0.5)), n_bootstrap=0)


# -- the notebook's grid ---------------------------------------------------------------------


def test_notebook_grid_reproduces_the_notebook_discrepancy():
    y, s = notebook_like()
    exact = roc_result(y, s)
    g = notebook_grid(y, s)
    assert exact.youden.threshold == pytest.approx(0.42, abs=0.01)
    assert exact.auc == pytest.approx(0.86, abs=0.01)
    # What the notebook printed on such data: a threshold near 0.55 and an "AUC" near 0.55.
    assert g.notebook_diagonal == pytest.approx(0.55, abs=0.015)
    assert g.notebook_auc == pytest.approx(0.55, abs=0.01)
    assert abs(g.notebook_diagonal - exact.youden.threshold) > 5 * g.step
    # The mean TPR over the grid is the mean positive score, not the AUC.
    assert g.notebook_auc == pytest.approx(s[y].mean(), abs=0.01)
    # Corrected (threshold read at the right index), the grid agrees within one step.
    assert abs(g.youden - exact.youden.threshold) <= g.step
    assert abs(g.closest - exact.closest.threshold) <= g.step


def test_notebook_grid_matches_a_literal_loop():
    """The vectorised sweep gives the notebook's own loop's numbers."""
    y, s = notebook_like(500, seed=7)
    t_rng = np.linspace(0, 1, 100)
    tpr_list, fpr_list = [], []
    for t in t_rng:
        pred = s > t
        tpr_list.append((pred & y).sum() / y.sum())
        fpr_list.append((pred & ~y).sum() / (~y).sum())
    fptp = np.array([[f, t] for f, t in zip(fpr_list, tpr_list, strict=True)])[::-1]
    ideal = np.array([[0, 1] for _ in fptp])
    ideal_position = np.argmin([np.linalg.norm(a - b) for a, b in zip(ideal, fptp, strict=True)])
    diag = np.array([[x, x] for x in t_rng])
    diag_position = np.argmax([np.linalg.norm(a - b) for a, b in zip(diag, fptp, strict=True)])
    g = notebook_grid(y, s)
    assert g.notebook_closest == t_rng[ideal_position]
    assert g.notebook_diagonal == t_rng[diag_position]
    assert g.notebook_auc == pytest.approx(sum(tpr_list) / len(tpr_list))


# -- bootstrap -------------------------------------------------------------------------------


def test_bootstrap_formula_gives_the_exact_auc_on_the_data_itself():
    y, s = notebook_like(3000, seed=1)
    for max_groups in (10_000, 64):  # distinct scores, then quantile groups
        c = _cells(y, s, max_groups)
        auc, thr, _ = _batch_stats(c, c.pos[None, :], c.neg[None, :])
        assert auc[0] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert c.exact == (max_groups == 10_000)
    c = _cells(y, s, 10_000)
    _, thr, _ = _batch_stats(c, c.pos[None, :], c.neg[None, :])
    assert thr[0] == roc_result(y, s).youden.threshold


def test_each_resample_matches_scikit_learn_on_the_resampled_data():
    rng = np.random.default_rng(5)
    y, s = notebook_like(300, seed=2)
    c = _cells(y, s, 10_000)  # 300 distinct scores: one rating per group
    order = np.argsort(s)
    y_sorted, s_sorted = y[order], s[order]
    for _ in range(20):
        counts = rng.multinomial(300, np.full(300, 1 / 300))  # one bootstrap resample
        kp = np.where(y_sorted, counts, 0).astype(float)[None, :]
        kn = np.where(~y_sorted, counts, 0).astype(float)[None, :]
        auc, thr, acc = _batch_stats(c, kp, kn)
        idx = np.repeat(np.arange(300), counts)  # the resample, spelled out
        assert auc[0] == pytest.approx(roc_auc_score(y_sorted[idx], s_sorted[idx]))
        fpr, tpr, th = roc_curve(y_sorted[idx], s_sorted[idx], drop_intermediate=False)
        assert thr[0] == th[int(np.argmax(tpr - fpr))]
        oob = counts == 0  # held out: the ratings the resample did not draw
        pred = s_sorted[oob] >= thr[0]
        assert acc[0] == pytest.approx((pred == y_sorted[oob]).mean())


def test_bootstrap_agrees_with_a_plain_resampling_loop():
    y, s = notebook_like(1000, seed=4)
    b = bootstrap(y, s, 1000, seed=11)
    rng = np.random.default_rng(99)
    aucs = []
    for _ in range(400):
        idx = rng.integers(0, 1000, 1000)
        aucs.append(roc_auc_score(y[idx], s[idx]))
    lo, hi = np.percentile(aucs, [2.5, 97.5])
    assert b.auc_low == pytest.approx(lo, abs=0.008)
    assert b.auc_high == pytest.approx(hi, abs=0.008)
    assert b.auc_low < roc_auc_score(y, s) < b.auc_high
    assert b.threshold_low < roc_result(y, s).youden.threshold < b.threshold_high
    assert b.n_used == 1000 and b.exact_groups


def test_bootstrap_is_reproducible_with_a_seed_and_grouping_changes_little():
    y, s = notebook_like(20_000, seed=6)
    a = bootstrap(y, s, 300, seed=1)
    assert a == bootstrap(y, s, 300, seed=1)
    assert a != bootstrap(y, s, 300, seed=2)
    grouped = bootstrap(y, s, 300, seed=1, max_groups=512)
    assert not grouped.exact_groups and grouped.groups <= 512
    assert grouped.auc_low == pytest.approx(a.auc_low, abs=0.002)
    assert grouped.auc_high == pytest.approx(a.auc_high, abs=0.002)
    assert grouped.threshold_low == pytest.approx(a.threshold_low, abs=0.01)
    assert grouped.heldout_accuracy == pytest.approx(a.heldout_accuracy, abs=0.005)


def test_held_out_accuracy_is_below_the_optimistic_one_on_noisy_data():
    rng = np.random.default_rng(8)
    y = rng.random(200) < 0.5
    s = rng.random(200)  # no signal: the in-sample Youden accuracy is pure luck
    report = analyse(make_ratings(y, s), n_bootstrap=500, seed=3)
    assert report.optimistic
    assert report.bootstrap.heldout_accuracy < report.youden_metrics.accuracy - 0.03


# -- agreement -------------------------------------------------------------------------------

HAND_TABLE = np.array([[20, 5, 0], [10, 15, 5], [0, 5, 40]])


def test_kappas_against_a_hand_computed_table():
    kappa, weighted = kappas(HAND_TABLE)
    # p_o = 75/100; p_e = (25*30 + 30*25 + 45*45) / 100^2 = 0.3525
    assert kappa == pytest.approx((0.75 - 0.3525) / (1 - 0.3525))
    # weighted disagreement observed 12.5/100, expected 44.75/100 (weights |i-j|/2)
    assert weighted == pytest.approx(1 - 0.125 / 0.4475)
    a, b = [], []
    for i in range(3):
        for j in range(3):
            a += [i] * HAND_TABLE[i, j]
            b += [j] * HAND_TABLE[i, j]
    assert kappa == pytest.approx(cohen_kappa_score(a, b))
    assert weighted == pytest.approx(cohen_kappa_score(a, b, weights="linear"))
    assert kappas(np.array([[5, 0, 0], [0, 0, 0], [0, 0, 0]])) == (None, None)


def columns(rows: list[tuple[int, str, str, float]]) -> dict[str, list]:
    cols: dict[str, list] = {"image_id": [], "rater": [], "verdict": []}
    for i in range(1, 6):
        cols[f"label{i}"], cols[f"score{i}"] = [], []
    for image_id, rater, verdict, score in rows:
        cols["image_id"].append(image_id)
        cols["rater"].append(rater)
        cols["verdict"].append(verdict)
        cols["label1"].append(f"label{image_id}")
        cols["score1"].append(score)
        for i in range(2, 6):
            cols[f"label{i}"].append(None if i > 2 else "x")
            cols[f"score{i}"].append(None if i > 2 else (1 - score) / 2)
    return cols


def test_agreement_per_rater_pair_and_full_agreement():
    verdicts = ["top1", "top5", "none"]
    rows = []
    image = 0
    for i in range(3):
        for j in range(3):
            for _ in range(HAND_TABLE[i, j]):
                image += 1
                rows += [(image, "ann", verdicts[i], 0.5), (image, "bob", verdicts[j], 0.5)]
    rows.append((1, "cy", "top1", 0.5))  # cy rated one image, agreeing with both
    rows.append((2, "cy", "unrateable", 0.5))  # left out of agreement
    agr = agreement(table_from_columns(columns(rows)))
    assert agr.raters == ("ann", "bob", "cy")
    ann_bob = agr.pairs[0]
    assert (ann_bob.rater_a, ann_bob.rater_b, ann_bob.n) == ("ann", "bob", 100)
    assert np.array_equal(np.array(ann_bob.table), HAND_TABLE)
    assert ann_bob.kappa == pytest.approx(kappas(HAND_TABLE)[0])
    assert ann_bob.observed == pytest.approx(0.75)
    assert [(p.rater_a, p.rater_b, p.n) for p in agr.pairs[1:]] == [("ann", "cy", 1),
                                                                     ("bob", "cy", 1)]
    assert agr.multi_rated == 100 and agr.full_agreement == pytest.approx(0.75)


def test_majority_vote_ties_go_against_the_model():
    rows = [
        (1, "a", "top1", 0.9), (1, "b", "top1", 0.9), (1, "c", "none", 0.9),  # top1
        (2, "a", "top1", 0.8), (2, "b", "none", 0.8),  # tie -> none
        (3, "a", "top1", 0.7), (3, "b", "top5", 0.7),  # tie -> top5
        (4, "a", "unrateable", 0.6), (4, "b", "top1", 0.6),  # unrateable dropped -> top1
        (5, "a", "unrateable", 0.5),  # only unrateable: not in the ROC
        (6, "a", "none", 0.4),
    ]
    table = table_from_columns(columns(rows))
    r = ratings_from_table(table, None, "db")
    assert r.image_id.tolist() == [1, 2, 3, 4, 6]
    assert r.verdict.tolist() == [0, 2, 1, 0, 2]
    assert r.tied_votes == 2
    # On "is the top-1 label right?": images 2 (top1/none) and 3 (top1/top5) are 1 yes, 1 no.
    assert r.tied("top1") == 2 and r.binary("top1")[0].tolist() == [True, False, False,
                                                                    True, False]
    report = analyse(r, n_bootstrap=0)
    assert any("2 tied vote(s) on whether the top-1 label is right" in note
               for note in report.notes)
    assert any("2 'unrateable'" in note for note in r.notes)
    one = ratings_from_table(table, "b", "db")
    assert one.image_id.tolist() == [1, 2, 3, 4] and one.verdict.tolist() == [0, 2, 1, 0]
    with pytest.raises(DataError, match="no ratings by rater 'zed'"):
        ratings_from_table(table, "zed", "db")


def test_positive_top5_uses_the_sum_of_the_top_five_scores():
    rows = [(1, "a", "top1", 0.6), (2, "a", "top5", 0.3), (3, "a", "none", 0.5)]
    r = ratings_from_table(table_from_columns(columns(rows)), None, "db")
    y, s = r.binary("top5")
    assert y.tolist() == [True, True, False]
    assert s.tolist() == pytest.approx([0.6 + 0.2, 0.3 + 0.35, 0.5 + 0.25])


def test_json_form_has_every_number_and_no_nan():
    import json

    y, s = notebook_like(500, seed=9)
    d = report_to_dict(analyse(make_ratings(y, s, ["cat", "dog", "web_site"]), n_bootstrap=50,
                               seed=1))
    text = json.dumps(d, allow_nan=False)  # raises on NaN/inf
    assert d["roc"]["auc"] == pytest.approx(roc_auc_score(y, s))
    assert d["roc"]["thresholds"][0] is None  # +inf start of the curve
    assert len(d["roc"]["fpr"]) == len(d["roc"]["tpr"]) > 10
    assert set(d["categories"]) == {"TP", "FP", "FN", "TN"}
    assert d["at_threshold"]["accuracy"] is not None and d["optimistic"] is True
    assert d["bootstrap"]["auc_low"] < d["roc"]["auc"] < d["bootstrap"]["auc_high"]
    assert d["grid"]["notebook_auc"] > 0 and "nan" not in text.lower()
