"""The MySQL/MariaDB backend, chosen by a URL: mysql://user@host:3306/dbname.

The password comes from TUILABEL_DB_PASSWORD, else the URL, else the user's ~/.my.cnf
([client] section). It is never part of `name`, a message or a log line. The database is
created when missing (if the user may). The connection runs in autocommit mode, so every read
sees the latest committed data (several raters share one database); writes are explicit
transactions, and claims are serialised across processes with a named server lock.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pymysql

from tuilabel.errors import StoreError
from tuilabel.store.schema import MYSQL_MIGRATIONS
from tuilabel.store.sql import SQLStore

PASSWORD_ENV = "TUILABEL_DB_PASSWORD"
_DB_NAME = re.compile(r"^[A-Za-z0-9_$]{1,64}$")
CONNECT_TIMEOUT = 10
LOCK_SECONDS = 10


def _redacted(user: str | None, host: str, port: int, database: str) -> str:
    who = f"{user}@" if user else ""
    return f"mysql://{who}{host}:{port}/{database}"


class MySQLStore(SQLStore):
    driver_error = pymysql.MySQLError

    def __init__(self, *, host: str, port: int, user: str | None, password: str | None,
                 database: str, read_default_file: str | None = None,
                 unix_socket: str | None = None, create: bool = True) -> None:
        super().__init__()
        if not _DB_NAME.match(database):
            raise StoreError(
                f"database name {database!r} is not allowed: use letters, digits, _ and $"
            )
        self.name = _redacted(user, host, port, database)
        self.database = database
        self._in_write = False
        kwargs: dict[str, Any] = {
            "host": host, "port": port, "charset": "utf8mb4", "autocommit": True,
            "connect_timeout": CONNECT_TIMEOUT,
        }
        if user:
            kwargs["user"] = user
        if password is not None:
            kwargs["password"] = password
        if read_default_file:
            kwargs["read_default_file"] = read_default_file
        if unix_socket:
            kwargs["unix_socket"] = unix_socket
        try:
            self.conn = pymysql.connect(**kwargs)
        except pymysql.MySQLError as exc:
            raise StoreError(f"cannot connect to {self.name}: {_reason(exc)}") from exc
        try:
            with self.conn.cursor() as cur:
                if not create:
                    cur.execute(
                        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                        (database,),
                    )
                    if not cur.fetchone()[0]:
                        self.conn.close()
                        raise StoreError(
                            f"no database {self.name}: run `tuilabel label` or "
                            "`tuilabel load` first"
                        )
                cur.execute(
                    f"CREATE DATABASE IF NOT EXISTS `{database}` "
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
                )
            self.conn.select_db(database)
        except pymysql.MySQLError as exc:
            self.conn.close()
            raise StoreError(
                f"cannot create or use database {self.name}: {_reason(exc)}"
            ) from exc
        self._migrate(
            MYSQL_MIGRATIONS,
            "CREATE TABLE IF NOT EXISTS migrations (name VARCHAR(191) PRIMARY KEY, "
            "applied_at VARCHAR(32)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        )

    @classmethod
    def from_url(cls, url: str, *, create: bool = True) -> MySQLStore:
        """Open the database a mysql:// URL names (see the module docstring for passwords)."""
        try:
            parts = urlsplit(url)
            port = parts.port or 3306
        except ValueError:  # its message may quote a piece of the password: not shown
            raise StoreError(
                "bad database URL: use mysql://user@host:port/dbname, the password in "
                "TUILABEL_DB_PASSWORD"
            ) from None
        database = unquote(parts.path.lstrip("/"))
        if not database:
            raise StoreError("the database URL names no database: use mysql://user@host/dbname")
        password = os.environ.get(PASSWORD_ENV)
        if parts.password is not None:
            print("tuilabel: warning: a password in the database URL is visible in the process "
                  f"list and shell history; prefer {PASSWORD_ENV} or ~/.my.cnf", file=sys.stderr)
            if password is None:
                password = unquote(parts.password)
        cnf = Path("~/.my.cnf").expanduser()
        query = parse_qs(parts.query)
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=port,
            user=unquote(parts.username) if parts.username else None,
            password=password,
            database=database,
            read_default_file=str(cnf) if cnf.is_file() else None,
            unix_socket=(query.get("unix_socket") or [None])[0],
            create=create,
        )

    def _fail(self, action: str, exc: BaseException) -> StoreError:
        return StoreError(f"{self.name}: {action} failed: {_reason(exc)}")

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cur = self.conn.cursor()
        cur.execute(sql.replace("?", "%s"), tuple(params) if params else None)
        return cur

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        with self.conn.cursor() as cur:
            return int(cur.executemany(sql.replace("?", "%s"), [tuple(r) for r in rows]) or 0)

    @contextmanager
    def _write(self) -> Iterator[None]:
        if self._in_write:
            yield
            return
        self.conn.begin()
        self._in_write = True
        try:
            yield
        except BaseException:
            try:
                self.conn.rollback()
            except pymysql.MySQLError:
                pass
            raise
        else:
            self.conn.commit()
        finally:
            self._in_write = False

    @contextmanager
    def _claim_lock(self) -> Iterator[None]:
        lock = f"tuilabel.claims.{self.database}"[:64]
        got = self._scalar("SELECT GET_LOCK(?, ?)", [lock, LOCK_SECONDS])
        if got != 1:
            raise StoreError(
                f"{self.name}: another rater held the claim lock for over {LOCK_SECONDS} s"
            )
        try:
            yield
        finally:
            self._scalar("SELECT RELEASE_LOCK(?)", [lock])

    def _insert_ignore(self, table: str, columns: Sequence[str]) -> str:
        marks = ", ".join("?" * len(columns))
        return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
                "ON DUPLICATE KEY UPDATE id = id")

    def _close(self) -> None:
        self.conn.close()


def _reason(exc: BaseException) -> str:
    """The driver's message without its tuple wrapping: `(1045, "Access denied ...")`."""
    args = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[0], int):
        return f"{args[1]} (error {args[0]})"
    return str(exc) or type(exc).__name__
