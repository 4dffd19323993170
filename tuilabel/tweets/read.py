"""Reading tweet records out of files, folders and archives, as a stream.

Tweet corpora arrive as dated folders of `.gz` files, multi-stream `.bz2` dumps, zips and
tarballs, or on stdin, and inside them in the shapes people have: JSON Lines, saved API
responses (a JSON array, `{"statuses": [...]}`, `{"results": [...]}`, v2 pages), pretty-printed
JSON, the account archive's `tweets.js`, twarc-csv's CSV, in UTF-8 with or without a BOM or in
UTF-16/32 (PowerShell's `>`). Everything here reads in fixed-size chunks (memory stays flat
whatever the input size; a JSON array is parsed incrementally with ijson), finds the container
by its magic bytes and the shape by its content (`SHAPES`) rather than trusting file names, and
turns damage (a truncated stream, a corrupt member, an over-long line, a shape we cannot read)
into a counted, reported problem instead of an exception, so that one bad file does not end a
long run. `--strict` turns the first problem into a `DataError`.
"""

from __future__ import annotations

import bz2
import csv
import io
import json
import lzma
import os
import re
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

from tuilabel.errors import InputError
from tuilabel.tweets.photos import is_envelope, may_hold_photo, unwrap
from tuilabel.tweets.stats import ReadStats
from tuilabel.tweets.streams import (
    BZ2_MAGIC,
    GZIP_MAGIC,
    XZ_MAGIC,
    ChunkFile,
    CountingFile,
    StreamDamage,
    ValueTooLong,
    decompress_multistream,
    gunzip,
    in_thread,
    peek,
    peek_until,
    read_chunks,
    read_fd_chunks,
    skip_bytes,
    transcode,
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
#: (without their newline; None for an over-long one, already counted); or, from shapes other
#: than JSON Lines, a `Values` list of parsed values. Batches keep per-line overhead low on
#: gigabyte inputs.
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
    else:
        yield from _text_batches(name, chunks, stats, max_line)


# ----------------------------------------------------------------------------- shapes

#: How much of a text stream is looked at to tell its shape.
SNIFF_BYTES = 64 * 1024


class Values(list):
    """A batch of already parsed JSON values (from a document, tweets.js or CSV), not lines."""


def _text_encoding(head: bytes) -> tuple[str | None, int]:
    """(encoding, BOM length) of a text stream from its first bytes: 'utf-8' (BOM or not),
    'utf-16'/'utf-32' (a BOM: the decoder takes it), 'utf-16-le'/'-be' (no BOM, told by the
    zero bytes of ASCII text); (None, 0) for binary data."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32", 0
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16", 0
    if head.startswith(BOM):
        return "utf-8", len(BOM)
    sample = head[:512]
    if b"\x00" not in sample:
        return "utf-8", 0
    even, odd = sample[0::2], sample[1::2]
    if len(sample) >= 4 and not odd.strip(b"\x00") and b"\x00" not in even:
        return "utf-16-le", 0
    if len(sample) >= 4 and not even.strip(b"\x00") and b"\x00" not in odd:
        return "utf-16-be", 0
    return None, 0


def _first_lines(head: bytes, whole: bool, n: int) -> list[bytes]:
    """Up to n complete, non-blank lines at the start of `head` (the last one only if the
    stream ends within `head`)."""
    lines = head.split(b"\n")
    if not whole:
        lines.pop()  # cut by the end of the sniffed bytes
    return [line for line in lines if line.strip()][:n]


def _parses(line: bytes) -> bool:
    """Whether a line is one whole JSON object or array starting at its first column (the
    inside lines of pretty-printed JSON are indented, or end with a comma)."""
    if line[:1] not in (b"{", b"["):
        return False
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, (dict, list))


def _is_json_lines(head: bytes, whole: bool) -> bool:
    start = head.lstrip()[:1]
    if start == b"{" and not _first_lines(head, whole, 1):
        return True  # a first line longer than the sniffed bytes: one long record per line
    # Any of the first lines one whole JSON value: JSON Lines (some lines may be broken).
    return any(map(_parses, _first_lines(head, whole, 5)))


def _is_json_document(head: bytes, whole: bool) -> bool:
    return head.lstrip()[:1] in (b"{", b"[")


_ARCHIVE_JS = re.compile(rb"\s*window\.YTD\.[A-Za-z0-9_.]+\s*=\s*")


def _is_archive_js(head: bytes, whole: bool) -> bool:
    return _ARCHIVE_JS.match(head) is not None


def _csv_header(head: bytes) -> list[str]:
    line = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip("\r")
    if "," not in line or line.lstrip()[:1] in ("{", "["):
        return []
    try:
        return next(csv.reader([line]))
    except csv.Error:
        return []


def _is_twarc_csv(head: bytes, whole: bool) -> bool:
    columns = set(_csv_header(head))
    return {"id", "text"} <= columns and any(
        c == "author_id" or c.startswith(("attachments.", "author.", "__twarc."))
        for c in columns)


@dataclass(frozen=True)
class Shape:
    """One way tweet records are laid out in a text file, told by its first bytes."""

    name: str
    description: str
    detect: Callable[[bytes, bool], bool]
    read: Callable[[str, Iterator[bytes], ReadStats, int], Iterator[Batch]]


def _read_lines(name: str, chunks: Iterator[bytes], stats: ReadStats,
                max_line: int) -> Iterator[Batch]:
    stats.files += 1
    yield from _split_lines(name, chunks, stats, max_line)


def _decoded(chunks: Iterator[bytes], stats: ReadStats) -> Iterator[bytes]:
    """The stream, its bytes counted as text read (what `_split_lines` counts for lines)."""
    for chunk in chunks:
        stats.bytes_decoded += len(chunk)
        yield chunk


def _read_document(name: str, chunks: Iterator[bytes], stats: ReadStats,
                   max_line: int) -> Iterator[Batch]:
    chunks = _decoded(chunks, stats)
    head, chunks = peek(chunks, 64)
    yield from _json_values(name, chunks, stats, max_line, array=head.lstrip()[:1] == b"[")


def _read_archive_js(name: str, chunks: Iterator[bytes], stats: ReadStats,
                     max_line: int) -> Iterator[Batch]:
    chunks = _decoded(chunks, stats)
    head, chunks = peek(chunks, 4096)
    match = _ARCHIVE_JS.match(head)
    assert match is not None  # detected on these bytes
    yield from _json_values(name, _without_final_semicolon(skip_bytes(chunks, match.end())),
                            stats, max_line, array=True)


def _without_final_semicolon(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """A JavaScript assignment's value: the stream less a `;` (and spaces) at its very end."""
    tail = b""
    for chunk in chunks:
        data = tail + chunk
        tail = data[-64:]
        if len(data) > 64:
            yield data[:-64]
    tail = tail.rstrip()
    yield tail[:-1] if tail.endswith(b";") else tail


def _read_twarc_csv(name: str, chunks: Iterator[bytes], stats: ReadStats,
                    max_line: int) -> Iterator[Batch]:
    stats.files += 1
    source = ChunkFile(_decoded(chunks, stats))
    text = io.TextIOWrapper(io.BufferedReader(source), encoding="utf-8", errors="replace",
                            newline="")
    if csv.field_size_limit() < max_line:  # a JSON cell (attachments.media) may be long
        csv.field_size_limit(max_line)
    reader = csv.DictReader(text)
    batch = Values()
    try:
        for row in reader:
            batch.append(csv_record(row))
            if len(batch) >= _VALUES_PER_BATCH:
                yield name, reader.line_num, batch
                batch = Values()
    except csv.Error as exc:
        stats.records_seen += 1
        stats.skipped["not_csv"] += 1
        stats.problem(name, reader.line_num, f"CSV row not readable ({exc}); rows after it "
                      "are skipped")
    if batch:
        yield name, reader.line_num, batch
    if source.damage is not None:
        stats.records_seen += 1
        stats.skipped[source.damage.reason] += 1
        stats.problem(name, None, str(source.damage))


def csv_record(row: dict) -> dict:
    """One twarc-csv row as the API v2 tweet it flattens: dotted column names nested again
    (`attachments.media` -> attachments: {media: ...}), JSON cells parsed, empty cells left
    out, `referenced_tweets.retweeted.id` back to v2's list of {type, id}."""
    record: dict = {}
    for key, cell in row.items():
        if not isinstance(key, str) or not isinstance(cell, str) or cell == "":
            continue
        value: object = cell
        if cell[:1] in ("[", "{"):
            try:
                value = json.loads(cell)
            except (ValueError, RecursionError):
                value = cell
        *path, last = key.split(".")
        node = record
        for part in path:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[last] = value
    refs = record.get("referenced_tweets")
    if isinstance(refs, dict):
        record["referenced_tweets"] = [
            {"type": kind, **ref} for kind, ref in refs.items() if isinstance(ref, dict)]
    return record


#: Parsed values handed on at a time from a document, tweets.js or CSV.
_VALUES_PER_BATCH = 256


def _json_values(name: str, chunks: Iterator[bytes], stats: ReadStats, max_line: int, *,
                 array: bool) -> Iterator[Batch]:
    """The values of a JSON document stream, parsed incrementally (ijson): each item of a
    top-level array (`array`), else each top-level value; several documents one after another
    are read too. A value over `max_line` bytes, or broken JSON, ends the file (counted)."""
    import ijson

    stats.files += 1
    source = ChunkFile(chunks, limit=max_line)
    batch = Values()
    count = 0
    try:
        # Not use_float: with it ijson's C backend refuses integers over 2**63 ("integer
        # overflow", ICRAR/ijson#153), which 20-digit ids can be; numbers with a fraction
        # come as Decimal instead of float.
        for value in ijson.items(source, "item" if array else "", multiple_values=True):
            source.mark()
            count += 1
            batch.append(value)
            if len(batch) >= _VALUES_PER_BATCH:
                yield name, count, batch
                batch = Values()
    except ValueTooLong as exc:
        reason, message = "too_long", f"{exc}; the rest of the file is skipped"
    except (ijson.JSONError, ValueError, UnicodeDecodeError) as exc:
        if source.damage is not None:
            reason, message = source.damage.reason, str(source.damage)
        else:
            reason = "not_json"
            message = (f"JSON broken after {count:,} record{'s' if count != 1 else ''} "
                       f"({_short(exc)}); the rest of the file is skipped")
    else:
        reason = message = ""
    if batch:
        yield name, count, batch
    if reason:
        stats.records_seen += 1
        stats.skipped[reason] += 1
        stats.problem(name, None, message)


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


#: The shapes, tried in order on the first bytes of every text stream.
SHAPES: tuple[Shape, ...] = (
    Shape("tweets.js", "the account archive's data/tweets.js: window.YTD.tweets.part0 = [...]",
          _is_archive_js, _read_archive_js),
    Shape("JSON Lines", "one JSON value per line (a tweet, a v2 page, an array, an envelope)",
          _is_json_lines, _read_lines),
    Shape("JSON", "JSON documents over many lines: an array (streamed item by item), a "
          "pretty-printed tweet or API response", _is_json_document, _read_document),
    Shape("twarc-csv", "CSV from twarc-csv (API v2 tweets, one per row)", _is_twarc_csv,
          _read_twarc_csv),
)

#: What to do with a text file none of SHAPES reads.
_WHAT_TO_GIVE = ("give JSON Lines, JSON (an array, a document, a saved API response), the "
                 "account archive's tweets.js or twarc-csv's CSV")


def _unknown_shape(head: bytes) -> str:
    """One line naming a text shape we do not read, and what to do instead."""
    text = head.lstrip()
    lowered = text[:200].lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return f"an HTML page, not tweets: save the API's JSON response instead; {_WHAT_TO_GIVE}"
    if lowered.startswith(b"<"):
        return f"XML or markup, not tweets: {_WHAT_TO_GIVE}"
    header = _csv_header(head)
    if len(header) > 1 or b"\t" in head.split(b"\n", 1)[0]:
        return ("CSV or TSV without twarc-csv's columns (id, text, attachments.media): export "
                f"the tweets as JSON Lines (e.g. twarc2's JSON, not its CSV); {_WHAT_TO_GIVE}")
    start = text[:24].decode("utf-8", "replace").split("\n", 1)[0]
    return f"text that is not tweet JSON (it starts {start!r}): {_WHAT_TO_GIVE}"


def _shape_is_told(head: bytes) -> bool:
    """Whether the first bytes of a text stream are enough to tell its shape (so that a pipe
    with a few lines in it is read at once, not after SNIFF_BYTES more arrive)."""
    text = head.lstrip()
    if not text:
        return False
    if text[:1] not in (b"{", b"["):
        return b"\n" in text  # a CSV header, tweets.js' first line, or something else
    lines = _first_lines(text, False, 5)
    return bool(lines) and (_parses(lines[0]) or len(lines) >= 5)


def _text_batches(name: str, chunks: Iterator[bytes], stats: ReadStats,
                  max_line: int) -> Iterator[Batch]:
    """A text stream: its encoding, then its shape, both from its first bytes."""
    head, chunks = peek(chunks, 4)
    encoding, bom = _text_encoding(head)
    if encoding == "utf-8" and not bom:
        head, chunks = peek_until(chunks, lambda h: len(h) >= 512, 512)
        encoding, bom = _text_encoding(head)
    if encoding is None:
        stats.records_seen += 1
        stats.skipped["junk_file"] += 1
        stats.problem(name, None, "binary data, not tweet JSON")
        return
    if encoding != "utf-8":
        chunks = transcode(chunks, encoding)
    elif bom:
        stats.repaired["bom"] += 1  # UTF-8 with a BOM: a shape, not damage
        stats.bytes_decoded += bom
        chunks = skip_bytes(chunks, bom)
    head, chunks = peek_until(chunks, _shape_is_told, SNIFF_BYTES)
    whole = len(head) < SNIFF_BYTES and not _shape_is_told(head)
    if not head.strip():
        yield from _read_lines(name, chunks, stats, max_line)
        return
    for shape in SHAPES:
        if shape.detect(head, whole):
            yield from shape.read(name, chunks, stats, max_line)
            return
    stats.records_seen += 1
    stats.skipped["unknown_shape"] += 1
    stats.problem(name, None, _unknown_shape(head))


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


def _file_batches(path: str, stats: ReadStats, max_line: int) -> Iterator[Batch]:
    """Batches of one input (a file, an archive, or '-' for stdin), in any shape."""
    if path == "-":
        yield from _stream_batches("<stdin>", read_fd_chunks(sys.stdin.fileno(), stats),
                                   stats, max_line, None, 0)
        return
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below, after the generator is done
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    with fh:
        counted = CountingFile(fh, stats)
        yield from _stream_batches(path, read_chunks(fh, stats), stats, max_line, counted, 0)


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


#: Lines at most this long are parsed even when they cannot hold a photo, so that small
#: non-tweet lines (delete, limit, info, broken lines) are counted under their true reason.
PARSE_SMALL = 2048


def looks_like_json(line: bytes) -> bool:
    """The check a long line without a media mark gets instead of parsing: brackets or braces
    at both ends (a cut line fails it). Its syntax and UTF-8 inside are not checked (--strict
    does)."""
    end = line.rstrip()[-1:]
    return (line[:1] == b"{" and end == b"}") or (line[:1] == b"[" and end == b"]")


@dataclass(frozen=True)
class Item:
    """One record read: the input file it came from ('-' for stdin; an archive member's
    archive), the raw line when the record is a whole JSON Lines line (else None: it came from
    a document, an envelope or a CSV row), and the parsed record (any JSON value)."""

    path: str
    raw: bytes | None
    record: object


def iter_items(paths: Sequence[str], stats: ReadStats, *, strict: bool = False,
               max_line: int = MAX_LINE_BYTES, media_only: bool = False,
               keep: Callable[[], bool] | None = None,
               on_batch: Callable[[ReadStats], None] | None = None
               ) -> Generator[Item, None, None]:
    """Every record of every input in any of SHAPES, streamed: the one reading loop that
    `label` (`iter_records`) and `collect` share.

    Arrays and envelopes (`photos.ENVELOPES`) are opened: each tweet in them is a record. Every
    record is counted in `stats.records_seen`; those not yielded are counted in
    `stats.skipped` (blank, not_json, bad_utf8, too_long, sampled_out, no_photo...), so that
    `records_seen == kept + skipped` once the caller has counted what it keeps. `keep` (a
    sampler) is asked once per record, before a line is parsed. `media_only` skips, without
    parsing, long lines that cannot hold a photo in any format (no media mark of
    `photos.FORMATS`; counted as `no_photo`), which is what makes `collect` fast; ignored when
    `strict`. `on_batch` is called after every batch (for a progress bar, or to write out).
    """
    fast = media_only and not strict
    skipped = stats.skipped
    stats.strict = strict
    for path in expand_paths(paths):
        for source, first, lines in _file_batches(path, stats, max_line):
            if isinstance(lines, Values):
                for value in lines:
                    for record in unwrap(value):
                        stats.records_seen += 1
                        if keep is not None and not keep():
                            skipped["sampled_out"] += 1
                            continue
                        yield Item(path, None, record)
            else:
                yield from _line_items(path, source, first, lines, stats, fast, keep)
            if on_batch is not None:
                on_batch(stats)


def _line_items(path: str, source: str, first: int, lines: list[bytes | None],
                stats: ReadStats,
                fast: bool, keep: Callable[[], bool] | None) -> Iterator[Item]:
    n = len(lines)
    stats.records_seen += n - lines.count(None)  # over-long lines are counted already
    skipped = stats.skipped
    done = 0
    unparsed = 0
    try:
        for i, line in enumerate(lines):
            done = i + 1
            if line is None:
                continue
            if len(line) < 8 and not line.strip():
                skipped["blank"] += 1
                continue
            if keep is not None and not keep():
                skipped["sampled_out"] += 1
                continue
            if fast and len(line) > PARSE_SMALL and not may_hold_photo(line):
                if looks_like_json(line):
                    unparsed += 1
                else:
                    skipped["not_json"] += 1
                    stats.problem(source, first + i, "not JSON (not a {...} object)")
                continue
            value = parse_line(line, source, first + i, stats)
            if value is NOT_PARSED:
                continue
            if not is_envelope(value):
                yield Item(path, line, value)
                continue
            records = list(unwrap(value))
            stats.records_seen += len(records) - 1
            for record in records:
                yield Item(path, None, record)
    finally:
        if unparsed:
            skipped["no_photo"] += unparsed
        if done < n:  # the caller stopped early: lines not looked at are neither seen nor
            stats.records_seen -= (n - done) - lines[done:].count(None)  # skipped


def iter_records(paths: Sequence[str], stats: ReadStats, *, strict: bool = False,
                 max_line: int = MAX_LINE_BYTES, media_only: bool = False) -> Iterator[dict]:
    """Every JSON object in files, folders (recursive), .gz/.bz2/.xz (multi-stream), .zip,
    .tar/.tar.gz and '-' (stdin), in any of SHAPES, streamed (see `iter_items`). Bad lines are
    counted in `stats` and skipped (`strict`: DataError at the first). A missing path is an
    InputError before anything is read. Values that are not objects are counted as
    `not_tweet`. Each yielded record is counted in `stats.kept` (callers that filter further
    may adjust)."""
    for item in iter_items(paths, stats, strict=strict, max_line=max_line,
                           media_only=media_only):
        if not isinstance(item.record, dict):
            stats.skipped["not_tweet"] += 1
            continue
        stats.kept += 1
        yield item.record
