"""`tuilabel label`: run an image classifier over the photos of tweet records (or a folder or
list of images) and store each photo's top-k labels. The work is `tuilabel.pipeline.run_label`;
TensorFlow is imported only once the command runs."""

from __future__ import annotations

import functools
from typing import Annotated, Any, get_args

import typer

from tuilabel.cli.app import app
from tuilabel.cli.common import (
    DbOption,
    Engine,
    Precision,
    err,
    refuse_output_onto_database,
    refuse_output_onto_inputs,
)
from tuilabel.errors import InputError


@app.command()
def label(
    tweets: Annotated[
        list[str] | None,
        typer.Argument(
            help="Tweet JSON files, folders or archives (.gz .bz2 .zip .tar), or - for stdin.",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    model: Annotated[
        str,
        typer.Option(
            "-m", "--model",
            help="efficientnet_lite0 (bundled, no download), a keras.applications ImageNet "
            "model (vgg16, resnet50, mobilenet_v2, ...) or your own Keras model file "
            "(.keras/.h5) taking RGB 0..255.",
        ),
    ] = "vgg16",
    k: Annotated[int, typer.Option("-k", help="Labels stored per photo (1-10).")] = 5,
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Photos per model call and per transaction.")
    ] = 16,
    fetchers: Annotated[
        int, typer.Option("--fetchers", help="Threads downloading and decoding photos (1-256).")
    ] = 8,
    csv: Annotated[
        str | None,
        typer.Option("--csv", help="Also append the original CSV rows "
                     "(tweet_id,link,label_1,score_1,...) to FILE, or - for stdout.",
                     show_default=False),
    ] = None,
    images: Annotated[
        str | None,
        typer.Option("--images", help="Label a folder of image files, or a text file of image "
                     "paths/URLs (one per line); the name stands where the tweet id would.",
                     show_default=False),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option("--weights", help="Local weights file instead of Keras' download cache; "
                     "'none' builds random weights (meaningless labels: speed tests only).",
                     show_default=False),
    ] = None,
    classes: Annotated[
        str | None,
        typer.Option("--classes", help="Class names of your own model: one per line "
                     "(default: MODEL.classes.txt next to the model file).", show_default=False),
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option("--retry-failed", help="Retry photos that failed on earlier runs.")
    ] = False,
    thumbnails: Annotated[
        bool, typer.Option("--thumbnails", help="Also label video and GIF thumbnails.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Stop at the first bad input record (exit 1).")
    ] = False,
    fast_decode: Annotated[
        bool, typer.Option("--fast-decode", help="Decode large JPEGs at a reduced scale: "
                           "faster, but the model sees other pixels than Keras' load_img "
                           "gives, and may answer differently.")
    ] = False,
    engine: Annotated[
        Engine, typer.Option("--engine", help="Where the work runs: local (threads and the model "
                          "in this process) or ray (Ray Data; pip install 'tuilabel[ray]').")
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="With --engine ray: join this Ray cluster (auto, "
                     "HOST:PORT or ray://HOST:10001) instead of starting Ray here.",
                     show_default=False),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", help="With --engine ray: model actors, each loading "
                          "the model once.")
    ] = 1,
    gpus_per_worker: Annotated[
        float, typer.Option("--gpus-per-worker", help="With --engine ray: GPUs each model "
                            "actor holds (0: CPU only).")
    ] = 0,
    precision: Annotated[
        Precision,
        typer.Option("--precision", help="Model arithmetic: float32, mixed_float16 (GPU) "
                     "or bfloat16 (GPU, or CPUs with AVX512_BF16).")
    ] = "float32",
) -> None:
    """Label every photo with the model's top-k classes, straight into the store (resumable:
    photos already labeled by the same model are skipped)."""
    from tuilabel.pipeline import run_label

    refuse_output_onto_database(csv, db, "--csv")
    refuse_output_onto_inputs(csv, [*(tweets or []), *([images] if images else [])], "--csv")
    summary = run_label(
        tweets or [], db=db, model=model, k=k, batch_size=batch_size, fetchers=fetchers,
        csv_path=csv, images=images, weights=weights, classes=classes,
        retry_failed=retry_failed, thumbnails=thumbnails, strict=strict,
        fast_decode=fast_decode, precision=precision,
        engine_factory=_engine_factory(engine, ray_address, workers, gpus_per_worker, model,
                                       weights, classes, precision, fetchers, fast_decode),
    )
    for line in summary.lines():
        err(line)
    if summary.interrupted:
        raise typer.Exit(130)


ENGINES: tuple[str, ...] = get_args(Engine)


def _engine_factory(engine: str, address: str | None, workers: int, gpus_per_worker: float,
                    model: str, weights: str | None, classes: str | None, precision: str,
                    fetchers: int, fast_decode: bool) -> Any:
    """None for the local engine; for Ray, the factory run_label calls with its classifier
    (Ray is imported here first, so that a missing extra is one line before any start-up)."""
    if engine not in ENGINES:
        raise InputError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "local":
        if address is not None or workers != 1 or gpus_per_worker:
            raise InputError("--ray-address, --workers and --gpus-per-worker need --engine ray")
        return None
    if workers < 1:
        raise InputError("--workers must be at least 1")
    if gpus_per_worker < 0:
        raise InputError("--gpus-per-worker must be 0 or more")
    from tuilabel import ray_engine

    ray_engine.import_ray()
    return functools.partial(
        ray_engine.ray_engine, model=model, weights=weights, classes=classes,
        precision=precision, address=address, workers=workers,
        gpus_per_worker=gpus_per_worker, fetchers=fetchers, fast_decode=fast_decode)
