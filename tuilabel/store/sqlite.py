"""The SQLite backend (the default): one file, WAL mode, safe for a labeler and raters at once.

The connection runs in autocommit mode; writes take `BEGIN IMMEDIATE` so that two processes
never interleave a read-then-write (claims rely on this), and wait up to `busy_seconds` for
another writer before giving up with a clear message.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import urllib.parse
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from tuilabel.errors import StoreError
from tuilabel.store.sql import SQLStore


def _import_sqlite_utils() -> Any:
    """The sqlite_utils module, imported without pandas.

    Why: sqlite_utils imports pandas whenever it is installed (`tuilabel[ray]` brings it in,
    for Ray Data) only to store `pandas.Timestamp` values as TEXT, which tuilabel never
    stores; that import cost about 0.4 s on every command that opens a store, `score`'s
    start-up among them. While sqlite_utils loads, `sys.modules["pandas"] = None` makes its
    `import pandas` fail as if pandas were absent (the import system's documented
    behaviour); afterwards pandas imports normally for whoever needs it."""
    if "sqlite_utils" in sys.modules or "pandas" in sys.modules:
        import sqlite_utils

        return sqlite_utils
    sys.modules["pandas"] = None  # type: ignore[assignment]
    try:
        import sqlite_utils
    finally:
        if sys.modules.get("pandas", False) is None:
            del sys.modules["pandas"]
    return sqlite_utils


sqlite_utils = _import_sqlite_utils()

BUSY_SECONDS = 5.0


class SQLiteStore(SQLStore):
    driver_error = sqlite3.Error
    #: Takes the write lock at once, so two processes never interleave a read-then-write.
    begin_sql = "BEGIN IMMEDIATE"
    column_types = {"id": "INTEGER PRIMARY KEY", "int": "INTEGER", "bigint": "INTEGER",
                    "float": "REAL", "str": "TEXT", "text": "TEXT"}

    def __init__(self, path: str | Path, *, busy_seconds: float = BUSY_SECONDS,
                 read_only: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.name = str(self.path)
        self.busy_seconds = busy_seconds
        self.read_only = read_only
        #: How a read-only URI opens this file (immutable=1 on a read-only file system).
        self._uri_query = "?mode=ro"
        if self.path.is_dir():
            raise StoreError(f"{self.name} is a folder, not a database file")
        if read_only and self._open_read_only():
            return
        self.conn = self._connect(str(self.path), uri=False)
        self.db = sqlite_utils.Database(self.conn)
        try:
            # Reading the schema first makes a file that is not SQLite fail here, untouched.
            self.conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            self.conn.execute("PRAGMA foreign_keys = ON")
            # FULL: a rating shown as stored survives even a power loss (0.1 ms more a commit).
            self.conn.execute("PRAGMA synchronous = FULL")
            self.db.enable_wal()
        except sqlite3.DatabaseError as exc:
            raise self._open_failed(exc) from exc
        self._migrate(
            "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT)",
        )

    def rating_arrow(self, rater: str | None = None, model: str | None = None, k: int = 5,
                     labels: int | None = None) -> Any:
        """The rows of `rating_columns` as a `pyarrow.Table` with the same column names, read
        through the ADBC SQLite driver on a read-only connection of its own: SQLite's values
        go straight into Arrow columns, with no Python object per value (on a million ratings
        several times faster than `fetchall()`). None when `adbc-driver-sqlite` is not
        installed. Column types are as SQLite holds them (ADBC infers them from the values);
        the reader casts. Raises StoreError when the driver fails.

        ADBC's low-level API is used, not its DB-API module, which imports pyarrow.dataset
        (and through it pandas, when installed): a second of CPU at every start."""
        try:
            import adbc_driver_manager
            import adbc_driver_sqlite
            import pyarrow
        except ImportError:
            return None
        sql, params, _ = self._rating_columns_query(rater, model, k, labels)
        uri = (self.path.resolve().as_uri().replace("file://", "file:", 1)
               + self._uri_query)
        opened: list[Any] = []
        try:
            db = adbc_driver_sqlite.connect(uri)
            opened.append(db)
            conn = adbc_driver_manager.AdbcConnection(db)
            opened.append(conn)
            stmt = adbc_driver_manager.AdbcStatement(conn)
            opened.append(stmt)
            stmt.set_sql_query(sql)
            if params:
                stmt.prepare()
                stmt.bind(pyarrow.record_batch([pyarrow.array([p]) for p in params],
                                               names=[f"p{i}" for i in range(len(params))]))
            handle, _ = stmt.execute_query()
            return pyarrow.RecordBatchReader._import_from_c(handle.address).read_all()
        except adbc_driver_manager.Error as exc:
            raise StoreError(f"reading ratings from {self.name} through ADBC failed: "
                             f"{exc}") from exc
        finally:
            for handle_ in reversed(opened):
                handle_.close()

    def _connect(self, target: str, *, uri: bool) -> sqlite3.Connection:
        try:
            return sqlite3.connect(target, timeout=self.busy_seconds, isolation_level=None,
                                   check_same_thread=False, uri=uri)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {self.name}: {exc}") from exc

    def _open_failed(self, exc: sqlite3.DatabaseError) -> StoreError:
        self.conn.close()
        self._closed = True
        if "not a database" in str(exc) or "malformed" in str(exc):
            return StoreError(f"{self.name} is not a SQLite database")
        return self._translate("opening the database", exc)

    def _open_read_only(self) -> bool:
        """Open for reading only (stats, export, roc): `mode=ro`, so nothing is ever written,
        not even a schema into an empty file; on a read-only file system, where a WAL
        database cannot be opened so (no -shm file can be made), `immutable=1`, which reads
        the file as it stands (SQLite's URI filenames, https://sqlite.org/uri.html).
        Returns False when the database needs an upgrade (a migration) and may be written:
        then it is opened to write, and upgraded, as every older database is."""
        if self.path.is_file() and self.path.stat().st_size == 0:
            raise StoreError(f"{self.name} is an empty file, not a tuilabel database: run "
                             "`tuilabel label` or `tuilabel load` first")
        base = "file:" + urllib.parse.quote(str(self.path.absolute()))
        for query in ("?mode=ro", "?mode=ro&immutable=1"):
            self._uri_query = query
            self.conn = self._connect(base + query, uri=True)
            self._closed = False
            try:
                tables = {row[0] for row in self.conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'")}
                break
            except sqlite3.OperationalError as exc:  # a WAL database on a read-only disk
                if query.endswith("immutable=1"):
                    raise self._open_failed(exc) from exc
                self.conn.close()
            except sqlite3.DatabaseError as exc:
                raise self._open_failed(exc) from exc
        self.db = sqlite_utils.Database(self.conn)
        if "migrations" not in tables or "images" not in tables:
            self.close()
            raise StoreError(f"{self.name} is not a tuilabel database (no images table)")
        if self._pending_read_only():
            self.close()
            if os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK):
                self._closed = False
                return False
            raise StoreError(f"{self.name} was made by an older tuilabel and cannot be "
                             "upgraded here (read-only): open it once where it can be written")
        return True

    def _pending_read_only(self) -> list[str]:
        from tuilabel.store.schema import MIGRATIONS

        done = {row[0] for row in self.conn.execute("SELECT name FROM migrations")}
        return [m.name for m in MIGRATIONS if m.name not in done]

    def _translate(self, action: str, exc: BaseException) -> StoreError:
        if "locked" in str(exc) or "busy" in str(exc):
            return StoreError(
                f"{self.name} is locked by another writer (waited {self.busy_seconds:g} s); "
                f"{action} did not happen"
            )
        return StoreError(f"{self.name}: {action} failed: {exc}")

    def _fail(self, action: str, exc: BaseException) -> StoreError:
        return self._translate(action, exc)

    # -- backend hooks (see SQLStore) ---------------------------------------------------------
    # Placeholders: qmark, as written. Retry: none here, SQLite's busy timeout already waits
    # for another writer, and there is no connection to lose.
    def _cursor_execute(self, sql: str, params: Sequence[Any]) -> Any:
        return self.conn.execute(sql, params)

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        before = self.conn.total_changes
        self.conn.executemany(sql, rows)
        return self.conn.total_changes - before

    def _last_row_id(self, cursor: Any) -> int:
        return int(cursor.lastrowid)

    def _claim_lock(self) -> Any:
        return nullcontext()  # BEGIN IMMEDIATE already serialises writers

    def _insert_ignore(self, table: str, columns: Sequence[str]) -> str:
        marks = ", ".join("?" * len(columns))
        return f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) VALUES ({marks})"

    def _close(self) -> None:
        self.conn.close()
