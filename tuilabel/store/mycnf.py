"""`~/.my.cnf` read the way MySQL's own client reads it.

Python's configparser (which PyMySQL's `read_default_file` uses) is not MySQL's option-file
syntax: it rejects an option before the first group, a repeated option, non-UTF-8 bytes and
`!includedir`, with a traceback that can quote the password. MySQL's rules, as in the
reference manual ("Using Option Files") and `my_default.cc`:

* `[group]` starts a group; a client reads `[client]`, and the `mysql` program `[mysql]` too.
  Both are read here, in file order; a later value of an option wins (so a repeated option is
  not an error).
* `opt` or `opt = value`; `-` and `_` are the same in option names; a `#` outside quotes ends
  the line (`remove_end_comment`), a line starting with `#` or `;` is a comment.
* A value may be quoted with `'` or `"`; `\\b \\t \\n \\r \\\\ \\s` (and `\\"`, `\\'`) are
  escapes.
* `!include FILE` reads FILE there; `!includedir DIR` reads every `*.cnf` in DIR (sorted).
* An option before any group is an error (the client stops with "Found option without
  preceding group"); so is a file that cannot be read.

Values are bytes as in the file (a password is sent to the server as those bytes); user, host
and socket are decoded as UTF-8 (invalid bytes kept as escapes). Errors are `StoreError` with
the file and line number, never a value.
"""

from __future__ import annotations

import os
from pathlib import Path

from tuilabel.errors import StoreError

#: The groups read, in the order of their lines in the file.
GROUPS = frozenset({"client", "mysql"})
#: Options used to connect; any other option is read and ignored.
OPTIONS = frozenset({"user", "password", "host", "port", "socket"})
_MAX_DEPTH = 10
_ESCAPES = {ord("b"): b"\b", ord("t"): b"\t", ord("n"): b"\n", ord("r"): b"\r",
            ord("\\"): b"\\", ord("s"): b" ", ord('"'): b'"', ord("'"): b"'"}


def read_option_file(path: str | os.PathLike[str]) -> dict[str, bytes]:
    """The connection options (`user`, `password`, `host`, `port`, `socket`) of `[client]`
    and `[mysql]` in the option file at `path` and the files it includes, as raw bytes.
    Raises StoreError (file and line, never a value) for a file it cannot read or parse."""
    found: dict[str, bytes] = {}
    _read(Path(path), found, 0)
    return found


def _read(path: Path, found: dict[str, bytes], depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise StoreError(f"{path}: option files include each other more than "
                         f"{_MAX_DEPTH} deep (a loop?)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"cannot read the MySQL option file {path}: "
                         f"{exc.strerror or exc}") from None
    group: str | None = None
    for number, raw in enumerate(data.splitlines(), 1):
        line = raw.strip()
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:].strip()
        if not line or line[:1] in (b"#", b";"):
            continue
        where = f"{path} line {number}"
        if line.startswith(b"!"):
            _directive(path, line, where, found, depth)
            continue
        if line.startswith(b"["):
            end = line.find(b"]")
            if end < 0:
                raise StoreError(f"{where}: a group header without ']'")
            group = line[1:end].strip().decode("utf-8", "replace").lower()
            continue
        name, eq, value = _remove_end_comment(line).partition(b"=")
        key = name.strip().decode("utf-8", "replace").lower().replace("_", "-")
        if group is None:
            raise StoreError(f"{where}: an option before any [group] (MySQL's client refuses "
                             "this file too: put [client] above it)")
        if group in GROUPS and key in OPTIONS:
            found[key] = _unquote(value.strip()) if eq else b""


def _directive(path: Path, line: bytes, where: str, found: dict[str, bytes],
               depth: int) -> None:
    word, _, arg = line.partition(b" ")
    target = Path(os.fsdecode(arg.strip()))
    if not target.is_absolute():
        target = path.parent / target
    if word == b"!include":
        _read(target, found, depth + 1)
    elif word == b"!includedir":
        try:
            names = sorted(p for p in target.iterdir() if p.suffix == ".cnf" and p.is_file())
        except OSError as exc:
            raise StoreError(f"{where}: cannot read the folder {target}: "
                             f"{exc.strerror or exc}") from None
        for name in names:
            _read(name, found, depth + 1)
    else:
        raise StoreError(f"{where}: unknown directive {_shown(word.decode('utf-8', 'replace'))}")


def _remove_end_comment(line: bytes) -> bytes:
    """The line up to a `#` outside quotes (MySQL's remove_end_comment)."""
    quote = 0
    escape = False
    for i, c in enumerate(line):
        if c in b"'\"" and not escape:
            if not quote:
                quote = c
            elif quote == c:
                quote = 0
        if not quote and c == ord("#"):
            return line[:i]
        escape = bool(quote) and c == ord("\\") and not escape
    return line


def _unquote(value: bytes) -> bytes:
    if len(value) >= 2 and value[:1] in (b"'", b'"') and value[-1:] == value[:1]:
        value = value[1:-1]
    if b"\\" not in value:
        return value
    out = bytearray()
    i = 0
    while i < len(value):
        c = value[i]
        if c == ord("\\") and i + 1 < len(value) and value[i + 1] in _ESCAPES:
            out += _ESCAPES[value[i + 1]]
            i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)


def _shown(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "…"


def text(value: bytes) -> str:
    """An option's bytes as text (UTF-8, invalid bytes kept as surrogate escapes)."""
    return value.decode("utf-8", "surrogateescape")
