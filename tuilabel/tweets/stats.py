"""What reading saw: counts by reason and the first problems with file and line.

One `ReadStats` is filled by the reader and by whoever filters the records after it (`collect`,
`label`), so that a run over a damaged archive ends with one honest summary instead of a
traceback, and `--strict` turns the first problem into a `DataError`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tuilabel.errors import DataError

#: How many problems are kept with file and line (all are counted).
MAX_PROBLEMS = 100


@dataclass
class ReadStats:
    """Counters filled while reading; `summary()` is what `collect` prints on stderr.

    `records_seen` counts every line read (blank ones too), and
    `records_seen == kept + sum(skipped.values())` once reading is done. `files` counts files
    and archive members read. `bytes_read` is what came off the disk (compressed), the measure
    the progress bar uses; `bytes_decoded` is the text after decompression.
    """

    files: int = 0
    records_seen: int = 0
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)
    repaired: Counter = field(default_factory=Counter)
    problems: list[tuple[str, int | None, str]] = field(default_factory=list)
    problems_total: int = 0
    bytes_read: int = 0
    bytes_decoded: int = 0
    strict: bool = False

    def problem(self, source: str, line: int | None, message: str) -> None:
        """Record damage in the input; under --strict, stop with a DataError."""
        self.problems_total += 1
        if self.strict:
            where = f"{source}:{line}" if line is not None else source
            raise DataError(f"{where}: {message} (--strict)")
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append((source, line, message))

    def summary(self, *, max_problems: int = 10) -> str:
        """Files, records, kept, skipped by reason, then the first problems with file:line."""
        skipped = sum(self.skipped.values())
        head = (
            f"{self.files:,} file{'s' if self.files != 1 else ''} read, "
            f"{self.records_seen:,} records seen, {self.kept:,} kept, {skipped:,} skipped"
        )
        if skipped:
            reasons = ", ".join(f"{n:,} {r}" for r, n in sorted(
                self.skipped.items(), key=lambda kv: (-kv[1], kv[0])) if n)
            head += f" ({reasons})"
        head += f"; {_human_bytes(self.bytes_read)} read"
        if self.bytes_decoded != self.bytes_read:
            head += f" ({_human_bytes(self.bytes_decoded)} of text)"
        lines = [head]
        if self.repaired:
            lines.append("repaired: " + ", ".join(
                f"{n:,} {r}" for r, n in sorted(self.repaired.items())))
        if self.problems_total:
            plural = "s" if self.problems_total != 1 else ""
            lines.append(f"{self.problems_total:,} problem{plural}:")
            for source, line, message in self.problems[:max_problems]:
                where = f"{source}:{line}" if line is not None else source
                lines.append(f"  {where}: {message}")
            more = self.problems_total - min(len(self.problems), max_problems)
            if more > 0:
                lines.append(f"  ... and {more:,} more")
        return "\n".join(lines)


def _human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1000
    return f"{n} B"  # pragma: no cover
