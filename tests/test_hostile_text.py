"""Hostile text from the data (rater names, models, labels, file names) through the commands
that write text: control characters reach neither the terminal nor a text file as such.

A rater named ESC ] 52 ; c ; SGFja2Vk BEL wrote "Hacked" into the clipboard through tmux when
`tuilabel stats` printed the name; ESC [ 2 J cleared the screen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest
from conftest import REPO, run_cli

from tuilabel.store import Failure, NewImage, open_store

OSC52 = "\x1b]52;c;SGFja2Vk\x07 evil"
CLEAR = "\x1b[2J"
SHOWN_OSC52 = "\\x1b]52;c;SGFja2Vk\\x07 evil"


def _hostile_db(path) -> str:
    db = str(path / "h.db")
    with open_store(db) as s:
        s.add_images([NewImage("1", "http://e/1.jpg", f"model{CLEAR}", ((f"cat{CLEAR}", 0.9),)),
                      NewImage("2", "http://e/2.jpg", f"model{CLEAR}", (("dog", 0.4),))])
        s.add_failures([Failure("3", "http://e/3.jpg", f"model{CLEAR}", "http_404",
                                f"detail {OSC52}")])
        for image in s.claim_next(OSC52, n=2, order="oldest"):
            s.add_rating(image.id, OSC52, "top1")
    return db


def _no_controls(data: str) -> None:
    assert "\x1b" not in data and "\x07" not in data, data


def test_stats_shows_control_characters_as_visible_escapes(tmp_path):
    r = run_cli("stats", "--db", _hostile_db(tmp_path))
    assert r.returncode == 0, r.stderr
    _no_controls(r.stdout)
    assert SHOWN_OSC52 in r.stdout
    assert "model\\x1b[2J" in r.stdout


def test_error_messages_quoting_data_are_made_visible(tmp_path):
    name = f"tweets{CLEAR}{OSC52}.jsonl"
    for args in (["label", str(tmp_path / name), "--db", str(tmp_path / "x.db"), "-m", "vgg16"],
                 ["collect", str(tmp_path / name)],
                 ["stats", "--db", str(tmp_path / name)],
                 ["score", "--db", str(tmp_path / "x.db"), "--order", f"x{CLEAR}"]):
        r = run_cli(*args)
        assert r.returncode != 0
        _no_controls(r.stdout + r.stderr)
        assert "\\x1b" in r.stderr, (args, r.stderr)


def test_export_jsonl_escapes_the_control_characters_it_keeps(tmp_path):
    # export is data for other programs: its fields keep their bytes (JSON escapes them).
    db = _hostile_db(tmp_path)
    r = run_cli("export", "--db", db, "--format", "jsonl")
    assert r.returncode == 0
    _no_controls(r.stdout)
    assert "\\u001b]52" in r.stdout


@pytest.mark.tmux
@pytest.mark.skipif(shutil.which("tmux") is None and not os.environ.get("CI"),
                    reason="tmux is not installed")
def test_stats_in_tmux_leaves_the_clipboard_alone(tmp_path):
    db = _hostile_db(tmp_path)
    sock = f"tuilabel-test-{uuid.uuid4().hex[:10]}"

    def tmux(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", sock, *args], capture_output=True, text=True,
                              timeout=20, check=check)

    try:
        tmux("new-session", "-d", "-s", "s", "-x", "120", "-y", "40", "sleep 60")
        tmux("set-option", "-g", "set-clipboard", "on")
        tmux("respawn-pane", "-k", "-t", "s",
             f"cd {REPO} && env PYTHONPATH={REPO} {sys.executable} -m tuilabel stats --db {db}; "
             "echo STATS-DONE; sleep 30")
        deadline = time.monotonic() + 30
        while "STATS-DONE" not in (screen := tmux("capture-pane", "-p", "-t", "s").stdout):
            assert time.monotonic() < deadline, screen
            time.sleep(0.1)
        assert "52;c;SGFja2Vk" in screen  # shown as text
        buffers = tmux("list-buffers", check=False).stdout
        assert "Hacked" not in buffers and buffers.strip() == ""
    finally:
        tmux("kill-server", check=False)


def _stdout_on_a_terminal(*args: str) -> tuple[int, bytes]:
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm-256color", "TUILABEL_DEBUG": ""}
    proc = subprocess.Popen([sys.executable, "-m", "tuilabel", *args], cwd=REPO, env=env,
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.DEVNULL)
    os.close(slave)
    seen = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        seen += data
    os.close(master)
    return proc.wait(timeout=60), seen


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
def test_export_to_a_terminal_makes_escapes_visible_and_to_a_file_keeps_them(tmp_path, fmt):
    db = _hostile_db(tmp_path)
    code, seen = _stdout_on_a_terminal("export", "--db", db, "--format", fmt)
    assert code == 0
    assert b"\x1b" not in seen and b"\x07" not in seen
    assert b"cat\\x1b[2J" in seen  # the label
    if fmt == "csv":  # (the TSV has no rater column)
        assert SHOWN_OSC52.encode() in seen
    r = run_cli("export", "--db", db, "--format", fmt)  # a pipe: the data as stored
    assert f"cat{CLEAR}" in r.stdout
