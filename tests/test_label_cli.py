"""`tuilabel label` as a user runs it, in a subprocess: missing VGG16 weights offline, bad
arguments, what `kill -9` and Ctrl-C leave behind in the store, and the progress bar. The sample
data with the bundled real model is in test_sample_data.py."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, run_cli, run_cli_on_a_terminal
from httpserver import HTTPTestServer, Response, unused_port
from labelkit import CLASSES, photo_bytes, tiny_model_path

from tuilabel.model import VGG16_WEIGHTS_FILE, VGG16_WEIGHTS_MD5


def error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tuilabel: error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.slow
def test_missing_vgg16_weights_offline_is_one_clear_line(tmp_path):
    home = tmp_path / "keras"
    home.mkdir()
    offline = f"http://127.0.0.1:{unused_port()}"  # a proxy that refuses: no download possible
    env = {"KERAS_HOME": str(home), "https_proxy": offline, "HTTPS_PROXY": offline,
           "http_proxy": offline, "HTTP_PROXY": offline}
    result = run_cli("label", "sample_data/tweets.jsonl", "--db", str(tmp_path / "x.db"),
                     env=env)
    assert result.returncode == 2
    line = error_line(result)
    assert "vgg16 ImageNet weights not available" in line
    assert VGG16_WEIGHTS_FILE in line and VGG16_WEIGHTS_MD5 in line
    assert str(home / "models") in line and "--weights FILE" in line
    assert result.stdout == ""


def test_bad_arguments_are_one_line_and_exit_2(tmp_path):
    cases = [
        ((), "nothing to label"),
        (("missing.jsonl",), "no such file or folder: missing.jsonl"),
        (("--images", str(tmp_path / "nope")), "--images: no such folder or file"),
        (("sample_data/tweets.jsonl", "-k", "11"), "-k must be between 1 and 10"),
        (("sample_data/tweets.jsonl", "--batch-size", "0"), "--batch-size must be at least 1"),
        (("sample_data/tweets.jsonl", "-m", "vgg17"), "unknown model 'vgg17'"),
    ]
    for args, message in cases:
        result = run_cli("label", *args, "--db", str(tmp_path / "b.db"))
        assert result.returncode == 2, (args, result.stderr)
        assert message in error_line(result), args


def _serve_slow_photos(server: HTTPTestServer, n: int, delay: float) -> Path:
    lines = []
    for i in range(n):
        url = server.route(f"/k/{i}.jpg", Response(200, {"Content-Type": "image/jpeg"},
                                                   photo_bytes(CLASSES[i % 3], 900 + i),
                                                   delay=delay))
        lines.append(url)
    listing = Path(os.environ.get("TMPDIR", "/tmp")) / f"tuilabel-list-{os.getpid()}-{n}.txt"
    listing.write_text("\n".join(lines) + "\n")
    return listing


def _count(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created yet


def _start(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TUILABEL_DEBUG": "",
           "TUILABEL_CACHE": "/nonexistent-cache-dir"}
    return subprocess.Popen([sys.executable, "-m", "tuilabel", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_rows(proc: subprocess.Popen, db: Path, at_least: int, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = _count(db)
        if n >= at_least:
            return n
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("label wrote nothing in time")


def _check_whole_batches(db: Path, batch: int, n: int, k: int) -> int:
    with sqlite3.connect(db) as conn:
        total, distinct = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT model || ' ' || url_hash || ' ' || tweet_id) "
            "FROM images").fetchone()
        ks = {row[0] for row in conn.execute("SELECT k FROM images")}
    assert total == distinct, "duplicate rows"
    assert total % batch == 0 and 0 < total < n, total  # whole batches only, run cut short
    assert ks == {k}
    from tuilabel.store import open_store

    with open_store(db) as store:
        for image_id in range(1, total + 1):
            image = store.get_image(image_id)
            assert image is not None and len(image.predictions) == k
            assert all(label in CLASSES and 0 <= s <= 1 for label, s in image.predictions)
    return total


@pytest.mark.slow
def test_ctrl_c_then_kill_9_leave_whole_batches_and_the_run_resumes(tmp_path):
    n, batch = 48, 4
    model = str(tiny_model_path())
    db = tmp_path / "kill.db"
    with HTTPTestServer() as server:
        listing = _serve_slow_photos(server, n, delay=0.25)
        args = ["label", "--images", str(listing), "-m", model, "-k", "2", "--batch-size",
                str(batch), "--fetchers", "2", "--db", str(db)]
        # Ctrl-C: the batch in flight is written, then a clean exit 130 with the summary.
        proc = _start(args)
        _wait_for_rows(proc, db, batch)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 130, stderr
        assert "interrupted: stopped after the batch in flight" in stderr
        assert "Traceback" not in stderr
        after_ctrl_c = _check_whole_batches(db, batch, n, k=2)

        # kill -9 in the middle of the resumed run: only whole batches, no duplicates.
        proc = _start(args)
        _wait_for_rows(proc, db, after_ctrl_c + batch)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        done = _check_whole_batches(db, batch, n, k=2)
        assert done > after_ctrl_c

        proc = _start(args[:-4] + ["--fetchers", "8", "--db", str(db)])
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
        assert f"labeled {n - done} photo(s)" in stderr
        assert f"already in the store: {done}" in stderr
    with sqlite3.connect(db) as conn:
        total, distinct = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT url_hash) FROM images").fetchone()
    assert total == distinct == n
    listing.unlink()


@pytest.mark.slow
def test_progress_bar_on_a_real_terminal(tmp_path):
    """stderr on a pseudo-terminal: the bar shows photos/s, batches, failures and an ETA."""

    listing = tmp_path / "list.txt"
    photos = sorted((REPO / "sample_data" / "photos").iterdir())
    listing.write_text("".join(f"{p}\n" for p in photos) + f"{tmp_path / 'missing.jpg'}\n")
    rc, text = run_cli_on_a_terminal(
        "label", "--images", str(listing), "-m", "test_rgb",
        "--batch-size", "2", "--db", str(tmp_path / "p.db"))
    assert rc == 0, text
    assert "photos/s" in text and "3 batches, 1 failed" in text and "ETA" in text
    assert "\x1b[" in text  # drawn with terminal control codes
    assert f"labeled {len(photos)} photo(s)" in text and "failed: 1 (not_found 1)" in text
