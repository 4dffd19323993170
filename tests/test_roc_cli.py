"""`tuilabel roc` end to end: TSV exports and stores (SQLite and MariaDB), good and bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from tuilabel.store import NewImage

HEADER = ("id\ttweet_id\tlink\tkeyword1\tscore1\tkeyword2\tscore2\tkeyword3\tscore3\tkeyword4"
          "\tscore4\tkeyword5\tscore5\tlabel_id\n")
NAN = re.compile(r"\bnan\b")  # how Python prints a NaN (notes may say "NaN" about input)
LABELS = ["web_site", "suit", "envelope", "menu", "jersey"]


def generated(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.4
    s1 = np.where(y, rng.beta(5.5, 4.5, n), rng.beta(2.5, 5.5, n))
    rest = -np.sort(-((1 - s1)[:, None] * rng.dirichlet([1, 1, 1, 1, 4], n)[:, :4]), axis=1)
    verdict = np.where(y, 0, rng.choice([1, 2], n, p=[0.3, 0.7]))
    labels = [[LABELS[(i + j) % len(LABELS)] for j in range(5)] for i in range(n)]
    return y, np.column_stack([s1, rest]), verdict, labels


def write_tsv(path: Path, scores, verdict, labels, extra_rows: list[str] = ()) -> Path:
    with open(path, "w") as f:
        f.write(HEADER)
        for i, (sc, v, lab) in enumerate(zip(scores, verdict, labels, strict=True)):
            pairs = [x for k, s in zip(lab, sc, strict=True) for x in (k, f"{s:.6f}")]
            f.write("\t".join([str(i + 1), str(10**17 + i), f"https://x/{i}.jpg", *pairs,
                               str(v)]) + "\n")
        for row in extra_rows:
            f.write(row + "\n")
    return path


def bad_row(i: int, score1: str = "0.5", label_id: str = "0") -> str:
    return "\t".join([str(i), "1", "u", "cat", score1, "a", "0.1", "b", "0.1", "c", "0.1", "d",
                      "0.1", label_id])


@pytest.fixture(scope="module")
def tsv(tmp_path_factory) -> tuple[Path, np.ndarray, np.ndarray]:
    y, scores, verdict, labels = generated(2000)
    extra = [bad_row(9001, label_id="3"), bad_row(9002, label_id="3"),
             bad_row(9003, score1="nan"), bad_row(9004, score1="1.7"), "1\t2\tshort"]
    path = write_tsv(tmp_path_factory.mktemp("roc") / "export.tsv", scores, verdict, labels,
                     extra)
    return path, y, scores


def test_report_from_a_tsv_export(tsv, tmp_path):
    path, y, scores = tsv
    report_file = tmp_path / "report.txt"
    r = run_cli("roc", "--from", str(path), "--width", "100", "--height", "24", "--seed", "1",
                "--bootstrap", "200", "-o", str(report_file))
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())  # the report wraps long lines to the width
    auc = roc_auc_score(y, scores[:, 0].round(6))
    assert f"AUC {auc:.3f}" in out
    assert "2 row(s) with label_id 3 (the original UI's button bug) left out" in out
    assert "1 row(s) left out: a score is NaN" in out
    assert "1 row(s) left out: a score is outside [0, 1]" in out
    assert "1 row(s) left out: 3 fields instead of 14" in out
    assert "Youden's J" in out and "closest to (0,1)" in out and "TP " in out
    assert not NAN.search(out) and "Traceback" not in r.stderr
    saved = report_file.read_text()
    assert "\x1b[" not in saved and f"AUC {auc:.3f}" in saved


def no_constants(name: str):
    raise AssertionError(f"{name} in the JSON output")


def test_json_has_every_number(tsv):
    path, y, scores = tsv
    r = run_cli("roc", "--from", str(path), "--json", "--bootstrap", "100", "--seed", "3")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout, parse_constant=no_constants)  # NaN, Infinity are not JSON
    assert d["roc"]["auc"] == pytest.approx(roc_auc_score(y, scores[:, 0].round(6)))
    assert d["n"] == 2000 and d["roc"]["n_pos"] == int(y.sum())
    for key in ("fpr", "tpr", "thresholds"):
        assert len(d["roc"][key]) > 50
    assert d["bootstrap"]["n_used"] == 100
    assert {"TP", "FP", "FN", "TN"} == set(d["categories"])
    assert d["grid"]["notebook_auc"] > 0 and d["pr"]["average_precision"] > 0


def test_positive_top5_and_a_given_threshold(tsv):
    path, _, scores = tsv
    r = run_cli("roc", "--from", str(path), "--positive", "top5", "--threshold", "0.9",
                "--json", "--bootstrap", "0")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["positive"] == "top5" and d["bootstrap"] is None
    assert d["at_threshold"]["threshold"] == 0.9 and d["at_threshold"]["chosen_by"] == "user"
    assert d["optimistic"] is False


@pytest.mark.parametrize(
    ("rows", "code", "message"),
    [
        ([bad_row(1, label_id="0")], 1, "the ROC is undefined: all 1 rating(s) are positive"),
        ([bad_row(1, label_id="0"), bad_row(2, label_id="0")], 1, "the ROC needs both classes"),
        ([bad_row(1, label_id="3")], 1, "no usable ratings (1 row(s) with label_id 3"),
        ([bad_row(1, score1="NaN"), bad_row(2, score1="-0.5", label_id="2")], 1,
         "no usable ratings"),
        ([], 1, "no usable ratings"),
    ],
)
def test_bad_exports_give_one_clear_line(tmp_path, rows, code, message):
    path = tmp_path / "bad.tsv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    r = run_cli("roc", "--from", str(path))
    assert r.returncode == code
    assert message in r.stderr and r.stderr.startswith("tuilabel: error:")
    assert "Traceback" not in r.stderr and not NAN.search(r.stdout + r.stderr)


def test_missing_file_columns_and_bad_options(tmp_path):
    r = run_cli("roc", "--from", str(tmp_path / "nope.tsv"))
    assert r.returncode == 2 and "no such file" in r.stderr
    cols = tmp_path / "cols.tsv"
    cols.write_text("id\tkeyword1\tscore2\n1\tcat\t0.5\n")
    r = run_cli("roc", "--from", str(cols))
    assert r.returncode == 2 and "missing column(s) score1, label_id" in r.stderr
    top1_only = tmp_path / "top1.tsv"
    top1_only.write_text("score1\tlabel_id\n0.9\t0\n0.1\t2\n")
    r = run_cli("roc", "--from", str(top1_only), "--positive", "top5")
    assert r.returncode == 2 and "needs score1..score5" in r.stderr
    r = run_cli("roc", "--from", str(top1_only), "--threshold", "nan")
    assert r.returncode == 2 and "--threshold must be a number between 0 and 1" in r.stderr
    r = run_cli("roc", "--from", str(top1_only), "--rater", "ann")
    assert r.returncode == 2 and "--rater and --model need a store" in r.stderr
    r = run_cli("roc", "--db", str(tmp_path / "none.db"))
    assert r.returncode == 2 and "no database" in r.stderr and "Traceback" not in r.stderr


def test_two_ratings_are_enough(tmp_path):
    path = tmp_path / "two.tsv"
    path.write_text(HEADER + bad_row(1, "0.9", "0") + "\n" + bad_row(2, "0.2", "2") + "\n")
    r = run_cli("roc", "--from", str(path), "--bootstrap", "50", "--seed", "1",
                "--width", "60", "--height", "16")
    assert r.returncode == 0, r.stderr
    assert "AUC 1.000" in r.stdout and not NAN.search(r.stdout)


# -- from a store ----------------------------------------------------------------------------


def fill(store, n: int = 300, raters=("ann",), seed: int = 1):
    """n images with generated scores; each rater rates every image (verdicts that agree
    mostly). Returns the images' scores and ann's verdicts."""
    y, scores, verdict, labels = generated(n, seed)
    images = [NewImage(tweet_id=str(i), url=f"https://x/{i}.jpg", model="vgg16",
                       predictions=list(zip(labels[i], scores[i].tolist(), strict=True)))
              for i in range(n)]
    store.add_images(images)
    ids = list(range(1, n + 1))  # a fresh store numbers images from 1, in insertion order
    assert store.get_image(n).tweet_id == str(n - 1)
    rng = np.random.default_rng(seed)
    names = ["top1", "top5", "none"]
    given = {}
    for rater_i, rater in enumerate(raters):
        flip = rng.random(n) < 0.1 * rater_i  # later raters disagree a little
        vs = np.where(flip, rng.integers(0, 3, n), verdict)
        given[rater] = vs
        for image_id, v in zip(ids, vs, strict=True):
            store.add_rating(image_id, rater, names[v])
    return scores, given


def test_roc_from_a_store_with_two_raters(store, db_url):
    scores, given = fill(store, 200, raters=("ann", "bob"))
    store.add_rating(1, "cy", "unrateable")
    r = run_cli("roc", "--db", db_url, "--json", "--bootstrap", "0", "--rater", "ann")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    y = given["ann"] == 0
    assert d["roc"]["auc"] == pytest.approx(roc_auc_score(y, scores[:, 0]))
    agr = d["agreement"]
    assert agr["raters"] == ["ann", "bob"]  # cy's only rating is unrateable
    pair = agr["pairs"][0]
    assert pair["n"] == 200
    assert pair["kappa"] == pytest.approx(cohen_kappa_score(given["ann"], given["bob"]))
    assert pair["weighted_kappa"] == pytest.approx(
        cohen_kappa_score(given["ann"], given["bob"], weights="linear"))
    assert agr["full_agreement"] == pytest.approx((given["ann"] == given["bob"]).mean())
    text = run_cli("roc", "--db", db_url, "--bootstrap", "100", "--seed", "2", "--width", "90")
    assert text.returncode == 0, text.stderr
    words = " ".join(text.stdout.split())  # the report wraps long lines to the width
    assert "majority verdict per image" in words and "kappa" in words
    assert "tied vote(s) on whether the top-1 label is right counted as no" in words


def test_store_without_ratings_or_one_class(store, db_url):
    r = run_cli("roc", "--db", db_url)
    assert r.returncode == 1 and "no ratings yet" in r.stderr
    store.add_images([NewImage("1", "https://x/1.jpg", "vgg16", [("cat", 0.7)])])
    store.add_rating(1, "ann", "top1")
    r = run_cli("roc", "--db", db_url)
    assert r.returncode == 1 and "the ROC is undefined" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_cli("roc", "--db", db_url, "--rater", "zed")
    assert r.returncode == 1 and "no ratings by rater 'zed'" in r.stderr


def test_roc_from_store_for_the_tui(store):
    from tuilabel.analysis import roc_from_store
    from tuilabel.plots import roc_plot

    empty = roc_from_store(store)
    assert not empty.defined and "not enough ratings yet" in empty.message
    assert "not enough ratings yet" in roc_plot(empty, 60, 20)
    scores, given = fill(store, 120)
    live = roc_from_store(store)
    assert live.defined
    assert live.auc == pytest.approx(roc_auc_score(given["ann"] == 0, scores[:, 0]))
    assert not roc_from_store(store, rater="bob").defined
    top5 = roc_from_store(store, positive="top5")
    assert top5.auc == pytest.approx(roc_auc_score(given["ann"] <= 1, scores.sum(axis=1)))
    assert "Youden's J" in roc_plot(live, 70, 22)


def test_roc_imports_neither_tensorflow_nor_textual(tsv):
    path = tsv[0]
    code = (
        "import sys\n"
        "from tuilabel.cli import main\n"
        "try:\n"
        f"    main(['roc', '--from', {str(path)!r}, '--bootstrap', '10'])\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "import tuilabel.analysis, tuilabel.plots\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'textual'))\n"
        "print('HEAVY', bad, file=sys.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert "HEAVY []" in r.stderr
    assert "AUC" in r.stdout


def test_hostile_names_reach_the_report_with_control_characters_visible(store, db_url,
                                                                        tmp_path):
    """Issue 12: a rater name or label holding terminal escapes (OSC 52 sets the clipboard,
    ESC[2J clears the screen) is written with its control characters visible, on stdout and
    in -o's file."""
    evil_rater, evil_label = "\x1b]52;c;SGFja2Vk\x07 evil", "cat\x1b[2J\u202e"
    store.add_images([NewImage(str(i), f"https://x/{i}.jpg", "vgg16",
                               [(evil_label, 0.1 + 0.2 * (i % 5))]) for i in range(10)])
    for image_id in range(1, 11):
        store.add_rating(image_id, evil_rater, "top1" if image_id % 2 else "none")
        store.add_rating(image_id, "ann", "top1" if image_id % 3 else "none")
    out = tmp_path / "report.txt"
    r = subprocess.run([sys.executable, "-m", "tuilabel", "roc", "--db", db_url, "--bootstrap",
                        "0", "-o", str(out)], capture_output=True, cwd=REPO, timeout=300,
                       env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 0, r.stderr
    for written in (r.stdout, out.read_bytes()):
        assert b"\x1b" not in written and b"\x07" not in written
        assert "\u202e".encode() not in written
        text = written.decode()
        assert "\\x1b]52;c;SGFja2Vk\\x07 evil"[:15] in text  # rater column is 15 wide
        assert "cat\\x1b[2J\\u202e" in text
