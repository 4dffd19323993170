"""The Typer application object that every command module registers itself on.

Imports here stay light (typer, stdlib) so that `tuilabel --help` is fast: each command
imports the heavy parts it needs inside its own body.
"""

from __future__ import annotations

import errno
from typing import Any

import typer
from typer.core import TyperGroup

from tuilabel.errors import TuilabelError


class OutputClosed(Exception):
    """stdout's reader went away (`tuilabel export | head -1`). Typer would turn the
    BrokenPipeError into a silent exit code 1 ("bad data" here); as this type it reaches
    `tuilabel.cli.main`, which ends quietly with 0."""


#: Write failures that are the environment's, not a bug: reported as one line, exit 2.
WRITE_FAILURES = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class OutputFailed(TuilabelError):
    """Writing an output failed (`tuilabel export > /dev/full`: the disk is full)."""

    @classmethod
    def from_os_error(cls, exc: OSError) -> OutputFailed:
        where = f" {exc.filename}" if exc.filename else " the output"
        return cls(f"cannot write{where}: {exc.strerror or exc}")


class _Group(TyperGroup):
    """The app's group: a closed stdout leaves a command as OutputClosed. (Help text is
    printed by rich, which exits 1 itself on a closed pipe.)"""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise OutputClosed() from exc
            if exc.errno in WRITE_FAILURES:
                raise OutputFailed.from_os_error(exc) from exc
            raise


app = typer.Typer(
    cls=_Group,
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
