"""`tuilabel load`, `tuilabel export` and `tuilabel stats`: moving data in and out of the store."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from tuilabel.cli.app import app
from tuilabel.cli.common import (
    DbOption,
    ExportFormat,
    ModelFilterOption,
    RaterOption,
    err,
    refuse_output_onto_database,
)


@app.command()
def load(
    file: Annotated[
        str, typer.Argument(help="Predictions CSV of the original pipeline, or - for stdin.")
    ],
    db: DbOption = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Name of the model that made the predictions.")
    ] = "vgg16",
    strict: Annotated[
        bool, typer.Option("--strict", help="Stop at the first malformed row (exit code 1).")
    ] = False,
) -> None:
    """Load predictions from CSV rows `tweet_id,link,label_1,score_1,...,label_k,score_k`.

    Loading the same file twice adds nothing; malformed rows are reported with their line
    number and skipped.
    """
    from tuilabel.errors import DataError
    from tuilabel.exchange import load_predictions, open_input
    from tuilabel.progress import progress_bar
    from tuilabel.store import open_store

    with open_input(file) as stream, open_store(db) as store:
        size = None if file == "-" else os.path.getsize(file)
        with progress_bar(f"loading {file}", total=size, unit="MB", scale=1e6) as bar:
            buffer = getattr(stream, "buffer", None)

            def moved(rows: int) -> None:
                if buffer is not None and size:
                    bar.update(completed=buffer.tell(), status=f"{rows:,} rows")

            summary = load_predictions(
                stream, store, model=model, strict=strict,
                source="<stdin>" if file == "-" else file, report=err, progress=moved,
            )
    err(summary.line())
    if summary.malformed and not (summary.added or summary.present):
        raise DataError(f"no row of {file} could be loaded: is it the predictions CSV?")


@app.command()
def export(
    db: DbOption = None,
    fmt: Annotated[
        ExportFormat,
        typer.Option(
            "--format", "-f",
            help="tsv: the original export's columns (label_id 0=top1, 1=top5, 2=none); "
                 "csv or jsonl: every field.",
        ),
    ] = "tsv",
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
    rater: RaterOption = None,
    model: ModelFilterOption = None,
) -> None:
    """Export the rated images with their predictions and ratings."""
    from tuilabel.exchange import export_ratings, open_output
    from tuilabel.store import open_store

    refuse_output_onto_database(output, db, "--output")
    with open_store(db, read_only=True) as store, open_output(output) as out:
        summary = export_ratings(store.iter_ratings(rater=rater, model=model), out, fmt)
    note = ""
    if summary.left_out:
        note = (f" ({summary.left_out} 'cannot rate' ratings left out: "
                "the TSV format has no code for them)")
    err(f"exported {summary.written} ratings{note}")


@app.command()
def stats(db: DbOption = None) -> None:
    """Show what the store holds: images by model, failures, ratings by verdict and rater."""
    from tuilabel.stats import format_stats
    from tuilabel.store import open_store

    with open_store(db, read_only=True) as store:
        print(format_stats(store.stats(), store.name))
