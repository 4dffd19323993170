"""The schema, written once: tables of typed columns, and named migrations over them.

Both backends render the same definitions (`tuilabel.store.dialect` turns a `Column` into
SQLite's or MySQL's type); nothing here is written per database. A column's `width` (characters)
or `max_bytes` (UTF-8 bytes, for MySQL's TEXT) is the limit the store checks on every backend
before writing (`check_row`), so that a value SQLite would accept is never refused by MySQL
alone, mid-run.

A database records the names of the migrations applied to it (table `migrations`); opening it
applies the missing ones in order. Migrations only ever add (a table, a column, an index):
nothing is dropped or rewritten, so opening an older database upgrades it without losing a row.
To add a column: append `Migration("000N_what", (AddColumn("images", Column(...)),))` to
`MIGRATIONS`; `TABLES` then includes it, and the width check covers it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tuilabel.store.base import LABEL_MAX, MAX_K, MODEL_MAX, RATER_MAX, TWEET_ID_MAX, VERDICTS

#: MySQL's TEXT holds 65,535 bytes (UTF-8 here); SQLite has no limit, the store keeps this one.
TEXT_MAX_BYTES = 65_535
#: Widths of the short columns that only the store writes.
HASH_WIDTH = 40  # SHA-1 in hex
REASON_MAX = 64
VERDICT_MAX = 16
TIME_WIDTH = 32  # ISO-8601 UTC text


@dataclass(frozen=True)
class Column:
    """One column. `kind`: `id` (integer primary key, assigned by the database), `int`,
    `bigint`, `float`, `str` (short text of at most `width` characters), `text` (long text of
    at most `max_bytes` UTF-8 bytes). `choices`: the only values allowed (a CHECK)."""

    name: str
    kind: str
    width: int | None = None
    nullable: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    max_bytes: int | None = None


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class ForeignKey:
    name: str
    column: str
    table: str
    target: str = "id"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()  # when not a single `id` column
    indexes: tuple[Index, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name}.{name}")


# -- migration steps ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CreateTable:
    table: Table


@dataclass(frozen=True)
class AddColumn:
    table: str
    column: Column


@dataclass(frozen=True)
class CreateIndex:
    table: str
    index: Index


@dataclass(frozen=True)
class Migration:
    name: str
    steps: tuple[CreateTable | AddColumn | CreateIndex, ...]


def _text(name: str, width: int, **kw: Any) -> Column:
    return Column(name, "str", width=width, **kw)


def _long(name: str, **kw: Any) -> Column:
    return Column(name, "text", max_bytes=TEXT_MAX_BYTES, **kw)


LABEL_COLUMNS = [c for i in range(1, MAX_K + 1) for c in (f"label{i}", f"score{i}")]

IMAGES = Table(
    "images",
    (
        Column("id", "id"),
        _text("tweet_id", TWEET_ID_MAX),
        _text("media_id", TWEET_ID_MAX, nullable=True),
        _long("url"),
        _text("url_hash", HASH_WIDTH),
        _text("model", MODEL_MAX),
        Column("k", "int"),
        *(col for i in range(1, MAX_K + 1)
          for col in (_text(f"label{i}", LABEL_MAX, nullable=True),
                      Column(f"score{i}", "float", nullable=True))),
        Column("rand_key", "bigint"),
        Column("n_ratings", "int", default=0),
        _text("labeled_at", TIME_WIDTH),
    ),
    indexes=(
        Index("images_photo", ("model", "url_hash", "tweet_id"), unique=True),
        Index("images_queue_random", ("n_ratings", "rand_key")),
        Index("images_queue_oldest", ("n_ratings", "id")),
        Index("images_queue_uncertain", ("n_ratings", "score1")),
    ),
)

RATINGS = Table(
    "ratings",
    (
        Column("id", "id"),
        Column("image_id", "bigint"),
        _text("rater", RATER_MAX),
        _text("verdict", VERDICT_MAX, choices=VERDICTS),
        _text("rated_at", TIME_WIDTH),
    ),
    indexes=(
        Index("ratings_image_rater", ("image_id", "rater"), unique=True),
        Index("ratings_rater", ("rater",)),
    ),
    foreign_keys=(ForeignKey("ratings_image", "image_id", "images"),),
)

FAILURES = Table(
    "failures",
    (
        Column("id", "id"),
        _text("tweet_id", TWEET_ID_MAX),
        _long("url"),
        _text("url_hash", HASH_WIDTH),
        _text("model", MODEL_MAX),
        _text("reason", REASON_MAX),
        _long("detail", default=""),
        Column("attempts", "int", default=1),
        _text("failed_at", TIME_WIDTH),
    ),
    indexes=(Index("failures_photo", ("model", "url_hash", "tweet_id"), unique=True),),
)

CLAIMS = Table(
    "claims",
    (
        Column("image_id", "bigint"),
        _text("rater", RATER_MAX),
        Column("expires_at", "float"),
    ),
    primary_key=("image_id", "rater"),
)

#: Every migration, oldest first. Append only; never edit one that has shipped.
MIGRATIONS: list[Migration] = [
    Migration("0001_initial", (CreateTable(IMAGES), CreateTable(RATINGS),
                               CreateTable(FAILURES), CreateTable(CLAIMS))),
    # Review (issue 10): which ratings were made with the scores hidden (`score --blind`),
    # the tweet's text (shown with `t`), and an index for `--order class`.
    Migration("0002_ratings_blind", (AddColumn("ratings", Column("blind", "int", default=0)),)),
    Migration("0003_images_text", (AddColumn("images", _long("text", nullable=True)),)),
    Migration("0004_images_queue_class", (CreateIndex("images", Index(
        "images_queue_class", ("n_ratings", "label1", "rand_key"))),)),
]


def tables(migrations: list[Migration] | None = None) -> dict[str, Table]:
    """The tables as they stand after `migrations` (default: all of them)."""
    out: dict[str, Table] = {}
    for migration in MIGRATIONS if migrations is None else migrations:
        for step in migration.steps:
            if isinstance(step, CreateTable):
                out[step.table.name] = step.table
            elif isinstance(step, AddColumn):
                t = out[step.table]
                out[step.table] = replace(t, columns=(*t.columns, step.column))
            elif isinstance(step, CreateIndex):
                t = out[step.table]
                out[step.table] = replace(t, indexes=(*t.indexes, step.index))
    return out


#: The current schema, by table name.
TABLES: dict[str, Table] = tables()


def column_problem(col: Column, value: Any) -> str | None:
    """Why `value` cannot be stored in `col` on every backend, or None when it can."""
    if value is None:
        return None if col.nullable or col.kind == "id" else f"{col.name} is empty"
    if not isinstance(value, str):
        return None
    if col.width is not None and len(value) > col.width:
        return f"{col.name} of {len(value):,} characters; at most {col.width:,}"
    if col.max_bytes is not None and len(value) * 4 > col.max_bytes:  # else surely fits
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > col.max_bytes:
            return f"{col.name} of {size:,} bytes; at most {col.max_bytes:,}"
    if col.choices and value not in col.choices:
        return f"{col.name} {value!r} is not one of {', '.join(col.choices)}"
    return None


def _fits(col: Column, value: Any) -> bool:
    """The quick test behind `check_row` (column_problem says why not)."""
    if value is None:
        return col.nullable or col.kind == "id"
    if type(value) is not str:
        return True
    if col.width is not None and len(value) > col.width:
        return False
    if col.max_bytes is not None and len(value) * 4 > col.max_bytes \
            and len(value.encode("utf-8", "surrogatepass")) > col.max_bytes:
        return False
    return not col.choices or value in col.choices


#: Each table's columns by name (check_row runs for every row written).
_COLUMNS: dict[str, dict[str, Column]] = {
    name: {c.name: c for c in t.columns} for name, t in TABLES.items()
}


def check_row(table: str, row: Mapping[str, Any]) -> None:
    """Raise ValueError (naming the column and the limit) when a value of `row` does not fit
    its column of `table` on every backend."""
    columns = _COLUMNS[table]
    for name, value in row.items():
        col = columns[name]
        if not _fits(col, value):
            raise ValueError(column_problem(col, value))


def row_checker(table: str, names: Sequence[str]) -> Callable[[Sequence[Any]], None]:
    """`check_row` for rows given as sequences in the order of `names`, made once for a batch
    (the store checks every row it writes: this keeps that to a few microseconds a row)."""
    columns = [_COLUMNS[table][n] for n in names]
    short = [(i, c.width) for i, c in enumerate(columns)
             if c.kind == "str" and c.width is not None and not c.choices]
    other = [(i, c) for i, c in enumerate(columns)
             if not (c.kind == "str" and c.width is not None and not c.choices)]

    def check(row: Sequence[Any]) -> None:
        for i, width in short:
            value = row[i]
            if value is None or (type(value) is str and len(value) <= width):
                if value is None and not columns[i].nullable:
                    raise ValueError(column_problem(columns[i], value))
                continue
            if not _fits(columns[i], value):
                raise ValueError(column_problem(columns[i], value))
        for i, col in other:
            if not _fits(col, row[i]):
                raise ValueError(column_problem(col, row[i]))

    return check


def photo_problem(tweet_id: str, url: str, media_id: str | None = None) -> str | None:
    """Why a photo cannot be stored on every backend (its tweet id, URL or media id is too
    long), or None when it can: checked before a photo is fetched, so that it becomes one
    failure of the run rather than a refused batch."""
    images = TABLES["images"]
    for name, value in (("tweet_id", tweet_id), ("url", url), ("media_id", media_id)):
        problem = column_problem(images.column(name), value)
        if problem:
            return problem
    return None
