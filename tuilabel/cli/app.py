"""The Typer application object that every command module registers itself on.

Imports here stay light (typer, stdlib) so that `tuilabel --help` is fast: each command
imports the heavy parts it needs inside its own body.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="tuilabel",
    help=(
        "Label tweet photos with an image classifier, rate the predictions in the terminal, "
        "and measure where the model can be trusted."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
