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
import json
import lzma
import os
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import Protocol, cast

from tuilabel.errors import InputError
from tuilabel.tweets.stats import ReadStats
from tuilabel.tweets.streams import (
    BZ2_MAGIC,
    GZIP_MAGIC,
    XZ_MAGIC,
    ChunkFile,
    CountingFile,
    StreamDamage,
    decompress_multistream,
    gunzip,
    in_thread,
    peek,
    read_chunks,
    read_fd_chunks,
)

#: Lines longer than this are skipped (and counted) rather than held in memory.
MAX_LINE_BYTES = 16 * 1024 * 1024

BOM = b"\xef\xbb\xbf"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")


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
                        if not os.access(full, os.R_OK):
                            raise InputError(f"cannot read {full}: permission denied")
                        files.append(full)
        elif not os.access(p, os.R_OK):
            raise InputError(f"cannot read {path}: permission denied")
        else:
            files.append(path)
    if not files:  # only empty folders: say so (not "no input given" of a named folder)
        raise InputError(f"no files in {'folder' if len(paths) == 1 else 'folders'} "
                         f"{', '.join(paths)}")
    return files


# ----------------------------------------------------------------------------- lines

#: One batch of lines: the source's display name, the line number of the first, the lines
#: (without their newline). Batches keep per-line overhead low on gigabyte inputs.
Batch = tuple[str, int, list[bytes | None]]


class SeekableReader(Protocol):
    """What zipfile needs of an archive it reads: `read` and `seek`."""

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def read(self, n: int = -1, /) -> bytes: ...


def _split_lines(name: str, chunks: Iterator[bytes], stats: ReadStats,
                 max_line: int) -> Iterator[Batch]:
    """Lines of a text stream in batches; over-long lines are dropped and counted."""
    rest = b""
    lineno = 1  # number of the first line in the next batch
    skipping = False  # inside an over-long line, waiting for its newline
    damage: StreamDamage | None = None
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
                    yield name, lineno, _drop_long(name, lineno, lines, stats, max_line)
                else:
                    yield name, lineno, cast("list[bytes | None]", lines)  # (no copy)
                lineno += len(lines)
            if skipping:
                stats.records_seen += 1
                stats.skipped["too_long"] += 1
                stats.problem(name, lineno, f"line longer than {max_line:,} bytes")
    except StreamDamage as exc:
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
               max_line: int) -> list[bytes | None]:
    """Replace over-long lines by None (so line numbers stay right), counting each."""
    kept: list[bytes | None] = []
    for i, line in enumerate(lines):
        if len(line) > max_line:
            stats.records_seen += 1
            stats.skipped["too_long"] += 1
            stats.problem(name, lineno + i, f"line longer than {max_line:,} bytes")
            kept.append(None)
        else:
            kept.append(line)
    return kept


def _stream_batches(name: str, chunks: Iterator[bytes], stats: ReadStats, max_line: int,
                    seekable: SeekableReader | None, depth: int) -> Iterator[Batch]:
    """Batches of lines from one stream: decompress, then read as tar, zip or text."""
    head, chunks = peek(chunks, 512)
    compressed = False
    if head.startswith(GZIP_MAGIC):
        chunks, compressed = gunzip(chunks), True
    elif head.startswith(BZ2_MAGIC):
        chunks, compressed = decompress_multistream(chunks, bz2.BZ2Decompressor, BZ2_MAGIC,
                                                     "bzip2"), True
    elif head.startswith(XZ_MAGIC):
        chunks, compressed = decompress_multistream(chunks, lzma.LZMADecompressor, XZ_MAGIC,
                                                     "xz"), True
    if compressed:
        if depth == 0:
            chunks = in_thread(chunks)
        head, chunks = peek(chunks, 512)
    if len(head) >= 262 and head[257:262] == b"ustar":
        yield from _tar_batches(name, chunks, stats, max_line, depth)
    elif head.startswith(_ZIP_MAGICS):
        if seekable is None or compressed:
            stats.records_seen += 1
            stats.skipped["junk_file"] += 1
            stats.problem(name, None, "a zip inside a stream cannot be read; unzip it first")
            return
        yield from _zip_batches(name, seekable, stats, max_line, depth)
    elif b"\x00" in head.lstrip(BOM)[:512]:
        stats.records_seen += 1
        stats.skipped["junk_file"] += 1
        stats.problem(name, None, "binary data, not JSON lines")
    else:
        stats.files += 1
        yield from _split_lines(name, chunks, stats, max_line)


def _tar_batches(name: str, chunks: Iterator[bytes], stats: ReadStats, max_line: int,
                 depth: int) -> Iterator[Batch]:
    """Members of a tar stream in order; a member cut short is reported by name."""
    source = ChunkFile(chunks)
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
                yield from _stream_batches(where, read_chunks(f, None), stats, max_line, None,
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


def _zip_batches(name: str, f: SeekableReader, stats: ReadStats, max_line: int,
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
                    yield from _stream_batches(member, read_chunks(mf, None), stats, max_line,
                                               mf if mf.seekable() else None, depth + 1)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError,
                    NotImplementedError) as exc:
                stats.records_seen += 1
                stats.skipped["corrupt_archive"] += 1
                stats.problem(member, None, f"damaged zip member ({exc})")


def iter_batches(paths: Sequence[str], stats: ReadStats, *, strict: bool = False,
                 max_line: int = MAX_LINE_BYTES) -> Generator[Batch, None, None]:
    """Every line of every input, in batches `(source, first_line_number, lines)`.

    An over-long line shows up as None in its batch (already counted). Paths are checked
    before anything is read (InputError).
    """
    stats.strict = strict
    files = expand_paths(paths)
    for path in files:
        if path == "-":
            yield from _stream_batches("<stdin>", read_fd_chunks(sys.stdin.fileno(), stats),
                                       stats, max_line, None, 0)
            continue
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed below, after the generator is done
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}") from None
        with fh:
            counted = CountingFile(fh, stats)
            yield from _stream_batches(path, read_chunks(fh, stats), stats, max_line,
                                       counted, 0)


# ----------------------------------------------------------------------------- records


#: What `parse_line` returns for a line that is not a JSON value (already counted).
NOT_PARSED = object()


def parse_line(line: bytes, source: str, lineno: int, stats: ReadStats) -> object:
    """One line as a JSON value, or NOT_PARSED after counting why (blank, not JSON, bad
    UTF-8). A BOM is removed and reported."""
    if line.startswith(BOM):
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
    except RecursionError:
        stats.skipped["not_json"] += 1
        stats.problem(source, lineno, "not JSON we can read (nested too deeply)")
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
