"""`tuilabel label` under faults: a full disk under --csv (a tmpfs), a photo URL wider than
MySQL's TEXT column, a wrong --db found before the model is loaded."""

from __future__ import annotations

import csv
import os

import pytest
from conftest import fill_tmpfs as _fill
from conftest import run_cli
from labelkit import photo_bytes

from tuilabel.store import open_store


def _photos(folder, n: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        p = folder / f"p{i:03d}.png"
        p.write_bytes(photo_bytes(("red", "green", "blue")[i % 3], i, "PNG"))
        paths.append(str(p))
    return paths


def test_csv_after_a_full_disk_and_a_rerun_holds_each_photo_once(tmp_path, tmpfs):
    # The disk fills after some batches were committed: photos already in the store never
    # reached the CSV (the rerun skips them) and a cut row was left (6 of 300 rows missing,
    # one row of 18 fields).
    paths = _photos(tmp_path / "photos", 60)
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(paths) + "\n")
    db = str(tmp_path / "t.db")
    out = tmpfs / "out.csv"
    _fill(tmpfs, 4096 + 1500)  # room for about 10 of the 60 rows, past a page
    args = ("label", "--images", str(listing), "-m", "test_rgb", "-k", "2", "--batch-size", "4",
            "--fetchers", "2", "--db", db, "--csv", str(out))
    first = run_cli(*args)
    assert first.returncode == 2, first.stderr
    assert "No space left on device" in first.stderr and "Traceback" not in first.stderr
    with open_store(db) as store:
        stored_first = store.count_images()
    assert 0 < stored_first < 60
    (tmpfs / "filler").unlink()
    second = run_cli(*args)
    assert second.returncode == 0, second.stderr
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n")
    rows = list(csv.reader(text.splitlines()))
    assert all(len(r) == 6 for r in rows), [r for r in rows if len(r) != 6]
    assert sorted(r[1] for r in rows) == sorted(os.path.realpath(p) for p in paths)
    with open_store(db) as store:
        images = {(im.tweet_id, im.url): im
                  for im in store.get_photos("test_rgb", [(r[0], r[1]) for r in rows])}
    assert len(images) == 60
    for r in rows:  # every row is the stored prediction
        im = images[(r[0], r[1])]
        assert r[2] == im.predictions[0][0] and float(r[3]) == pytest.approx(im.predictions[0][1])


def test_a_cut_row_and_a_missing_row_are_repaired_by_the_next_run(tmp_path):
    # kill -9 between the commit and the CSV write leaves the same state: simulated here by
    # cutting the CSV of a finished run, which a rerun (labeling nothing new) must repair.
    paths = _photos(tmp_path / "photos", 6)
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(paths) + "\n")
    db, out = str(tmp_path / "t.db"), tmp_path / "out.csv"
    args = ("label", "--images", str(listing), "-m", "test_rgb", "-k", "1", "--db", db,
            "--csv", str(out))
    assert run_cli(*args).returncode == 0
    whole = out.read_text()
    lines = whole.splitlines(keepends=True)
    out.write_text("other,row,cat,0.5\n" + "".join(lines[:3]) + lines[3][:9])
    r = run_cli(*args)
    assert r.returncode == 0 and "labeled 0 photo(s)" in r.stderr
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0] == ["other", "row", "cat", "0.5"]  # a row of another run is kept
    assert sorted(map(tuple, rows[1:])) == sorted(
        tuple(x) for x in csv.reader(whole.splitlines()))


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def test_a_url_too_long_for_a_column_is_one_failure_not_a_stopped_run(tmp_path, backend,
                                                                       request):
    db = str(tmp_path / "t.db") if backend == "sqlite" else request.getfixturevalue("mysql_url")
    paths = _photos(tmp_path / "photos", 40)
    listing = tmp_path / "list.txt"
    listing.write_text("http://example.invalid/" + "x" * 70_000 + ".jpg\n" + "\n".join(paths))
    for attempt in range(2):  # every rerun stopped at the same record
        r = run_cli("label", "--images", str(listing), "-m", "test_rgb", "-k", "1",
                    "--db", db)
        assert r.returncode == 0, r.stderr
        assert "failed: 1 (too_long 1)" in r.stderr
        assert f"labeled {40 if attempt == 0 else 0} photo(s)" in r.stderr
    with open_store(db) as store:
        assert store.count_images() == 40


def test_label_checks_the_database_before_loading_the_model(tmp_path):
    # The model file does not exist either: the database is what is reported, first.
    tweets = tmp_path / "t.jsonl"
    tweets.write_text("{}\n")
    r = run_cli("label", str(tweets), "-m", str(tmp_path / "missing.keras"),
                "--db", str(tmp_path))
    assert r.returncode == 2
    assert "is a folder, not a database file" in r.stderr
