"""What a rater can say about a photo: the one table of verdicts.

Each verdict's stored value, default keys, word, colour, help text and export code live here and
nowhere else. The store's allowed values (`store.base.VERDICTS`), the score app's key bindings,
its help screen and buttons, the grid's tiles, `stats` and the analysis all read this table, so
adding or renaming a verdict is one edit. Keys can be remapped per user (see `tuilabel.config`).

Plain Python, imported by the core: no Textual, no Typer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """One verdict a rater can give.

    `value` is what the store keeps; `keys` the default keys in the single view (Textual key
    names); `word` how the screen says it; `colour` a Rich colour; `help` one line for the help
    screen; `label_id` the original export's code (None: the TSV export cannot express it);
    `analysed` whether it enters the ROC and agreement figures (`unrateable` does not: a broken
    photo says nothing about the model)."""

    value: str
    keys: tuple[str, ...]
    word: str
    short: str
    colour: str
    help: str
    label_id: int | None
    analysed: bool = True


#: The verdicts, in their natural order (best for the model first). The grid cycles a tile
#: through them in this order.
VERDICT_TABLE: tuple[Verdict, ...] = (
    Verdict("top1", ("j", "1"), "top-1 correct", "top-1", "green",
            "top-1 correct: the first label is right", 0),
    Verdict("top5", ("k", "2"), "in the top 5", "top-5", "dodger_blue1",
            "a correct label is in the top 5, not first", 1),
    Verdict("none", ("l", "3"), "none correct", "none", "red",
            "none of the labels is correct", 2),
    Verdict("unrateable", ("x",), "cannot rate", "broken", "yellow",
            "cannot rate: broken photo (never in the ROC)", None,
            analysed=False),
)

#: The stored values, in table order.
VERDICT_VALUES: tuple[str, ...] = tuple(v.value for v in VERDICT_TABLE)

BY_VALUE: dict[str, Verdict] = {v.value: v for v in VERDICT_TABLE}

#: The original pipeline's export column `label_id` (0 = top1, 1 = top5, 2 = none).
VERDICT_TO_LABEL_ID: dict[str, int] = {
    v.value: v.label_id for v in VERDICT_TABLE if v.label_id is not None
}

#: The verdicts that enter the analysis, in order; their index is the analysis code.
ANALYSED: tuple[str, ...] = tuple(v.value for v in VERDICT_TABLE if v.analysed)


def verdict(value: str) -> Verdict:
    """The table row of a stored value; raises KeyError for an unknown one."""
    return BY_VALUE[value]


def next_verdict(value: str) -> str:
    """The verdict after `value` in table order, wrapping round (the grid's digit cycle:
    top1 -> top5 -> none -> unrateable -> top1)."""
    i = VERDICT_VALUES.index(value)
    return VERDICT_VALUES[(i + 1) % len(VERDICT_VALUES)]
