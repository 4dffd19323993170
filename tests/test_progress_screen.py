"""What a person sees when a command with a progress bar ends: its summary, and no finished
bar left above it. Run in tmux (a real terminal), and read off the screen with capture-pane."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import REPO
from test_roc_cli import generated, write_tsv

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(shutil.which("tmux") is None and not os.environ.get("CI"),
                       reason="tmux is not installed"),
]

#: What only the bar draws (the summaries say neither).
BAR_MARKS = ("━", "ETA", "/s ")


def screen_after(args: list[str], stdout: Path | None = None, timeout: float = 120.0) -> str:
    """Run `python -m tuilabel ARGS` in a 150x40 tmux pane (stdout to the file `stdout`, if
    given); the screen once it has exited."""
    socket = f"tuilabel-bar-{uuid.uuid4().hex[:10]}"
    command = (f"cd {shlex.quote(str(REPO))} && env PYTHONPATH={shlex.quote(str(REPO))} "
               f"TERM=xterm-256color {shlex.quote(sys.executable)} -m tuilabel "
               + " ".join(shlex.quote(a) for a in args)
               + (f" > {shlex.quote(str(stdout))}" if stdout else "")
               + "; echo BAR-EXIT=$?; sleep 60")

    def tmux(*a: str) -> str:
        return subprocess.run(["tmux", "-L", socket, *a], capture_output=True, text=True,
                              timeout=20, check=True).stdout

    try:
        tmux("new-session", "-d", "-s", "bar", "-x", "150", "-y", "40", command)
        deadline = time.monotonic() + timeout
        while "BAR-EXIT=" not in (text := tmux("capture-pane", "-p", "-t", "bar")):
            if time.monotonic() > deadline:
                raise AssertionError(f"the command did not end; screen:\n{text}")
            time.sleep(0.2)
        return text
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=20)


def test_label_leaves_its_summary_and_no_finished_bar(tmp_path: Path):
    photos = sorted((REPO / "sample_data" / "photos").iterdir())
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"{p}\n" for p in photos * 20))  # the same six photos, 20 times
    screen = screen_after(["label", "--images", str(listing), "-m", "test_rgb",
                           "--batch-size", "2", "--db", str(tmp_path / "t.db")])
    assert "BAR-EXIT=0" in screen, screen
    assert f"labeled {len(photos)} photo(s)" in screen, screen
    assert not [m for m in BAR_MARKS if m in screen], screen


def test_roc_leaves_no_finished_bar(tmp_path: Path):
    """The report goes to a file, so that only what stderr drew is on the screen."""
    _, scores, verdict, labels = generated(3000, seed=3)
    tsv = write_tsv(tmp_path / "export.tsv", scores, verdict, labels)
    report = tmp_path / "report.txt"
    screen = screen_after(["roc", "--from", str(tsv), "--bootstrap", "300", "--seed", "1",
                           "--width", "100", "--height", "12"], stdout=report)
    assert "BAR-EXIT=0" in screen, screen
    assert "AUC" in report.read_text(), report.read_text()
    assert not [m for m in BAR_MARKS if m in screen], screen
