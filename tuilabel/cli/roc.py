"""`tuilabel roc`: the ROC of the top-1 score against the ratings, drawn in the terminal.

Thin: options here, the work in `tuilabel.analysis.report.run` and `tuilabel.plots`. Heavy
modules (numpy, scikit-learn, plotext) are imported inside the command so `--help` stays fast;
nothing here imports TensorFlow or Textual.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tuilabel.cli.app import app
from tuilabel.cli.common import (
    DbOption,
    ModelFilterOption,
    Positive,
    refuse_output_onto_database,
    refuse_output_onto_inputs,
)


@app.command()
def roc(
    db: DbOption = None,
    from_tsv: Annotated[
        Path | None,
        typer.Option("--from", help="Read an export in the original TSV format instead of a "
                     "store (header; label_id 0=top1, 1=top5, 2=none).", show_default=False),
    ] = None,
    rater: Annotated[
        str | None,
        typer.Option("--rater", help="Use this rater's verdicts (default: the majority "
                     "verdict per image; ties go to the verdict worse for the model).",
                     show_default=False),
    ] = None,
    model: ModelFilterOption = None,
    positive: Annotated[
        Positive,
        typer.Option("--positive", help="top1: the top-1 label is right (scored by score1); "
                     "top5: a right label is within the top 5 (scored by score1+...+score5)."),
    ] = "top1",
    threshold: Annotated[
        float | None,
        typer.Option("--threshold", help="Report the confusion matrix at this threshold "
                     "(default: Youden's J).", show_default=False),
    ] = None,
    n_bootstrap: Annotated[
        int,
        typer.Option("--bootstrap", help="Bootstrap resamples for the 95% intervals and the "
                     "held-out accuracy; 0 turns it off."),
    ] = 1000,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Random seed of the bootstrap (reproducible intervals).",
                     show_default=False),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print every number as JSON on stdout instead of the "
                     "report."),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Also save the plain-text report (no colour codes) "
                     "to this file.", show_default=False),
    ] = None,
    width: Annotated[
        int | None,
        typer.Option("--width", help="Plot width in columns (default: the terminal's).",
                     show_default=False, min=30),
    ] = None,
    height: Annotated[
        int | None,
        typer.Option("--height", help="ROC plot height in rows (default: the terminal's).",
                     show_default=False, min=10),
    ] = None,
    target_precision: Annotated[
        list[float] | None,
        typer.Option("--target-precision", help="A precision to find the lowest threshold for "
                     "(repeatable; default 0.8, 0.9, 0.95 and 0.99).", show_default=False),
    ] = None,
    min_label_photos: Annotated[
        int,
        typer.Option("--min-label-photos", help="Labels with fewer rated photos are pooled in "
                     "the per-label precision table."),
    ] = 30,
    plan: Annotated[
        bool,
        typer.Option("--plan", help="Print only how many ratings would narrow the 95% "
                     "intervals of the AUC and of the precision to --plan-width."),
    ] = False,
    plan_width: Annotated[
        float,
        typer.Option("--plan-width", help="Full width of the 95% intervals the plan aims at."),
    ] = 0.05,
) -> None:
    """Draw the ROC curve of the top-1 score against the ratings; find the threshold to trust."""
    import json
    import shutil
    import sys

    from tuilabel.analysis.report import report_to_dict, run
    from tuilabel.plots import render_plan, render_report
    from tuilabel.progress import progress_bar

    if from_tsv is None:
        refuse_output_onto_database(output, db, "--output")
    else:
        refuse_output_onto_inputs(output, [from_tsv], "--output")
    with progress_bar("roc", total=None, unit="resamples") as bar:
        report = run(db=db, tsv=str(from_tsv) if from_tsv is not None else None, rater=rater,
                     model=model, positive=positive, threshold=threshold,
                     n_bootstrap=n_bootstrap, seed=seed,
                     on_stage=lambda text: bar.update(status=text),
                     on_bootstrap=lambda done, total: bar.update(
                         completed=done, total=total, status="bootstrap"),
                     targets=tuple(target_precision or ()), min_label_photos=min_label_photos,
                     plan_width=plan_width)
    size = shutil.get_terminal_size((100, 30))
    w = width or max(30, size.columns - 1)
    h = height or max(10, min(size.lines - 2, w // 2))
    if output is not None:
        from tuilabel.outfile import atomic_output

        with atomic_output(output) as out:  # whole or not at all
            out.write(render_report(report, w, h, color=False))
    if as_json:
        sys.stdout.write(json.dumps(report_to_dict(report), allow_nan=False) + "\n")
    elif plan:
        sys.stdout.write(render_plan(report))
    else:
        color = sys.stdout.isatty()
        sys.stdout.write(render_report(report, w, h, color=color))
