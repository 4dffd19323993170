"""Options and helpers shared by several commands."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help=(
            "SQLite file or mysql://user@host:port/dbname URL (password from "
            "TUILABEL_DB_PASSWORD or ~/.my.cnf). Default: $TUILABEL_DB, else ./tuilabel.db."
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
    """Print one line on stderr."""
    print(message, file=sys.stderr, flush=True)


def stderr_is_tty() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
