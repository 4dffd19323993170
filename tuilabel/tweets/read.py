"""Reading newline-delimited JSON out of files, folders and archives, as a stream.

Tweet corpora arrive as dated folders of `.gz` files, multi-stream `.bz2` dumps, zips and
tarballs, or on stdin. Everything here reads in fixed-size chunks (memory stays flat whatever
the input size), finds the container by its magic bytes rather than trusting file names, and
turns damage (a truncated stream, a corrupt member, an over-long line, a BOM) into a counted,
reported problem instead of an exception, so that one bad file does not end a long run.
`--strict` turns the first problem into a `DataError`.
"""

from __future__ import annotations

import bz2
import io
import json
import lzma
import os
import queue
import sys
import tarfile
import threading
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from tuilabel.errors import DataError, InputError

#: Lines longer than this are skipped (and counted) rather than held in memory.
MAX_LINE_BYTES = 16 * 1024 * 1024

#: How much is read from a file at a time, and the most one decompression step may produce.
READ_CHUNK = 256 * 1024
OUT_CHUNK = 1024 * 1024

#: How many problems are kept with file and line (all are counted).
MAX_PROBLEMS = 100

_BOM = b"\xef\xbb\xbf"
_GZIP_MAGIC = b"\x1f\x8b"
_BZ2_MAGIC = b"BZh"
_XZ_MAGIC = b"\xfd7zXZ\x00"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")

#: Skip reasons that are damage (a problem, fatal under --strict), not just uninteresting data.
PROBLEM_REASONS = frozenset({
    "not_json", "bad_utf8", "too_long", "truncated", "corrupt_archive", "junk_file",
})


@dataclass
class ReadStats:
    """Counters filled while reading; `summary()` is what `collect` prints on stderr.

    `records_seen` counts every line read (blank ones too), and
    `records_seen == kept + sum(skipped.values())` once reading is done. `files` counts files
    and archive members read. `bytes_read` is what came off the disk (compressed), the measure
    the progress bar uses; `bytes_decoded` is the text after decompression.
    """

    files: int = 0
    records_seen: int = 0
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)
    repaired: Counter = field(default_factory=Counter)
    problems: list[tuple[str, int | None, str]] = field(default_factory=list)
    problems_total: int = 0
    bytes_read: int = 0
    bytes_decoded: int = 0
    strict: bool = False

    def problem(self, source: str, line: int | None, message: str) -> None:
        """Record damage in the input; under --strict, stop with a DataError."""
        self.problems_total += 1
        if self.strict:
            where = f"{source}:{line}" if line is not None else source
            raise DataError(f"{where}: {message} (--strict)")
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((source, line, message))

    def summary(self, *, max_problems: int = 10) -> str:
        """Files, records, kept, skipped by reason, then the first problems with file:line."""
        skipped = sum(self.skipped.values())
        head = (
            f"{self.files:,} file{'s' if self.files != 1 else ''} read, "
            f"{self.records_seen:,} records seen, {self.kept:,} kept, {skipped:,} skipped"
        )
        if skipped:
            reasons = ", ".join(f"{n:,} {r}" for r, n in sorted(
                self.skipped.items(), key=lambda kv: (-kv[1], kv[0])) if n)
            head += f" ({reasons})"
        head += f"; {_human_bytes(self.bytes_read)} read"
        if self.bytes_decoded != self.bytes_read:
            head += f" ({_human_bytes(self.bytes_decoded)} of text)"
        lines = [head]
        if self.repaired:
            lines.append("repaired: " + ", ".join(
                f"{n:,} {r}" for r, n in sorted(self.repaired.items())))
        if self.problems_total:
            plural = "s" if self.problems_total != 1 else ""
            lines.append(f"{self.problems_total:,} problem{plural}:")
            for source, line, message in self.problems[:max_problems]:
                where = f"{source}:{line}" if line is not None else source
                lines.append(f"  {where}: {message}")
            more = self.problems_total - min(len(self.problems), max_problems)
            if more > 0:
                lines.append(f"  ... and {more:,} more")
        return "\n".join(lines)


def _human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1000
    return f"{n} B"  # pragma: no cover


class _StreamDamage(Exception):
    """A container or compressed stream ended early or is corrupt (reason, message)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


# ----------------------------------------------------------------------------- paths


def expand_paths(paths: Sequence[str]) -> list[str]:
    """Files to read, folders walked recursively in name order; '-' stays (stdin).

    Every path is checked before anything is read: a missing or unreadable one is an
    InputError, so that a typo never leaves a half-written output behind.
    """
    if not paths:
        raise InputError("no input given (a file, folder, archive or '-' for stdin)")
    files: list[str] = []
    for path in paths:
        if path == "-":
            files.append(path)
            continue
        p = Path(path)
        if not p.exists():
            raise InputError(f"no such file or folder: {path}")
        if p.is_dir():
            for root, dirs, names in os.walk(p):
                dirs.sort()
                for name in sorted(names):
                    full = os.path.join(root, name)
                    if os.path.isfile(full):
                        files.append(full)
        elif not os.access(p, os.R_OK):
            raise InputError(f"cannot read {path}: permission denied")
        else:
            files.append(path)
    return files


# ----------------------------------------------------------------------------- streams


def _read_chunks(f: BinaryIO, stats: ReadStats | None) -> Iterator[bytes]:
    # read1 hands over what a pipe has now, so `tail -f log | tuilabel collect -` keeps up.
    read = getattr(f, "read1", f.read)
    while True:
        chunk = read(READ_CHUNK)
        if not chunk:
            return
        if stats is not None:
            stats.bytes_read += len(chunk)
        yield chunk


def _read_fd_chunks(fd: int, stats: ReadStats) -> Iterator[bytes]:
    """stdin straight from its descriptor: what a pipe holds now, and no buffer lock that a
    worker thread blocked on an idle pipe could hold at exit (Ctrl-C)."""
    while True:
        chunk = os.read(fd, READ_CHUNK)
        if not chunk:
            return
        stats.bytes_read += len(chunk)
        yield chunk


def _peek(chunks: Iterator[bytes], n: int) -> tuple[bytes, Iterator[bytes]]:
    """The first n bytes (fewer at the end) and an iterator that still yields everything
    (damage met while peeking is raised again by that iterator, after the data before it)."""
    head: list[bytes] = []
    size = 0
    damage: _StreamDamage | None = None
    try:
        for chunk in chunks:
            head.append(chunk)
            size += len(chunk)
            if size >= n:
                break
    except _StreamDamage as exc:
        damage = exc
    joined = b"".join(head)

    def rest() -> Iterator[bytes]:
        if joined:
            yield joined
        if damage is not None:
            raise damage
        yield from chunks

    return joined[:n], rest()


def _gunzip(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Decompress gzip data, any number of members (like `gzip -cd`)."""
    d = zlib.decompressobj(31)
    fed = False
    carry = b""  # the start of a next member's header cut by a chunk boundary
    for chunk in chunks:
        data = carry + chunk if carry else chunk
        carry = b""
        while data:
            if d.eof:
                if not data.startswith(_GZIP_MAGIC):
                    if len(data) < 2 and _GZIP_MAGIC.startswith(data):
                        carry = data
                    elif data.strip(b"\x00"):
                        raise _StreamDamage("corrupt_archive", "trailing garbage after gzip data")
                    break
                d = zlib.decompressobj(31)
            try:
                out = d.decompress(data, OUT_CHUNK)
                fed = True
                if out:
                    yield out
                data = d.unused_data if d.eof else d.unconsumed_tail
                while not d.eof and not data and len(out) == OUT_CHUNK:
                    # Output was capped with all input taken in: drain what zlib still holds.
                    out = d.decompress(b"", OUT_CHUNK)
                    if out:
                        yield out
            except zlib.error as exc:
                raise _StreamDamage("corrupt_archive", f"corrupt gzip data ({exc})") from None
    if fed and not d.eof:
        raise _StreamDamage("truncated", "gzip stream is truncated")


def _decompress_multistream(chunks: Iterator[bytes], make: Callable, magic: bytes,
                            name: str) -> Iterator[bytes]:
    """bz2 or xz, any number of concatenated streams (like `bzip2 -cd`)."""
    d = make()
    fed = False
    pending = b""  # input not yet given to a decompressor
    for chunk in chunks:
        pending = pending + chunk if pending else chunk
        while True:
            if d.eof:
                pending = d.unused_data + pending if d.unused_data else pending
                if not pending:
                    break
                if not pending.startswith(magic):
                    if len(pending) < len(magic) and magic.startswith(pending):
                        break  # wait for the rest of the next stream's magic
                    if pending.strip(b"\x00"):
                        raise _StreamDamage("corrupt_archive",
                                            f"trailing garbage after {name} data")
                    pending = b""
                    break
                d = make()
            try:
                out = d.decompress(pending, OUT_CHUNK)
            except (OSError, EOFError, lzma.LZMAError) as exc:
                raise _StreamDamage("corrupt_archive", f"corrupt {name} data ({exc})") from None
            fed = True
            pending = b""
            if out:
                yield out
            if d.eof:
                continue
            if d.needs_input:
                break
    if fed and not d.eof:
        raise _StreamDamage("truncated", f"{name} stream is truncated")


#: Decompressed chunks waiting between the worker thread and the parser (bounds memory).
_QUEUE_CHUNKS = 4


def _in_thread(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Run a reading-and-decompressing iterator in a worker thread.

    zlib, bz2 and lzma release the GIL while they work, so the file is decompressed on one core
    while the caller splits and parses lines on another. A small queue bounds the memory; an
    error in the worker (damage) is raised in the caller at the point the data ran out;
    closing this generator stops the worker before the file underneath is closed.
    """
    handoff: queue.Queue = queue.Queue(maxsize=_QUEUE_CHUNKS)
    stop = threading.Event()
    end = object()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for chunk in chunks:
                if not put(chunk):
                    return
            put(end)
        except BaseException as exc:  # handed to the caller, raised there
            put(_Raised(exc))

    worker = threading.Thread(target=work, name="tuilabel-decompress", daemon=True)
    worker.start()
    try:
        while True:
            item = handoff.get()
            if item is end:
                return
            if isinstance(item, _Raised):
                raise item.exc
            yield item
    finally:
        stop.set()
        # A worker blocked reading a pipe (Ctrl-C while stdin is idle) is left to die with the
        # process (it is a daemon) rather than waited for.
        worker.join(timeout=1.0)


class _Raised:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class _ChunkFile(io.RawIOBase):
    """A read-only file over an iterator of chunks (so that tarfile can read a stream).

    Damage in the stream below reads as the end of the file, and is kept in `damage` so that
    the tar reader reports it once, as the cause, rather than tarfile's "unexpected end".
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = memoryview(b"")
        self.damage: _StreamDamage | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[override]
        while not len(self._buf):
            if self.damage is not None:
                return 0
            try:
                self._buf = memoryview(next(self._chunks))
            except StopIteration:
                return 0
            except _StreamDamage as exc:
                self.damage = exc
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


class _CountingFile(io.RawIOBase):
    """Counts the bytes zipfile reads off the disk, for the progress bar."""

    def __init__(self, f: BinaryIO, stats: ReadStats) -> None:
        self._f = f
        self._stats = stats

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._f.seek(pos, whence)

    def tell(self) -> int:
        return self._f.tell()

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self._stats.bytes_read += len(data)
        return data

    def readinto(self, b) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


# ----------------------------------------------------------------------------- lines

#: One batch of lines: the source's display name, the line number of the first, the lines
#: (without their newline). Batches keep per-line overhead low on gigabyte inputs.
Batch = tuple[str, int, list[bytes]]


def _split_lines(name: str, chunks: Iterator[bytes], stats: ReadStats,
                 max_line: int) -> Iterator[Batch]:
    """Lines of a text stream in batches; over-long lines are dropped and counted."""
    rest = b""
    lineno = 1  # number of the first line in the next batch
    skipping = False  # inside an over-long line, waiting for its newline
    damage: _StreamDamage | None = None
    try:
        for chunk in chunks:
            stats.bytes_decoded += len(chunk)
            if skipping:
                cut = chunk.find(b"\n")
                if cut < 0:
                    continue
                chunk = chunk[cut + 1:]
                skipping = False
                lineno += 1
            if rest:
                chunk = rest + chunk
            lines = chunk.split(b"\n")
            rest = lines.pop()
            if len(rest) > max_line:
                rest = b""
                skipping = True
            if lines:
                if max(map(len, lines)) > max_line:
                    lines = _drop_long(name, lineno, lines, stats, max_line)
                yield name, lineno, lines
                lineno += len(lines)
            if skipping:
                stats.records_seen += 1
                stats.skipped["too_long"] += 1
                stats.problem(name, lineno, f"line longer than {max_line:,} bytes")
    except _StreamDamage as exc:
        damage = exc
    partial = bool(rest) and not skipping
    if damage is not None:
        # Reported before the cut line itself, which is yielded for what it is worth.
        stats.skipped[damage.reason] += 1
        stats.records_seen += 1
        line = lineno if partial else (lineno - 1 or None)
        stats.problem(name, line if damage.reason == "truncated" else None, str(damage))
    if partial:
        yield name, lineno, [rest]


def _drop_long(name: str, lineno: int, lines: list[bytes], stats: ReadStats,
               max_line: int) -> list[bytes]:
    """Replace over-long lines by None (so line numbers stay right), counting each."""
    kept = []
    for i, line in enumerate(lines):
        if len(line) > max_line:
            stats.records_seen += 1
            stats.skipped["too_long"] += 1
            stats.problem(name, lineno + i, f"line longer than {max_line:,} bytes")
            kept.append(None)
        else:
            kept.append(line)
    return kept  # type: ignore[return-value]


def _stream_batches(name: str, chunks: Iterator[bytes], stats: ReadStats, max_line: int,
                    seekable: BinaryIO | None, depth: int) -> Iterator[Batch]:
    """Batches of lines from one stream: decompress, then read as tar, zip or text."""
    head, chunks = _peek(chunks, 512)
    compressed = False
    if head.startswith(_GZIP_MAGIC):
        chunks, compressed = _gunzip(chunks), True
    elif head.startswith(_BZ2_MAGIC):
        chunks, compressed = _decompress_multistream(chunks, bz2.BZ2Decompressor, _BZ2_MAGIC,
                                                     "bzip2"), True
    elif head.startswith(_XZ_MAGIC):
        chunks, compressed = _decompress_multistream(chunks, lzma.LZMADecompressor, _XZ_MAGIC,
                                                     "xz"), True
    if compressed:
        if depth == 0:
            chunks = _in_thread(chunks)
        head, chunks = _peek(chunks, 512)
    if len(head) >= 262 and head[257:262] == b"ustar":
        yield from _tar_batches(name, chunks, stats, max_line, depth)
    elif head.startswith(_ZIP_MAGICS):
        if seekable is None or compressed:
            stats.records_seen += 1
            stats.skipped["junk_file"] += 1
            stats.problem(name, None, "a zip inside a stream cannot be read; unzip it first")
            return
        yield from _zip_batches(name, seekable, stats, max_line, depth)
    elif b"\x00" in head.lstrip(_BOM)[:512]:
        stats.records_seen += 1
        stats.skipped["junk_file"] += 1
        stats.problem(name, None, "binary data, not JSON lines")
    else:
        stats.files += 1
        yield from _split_lines(name, chunks, stats, max_line)


def _tar_batches(name: str, chunks: Iterator[bytes], stats: ReadStats, max_line: int,
                 depth: int) -> Iterator[Batch]:
    """Members of a tar stream in order; a member cut short is reported by name."""
    source = _ChunkFile(chunks)
    where = name
    try:
        with tarfile.open(fileobj=source, mode="r|") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                f = tar.extractfile(member)
                if f is None:  # pragma: no cover - isfile() members always have data
                    continue
                where = f"{name}[{member.name}]"
                yield from _stream_batches(where, _read_chunks(f, None), stats, max_line, None,
                                           depth + 1)
                where = name
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        if source.damage is not None:
            reason, message = source.damage.reason, str(source.damage)
        elif "unexpected end" in str(exc) or isinstance(exc, EOFError):
            reason, message = "truncated", "tar archive is truncated"
        else:
            reason, message = "corrupt_archive", f"damaged tar archive ({exc})"
        stats.records_seen += 1
        stats.skipped[reason] += 1
        stats.problem(where, None, message)
        return
    if source.damage is not None:  # damage after the last member (in the end-of-archive pad)
        stats.records_seen += 1
        stats.skipped[source.damage.reason] += 1
        stats.problem(name, None, str(source.damage))


def _zip_batches(name: str, f: BinaryIO, stats: ReadStats, max_line: int,
                 depth: int) -> Iterator[Batch]:
    try:
        f.seek(0)
        archive = zipfile.ZipFile(f)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        stats.records_seen += 1
        stats.skipped["corrupt_archive"] += 1
        stats.problem(name, None, f"damaged zip archive ({exc})")
        return
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            member = f"{name}[{info.filename}]"
            try:
                with archive.open(info) as mf:
                    yield from _stream_batches(member, _read_chunks(mf, None), stats, max_line,
                                               mf if mf.seekable() else None, depth + 1)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError,
                    NotImplementedError) as exc:
                stats.records_seen += 1
                stats.skipped["corrupt_archive"] += 1
                stats.problem(member, None, f"damaged zip member ({exc})")


def iter_batches(paths: Sequence[str], stats: ReadStats, *, strict: bool = False,
                 max_line: int = MAX_LINE_BYTES) -> Iterator[Batch]:
    """Every line of every input, in batches `(source, first_line_number, lines)`.

    An over-long line shows up as None in its batch (already counted). Paths are checked
    before anything is read (InputError).
    """
    stats.strict = strict
    files = expand_paths(paths)
    for path in files:
        if path == "-":
            yield from _stream_batches("<stdin>", _read_fd_chunks(sys.stdin.fileno(), stats),
                                       stats, max_line, None, 0)
            continue
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed below, after the generator is done
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}") from None
        with fh:
            counted = _CountingFile(fh, stats)
            yield from _stream_batches(path, _read_chunks(fh, stats), stats, max_line,
                                       counted, 0)


# ----------------------------------------------------------------------------- records


#: What `parse_line` returns for a line that is not a JSON value (already counted).
NOT_PARSED = object()


def parse_line(line: bytes, source: str, lineno: int, stats: ReadStats) -> object:
    """One line as a JSON value, or NOT_PARSED after counting why (blank, not JSON, bad
    UTF-8). A BOM is removed and reported."""
    if line.startswith(_BOM):
        line = line[3:]
        stats.repaired["bom"] += 1
        stats.problem(source, lineno, "UTF-8 byte order mark (removed)")
    try:
        return json.loads(line)
    except UnicodeDecodeError as exc:
        stats.skipped["bad_utf8"] += 1
        stats.problem(source, lineno, f"invalid UTF-8 ({exc.reason} at byte {exc.start})")
    except ValueError as exc:
        if not line.strip():
            stats.skipped["blank"] += 1
            return NOT_PARSED
        stats.skipped["not_json"] += 1
        stats.problem(source, lineno, f"not JSON ({exc})")
    return NOT_PARSED


#: Every supported format names its media with a key starting `"media` (media, media_keys,
#: twitter_entities.media, extended_entities.media, includes.media, attachments.media): a line
#: without these bytes holds no photo.
MEDIA_MARK = b'"media'

#: Lines without the mark and at most this long are parsed anyway, so that small non-tweet
#: lines (delete, limit, info, broken lines) are counted under their true reason.
PARSE_SMALL = 2048


def looks_like_object(line: bytes) -> bool:
    """The check a long line without the media mark gets instead of parsing: braces at both
    ends (a cut line fails it). Its syntax and UTF-8 inside are not checked (--strict does)."""
    return line[:1] == b"{" and line.rstrip()[-1:] == b"}"


def iter_records(paths: Sequence[str], stats: ReadStats, *, strict: bool = False,
                 max_line: int = MAX_LINE_BYTES, media_only: bool = False) -> Iterator[dict]:
    """Every JSON object in files, folders (recursive), .gz/.bz2/.xz (multi-stream), .zip,
    .tar/.tar.gz and '-' (stdin), streamed. Bad lines are counted in `stats` and skipped
    (`strict`: DataError at the first). A missing path is an InputError before anything is
    read. Lines that are JSON but not objects are counted as `not_tweet`. Each yielded record
    is counted in `stats.kept` (callers that filter further may adjust).

    `media_only` skips, without parsing, long lines that cannot hold a photo (no `"media` in
    them; counted as `no_photo`), which is what makes `collect` fast; ignored when `strict`.
    """
    fast = media_only and not strict
    for source, first, lines in iter_batches(paths, stats, strict=strict, max_line=max_line):
        for i, line in enumerate(lines):
            if line is None:
                continue
            stats.records_seen += 1
            if fast and MEDIA_MARK not in line and len(line) > PARSE_SMALL:
                if looks_like_object(line):
                    stats.skipped["no_photo"] += 1
                else:
                    stats.skipped["not_json"] += 1
                    stats.problem(source, first + i, "not JSON (not a {...} object)")
                continue
            record = parse_line(line, source, first + i, stats)
            if record is NOT_PARSED:
                continue
            if not isinstance(record, dict):
                stats.skipped["not_tweet"] += 1
                continue
            stats.kept += 1
            yield record
