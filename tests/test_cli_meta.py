"""The CLI as a whole: help text everywhere, README coverage, and no heavy imports at start."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import REPO, run_cli

COMMANDS = ["collect", "label", "load", "score", "export", "roc", "stats"]


def registered_commands() -> list[str]:
    from tuilabel.cli import app

    return [c.name or c.callback.__name__ for c in app.registered_commands]


def test_every_command_of_the_brief_is_registered():
    assert sorted(registered_commands()) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_is_in_the_readme(command):
    r = run_cli(command, "--help")
    assert r.returncode == 0, r.stderr
    assert "Usage: tuilabel " + command in r.stdout
    usage_end = r.stdout.index("Options")
    assert r.stdout[r.stdout.index("Usage"):usage_end].count("\n") > 2  # a description exists
    readme = (REPO / "README.md").read_text()
    assert re.search(rf"tuilabel {command}\b", readme), f"README lacks an example of {command}"


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        capture_output=True, text=True, cwd=REPO, check=True,
    ).stdout
    return set(out.split())


@pytest.mark.parametrize("command", [[], *[[c] for c in COMMANDS]])
def test_help_imports_neither_tensorflow_nor_textual(command):
    args = [*command, "--help"]
    code = (
        "import sys\nfrom tuilabel.cli import main\n"
        f"sys.argv = ['tuilabel', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    mods = _modules_after(code)
    assert "tuilabel.cli" in mods
    assert not {"tensorflow", "keras", "textual"} & mods


@pytest.mark.parametrize(
    "module",
    ["tuilabel.cli", "tuilabel.store", "tuilabel.store.sqlite", "tuilabel.store.mysql",
     "tuilabel.exchange", "tuilabel.stats", "tuilabel.progress", "tuilabel.tweets",
     "tuilabel.images", "tuilabel.model", "tuilabel.pipeline", "tuilabel.analysis",
     "tuilabel.plots", "tuilabel.tui.run"],
)
def test_core_modules_import_no_heavy_packages(module):
    """The layering of STYLE.md: no core module imports TensorFlow, Textual or Typer when
    imported; scikit-learn only where the analysis needs it."""
    mods = _modules_after(f"import {module}")
    assert module in mods
    assert not {"tensorflow", "keras", "textual"} & mods
    if not module.startswith(("tuilabel.analysis", "tuilabel.plots")):
        assert "sklearn" not in mods
    if not module.startswith("tuilabel.cli"):
        assert "typer" not in mods


def test_python_dash_m_and_version_of_errors():
    r = run_cli("--help")
    assert r.returncode == 0 and "Usage: tuilabel" in r.stdout
    r = run_cli("no-such-command")
    assert r.returncode == 2 and "No such command" in r.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [(["load"], "Missing argument"), (["export", "-f", "xml"], "use one of tsv, csv, jsonl"),
     (["roc", "--width", "5"], "--width"), (["score", "--overlap", "0"], "--overlap")],
)
def test_usage_errors_are_one_line(args, words):
    r = run_cli(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "error:" in lines[0], r.stderr
