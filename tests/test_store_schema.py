"""One schema source, rendered by both backends; `--db` parsed in one place; widths checked
on every backend (a value too wide is a ValueError before any write, never a stopped batch
on MySQL alone)."""

from __future__ import annotations

import pytest

from tuilabel.errors import StoreError
from tuilabel.store import Failure, NewImage
from tuilabel.store.schema import TABLES, TEXT_MAX_BYTES, check_row
from tuilabel.store.target import MySQLTarget, SQLiteTarget, parse_target


def _columns(store) -> dict[str, dict[str, int | None]]:
    """{table: {column: width or None}} as the database itself reports them."""
    out: dict[str, dict[str, int | None]] = {}
    for table in TABLES:
        if store.__class__.__name__ == "SQLiteStore":
            rows = store.conn.execute(f"PRAGMA table_info({table})").fetchall()
            out[table] = {r[1]: None for r in rows}
        else:
            cur = store.conn.cursor()
            cur.execute("SELECT column_name, character_maximum_length FROM "
                        "information_schema.columns WHERE table_schema = %s AND table_name = %s",
                        (store.database, table))
            out[table] = dict(cur.fetchall())
    return out


def test_both_backends_create_the_tables_of_the_one_schema(store):
    found = _columns(store)
    for name, table in TABLES.items():
        assert set(found[name]) == {c.name for c in table.columns}
        if store.__class__.__name__ == "MySQLStore":  # VARCHAR widths are the schema's
            for col in table.columns:
                if col.kind == "str":
                    assert found[name][col.name] == col.width, (name, col.name)
                if col.kind == "text":
                    assert found[name][col.name] == TEXT_MAX_BYTES


def _image(url: str, tweet_id: str = "1") -> NewImage:
    return NewImage(tweet_id, url, "m", (("cat", 0.9),))


def test_a_url_too_long_for_mysql_is_refused_on_every_backend(store):
    # 70,000 characters: MySQL's TEXT holds 65,535 bytes ("Data too long for column 'url'"
    # stopped every `label` run there; SQLite took it). Refused alike, before any write.
    long_url = "http://example.com/" + "x" * 70_000
    with pytest.raises(ValueError, match="url of 70,019 bytes; at most 65,535"):
        store.add_images([_image("http://example.com/ok.jpg", "2"), _image(long_url)])
    assert store.count_images() == 0
    with pytest.raises(ValueError, match="url of"):
        store.add_failures([Failure("1", long_url, "m", "http_404")])
    # 65,535 bytes fit, in characters of 2 bytes too.
    fits = "http://e/" + "é" * ((TEXT_MAX_BYTES - 9) // 2)
    assert store.add_images([_image(fits)]) == 1
    assert store.known_photos("m", [("1", fits)]) == {("1", fits)}


def test_check_row_names_the_column_and_limit():
    with pytest.raises(ValueError, match="tweet_id of 65 characters; at most 64"):
        check_row("images", {"tweet_id": "9" * 65})
    with pytest.raises(ValueError, match="verdict 'maybe' is not one of"):
        check_row("ratings", {"verdict": "maybe"})
    check_row("images", {"media_id": None, "tweet_id": "1"})


@pytest.mark.parametrize(("url", "user", "password", "host", "port", "database"), [
    ("mysql://u:2024/Slash-SECRET@host:3306/db", "u", "2024/Slash-SECRET", "host", 3306, "db"),
    ("mysql://u:p@ss@h/db", "u", "p@ss", "h", None, "db"),
    ("mysql://u:a?b#c@h:1/db?unix_socket=/s", "u", "a?b#c", "h", 1, "db"),
    ("mariadb://h/db", None, None, "h", None, "db"),
    ("mysql://u%40x:p%2F@h/d%24b", "u@x", "p/", "h", None, "d$b"),
])
def test_mysql_urls_parse_whatever_the_password_holds(url, user, password, host, port, database):
    t = parse_target(url)
    assert isinstance(t, MySQLTarget)
    assert (t.user, t.password, t.host, t.port, t.database) == (user, password, host, port,
                                                                  database)
    assert password is None or password not in t.name and password not in repr(t)


def test_paths_and_sqlite_urls():
    assert parse_target("some/file.db") == SQLiteTarget("some/file.db")
    assert parse_target("sqlite:///tmp/x.db") == SQLiteTarget("/tmp/x.db")
    assert parse_target("./a://b.db") == SQLiteTarget("./a://b.db")
    with pytest.raises(StoreError, match="unknown database scheme 'postgres://'"):
        parse_target("postgres://u:secret@h/db")
    with pytest.raises(StoreError, match="bad database URL") as err:
        parse_target("mysql://u:secret@h:port/db")
    assert "secret" not in str(err.value)
