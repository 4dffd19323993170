"""`tuilabel collect`: keep the tweets that have photos, from files, folders, archives or stdin."""

from __future__ import annotations

from typing import Annotated

import typer

from tuilabel.cli.app import app
from tuilabel.cli.common import err, refuse_output_onto_database


@app.command()
def collect(
    paths: Annotated[
        list[str],
        typer.Argument(
            help=(
                "Files, folders (read recursively), .gz/.bz2/.xz, .zip, .tar/.tar.gz archives, "
                "or '-' for stdin, holding tweets as JSON Lines, JSON (arrays, saved API "
                "responses, pretty-printed), the account archive's tweets.js or twarc-csv CSV; "
                "UTF-8, UTF-16 or UTF-32."
            ),
            show_default=False,
        ),
    ],
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Write kept records here (default: stdout).",
                     show_default=False),
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option("--sample", help="Keep about 1 in N records (decided before parsing).",
                     show_default=False),
    ] = None,
    fraction: Annotated[
        float | None,
        typer.Option("--fraction", help="Keep about this fraction of records (0 < F <= 1).",
                     show_default=False),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", help="Stop after keeping N records.", show_default=False),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Seed for --sample/--fraction: the same seed and input "
                     "give the same sample.", show_default=False),
    ] = None,
    thumbnails: Annotated[
        bool,
        typer.Option("--thumbnails", help="Count video and GIF thumbnails as photos."),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Stop with exit code 1 at the first bad line, "
                     "damaged archive, BOM inside a file or file in no shape tuilabel reads, "
                     "and parse every line."),
    ] = False,
) -> None:
    """Keep the tweets that have photos: every record with at least one photo, unchanged, one
    per line. Every format of tuilabel.tweets.FORMATS is understood: API v1.1 and v2 (twarc,
    twarc2, tweepy), Activity Streams (Gnip), the account archive, snscrape (every version) and
    twscrape. A summary goes to stderr."""
    from tuilabel.progress import stderr_is_terminal
    from tuilabel.tweets import ReadStats, collect_to_path, sample_fraction

    refuse_output_onto_database(output, None, "--output")
    stats = ReadStats()
    try:
        collect_to_path(
            paths, output, fraction=sample_fraction(sample, fraction), limit=limit, seed=seed,
            thumbnails=thumbnails, strict=strict, progress=stderr_is_terminal(), stats=stats,
        )
    except KeyboardInterrupt:
        err(f"collect (interrupted): {stats.summary()}")
        raise
    err(f"collect: {stats.summary()}")
