"""Output files written whole or not at all: `export -o`, `collect -o`, `roc -o`, the rebuilt
`label --csv`.

A full disk, a quota or an error half-way must not leave a cut or empty file where the user
expects a result (or where an earlier good one stood): the output is written to a temporary
file beside the target, flushed to disk, and renamed over the target only when complete
(rename is atomic within a file system, POSIX `rename(2)`). A pipe or device named as the
output (`/dev/stdout`, `>(gzip > x.gz)`) is written in place: renaming over it would replace
the device node itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from tuilabel.errors import InputError


def _failed(path: str | os.PathLike[str], exc: OSError) -> InputError:
    return InputError(f"cannot write {path}: {exc.strerror or exc}")


@contextmanager
def atomic_output(path: str | os.PathLike[str] | None, *, binary: bool = False,
                  keep_on_interrupt: bool = False) -> Iterator[IO[Any]]:
    """A file object for `path` (stdout for None or `-`) that replaces `path` only once the
    `with` block ends without an error. `binary`: bytes instead of UTF-8 text.
    `keep_on_interrupt`: Ctrl-C in the block still installs what was written (complete
    records, for `collect`). Raises InputError (exit 2) when the file cannot be written, the
    disk is full, or `path` is a folder; the target is then left as it was."""
    if path is None or str(path) == "-":
        stream: IO[Any] = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{path} is a folder")
    mode = "wb" if binary else "w"
    text_args: dict[str, Any] = {} if binary else {"encoding": "utf-8", "newline": ""}
    if target.exists() and not target.is_file():
        try:
            f = open(target, mode, **text_args)  # noqa: SIM115
        except OSError as exc:
            raise _failed(path, exc) from None
        with f:
            yield f
        return
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        f = open(tmp, mode, **text_args)  # noqa: SIM115
    except OSError as exc:
        raise _failed(path, exc) from None
    try:
        try:
            with f:
                try:
                    yield f
                except KeyboardInterrupt:
                    if not keep_on_interrupt:
                        raise
                    _install(f, tmp, target)
                    raise
                _install(f, tmp, target)
        except OSError as exc:
            if exc.filename is None or Path(exc.filename) in (tmp, target):
                raise _failed(path, exc) from None
            raise
    finally:
        if tmp.exists():
            tmp.unlink()


def _install(f: IO[Any], tmp: Path, target: Path) -> None:
    """Flush `f` to disk and rename it over `target`."""
    f.flush()
    os.fsync(f.fileno())
    os.replace(tmp, target)
