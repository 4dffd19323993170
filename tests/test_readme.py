"""The README's console examples are run, and their output compared, so that none drifts.

A section opts a ```console block in by putting the marker line

    <!-- readme-test -->

right above it. In a marked block:

- `$ COMMAND` lines run, in order, with bash, in a fresh folder that holds `sample_data/`
  (a link to the repository's), with `tuilabel` on PATH running this checkout. They share the
  folder, so a later command sees what an earlier one wrote (`tuilabel.db`).
- The lines up to the next `$` line are the expected output: stdout and stderr together, as a
  terminal shows them. A line `...` stands for any number of lines; `...` inside a line for any
  text (timings, say), as doctest's ELLIPSIS does.
- An interactive `tuilabel score` line ends with `# keys: k j l ... q`: it runs in tmux (a
  real terminal, 120x40), the keys are pressed one by one (each rating key once the photo it
  rates is counted on screen), and the expected output is what is on the screen after the
  app has quit.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO

MARKER = "<!-- readme-test -->"
KEYS = re.compile(r"\s+#\s*keys:\s*(?P<keys>.+)$")
RATING_KEYS = frozenset("jklx123")


@dataclass
class Step:
    command: str
    expected: list[str]


@dataclass
class Block:
    line: int  # 1-based line of the ```console fence in README.md
    steps: list[Step]


def marked_blocks(text: str) -> list[Block]:
    """Every ```console block preceded by MARKER (blank lines between are allowed)."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        if line.strip() != MARKER:
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j >= len(lines) or lines[j].strip() != "```console":
            raise AssertionError(f"README.md:{i + 1}: {MARKER} is not followed by ```console")
        end = next(k for k in range(j + 1, len(lines)) if lines[k].strip() == "```")
        steps: list[Step] = []
        for body in lines[j + 1:end]:
            if body.startswith("$ "):
                steps.append(Step(body[2:], []))
            elif steps:
                steps[-1].expected.append(body)
            elif body.strip():
                raise AssertionError(f"README.md:{j + 1}: output before any `$` command")
        blocks.append(Block(j + 1, steps))
    return blocks


def matches(expected: list[str], actual: str) -> bool:
    """`actual` against the expected lines, `...` being a wildcard (see the module doc)."""
    pattern = ""
    for line in expected:
        if line.strip() == "...":
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += r"[^\n]*?".join(re.escape(part) for part in line.rstrip().split("..."))
            pattern += r"\n"
    return re.fullmatch(pattern, _tidy(actual)) is not None


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "".join(line + "\n" for line in lines)


def _environment(folder: Path) -> dict[str, str]:
    bin_dir = folder.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "tuilabel"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m tuilabel "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "TUILABEL_DEBUG": "",
           "COLUMNS": "100", "LINES": "30"}
    env.pop("TUILABEL_DB", None)
    return env


def run_step(step: Step, folder: Path, env: dict[str, str]) -> str:
    keys = KEYS.search(step.command)
    if keys is None:
        r = subprocess.run(["bash", "-c", step.command], cwd=folder, env=env, timeout=600,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return r.stdout + ("" if r.returncode == 0 else f"[exit code {r.returncode}]\n")
    return run_in_tmux(step.command[:keys.start()], keys["keys"].split(), folder, env)


def run_in_tmux(command: str, keys: list[str], folder: Path, env: dict[str, str]) -> str:
    """`command` in a 120x40 tmux pane; press `keys`; the screen after it has ended."""
    socket = f"tuilabel-readme-{uuid.uuid4().hex[:10]}"
    assigns = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()
                       if k in ("PATH", "PYTHONPATH", "PYTHONUNBUFFERED", "TUILABEL_DEBUG"))
    line = (f"cd {shlex.quote(str(folder))} && env {assigns} TERM=xterm-256color "
            f"{command}; echo README-EXIT=$?; sleep 120")

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True,
                              timeout=20, check=True).stdout

    def wait(predicate, what: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while not predicate(screen := tmux("capture-pane", "-p", "-t", "readme")):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")
            time.sleep(0.1)
        return screen

    try:
        tmux("new-session", "-d", "-s", "readme", "-x", "120", "-y", "40", line)
        wait(lambda s: re.search(r"rated\s+\d+ of", s) is not None, "the app")
        rated = 0
        for key in keys:
            tmux("send-keys", "-t", "readme", key)
            if key in RATING_KEYS:
                rated += 1
                wait(lambda s, n=rated: re.search(rf"rated\s+{n} of", s) is not None,
                     f"rating {rated}")
        screen = wait(lambda s: "README-EXIT=" in s, "the app to quit")
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=20)
    out, _, status = screen.partition("README-EXIT=")
    code = status.split()[0]
    return out + ("" if code == "0" else f"[exit code {code}]\n")


BLOCKS = marked_blocks((REPO / "README.md").read_text(encoding="utf-8"))


def test_the_readme_has_checked_examples():
    assert BLOCKS, f"no {MARKER} block in README.md"


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=[f"README.md:{b.line}" for b in BLOCKS])
def test_console_example(block: Block, tmp_path: Path):
    needs_tmux = any(KEYS.search(s.command) for s in block.steps)
    if needs_tmux and shutil.which("tmux") is None and not os.environ.get("CI"):
        pytest.skip("tmux is not installed")
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "sample_data").symlink_to(REPO / "sample_data")
    env = _environment(folder)
    for step in block.steps:
        actual = run_step(step, folder, env)
        assert matches(step.expected, actual), (
            f"README.md:{block.line}: `$ {step.command}` printed:\n{actual}\n"
            "expected:\n" + "\n".join(step.expected))


@pytest.mark.parametrize(("expected", "actual", "ok"), [
    (["a", "b"], "a\nb\n\n", True),
    (["a ... c"], "a bb c\n", True),
    (["a", "...", "d"], "a\nb\nc\nd\n", True),
    (["a", "...", "d"], "a\nd\n", True),
    (["a", "b"], "a\nc\n", False),
    (["a ... c"], "a b\nc\n", False),  # an in-line ... does not cross lines
    (["a"], "a\nb\n", False),
])
def test_the_ellipsis_matching(expected, actual, ok):
    assert matches(expected, actual) is ok
