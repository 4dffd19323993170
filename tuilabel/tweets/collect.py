"""`collect`: keep the tweets that have photos, unchanged, from any pile of tweet archives.

This replaces the original pipeline's `find | gzip -cd | sample | jq 'select(.media)'`. It is
I/O-bound work over gigabytes, so the loop is arranged for speed: lines come in batches, and a
line without any format's media mark (`photos.MEDIA_MARKS`, derived from the format table)
cannot hold a photo, so it is counted without being parsed (see `read.iter_items`). `--strict`
parses every line. Records read from other shapes than JSON Lines (an array, an envelope, a
pretty-printed document, tweets.js, twarc-csv) are written as one compact JSON line each.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO

from tuilabel.errors import InputError
from tuilabel.progress import progress_bar
from tuilabel.tweets.photos import has_photo, tweet_ids
from tuilabel.tweets.read import BOM, MAX_LINE_BYTES, ReadStats, expand_paths, iter_items


def sample_fraction(sample: int | None, fraction: float | None) -> float | None:
    """--sample N (about 1 in N) or --fraction F as one fraction; None keeps everything."""
    if sample is not None and fraction is not None:
        raise InputError("give --sample or --fraction, not both")
    if sample is not None:
        if sample < 1:
            raise InputError(f"--sample must be 1 or more, not {sample}")
        return None if sample == 1 else 1.0 / sample
    if fraction is not None:
        if not 0.0 < fraction <= 1.0:
            raise InputError(f"--fraction must be in (0, 1], not {fraction}")
        return None if fraction == 1.0 else fraction
    return None


def collect(paths: Sequence[str], out: IO[bytes], stats: ReadStats, *,
            fraction: float | None = None, limit: int | None = None, seed: int | None = None,
            thumbnails: bool = False, strict: bool = False, max_line: int = MAX_LINE_BYTES,
            on_batch: Callable[[ReadStats], None] | None = None) -> ReadStats:
    """Write every record of `paths` that has at least one photo to `out`, one per line.

    Records are written as read (a BOM and a trailing CR removed). A record whose tweet ids were
    all written before is a duplicate. `fraction` keeps each line with that probability (decided
    before parsing; `seed` makes it reproducible); `limit` stops after that many kept. Counts go
    to `stats`; `on_batch` is called after every batch of lines (for a progress bar).
    """
    if limit is not None and limit < 1:
        raise InputError(f"--limit must be 1 or more, not {limit}")
    keep_record = None if fraction is None else _sampler(fraction, seed)
    seen_ids: set[str] = set()
    skipped = stats.skipped
    # Kept lines go out once per batch: few system calls, and few chances for the GIL to
    # bounce between this thread and the decompressing one.
    pending: list[bytes] = []
    keep = pending.append

    def flush(s: ReadStats) -> None:
        if pending:
            out.write(b"".join(pending))
            pending.clear()
        if on_batch is not None:
            on_batch(s)

    items = iter_items(paths, stats, strict=strict, max_line=max_line, media_only=True,
                       keep=keep_record, on_batch=flush)
    try:
        for item in items:
            record = item.record
            ids = tweet_ids(record)
            if not ids:
                skipped["not_tweet"] += 1
                continue
            if not has_photo(record, thumbnails=thumbnails):
                skipped["no_photo"] += 1
                continue
            if all(tid in seen_ids for tid in ids):
                skipped["duplicate"] += 1
                continue
            seen_ids.update(ids)
            line = item.raw
            if line is None:
                line = json.dumps(record, ensure_ascii=False, default=_decimal_as_number
                                  ).encode("utf-8", "surrogatepass")
            elif line.startswith(BOM):
                line = line[3:]
            keep(line.rstrip(b"\r"))
            keep(b"\n")
            stats.kept += 1
            if limit is not None and stats.kept >= limit:
                return stats
    finally:
        items.close()  # counts what was not looked at out of records_seen
        if pending:  # a limit reached or an interruption: what was kept is written, whole
            out.write(b"".join(pending))
    return stats


def _decimal_as_number(value: object) -> object:
    """json.dumps' fallback: a Decimal (how ijson reads a JSON number with a fraction) as a
    float; anything else is not JSON."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _sampler(fraction: float, seed: int | None) -> Callable[[], bool]:
    """True with probability `fraction` on each call; the same seed gives the same calls."""
    rnd = random.Random(seed).random
    return lambda: rnd() < fraction


def collect_to_path(paths: Sequence[str], output: str | None, *, fraction: float | None = None,
                    limit: int | None = None, seed: int | None = None, thumbnails: bool = False,
                    strict: bool = False, progress: bool = False,
                    max_line: int = MAX_LINE_BYTES, stats: ReadStats | None = None) -> ReadStats:
    """`tuilabel collect`: check every input, then write kept records to `output` (a file;
    None or '-' for stdout). The output is not touched when an input is missing. With
    `progress`, a bar with records/s and bytes read is drawn on stderr. Counts go to `stats`
    (a new one if not given), which stays readable after an interruption."""
    files = expand_paths(paths)
    to_stdout = output in (None, "-")
    if not to_stdout:
        assert output is not None
        _check_output(output, files)
    stats = ReadStats() if stats is None else stats
    total = None if "-" in files else sum(os.path.getsize(f) for f in files)
    started = time.monotonic()
    with progress_bar("collect", total=total, unit="MB", scale=1e6, enabled=progress) as bar:

        def report(s: ReadStats) -> None:
            rate = s.records_seen / max(time.monotonic() - started, 1e-6)
            bar.update(completed=s.bytes_read,
                       status=f"{rate:,.0f} records/s, {s.kept:,} kept")

        try:
            if to_stdout:
                out = sys.stdout.buffer
                collect(files, out, stats, fraction=fraction, limit=limit, seed=seed,
                        thumbnails=thumbnails, strict=strict, max_line=max_line,
                        on_batch=report if progress else None)
                out.flush()
            else:
                assert output is not None  # (to_stdout otherwise)
                from tuilabel.outfile import atomic_output

                # Whole or not at all (a full disk leaves no cut file); Ctrl-C keeps the
                # records kept so far, each whole.
                with atomic_output(output, binary=True, keep_on_interrupt=True) as fh:
                    collect(files, fh, stats, fraction=fraction, limit=limit, seed=seed,
                            thumbnails=thumbnails, strict=strict, max_line=max_line,
                            on_batch=report if progress else None)
        finally:
            report(stats)
    return stats


def _check_output(output: str, inputs: Sequence[str]) -> None:
    """Refuse to overwrite an input or to write into a folder that does not exist."""
    target = Path(output)
    if target.is_dir():
        raise InputError(f"output {output} is a folder")
    if not target.parent.exists():
        raise InputError(f"cannot write {output}: folder {target.parent} does not exist")
    if target.exists():
        for f in inputs:
            if f != "-" and os.path.samefile(f, target):
                raise InputError(f"output {output} is also an input")
