"""Review in a real terminal (tmux, 130x45): the grid with --label, --blind and a remapped key
from a config file; exceptions stored right, back and re-rate, the single view without scores,
and the sitting's summary printed after the screen closes."""

from __future__ import annotations

import os
import re
import shutil
import sys
import time

import pytest
from conftest import REPO
from test_score_tmux import Tmux
from test_tui_review import fill
from test_tui_support import ratings

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None and not os.environ.get("CI"),
                       reason="tmux is not installed"),
]


@pytest.fixture
def tmux():
    t = Tmux()
    yield t
    t.kill()


def _until(check, what, timeout=20.0, tmux=None):
    deadline = time.monotonic() + timeout
    while not (got := check()):
        if time.monotonic() > deadline:
            screen = tmux.screen() if tmux is not None else ""
            raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")
        time.sleep(0.1)
    return got


def test_grid_review_in_tmux(tmux, tmp_path):
    db = str(tmp_path / "t.db")
    rows = [("tabby", 0.91)] * 4 + [("golden_retriever", 0.8)] * 3 + [("tiger_cat", 0.7)] * 4
    ids = fill(db, tmp_path / "photos", rows)
    tabby, cats = ids[:4], ids[7:]
    config = tmp_path / "config.toml"
    config.write_text('[keys]\nback = "p"\n')
    command = (
        f"cd {REPO} && env PYTHONPATH={REPO} TUILABEL_CACHE={tmp_path / 'cache'} "
        f"TUILABEL_CONFIG={config} TUILABEL_GRAPHICS=halfblock TERM=xterm-256color "
        f"{sys.executable} -m tuilabel score --db {db} --rater carol --order class "
        "--grid 2x2 --label 't*' --blind; echo SCORE-EXIT=$?; sleep 60"
    )
    tmux("new-session", "-d", "-s", "score", "-x", "130", "-y", "45", command)
    # --order class: tabby first (--label t* leaves tabby and tiger_cat), four tiles
    tmux.wait_for(lambda s: " 4 top-1 correct" in s and s.count("▄") > 400,
                  what="the first page")
    tmux("send-keys", "-t", "score", "2")
    tmux("send-keys", "-t", "score", "3", "3")
    tmux.wait_for(lambda s: " 2 in the top 5" in s and " 3 none correct" in s,
                  what="the tiles' verdicts")
    assert ratings(db) == {}
    tmux("send-keys", "-t", "score", "Enter")
    got = _until(lambda: len(ratings(db)) == 4 and ratings(db), "the page stored")
    # (random order within a label: which photo is tile 2 is the store's choice)
    assert set(got) == set(tabby) and sorted(got.values()) == ["none", "top1", "top1", "top5"]
    tmux.wait_for(lambda s: "exception" in s, what="the stored message")
    # p (back, remapped from b): the stored page again; tile 1 cycled to top5, Enter replaces
    tmux("send-keys", "-t", "score", "p")
    tmux.wait_for(lambda s: " 2 in the top 5" in s, what="the page stepped back to")
    tmux("send-keys", "-t", "score", "1")
    tmux("send-keys", "-t", "score", "Enter")
    _until(lambda: sorted(ratings(db).values()) == ["none", "top1", "top5", "top5"],
           "the re-rating (tile 1: top1 -> top5)", tmux=tmux)
    assert len(ratings(db)) == 4
    # the tiger_cat page; g: the single view, blind: labels without scores or bars
    tmux("send-keys", "-t", "score", "g")
    screen = tmux.wait_for(lambda s: "tiger cat" in s and "Top labels" in s,
                           what="the single view")
    assert "70.0%" not in screen and not re.search(r"\d+\.\d%", screen.split("rated")[0])
    tmux("send-keys", "-t", "score", "l")
    _until(lambda: len(ratings(db)) == 5, "a single-view rating")
    tmux("send-keys", "-t", "score", "q")
    screen = tmux.wait_for(lambda s: "SCORE-EXIT=0" in s, what="a clean exit")
    assert "tuilabel score: 5 photo(s) rated by carol" in screen
    assert "rated blind" in screen
    final = ratings(db)
    assert set(final) <= set(tabby) | set(cats) and len(final) == 5
    from tuilabel.store import open_store

    with open_store(db) as s:
        assert all(r.blind for r in s.iter_ratings())
