"""Shared fixtures: a store on every backend, a real MariaDB database per test, the repo paths.

The MySQL half of `store` needs a server (TUILABEL_TEST_MYSQL, default
mysql://root@127.0.0.1:3306). Without one the MySQL tests skip with the reason; with CI set
they fail instead, so that CI cannot pass by skipping them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
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


#: Set, with a value unique to the running test, in the environment every process started by
#: the test inherits (tmux and its panes, xterm, Xvfb, `python -m tuilabel`, servers).
PROCESS_TAG_ENV = "TUILABEL_TEST_PROCESS_TAG"
#: How long a test's processes may take to exit after it ends (tmux kill-server hangs up the
#: app, which then releases its claims and quits).
PROCESS_GRACE_SECONDS = 10.0


def tagged_processes(tag: str) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes whose environment holds PROCESS_TAG_ENV=tag.

    Reads /proc/PID/environ: the environment a process was started with, which is what
    children inherit, even through tmux's server or a shell. Zombies read as empty.
    """
    needle = f"{PROCESS_TAG_ENV}={tag}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if needle not in fh.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        found.append((int(entry), cmdline))
    return found


def orphaned_ray_processes(since: float) -> list[tuple[int, str]]:
    """(pid, command line) of the live `ray::…` processes started after `since` (seconds
    since boot) whose parent is PID 1: Ray's workers and agents left by a driver that is gone.

    Why apart from tagged_processes: Ray renames its Python processes (setproctitle), which
    blanks what /proc/PID/environ shows, so they carry no readable tag. Ray processes of a
    cluster that a module-scoped fixture started earlier are older than `since`, and the
    workers a live raylet starts are its children, so neither is counted."""
    from tuilabel.ray_reaper import processes  # (standard library only)

    tick = os.sysconf("SC_CLK_TCK")
    found = []
    for pid, (parent, started) in processes().items():
        if parent != 1 or started / tick < since:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmdline = fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # gone meanwhile
            continue
        if cmdline.startswith("ray::"):
            found.append((pid, cmdline))
    return found


def _seconds_since_boot() -> float:
    with open("/proc/uptime") as fh:
        return float(fh.read().split()[0])


@pytest.fixture(autouse=True)
def no_process_outlives_its_test() -> Iterator[None]:
    """Fail the test when a process it started is still running PROCESS_GRACE_SECONDS after
    it ended (a `tuilabel score` left in a killed terminal, a tmux server, Xvfb, a server).

    Each test tags the environment with a unique value; its processes inherit the tag. The
    leftovers are killed (by pid) before the failure is reported, so that one leak does not
    load the rest of the run. Processes meant to live longer belong to a session- or
    module-scoped fixture: those are set up before this fixture tags the environment.
    Ray's renamed processes carry no readable tag: `ray::` processes left to PID 1 during
    the test count too (orphaned_ray_processes). Without /proc (not Linux) nothing is checked.
    """
    if not os.path.isdir("/proc/self"):
        yield
        return
    tag = uuid.uuid4().hex
    since = _seconds_since_boot() - 1.0  # (starttime has clock-tick resolution)
    previous = os.environ.get(PROCESS_TAG_ENV)
    os.environ[PROCESS_TAG_ENV] = tag
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(PROCESS_TAG_ENV, None)
        else:
            os.environ[PROCESS_TAG_ENV] = previous

    def leftovers() -> list[tuple[int, str]]:
        return tagged_processes(tag) + orphaned_ray_processes(since)

    deadline = time.monotonic() + PROCESS_GRACE_SECONDS
    while (left := leftovers()) and time.monotonic() < deadline:
        time.sleep(0.1)
    if left:
        _end_processes([pid for pid, _ in left])
        listing = "\n".join(f"  {pid}: {cmd}" for pid, cmd in left)
        pytest.fail(f"{len(left)} process(es) started by this test outlived it by "
                    f"{PROCESS_GRACE_SECONDS:.0f} s (now killed):\n{listing}", pytrace=False)


def _end_processes(pids: list[int]) -> None:
    """SIGTERM, then SIGKILL after 3 s, to each of `pids` (the test's own leftovers)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(os.path.exists(f"/proc/{p}") and
                                                  is_running(p) for p in pids):
            time.sleep(0.1)


def is_running(pid: int) -> bool:
    """Whether `pid` is a live process (not gone, not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


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


@pytest.fixture
def tmpfs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A tmpfs (a disk that fills: see `fill_tmpfs`) of 64 KiB, or of the size given by
    `@pytest.mark.parametrize("tmpfs", ["4m"], indirect=True)`, unmounted after the test.
    Needs root (CI runs as root); skipped elsewhere, failed under CI."""
    size = getattr(request, "param", "64k")
    mount = tmp_path / "small"
    mount.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs: {r.stderr}")
        pytest.skip(f"cannot mount a tmpfs (needs root): {r.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill_tmpfs(mount: Path, leave: int) -> None:
    """Fill the file system at `mount` (with the file `filler`) until `leave` bytes are free."""
    import shutil

    free = shutil.disk_usage(mount).free
    (mount / "filler").write_bytes(b"x" * max(0, free - leave))
