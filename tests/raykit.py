"""Real Ray for the tests: a local instance and a two-node cluster on this machine, and a
teardown that leaves no Ray process behind.

Ray's processes are found by their session folder (a short private temp dir, because Ray's
Unix socket paths must stay under 107 bytes): gcs_server and raylet name it on their command
line, and every worker and actor is a child of a raylet. After `ray.shutdown()` / `ray stop`,
whatever of them is still alive is killed, so no raylet, gcs_server or actor survives a test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conftest import REPO

RAY_BIN = Path(sys.executable).with_name("ray")
OBJECT_STORE = 300 * 1024 * 1024


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, command line) of every process we can see."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if ") Z " in stat:  # a zombie: nothing left to stop
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        out[int(entry)] = (ppid, cmd)
    return out


def session_processes(temp_dir: str, *marks: str) -> set[int]:
    """Ray processes of the session under `temp_dir`: the ones naming it (or one of `marks`,
    such as the GCS address that the Ray Client server names) and their descendants (workers
    and actors of its raylets)."""
    procs = _processes()
    found = {pid for pid, (_, cmd) in procs.items()
             if any(m in cmd for m in (temp_dir, *marks)) and pid != os.getpid()}
    grew = True
    while grew:
        children = {pid for pid, (ppid, _) in procs.items() if ppid in found} - found
        found |= children
        grew = bool(children)
    found.discard(os.getpid())
    return found


def actor_pids(temp_dir: str, name: str) -> list[int]:
    """Processes of the session whose title holds `name` (Ray titles an actor's process
    `ray::MapWorker(MapBatches(_Predictor))...`)."""
    procs = _processes()
    return sorted(pid for pid in session_processes(temp_dir) if name in procs.get(pid, (0, ""))[1])


def kill_leftovers(temp_dir: str, known: set[int] = frozenset(), wait: float = 10.0,
                   marks: tuple[str, ...] = ()) -> list[int]:
    """Give Ray `wait` seconds to end the session's processes, then SIGKILL the rest.
    Returns the pids that had to be killed."""
    deadline = time.monotonic() + wait
    alive = session_processes(temp_dir, *marks) | {p for p in known if _alive(p)}
    while alive and time.monotonic() < deadline:
        time.sleep(0.3)
        alive = {p for p in alive if _alive(p)} | session_processes(temp_dir, *marks)
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return sorted(alive)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return ") Z " not in f.read().decode(errors="replace")
    except OSError:
        return False


def short_temp_dir() -> str:
    return tempfile.mkdtemp(prefix="tlray", dir="/tmp")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ray_env() -> dict[str, str]:
    """The environment Ray's processes get: this checkout of tuilabel first on the path."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2",
           "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    env.pop("RAY_ADDRESS", None)
    return env


@contextmanager
def local_ray(num_cpus: int = 2) -> Iterator[str]:
    """`ray.init(num_cpus=...)` in this process; yields the session's temp dir."""
    import logging

    import ray

    temp_dir = short_temp_dir()
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=num_cpus, object_store_memory=OBJECT_STORE, include_dashboard=False,
             _node_ip_address="127.0.0.1",
             _temp_dir=temp_dir, log_to_driver=False, logging_level=logging.ERROR,
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}})
    try:
        yield temp_dir
    finally:
        known = session_processes(temp_dir)
        ray.shutdown()
        kill_leftovers(temp_dir, known)
        shutil.rmtree(temp_dir, ignore_errors=True)


@contextmanager
def two_node_cluster(cpus_per_node: int = 1) -> Iterator[tuple[str, str]]:
    """A head node and a second node on this machine (`ray start --head`, then `ray start
    --address`); yields (address, temp dir). Stopped with `ray stop`'s signals sent to this
    session's processes only, then anything left is killed."""
    temp_dir = short_temp_dir()
    port = free_port()
    address = f"127.0.0.1:{port}"
    env = ray_env()
    common = ["--num-cpus", str(cpus_per_node), "--object-store-memory", str(OBJECT_STORE),
              "--disable-usage-stats"]
    known: set[int] = set()
    try:
        subprocess.run(
            [str(RAY_BIN), "start", "--head", "--port", str(port), "--temp-dir", temp_dir,
             "--include-dashboard", "false", "--node-ip-address", "127.0.0.1",
             "--min-worker-port", "0", "--max-worker-port", "0", *common],
            check=True, env=env, capture_output=True, text=True, timeout=180)
        known |= session_processes(temp_dir)
        subprocess.run(
            [str(RAY_BIN), "start", "--address", address, "--node-ip-address", "127.0.0.1",
             *common],
            check=True, env=env, capture_output=True, text=True, timeout=180)
        yield address, temp_dir
    finally:
        marks = (f":{port} ", f":{port}\n")  # the Ray Client server names the GCS address
        known |= session_processes(temp_dir, *marks)
        for pid in known:  # what `ray stop` does, for this session's processes alone
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        kill_leftovers(temp_dir, known, marks=marks)
        shutil.rmtree(temp_dir, ignore_errors=True)


def processes_using(folder: str) -> dict[int, str]:
    """pid -> command line of the live processes that name `folder` on their command line or
    hold a file under it open (a Ray session's log files: every gcs_server, raylet, agent and
    worker of a Ray whose temp dir is `folder` writes its logs there). Unlike the parent
    chain, this still finds them after their raylet died; unlike /proc/PID/environ, it is not
    blanked by the setproctitle that retitles them `ray::...`."""
    found = {}
    for pid, (_, cmd) in _processes().items():
        if pid == os.getpid():
            continue
        if folder in cmd:
            found[pid] = cmd
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith(folder):
                found[pid] = cmd
                break
    return found
