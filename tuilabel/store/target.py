"""What `--db` names, parsed in one place: a SQLite file, or a MySQL/MariaDB server URL.

`open_store`, the MySQL backend and the CLI's output checks all read `--db` through
`parse_target`, so a URL means the same everywhere. The URL is split by hand rather than by
`urllib.parse.urlsplit`: a password holding an unescaped `/`, `?`, `#` or `@`
(`mysql://u:2024/Slash-SECRET@host:3306/db`) made urlsplit end the host at the `/` and take the
rest of the password for the database name, which an error message then quoted. Here the user
and password are everything before the last `@` of the part before the database path, and no
message ever quotes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from tuilabel.errors import StoreError

MYSQL_SCHEMES = ("mysql", "mariadb", "mysql+pymysql")

_BAD_URL = ("bad database URL: use mysql://user@host:port/dbname, the password in "
            "TUILABEL_DB_PASSWORD or ~/.my.cnf")


@dataclass(frozen=True)
class SQLiteTarget:
    path: str


@dataclass(frozen=True)
class MySQLTarget:
    host: str | None
    port: int | None
    user: str | None
    password: str | None = field(repr=False)
    database: str
    query: dict[str, list[str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The URL without any password (for messages)."""
        who = f"{self.user}@" if self.user else ""
        return f"mysql://{who}{self.host or '127.0.0.1'}:{self.port or 3306}/{self.database}"


def parse_target(target: str) -> SQLiteTarget | MySQLTarget:
    """`--db` as a SQLite path (a plain path or `sqlite://PATH`) or a MySQL URL
    (`mysql://[user[:password]@]host[:port]/dbname[?unix_socket=PATH]`). Raises StoreError for
    an unknown scheme or a URL that does not parse; no message quotes the user's password."""
    scheme, sep, rest = target.partition("://")
    if not sep or not scheme.replace("+", "").isalnum():
        return SQLiteTarget(target)  # a path (one holding "://" past a folder name too)
    scheme = scheme.lower()
    if scheme == "sqlite":
        return SQLiteTarget(rest)
    if scheme not in MYSQL_SCHEMES:
        raise StoreError(
            f"unknown database scheme {scheme + '://'!r}: use a file path or mysql://user@host/db"
        )
    return _parse_mysql(rest)


def _parse_mysql(rest: str) -> MySQLTarget:
    # The user part ends at the last "@" before the database path. A database name cannot hold
    # "@", so the last "@" of the whole URL is it unless the query holds one (unix_socket=...).
    query_at = rest.find("?", rest.rfind("@") + 1)
    head = rest if query_at < 0 else rest[:query_at]
    at = head.rfind("@")
    userinfo, hostpart = (rest[:at], rest[at + 1:]) if at >= 0 else ("", rest)
    user: str | None = None
    password: str | None = None
    if at >= 0:
        name, colon, secret = userinfo.partition(":")
        user = unquote(name) or None
        password = unquote(secret) if colon else None
    try:
        parts = urlsplit("mysql://" + hostpart)
        port = parts.port
        host = parts.hostname
    except ValueError:  # never quote it: the user may have mistyped around the password
        raise StoreError(_BAD_URL) from None
    database = unquote(parts.path.lstrip("/"))
    if not database:
        raise StoreError("the database URL names no database: use mysql://user@host/dbname")
    return MySQLTarget(host=host, port=port, user=user, password=password, database=database,
                       query=parse_qs(parts.query))
