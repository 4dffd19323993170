"""The Typer application object that every command module registers itself on.

Imports here stay light (typer, stdlib) so that `tuilabel --help` is fast: each command
imports the heavy parts it needs inside its own body.
"""

from __future__ import annotations

import errno
import inspect
import re
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

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


#: The commands in the order of the work, as `tuilabel --help` lists them; commands not
#: named here follow, in the order they were registered.
COMMAND_ORDER = ("collect", "label", "score", "roc", "load", "export", "stats")

#: What a value looks like in help, by the option's Python type (click's words), where the
#: option names no METAVAR of its own. Typer would print `<str>`, `<int>` and `<bool>`.
_TYPE_METAVARS = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "Path": "PATH"}


def reflow(text: str | None) -> str | None:
    """`text` (a docstring) with each paragraph on one line, so the help's own wrapping
    decides where lines break. Paragraphs are separated by a blank line; one starting with
    `\\b` (click's "no rewrap" mark) is kept as written."""
    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split()) for p in paragraphs)


#: What Rich would take for a markup tag (rich.markup's own pattern).
_MARKUP_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


def _escape_markup(text: str | None) -> str | None:
    """`text` with anything that looks like Rich markup escaped (rich.markup.escape, without
    importing Rich when no help is printed)."""
    if not text:
        return text
    return _MARKUP_TAG.sub(lambda m: f"{m[1]}{m[1]}\\{m[2]}", text)


def _plain_metavar(param: Any) -> str | None:
    """The METAVAR for an option or argument without one: nothing for an on/off flag, the
    choices for a fixed set (`[tsv|csv|jsonl]`), else click's word for the type."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    desc = getattr(param, "type_descriptor", None)
    if desc is None:
        return None
    if desc.is_choice:
        return "[" + "|".join(str(c) for c in desc.choices) + "]"
    if getattr(param, "param_type_name", "") == "argument":
        return (param.name or "value").upper()  # (Typer adds "..." where it takes several)
    annotation = desc.annotation
    name = getattr(annotation, "__name__", str(annotation))
    return _TYPE_METAVARS.get(name, name.upper())


def _no_type(ctx: Any) -> None:
    """An argument's type column: empty (Typer would print `<list[str]>`)."""
    return None


class _Tidy:
    """What the app's commands and the app itself share: help paragraphs reflowed, and each
    option and argument shown with a plain METAVAR (see `_plain_metavar`) instead of Typer's
    `<str>`/`<bool>` markers, the help option's and the completion options' included."""

    help: str | None
    params: list[Any]

    def _reflow_help(self) -> None:
        """Reflow the help and make it plain text for Rich: `[keys]` in a help text is not
        markup to remove."""
        self.help = _escape_markup(reflow(self.help))
        for param in self.params:
            param.help = _escape_markup(getattr(param, "help", None))

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if param.metavar is None:
                param.metavar = _plain_metavar(param)
                if param.param_type_name == "argument":  # its name is its METAVAR already
                    param.display_type_rich = _no_type
        return params


class _Command(_Tidy, TyperCommand):
    """Every `@app.command()` (see `_App.command`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reflow_help()


class _Group(_Tidy, TyperGroup):
    """The app's group: commands listed in COMMAND_ORDER; a closed stdout leaves a command
    as OutputClosed. (Help text is printed by rich, which exits 1 itself on a closed pipe.)"""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reflow_help()
        rank = {name: i for i, name in enumerate(COMMAND_ORDER)}
        names = sorted(self.commands, key=lambda n: rank.get(n, len(rank)))  # stable
        self.commands = {name: self.commands[name] for name in names}

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise OutputClosed() from exc
            if exc.errno in WRITE_FAILURES:
                raise OutputFailed.from_os_error(exc) from exc
            raise


class _App(typer.Typer):
    """typer.Typer whose commands are `_Command`s unless a command asks for another class."""

    def command(self, *args: Any, cls: Any = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or _Command, **kwargs)


app = _App(
    cls=_Group,
    name="tuilabel",
    help=(
        "Label tweet photos with an image classifier, rate the predictions in the terminal, "
        "and measure where the model can be trusted."
    ),
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion, and _TUILABEL_COMPLETE
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        from tuilabel import __version__

        print(f"tuilabel {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", is_eager=True, callback=_show_version,
                     help="Show the version and exit."),
    ] = False,
) -> None:
    """The options of `tuilabel` itself, before the command (the app's help says the rest)."""

