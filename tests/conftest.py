"""Shared fixtures: a store on every backend, a real MariaDB database per test, the repo paths.

The MySQL half of `store` needs a server (TUILABEL_TEST_MYSQL, default
mysql://root@127.0.0.1:3306). Without one the MySQL tests skip with the reason; with CI set
they fail instead, so that CI cannot pass by skipping them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MYSQL_URL = os.environ.get("TUILABEL_TEST_MYSQL", "mysql://root@127.0.0.1:3306")


def _mysql_server_params() -> dict:
    from urllib.parse import urlsplit

    parts = urlsplit(MYSQL_URL)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": os.environ.get("TUILABEL_TEST_MYSQL_PASSWORD", parts.password or ""),
    }


def _mysql_unavailable() -> str | None:
    try:
        import pymysql

        conn = pymysql.connect(connect_timeout=3, **_mysql_server_params())
        conn.close()
    except Exception as exc:  # any failure means: no usable server
        return f"no MySQL/MariaDB server at {MYSQL_URL}: {exc}"
    return None


@pytest.fixture(scope="session")
def mysql_available() -> bool:
    reason = _mysql_unavailable()
    if reason is None:
        return True
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and the MySQL tests cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture
def mysql_url(mysql_available: bool) -> Iterator[str]:
    """A URL to a fresh, uniquely named MySQL database, dropped after the test."""
    import pymysql

    name = f"tuilabel_test_{uuid.uuid4().hex[:12]}"
    params = _mysql_server_params()
    base = MYSQL_URL.rstrip("/")
    yield f"{base}/{name}"
    conn = pymysql.connect(connect_timeout=5, **params)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return str(tmp_path / "tuilabel.db")


@pytest.fixture(params=["sqlite", pytest.param("mysql", marks=pytest.mark.mysql)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL on each backend: every test using it runs once per backend."""
    if request.param == "sqlite":
        return str(tmp_path / "tuilabel.db")
    return request.getfixturevalue("mysql_url")


@pytest.fixture
def store(db_url: str):
    """An open, empty Store on each backend."""
    from tuilabel.store import open_store

    s = open_store(db_url)
    yield s
    s.close()


def run_cli(*args: str, input: str | bytes | None = None, cwd: Path | None = None,
            env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `python -m tuilabel ARGS` in a subprocess, as a user would, capturing output."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "TUILABEL_DEBUG": ""}
    full_env.pop("TUILABEL_DB", None)
    if env:
        full_env.update(env)
    text = not isinstance(input, bytes)
    return subprocess.run(
        [sys.executable, "-m", "tuilabel", *args],
        input=input, capture_output=True, text=text, cwd=cwd or REPO, env=full_env,
        timeout=timeout,
    )


def run_cli_on_a_terminal(*args: str, cwd: Path | None = None, timeout: float = 120
                          ) -> tuple[int, str]:
    """Run `python -m tuilabel ARGS` with stderr on a pseudo-terminal (where progress bars
    draw); returns the exit code and everything written to that terminal."""
    import pty

    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm-256color", "COLUMNS": "160",
           "TUILABEL_DEBUG": ""}
    proc = subprocess.Popen([sys.executable, "-m", "tuilabel", *args], cwd=cwd or REPO,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave,
                            env=env)
    os.close(slave)
    seen = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        seen += data
    os.close(master)
    return proc.wait(timeout=timeout), seen.decode(errors="replace")
