"""`tuilabel load`, `export` and `stats` as a user runs them (subprocesses), on both backends."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import run_cli

from tuilabel.exchange import TSV_COLUMNS
from tuilabel.store import open_store

GOOD = (
    "1234567890123456789,http://h/a.jpg,tabby,0.61,tiger_cat,0.2,Egyptian_cat,0.1,lynx,0.05,"
    "wallaby,0.01\n"
    "42,http://h/b.jpg,sports_car,0.4,convertible,0.3\n"
)
BAD = (
    "43,http://h/c.jpg,car,1.4\n"        # line 3: score out of range
    ",http://h/d.jpg,car,0.4\n"          # line 4: empty id
    "44,http://h/e.jpg,car\n"            # line 5: odd field count
    "\n"                                 # line 6: blank, ignored
    "45,http://h/f.jpg,bus,nan\n"        # line 7: NaN
    "46,http://h/g.jpg,bus,zero\n"       # line 8: not a number
    "47,http://h/h.jpg,\"laptop, computer\",0.5\n"  # line 9: good, quoted label
)


def test_load_twice_adds_nothing(db_url, tmp_path):
    f = tmp_path / "preds.csv"
    f.write_text(GOOD + BAD)
    first = run_cli("load", str(f), "--db", db_url)
    assert first.returncode == 0, first.stderr
    assert "8 rows: 3 images added, 0 already present, 5 malformed rows skipped" in first.stderr
    for line in (3, 4, 5, 7, 8):
        assert f"preds.csv:{line}:" in first.stderr
    second = run_cli("load", str(f), "--db", db_url)
    assert "0 images added, 3 already present" in second.stderr
    with open_store(db_url) as s:
        assert s.count_images() == 3
        assert s.known_photos("vgg16", [("1234567890123456789", "http://h/a.jpg")])
        labels = {s.get_image(i).predictions[0][0] for i in (1, 2, 3)}
        assert labels == {"tabby", "sports_car", "laptop, computer"}


def test_load_strict_stops_at_first_bad_row_keeping_earlier_ones(db_url, tmp_path):
    f = tmp_path / "preds.csv"
    f.write_text(GOOD + BAD)
    r = run_cli("load", str(f), "--db", db_url, "--strict")
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].startswith("tuilabel: error: ")
    assert "preds.csv:3:" in r.stderr and "Traceback" not in r.stderr
    with open_store(db_url) as s:
        assert s.count_images() == 2


def test_load_from_stdin_with_model_name(sqlite_url):
    r = run_cli("load", "-", "--db", sqlite_url, "--model", "resnet50", input=GOOD)
    assert r.returncode == 0, r.stderr
    with open_store(sqlite_url) as s:
        assert s.stats().images_by_model == {"resnet50": 2}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["load", "missing.csv"], "no such file: missing.csv"),
        (["load", "."], "is a folder"),
        (["stats", "--db", "postgres://u@h/x"], "unknown database scheme"),
        (["stats", "--db", "mysql://root:hunter2@127.0.0.1:1/x"], "cannot connect"),
        (["export", "--db", "nothing-here.db"], "no database at nothing-here.db"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    r = run_cli(*args, cwd=tmp_path)
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.strip().splitlines() if not ln.startswith("tuilabel: warning")]
    assert len(lines) == 1 and lines[0].startswith("tuilabel: error: ")
    assert message in r.stderr
    assert "hunter2" not in r.stderr
    assert not (tmp_path / "nothing-here.db").exists()


def test_file_that_is_not_a_database_is_not_changed(tmp_path):
    f = tmp_path / "notes.db"
    f.write_bytes(b"not sqlite at all\n" * 50)
    r = run_cli("load", "-", "--db", str(f), input=GOOD)
    assert r.returncode == 2
    assert "is not a SQLite database" in r.stderr
    assert f.read_bytes() == b"not sqlite at all\n" * 50


@pytest.fixture
def rated_db(db_url):
    """Three images: rated top1 by alice, none by bob, and one 'cannot rate'."""
    with open_store(db_url) as s:
        from tuilabel.exchange import parse_prediction_row

        rows = list(csv.reader(io.StringIO(GOOD + "47,http://h/h.jpg,laptop,0.5\n")))
        s.add_images([parse_prediction_row(r, "vgg16") for r in rows])
        a, b, c = s.claim_next("alice", n=3, order="oldest")
        s.add_rating(a.id, "alice", "top1")
        s.add_rating(b.id, "bob", "none")
        s.add_rating(c.id, "alice", "unrateable")
    return db_url


def test_export_tsv_has_the_original_columns(rated_db, tmp_path):
    r = run_cli("export", "--db", rated_db)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split("\t") == TSV_COLUMNS
    rows = [dict(zip(TSV_COLUMNS, line.split("\t"), strict=True)) for line in lines[1:]]
    assert [row["label_id"] for row in rows] == ["0", "2"]
    assert rows[0]["tweet_id"] == "1234567890123456789"
    assert rows[0]["keyword1"] == "tabby" and float(rows[0]["score1"]) == 0.61
    assert rows[1]["keyword3"] == "" and rows[1]["score3"] == ""  # only 2 labels
    assert "1 'cannot rate' ratings left out" in r.stderr

    out = tmp_path / "one.tsv"
    r = run_cli("export", "--db", rated_db, "--rater", "bob", "-o", str(out))
    assert r.returncode == 0
    assert [line.split("\t")[-1] for line in out.read_text().splitlines()[1:]] == ["2"]


def test_export_jsonl_and_csv_carry_every_field(rated_db):
    r = run_cli("export", "--db", rated_db, "--format", "jsonl")
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [rec["verdict"] for rec in records] == ["top1", "none", "unrateable"]
    assert records[0]["rater"] == "alice" and records[0]["k"] == 5
    assert records[0]["predictions"][4] == ["wallaby", 0.01]
    assert records[2]["label_id"] is None
    r = run_cli("export", "--db", rated_db, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["rater"] for row in rows] == ["alice", "bob", "alice"]
    assert rows[0]["label5"] == "wallaby" and rows[0]["label6"] == ""
    assert rows[0]["tweet_id"] == "1234567890123456789"


def test_stats_table(rated_db):
    r = run_cli("stats", "--db", rated_db)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "images:       3" in out
    assert "rated images: 3 (100.0%)" in out
    assert "vgg16  3" in out
    assert "cannot rate" in out and "alice" in out and "bob" in out


def test_export_to_a_folder_fails_cleanly(rated_db, tmp_path):
    r = run_cli("export", "--db", rated_db, "-o", str(tmp_path))
    assert r.returncode == 2 and "is a folder" in r.stderr


def test_database_from_the_environment_and_the_default_file(tmp_path):
    env_db = tmp_path / "from-env.db"
    r = run_cli("load", "-", input=GOOD, cwd=tmp_path, env={"TUILABEL_DB": str(env_db)})
    assert r.returncode == 0, r.stderr
    assert env_db.exists() and not (tmp_path / "tuilabel.db").exists()
    r = run_cli("load", "-", input=GOOD, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    with open_store(tmp_path / "tuilabel.db") as s:
        assert s.count_images() == 2


def test_load_of_a_file_with_no_good_row_exits_1(sqlite_url, tmp_path):
    f = tmp_path / "tweets.json"
    f.write_text('{"id_str": "1", "text": "not a predictions file"}\n' * 3)
    r = run_cli("load", str(f), "--db", sqlite_url)
    assert r.returncode == 1
    assert "3 malformed rows skipped" in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("tuilabel: error: no row of")
