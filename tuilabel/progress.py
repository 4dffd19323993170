"""A progress bar on stderr while stderr is a terminal, and nothing at all otherwise.

Built on rich.progress (which comes with Textual), imported only when a bar is shown, so
commands stay quiet and fast in pipes, logs and tests.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class _Bar:
    def __init__(self, progress: Any | None, task: Any | None) -> None:
        self._progress = progress
        self._task = task

    def update(self, *, completed: float | None = None, advance: float | None = None,
               total: float | None = None, status: str | None = None) -> None:
        """Move the bar (no-op when no bar is shown). `status` is a short extra text."""
        if self._progress is None:
            return
        kwargs: dict[str, Any] = {}
        if completed is not None:
            kwargs["completed"] = completed
        if advance is not None:
            kwargs["advance"] = advance
        if total is not None:
            kwargs["total"] = total
        if status is not None:
            kwargs["status"] = status
        self._progress.update(self._task, **kwargs)


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


@contextmanager
def progress_bar(description: str, *, total: float | None = None, unit: str = "items",
                 scale: float = 1.0, enabled: bool | None = None,
                 transient: bool = True) -> Iterator[_Bar]:
    """A bar with count, rate (`unit`/s, the count's rate divided by `scale`), elapsed time
    and ETA (when `total` is known). `transient`: the bar is erased when the work ends (every
    command prints its own summary after it), instead of staying on screen, finished."""
    if enabled is None:
        enabled = stderr_is_terminal()
    if not enabled:
        yield _Bar(None, None)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from tuilabel.text import visible

    # The description and status name files from the data: shown as text, never as rich
    # markup or terminal escapes.
    columns = [
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        TaskProgressColumn() if total else MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}", markup=False),
    ]
    progress = Progress(*columns, console=Console(stderr=True), transient=transient)
    with progress:
        task = progress.add_task(visible(description), total=total, status="", rate="")
        bar = _RateBar(progress, task, unit, scale)
        yield bar


class _RateBar(_Bar):
    """Also shows the rate in the bar's own unit (rich's speed column has no unit)."""

    def __init__(self, progress: Any, task: Any, unit: str, scale: float) -> None:
        super().__init__(progress, task)
        self._unit = unit
        self._scale = scale

    def update(self, **kwargs: Any) -> None:
        super().update(**kwargs)
        assert self._progress is not None
        speed = self._progress.tasks[self._task].speed or 0.0
        self._progress.update(self._task, rate=f"{speed / self._scale:,.1f} {self._unit}/s")
