"""Output files whole or not at all on a full disk (collect -o, roc -o, export -o), and the
commands that only read opening the database read-only: on a read-only file system too, and
never writing a schema into an empty file."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import fill_tmpfs, run_cli
from test_roc_cli import generated, write_tsv
from test_tui_support import fill_store

from tuilabel.errors import StoreError
from tuilabel.store import open_store

PHOTO_TWEET = {"id_str": "1", "text": "x", "user": {"id_str": "9"},
               "extended_entities": {"media": [{"id_str": "5", "type": "photo",
                                                "media_url_https": "https://e/p.jpg"}]}}


def _one_line(r: subprocess.CompletedProcess) -> str:
    lines = r.stderr.strip().splitlines()
    assert "Traceback" not in r.stderr
    return lines[-1]


def test_collect_o_on_a_full_disk_leaves_the_old_file(tmp_path, tmpfs):
    tweets = tmp_path / "t.jsonl"
    tweets.write_text("\n".join(json.dumps({**PHOTO_TWEET, "id_str": str(i), "pad": "p" * 300})
                                for i in range(100)) + "\n")  # ~45 KB kept
    out = tmpfs / "kept.jsonl"
    out.write_text("the earlier result\n")
    fill_tmpfs(tmpfs, 8192)
    r = run_cli("collect", str(tweets), "-o", str(out))
    assert r.returncode == 2
    assert "No space left on device" in _one_line(r) and str(out) in _one_line(r)
    assert out.read_text() == "the earlier result\n"  # not cut, not emptied
    assert sorted(p.name for p in tmpfs.iterdir()) == ["filler", "kept.jsonl"]  # no temp left
    (tmpfs / "filler").unlink()
    assert run_cli("collect", str(tweets), "-o", str(out)).returncode == 0
    assert len(out.read_text().splitlines()) == 100


def test_roc_o_on_a_full_disk_leaves_the_old_file(tmp_path, tmpfs):
    y, scores, verdict, labels = generated(300)
    export = write_tsv(tmp_path / "e.tsv", scores, verdict, labels)
    out = tmpfs / "report.txt"
    out.write_text("the earlier report\n")
    fill_tmpfs(tmpfs, 0)
    r = run_cli("roc", "--from", str(export), "--bootstrap", "0", "--width", "100",
                "--height", "30", "-o", str(out))
    assert r.returncode == 2, r.stderr
    assert "No space left on device" in _one_line(r)
    assert out.read_text() == "the earlier report\n"
    assert sorted(p.name for p in tmpfs.iterdir()) == ["filler", "report.txt"]


def test_stats_never_writes_a_schema_into_an_empty_file(tmp_path):
    empty = tmp_path / "empty.db"
    empty.touch()
    for command in (["stats"], ["export"], ["roc", "--bootstrap", "0"]):
        r = run_cli(*command, "--db", str(empty))
        assert r.returncode == 2
        assert "is an empty file, not a tuilabel database" in _one_line(r)
        assert empty.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]  # no -wal, no -shm


@pytest.mark.parametrize("tmpfs", ["4m"], indirect=True)
def test_read_only_commands_work_on_a_read_only_file_system(tmp_path, tmpfs):
    db = tmpfs / "t.db"
    ids = fill_store(str(db), tmp_path / "photos", n=6)
    with open_store(db) as store:
        for i in ids[:4]:
            store.add_rating(i, "ann", "top1" if i % 2 else "none")
    before = db.read_bytes()
    r = subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], capture_output=True)
    assert r.returncode == 0, r.stderr
    stats = run_cli("stats", "--db", str(db))
    assert stats.returncode == 0, stats.stderr
    assert "ratings:      4" in stats.stdout
    export = run_cli("export", "--db", str(db), "--format", "jsonl")
    assert export.returncode == 0, export.stderr
    assert len(export.stdout.splitlines()) == 4
    with open_store(db, read_only=True) as store:
        assert store.count_rated() == (4, 6)
    subprocess.run(["mount", "-o", "remount,rw", str(tmpfs)], check=True)
    assert db.read_bytes() == before


def test_a_read_only_store_refuses_to_write(db_url, tmp_path):
    ids = fill_store(db_url, tmp_path / "photos", n=2)
    with open_store(db_url, read_only=True) as store:
        assert store.count_images() == 2
        with pytest.raises(StoreError):
            store.add_rating(ids[0], "ann", "top1")
    with open_store(db_url) as store:
        assert store.stats().ratings_by_rater == {}
