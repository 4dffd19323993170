"""`tuilabel score`'s options as one settings object, built once by the CLI and passed down.

The CLI parses the options into a `ScoreSettings`; `run_score`, the warm start, the app factory
and the app read their fields from it instead of each re-spelling rater, order, model and
overlap (posting's `Settings`). Plain Python: no Textual import.
"""

from __future__ import annotations

import getpass
import math
import re
from dataclasses import dataclass, field, replace

from tuilabel.config import KeyMap
from tuilabel.errors import InputError
from tuilabel.store.base import ORDERS, ImageFilter, check_rater, glob_to_like

#: The largest grid: 5 columns by 5 rows.
GRID_MAX = 5


def parse_grid(text: str) -> tuple[int, int]:
    """`CxR` (columns x rows, each 1..GRID_MAX, e.g. `3x3`) as (columns, rows). Raises
    InputError otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text or "")
    if not match:
        raise InputError(f"--grid {text!r}: use COLUMNSxROWS, such as 3x3")
    cols, rows = int(match[1]), int(match[2])
    if not (1 <= cols <= GRID_MAX and 1 <= rows <= GRID_MAX) or cols * rows < 2:
        raise InputError(f"--grid {text}: columns and rows are 1 to {GRID_MAX} "
                         "(at least two tiles)")
    return cols, rows


def default_rater() -> str:
    """The login name (what each rating carries unless --rater is given)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (e.g. a container without passwd)
        raise InputError("cannot tell your login name: pass --rater NAME") from None


@dataclass(frozen=True)
class ScoreSettings:
    """Everything `tuilabel score` was asked for. `check()` returns a validated copy (the
    rater's name resolved), raising InputError for the user's mistakes."""

    db: str | None = None
    rater: str | None = None
    order: str = "random"
    model: str | None = None
    overlap: int = 1
    truecolor: bool = False
    #: How photos are drawn: auto, kitty, sixel or halfblock (None: $TUILABEL_GRAPHICS, else
    #: auto); see tui/graphics.detect.
    graphics: str | None = None
    #: (columns, rows) to start in the grid view; None starts in the single view (`g`
    #: switches; the grid then has DEFAULT_GRID).
    grid: tuple[int, int] | None = None
    labels: tuple[str, ...] = ()
    min_score: float | None = None
    max_score: float | None = None
    blind: bool = False
    keys: KeyMap = field(default_factory=KeyMap)

    DEFAULT_GRID = (3, 3)

    @property
    def where(self) -> ImageFilter | None:
        """The store filter for --label, --min-score and --max-score (None: all photos)."""
        if not self.labels and self.min_score is None and self.max_score is None:
            return None
        return ImageFilter(labels=self.labels, min_score=self.min_score,
                           max_score=self.max_score)

    @property
    def grid_size(self) -> tuple[int, int]:
        """The grid's (columns, rows): --grid, else DEFAULT_GRID."""
        return self.grid or self.DEFAULT_GRID

    def check(self) -> ScoreSettings:
        """A copy with the rater resolved (default: the login name); InputError if an option
        is unusable."""
        if self.order not in ORDERS:
            raise InputError(f"unknown --order {self.order!r}: use one of {', '.join(ORDERS)}")
        if self.overlap < 1:
            raise InputError("--overlap must be at least 1")
        for name, value in (("--min-score", self.min_score), ("--max-score", self.max_score)):
            if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise InputError(f"{name} must be between 0 and 1 (a top-1 score), not {value}")
        if (self.min_score is not None and self.max_score is not None
                and self.min_score > self.max_score):
            raise InputError("--min-score is above --max-score: no photo can qualify")
        for pattern in self.labels:
            if not pattern.strip():
                raise InputError("--label must not be empty")
            try:
                glob_to_like(pattern)
            except ValueError as exc:
                raise InputError(f"--{exc}") from None
        if self.rater is not None and not self.rater.strip():
            raise InputError("--rater must not be empty")
        rater = self.rater.strip() if self.rater else default_rater()
        try:
            check_rater(rater)  # else MySQL would refuse every claim and rating, one by one
        except ValueError as exc:
            raise InputError(f"--{exc}") from None  # "--rater name of N characters; ..."
        return replace(self, rater=rater)

    @property
    def who(self) -> str:
        """The rater's name (after `check()`)."""
        assert self.rater is not None, "ScoreSettings.check() resolves the rater"
        return self.rater
