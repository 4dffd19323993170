"""~/.my.cnf read as MySQL's client reads it (mycnf.py): groups, repeated options, includes,
comments and quotes, non-UTF-8 bytes; a file it cannot read is one line, exit 2, no secret."""

from __future__ import annotations

import os
import uuid

import pytest
from conftest import run_cli

from tuilabel.errors import StoreError
from tuilabel.store.mycnf import read_option_file


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_client_and_mysql_groups_in_file_order_last_wins(tmp_path):
    cnf = _write(tmp_path / "my.cnf", b"""# comment
; another
[mysqld]
password = server-side
[client]
user = alice
password = first
port=3307
[mysql]
password = "second # not a comment"   # a comment
[client]
host = db.example
pass_word_ignored
""")
    got = read_option_file(cnf)
    assert got == {"user": b"alice", "password": b"second # not a comment", "port": b"3307",
                   "host": b"db.example"}


def test_includes_escapes_and_bytes(tmp_path):
    (tmp_path / "conf.d").mkdir()
    _write(tmp_path / "conf.d" / "b.cnf", b"[client]\nuser=bob\n")
    _write(tmp_path / "conf.d" / "a.cnf", b"[client]\nuser=ann\npassword='p\\sw\\\\d'\n")
    _write(tmp_path / "conf.d" / "ignored.txt", b"[client]\nuser=nobody\n")
    _write(tmp_path / "inc.cnf", b"[client]\nsocket=/run/\xe9.sock\n")
    cnf = _write(tmp_path / "my.cnf", b"\xef\xbb\xbf[client]\npassword=\xff\xfe-latin\n"
                 b"!include inc.cnf\n!includedir " + os.fsencode(tmp_path / "conf.d") + b"\n")
    got = read_option_file(cnf)
    assert got["user"] == b"bob"  # a.cnf then b.cnf: sorted, the later wins
    assert got["password"] == b"p w\\d"
    assert got["socket"] == b"/run/\xe9.sock"


@pytest.mark.parametrize(("content", "message"), [
    (b"password=SECRET\n[client]\n", "line 1: an option before any [group]"),
    (b"[client\npassword=SECRET\n", "line 1: a group header without ']'"),
    (b"[client]\n!include /nonexistent/SECRET.cnf\n", "cannot read the MySQL option file"),
    (b"[client]\n!bogus x\n", "line 2: unknown directive"),
])
def test_a_file_it_cannot_read_is_one_clear_line(tmp_path, content, message):
    with pytest.raises(StoreError, match=message.replace("[", r"\[")) as err:
        read_option_file(_write(tmp_path / "my.cnf", content))
    assert "SECRET" not in str(err.value).replace("SECRET.cnf", "")


def test_an_unreadable_my_cnf_is_exit_2_without_the_password(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    _write(home / ".my.cnf", b"password=SECRET\n[client]\nuser=x\n")
    r = run_cli("stats", "--db", "mysql://u@127.0.0.1:3306/db", env={"HOME": str(home)})
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "SECRET" not in r.stderr
    assert "an option before any [group]" in r.stderr
    if os.geteuid() != 0:  # root reads any file
        (home / ".my.cnf").chmod(0)
        r = run_cli("stats", "--db", "mysql://u@127.0.0.1:3306/db", env={"HOME": str(home)})
        assert r.returncode == 2 and "Permission denied" in r.stderr


@pytest.mark.mysql
def test_a_password_from_an_included_file_logs_in(mysql_url, tmp_path, monkeypatch):
    # A real account whose password holds "/", "#", a space and a non-ASCII letter, given
    # through ~/.my.cnf -> !include -> [client] password="...": tuilabel logs in with it.
    import pymysql
    from conftest import _mysql_server_params

    user = f"tl_{uuid.uuid4().hex[:8]}"
    secret = "2024/Sl#sh é"
    admin = pymysql.connect(**_mysql_server_params())
    try:
        with admin.cursor() as cur:
            cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, secret))
            cur.execute(f"GRANT ALL ON *.* TO `{user}`@'%'")
        home = tmp_path / "home"
        home.mkdir()
        _write(home / "secret.cnf", b"[client]\npassword=\"" + secret.encode() + b"\"\n")
        _write(home / ".my.cnf", b"[mysql]\npassword=wrong\n!include "
               + os.fsencode(home / "secret.cnf") + b"\n")
        monkeypatch.setenv("HOME", str(home))
        monkeypatch.delenv("TUILABEL_DB_PASSWORD", raising=False)
        from tuilabel.store import open_store

        url = mysql_url.replace("mysql://root@", f"mysql://{user}@")
        with open_store(url) as store:
            assert store.count_images() == 0
        _write(home / "secret.cnf", b"[client]\npassword=wrong\n")
        with pytest.raises(StoreError, match="Access denied") as err:
            open_store(url)
        assert "wrong" not in str(err.value)
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP USER IF EXISTS `{user}`@'%'")
        admin.close()
