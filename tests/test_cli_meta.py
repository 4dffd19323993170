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
        [sys.executable, "-c", code + "\nimport sys; print(''.join('\\nmodule: ' + m "
         "for m in sys.modules))"],
        capture_output=True, text=True, cwd=REPO, check=True,
    ).stdout
    # Only the marked lines: help text printed before them may hold any word ("ray").
    return {line[len("module: "):] for line in out.splitlines() if line.startswith("module: ")}


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
    assert not {"tensorflow", "keras", "textual", "ray"} & mods


@pytest.mark.parametrize(
    "module",
    ["tuilabel.cli", "tuilabel.store", "tuilabel.store.sqlite", "tuilabel.store.mysql",
     "tuilabel.exchange", "tuilabel.stats", "tuilabel.progress", "tuilabel.tweets",
     "tuilabel.images", "tuilabel.model", "tuilabel.pipeline", "tuilabel.ray_engine",
     "tuilabel.analysis",
     "tuilabel.plots", "tuilabel.tui.run"],
)
def test_core_modules_import_no_heavy_packages(module):
    """The layering of STYLE.md: no core module imports TensorFlow, Textual or Typer when
    imported; scikit-learn only where the analysis needs it."""
    mods = _modules_after(f"import {module}")
    assert module in mods
    assert not {"tensorflow", "keras", "textual", "ray"} & mods
    if not module.startswith(("tuilabel.analysis", "tuilabel.plots")):
        assert "sklearn" not in mods
    if not module.startswith("tuilabel.cli"):
        assert "typer" not in mods


def test_opening_a_store_does_not_import_pandas(tmp_path):
    # sqlite_utils would import pandas (installed with tuilabel[ray]) on every command that
    # opens a store; tuilabel keeps it out, and pandas still imports afterwards.
    pytest.importorskip("pandas")
    db = tmp_path / "t.db"
    mods = _modules_after(f"from tuilabel.store import open_store\nopen_store({str(db)!r}).close()")
    assert "sqlite_utils" in mods and "pandas" not in mods
    mods = _modules_after("import tuilabel.store.sqlite\nimport pandas")
    assert "pandas" in mods


def test_python_dash_m_and_version_of_errors():
    r = run_cli("--help")
    assert r.returncode == 0 and "Usage: tuilabel" in r.stdout
    r = run_cli("no-such-command")
    assert r.returncode == 2 and "No such command" in r.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [(["load"], "Missing argument"), (["export", "-f", "xml"], "'xml' is not one of 'tsv', 'csv'"),
     (["roc", "--width", "5"], "--width"), (["score", "--overlap", "0"], "--overlap")],
)
def test_usage_errors_are_one_line(args, words):
    r = run_cli(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "error:" in lines[0], r.stderr


# -- the conventions a user expects of a CLI (issue 16) ---------------------------------------
WIDE = {"COLUMNS": "1000", "TERMINAL_WIDTH": "1000"}  # no summary wraps


def test_version():
    import tuilabel

    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout == f"tuilabel {tuilabel.__version__}\n", r
    assert run_cli("-V").stdout == r.stdout


@pytest.mark.parametrize("command", [[], *[[c] for c in COMMANDS]])
def test_help_shows_no_type_markers(command):
    """Options show a METAVAR (TEXT, INTEGER, FILE|URL, [tsv|csv|jsonl]) or, for a flag,
    nothing; never Typer's `<bool>`/`<str>`; arguments are named in capitals (PATHS)."""
    r = run_cli(*command, "--help", env=WIDE)
    assert r.returncode == 0, r.stderr
    assert not re.search(r"<[a-z][a-z\[\], |]*>", r.stdout), r.stdout
    assert not re.search(r"\{[a-z]", r.stdout), r.stdout  # ({paths} in the usage line)


def test_help_reflows_paragraphs_and_lists_commands_in_the_order_of_the_work():
    """Each command's summary is one line on a wide terminal: the docstring's own line
    breaks ("one\n per line") are gone."""
    import typer

    from tuilabel.cli import app

    r = run_cli("--help", env=WIDE)
    rows = [line.strip("│ ").rstrip() for line in r.stdout.splitlines()
            if re.match(r"│ [a-z]+ {2,}\S", line)]
    names = [row.split()[0] for row in rows]
    assert names == ["collect", "label", "score", "roc", "load", "export", "stats"]
    for name, command in typer.main.get_command(app).commands.items():
        summary = " ".join(command.help.split("\n\n")[0].split()).replace("\\[", "[")
        row = next(row for row in rows if row.split()[0] == name)
        assert row.split(None, 1)[1] == summary
    collect = run_cli("collect", "--help", env=WIDE).stdout
    assert "unchanged, one per line." in collect


def test_reflow_keeps_paragraphs_and_no_rewrap_blocks():
    from tuilabel.cli.app import reflow

    assert reflow("One\n    two.\n\n    Three\n    four.") == "One two.\n\nThree four."
    assert reflow("A\n\n\b\nkeep\n  this") == "A\n\n\b\nkeep\n  this"


@pytest.mark.parametrize(("args", "bad", "choices"), [
    (["score", "--order"], "newest", "'random', 'oldest', 'uncertain'"),
    (["score", "--graphics"], "ascii", "'auto', 'kitty', 'sixel', 'halfblock'"),
    (["export", "--format"], "xml", "'tsv', 'csv', 'jsonl'"),
    (["roc", "--positive"], "top3", "'top1', 'top5'"),
    (["label", "--engine"], "spark", "'local', 'ray'"),
    (["label", "--precision"], "fp8", "'float32', 'mixed_float16', 'bfloat16'"),
])
def test_fixed_choices_are_checked_by_the_cli(args, bad, choices):
    r = run_cli(*args, bad)
    assert r.returncode == 2
    assert f"'{bad}' is not one of {choices}" in r.stderr and "Value error" not in r.stderr


def test_choices_are_the_tables_the_code_uses():
    from typing import get_args

    from tuilabel.cli import common
    from tuilabel.cli.label import ENGINES
    from tuilabel.exchange import EXPORT_FORMATS
    from tuilabel.model import PRECISIONS
    from tuilabel.plots import POSITIVE_WORDS
    from tuilabel.store.base import ORDERS
    from tuilabel.tui.graphics import GRAPHICS_MODES

    assert get_args(common.Order) == ORDERS
    assert get_args(common.GraphicsMode) == GRAPHICS_MODES
    assert get_args(common.ExportFormat) == EXPORT_FORMATS
    assert set(get_args(common.Positive)) == set(POSITIVE_WORDS)
    assert get_args(common.Precision) == tuple(PRECISIONS)
    assert ENGINES == ("local", "ray")  # (the engines _engine_factory knows)


def test_database_from_the_environment(tmp_path):
    from tuilabel.store import open_store

    db = tmp_path / "from-env.db"
    open_store(str(db)).close()
    r = run_cli("stats", env={"TUILABEL_DB": str(db)})
    assert r.returncode == 0 and str(db) in r.stdout, r
    r = run_cli("stats", env={"TUILABEL_DB": str(tmp_path / "missing.db")})
    assert r.returncode == 2 and "missing.db" in r.stderr
    assert "[env var: TUILABEL_DB]" in run_cli("stats", "--help", env=WIDE).stdout


def _complete(words: str) -> list[str]:
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    r = run_cli(env={"_TUILABEL_COMPLETE": "complete_bash", "COMP_WORDS": words,
                     "COMP_CWORD": str(cword)})
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def test_shell_completion_of_commands_options_and_choices():
    assert _complete("tuilabel ") == ["collect", "label", "score", "roc", "load", "export",
                                      "stats"]
    assert _complete("tuilabel ex") == ["export"]
    from tuilabel.store.base import ORDERS

    assert _complete("tuilabel score --order ") == list(ORDERS)
    assert "--rater" in _complete("tuilabel score --ra")
    r = run_cli("--show-completion", "bash")
    assert r.returncode == 0 and "complete -o default -F _tuilabel_completion tuilabel" in r.stdout
