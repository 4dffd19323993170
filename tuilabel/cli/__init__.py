"""The `tuilabel` command line: thin commands over the package, one error boundary.

Every user-facing error is a `TuilabelError`: it is printed as one line on stderr and the
process exits with its code. Set TUILABEL_DEBUG=1 to see tracebacks instead.
"""

from __future__ import annotations

import os
import sys

import typer

# Importing a command module registers its commands on `app`.
from tuilabel.cli import collect, data, label, roc, score  # noqa: F401
from tuilabel.cli.app import WRITE_FAILURES, OutputClosed, OutputFailed, app
from tuilabel.errors import ExitCode, TuilabelError
from tuilabel.text import visible

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with a documented code (see tuilabel.errors)."""
    debug = bool(os.environ.get("TUILABEL_DEBUG"))
    try:
        rv = app(args=argv, prog_name="tuilabel", standalone_mode=False)
        sys.stdout.flush()  # a closed pipe shows here, not as a traceback at exit
    except TuilabelError as exc:
        if debug:
            raise
        print(f"tuilabel: error: {visible(exc)}", file=sys.stderr)
        if isinstance(exc, OutputFailed):
            _discard_stdout()  # else the exit flushes it again, with a traceback
        sys.exit(int(exc.exit_code))
    except OSError as exc:  # the last flush of stdout (the one above) on a full disk
        if exc.errno not in WRITE_FAILURES or debug:
            raise
        print(f"tuilabel: error: {visible(OutputFailed.from_os_error(exc))}", file=sys.stderr)
        _discard_stdout()
        sys.exit(int(ExitCode.USAGE))
    except typer.Abort:
        print("tuilabel: interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
    except KeyboardInterrupt:
        if debug:
            raise
        print("tuilabel: interrupted", file=sys.stderr)
        sys.exit(int(ExitCode.INTERRUPTED))
    except typer.TyperException as exc:  # usage errors (Typer's own copy of click's)
        if _is_help(exc):
            exc.show()  # type: ignore[attr-defined]
        else:
            print(visible(_usage_error_line(exc)), file=sys.stderr)
        sys.exit(int(getattr(exc, "exit_code", ExitCode.USAGE)))
    except (OutputClosed, BrokenPipeError):
        # `tuilabel export | head`: the reader went away; that is not an error of ours.
        _discard_stdout()
        sys.exit(0)
    if rv == ExitCode.INTERRUPTED:  # Typer turns Ctrl-C inside a command into exit code 130
        print("tuilabel: interrupted", file=sys.stderr)
    sys.exit(rv if isinstance(rv, int) else 0)


def _is_help(exc: Exception) -> bool:
    """`tuilabel` alone: Typer shows the help through a usage error; let it."""
    return type(exc).__name__ == "NoArgsIsHelpError" and hasattr(exc, "show")


def _usage_error_line(exc: Exception) -> str:
    """A usage error as one line: `tuilabel load: error: Missing argument 'FILE'. (...)`."""
    ctx = getattr(exc, "ctx", None)
    where = getattr(ctx, "command_path", None) or "tuilabel"
    fmt = getattr(exc, "format_message", None)
    message = " ".join((fmt() if fmt else str(exc)).split()).replace(": Value error, ", ": ")
    return f"{where}: error: {message} (see '{where} --help')"


def _discard_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered for a closed pipe or a full disk
    cannot be written, and Python's exit would try again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
