"""`tuilabel score` from the command line, without a terminal: the clear refusals."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO, run_cli
from test_tui_support import fill_store

from tuilabel.store import open_store


def _no_traceback(result):
    assert "Traceback" not in result.stderr


def test_without_a_terminal_it_exits_2_with_a_message(tmp_path):
    db = str(tmp_path / "t.db")
    fill_store(db, tmp_path / "photos", n=2)
    result = run_cli("score", "--db", db, "--rater", "alice", input="")
    assert result.returncode == 2
    assert "needs a terminal" in result.stderr and "stdin" in result.stderr
    _no_traceback(result)


def test_empty_database_says_how_to_fill_it(db_url):
    open_store(db_url).close()  # schema, no photos
    result = run_cli("score", "--db", db_url, input="")
    assert result.returncode == 1
    assert "no photos" in result.stderr
    assert "tuilabel label" in result.stderr and "tuilabel load" in result.stderr
    _no_traceback(result)


def test_model_filter_without_photos_names_the_model(tmp_path):
    db = str(tmp_path / "t.db")
    fill_store(db, tmp_path / "photos", n=2, model="vgg16")
    result = run_cli("score", "--db", db, "--model", "resnet50", input="")
    assert result.returncode == 1
    assert "'resnet50'" in result.stderr
    _no_traceback(result)


def test_missing_sqlite_file_is_not_created(tmp_path):
    db = tmp_path / "nothing.db"
    result = run_cli("score", "--db", str(db), input="")
    assert result.returncode == 2
    assert not db.exists()
    _no_traceback(result)


def test_bad_order_and_overlap(tmp_path):
    db = str(tmp_path / "t.db")
    fill_store(db, tmp_path / "photos", n=1)
    bad_order = run_cli("score", "--db", db, "--order", "newest", input="")
    assert bad_order.returncode == 2 and "newest" in bad_order.stderr
    bad_overlap = run_cli("score", "--db", db, "--overlap", "0", input="")
    assert bad_overlap.returncode == 2
    _no_traceback(bad_order)
    _no_traceback(bad_overlap)


def test_help_lists_the_options():
    result = run_cli("score", "--help")
    assert result.returncode == 0
    for option in ("--db", "--rater", "--order", "--model", "--overlap", "--truecolor"):
        assert option in result.stdout


def test_the_score_app_does_not_import_tensorflow():
    code = (
        "import sys, tuilabel.cli, tuilabel.tui.factory, tuilabel.tui.app, tuilabel.tui.run\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')]\n"
        "assert not bad, bad\n"
        "assert 'textual' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
