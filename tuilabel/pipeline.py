"""The labeling core: photos in, top-k labels out, straight into the store, resumably.

Why this shape: on a CPU the model step is the bottleneck (VGG16 runs at the machine's float32
limit, about 7 photos/s on 2 cores), so the whole game is keeping it busy. Fetcher threads
download and decode photos concurrently into a bounded set of in-flight jobs while the calling
thread runs the model on full batches and writes each batch in one transaction. Nothing here
knows about Typer, Textual or terminals (the progress callback is injected), so the CLI, the
benchmarks and the tests all call `label_photos` directly.

Guarantees:
* a photo's labels are written with its own tweet id and URL, whatever order downloads finish;
* photos already labeled by the same model are skipped (asked of the store in chunks), and
  photos that failed before are skipped unless `retry_failed`;
* memory is bounded: at most `2 * batch_size + fetchers` photos are in flight and input is
  read lazily, a chunk at a time;
* a stop request (Ctrl-C, or `stop.set()`) ends the run after the batch in flight is written;
  `kill -9` loses at most that batch (one transaction per batch);
* the store is used only from the calling thread (Store objects are single-thread).
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import os
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from tuilabel.errors import InputError
from tuilabel.exchange import format_prediction_row
from tuilabel.store.base import MAX_K, TWEET_ID_MAX, Failure, NewImage, Store

#: Most download threads `--fetchers` may ask for.
MAX_FETCHERS = 256

#: VGG16 on 2 CPU cores runs at the same ~7.3 photos/s at batch 16 and 32 (batch 64 is no
#: faster and takes 4-6 GB); 16 halves the memory and the work a crash can lose.
DEFAULT_BATCH_SIZE = 16

#: Threads fetching and decoding. Downloads mostly wait on the network; 8 hide 100-300 ms of
#: latency per photo behind a model that takes ~140 ms per photo, with room for slow hosts.
DEFAULT_FETCHERS = 8

#: How many input photos are looked up in the store at a time (resume and failed checks).
LOOKUP_CHUNK = 256

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff", ".jfif"}
)


@dataclass(frozen=True)
class PhotoJob:
    """One photo to label: stored under (tweet_id, url), downloaded from fetch_url."""

    tweet_id: str
    url: str
    fetch_url: str
    media_id: str | None = None


@dataclass
class LabelSummary:
    """What a run did. `labeled` counts rows new to the store."""

    model: str = ""
    photos: int = 0
    labeled: int = 0
    already: int = 0
    skipped_failed: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    input_notes: list[str] = field(default_factory=list)

    @property
    def n_failed(self) -> int:
        return sum(self.failed.values())

    @property
    def rate(self) -> float:
        """Photos labeled per second of the run."""
        return self.labeled / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        """The summary printed at the end of `tuilabel label`."""
        out = [
            f"labeled {self.labeled} photo(s) with {self.model} in {self.seconds:.1f} s "
            f"({self.rate:.2f} photos/s, {self.batches} batch(es))",
            f"already in the store: {self.already}",
        ]
        if self.skipped_failed:
            out.append(
                f"failed before, skipped: {self.skipped_failed} (use --retry-failed to retry)"
            )
        if self.failed:
            reasons = ", ".join(f"{r} {n}" for r, n in sorted(self.failed.items()))
            out.append(f"failed: {self.n_failed} ({reasons})")
        else:
            out.append("failed: 0")
        out.extend(self.input_notes)
        if self.interrupted:
            out.append("interrupted: stopped after the batch in flight; run again to resume")
        return out


@dataclass
class Progress:
    """A snapshot handed to the progress callback after every batch."""

    done: int
    total: int | None
    labeled: int
    failed: int
    batches: int


ProgressCallback = Callable[[Progress], None]


# -- sources ----------------------------------------------------------------------------------
def tweet_jobs(
    paths: Sequence[str], *, thumbnails: bool = False, strict: bool = False,
    stats: Any = None,
) -> Iterator[PhotoJob]:
    """Every photo of every tweet record in `paths` (files, folders, archives, `-`), read
    lazily through the same reader and extractor as `collect`."""
    from tuilabel.tweets import ReadStats, extract_photos, iter_records, tweet_ids

    if stats is None:
        stats = ReadStats()
    for record in iter_records(paths, stats, strict=strict):
        photos = extract_photos(record, thumbnails=thumbnails)
        if not photos:  # counted as collect counts it: not kept
            stats.kept -= 1
            stats.skipped["no_photo" if tweet_ids(record) else "not_tweet"] += 1
        for photo in photos:
            yield PhotoJob(photo.tweet_id, photo.url, photo.fetch_url, photo.media_id)


def _has_scheme(text: str) -> bool:
    head, sep, _ = text.partition("://")
    return bool(sep) and head.isalpha()


def _image_name(name: str) -> str:
    """The name of an `--images` photo as its tweet id: the path or URL as given, its end
    kept (the file name) when longer than a tweet id may be."""
    return name if len(name) <= TWEET_ID_MAX else "…" + name[-(TWEET_ID_MAX - 1):]


def _local_job(name: str, path: Path) -> PhotoJob:
    try:
        url = str(path.resolve())
    except (OSError, ValueError):  # a NUL byte, a symlink loop: the fetch reports it
        url = name
    return PhotoJob(tweet_id=_image_name(name), url=url, fetch_url=url)


def image_jobs(source: str) -> tuple[Iterator[PhotoJob], int]:
    """Photos named by `--images`: every image file under a folder (recursively, sorted), or
    one path or URL per line of a text file (blank lines and `#` comments skipped; relative
    paths are relative to the current directory). The name as given stands where a tweet id
    would; a local file is stored by its absolute path so that `score` finds it from anywhere.
    Returns the jobs and how many there are."""
    root = Path(source)
    if root.is_dir():
        files = sorted(
            p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        )
        return (_local_job(str(p), p) for p in files), len(files)
    if not root.is_file():
        raise InputError(f"--images: no such folder or file: {source}")

    def lines() -> Iterator[str]:
        try:
            with root.open(encoding="utf-8-sig", errors="replace") as f:
                for line in f:
                    line = line.strip()
                    if line and not line.startswith("#"):
                        yield line
        except OSError as exc:
            raise InputError(f"--images: cannot read {source}: {exc.strerror or exc}") from None

    if root.suffix.lower() in IMAGE_SUFFIXES:
        raise InputError(
            f"--images takes a folder or a text file listing images, not an image: {source}"
        )
    count = sum(1 for _ in lines())

    def jobs() -> Iterator[PhotoJob]:
        for line in lines():
            if _has_scheme(line):
                yield PhotoJob(tweet_id=_image_name(line), url=line, fetch_url=line)
            else:
                yield _local_job(line, Path(line))

    return jobs(), count


# -- CSV ---------------------------------------------------------------------------------------
class CsvWriter:
    """The original pipeline's rows: `tweet_id,link,label_1,score_1,...,label_k,score_k`, no
    header, flushed after every batch (after the batch is committed to the store)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._writer = csv.writer(out, lineterminator="\n")

    def write(self, images: Iterable[NewImage]) -> None:
        for image in images:
            self._writer.writerow(
                format_prediction_row(image.tweet_id, image.url, image.predictions))
        self._out.flush()


# -- the pipeline ------------------------------------------------------------------------------
@dataclass
class _Result:
    job: PhotoJob
    pixels: np.ndarray | None
    reason: str = ""
    detail: str = ""


def _fetch_worker(
    fetcher: Any, size: tuple[int, int], jobs: queue.Queue, results: queue.Queue
) -> None:
    from tuilabel.images import FetchError, load_for_model

    while True:
        job = jobs.get()
        if job is None:
            return
        try:
            pixels = load_for_model(fetcher, job.fetch_url, size)
            results.put(_Result(job, pixels))
        except FetchError as exc:
            results.put(_Result(job, None, exc.reason, exc.detail))
        except Exception as exc:  # a bug in decoding one photo must not stop the run
            results.put(_Result(job, None, "error", f"{type(exc).__name__}: {exc}"[:300]))


class _Lookups:
    """Filters input photos against the store, a chunk at a time, from the calling thread."""

    def __init__(self, store: Store, model: str, retry_failed: bool,
                 summary: LabelSummary, pending: set[tuple[str, str]]) -> None:
        self.store = store
        self.model = model
        self.retry_failed = retry_failed
        self.summary = summary
        self.pending = pending

    def filter(self, jobs: Iterable[PhotoJob]) -> Iterator[PhotoJob]:
        chunk: dict[tuple[str, str], PhotoJob] = {}
        for job in jobs:
            key = (job.tweet_id, job.url)
            if key in chunk:
                continue  # the same photo twice in a row (duplicate records)
            chunk[key] = job
            if len(chunk) >= LOOKUP_CHUNK:
                yield from self._check(chunk)
                chunk = {}
        if chunk:
            yield from self._check(chunk)

    def _check(self, chunk: dict[tuple[str, str], PhotoJob]) -> Iterator[PhotoJob]:
        keys = list(chunk)
        self.summary.photos += len(keys)
        known = self.store.known_photos(self.model, keys)
        failed = set() if self.retry_failed else self.store.failed_photos(self.model, keys)
        for key in keys:
            if key in known or key in self.pending:
                self.summary.already += 1
            elif key in failed:
                self.summary.skipped_failed += 1
            else:
                yield chunk[key]


class _StopOnSigint:
    """The first Ctrl-C asks the run to stop after the batch in flight; a second one
    interrupts at once. Only installed from the main thread."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.previous: Any = None
        self.installed = False

    def __enter__(self) -> _StopOnSigint:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
            self.installed = True
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.stop.is_set():
            raise KeyboardInterrupt
        self.stop.set()

    def __exit__(self, *exc: object) -> None:
        if self.installed:
            signal.signal(signal.SIGINT, self.previous)


def label_photos(
    store: Store,
    classifier: Any,
    jobs: Iterable[PhotoJob],
    *,
    fetcher: Any = None,
    k: int = 5,
    batch_size: int = DEFAULT_BATCH_SIZE,
    fetchers: int = DEFAULT_FETCHERS,
    csv_out: TextIO | None = None,
    retry_failed: bool = False,
    total: int | None = None,
    progress: ProgressCallback | None = None,
    stop: threading.Event | None = None,
    handle_sigint: bool = True,
) -> LabelSummary:
    """Label every photo of `jobs` with `classifier` (a tuilabel.model.Classifier) and store
    the top-`k` labels, one transaction per batch. Returns what happened.

    `fetcher`: a tuilabel.images.Fetcher (a default one when None). `total`: how many photos
    `jobs` holds, when known (for the ETA). `stop`: set it to end the run after the batch in
    flight; with `handle_sigint` (main thread only) the first Ctrl-C sets it.
    """
    _check_settings(k, batch_size, fetchers)
    own_fetcher = fetcher is None
    if own_fetcher:
        from tuilabel.images import Fetcher

        fetcher = Fetcher(pool_size=max(fetchers, 10))
    stop = stop or threading.Event()
    summary = LabelSummary(model=classifier.name)
    pending: set[tuple[str, str]] = set()
    lookups = _Lookups(store, classifier.name, retry_failed, summary, pending)
    todo = lookups.filter(jobs)
    size = tuple(classifier.input_size)
    job_q: queue.Queue = queue.Queue()
    result_q: queue.Queue = queue.Queue()
    threads = [
        threading.Thread(target=_fetch_worker, args=(fetcher, size, job_q, result_q),
                         name=f"tuilabel-fetch-{i}", daemon=True)
        for i in range(fetchers)
    ]
    for t in threads:
        t.start()
    writer = CsvWriter(csv_out) if csv_out is not None else None
    max_in_flight = 2 * batch_size + fetchers
    in_flight = 0
    exhausted = False
    ready: list[_Result] = []
    failures: list[Failure] = []
    start = time.perf_counter()
    finished = False

    def report() -> None:
        if progress is not None:
            done = summary.labeled + summary.n_failed + summary.already + summary.skipped_failed
            known_total = total if total is not None else (summary.photos if exhausted else None)
            progress(Progress(done, known_total, summary.labeled, summary.n_failed,
                              summary.batches))

    def write_failures() -> None:
        if failures:
            store.add_failures(failures)
            failures.clear()

    def run_batch(batch: list[_Result]) -> None:
        pixels = np.stack([r.pixels for r in batch])
        predictions = classifier.predict(pixels, k)
        images = [
            NewImage(r.job.tweet_id, r.job.url, classifier.name, tuple(p), r.job.media_id)
            for r, p in zip(batch, predictions, strict=True)
        ]
        summary.labeled += store.add_images(images)
        summary.batches += 1
        write_failures()
        for r in batch:
            pending.discard((r.job.tweet_id, r.job.url))
        if writer is not None:
            writer.write(images)
        report()

    try:
        with _StopOnSigint(stop) if handle_sigint else contextlib.nullcontext():
            while True:
                while not exhausted and not stop.is_set() and in_flight < max_in_flight:
                    job = next(todo, None)
                    if job is None:
                        exhausted = True
                        report()
                        break
                    pending.add((job.tweet_id, job.url))
                    job_q.put(job)
                    in_flight += 1
                if stop.is_set():
                    summary.interrupted = True
                    break
                if in_flight == 0:
                    break
                try:
                    result = result_q.get(timeout=0.2)
                except queue.Empty:
                    continue
                in_flight -= 1
                while True:
                    if result.pixels is not None:
                        ready.append(result)
                    else:
                        summary.failed[result.reason] += 1
                        pending.discard((result.job.tweet_id, result.job.url))
                        failures.append(Failure(result.job.tweet_id, result.job.url,
                                                classifier.name, result.reason, result.detail))
                    try:
                        result = result_q.get_nowait()
                    except queue.Empty:
                        break
                    in_flight -= 1
                while len(ready) >= batch_size:
                    batch, ready = ready[:batch_size], ready[batch_size:]
                    run_batch(batch)
                if len(failures) >= batch_size:
                    write_failures()
                    report()
                if exhausted and in_flight == 0 and ready:
                    batch, ready = ready, []
                    run_batch(batch)
            write_failures()  # failures already seen are kept, even when stopping
        finished = True
    finally:
        while True:  # drop queued work so the fetchers end soon
            try:
                job_q.get_nowait()
            except queue.Empty:
                break
        for _ in threads:
            job_q.put(None)
        if finished and not summary.interrupted:  # else daemon threads end with their fetch
            for t in threads:
                t.join(timeout=5)
        if own_fetcher:
            fetcher.close()
        summary.seconds = time.perf_counter() - start
    return summary


def _check_settings(k: int, batch_size: int, fetchers: int) -> None:
    if batch_size < 1:
        raise InputError("--batch-size must be at least 1")
    if not 1 <= fetchers <= MAX_FETCHERS:  # thousands of threads: "can't start new thread"
        raise InputError(f"--fetchers must be between 1 and {MAX_FETCHERS}")
    if not 1 <= k <= MAX_K:
        raise InputError(f"-k must be between 1 and {MAX_K} (the store keeps up to {MAX_K} labels)")


def stream_for_csv(path: str | None) -> tuple[TextIO | None, bool]:
    """Open `--csv FILE` (or stdout for `-`): returns the stream and whether to close it."""
    import sys

    if path is None:
        return None, False
    if path == "-":
        return sys.stdout, False
    try:
        return open(path, "a" if os.path.exists(path) else "w", newline="",
                    encoding="utf-8"), True
    except OSError as exc:
        raise InputError(f"--csv: cannot write {path}: {exc.strerror or exc}") from None


# -- the whole command, for the CLI and tests ---------------------------------------------------
def run_label(
    tweets: Sequence[str] = (),
    *,
    db: str | None = None,
    model: str = "vgg16",
    k: int = 5,
    batch_size: int = DEFAULT_BATCH_SIZE,
    fetchers: int = DEFAULT_FETCHERS,
    csv_path: str | None = None,
    images: str | None = None,
    weights: str | None = None,
    classes: str | None = None,
    retry_failed: bool = False,
    thumbnails: bool = False,
    strict: bool = False,
    show_progress: bool | None = None,
) -> LabelSummary:
    """What `tuilabel label` does: check the inputs, load the model, label into the store."""
    from tuilabel.model import load_classifier
    from tuilabel.progress import progress_bar
    from tuilabel.store import open_store

    if not tweets and images is None:
        raise InputError("nothing to label: give tweet files (or -) and/or --images DIR_OR_LIST")
    for path in tweets:
        if path != "-" and not os.path.exists(path):
            raise InputError(f"no such file or folder: {path}")
    sources: list[Iterable[PhotoJob]] = []
    total: int | None = None
    if images is not None:
        image_iter, total = image_jobs(images)
        sources.append(image_iter)
    read_stats = None
    if tweets:
        from tuilabel.tweets import ReadStats

        read_stats = ReadStats()
        sources.append(tweet_jobs(tweets, thumbnails=thumbnails, strict=strict, stats=read_stats))
        total = None
    _check_settings(k, batch_size, fetchers)
    classifier = load_classifier(model, weights=weights, classes=classes)
    csv_out, close_csv = stream_for_csv(csv_path)
    try:
        with open_store(db) as store, progress_bar(
            f"label {classifier.name}", total=total, unit="photos", enabled=show_progress
        ) as bar:

            def on_progress(p: Progress) -> None:
                bar.update(completed=p.done, total=p.total,
                           status=f"{p.batches} batches, {p.failed} failed")

            summary = label_photos(
                store, classifier, itertools.chain.from_iterable(sources), k=k,
                batch_size=batch_size, fetchers=fetchers, csv_out=csv_out,
                retry_failed=retry_failed, total=total, progress=on_progress,
            )
    finally:
        if close_csv and csv_out is not None:
            csv_out.close()
    if read_stats is not None:
        summary.input_notes.extend(_read_notes(read_stats))
    return summary


def _read_notes(stats: Any) -> list[str]:
    """What the tweet reader saw (files, records, skipped by reason, problems with file:line)."""
    text = stats.summary() if callable(getattr(stats, "summary", None)) else ""
    lines = [line for line in str(text).splitlines() if line.strip()]
    return [f"input: {lines[0]}", *lines[1:]] if lines else []
