"""Benchmark labeling at scale: Ray's overhead on one machine, the driver's write rate, precision.

Why: `label --engine ray` spreads the model over a cluster's machines, but one driver writes
every result; this script measures, in one run:

  1. the same photos labeled by the local engine and by `--engine ray` on a Ray started on this
     machine (alternated, `--rounds` times), photos/s in steady state (from the first batch
     written to the last) and end to end (Ray's start-up and the actor's model load included);
     target: Ray at most 15% slower in steady state;
  2. how fast the driver writes results (`label_photos`' writer: one transaction per batch of
     16, top-5 per photo) into SQLite and into MariaDB, rows/s, and so how many machines
     labeling with VGG16 at --vgg16-rate photos/s one driver can keep up with;
  3. `--precision`: pure inference photos/s of a model with real weights (the bundled
     efficientnet_lite0) in float32, bfloat16 and mixed_float16, and the share of inputs whose
     top-1 agrees with float32 (target at least 99%), over real photos (sample_data/photos and
     scikit-image's data photos, each also mirrored and cropped twice), each reduced precision
     alone and with its near ties computed again in float32 (tuilabel.model.RECHECK_MARGIN,
     what `label` does); and --speed-model's (VGG16's) speed in each precision.

Run: .venv/bin/python scripts/bench_scale.py [--model vgg16] [--photos 320] [--rounds 2]
     [--mysql mysql://root@127.0.0.1/] [--skip ray,write,precision]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _bench_label():
    path = REPO / "scripts" / "bench_label.py"
    spec = importlib.util.spec_from_file_location("bench_label", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(model: str, precision: str = "float32"):
    from tuilabel.model import load_classifier

    if model.startswith(("vgg", "resnet", "mobilenet", "efficientnet_b", "inception")):
        return load_classifier(model, weights="none", precision=precision)
    return load_classifier(model, precision=precision)


class Clock:
    """Progress callback: when the first and the last batch were written."""

    def __init__(self) -> None:
        self.first: tuple[float, int] | None = None
        self.last: tuple[float, int] | None = None

    def __call__(self, p) -> None:
        now = (time.perf_counter(), p.labeled)
        if self.first is None and p.labeled:
            self.first = now
        self.last = now

    def steady(self) -> float:
        if not self.first or not self.last or self.last[0] <= self.first[0]:
            return float("nan")
        return (self.last[1] - self.first[1]) / (self.last[0] - self.first[0])


def one_run(engine_name: str, clf, model: str, urls: list[str], tmp: Path, batch: int):
    from tuilabel.images import Fetcher
    from tuilabel.pipeline import PhotoJob, label_photos
    from tuilabel.store import open_store

    jobs = [PhotoJob(f"t{i}", u, u) for i, u in enumerate(urls)]
    clock = Clock()
    db = tmp / f"{engine_name}-{uuid.uuid4().hex[:6]}.db"
    start = time.perf_counter()
    with open_store(db) as store:
        if engine_name == "local":
            with Fetcher(cache_dir=None) as fetcher:
                s = label_photos(store, clf, jobs, fetcher=fetcher, batch_size=batch,
                                 progress=clock, handle_sigint=False)
        else:
            from tuilabel import ray_engine

            recipe = ray_engine.model_recipe(model, "none" if model.startswith("vgg") else None,
                                             None, "float32", clf, ship=False)
            runner = ray_engine.RayEngine(recipe, clf.input_size,
                                          fetcher_options={"cache_dir": None})
            s = label_photos(store, clf, jobs, batch_size=batch, progress=clock,
                             handle_sigint=False, engine=runner)
    assert s.labeled == len(jobs), s.lines()
    return clock.steady(), len(jobs) / (time.perf_counter() - start)


def bench_ray(args, tmp: Path) -> None:
    import ray

    bl = _bench_label()
    photos = bl.make_photos(48)
    server = bl.PhotoServer(photos, args.latency)
    clf = load(args.model)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    t = time.perf_counter()
    temp_dir = tempfile.mkdtemp(prefix="bsray", dir="/tmp")  # short: Ray's socket paths
    ray.init(num_cpus=os.cpu_count(), object_store_memory=1 << 30, include_dashboard=False,
             _node_ip_address="127.0.0.1",
             log_to_driver=False, _temp_dir=temp_dir,
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})
    from tuilabel.ray_engine import _quiet_ray

    _quiet_ray()
    print(f"ray.init on this machine: {time.perf_counter() - t:.1f} s", flush=True)
    ratios = []
    try:
        for r in range(args.rounds):
            first = r * 2 * args.photos
            urls_local = [server.url(first + i) for i in range(args.photos)]
            urls_ray = [server.url(first + args.photos + i) for i in range(args.photos)]
            local_steady, local_e2e = one_run("local", clf, args.model, urls_local, tmp,
                                              args.batch_size)
            ray_steady, ray_e2e = one_run("ray", clf, args.model, urls_ray, tmp, args.batch_size)
            ratios.append(ray_steady / local_steady)
            print(f"round {r + 1}: {args.model}, {args.photos} photos, batch {args.batch_size}: "
                  f"local {local_steady:6.2f} photos/s steady ({local_e2e:6.2f} end to end), "
                  f"ray {ray_steady:6.2f} steady ({ray_e2e:6.2f} end to end, actor start-up "
                  f"included): ray = {ray_steady / local_steady:.0%} of local", flush=True)
    finally:
        ray.shutdown()
        server.close()
        shutil.rmtree(temp_dir, ignore_errors=True)
    print(f"median: ray steady state = {statistics.median(ratios):.0%} of the local engine "
          f"(target >= 85%)", flush=True)


def bench_writes(args, tmp: Path) -> None:
    from tuilabel.pipeline import LabelSummary, Outcome, PhotoJob, _Writer
    from tuilabel.store import open_store

    rng = np.random.default_rng(0)
    labels = [f"class_{i}" for i in range(1000)]
    batches = []
    for b in range(args.write_rows // 16):
        batch = []
        for i in range(16):
            n = b * 16 + i
            url = f"https://pbs.twimg.com/media/{uuid.uuid4().hex}.jpg"
            scores = np.sort(rng.dirichlet(np.ones(5)))[::-1]
            pred = tuple((labels[int(j)], float(s)) for j, s in
                         zip(rng.choice(1000, 5, replace=False), scores, strict=True))
            batch.append(Outcome(PhotoJob(str(10**17 + n), url, url, str(n)), pred))
        batches.append(batch)
    targets = [("SQLite", str(tmp / "writes.db"))]
    if args.mysql:
        targets.append(("MariaDB", args.mysql.rstrip("/") + f"/bench_scale_{uuid.uuid4().hex[:8]}"))
    for name, url in targets:
        with open_store(url) as store:
            pending = {(o.job.tweet_id, o.job.url) for b in batches for o in b}
            writer = _Writer(store, "vgg16", LabelSummary(model="vgg16"), pending, None,
                             lambda: None)
            start = time.perf_counter()
            for batch in batches:
                writer.write(batch)
            seconds = time.perf_counter() - start
            rows = writer.summary.labeled
            rate = rows / seconds
            print(f"driver writes into {name}: {rows} rows in {seconds:.2f} s = {rate:,.0f} "
                  f"rows/s (batches of 16, top-5): one driver keeps up with "
                  f"{rate / args.vgg16_rate:,.0f} machines labeling VGG16 at "
                  f"{args.vgg16_rate} photos/s each", flush=True)
        if name == "MariaDB":
            drop_database(url)


def drop_database(url: str) -> None:
    from urllib.parse import urlsplit

    import pymysql

    parts = urlsplit(url)
    conn = pymysql.connect(host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
                           user=parts.username or "root", password=parts.password or "")
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{parts.path.strip('/')}`")
    conn.close()


def real_photos() -> list[Path]:
    """Photos of real things: sample_data/photos and scikit-image's data photos, if installed."""
    folders = [REPO / "sample_data" / "photos"]
    try:
        import skimage

        folders.append(Path(skimage.__file__).parent / "data")
    except ImportError:
        pass
    return sorted(p for d in folders if d.is_dir() for p in d.iterdir()
                  if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def precision_inputs(size: tuple[int, int]) -> np.ndarray:
    """Each real photo as the model sees it, plus its mirror image and two crops (the middle
    and top-left 70%): four inputs per photo."""
    from PIL import Image, ImageOps

    from tuilabel.images import decode_image

    out = []
    for path in real_photos():
        try:
            img = decode_image(path.read_bytes())
        except Exception:
            continue
        w, h = img.size
        variants = [img, ImageOps.mirror(img),
                    img.crop((int(w * .15), int(h * .15), int(w * .85), int(h * .85))),
                    img.crop((0, 0, int(w * .7), int(h * .7)))]
        for v in variants:
            v = v.resize((size[1], size[0]), Image.Resampling.NEAREST)
            out.append(np.asarray(v, dtype=np.float32))
    return np.stack(out)


def _rate(clf, x: np.ndarray, batch: int, rounds: int = 2) -> tuple[float, np.ndarray]:
    """Best of `rounds` passes over x in batches: photos/s, and the probabilities."""
    clf.probabilities(x[:batch])  # warm-up: tracing
    best, probs = 0.0, np.empty(0)
    for _ in range(rounds):
        start = time.perf_counter()
        probs = np.concatenate([clf.probabilities(x[i:i + batch])
                                for i in range(0, len(x), batch)])
        best = max(best, len(x) / (time.perf_counter() - start))
    return best, probs


def bench_precision(args) -> None:
    """Each --precision of a model with real weights: its speed and top-1 agreement with
    float32, alone and with the near ties computed again in float32 (what `label` does);
    then VGG16's speed in each (random weights: the same arithmetic as the real ones, so the
    speed holds; the agreement would mean nothing)."""
    base = load(args.model)
    x = precision_inputs(base.input_size)
    rate32, p32 = _rate(base, x, args.batch_size)
    top32 = p32.argmax(axis=1)
    print(f"precision       float32: {args.model} {rate32:6.2f} photos/s (batch "
          f"{args.batch_size}, {len(x)} inputs from {len(x) // 4} real photos)", flush=True)
    for precision in ("bfloat16", "mixed_float16"):
        clf = load(args.model, precision)
        recheck, clf.recheck = clf.recheck, None
        raw_rate, raw = _rate(clf, x, args.batch_size)
        clf.recheck = recheck
        clf.rechecked = 0
        rate, probs = _rate(clf, x, args.batch_size, rounds=1)
        print(f"precision {precision:>13}: alone {raw_rate:6.2f} photos/s, top-1 agrees with "
              f"float32 on {np.mean(raw.argmax(axis=1) == top32):.1%}; with near ties "
              f"re-checked in float32 ({clf.rechecked} of {len(x)}, "
              f"{clf.rechecked / len(x):.0%}) {rate:6.2f} photos/s, agrees on "
              f"{np.mean(probs.argmax(axis=1) == top32):.1%}", flush=True)
    if args.speed_model:
        xs = np.random.default_rng(0).uniform(0, 255, (2 * args.batch_size,
                                                       *load(args.speed_model).input_size, 3))
        rates = {}
        for precision in ("float32", "bfloat16", "mixed_float16"):
            clf = load(args.speed_model, precision)
            if precision != "float32":
                clf.recheck = None  # random weights: every photo is a near tie
            rates[precision] = _rate(clf, xs.astype(np.float32), args.batch_size)[0]
        print(f"precision speed, {args.speed_model} (random weights, batch {args.batch_size}): "
              + ", ".join(f"{p} {r:.2f}" for p, r in rates.items()) + " photos/s; "
              f"bfloat16 is {rates['bfloat16'] / rates['float32']:.1f}x float32 alone", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vgg16")
    parser.add_argument("--photos", type=int, default=320,
                        help="photos per run (fewer overstate Ray: it hands batches over late)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--write-rows", type=int, default=16_000)
    parser.add_argument("--vgg16-rate", type=float, default=7.3,
                        help="photos/s one 2-core machine labels with VGG16 (the issue's)")
    parser.add_argument("--mysql", default="mysql://root@127.0.0.1/")
    parser.add_argument("--precision-model", default="efficientnet_lite0",
                        help="a model with real weights (agreement means little on random ones)")
    parser.add_argument("--speed-model", default="vgg16",
                        help="a model whose speed in each precision is measured ('' to skip)")
    parser.add_argument("--skip", default="")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    print(f"# bench_scale {time.strftime('%Y-%m-%d %H:%M')} on {platform.node()}: "
          f"{os.cpu_count()} CPUs, AVX512_BF16 {'yes' if 'avx512_bf16' in flags else 'no'}, "
          f"load average {os.getloadavg()[0]:.1f}, Python {platform.python_version()}",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as d:
        if "write" not in skip:
            bench_writes(args, Path(d))
        if "precision" not in skip:
            bench_precision(argparse.Namespace(**{**vars(args), "model": args.precision_model}))
        if "ray" not in skip:
            bench_ray(args, Path(d))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
