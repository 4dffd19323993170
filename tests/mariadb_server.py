"""A MariaDB server of the test's own (its own data folder, port and socket), that a test may
stop and start again: the shared server on 3306 is never restarted.

`mariadb-install-db` makes the data folder once (about 5 s); `mariadbd` runs with
`--skip-grant-tables` (any user, no password: nothing but the test can reach 127.0.0.1:PORT
for its few seconds) and small InnoDB buffers, so that it starts in about a second.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

INSTALL_DB = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
MARIADBD = shutil.which("mariadbd") or ("/usr/sbin/mariadbd"
                                        if os.path.exists("/usr/sbin/mariadbd") else None)
_SMALL = ["--innodb-log-file-size=4M", "--innodb-buffer-pool-size=16M"]
#: Server options of the running server only: a lock wait times out (1205) after 1 s.
_RUN = ["--innodb-lock-wait-timeout=1"]


def available() -> str | None:
    """None when a private server can be made here, else why not."""
    if not INSTALL_DB or not MARIADBD:
        return "mariadb-install-db / mariadbd not installed (apt-get install mariadb-server)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateMariaDB:
    """One server on 127.0.0.1:`port`, data under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        user = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run([INSTALL_DB, "--no-defaults", f"--datadir={self.data}",
                        "--auth-root-authentication-method=normal", "--skip-test-db",
                        *user, *_SMALL], check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        return f"mysql://root@127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        user = ["--user=root"] if os.geteuid() == 0 else []
        from conftest import PROCESS_TAG_ENV

        # The server belongs to the module's fixture, also when a test restarts it: without
        # the test's process tag, so that the leak check does not take it for the test's.
        env = {k: v for k, v in os.environ.items() if k != PROCESS_TAG_ENV}
        self.proc = subprocess.Popen(
            [MARIADBD, "--no-defaults", f"--datadir={self.data}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={self.root / 'sock'}",
             f"--pid-file={self.root / 'pid'}", f"--log-error={self.root / 'error.log'}",
             "--skip-grant-tables", *user, *_SMALL, *_RUN],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited: {(self.root / 'error.log').read_text()}")
            try:
                import pymysql

                pymysql.connect(host="127.0.0.1", port=self.port, user="root",
                                connect_timeout=1).close()
                return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.1)
        raise RuntimeError("mariadbd did not accept connections")

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), waited for."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
