"""Options and helpers shared by several commands."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Literal

import typer

from tuilabel.errors import InputError

# The fixed choices of options, as Literal types so that Typer offers and checks them (and
# completes them in the shell). They are spelled here, not imported, to keep `--help` from
# importing the store and the TUI; tests/test_cli_meta.py checks that each equals the table
# the code uses (ORDERS, GRAPHICS_MODES, EXPORT_FORMATS, POSITIVE_WORDS, PRECISIONS).
Order = Literal["random", "oldest", "uncertain", "class"]
GraphicsMode = Literal["auto", "kitty", "sixel", "halfblock"]
ExportFormat = Literal["tsv", "csv", "jsonl"]
Positive = Literal["top1", "top5"]
Engine = Literal["local", "ray"]
Precision = Literal["float32", "mixed_float16", "bfloat16"]

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="TUILABEL_DB",
        metavar="FILE|URL",
        help=(
            "SQLite file or mysql://user@host:port/dbname URL (password from "
            "TUILABEL_DB_PASSWORD or ~/.my.cnf). Default: ./tuilabel.db."
        ),
        show_default=False,
    ),
]

RaterOption = Annotated[
    str | None,
    typer.Option("--rater", help="Only this rater's ratings.", show_default=False),
]

ModelFilterOption = Annotated[
    str | None,
    typer.Option("--model", help="Only images labeled by this model.", show_default=False),
]


def err(message: str) -> None:
    """Print a message on stderr, control characters from the data made visible (a file name
    or rater holding ESC sequences cannot act on the terminal)."""
    from tuilabel.text import visible

    print(visible(message, lines=True), file=sys.stderr, flush=True)


def refuse_output_onto_database(output: str | os.PathLike[str] | None, db: str | None,
                                option: str) -> None:
    """Raise InputError when `output` is the SQLite database file (or its -wal/-shm/-journal
    file): `export -o tuilabel.db` replaced the database with the export."""
    if output is None or str(output) == "-":
        return
    from tuilabel.store import default_db
    from tuilabel.store.target import SQLiteTarget, parse_target

    parsed = parse_target(str(db) if db is not None else default_db())
    if not isinstance(parsed, SQLiteTarget):
        return  # a server database: no file here to overwrite
    target = parsed.path
    out = os.path.realpath(output)
    for suffix in ("", "-wal", "-shm", "-journal"):
        path = target + suffix
        same = out == os.path.realpath(path)
        if not same and os.path.exists(output) and os.path.exists(path):
            same = os.path.samefile(output, path)  # a hard link
        if same:
            raise InputError(f"{option} {output} is the database file {path}: "
                             "writing there would destroy it")


def refuse_output_onto_inputs(output: str | os.PathLike[str] | None,
                              inputs: list[str | os.PathLike[str]], option: str) -> None:
    """Raise InputError when `output` is one of the input files (`label t.jsonl --csv
    t.jsonl` appended CSV rows to the tweets being read; `roc --from x -o x` replaced them)."""
    if output is None or str(output) == "-":
        return
    out = os.path.realpath(output)
    for path in inputs:
        if str(path) != "-" and os.path.realpath(path) == out:
            raise InputError(f"{option} {output} is also an input: writing there would "
                             "change what is being read")
