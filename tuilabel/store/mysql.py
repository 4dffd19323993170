"""The MySQL/MariaDB backend, chosen by a URL: mysql://user@host:3306/dbname.

The password comes from TUILABEL_DB_PASSWORD, else the URL, else the user's ~/.my.cnf (read
as MySQL's client reads it, see mycnf.py). It is never part of `name`, a message or a log line.
The database is created when missing (if the user may). The connection runs in autocommit
mode, so every read sees the latest committed data (several raters share one database); writes
are explicit transactions, and claims are serialised across processes with a named server
lock. A deadlock, a lock wait timeout or a lost connection (a restarted server) is retried by
`SQLStore._run`, reconnecting first when the connection is gone.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pymysql

from tuilabel.errors import StoreError
from tuilabel.store.mycnf import read_option_file, text
from tuilabel.store.sql import SQLStore
from tuilabel.store.target import MySQLTarget, parse_target

PASSWORD_ENV = "TUILABEL_DB_PASSWORD"
_DB_NAME = re.compile(r"^[A-Za-z0-9_$]{1,64}$")
CONNECT_TIMEOUT = 10
LOCK_SECONDS = 10

#: Server errors after which the transaction was rolled back and may simply run again:
#: 1213 deadlock, 1205 lock wait timeout.
RETRY_ERRORS = frozenset({1205, 1213})
#: Errors that mean the connection is gone (a restarted or unreachable server): reconnect,
#: then run again. 2002/2003 cannot connect, 2006 server has gone away, 2013 lost connection
#: during a query, 2055 lost connection (MySQL 8), 1053 server shutdown in progress, 1927
#: connection killed (MariaDB), 4031 disconnected for inactivity (MySQL 8).
RECONNECT_ERRORS = frozenset({1053, 1927, 2002, 2003, 2006, 2013, 2055, 4031})


class MySQLStore(SQLStore):
    driver_error = pymysql.MySQLError
    placeholder = "%s"
    column_types = {"id": "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY", "int": "INT",
                    "bigint": "BIGINT", "float": "DOUBLE", "str": "VARCHAR({width})",
                    "text": "TEXT"}
    table_options = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

    def __init__(self, *, host: str, port: int, user: str | None,
                 password: str | bytes | None, database: str,
                 unix_socket: str | None = None, create: bool = True,
                 read_only: bool = False) -> None:
        super().__init__()
        if not _DB_NAME.match(database):
            raise StoreError(
                f"database name {database!r} is not allowed: use letters, digits, _ and $"
            )
        self.name = MySQLTarget(host, port, user, None, database).name
        self.database = database
        self.read_only = False  # until the schema is checked (and upgraded where due)
        kwargs: dict[str, Any] = {
            "host": host, "port": port, "charset": "utf8mb4", "autocommit": True,
            "connect_timeout": CONNECT_TIMEOUT,
        }
        if user:
            kwargs["user"] = user
        if password is not None:
            # Bytes as typed: PyMySQL would encode a str as Latin-1, not as the server hashed it.
            kwargs["password"] = password.encode("utf-8", "surrogateescape") \
                if isinstance(password, str) else password
        if unix_socket:
            kwargs["unix_socket"] = unix_socket
        self._connect_args = kwargs
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
                if create:
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
        self._connect_args["database"] = database  # a reconnection opens it directly
        self._migrate(
            "CREATE TABLE IF NOT EXISTS migrations (name VARCHAR(191) PRIMARY KEY, "
            "applied_at VARCHAR(32)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        )
        self.read_only = read_only
        if read_only:  # after any upgrade: from here on the server refuses every write
            self._run("opening the database read-only", self._set_read_only)

    def _set_read_only(self) -> None:
        if self.read_only:
            self._execute("SET SESSION TRANSACTION READ ONLY")

    @classmethod
    def from_url(cls, url: str, *, create: bool = True, read_only: bool = False) -> MySQLStore:
        """Open the database a mysql:// URL names (see the module docstring for passwords).
        Raises StoreError for a URL that does not parse, an unreadable ~/.my.cnf or a server
        that refuses; no message holds the password."""
        target = parse_target(url)
        if not isinstance(target, MySQLTarget):
            raise StoreError("not a mysql:// URL: use mysql://user@host:port/dbname")
        password: str | bytes | None = os.environ.get(PASSWORD_ENV)
        if target.password is not None:
            print("tuilabel: warning: a password in the database URL is visible in the process "
                  f"list and shell history; prefer {PASSWORD_ENV} or ~/.my.cnf", file=sys.stderr)
            if password is None:
                password = target.password
        cnf_path = Path("~/.my.cnf").expanduser()
        cnf = read_option_file(cnf_path) if cnf_path.is_file() else {}
        if password is None and "password" in cnf:
            password = cnf["password"]
        port = target.port
        if port is None and "port" in cnf:
            try:
                port = int(cnf["port"])
            except ValueError:
                raise StoreError(f"{cnf_path}: port is not a number") from None
        socket = target.query["unix_socket"][0] if target.query.get("unix_socket") else None
        if socket is None and not target.host and "socket" in cnf:
            socket = text(cnf["socket"])
        user = target.user or (text(cnf["user"]) if cnf.get("user") else None)
        host = target.host or (text(cnf["host"]) if cnf.get("host") else "127.0.0.1")
        return cls(host=host, port=port or 3306, user=user, password=password,
                   database=target.database, unix_socket=socket, create=create,
                   read_only=read_only)

    def _fail(self, action: str, exc: BaseException) -> StoreError:
        if self._transient(exc) == "reconnect":
            return StoreError(f"{self.name}: {action} failed: the server could not be reached "
                              f"for {self.retry_seconds:g} s ({_reason(exc)})")
        return StoreError(f"{self.name}: {action} failed: {_reason(exc)}")

    # -- backend hooks (see SQLStore) ---------------------------------------------------------
    def _cursor_execute(self, sql: str, params: Sequence[Any]) -> Any:
        cur = self.conn.cursor()
        cur.execute(sql, tuple(params) if params else None)
        return cur

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        with self.conn.cursor() as cur:
            return int(cur.executemany(sql.replace("?", "%s"), [tuple(r) for r in rows]) or 0)

    def _last_row_id(self, cursor: Any) -> int:
        return int(cursor.lastrowid)

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
            with suppress(pymysql.MySQLError):  # a lost connection released it already
                self._scalar("SELECT RELEASE_LOCK(?)", [lock])

    def _insert_ignore(self, table: str, columns: Sequence[str]) -> str:
        marks = ", ".join("?" * len(columns))
        return (f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
                "ON DUPLICATE KEY UPDATE id = id")

    def _transient(self, exc: BaseException) -> str | None:
        if isinstance(exc, pymysql.err.InterfaceError):  # "(0, '')": the socket is closed
            return "reconnect"
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if code in RETRY_ERRORS:
            return "retry"
        if code in RECONNECT_ERRORS:
            return "reconnect"
        return None

    def _reconnect(self) -> None:
        with suppress(Exception):
            self.conn.close()
        self.conn = pymysql.connect(**self._connect_args)
        self._set_read_only()

    def _close(self) -> None:
        self.conn.close()


def _reason(exc: BaseException) -> str:
    """The driver's message without its tuple wrapping: `(1045, "Access denied ...")`; never
    empty (a closed connection raises `InterfaceError(0, '')`)."""
    args = exc.args
    if len(args) >= 2 and isinstance(args[0], int):
        if not args[1]:
            return "the connection to the server is closed" if args[0] == 0 \
                else f"error {args[0]}"
        return f"{args[1]} (error {args[0]})"
    return str(exc) or type(exc).__name__
