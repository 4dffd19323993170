"""The labeling core: photos in, top-k labels out, straight into the store, resumably.

Why this shape: on a CPU the model step is the bottleneck (VGG16 runs at the machine's float32
limit, about 7 photos/s on 2 cores), so the whole game is keeping it busy. Fetcher threads
download and decode photos concurrently into a bounded set of in-flight jobs, a model thread runs
the model on full batches, and the calling thread keeps the fetchers fed and writes each finished
batch in one transaction while the model works on the next. Nothing here
knows about Typer, Textual or terminals (the progress callback is injected), so the CLI, the
benchmarks and the tests all call `label_photos` directly.

Guarantees:
* a photo's labels are written with its own tweet id and URL, whatever order downloads finish;
* photos already labeled by the same model are skipped (asked of the store in chunks), and
  photos that failed before are skipped unless `retry_failed`;
* memory is bounded: at most `3 * batch_size + fetchers` photos are held (fetched or being
  fetched, and one batch in the model) and input is read lazily, a chunk at a time;
* a stop request (Ctrl-C, or `stop.set()`) ends the run after the batch in flight is written;
  `kill -9` loses at most that batch (one transaction per batch);
* the store is used only from the calling thread (Store objects are single-thread).
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

import numpy as np

from tuilabel.errors import InputError
from tuilabel.exchange import format_prediction_row
from tuilabel.store.base import MAX_K, TWEET_ID_MAX, Failure, NewImage, Store
from tuilabel.store.schema import photo_problem

Prediction = tuple[tuple[str, float], ...]

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


@dataclass(frozen=True)
class PhotoJob:
    """One photo to label: stored under (tweet_id, url), downloaded from fetch_url."""

    tweet_id: str
    url: str
    fetch_url: str
    media_id: str | None = None
    text: str | None = None  # the tweet's text, kept with the photo (shown by `score`'s t)


@dataclass
class LabelSummary:
    """What a run did. `labeled` counts rows new to the store."""

    model: str = ""
    photos: int = 0
    labeled: int = 0
    already: int = 0
    skipped_failed: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    #: Library warnings while decoding (Pillow's, e.g. corrupt EXIF), by kind: counted here,
    #: never printed.
    warnings: Counter[str] = field(default_factory=Counter)
    batches: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    input_notes: list[str] = field(default_factory=list)
    #: The photos of this run that the store holds (labeled now or before): what
    #: `rebuild_csv` writes.
    stored_photos: set[tuple[str, str]] = field(default_factory=set, repr=False)

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
        if self.warnings:
            kinds = ", ".join(f"{w} {n}" for w, n in sorted(self.warnings.items()))
            out.append(f"library warnings while decoding: {sum(self.warnings.values())} "
                       f"({kinds})")
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
    lazily through the same reader and extractor as `collect`. Relative local photo paths in
    a record are resolved against the folder of the file holding it (the current folder for
    stdin) and stored absolute, so that `score` finds them from any folder."""
    from tuilabel.tweets import ReadStats, extract_photos, iter_items, tweet_ids

    if stats is None:
        stats = ReadStats()
    bases: dict[str, str] = {}
    for item in iter_items(paths, stats, strict=strict):
        base = bases.get(item.path)
        if base is None:
            where = os.getcwd() if item.path == "-" else os.path.dirname(
                os.path.abspath(item.path))
            base = bases[item.path] = where
        photos = extract_photos(item.record, thumbnails=thumbnails, base=base)
        if not photos:  # counted as collect counts it: not kept
            stats.skipped["no_photo" if tweet_ids(item.record) else "not_tweet"] += 1
            continue
        stats.kept += 1
        for photo in photos:
            yield PhotoJob(photo.tweet_id, photo.url, photo.fetch_url, photo.media_id,
                           photo.text)


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
    """Photos named by `--images`: every image file under a folder (recursively, sorted; by any
    extension Pillow registers, or by content: see `images.is_image_file`), or one path or URL
    per line of a text file (blank lines and `#` comments skipped; relative
    paths are relative to the current directory). The name as given stands where a tweet id
    would; a local file is stored by its absolute path so that `score` finds it from anywhere.
    Returns the jobs and how many there are."""
    root = Path(source)
    if root.is_dir():
        from tuilabel.images import image_extensions, is_image_file

        extensions = image_extensions()
        files = sorted(p for p in root.rglob("*") if p.is_file() and is_image_file(p, extensions))
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

    from tuilabel.images import image_extensions

    if root.suffix.lower() in image_extensions():
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


def rebuild_csv(path: str, store: Store, model: str,
                photos: set[tuple[str, str]]) -> int:
    """Make `--csv FILE` hold every photo of the run that the store holds exactly once, and
    no cut line, whatever happened to the appends during the run (a full disk after a batch
    was committed, kill -9 between the commit and the write, a rerun that skips the photos
    already stored). Rows of the run's photos are rewritten from the store where they first
    stood (missing ones at the end); rows of other photos are kept as they are, unless they
    are not rows at all (a cut or joined line). The file is replaced whole (temp file and
    rename), or left as it was. Returns how many rows were added or repaired."""
    from tuilabel.exchange import MalformedRow, open_output, parse_prediction_row

    target = Path(path)
    if not target.is_file():
        return 0
    by_key = {(im.tweet_id, im.url): im for im in store.get_photos(model, photos)}
    try:
        text = target.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise InputError(f"--csv: cannot read {path}: {exc.strerror or exc}") from None
    changed = 0
    if text and not text.endswith("\n"):  # a line cut short by a failed write
        text = text[: text.rfind("\n") + 1]
        changed += 1
    rows: list[list[str]] = []
    written: set[tuple[str, str]] = set()
    for fields in csv.reader(text.splitlines()):
        key = (fields[0], fields[1]) if len(fields) >= 2 else ("", "")
        if key in by_key:
            if key not in written:
                im = by_key[key]
                rows.append(format_prediction_row(im.tweet_id, im.url, im.predictions))
                written.add(key)
            else:
                changed += 1  # the same photo twice
            continue
        try:
            parse_prediction_row(fields, model)
        except (MalformedRow, ValueError):
            changed += 1  # not a row: a cut line joined with the next one
            continue
        rows.append(fields)
    for key, im in by_key.items():
        if key not in written:
            rows.append(format_prediction_row(im.tweet_id, im.url, im.predictions))
            changed += 1
    if changed:
        with open_output(path) as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerows(rows)
    return changed


# -- the pipeline ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """One photo through an engine: its top-k `prediction`, or None and the failure's `reason`
    token (see tuilabel.images) and `detail` line."""

    job: PhotoJob
    prediction: Prediction | None
    reason: str = ""
    detail: str = ""
    #: Library warnings while decoding the photo ('Category: text'), counted, never printed.
    warned: tuple[str, ...] = ()


class Engine(Protocol):
    """Turns photos into outcomes, a batch at a time; the driver (`label_photos`) writes each
    batch it yields in one transaction. `LocalEngine` runs in this process;
    `tuilabel.ray_engine.RayEngine` on Ray Data. An engine checks `stop` before each batch it
    yields and ends without yielding more once it is set."""

    def outcomes(
        self, jobs: Iterator[PhotoJob], *, k: int, batch_size: int, stop: threading.Event
    ) -> Iterator[list[Outcome]]: ...


#: Given the classifier loaded by the driver, the engine to run on, as a context manager.
EngineFactory = Callable[[Any], AbstractContextManager[Engine]]


def fetch_pixels(fetcher: Any, job: PhotoJob, size: tuple[int, int], *, fast: bool = False,
                 warned: list[str] | None = None) -> tuple[np.ndarray | None, str, str]:
    """Fetch and decode one photo for a model of input `size` (height, width): returns
    (float32 H x W x 3 pixels 0..255, "", "") or (None, reason, detail). Never raises for a
    photo's own problem: a bug in decoding one photo must not stop the run either. `fast`:
    the faster JPEG decode of `tuilabel.images.decode_image` (other pixels than Keras').
    Library warnings while decoding are appended to `warned` (never printed)."""
    from tuilabel.images import FetchError, load_for_model

    try:
        return load_for_model(fetcher, job.fetch_url, size, fast=fast, warned=warned), "", ""
    except FetchError as exc:
        return None, exc.reason, exc.detail
    except Exception as exc:
        return None, "error", f"{type(exc).__name__}: {exc}"[:300]


def predict_batch(classifier: Any, jobs: Sequence[PhotoJob], pixels: Sequence[np.ndarray],
                  k: int, warned: Sequence[tuple[str, ...]] | None = None) -> list[Outcome]:
    """Run the classifier once over decoded photos (each H x W x 3, 0..255); `warned`, one
    tuple per photo, are the decoding warnings to carry on to the outcomes."""
    if not jobs:
        return []
    predictions = classifier.predict(np.stack(pixels).astype(np.float32, copy=False), k)
    notes = warned if warned is not None else [()] * len(jobs)
    return [Outcome(job, tuple(p), warned=w)
            for job, p, w in zip(jobs, predictions, notes, strict=True)]


class LocalEngine:
    """Fetch and decode on a `concurrent.futures` thread pool (`fetchers` threads; downloads
    wait on the network, Pillow's decoder releases the GIL) and run the model on full batches
    in one more thread, so that the calling thread is free to keep the fetchers fed and to
    write each finished batch while the model works on the next. At most
    `3 * batch_size + fetchers` photos are held: `2 * batch_size + fetchers` fetched or being
    fetched, one batch in the model.

    Why a model thread: with the model in the calling thread, new fetches were started only
    between batches, and every few batches the model sat idle for a network round trip
    (`scripts/bench_label.py` measured 150 ms gaps every third batch of 16)."""

    def __init__(self, classifier: Any, fetcher: Any, fetchers: int = DEFAULT_FETCHERS,
                 fast_decode: bool = False) -> None:
        self.classifier = classifier
        self.fetcher = fetcher
        self.fetchers = fetchers
        self.fast_decode = fast_decode

    def outcomes(
        self, jobs: Iterator[PhotoJob], *, k: int, batch_size: int, stop: threading.Event
    ) -> Iterator[list[Outcome]]:
        size = tuple(self.classifier.input_size)
        limit = 2 * batch_size + self.fetchers
        pool = ThreadPoolExecutor(self.fetchers, thread_name_prefix="tuilabel-fetch")
        model = ThreadPoolExecutor(1, thread_name_prefix="tuilabel-model")
        in_flight: set[Future] = set()
        running: Future | None = None  # the batch in the model, if any
        ready_jobs: list[PhotoJob] = []
        ready_pixels: list[np.ndarray] = []
        ready_warned: list[tuple[str, ...]] = []
        failed: list[Outcome] = []
        exhausted = False

        def start_batch() -> Future:
            n = min(batch_size, len(ready_jobs))
            future = model.submit(predict_batch, self.classifier, ready_jobs[:n],
                                  ready_pixels[:n], k, ready_warned[:n])
            del ready_jobs[:n], ready_pixels[:n], ready_warned[:n]
            return future

        try:
            while True:
                # Keep the fetchers fed, counting the photos waiting for the model too.
                while (not exhausted and not stop.is_set()
                       and len(in_flight) + len(ready_jobs) < limit):
                    job = next(jobs, None)
                    if job is None:
                        exhausted = True
                    else:
                        in_flight.add(pool.submit(self._fetch, job, size))
                last = exhausted and not in_flight
                if running is None and not stop.is_set() and (
                        len(ready_jobs) >= batch_size or (last and ready_jobs)):
                    running = start_batch()
                if running is not None and running.done():
                    finished, running = running.result(), None
                    # The next batch goes to the model before this one is written.
                    if not stop.is_set() and (len(ready_jobs) >= batch_size
                                              or (last and ready_jobs)):
                        running = start_batch()
                    yield finished + failed
                    failed = []
                    continue
                if failed and (len(failed) >= batch_size or (last and running is None)):
                    yield failed
                    failed = []
                if running is None and (stop.is_set() or (last and not ready_jobs)):
                    break
                waiting = in_flight | ({running} if running is not None else set())
                if not waiting:
                    continue
                done, _ = wait(waiting, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done & in_flight:
                    in_flight.discard(future)
                    job, pixels, reason, detail, warned = future.result()
                    if pixels is None:
                        failed.append(Outcome(job, None, reason, detail, warned))
                    else:
                        ready_jobs.append(job)
                        ready_pixels.append(pixels)
                        ready_warned.append(warned)
            if failed:  # failures already seen are kept, even when stopping
                yield failed
        finally:
            # Queued fetches are dropped; running ones end with their own timeout. A batch
            # still in the model when the run is abandoned finishes in its thread, unwritten.
            pool.shutdown(wait=False, cancel_futures=True)
            model.shutdown(wait=False, cancel_futures=True)

    def _fetch(self, job: PhotoJob, size: tuple[int, int]
               ) -> tuple[PhotoJob, np.ndarray | None, str, str, tuple[str, ...]]:
        warned: list[str] = []
        pixels, reason, detail = fetch_pixels(self.fetcher, job, size, fast=self.fast_decode,
                                              warned=warned)
        return job, pixels, reason, detail, tuple(warned)


class _Lookups:
    """Filters input photos against the store, a chunk at a time, from the calling thread.
    A photo it lets through is `pending` until the driver has written its outcome."""

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
            if photo_problem(job.tweet_id, job.url, job.media_id):
                # Wider than a column on some backend (a 70,000-character URL): one failure
                # of this run, not stored (the failures table could not hold it either).
                self.summary.photos += 1
                self.summary.failed["too_long"] += 1
                continue
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
        self.summary.stored_photos.update(known)
        for key in keys:
            if key in known or key in self.pending:
                self.summary.already += 1
            elif key in failed:
                self.summary.skipped_failed += 1
            else:
                self.pending.add(key)
                yield chunk[key]


class _Writer:
    """The driver's side of every engine: writes each batch of outcomes as it arrives (labels
    in one transaction, then the batch's failures), then the CSV rows, then reports progress.
    An outcome whose photo is no longer pending (a retried task delivering it twice) is
    dropped, so each photo is written once per run."""

    def __init__(self, store: Store, model: str, summary: LabelSummary,
                 pending: set[tuple[str, str]], csv_out: TextIO | None,
                 report: Callable[[], None]) -> None:
        self.store = store
        self.model = model
        self.summary = summary
        self.pending = pending
        self.csv = CsvWriter(csv_out) if csv_out is not None else None
        self.report = report

    def write(self, outcomes: Iterable[Outcome]) -> None:
        images: list[NewImage] = []
        failures: list[Failure] = []
        for o in outcomes:
            key = (o.job.tweet_id, o.job.url)
            if key not in self.pending:
                continue
            self.pending.discard(key)
            self.summary.warnings.update(o.warned)
            if o.prediction is not None:
                images.append(NewImage(o.job.tweet_id, o.job.url, self.model, o.prediction,
                                       o.job.media_id, text=o.job.text))
            else:
                self.summary.failed[o.reason] += 1
                failures.append(Failure(o.job.tweet_id, o.job.url, self.model, o.reason,
                                        o.detail))
        if images:
            try:
                self.summary.labeled += self.store.add_images(images)
            except ValueError:  # one image the store refuses must not cost the others
                images = self._add_one_by_one(images, failures)
            self.summary.stored_photos.update((im.tweet_id, im.url) for im in images)
            self.summary.batches += 1
        if failures:
            self.store.add_failures(failures)
        if images and self.csv is not None:
            self.csv.write(images)
        if images or failures:
            self.report()

    def _add_one_by_one(self, images: list[NewImage], failures: list[Failure]) -> list[NewImage]:
        """Store the images one at a time; a refused one becomes a failure. Returns those
        stored."""
        stored = []
        for image in images:
            try:
                self.summary.labeled += self.store.add_images([image])
            except ValueError as exc:
                self.summary.failed["not_storable"] += 1
                failures.append(Failure(image.tweet_id, image.url, self.model, "not_storable",
                                        str(exc)))
            else:
                stored.append(image)
        return stored


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
    engine: Engine | None = None,
    stored_photos: set[tuple[str, str]] | None = None,
    fast_decode: bool = False,
) -> LabelSummary:
    """Label every photo of `jobs` with `classifier` (a tuilabel.model.Classifier) and store
    the top-`k` labels, one transaction per batch. Returns what happened.

    `engine`: who fetches, decodes and runs the model (default: a `LocalEngine` with
    `fetchers` threads and `fetcher`, a default tuilabel.images.Fetcher when None); the
    store is written from the calling thread only, whatever the engine. `total`: how many
    photos `jobs` holds, when known (for the ETA). `stop`: set it to end the run after the
    batch in flight; with `handle_sigint` (main thread only) the first Ctrl-C sets it.
    `stored_photos`: a set to fill with the run's photos that the store holds (labeled now
    or before), kept even when the run stops with an error (for `rebuild_csv`).
    `fast_decode`: the default engine decodes JPEGs with `Image.draft` (faster, but not the
    pixels Keras' `load_img` gives; see `tuilabel.images.decode_image`).
    """
    _check_settings(k, batch_size, fetchers)
    own_fetcher = engine is None and fetcher is None
    if own_fetcher:
        from tuilabel.images import Fetcher

        fetcher = Fetcher(pool_size=max(fetchers, 10))
    if engine is None:
        engine = LocalEngine(classifier, fetcher, fetchers, fast_decode=fast_decode)
    stop = stop or threading.Event()
    summary = LabelSummary(model=classifier.name)
    if stored_photos is not None:
        summary.stored_photos = stored_photos
    pending: set[tuple[str, str]] = set()
    lookups = _Lookups(store, classifier.name, retry_failed, summary, pending)
    exhausted = False

    def todo() -> Iterator[PhotoJob]:
        nonlocal exhausted
        yield from lookups.filter(jobs)
        exhausted = True
        report()

    def report() -> None:
        if progress is not None:
            done = summary.labeled + summary.n_failed + summary.already + summary.skipped_failed
            known_total = total if total is not None else (summary.photos if exhausted else None)
            progress(Progress(done, known_total, summary.labeled, summary.n_failed,
                              summary.batches))

    writer = _Writer(store, classifier.name, summary, pending, csv_out, report)
    start = time.perf_counter()
    try:
        with _StopOnSigint(stop) if handle_sigint else contextlib.nullcontext():
            batches = engine.outcomes(todo(), k=k, batch_size=batch_size, stop=stop)
            try:
                for batch in batches:
                    writer.write(batch)
            finally:
                close = getattr(batches, "close", None)
                if close is not None:
                    close()
        summary.interrupted = stop.is_set()
    finally:
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
        from tuilabel.text import for_terminal

        return for_terminal(sys.stdout), False
    try:
        f = open(path, "a+b" if os.path.exists(path) else "w+b")  # noqa: SIM115
        if f.seek(0, os.SEEK_END) and os.path.isfile(path):
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":  # a row cut by an earlier failure: start on a new line
                f.write(b"\n")
        return io.TextIOWrapper(f, encoding="utf-8", newline=""), True
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
    fast_decode: bool = False,
    precision: str = "float32",
    engine_factory: EngineFactory | None = None,
) -> LabelSummary:
    """What `tuilabel label` does: check the inputs, load the model, label into the store.

    `precision`: see tuilabel.model.PRECISIONS. `engine_factory`: given the classifier loaded
    here, a context manager giving the engine to run on (and ending it); None: the local
    engine (`tuilabel.ray_engine.ray_engine` makes Ray's)."""
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
    # The database first: a wrong --db is said at once, not after loading the model.
    with open_store(db) as store, contextlib.ExitStack() as stack:
        classifier = _load(model, weights, classes, precision)
        engine = None if engine_factory is None else stack.enter_context(
            engine_factory(classifier))
        csv_out, close_csv = stream_for_csv(csv_path)
        stored_photos: set[tuple[str, str]] = set()
        try:
            with progress_bar(f"label {classifier.name}", total=total, unit="photos",
                              enabled=show_progress) as bar:

                def on_progress(p: Progress) -> None:
                    bar.update(completed=p.done, total=p.total,
                               status=f"{p.batches} batches, {p.failed} failed")

                summary = label_photos(
                    store, classifier, itertools.chain.from_iterable(sources), k=k,
                    batch_size=batch_size, fetchers=fetchers, csv_out=csv_out,
                    retry_failed=retry_failed, total=total, progress=on_progress,
                    stored_photos=stored_photos, fast_decode=fast_decode, engine=engine,
                )
        finally:
            if close_csv and csv_out is not None:
                with contextlib.suppress(OSError):  # a full disk: rebuilt below or next run
                    csv_out.close()
            if csv_path is not None and csv_path != "-" and stored_photos:
                rebuild_csv(csv_path, store, classifier.name, stored_photos)
    if read_stats is not None:
        summary.input_notes.extend(_read_notes(read_stats))
    return summary


def _load(model: str, weights: str | None, classes: str | None, precision: str) -> Any:
    from tuilabel.model import load_classifier

    return load_classifier(model, weights=weights, classes=classes, precision=precision)


def _read_notes(stats: Any) -> list[str]:
    """What the tweet reader saw (files, records, skipped by reason, problems with file:line)."""
    text = stats.summary() if callable(getattr(stats, "summary", None)) else ""
    lines = [line for line in str(text).splitlines() if line.strip()]
    return [f"input: {lines[0]}", *lines[1:]] if lines else []
