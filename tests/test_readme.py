"""The README's console examples are run, and their output compared, so that none drifts.

Every ```console block in README.md is such an example, and must say so with the marker line

    <!-- readme-test -->

right above it (a test fails on an unmarked one, and on a ```text or ```bash block that
starts with a `$ ` line: an example in disguise). In a marked block:

- `$ COMMAND` lines run, in order, with bash, in a fresh folder that holds `sample_data/` and
  `scripts/` (links to the repository's), with `tuilabel` and `python` on PATH running this
  checkout (as with `.venv/bin` on PATH in a checkout). They share the folder, so a later
  command sees what an earlier one wrote (`tuilabel.db`).
- The lines up to the next `$` line are the expected output: stdout and stderr together, as a
  terminal shows them, then `[exit code N]` if the command failed. A line `...` stands for any
  number of lines; `...` inside a line for any text (timings, say), as doctest's ELLIPSIS
  does. Trailing spaces are ignored, and so are blank lines at the end.
- An interactive `tuilabel score` line ends with a comment saying what to do in a real
  terminal (tmux, TERM=xterm-256color, no COLORTERM, no config file):
  - `# keys: K1 K2 ... q`: in a 120x40 pane, the keys are pressed one by one (each rating key
    once the photo it rates is counted on screen), and the expected output is what is on the
    screen after the app has quit.
  - `# screen at WxH` or `# screen at WxH after: K1 K2 ...`: in a WxH pane, the keys (if any)
    are pressed as above, and the expected output is the screen while the app runs: it is
    compared until it matches (up to 60 s: the photo takes a moment to draw) and the last
    screen is shown if it never does. Then `q` is pressed and the app must exit with 0.
    Half-block photo rows are plain `▄` characters on the captured text (colours are not
    compared), so they can be written out or elided with `...`.
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
#: The comment that makes a `$` line interactive (see the module doc).
INTERACTIVE = re.compile(r"\s+#\s*(?:keys:\s*(?P<keys>\S.*?)|screen at (?P<cols>\d+)x(?P<rows>\d+)"
                         r"(?:\s+after:\s*(?P<after>\S.*?))?)\s*$")
RATING_KEYS = frozenset("jklx123")
#: Variables of the caller's environment that would change what a command prints or draws.
UNSET = ("TUILABEL_DB", "TUILABEL_CONFIG", "TUILABEL_GRAPHICS", "TUILABEL_FRAME_LOG",
         "COLORTERM", "NO_COLOR", "TEXTUAL_COLOR_SYSTEM", "TMUX")


@dataclass
class Step:
    command: str
    expected: list[str]


@dataclass
class Block:
    line: int  # 1-based line of the ```console fence in README.md
    steps: list[Step]


@dataclass
class Fence:
    line: int  # 0-based index of the opening fence
    end: int  # 0-based index of the closing fence
    info: str  # what follows the opening ``` ("console", "bash", ...)
    marked: bool  # MARKER is on the line above (blank lines between are allowed)


def fences(text: str) -> list[Fence]:
    """Every fenced ``` block of `text`, in order (a fence inside a block is its text)."""
    lines = text.splitlines()
    found = []
    i = 0
    while i < len(lines):
        if not lines[i].strip().startswith("```"):
            i += 1
            continue
        end = next((k for k in range(i + 1, len(lines)) if lines[k].strip() == "```"), None)
        if end is None:
            raise AssertionError(f"README.md:{i + 1}: a ``` block that is never closed")
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        found.append(Fence(i, end, lines[i].strip()[3:].strip(), k >= 0 and
                           lines[k].strip() == MARKER))
        i = end + 1
    return found


def unchecked_examples(text: str) -> list[str]:
    """What keeps an example of `text` from being run: a ```console block without MARKER, a
    block of another kind that starts with a `$ ` line, MARKER above anything else."""
    lines = text.splitlines()
    problems = []
    for fence in fences(text):
        first = next((line for line in lines[fence.line + 1:fence.end] if line.strip()), "")
        where = f"README.md:{fence.line + 1}"
        if fence.info == "console" and not fence.marked:
            problems.append(f"{where}: a ```console block without {MARKER} above it")
        elif fence.info != "console" and first.startswith("$ "):
            problems.append(f"{where}: a ```{fence.info} block of `$` commands: make it a "
                            f"```console block with {MARKER}")
        elif fence.info != "console" and fence.marked:
            problems.append(f"{where}: {MARKER} is not followed by ```console")
    marked_lines = {k for k, line in enumerate(lines) if line.strip() == MARKER}
    used = set()
    for fence in fences(text):
        k = fence.line - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        used.add(k)
    problems += [f"README.md:{k + 1}: {MARKER} is not followed by a ``` block"
                 for k in sorted(marked_lines - used)]
    return problems


def marked_blocks(text: str) -> list[Block]:
    """Every ```console block preceded by MARKER, its `$` lines and their expected output."""
    lines = text.splitlines()
    blocks = []
    for fence in fences(text):
        if fence.info != "console" or not fence.marked:
            continue
        steps: list[Step] = []
        for body in lines[fence.line + 1:fence.end]:
            if body.startswith("$ "):
                steps.append(Step(body[2:], []))
            elif steps:
                steps[-1].expected.append(body)
            elif body.strip():
                raise AssertionError(f"README.md:{fence.line + 1}: output before any `$` "
                                     "command")
        blocks.append(Block(fence.line + 1, steps))
    return blocks


def matches(expected: list[str], actual: str) -> bool:
    """`actual` against the expected lines, `...` being a wildcard (see the module doc)."""
    pattern = ""
    for line in _tidy("\n".join(expected)).splitlines():
        if line.strip() == "...":
            pattern += r"(?:[^\n]*\n)*?"
        else:
            pattern += r"[^\n]*?".join(re.escape(part) for part in line.split("..."))
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
    for name, line in (("tuilabel", f'exec {shlex.quote(sys.executable)} -m tuilabel "$@"'),
                       ("python", f'exec {shlex.quote(sys.executable)} "$@"')):
        shim = bin_dir / name
        shim.write_text(f"#!/bin/sh\n{line}\n")
        shim.chmod(0o755)
    config = folder.parent / "config"  # an empty XDG_CONFIG_HOME: no config.toml remaps keys
    config.mkdir(exist_ok=True)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1", "TUILABEL_DEBUG": "",
           "XDG_CONFIG_HOME": str(config), "COLUMNS": "100", "LINES": "30"}
    for name in UNSET:
        env.pop(name, None)
    return env


def run_step(step: Step, folder: Path, env: dict[str, str]) -> str:
    how = INTERACTIVE.search(step.command)
    if how is None:
        r = subprocess.run(["bash", "-c", step.command], cwd=folder, env=env, timeout=600,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return r.stdout + ("" if r.returncode == 0 else f"[exit code {r.returncode}]\n")
    command = step.command[:how.start()]
    if how["keys"] is not None:
        return run_in_tmux(command, how["keys"].split(), folder, env)
    return run_in_tmux(command, (how["after"] or "").split(), folder, env,
                       size=(int(how["cols"]), int(how["rows"])), expected=step.expected)


def run_in_tmux(command: str, keys: list[str], folder: Path, env: dict[str, str],
                size: tuple[int, int] = (120, 40), expected: list[str] | None = None) -> str:
    """`command` in a tmux pane of `size` (columns, rows); press `keys`. Without `expected`:
    the screen after the app has ended. With it: the screen once it matches `expected` (or
    the last one, after 60 s); then `q`, and an error unless the app exits with 0."""
    socket = f"tuilabel-readme-{uuid.uuid4().hex[:10]}"
    # The pane's size is the terminal's: COLUMNS and LINES (set for the other commands) would
    # override it for Rich and Textual.
    tmux_env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
    line = (f"cd {shlex.quote(str(folder))} && TERM=xterm-256color "
            f"{command}; echo README-EXIT=$?; sleep 120")

    def tmux(*args: str) -> str:
        return subprocess.run(["tmux", "-L", socket, "-f", os.devnull, *args], env=tmux_env,
                              capture_output=True, text=True, timeout=20, check=True).stdout

    def wait(predicate, what: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while not predicate(screen := tmux("capture-pane", "-p", "-t", "readme")):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")
            time.sleep(0.1)
        return screen

    def exit_status(screen: str) -> str:
        code = screen.partition("README-EXIT=")[2].split()[0]
        return "" if code == "0" else f"[exit code {code}]\n"

    try:
        tmux("new-session", "-d", "-s", "readme", "-x", str(size[0]), "-y", str(size[1]), line)
        wait(lambda s: re.search(r"rated\s+\d+ of", s) is not None or "README-EXIT=" in s,
             "the app")
        rated = 0
        for key in keys:
            tmux("send-keys", "-t", "readme", key)
            if key in RATING_KEYS:
                rated += 1
                wait(lambda s, n=rated: re.search(rf"rated\s+{n} of", s) is not None
                     or "README-EXIT=" in s, f"rating {rated}")
        if expected is None:
            screen = wait(lambda s: "README-EXIT=" in s, "the app to quit")
            return screen.partition("README-EXIT=")[0] + exit_status(screen)
        try:
            screen = wait(lambda s: matches(expected, s) or "README-EXIT=" in s,
                          "the screen to match the README")
        except AssertionError:
            return tmux("capture-pane", "-p", "-t", "readme")
        if "README-EXIT=" in screen:  # the app ended before its screen could be compared
            return screen.partition("README-EXIT=")[0] + exit_status(screen)
        tmux("send-keys", "-t", "readme", "q")
        after = wait(lambda s: "README-EXIT=" in s, "the app to quit")
        status = exit_status(after)
        assert not status, f"`{command}` did not quit cleanly on q ({status.strip()}):\n{after}"
        return screen
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=20)


README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCKS = marked_blocks(README)


def test_the_readme_has_checked_examples():
    assert BLOCKS, f"no {MARKER} block in README.md"


def test_every_console_example_in_the_readme_is_run():
    assert not unchecked_examples(README), "\n".join(unchecked_examples(README))


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=[f"README.md:{b.line}" for b in BLOCKS])
def test_console_example(block: Block, tmp_path: Path):
    needs_tmux = any(INTERACTIVE.search(s.command) for s in block.steps)
    if needs_tmux and shutil.which("tmux") is None and not os.environ.get("CI"):
        pytest.skip("tmux is not installed")
    folder = tmp_path / "work"
    folder.mkdir()
    for name in ("sample_data", "scripts"):
        (folder / name).symlink_to(REPO / name)
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
    (["a", "b", ""], "a\nb\n", True),  # blank lines at the end of a step do not count
    (["a", "b"], "a\nc\n", False),
    (["a ... c"], "a b\nc\n", False),  # an in-line ... does not cross lines
    (["a"], "a\nb\n", False),
])
def test_the_ellipsis_matching(expected, actual, ok):
    assert matches(expected, actual) is ok


@pytest.mark.parametrize(("text", "problem"), [
    ("<!-- readme-test -->\n```console\n$ true\n```\n", None),
    ("<!-- readme-test -->\n\n```console\n$ true\n```\n", None),
    ("```bash\ntuilabel stats\n```\n```text\na | b\n```\n", None),
    ("text\n```console\n$ true\n```\n", "README.md:2: a ```console block without"),
    ("```text\n$ tuilabel roc\nAUC 0.9\n```\n", "README.md:1: a ```text block of `$` commands"),
    ("<!-- readme-test -->\n```bash\n$ true\n```\n", "README.md:2: a ```bash block of `$`"),
    ("<!-- readme-test -->\n```toml\n[keys]\n```\n", "README.md:2: <!-- readme-test --> is not"),
    ("<!-- readme-test -->\ntext\n```console\n$ true\n```\n", "README.md:1: <!-- readme-test"),
    ("```text\n```console\n```\n", None),  # a fence inside a block is its text
], ids=["marked", "marked-blank-line", "no-examples", "unmarked", "text-example",
        "bash-example", "marker-on-toml", "marker-astray", "fence-in-a-block"])
def test_every_example_must_be_marked(text, problem):
    found = unchecked_examples(text)
    if problem is None:
        assert found == []
    else:
        assert any(p.startswith(problem) for p in found), found


@pytest.mark.parametrize(("line", "keys", "size", "after"), [
    ("tuilabel score  # keys: j k q", "j k q", None, None),
    ("tuilabel score --rater a  # screen at 100x30", None, ("100", "30"), None),
    ("tuilabel score  # screen at 80x24 after: j s", None, ("80", "24"), "j s"),
    ("tuilabel roc --seed 1", None, None, None),
])
def test_the_interactive_comment(line, keys, size, after):
    how = INTERACTIVE.search(line)
    if keys is None and size is None:
        assert how is None
        return
    assert how is not None
    assert how["keys"] == keys and how["after"] == after
    assert (None if how["cols"] is None else (how["cols"], how["rows"])) == size
