"""`tuilabel score`: rate the model's labels photo by photo, or a grid page at a time, in a
full-screen terminal UI."""

from __future__ import annotations

from typing import Annotated

import typer

from tuilabel.cli.app import app
from tuilabel.cli.common import DbOption, GraphicsMode, ModelFilterOption, Order
from tuilabel.config import config_path


@app.command(help=(
    "Rate each photo's labels in the terminal: j/1 top-1 right, k/2 in the top 5, l/3 none, "
    "x cannot rate, s skip, u undo, b/n back and forward, g grid, t tweet text, z zoom, r ROC, "
    "q quit. "
    "Works over plain SSH. Keys can be remapped in "
    f"{config_path()} ([keys] table, e.g. top1 = [\"j\", \"space\"])."
))
def score(
    db: DbOption = None,
    rater: Annotated[
        str | None,
        typer.Option("--rater", help="Name stored with each rating. Default: your login name.",
                     show_default=False),
    ] = None,
    order: Annotated[
        Order,
        typer.Option("--order", help="Which photos first: random, oldest, uncertain "
                     "(lowest top-1 score first), or class (grouped by top-1 label)."),
    ] = "random",
    model: ModelFilterOption = None,
    overlap: Annotated[
        int,
        typer.Option("--overlap", min=1, help="Ratings wanted per photo from different raters "
                     "(2 or more for agreement figures)."),
    ] = 1,
    grid: Annotated[
        str | None,
        typer.Option("--grid", metavar="CxR",
                     help="Start in the grid view: pages of photos sharing a top-1 label, "
                     "COLUMNSxROWS up to 5x5 (g switches views; the grid is 3x3 without it).",
                     show_default=False),
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option("--label", help="Only photos whose top-1 label matches this shell-style "
                     "glob (* and ?, case-insensitive); repeat for several.",
                     show_default=False),
    ] = None,
    min_score: Annotated[
        float | None,
        typer.Option("--min-score", help="Only photos whose top-1 score is at least this "
                     "(0 to 1).", show_default=False),
    ] = None,
    max_score: Annotated[
        float | None,
        typer.Option("--max-score", help="Only photos whose top-1 score is at most this "
                     "(0 to 1).", show_default=False),
    ] = None,
    blind: Annotated[
        bool,
        typer.Option("--blind", help="Hide the model's scores and bars (no anchoring); the "
                     "ratings are stored as blind and `export` says so."),
    ] = False,
    truecolor: Annotated[
        bool,
        typer.Option("--truecolor", help="Use 24-bit colour (SSH does not forward COLORTERM; "
                     "TEXTUAL_COLOR_SYSTEM=truecolor does the same)."),
    ] = False,
    graphics: Annotated[
        GraphicsMode | None,
        typer.Option("--graphics", envvar="TUILABEL_GRAPHICS", case_sensitive=False,
                     help="How to draw photos: auto (ask the terminal), kitty "
                     "(Kitty graphics), sixel, or halfblock (coloured cells). Default: auto.",
                     show_default=False),
    ] = None,
) -> None:
    from tuilabel.config import load_keymap
    from tuilabel.tui.run import run_score
    from tuilabel.tui.settings import ScoreSettings, parse_grid

    settings = ScoreSettings(
        db=db, rater=rater, order=order, model=model, overlap=overlap, truecolor=truecolor,
        grid=parse_grid(grid) if grid is not None else None, labels=tuple(label or ()),
        min_score=min_score, max_score=max_score, blind=blind, graphics=graphics,
        keys=load_keymap(),
    )
    summary = run_score(settings)
    if summary:
        print(summary)
