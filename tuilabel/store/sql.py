"""The Store's queries, written once for both SQL backends.

Backends differ in how they connect, in placeholders, in "insert unless present", in how a
write transaction starts and in how claims are serialised; everything else is shared here.
Every statement is parameterised; table and column names are constants of this module.
"""

from __future__ import annotations

import gc
import random
import time
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from functools import partial
from itertools import islice
from typing import Any, TypeVar

from tuilabel.errors import StoreError
from tuilabel.store.base import (
    MAX_K,
    ORDERS,
    Failure,
    Image,
    ImageFilter,
    NewImage,
    RatedImage,
    Stats,
    Store,
    check_new_image,
    check_rater,
    check_verdict,
    glob_to_like,
    url_hash,
    utcnow,
)
from tuilabel.store.schema import (
    LABEL_COLUMNS,
    MIGRATIONS,
    AddColumn,
    Column,
    CreateIndex,
    CreateTable,
    Index,
    Migration,
    Table,
    check_row,
    row_checker,
)

_IMAGE_COLS = ("id, tweet_id, url, model, media_id, labeled_at, n_ratings, k, "
               + ", ".join(LABEL_COLUMNS) + ", text")
#: The most characters of a tweet's text kept (a long tweet has up to 25,000).
TEXT_MAX = 10000
_IMAGE_COLS_I = ", ".join(f"i.{c.strip()}" for c in _IMAGE_COLS.split(","))
T = TypeVar("T")
_CHUNK = 500  # rows per IN (...) look-up
_PAGE = 5000  # rows per page when streaming

#: The image `i` is open to `rater`: not rated by them, and its ratings plus other raters'
#: unexpired claims leave room under the overlap. Parameters: rater, rater, now, overlap.
_OPEN_TO_RATER = (
    "NOT EXISTS (SELECT 1 FROM ratings r WHERE r.image_id = i.id AND r.rater = ?) "
    "AND i.n_ratings + (SELECT COUNT(*) FROM claims c WHERE c.image_id = i.id "
    "AND c.rater <> ? AND c.expires_at >= ?) < ?"
)

_ORDER_SQL = {
    "random": "rand_key",
    "oldest": "id",
    "uncertain": "score1",
    "class": "label1, i.rand_key",
}


def _image_from_row(row: Sequence[Any]) -> Image:
    k = row[7]
    labels = row[8 : 8 + 2 * MAX_K]
    preds = tuple((labels[2 * i], float(labels[2 * i + 1])) for i in range(k))
    return Image(
        id=int(row[0]), tweet_id=str(row[1]), url=row[2], model=row[3], media_id=row[4],
        labeled_at=row[5], n_ratings=int(row[6]), predictions=preds, text=row[8 + 2 * MAX_K],
    )


def _filter_sql(where: ImageFilter | None) -> tuple[str, list[Any]]:
    """SQL conditions (each starting with AND) on the image `i`, and their parameters."""
    if where is None:
        return "", []
    sql = ""
    params: list[Any] = []
    if where.labels:
        likes = " OR ".join(["LOWER(i.label1) LIKE ? ESCAPE '!'"] * len(where.labels))
        sql += f"AND ({likes}) "
        params += [glob_to_like(p.lower()) for p in where.labels]
    if where.label1 is not None:
        sql += "AND i.label1 = ? "
        params.append(where.label1)
    if where.min_score is not None:
        sql += "AND i.score1 >= ? "
        params.append(float(where.min_score))
    if where.max_score is not None:
        sql += "AND i.score1 <= ? "
        params.append(float(where.max_score))
    return sql, params


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


class SQLStore(Store):
    """Shared implementation; a backend supplies the hooks below and nothing else.

    Every public method runs its statements through `_run`, which maps driver errors to
    StoreError and retries the whole unit (a read, or a write transaction) when the backend
    calls the error transient (`_transient`): a deadlock or lock wait timeout is retried a few
    times with jittered exponential backoff; a lost connection is reconnected
    (`_reconnect`) and retried for up to `retry_seconds`, each retry announced through
    `on_retry` (the TUI shows "reconnecting…"). A unit is retried whole, so each one is
    written to be safe to run again: inserts that leave an existing row alone, updates that
    set values rather than add to them unless guarded by a look-up in the same transaction.
    """

    #: The driver's base exception class, mapped to StoreError by `_run`.
    driver_error: type[BaseException] = Exception
    #: How the driver writes a parameter: statements here use `?`, rewritten when different.
    placeholder = "?"
    #: The statement that starts a write transaction.
    begin_sql = "BEGIN"
    #: Type names of each `Column.kind` (see schema.py), rendered by `_column_sql`.
    column_types: dict[str, str] = {}
    #: Table options appended to CREATE TABLE (MySQL: engine and collation).
    table_options = ""
    #: Lock and deadlock errors are retried this many times.
    retry_attempts = 8
    #: A lost connection is retried (reconnecting) for this long, in seconds.
    retry_seconds = 30.0

    def __init__(self) -> None:
        self._closed = False
        self._depth = 0  # nesting of _run: only the outermost unit retries
        self._in_write = False
        #: Called with a short note ("reconnecting…") before each retry; None: silent.
        self.on_retry: Callable[[str], None] | None = None

    # -- backend hooks ------------------------------------------------------------------------
    @abstractmethod
    def _cursor_execute(self, sql: str, params: Sequence[Any]) -> Any:
        """Run one statement (placeholders already in the driver's style); return a cursor
        with fetchone/fetchall/rowcount."""

    @abstractmethod
    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run one statement (with `?` placeholders) for many rows; return rows changed."""

    @abstractmethod
    def _last_row_id(self, cursor: Any) -> int:
        """The id the database gave the row that `cursor` just inserted."""

    @abstractmethod
    def _insert_ignore(self, table: str, columns: Sequence[str]) -> str:
        """INSERT (with `?` placeholders) that leaves an existing row (same unique key) alone:
        the backend's upsert-that-does-nothing."""

    @abstractmethod
    def _claim_lock(self) -> AbstractContextManager[None]:
        """Serialise claims across processes (inside a write transaction)."""

    def _transient(self, exc: BaseException) -> str | None:
        """Whether `exc` is worth retrying: "retry" (a deadlock or lock wait: run the unit
        again), "reconnect" (the connection is lost: open a new one first), or None."""
        return None

    def _reconnect(self) -> None:
        """Replace a lost connection with a new one (raises the driver's error if the server
        is still away)."""
        raise NotImplementedError

    @abstractmethod
    def _close(self) -> None: ...

    def _column_sql(self, col: Column) -> str:
        """One column's definition in this backend's DDL."""
        sql = f"{col.name} {self.column_types[col.kind].format(width=col.width)}"
        if col.kind == "id":
            return sql
        sql += " NULL" if col.nullable else " NOT NULL"
        if col.default is not None and col.kind != "text":  # MySQL: no default on TEXT
            sql += f" DEFAULT {col.default!r}" if isinstance(col.default, str) \
                else f" DEFAULT {col.default}"
        return sql

    def _create_table_sql(self, table: Table) -> list[str]:
        """CREATE TABLE (and, where the backend wants them apart, CREATE INDEX) statements."""
        parts = [self._column_sql(c) for c in table.columns]
        if table.primary_key:
            parts.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
        for col in table.columns:
            if col.choices:
                allowed = ", ".join(f"'{v}'" for v in col.choices)
                parts.append(f"CONSTRAINT {table.name}_{col.name} "
                             f"CHECK ({col.name} IN ({allowed}))")
        for fk in table.foreign_keys:
            parts.append(f"CONSTRAINT {fk.name} FOREIGN KEY ({fk.column}) "
                         f"REFERENCES {fk.table} ({fk.target})")
        body = ",\n    ".join(parts)
        return [f"CREATE TABLE {table.name} (\n    {body}\n){self.table_options}",
                *(self._create_index_sql(table.name, ix) for ix in table.indexes)]

    def _create_index_sql(self, table: str, index: Index) -> str:
        unique = "UNIQUE " if index.unique else ""
        return f"CREATE {unique}INDEX {index.name} ON {table} ({', '.join(index.columns)})"

    def _migration_sql(self, migration: Migration) -> list[str]:
        out: list[str] = []
        for step in migration.steps:
            if isinstance(step, CreateTable):
                out += self._create_table_sql(step.table)
            elif isinstance(step, AddColumn):
                out.append(f"ALTER TABLE {step.table} ADD COLUMN {self._column_sql(step.column)}")
            elif isinstance(step, CreateIndex):
                out.append(self._create_index_sql(step.table, step.index))
        return out

    # -- running statements ---------------------------------------------------------------------
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self.placeholder != "?":
            sql = sql.replace("?", self.placeholder)
        return self._cursor_execute(sql, params)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self._execute(sql, params).fetchall())

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._execute(sql, params).fetchone()
        return row[0] if row else None

    @contextmanager
    def _write(self) -> Iterator[None]:
        """A write transaction: committed on success, rolled back on error. Nested: part of
        the enclosing one."""
        if self._in_write:
            yield
            return
        self._execute(self.begin_sql)
        self._in_write = True
        try:
            yield
        except BaseException:
            with suppress(self.driver_error):  # a lost connection has nothing to roll back
                self._execute("ROLLBACK")
            raise
        else:
            self._execute("COMMIT")
        finally:
            self._in_write = False

    def _fail(self, action: str, exc: BaseException) -> StoreError:
        return StoreError(f"{self.name}: {action} failed: {exc}")

    def _run(self, action: str, fn: Callable[[], T], *, write: bool = False) -> T:
        """`fn()` (inside a write transaction with `write`), its driver errors as StoreError,
        retried while the backend calls them transient (see the class docstring)."""
        if self._closed:
            raise StoreError(f"{self.name}: the store is closed")
        if self._depth:  # inside another unit: that one retries, whole
            return self._attempt(fn, write)
        attempts = 0
        deadline: float | None = None
        reconnect = False
        while True:
            try:
                self._depth += 1
                try:
                    if reconnect:
                        self._reconnect()
                        reconnect = False
                    return self._attempt(fn, write)
                finally:
                    self._depth -= 1
            except StoreError:
                raise
            except self.driver_error as exc:
                kind = self._transient(exc)
                now = time.monotonic()
                deadline = deadline or now + self.retry_seconds
                attempts += 1
                if kind is None or now >= deadline or (
                        kind == "retry" and attempts > self.retry_attempts):
                    raise self._fail(action, exc) from exc
                reconnect = reconnect or kind == "reconnect"
                if self.on_retry is not None:
                    self.on_retry("reconnecting…" if reconnect else "database busy, retrying…")
                # Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): two
                # raters that deadlocked do not collide again on the same schedule.
                time.sleep(random.uniform(0, min(2.0, 0.02 * 2 ** attempts)))

    def _attempt(self, fn: Callable[[], T], write: bool) -> T:
        if not write:
            return fn()
        with self._write():
            return fn()

    # -- images -----------------------------------------------------------------------------
    def add_images(self, images: Iterable[NewImage]) -> int:
        images = list(images)
        for image in images:
            check_new_image(image)
        if not images:
            return 0
        cols = ["tweet_id", "media_id", "url", "url_hash", "model", "k", *LABEL_COLUMNS,
                "rand_key", "labeled_at", "text"]
        now = utcnow()
        rows = []
        check = row_checker("images", cols)
        for im in images:
            labels: list[Any] = []
            for i in range(MAX_K):
                if i < len(im.predictions):
                    label, score = im.predictions[i]
                    labels += [str(label), float(score)]
                else:
                    labels += [None, None]
            row = [str(im.tweet_id), im.media_id, im.url, url_hash(im.url), im.model,
                   len(im.predictions), *labels, random.getrandbits(62), now,
                   im.text[:TEXT_MAX] if im.text else None]
            check(row)
            rows.append(row)

        def write() -> int:
            added = self._executemany(self._insert_ignore("images", cols), rows)
            if self._scalar("SELECT COUNT(*) FROM (SELECT 1 FROM failures LIMIT 1) f"):
                self._executemany(
                    "DELETE FROM failures WHERE model = ? AND url_hash = ? AND tweet_id = ?",
                    [(r[4], r[3], r[0]) for r in rows],
                )
            return added

        return self._run("storing images", write, write=True)

    def _photo_lookup(self, table: str, model: str,
                      photos: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        wanted = {(str(t), u) for t, u in photos}
        found: set[tuple[str, str]] = set()
        for chunk in _chunks({url_hash(u) for _, u in wanted}, _CHUNK):
            marks = ", ".join("?" * len(chunk))
            rows = self._run(f"looking up {table}", partial(
                self._rows,
                f"SELECT tweet_id, url FROM {table} WHERE model = ? AND url_hash IN ({marks})",
                [model, *chunk],
            ))
            found.update((t, u) for t, u in rows if (t, u) in wanted)
        return found

    def known_photos(self, model: str, photos: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        return self._photo_lookup("images", model, photos)

    def get_photos(self, model: str, photos: Iterable[tuple[str, str]]) -> list[Image]:
        wanted = {(str(t), u) for t, u in photos}
        found: list[Image] = []
        for chunk in _chunks({url_hash(u) for _, u in wanted}, _CHUNK):
            marks = ", ".join("?" * len(chunk))
            rows = self._run("reading images", partial(
                self._rows,
                f"SELECT {_IMAGE_COLS} FROM images WHERE model = ? AND url_hash IN ({marks})",
                [model, *chunk],
            ))
            found.extend(im for im in map(_image_from_row, rows)
                         if (im.tweet_id, im.url) in wanted)
        return sorted(found, key=lambda im: im.id)

    def count_images(self, model: str | None = None) -> int:
        if model is None:
            return int(self._run("counting images",
                                 lambda: self._scalar("SELECT COUNT(*) FROM images")))
        return int(self._run("counting images", lambda: self._scalar(
            "SELECT COUNT(*) FROM images WHERE model = ?", [model])))

    def get_image(self, image_id: int) -> Image | None:
        rows = self._run("reading an image", lambda: self._rows(
            f"SELECT {_IMAGE_COLS} FROM images WHERE id = ?", [image_id]))
        return _image_from_row(rows[0]) if rows else None

    # -- failures ---------------------------------------------------------------------------
    def add_failures(self, failures: Iterable[Failure]) -> None:
        now = utcnow()
        rows = []
        for f in failures:
            row = {"tweet_id": str(f.tweet_id), "url": f.url, "url_hash": url_hash(f.url),
                   "model": f.model, "reason": f.reason[:64], "detail": f.detail[:2000],
                   "failed_at": now}
            check_row("failures", row)
            rows.append(row)
        if not rows:
            return

        def write() -> None:
            for r in rows:
                key = (r["model"], r["url_hash"], r["tweet_id"])
                changed = self._execute(
                    "UPDATE failures SET reason = ?, detail = ?, attempts = attempts + 1, "
                    "failed_at = ? WHERE model = ? AND url_hash = ? AND tweet_id = ?",
                    [r["reason"], r["detail"], now, *key],
                ).rowcount
                if not changed:
                    self._execute(
                        "INSERT INTO failures (tweet_id, url, url_hash, model, reason, detail, "
                        "failed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [r["tweet_id"], r["url"], r["url_hash"], r["model"], r["reason"],
                         r["detail"], now],
                    )

        self._run("recording failures", write, write=True)

    def failed_photos(self, model: str, photos: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        return self._photo_lookup("failures", model, photos)

    # -- rating -----------------------------------------------------------------------------
    def claim_next(
        self,
        rater: str,
        *,
        n: int = 1,
        order: str = "random",
        model: str | None = None,
        overlap: int = 1,
        exclude: Sequence[int] = (),
        claim_seconds: int = 900,
        where: ImageFilter | None = None,
    ) -> list[Image]:
        if order not in ORDERS:
            raise ValueError(f"unknown order {order!r}; expected one of {', '.join(ORDERS)}")
        if overlap < 1:
            raise ValueError("overlap must be at least 1")
        check_rater(rater)
        filter_sql, filter_params = _filter_sql(where)
        excluded = {int(i) for i in exclude}

        def claim() -> list[Image]:
            now = time.time()
            picked: list[Image] = []
            with self._claim_lock():
                self._execute("DELETE FROM claims WHERE expires_at < ?", [now])
                # Most-rated first, so that with overlap > 1 an image gets all its ratings
                # soon; each pass is one ordered scan of an index on (n_ratings, order column).
                for count in range(overlap - 1, -1, -1):
                    if len(picked) >= n:
                        break
                    params: list[Any] = [count, rater, rater, now, overlap]
                    model_sql = ""
                    if model is not None:
                        model_sql = "AND i.model = ? "
                        params.append(model)
                    model_sql += filter_sql
                    params += filter_params
                    params.append(n - len(picked) + len(excluded))
                    rows = self._rows(
                        f"SELECT {_IMAGE_COLS_I} FROM images i "
                        f"WHERE i.n_ratings = ? AND {_OPEN_TO_RATER} "
                        f"{model_sql}"
                        f"ORDER BY i.n_ratings, i.{_ORDER_SQL[order]} LIMIT ?",
                        params,
                    )
                    for row in rows:
                        image = _image_from_row(row)
                        if image.id not in excluded and len(picked) < n:
                            picked.append(image)
                for image in picked:
                    self._upsert_claim(image.id, rater, now + claim_seconds)
            return picked

        return self._run("choosing the next image", claim, write=True)

    def _upsert_claim(self, image_id: int, rater: str, expires_at: float) -> None:
        changed = self._execute(
            "UPDATE claims SET expires_at = ? WHERE image_id = ? AND rater = ?",
            [expires_at, image_id, rater],
        ).rowcount
        if not changed:
            self._execute(
                "INSERT INTO claims (image_id, rater, expires_at) VALUES (?, ?, ?)",
                [image_id, rater, expires_at],
            )

    def renew_claims(self, rater: str, image_ids: Sequence[int], *, claim_seconds: int = 900,
                     overlap: int = 1) -> set[int]:
        def renew() -> set[int]:
            now = time.time()
            kept: set[int] = set()
            with self._claim_lock():
                for image_id in image_ids:
                    free = self._scalar(
                        f"SELECT COUNT(*) FROM images i WHERE i.id = ? AND {_OPEN_TO_RATER}",
                        [image_id, rater, rater, now, overlap],
                    )
                    if free:
                        self._upsert_claim(int(image_id), rater, now + claim_seconds)
                        kept.add(int(image_id))
                    else:
                        self._execute("DELETE FROM claims WHERE image_id = ? AND rater = ?",
                                      [image_id, rater])
            return kept

        return self._run("renewing claims", renew, write=True)

    def release_claims(self, rater: str, image_ids: Sequence[int] | None = None) -> None:
        def release() -> None:
            if image_ids is None:
                self._execute("DELETE FROM claims WHERE rater = ?", [rater])
                return
            for chunk in _chunks(image_ids, _CHUNK):
                marks = ", ".join("?" * len(chunk))
                self._execute(f"DELETE FROM claims WHERE rater = ? AND image_id IN ({marks})",
                              [rater, *chunk])

        self._run("releasing claims", release, write=True)

    def add_rating(self, image_id: int, rater: str, verdict: str, *, blind: bool = False) -> int:
        return self.add_ratings(rater, [(image_id, verdict)], blind=blind)[0]

    def add_ratings(self, rater: str, verdicts: Sequence[tuple[int, str]], *,
                    blind: bool = False) -> list[int]:
        for _, verdict in verdicts:
            check_verdict(verdict)
        check_rater(rater)

        def rate() -> list[int]:
            now = utcnow()
            return [self._put_rating(image_id, rater, verdict, now, blind)
                    for image_id, verdict in verdicts]

        action = "storing a rating" if len(verdicts) == 1 else "storing a page of ratings"
        return self._run(action, rate, write=True)

    def _put_rating(self, image_id: int, rater: str, verdict: str, now: str,
                    blind: bool) -> int:
        """Insert or replace one rating (inside a write transaction); its rating id."""
        if self._scalar("SELECT COUNT(*) FROM images WHERE id = ?", [image_id]) == 0:
            raise StoreError(f"{self.name}: no image with id {image_id}")
        # Looked up in the transaction: a retry after a commit whose answer was lost
        # finds the rating and replaces it, and n_ratings is counted once.
        existing = self._rows(
            "SELECT id FROM ratings WHERE image_id = ? AND rater = ?", [image_id, rater]
        )
        if existing:
            rating_id = int(existing[0][0])
            self._execute("UPDATE ratings SET verdict = ?, rated_at = ?, blind = ? WHERE id = ?",
                          [verdict, now, int(blind), rating_id])
        else:
            cur = self._execute(
                "INSERT INTO ratings (image_id, rater, verdict, rated_at, blind) "
                "VALUES (?, ?, ?, ?, ?)",
                [image_id, rater, verdict, now, int(blind)],
            )
            rating_id = self._last_row_id(cur)
            self._execute(
                "UPDATE images SET n_ratings = n_ratings + 1 WHERE id = ?", [image_id]
            )
        self._execute(
            "DELETE FROM claims WHERE image_id = ? AND rater = ?", [image_id, rater]
        )
        return rating_id

    def delete_rating(self, rating_id: int, claim_seconds: int = 900) -> bool:
        return self.delete_ratings([rating_id], claim_seconds) == 1

    def delete_ratings(self, rating_ids: Sequence[int], claim_seconds: int = 900) -> int:
        def undo() -> int:
            deleted = 0
            with self._claim_lock():
                for rating_id in rating_ids:
                    rows = self._rows("SELECT image_id, rater FROM ratings WHERE id = ?",
                                      [rating_id])
                    if not rows:
                        continue
                    image_id, rater = int(rows[0][0]), rows[0][1]
                    self._execute("DELETE FROM ratings WHERE id = ?", [rating_id])
                    self._execute(
                        "UPDATE images SET n_ratings = n_ratings - 1 WHERE id = ?", [image_id]
                    )
                    self._upsert_claim(image_id, rater, time.time() + claim_seconds)
                    deleted += 1
            return deleted

        action = "undoing a rating" if len(rating_ids) == 1 else "undoing ratings"
        return self._run(action, undo, write=True)

    def count_rated(self, model: str | None = None, overlap: int = 1,
                    where: ImageFilter | None = None) -> tuple[int, int]:
        # Two counts rather than one SUM(CASE ...) scan: the first is an index range scan.
        cond, params = (" AND i.model = ?", [model]) if model is not None else ("", [])
        filter_sql, filter_params = _filter_sql(where)
        if filter_sql:
            cond += " " + filter_sql.strip()
            params += filter_params

        def count() -> tuple[int, int]:
            rated = self._scalar(
                f"SELECT COUNT(*) FROM images i WHERE i.n_ratings >= ?{cond}", [overlap, *params]
            )
            total = self._scalar(f"SELECT COUNT(*) FROM images i WHERE 1 = 1{cond}", params)
            return int(rated), int(total)

        return self._run("counting ratings", count)

    def _rating_filter(self, rater: str | None, model: str | None) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if rater is not None:
            clauses.append("r.rater = ?")
            params.append(rater)
        if model is not None:
            clauses.append("i.model = ?")
            params.append(model)
        return "".join(f" AND {c}" for c in clauses), params

    def iter_ratings(
        self, rater: str | None = None, model: str | None = None
    ) -> Iterator[RatedImage]:
        where, params = self._rating_filter(rater, model)
        last = 0
        while True:
            rows = self._run("reading ratings", partial(
                self._rows,
                f"SELECT r.id, r.rater, r.verdict, r.rated_at, r.blind, {_IMAGE_COLS_I} "
                "FROM ratings r JOIN images i ON i.id = r.image_id "
                f"WHERE r.id > ?{where} ORDER BY r.id LIMIT {_PAGE}",
                [last, *params],
            ))
            for row in rows:
                yield RatedImage(rating_id=int(row[0]), rater=row[1], verdict=row[2],
                                 rated_at=row[3], blind=bool(row[4]),
                                 image=_image_from_row(row[5:]))
            if len(rows) < _PAGE:
                return
            last = int(rows[-1][0])

    def _rating_columns_query(self, rater: str | None, model: str | None, k: int,
                              labels: int | None) -> tuple[str, list[Any], list[str]]:
        """The SELECT of `rating_columns` (also read through Arrow by the SQLite backend)."""
        k = max(1, min(k, MAX_K))
        n_labels = k if labels is None else max(0, min(labels, MAX_K))
        where, params = self._rating_filter(rater, model)
        names = ["image_id", "rater", "verdict"]
        names += [f"label{i}" for i in range(1, n_labels + 1)]
        names += [f"score{i}" for i in range(1, k + 1)]
        select = ", ".join(["r.image_id", "r.rater", "r.verdict"]
                           + [f"i.{c}" for c in names[3:]])
        sql = (f"SELECT {select} FROM ratings r JOIN images i ON i.id = r.image_id "
               f"WHERE 1 = 1{where} ORDER BY r.id")
        return sql, params, names

    def rating_columns(
        self, rater: str | None = None, model: str | None = None, k: int = 5,
        labels: int | None = None,
    ) -> dict[str, list]:
        sql, params, names = self._rating_columns_query(rater, model, k, labels)
        # Millions of row tuples hold no reference cycles: pausing the cyclic collector while
        # they are built halves the time (each collection would rescan the growing heap).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            rows = self._run("reading ratings",
                             lambda: self._execute(sql, params).fetchall())
            columns = [list(col) for col in zip(*rows, strict=True)] or [[] for _ in names]
            del rows
        finally:
            if gc_was_enabled:
                gc.enable()
        return dict(zip(names, columns, strict=True))

    # -- overview ---------------------------------------------------------------------------
    def stats(self) -> Stats:
        def counts(sql: str) -> dict[str, int]:
            return {str(key): int(n) for key, n in self._rows(sql)}

        return self._run("reading statistics", lambda: Stats(
            images=int(self._scalar("SELECT COUNT(*) FROM images")),
            images_by_model=counts(
                "SELECT model, COUNT(*) FROM images GROUP BY model ORDER BY model"),
            failures_by_reason=counts(
                "SELECT reason, COUNT(*) FROM failures GROUP BY reason ORDER BY reason"),
            rated_images=int(self._scalar("SELECT COUNT(*) FROM images WHERE n_ratings > 0")),
            ratings_by_verdict=counts(
                "SELECT verdict, COUNT(*) FROM ratings GROUP BY verdict ORDER BY verdict"),
            ratings_by_rater=counts(
                "SELECT rater, COUNT(*) FROM ratings GROUP BY rater ORDER BY rater"),
        ))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._close()
            except self.driver_error:
                pass

    # -- migrations -------------------------------------------------------------------------
    def _pending_migrations(self, create_table_sql: str) -> list[Migration]:
        """The migrations not yet applied (creating the `migrations` table if missing)."""
        def pending() -> list[Migration]:
            self._execute(create_table_sql)
            done = {row[0] for row in self._rows("SELECT name FROM migrations")}
            return [m for m in MIGRATIONS if m.name not in done]

        return self._run("creating or upgrading the schema", pending)

    def _migrate(self, create_table_sql: str) -> None:
        """Apply the missing migrations of schema.MIGRATIONS, in order, each in its own
        transaction with the `migrations` row that records it (MySQL commits DDL at once, so
        keep one table or column per migration step)."""
        for migration in self._pending_migrations(create_table_sql):
            statements = self._migration_sql(migration)

            def apply(statements: list[str] = statements, name: str = migration.name) -> None:
                for statement in statements:
                    self._execute(statement)
                self._execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                              [name, utcnow()])

            self._run("creating or upgrading the schema", apply, write=True)
