"""`label --engine ray`: the same labeling job on Ray Data, on this machine or a cluster.

Why Ray Data: it is the field's standard for offline batch inference across machines, and it
already does what a home-made scheduler would have to: a dataset of photos, fetching and
decoding as tasks (`map_batches` with a function), the model in an actor pool where each actor
loads it once (`map_batches` with a class, `ActorPoolStrategy`), streaming execution with
backpressure, retries of tasks whose worker died and restarts of dead actors. tuilabel adds
no scheduling of its own. The driver keeps everything the local engine's driver does (the
same `label_photos`): resume lookups, one transaction per batch, failures, CSV, progress.

    driver: photos not yet in the store -> chunks of CHUNK -> ray.data.from_items
      -> map_batches(_fetch_block)           tasks: the same Fetcher, cache and failure reasons
      -> map_batches(_Predictor, pool of --workers actors, --gpus-per-worker each)
      -> iter_batches -> the driver's writer (one transaction per batch)

Models reach the workers through Ray, not a download per worker: when joining a cluster, the
files the classifier is built from (a user's model and classes file, a weights file, the
keras.applications weights from Keras' cache) are put in Ray's object store once and written
to a private folder on each worker; the bundled models travel with the tuilabel package
(shipped as a `py_modules` runtime environment). A worker that cannot load the model fails
the run with the same one-line ModelError as the local engine.

Faults: Ray retries a fetch task whose worker died (Ray Data's tasks have `max_retries=-1`,
ray.data._internal.remote_fn) and restarts a killed model actor, retrying its batch; the driver
writes a photo at most once per run (see pipeline._Writer) and the store ignores a photo it
holds, so a rerun after the driver died adds no duplicate. tests/test_ray_engine.py kills a
fetch task and a model actor mid-run. A Ray started here goes with its driver, even one killed
with SIGKILL: Ray's fate sharing takes gcs_server, raylet and the workers, and
tuilabel/ray_reaper.py the two agents that would otherwise outlive it by a minute.

Ray is an optional dependency (`pip install 'tuilabel[ray]'`), imported only here and only
when the engine runs.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tuilabel.errors import InputError, ModelError, TuilabelError
from tuilabel.pipeline import Outcome, PhotoJob, fetch_pixels
from tuilabel.ray_reaper import GIVE_UP_SECONDS

#: What `--engine ray` says when Ray is not installed.
INSTALL_HINT = "--engine ray needs Ray: pip install 'tuilabel[ray]'"

#: Photos per Ray dataset: the driver's memory for job rows stays bounded on corpora of
#: millions; each chunk's pipeline drains before the next starts (a few batches' latency).
CHUNK = 50_000

#: Object store of a Ray started by tuilabel on this machine (bytes): photos in flight are
#: 150 KB each at 224 x 224, so 1 GiB holds thousands; Ray's default takes 30% of memory.
LOCAL_OBJECT_STORE_BYTES = 1 << 30

#: CPUs a fetch task reserves: downloads mostly wait, so two share a core.
FETCH_CPUS = 0.5


def import_ray() -> Any:
    """`ray` with `ray.data`, or InputError with the one line that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise InputError(INSTALL_HINT) from None
    return ray


# -- the model, as it travels to the workers --------------------------------------------------
@dataclass
class ModelRecipe:
    """How a worker builds the classifier the driver built: `load_classifier(model, weights=,
    classes=)` with `precision`, after writing the shipped `files` (role, path on the
    driver, object ref to the bytes) into a private folder and pointing the arguments there.
    Roles: `model` (a user's model file), `classes`, `weights`, `keras_cache` (weights Keras
    keeps in its cache, found there by the worker through KERAS_HOME)."""

    model: str
    weights: str | None = None
    classes: str | None = None
    precision: str = "float32"
    files: list[tuple[str, str, Any]] = field(default_factory=list)

    def load(self) -> Any:
        """The classifier on this worker. Raises ModelError as load_classifier does."""
        from tuilabel.model import load_classifier


        model, weights, classes = self.model, self.weights, self.classes
        if self.files:
            import ray

            folder = Path(tempfile.mkdtemp(prefix="tuilabel-model-"))
            for role, original, ref in self.files:
                name = Path(original).name
                target = (folder / "keras" / "models" / name if role == "keras_cache"
                          else folder / name if role in ("model", "classes")
                          else folder / role / name)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(ray.get(ref))
                if role == "model":
                    model = str(target)
                elif role == "classes" and classes is not None:
                    classes = str(target)
                elif role == "weights":
                    weights = str(target)
                elif role == "keras_cache":
                    os.environ["KERAS_HOME"] = str(folder / "keras")
        return load_classifier(model, weights=weights, classes=classes,
                               precision=self.precision)


def model_recipe(model: str, weights: str | None, classes: str | None, precision: str,
                 classifier: Any, *, ship: bool) -> ModelRecipe:
    """The recipe for the classifier the driver loaded; with `ship`, the files it was built
    from are put in Ray's object store (one copy for the whole cluster)."""
    recipe = ModelRecipe(model, weights, classes, precision)
    if not ship:
        return recipe
    import ray

    for role, path in model_files(model, weights, classes, classifier):
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read {path} to send it to the workers: "
                             f"{exc.strerror or exc}") from None
        recipe.files.append((role, str(path), ray.put(data)))
    return recipe


def model_files(model: str, weights: str | None, classes: str | None,
                classifier: Any) -> list[tuple[str, Path]]:
    """(role, path) of every local file the classifier was built from (see ModelRecipe)."""
    from tuilabel.model import RANDOM_WEIGHTS, default_classes_path, is_model_path

    files: list[tuple[str, Path]] = []
    if is_model_path(model):
        path = Path(model).expanduser()
        files.append(("model", path))
        files.append(("classes", Path(classes) if classes else default_classes_path(path)))
    elif weights is None:
        cached = getattr(classifier, "weights_path", None)
        if cached is not None:
            files.append(("keras_cache", Path(cached)))
    if weights is not None and weights.lower() != RANDOM_WEIGHTS:
        files.append(("weights", Path(weights).expanduser()))
    return files


# -- on the workers ----------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}
_WORKER_LOCK = threading.Lock()


def _worker_fetcher(options: dict[str, Any], threads: int) -> tuple[Any, ThreadPoolExecutor]:
    """One Fetcher (pooled connections, cache) and one thread pool per worker process."""
    key = json.dumps([options, threads], sort_keys=True, default=str)
    with _WORKER_LOCK:
        if _WORKER.get("key") != key:
            from tuilabel.images import Fetcher

            _WORKER["fetcher"] = Fetcher(**options)
            _WORKER["pool"] = ThreadPoolExecutor(threads,
                                                 thread_name_prefix="tuilabel-fetch")
            _WORKER["key"] = key
        return _WORKER["fetcher"], _WORKER["pool"]


def _fetch_block(batch: dict[str, np.ndarray], *, fetcher_options: dict[str, Any],
                 size: tuple[int, int], threads: int, fast: bool = False
                 ) -> dict[str, np.ndarray]:
    """A Ray Data task: fetch and decode a block of photos with `fetch_pixels`, the local
    engine's function. Adds `pixels` (uint8 N x H x W x 3, zeros for a failed photo), `ok`,
    `reason`, `detail` and `warned` (the decoding warnings, a JSON list)."""
    fetcher, pool = _worker_fetcher(fetcher_options, threads)
    jobs = _jobs(batch)
    warned: list[list[str]] = [[] for _ in jobs]
    results = list(pool.map(
        lambda i: fetch_pixels(fetcher, jobs[i], size, fast=fast, warned=warned[i]),
        range(len(jobs))))
    pixels = np.zeros((len(jobs), *size, 3), dtype=np.uint8)
    for i, (array, _, _) in enumerate(results):
        if array is not None:
            pixels[i] = array  # whole values 0..255: uint8 is exact and 4x smaller
    return {
        **{name: batch[name] for name in ("tweet_id", "url", "fetch_url", "media_id")},
        "pixels": pixels,
        "ok": np.array([array is not None for array, _, _ in results], dtype=bool),
        "reason": np.array([reason for _, reason, _ in results], dtype=object),
        "detail": np.array([detail for _, _, detail in results], dtype=object),
        "warned": np.array([json.dumps(w) for w in warned], dtype=object),
    }


class _Predictor:
    """A Ray Data actor: loads the model once, then labels blocks of decoded photos. A row
    leaves with its top-k as JSON (exact floats), or "" when its photo failed."""

    def __init__(self, recipe: ModelRecipe, k: int) -> None:
        self.classifier = recipe.load()
        self.k = k

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ok = np.asarray(batch["ok"], dtype=bool)
        predictions = np.full(len(ok), "", dtype=object)
        if ok.any():
            pixels = np.asarray(batch["pixels"])[ok].astype(np.float32)
            for i, p in zip(np.flatnonzero(ok), self.classifier.predict(pixels, self.k),
                            strict=True):
                predictions[i] = json.dumps([[label, score] for label, score in p])
        return {
            **{name: batch[name] for name in ("tweet_id", "url", "fetch_url", "media_id",
                                              "reason", "detail", "warned")},
            "prediction": predictions,
        }


def _jobs(batch: dict[str, np.ndarray]) -> list[PhotoJob]:
    return [
        PhotoJob(str(t), str(u), str(f), str(m) if m else None)
        for t, u, f, m in zip(batch["tweet_id"], batch["url"], batch["fetch_url"],
                              batch["media_id"], strict=True)
    ]


def _outcomes(batch: dict[str, np.ndarray]) -> list[Outcome]:
    out = []
    for job, reason, detail, prediction, warned in zip(
            _jobs(batch), batch["reason"], batch["detail"], batch["prediction"],
            batch["warned"], strict=True):
        notes = tuple(json.loads(warned))
        if prediction:
            top = tuple((str(label), float(score)) for label, score in json.loads(prediction))
            out.append(Outcome(job, top, warned=notes))
        else:
            out.append(Outcome(job, None, str(reason), str(detail), notes))
    return out


# -- the driver ----------------------------------------------------------------------------------
def package_dir() -> str:
    """tuilabel's own folder, shipped to a cluster's workers as a runtime-environment module."""
    import tuilabel

    return str(Path(tuilabel.__file__).resolve().parent)


class Connection:
    """What `connect` started: `close()` shuts down the Ray it started or joined (nothing for
    a Ray that was already initialised) and then lets the reaper of a local Ray (see
    tuilabel/ray_reaper.py) end whatever of it is still running."""

    def __init__(self, started: bool, reaper: subprocess.Popen[bytes] | None = None) -> None:
        self.started = started
        self.reaper = reaper

    def close(self) -> None:
        try:
            if self.started:
                import ray

                ray.shutdown()
        finally:
            if self.reaper is not None:
                _release(self.reaper)
                self.reaper = None


def connect(address: str | None, *, num_cpus: int | None = None,
            object_store_memory: int | None = LOCAL_OBJECT_STORE_BYTES) -> Connection:
    """Start Ray on this machine (`address` None) or join the cluster at `address` (`auto`,
    `HOST:PORT` or `ray://HOST:10001`); an already initialised Ray is used as it is. A Ray
    started here is watched by a reaper process that ends all of it when this process exits or
    dies (see tuilabel/ray_reaper.py). Returns the Connection to close at the end. Raises
    InputError when Ray cannot start or the cluster cannot be reached."""
    ray = import_ray()
    _quiet_ray()
    if ray.is_initialized():
        return Connection(started=False)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    common: dict[str, Any] = {
        "include_dashboard": False,
        "logging_level": logging.INFO if os.environ.get("TUILABEL_DEBUG") else logging.ERROR,
        "log_to_driver": bool(os.environ.get("TUILABEL_DEBUG")),
        "runtime_env": {"env_vars": {"TF_CPP_MIN_LOG_LEVEL": "2"}},
    }
    reaper = None
    try:
        if address is None:
            reaper = _start_reaper()
            # A Ray of our own serves this machine only: bind it to loopback, not to the
            # machine's network address, so nothing of it is reachable from elsewhere.
            ray.init(num_cpus=num_cpus, object_store_memory=object_store_memory,
                     _node_ip_address="127.0.0.1", **common)
        else:
            common["runtime_env"]["py_modules"] = [package_dir()]
            ray.init(address=address, **common)
    except BaseException as exc:
        Connection(started=False, reaper=reaper).close()
        if isinstance(exc, TuilabelError) or not isinstance(exc, Exception):
            raise
        # ConnectionError, ValueError, RuntimeError from Ray
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        text = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise InputError(f"cannot start or reach {where}: {text}") from None
    return Connection(started=True, reaper=reaper)


def _start_reaper() -> subprocess.Popen[bytes] | None:
    """Start tuilabel/ray_reaper.py for a Ray about to be started by this process. None where
    it cannot run (not Linux, or the interpreter cannot be started): Ray's own clean-up is
    then all there is."""
    if not os.path.isdir("/proc/self"):
        return None
    try:
        return subprocess.Popen(
            [sys.executable, "-I", str(Path(__file__).with_name("ray_reaper.py")),
             str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
    except OSError:
        return None


def _release(reaper: subprocess.Popen[bytes]) -> None:
    """Close the reaper's stdin (its signal that this process is done with Ray) and wait for
    it to end what is left, at most a little longer than it looks itself."""
    try:
        if reaper.stdin is not None:
            reaper.stdin.close()
        reaper.wait(timeout=GIVE_UP_SECONDS + 5)
    except (OSError, subprocess.TimeoutExpired):
        pass


def _quiet_ray() -> None:
    """Ray Data's progress bars and INFO lines would mix with tuilabel's own on stderr."""
    import ray.data

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    if not os.environ.get("TUILABEL_DEBUG"):
        for name in ("ray", "ray.data"):
            logging.getLogger(name).setLevel(logging.ERROR)


class RayEngine:
    """The `label_photos` engine on Ray Data (see the module docstring).

    `recipe`: how workers build the model (see `model_recipe`); `input_size`: its (height,
    width); `fetcher_options`: keyword arguments of tuilabel.images.Fetcher, built once in each
    worker; `workers`: model actors; `gpus_per_worker`: GPUs each actor holds (0: CPU);
    `cpus_per_worker`: CPUs each actor reserves (TensorFlow still uses every core it sees);
    `fast_decode`: see tuilabel.pipeline.fetch_pixels."""

    def __init__(self, recipe: ModelRecipe, input_size: tuple[int, int], *,
                 fetcher_options: dict[str, Any] | None = None, fetchers: int = 8, workers: int = 1,
                 gpus_per_worker: float = 0, cpus_per_worker: float = 1,
                 chunk: int = CHUNK, fast_decode: bool = False) -> None:
        if workers < 1:
            raise InputError("--workers must be at least 1")
        if gpus_per_worker < 0:
            raise InputError("--gpus-per-worker must be 0 or more")
        self.recipe = recipe
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.fetcher_options = dict(fetcher_options or {})
        self.fetchers = fetchers
        self.workers = workers
        self.gpus_per_worker = gpus_per_worker
        self.cpus_per_worker = cpus_per_worker
        self.chunk = chunk
        self.fast_decode = fast_decode

    def outcomes(self, jobs: Iterator[PhotoJob], *, k: int, batch_size: int,
                 stop: threading.Event) -> Iterator[list[Outcome]]:
        self.check_resources()
        while not stop.is_set():
            rows = [
                {"tweet_id": j.tweet_id, "url": j.url, "fetch_url": j.fetch_url,
                 "media_id": j.media_id or ""}
                for j in _take(jobs, self.chunk)
            ]
            if not rows:
                return
            for batch in self._run(rows, k, batch_size):
                yield batch
                if stop.is_set():
                    return

    def check_resources(self) -> None:
        """InputError when the cluster cannot hold the model actors and still run a fetch
        task (Ray would wait for resources for ever)."""
        ray = import_ray()
        have = ray.cluster_resources()
        cpus, gpus = have.get("CPU", 0.0), have.get("GPU", 0.0)
        need_gpus = self.workers * self.gpus_per_worker
        if need_gpus > gpus:
            raise InputError(f"--workers {self.workers} --gpus-per-worker "
                             f"{self.gpus_per_worker:g} needs {need_gpus:g} GPU(s); the Ray "
                             f"cluster has {gpus:g}")
        need_cpus = self.workers * self.cpus_per_worker + FETCH_CPUS
        if need_cpus > cpus:
            raise InputError(f"--workers {self.workers} needs {need_cpus:g} CPUs (one per model "
                             f"actor, {FETCH_CPUS:g} for fetching); the Ray cluster has {cpus:g}")

    def _run(self, rows: Sequence[dict[str, str]], k: int, batch_size: int
             ) -> Iterator[list[Outcome]]:
        ray = import_ray()
        ds = ray.data.from_items(list(rows), override_num_blocks=-(-len(rows) // batch_size))
        # No max_retries here: Ray Data's default (-1, retry for ever) is what a task whose
        # worker died needs; its photos are only fetched again.
        ds = ds.map_batches(
            _fetch_block, batch_size=None, num_cpus=FETCH_CPUS,
            fn_kwargs={"fetcher_options": self.fetcher_options, "size": self.input_size,
                       "threads": self.fetchers, "fast": self.fast_decode},
        )
        ds = ds.map_batches(
            _Predictor, batch_size=batch_size,
            compute=ray.data.ActorPoolStrategy(size=self.workers),
            fn_constructor_kwargs={"recipe": self.recipe, "k": k},
            num_cpus=self.cpus_per_worker, num_gpus=self.gpus_per_worker or None,
        )
        # Re-batched to `batch_size` rows: one transaction per batch, as the local engine.
        batches = iter(ds.iter_batches(batch_size=batch_size, batch_format="numpy",
                                       prefetch_batches=1))
        try:
            while True:
                try:
                    batch = next(batches)
                except StopIteration:
                    return
                except Exception as exc:
                    raise _worker_error(exc) from None
                yield _outcomes(batch)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()


@contextmanager
def ray_engine(classifier: Any, *, model: str, weights: str | None = None,
               classes: str | None = None, precision: str = "float32",
               address: str | None = None, workers: int = 1, gpus_per_worker: float = 0,
               fetchers: int = 8, fast_decode: bool = False) -> Iterator[RayEngine]:
    """The engine for `label --engine ray`, given the classifier the driver loaded from
    (`model`, `weights`, `classes`, `precision`): starts Ray here or joins `address`, ships
    the model's files when joining a cluster, and shuts down the Ray it started on exit."""
    connection = connect(address)
    try:
        recipe = model_recipe(model, weights, classes, precision, classifier,
                              ship=address is not None)
        yield RayEngine(recipe, classifier.input_size, fetchers=fetchers,
                        fetcher_options={"pool_size": max(fetchers, 10)}, workers=workers,
                        gpus_per_worker=gpus_per_worker, fast_decode=fast_decode)
    finally:
        connection.close()


def _take(jobs: Iterator[PhotoJob], n: int) -> Iterator[PhotoJob]:
    for _, job in zip(range(n), jobs, strict=False):
        yield job


def _worker_error(exc: BaseException) -> TuilabelError:
    """The user's line for a failed Ray run: a worker's ModelError as the local engine says it,
    else what Ray said, shortened."""
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, TuilabelError):
            return e
        stack.extend([getattr(e, "cause", None), e.__cause__, e.__context__])
        # A RayTaskError's own class is made on the fly; its text names the cause's type.
        text = str(e)
        marker = "ModelError: "
        if marker in text:
            line = text[text.rindex(marker) + len(marker):].strip().splitlines()
            if line:
                return ModelError(line[0])
    text = " ".join(str(exc).split())
    return TuilabelError(f"the Ray run failed: {text[:300] or type(exc).__name__}")
