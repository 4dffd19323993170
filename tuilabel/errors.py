"""One error hierarchy, caught at one boundary (the CLI), each with a documented exit code.

Exit codes:
    0  success
    1  bad input data (malformed rows/records with --strict, nothing computable from the data)
    2  usage and environment errors: missing file, bad option, unreachable database,
       missing model weights
    130 interrupted (Ctrl-C)
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    DATA = 1
    USAGE = 2
    INTERRUPTED = 130


class TuilabelError(Exception):
    """Base of every error meant for the user: `str(err)` is the one line printed on stderr."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, exit_code: ExitCode | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class InputError(TuilabelError):
    """A file or argument the user gave cannot be used (missing, unreadable, wrong kind)."""

    exit_code = ExitCode.USAGE


class DataError(TuilabelError):
    """The data itself is bad or insufficient (malformed row under --strict, no ratings...)."""

    exit_code = ExitCode.DATA


class StoreError(TuilabelError):
    """A database could not be opened, read or written. Never carries a password."""

    exit_code = ExitCode.USAGE


class ModelError(TuilabelError):
    """A model or its weights cannot be loaded."""

    exit_code = ExitCode.USAGE
