"""`tuilabel label`: run an image classifier over the photos of tweet records (or a folder or
list of images) and store each photo's top-k labels. The work is `tuilabel.pipeline.run_label`;
TensorFlow is imported only once the command runs."""

from __future__ import annotations

from typing import Annotated

import typer

from tuilabel.cli.app import app
from tuilabel.cli.common import (
    DbOption,
    err,
    refuse_output_onto_database,
    refuse_output_onto_inputs,
)


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
        fast_decode=fast_decode,
    )
    for line in summary.lines():
        err(line)
    if summary.interrupted:
        raise typer.Exit(130)
