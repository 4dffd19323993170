"""Byte streams: chunked reads, decompression of every concatenated member, a worker thread.

Corpora come as multi-member gzip (`cat a.gz b.gz`), multi-stream bz2 (pbzip2) and xz, often
cut short by a full disk or an interrupted copy. These generators read fixed-size chunks (so
memory stays flat), bound what one decompression step may produce, and turn a truncated or
corrupt stream into `StreamDamage`, raised after every byte before the damage was handed on.
"""

from __future__ import annotations

import codecs
import io
import lzma
import os
import queue
import threading
import zlib
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from tuilabel.tweets.stats import ReadStats

#: How much is read from a file at a time, and the most one decompression step may produce.
READ_CHUNK = 256 * 1024
OUT_CHUNK = 1024 * 1024

GZIP_MAGIC = b"\x1f\x8b"
BZ2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"


class StreamDamage(Exception):
    """A container or compressed stream ended early or is corrupt (reason, message)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def read_chunks(f: IO[bytes], stats: ReadStats | None) -> Iterator[bytes]:
    # read1 hands over what a pipe has now, so `tail -f log | tuilabel collect -` keeps up.
    read = getattr(f, "read1", f.read)
    while True:
        chunk = read(READ_CHUNK)
        if not chunk:
            return
        if stats is not None:
            stats.bytes_read += len(chunk)
        yield chunk


def read_fd_chunks(fd: int, stats: ReadStats) -> Iterator[bytes]:
    """stdin straight from its descriptor: what a pipe holds now, and no buffer lock that a
    worker thread blocked on an idle pipe could hold at exit (Ctrl-C)."""
    while True:
        chunk = os.read(fd, READ_CHUNK)
        if not chunk:
            return
        stats.bytes_read += len(chunk)
        yield chunk


def peek(chunks: Iterator[bytes], n: int) -> tuple[bytes, Iterator[bytes]]:
    """The first n bytes (fewer at the end) and an iterator that still yields everything
    (damage met while peeking is raised again by that iterator, after the data before it)."""
    head, rest = peek_until(chunks, lambda _head: False, n)
    return head[:n], rest


def peek_until(chunks: Iterator[bytes], enough: Callable[[bytes], bool],
               limit: int) -> tuple[bytes, Iterator[bytes]]:
    """Like `peek`, but stops reading as soon as `enough(head)` says the bytes so far tell what
    is needed (a pipe that has sent only a few lines is not waited on), or at `limit` bytes
    or the end; the head returned may run past `limit` by part of a chunk."""
    head: list[bytes] = []
    size = 0
    damage: StreamDamage | None = None
    try:
        for chunk in chunks:
            head.append(chunk)
            size += len(chunk)
            if size >= limit or enough(b"".join(head)):
                break
    except StreamDamage as exc:
        damage = exc
    joined = b"".join(head)

    def rest() -> Iterator[bytes]:
        if joined:
            yield joined
        if damage is not None:
            raise damage
        yield from chunks

    return joined, rest()


def skip_bytes(chunks: Iterator[bytes], n: int) -> Iterator[bytes]:
    """The stream without its first n bytes."""
    for chunk in chunks:
        if n >= len(chunk):
            n -= len(chunk)
            continue
        yield chunk[n:] if n else chunk
        n = 0


def transcode(chunks: Iterator[bytes], encoding: str) -> Iterator[bytes]:
    """Text in `encoding` (UTF-16 or UTF-32; with 'utf-16'/'utf-32' the BOM picks the byte
    order and is dropped) as UTF-8, chunk by chunk; undecodable bytes become U+FFFD."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    for chunk in chunks:
        text = decoder.decode(chunk)
        if text:
            yield text.encode("utf-8", "surrogatepass")
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail.encode("utf-8", "surrogatepass")


def gunzip(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Decompress gzip data, any number of members (like `gzip -cd`)."""
    d = zlib.decompressobj(31)
    fed = False
    carry = b""  # the start of a next member's header cut by a chunk boundary
    for chunk in chunks:
        data = carry + chunk if carry else chunk
        carry = b""
        while data:
            if d.eof:
                if not data.startswith(GZIP_MAGIC):
                    if len(data) < 2 and GZIP_MAGIC.startswith(data):
                        carry = data
                    elif data.strip(b"\x00"):
                        raise StreamDamage("corrupt_archive", "trailing garbage after gzip data")
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
                raise StreamDamage("corrupt_archive", f"corrupt gzip data ({exc})") from None
    if fed and not d.eof:
        raise StreamDamage("truncated", "gzip stream is truncated")


def decompress_multistream(chunks: Iterator[bytes], make: Callable, magic: bytes,
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
                        raise StreamDamage("corrupt_archive",
                                            f"trailing garbage after {name} data")
                    pending = b""
                    break
                d = make()
            try:
                out = d.decompress(pending, OUT_CHUNK)
            except (OSError, EOFError, lzma.LZMAError) as exc:
                raise StreamDamage("corrupt_archive", f"corrupt {name} data ({exc})") from None
            fed = True
            pending = b""
            if out:
                yield out
            if d.eof:
                continue
            if d.needs_input:
                break
    if fed and not d.eof:
        raise StreamDamage("truncated", f"{name} stream is truncated")


#: Decompressed chunks waiting between the worker thread and the parser (bounds memory).
_QUEUE_CHUNKS = 4


def in_thread(chunks: Iterator[bytes]) -> Iterator[bytes]:
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


class ChunkFile(io.RawIOBase):
    """A read-only file over an iterator of chunks (so that tarfile can read a stream).

    Damage in the stream below reads as the end of the file, and is kept in `damage` so that
    the tar reader reports it once, as the cause, rather than tarfile's "unexpected end".
    """

    def __init__(self, chunks: Iterator[bytes], limit: int | None = None) -> None:
        self._chunks = chunks
        self._buf = memoryview(b"")
        self.damage: StreamDamage | None = None
        #: With a limit, reading more than `limit` bytes since the last `mark()` raises
        #: ValueTooLong (one JSON value that would not fit in memory).
        self.limit = limit
        self._since_mark = 0

    def mark(self) -> None:
        """Start counting towards `limit` afresh (a value was complete)."""
        self._since_mark = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.limit is not None and self._since_mark > self.limit:
            raise ValueTooLong(self.limit)
        while not len(self._buf):
            if self.damage is not None:
                return 0
            try:
                self._buf = memoryview(next(self._chunks))
            except StopIteration:
                return 0
            except StreamDamage as exc:
                self.damage = exc
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        self._since_mark += n
        return n


class ValueTooLong(Exception):
    """One JSON value in a document runs past the reader's limit (bytes)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a JSON value longer than {limit:,} bytes")
        self.limit = limit


class CountingFile(io.RawIOBase):
    """Counts the bytes zipfile reads off the disk, for the progress bar."""

    def __init__(self, f: IO[bytes], stats: ReadStats) -> None:
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

    def readinto(self, b) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)
