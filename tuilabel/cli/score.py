"""`tuilabel score`: rate the model's labels photo by photo in a full-screen terminal UI."""

from __future__ import annotations

from typing import Annotated

import typer

from tuilabel.cli.app import app
from tuilabel.cli.common import DbOption, ModelFilterOption


@app.command()
def score(
    db: DbOption = None,
    rater: Annotated[
        str | None,
        typer.Option("--rater", help="Name stored with each rating. Default: your login name.",
                     show_default=False),
    ] = None,
    order: Annotated[
        str,
        typer.Option("--order", help="Which photos first: random, oldest, or uncertain "
                     "(lowest top-1 score first)."),
    ] = "random",
    model: ModelFilterOption = None,
    overlap: Annotated[
        int,
        typer.Option("--overlap", min=1, help="Ratings wanted per photo from different raters "
                     "(2 or more for agreement figures)."),
    ] = 1,
    truecolor: Annotated[
        bool,
        typer.Option("--truecolor", help="Use 24-bit colour (SSH does not forward COLORTERM; "
                     "TEXTUAL_COLOR_SYSTEM=truecolor does the same)."),
    ] = False,
    graphics: Annotated[
        str | None,
        typer.Option("--graphics", help="How to draw photos: auto (ask the terminal), kitty "
                     "(Kitty graphics), sixel, or halfblock (coloured cells). Default: "
                     "$TUILABEL_GRAPHICS, else auto.", show_default=False),
    ] = None,
) -> None:
    """Rate each photo's labels in the terminal: j top-1 right, k in the top 5, l none,
    x cannot rate, s skip, u undo, z zoom, r ROC, q quit. Works over plain SSH."""
    from tuilabel.tui.run import run_score

    run_score(db, rater=rater, order=order, model=model, overlap=overlap, truecolor=truecolor,
              graphics=graphics)
