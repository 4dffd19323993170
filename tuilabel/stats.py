"""The `tuilabel stats` table, as plain text (readable in a pipe, a log or a terminal)."""

from __future__ import annotations

from tuilabel.store.base import Stats
from tuilabel.text import visible
from tuilabel.verdicts import VERDICT_TABLE

#: How `stats` names each stored verdict (from the one verdict table).
VERDICT_NAMES = {
    v.value: f"{v.value} ({v.word})" if v.analysed else v.word for v in VERDICT_TABLE
}


def _section(title: str, counts: dict[str, int], names: dict[str, str] | None = None) -> list[str]:
    if not counts:
        return [f"{title}: none"]
    names = names or {}
    rows = [(visible(names.get(key, key)), f"{n:,}") for key, n in counts.items()]
    width = max(len(k) for k, _ in rows)
    num = max(len(v) for _, v in rows)
    return [f"{title}:"] + [f"  {k:<{width}}  {v:>{num}}" for k, v in rows]


def format_stats(stats: Stats, name: str) -> str:
    """The store's counts as a small aligned table. Names from the data (models, raters,
    failure reasons) have their control characters made visible."""
    ratings = sum(stats.ratings_by_verdict.values())
    failures = sum(stats.failures_by_reason.values())
    lines = [
        f"database:     {visible(name)}",
        f"images:       {stats.images:,}",
        f"rated images: {stats.rated_images:,}"
        + (f" ({100 * stats.rated_images / stats.images:.1f}%)" if stats.images else ""),
        f"ratings:      {ratings:,}",
        f"failed:       {failures:,}",
        "",
        *_section("images by model", stats.images_by_model),
        *_section("failed photos by reason", stats.failures_by_reason),
        *_section("ratings by verdict", stats.ratings_by_verdict, VERDICT_NAMES),
        *_section("ratings by rater", stats.ratings_by_rater),
    ]
    return "\n".join(lines)
