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
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from itertools import islice
from typing import Any

from tuilabel.errors import StoreError
from tuilabel.store.base import (
    MAX_K,
    ORDERS,
    Failure,
    Image,
    NewImage,
    RatedImage,
    Stats,
    Store,
    check_new_image,
    check_rater,
    check_verdict,
    url_hash,
    utcnow,
)
from tuilabel.store.schema import LABEL_COLUMNS

_IMAGE_COLS = ("id, tweet_id, url, model, media_id, labeled_at, n_ratings, k, "
               + ", ".join(LABEL_COLUMNS))
_IMAGE_COLS_I = ", ".join(f"i.{c.strip()}" for c in _IMAGE_COLS.split(","))
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
}


def _image_from_row(row: Sequence[Any]) -> Image:
    k = row[7]
    labels = row[8:]
    preds = tuple((labels[2 * i], float(labels[2 * i + 1])) for i in range(k))
    return Image(
        id=int(row[0]), tweet_id=str(row[1]), url=row[2], model=row[3], media_id=row[4],
        labeled_at=row[5], n_ratings=int(row[6]), predictions=preds,
    )


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


class SQLStore(Store):
    """Shared implementation; subclasses supply the connection and the dialect."""

    #: The driver's base exception class, mapped to StoreError by `_guard`.
    driver_error: type[BaseException] = Exception

    def __init__(self) -> None:
        self._closed = False

    # -- dialect hooks ----------------------------------------------------------------------
    @abstractmethod
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement with `?` placeholders; return the cursor."""

    @abstractmethod
    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run one statement for many rows; return the number of rows changed."""

    @abstractmethod
    def _write(self) -> AbstractContextManager[None]:
        """A write transaction: committed on success, rolled back on error."""

    @abstractmethod
    def _claim_lock(self) -> AbstractContextManager[None]:
        """Serialise claims across processes (inside a write transaction)."""

    @abstractmethod
    def _insert_ignore(self, table: str, columns: Sequence[str]) -> str:
        """INSERT that leaves an existing row (same unique key) alone."""

    @abstractmethod
    def _close(self) -> None: ...

    # -- errors -----------------------------------------------------------------------------
    def _fail(self, action: str, exc: BaseException) -> StoreError:
        return StoreError(f"{self.name}: {action} failed: {exc}")

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        if self._closed:
            raise StoreError(f"{self.name}: the store is closed")
        try:
            yield
        except StoreError:
            raise
        except self.driver_error as exc:
            raise self._fail(action, exc) from exc

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self._execute(sql, params).fetchall())

    def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self._execute(sql, params).fetchone()
        return row[0] if row else None

    # -- images -----------------------------------------------------------------------------
    def add_images(self, images: Iterable[NewImage]) -> int:
        images = list(images)
        for image in images:
            check_new_image(image)
        if not images:
            return 0
        cols = ["tweet_id", "media_id", "url", "url_hash", "model", "k", *LABEL_COLUMNS,
                "rand_key", "labeled_at"]
        now = utcnow()
        rows = []
        for im in images:
            labels: list[Any] = []
            for i in range(MAX_K):
                if i < len(im.predictions):
                    label, score = im.predictions[i]
                    labels += [str(label), float(score)]
                else:
                    labels += [None, None]
            rows.append([str(im.tweet_id), im.media_id, im.url, url_hash(im.url), im.model,
                         len(im.predictions), *labels, random.getrandbits(62), now])
        with self._guard("storing images"), self._write():
            added = self._executemany(self._insert_ignore("images", cols), rows)
            if self._scalar("SELECT COUNT(*) FROM (SELECT 1 FROM failures LIMIT 1) f"):
                self._executemany(
                    "DELETE FROM failures WHERE model = ? AND url_hash = ? AND tweet_id = ?",
                    [(r[4], r[3], r[0]) for r in rows],
                )
        return added

    def _photo_lookup(self, table: str, model: str,
                      photos: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        wanted = {(str(t), u) for t, u in photos}
        found: set[tuple[str, str]] = set()
        with self._guard(f"looking up {table}"):
            for chunk in _chunks({url_hash(u) for _, u in wanted}, _CHUNK):
                marks = ", ".join("?" * len(chunk))
                for tweet_id, url in self._rows(
                    f"SELECT tweet_id, url FROM {table} WHERE model = ? AND url_hash IN ({marks})",
                    [model, *chunk],
                ):
                    if (tweet_id, url) in wanted:
                        found.add((tweet_id, url))
        return found

    def known_photos(self, model: str, photos: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        return self._photo_lookup("images", model, photos)

    def count_images(self, model: str | None = None) -> int:
        with self._guard("counting images"):
            if model is None:
                return int(self._scalar("SELECT COUNT(*) FROM images"))
            return int(self._scalar("SELECT COUNT(*) FROM images WHERE model = ?", [model]))

    def get_image(self, image_id: int) -> Image | None:
        with self._guard("reading an image"):
            rows = self._rows(f"SELECT {_IMAGE_COLS} FROM images WHERE id = ?", [image_id])
        return _image_from_row(rows[0]) if rows else None

    # -- failures ---------------------------------------------------------------------------
    def add_failures(self, failures: Iterable[Failure]) -> None:
        failures = list(failures)
        if not failures:
            return
        now = utcnow()
        with self._guard("recording failures"), self._write():
            for f in failures:
                key = (f.model, url_hash(f.url), str(f.tweet_id))
                changed = self._execute(
                    "UPDATE failures SET reason = ?, detail = ?, attempts = attempts + 1, "
                    "failed_at = ? WHERE model = ? AND url_hash = ? AND tweet_id = ?",
                    [f.reason, f.detail[:2000], now, *key],
                ).rowcount
                if not changed:
                    self._execute(
                        "INSERT INTO failures (tweet_id, url, url_hash, model, reason, detail, "
                        "failed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [str(f.tweet_id), f.url, key[1], f.model, f.reason, f.detail[:2000], now],
                    )

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
    ) -> list[Image]:
        if order not in ORDERS:
            raise ValueError(f"unknown order {order!r}; expected one of {', '.join(ORDERS)}")
        if overlap < 1:
            raise ValueError("overlap must be at least 1")
        check_rater(rater)
        now = time.time()
        excluded = {int(i) for i in exclude}
        picked: list[Image] = []
        with self._guard("choosing the next image"), self._write(), self._claim_lock():
            self._execute("DELETE FROM claims WHERE expires_at < ?", [now])
            # Most-rated first, so that with overlap > 1 an image gets all its ratings soon;
            # each pass is one ordered scan of an index on (n_ratings, order column).
            for count in range(overlap - 1, -1, -1):
                if len(picked) >= n:
                    break
                params: list[Any] = [count, rater, rater, now, overlap]
                model_sql = ""
                if model is not None:
                    model_sql = "AND i.model = ? "
                    params.append(model)
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
        now = time.time()
        kept: set[int] = set()
        with self._guard("renewing claims"), self._write(), self._claim_lock():
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

    def release_claims(self, rater: str, image_ids: Sequence[int] | None = None) -> None:
        with self._guard("releasing claims"), self._write():
            if image_ids is None:
                self._execute("DELETE FROM claims WHERE rater = ?", [rater])
            else:
                for chunk in _chunks(image_ids, _CHUNK):
                    marks = ", ".join("?" * len(chunk))
                    self._execute(
                        f"DELETE FROM claims WHERE rater = ? AND image_id IN ({marks})",
                        [rater, *chunk],
                    )

    def add_rating(self, image_id: int, rater: str, verdict: str) -> int:
        check_verdict(verdict)
        check_rater(rater)
        now = utcnow()
        with self._guard("storing a rating"), self._write():
            if self._scalar("SELECT COUNT(*) FROM images WHERE id = ?", [image_id]) == 0:
                raise StoreError(f"{self.name}: no image with id {image_id}")
            existing = self._rows(
                "SELECT id FROM ratings WHERE image_id = ? AND rater = ?", [image_id, rater]
            )
            if existing:
                rating_id = int(existing[0][0])
                self._execute(
                    "UPDATE ratings SET verdict = ?, rated_at = ? WHERE id = ?",
                    [verdict, now, rating_id],
                )
            else:
                cur = self._execute(
                    "INSERT INTO ratings (image_id, rater, verdict, rated_at) VALUES (?, ?, ?, ?)",
                    [image_id, rater, verdict, now],
                )
                rating_id = int(cur.lastrowid)
                self._execute(
                    "UPDATE images SET n_ratings = n_ratings + 1 WHERE id = ?", [image_id]
                )
            self._execute(
                "DELETE FROM claims WHERE image_id = ? AND rater = ?", [image_id, rater]
            )
        return rating_id

    def delete_rating(self, rating_id: int, claim_seconds: int = 900) -> bool:
        with self._guard("undoing a rating"), self._write(), self._claim_lock():
            rows = self._rows("SELECT image_id, rater FROM ratings WHERE id = ?", [rating_id])
            if not rows:
                return False
            image_id, rater = int(rows[0][0]), rows[0][1]
            self._execute("DELETE FROM ratings WHERE id = ?", [rating_id])
            self._execute(
                "UPDATE images SET n_ratings = n_ratings - 1 WHERE id = ?", [image_id]
            )
            self._upsert_claim(image_id, rater, time.time() + claim_seconds)
        return True

    def count_rated(self, model: str | None = None, overlap: int = 1) -> tuple[int, int]:
        # Two counts rather than one SUM(CASE ...) scan: the first is an index range scan.
        where, params = (" AND model = ?", [model]) if model is not None else ("", [])
        with self._guard("counting ratings"):
            rated = self._scalar(
                f"SELECT COUNT(*) FROM images WHERE n_ratings >= ?{where}", [overlap, *params]
            )
            total = self._scalar(f"SELECT COUNT(*) FROM images WHERE 1 = 1{where}", params)
        return int(rated), int(total)

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
            with self._guard("reading ratings"):
                rows = self._rows(
                    f"SELECT r.id, r.rater, r.verdict, r.rated_at, {_IMAGE_COLS_I} "
                    "FROM ratings r JOIN images i ON i.id = r.image_id "
                    f"WHERE r.id > ?{where} ORDER BY r.id LIMIT {_PAGE}",
                    [last, *params],
                )
            for row in rows:
                yield RatedImage(rating_id=int(row[0]), rater=row[1], verdict=row[2],
                                 rated_at=row[3], image=_image_from_row(row[4:]))
            if len(rows) < _PAGE:
                return
            last = int(rows[-1][0])

    def rating_columns(
        self, rater: str | None = None, model: str | None = None, k: int = 5,
        labels: int | None = None,
    ) -> dict[str, list]:
        k = max(1, min(k, MAX_K))
        n_labels = k if labels is None else max(0, min(labels, MAX_K))
        where, params = self._rating_filter(rater, model)
        names = ["image_id", "rater", "verdict"]
        names += [f"label{i}" for i in range(1, n_labels + 1)]
        names += [f"score{i}" for i in range(1, k + 1)]
        select = ", ".join(["r.image_id", "r.rater", "r.verdict"]
                           + [f"i.{c}" for c in names[3:]])
        # Millions of row tuples hold no reference cycles: pausing the cyclic collector while
        # they are built halves the time (each collection would rescan the growing heap).
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            with self._guard("reading ratings"):
                rows = self._execute(
                    f"SELECT {select} FROM ratings r JOIN images i ON i.id = r.image_id "
                    f"WHERE 1 = 1{where} ORDER BY r.id",
                    params,
                ).fetchall()
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

        with self._guard("reading statistics"):
            return Stats(
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
            )

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self._close()
            except self.driver_error:
                pass

    # -- migrations -------------------------------------------------------------------------
    def _migrate(self, migrations: list[tuple[str, list[str]]], create_table_sql: str) -> None:
        with self._guard("creating or upgrading the schema"):
            self._execute(create_table_sql)
            done = {row[0] for row in self._rows("SELECT name FROM migrations")}
            for name, statements in migrations:
                if name in done:
                    continue
                with self._write():
                    for statement in statements:
                        self._execute(statement)
                    self._execute(
                        "INSERT INTO migrations (name, applied_at) VALUES (?, ?)", [name, utcnow()]
                    )
