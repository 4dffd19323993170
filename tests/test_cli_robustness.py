"""The command line as a hostile user runs it: closed pipes, bad files, bad values.

Each test here pins a defect found by a robustness sweep of every command, so that it stays
fixed: the process must end with a clear line (or quietly, where nothing went wrong) and a
documented exit code, never a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import REPO, run_cli

from tuilabel.store import NewImage, open_store


@pytest.fixture
def rated_sqlite(tmp_path) -> str:
    """A SQLite store with a few rated images (export and stats have something to print)."""
    db = str(tmp_path / "rated.db")
    with open_store(db) as s:
        s.add_images([
            NewImage(str(1000 + i), f"http://h/{i}.jpg", "vgg16", [("cat", 0.9), ("dog", 0.1)])
            for i in range(20)
        ])
        for i, image in enumerate(s.claim_next("alice", n=20, order="oldest")):
            s.add_rating(image.id, "alice", "top1" if i % 2 else "none")
    return db


def run_into_closed_pipe(*args: str) -> subprocess.CompletedProcess:
    """Run `python -m tuilabel ARGS | true` with the reader gone before anything is written
    (as `| head -1` is once it has its line)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TUILABEL_DEBUG": ""}
    env.pop("TUILABEL_DB", None)
    try:
        return subprocess.run([sys.executable, "-m", "tuilabel", *args], stdout=write_end,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                              cwd=REPO, env=env, timeout=120)
    finally:
        os.close(write_end)


@pytest.mark.parametrize("command", [["export"], ["export", "-f", "jsonl"], ["stats"]])
def test_output_into_a_closed_pipe_ends_quietly_with_0(rated_sqlite, command):
    # Typer turned the BrokenPipeError into a silent exit code 1, which tuilabel documents
    # as "bad data"; `set -o pipefail; tuilabel export | head -1` then failed for nothing.
    r = run_into_closed_pipe(*command, "--db", rated_sqlite)
    assert "Traceback" not in r.stderr
    assert "Exception ignored" not in r.stderr
    assert r.returncode == 0, r.stderr


def test_a_damaged_keras_file_is_named_as_such_not_as_missing(tmp_path):
    # Keras said "File not found: filepath=bad.keras" of a file that was there.
    model = tmp_path / "bad model.keras"
    model.write_bytes(b"not a zip archive\n" * 10)
    classes = tmp_path / "classes.txt"
    classes.write_text("cat\ndog\n")
    r = run_cli("label", str(REPO / "sample_data" / "tweets.jsonl"), "-m", str(model),
                "--classes", str(classes), "--db", str(tmp_path / "t.db"))
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"tuilabel: error: {model} is not a Keras model: a .keras file is a zip archive")


def test_a_folder_as_model_is_named_as_a_folder(tmp_path):
    # A folder was taken for a model file and asked for its class names first.
    folder = tmp_path / "my model"
    folder.mkdir()
    r = run_cli("label", str(REPO / "sample_data" / "tweets.jsonl"), "-m", str(folder),
                "--db", str(tmp_path / "t.db"))
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"tuilabel: error: {folder} is a folder, not a Keras model file (.keras or .h5)")


@pytest.mark.parametrize("command", ["collect", "label"])
def test_an_empty_folder_is_named_not_called_no_input(tmp_path, command):
    # collect said "no input given" of a folder it was given; label labeled nothing, exit 0.
    folder = tmp_path / "dày 1"
    (folder / "empty sub").mkdir(parents=True)
    extra = ["-m", "test_rgb",
             "--db", str(tmp_path / "t.db")] if command == "label" else []
    r = run_cli(command, str(folder), *extra)
    assert r.returncode == 2
    assert r.stderr.strip() == f"tuilabel: error: no files in folder {folder}"


def test_roc_negative_seed_is_an_option_error(rated_sqlite):
    # numpy's SeedSequence raised ValueError: a traceback, exit 1.
    r = run_cli("roc", "--db", rated_sqlite, "--seed", "-1", "--bootstrap", "10")
    assert r.returncode == 2
    assert r.stderr.strip() == "tuilabel: error: --seed must be 0 or more, not -1"


def test_an_image_list_line_with_a_nul_byte_is_a_failed_photo_not_a_crash(tmp_path):
    # Path.resolve() raised "ValueError: embedded null byte" out of the job generator:
    # a traceback, and the good photos of the list were not labeled.
    listing = tmp_path / "list.txt"
    good = REPO / "sample_data" / "photos" / "grace_hopper.jpg"
    listing.write_bytes(b"bad\x00name.jpg\nfile:///tmp/x\x00y.jpg\n" + str(good).encode() + b"\n")
    db = str(tmp_path / "t.db")
    r = run_cli("label", "--images", str(listing), "-m",
                "test_rgb", "--db", db)
    assert "Traceback" not in r.stderr
    assert r.returncode == 0, r.stderr
    assert "labeled 1 photo(s)" in r.stderr
    assert "failed: 2 (not_found 2)" in r.stderr
    with open_store(db) as s:
        assert s.count_images() == 1


@pytest.mark.mysql
def test_load_skips_rows_too_long_for_the_store_and_keeps_the_rest(mysql_url, tmp_path):
    # MySQL refused the whole batch ("Data too long for column"): exit 2, good rows lost.
    rows = ["1,http://h/1.jpg,cat,0.9,dog,0.1",
            f"{'7' * 65},http://h/2.jpg,cat,0.9,dog,0.1",
            f"3,http://h/3.jpg,{'x' * 256},0.9,dog,0.1",
            "4,http://h/4.jpg,cat,0.8,dog,0.2"]
    f = tmp_path / "preds.csv"
    f.write_text("\n".join(rows) + "\n")
    r = run_cli("load", str(f), "--db", mysql_url)
    assert r.returncode == 0, r.stderr
    assert "preds.csv:2: tweet id of 65 characters; at most 64" in r.stderr
    assert "preds.csv:3: label_1 of 256 characters; at most 255" in r.stderr
    assert "4 rows: 2 images added, 0 already present, 2 malformed rows skipped" in r.stderr
    with open_store(mysql_url) as s:
        assert s.count_images() == 2


@pytest.mark.mysql
def test_label_long_names_and_absurd_tweet_ids_do_not_stop_a_mysql_run(mysql_url, tmp_path):
    # An --images path (or URL) longer than 64 characters is the photo's tweet id, and a
    # hostile tweet carried a 100-digit id: MySQL refused the batch and the run died.
    deep = tmp_path / ("a_folder_with_a_long_name_" * 3) / "grace_hopper.jpg"
    deep.parent.mkdir()
    deep.write_bytes((REPO / "sample_data" / "photos" / "grace_hopper.jpg").read_bytes())
    # The sample's photo paths are relative to its own folder: absolute in the copies made here.
    tweets = (REPO / "sample_data" / "tweets.jsonl").read_text().replace(
        '"photos/', f'"{REPO / "sample_data" / "photos"}/').splitlines()
    hostile = tweets[1].replace('"1000000000000000002"', '"' + "9" * 100 + '"')
    assert hostile != tweets[1]
    f = tmp_path / "hostile.jsonl"
    f.write_text(hostile + "\n" + tweets[4] + "\n")  # snscrape, one photo
    r = run_cli("label", str(f), "--images", str(deep.parent.parent), "-m",
                "test_rgb", "--db", mysql_url)
    assert r.returncode == 0, r.stderr
    assert "labeled 2 photo(s)" in r.stderr
    with open_store(mysql_url) as s:
        ids = sorted(im.tweet_id for im in (s.get_image(i) for i in (1, 2)) if im)
    assert ids[0] == "1000000000000000005"
    assert len(ids[1]) == 64 and ids[1].startswith("…") and ids[1].endswith("/grace_hopper.jpg")


def test_score_rater_name_too_long_for_the_store_is_an_option_error(rated_sqlite):
    # On MySQL every claim failed ("Data too long for column 'rater'") inside the TUI, which
    # then sat showing "finding the next photos failed"; refused up front on every backend.
    r = run_cli("score", "--db", rated_sqlite, "--rater", "r" * 192)
    assert r.returncode == 2
    assert r.stderr.strip() == "tuilabel: error: --rater name of 192 characters; at most 191"


@pytest.mark.parametrize("url", ["mysql://root:Sec/ret@127.0.0.1:3306/db",
                                 "mysql://root:Sec#ret@127.0.0.1:3306/db",
                                 "mysql://u:2024/Slash-SECRET@127.0.0.1:3306/db",
                                 "mysql://u:Sec?ret@x@127.0.0.1:3306/db",
                                 "mysql://root@127.0.0.1:notaport/db"])
def test_a_bad_mysql_url_error_quotes_no_piece_of_the_password(url):
    # urlsplit's "Port could not be cast to integer value as 'Sec'" was passed on: a piece
    # of the password in the error line; a password with "/" became the database name
    # ("database name 'Slash-SECRET@...' is not allowed"). The password is now the whole
    # part between ":" and the last "@": the server refuses it, and no message quotes it.
    r = run_cli("stats", "--db", url)
    assert r.returncode == 2
    assert "Sec" not in r.stderr and "SECRET" not in r.stderr and "Traceback" not in r.stderr
    error = r.stderr.splitlines()[-1]
    if "notaport" in url:
        assert error.startswith("tuilabel: error: bad database URL: use mysql://")
    else:  # parsed: host 127.0.0.1, database db, the password sent to the server
        assert error.startswith("tuilabel: error: cannot connect to mysql://")
        assert "@127.0.0.1:3306/db:" in error


@pytest.mark.parametrize("command", [
    ["export", "-o", "{db}"],
    ["export", "-f", "csv", "-o", "{db}-wal"],
    ["roc", "--bootstrap", "0", "-o", "{db}"],
    ["label", str(REPO / "sample_data" / "tweets.jsonl"), "-m",
     "test_rgb", "--csv", "{db}"],
])
def test_output_onto_the_database_file_is_refused_and_the_database_kept(rated_sqlite,
                                                                        command):
    # `export -o tuilabel.db` replaced the database with the export (all ratings lost);
    # roc -o wrote its report over it; label --csv appended CSV rows to it.
    before = open(rated_sqlite, "rb").read()
    args = [a.format(db=rated_sqlite) for a in command]
    r = run_cli(*args, "--db", rated_sqlite)
    assert r.returncode == 2
    assert r.stderr.startswith("tuilabel: error: ") and "is the database file" in r.stderr
    assert len(r.stderr.splitlines()) == 1
    assert open(rated_sqlite, "rb").read() == before
    with open_store(rated_sqlite) as s:
        assert s.stats().rated_images == 20


def test_roc_report_onto_its_own_tsv_input_is_refused(rated_sqlite, tmp_path):
    tsv = tmp_path / "export.tsv"
    assert run_cli("export", "--db", rated_sqlite, "-o", str(tsv)).returncode == 0
    before = tsv.read_bytes()
    r = run_cli("roc", "--from", str(tsv), "--bootstrap", "0", "-o", str(tsv))
    assert r.returncode == 2
    assert "is also an input" in r.stderr
    assert tsv.read_bytes() == before


@pytest.mark.parametrize("which", ["tweets", "images"])
def test_label_csv_onto_its_own_input_is_refused(tmp_path, which):
    # The CSV rows were appended to the tweets (or image list) being read.
    src = REPO / "sample_data" / ("tweets.jsonl" if which == "tweets" else "images.txt")
    mine = tmp_path / src.name
    mine.write_bytes(src.read_bytes())
    given = [str(mine)] if which == "tweets" else ["--images", str(mine)]
    r = run_cli("label", *given, "-m", "test_rgb",
                "--csv", str(mine), "--db", str(tmp_path / "t.db"))
    assert r.returncode == 2
    assert r.stderr.strip() == (f"tuilabel: error: --csv {mine} is also an input: writing "
                                "there would change what is being read")
    assert mine.read_bytes() == src.read_bytes()


@pytest.mark.parametrize("from_stdin", [False, True])
def test_load_a_csv_with_a_bom_keeps_the_first_tweet_id_clean(tmp_path, from_stdin):
    # The BOM (Excel's "CSV UTF-8") became part of the first tweet id: "\ufeff1".
    data = b"\xef\xbb\xbf1,http://h/1.jpg,cat,0.9,dog,0.1\r\n2,http://h/2.jpg,cat,0.8,dog,0.1\r\n"
    f = tmp_path / "bom.csv"
    f.write_bytes(data)
    db = str(tmp_path / "t.db")
    r = (run_cli("load", "-", "--db", db, input=data) if from_stdin
         else run_cli("load", str(f), "--db", db))
    assert r.returncode == 0, r.stderr
    with open_store(db) as s:
        assert sorted(s.get_image(i).tweet_id for i in (1, 2)) == ["1", "2"]


def test_label_absurd_fetcher_count_is_an_option_error(tmp_path):
    # 100000 threads: "RuntimeError: can't start new thread", a traceback.
    r = run_cli("label", str(REPO / "sample_data" / "tweets.jsonl"), "-m",
                "test_rgb", "--fetchers", "100000",
                "--db", str(tmp_path / "t.db"))
    assert r.returncode == 2
    assert r.stderr.strip() == "tuilabel: error: --fetchers must be between 1 and 256"


@pytest.mark.parametrize("model", ["", "  ", "m" * 192])
def test_load_model_name_empty_or_too_long_is_an_option_error(tmp_path, model):
    # An empty name was stored as the model of every image; one over 191 characters made
    # MySQL refuse every batch.
    f = tmp_path / "p.csv"
    f.write_text("1,http://h/1.jpg,cat,0.9,dog,0.1\n")
    db = tmp_path / "t.db"
    r = run_cli("load", str(f), "--db", str(db), "-m", model)
    assert r.returncode == 2
    assert r.stderr.startswith("tuilabel: error: --model ") and len(r.stderr.splitlines()) == 1


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("command", [["export", "--db", "{db}"], ["stats", "--db", "{db}"],
                                     ["collect", str(REPO / "sample_data" / "tweets.jsonl")]])
def test_stdout_on_a_full_disk_is_one_error_line(rated_sqlite, command):
    # `tuilabel export > /dev/full`: an OSError traceback (exit 1).
    env = {**os.environ, "PYTHONPATH": str(REPO), "TUILABEL_DEBUG": ""}
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "tuilabel",
                            *[a.format(db=rated_sqlite) for a in command]],
                           stdout=full, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env,
                           timeout=120)
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1] == (
        "tuilabel: error: cannot write the output: No space left on device")
    assert "Traceback" not in r.stderr and "Exception ignored" not in r.stderr


def test_export_into_a_named_pipe_writes_through_it(rated_sqlite, tmp_path):
    # open_output wrote a temp file and renamed it over the target: a FIFO (or, as root,
    # /dev/null or /dev/full) was replaced by a regular file and its reader got nothing.
    import threading

    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    r = run_cli("export", "--db", rated_sqlite, "-o", str(fifo))
    reader.join(timeout=10)
    assert r.returncode == 0, r.stderr
    assert got and got[0].count(b"\n") == 21  # header + 20 ratings
    assert fifo.is_fifo()


def test_label_empty_model_name_is_unknown_not_the_current_folder(tmp_path):
    # Path("") is "."; -m '' said ". is a folder, not a Keras model file".
    r = run_cli("label", str(REPO / "sample_data" / "tweets.jsonl"), "-m", "",
                "--db", str(tmp_path / "t.db"))
    assert r.returncode == 2
    assert r.stderr.startswith("tuilabel: error: unknown model '': give a Keras model file")


def test_collect_refuses_to_write_onto_the_database(tmp_path):
    from tuilabel.store import open_store

    with open_store(tmp_path / "tuilabel.db"):
        pass
    before = (tmp_path / "tuilabel.db").read_bytes()
    tweets = tmp_path / "t.jsonl"
    tweets.write_text('{"id_str": "1", "entities": {}}\n')
    r = run_cli("collect", str(tweets), "-o", "tuilabel.db", cwd=tmp_path)
    assert r.returncode == 2 and "is the database file" in r.stderr
    assert (tmp_path / "tuilabel.db").read_bytes() == before
