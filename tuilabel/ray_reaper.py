"""Ends the Ray that `label --engine ray` started on this machine when its driver dies.

Why: Ray ties its gcs_server and raylet to the driver that ran `ray.init` (the kernel's
parent-death signal) and its workers exit once their raylet is gone, but the raylet's
dashboard agent and runtime-env agent, having noticed the raylet's death, spend 60 s trying to
report it to the dead GCS (`publish_error_to_driver`'s fixed timeout) before they exit. A
driver killed with SIGKILL thus left two Ray processes running for a minute, per killed run.

How: the driver starts this script (`python -I ray_reaper.py DRIVER_PID`) before `ray.init`,
with a pipe on its stdin, in a session of its own (a terminal's Ctrl-C or hang-up does not
reach it). While stdin is open it notes, every POLL_SECONDS, the Ray processes the driver started
since (gcs_server, raylet, log_monitor and their descendants: agents, workers) with their
start times. When stdin reads end-of-file, the
driver has exited (normally, after `ray.shutdown()`) or died: every noted process still alive,
with the same start time (not a reused pid), gets SIGKILL, which is what Ray's own fate sharing
sends the raylet. A process started in the last POLL_SECONDS before the driver died is not
noted; such a worker exits by itself once its raylet is gone (within about 2 s, measured).
Linux only (it reads /proc); elsewhere it exits at once and Ray's own clean-up is all.

The descendants are found by their parent pids, not by an environment variable: Ray's Python
processes retitle themselves (`ray::DashboardAgent`) with setproctitle, which overwrites the
memory /proc/PID/environ shows, so a tag in their environment cannot be read back.

Standard library only, run by path with `-I`: it starts in tens of milliseconds and needs
neither Ray nor tuilabel's dependencies.
"""

from __future__ import annotations

import os
import selectors
import signal
import sys

#: Seconds between two looks at the driver's descendants.
POLL_SECONDS = 0.5

#: Seconds the driver waits for the reaper to end what is left after a normal exit.
GIVE_UP_SECONDS = 10.0


def processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, start time in clock ticks since boot) of every live process
    (zombies left out: nothing to stop)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if fields[0] == b"Z":
            continue
        out[int(entry)] = (int(fields[1]), int(fields[19]))
    return out


def ray_descendants(driver: int, table: dict[int, tuple[int, int]], since: int
                    ) -> dict[int, int]:
    """pid -> start time of the driver's children that run Ray's own programs (their command
    line names a `/ray/` folder: gcs_server, raylet, log_monitor.py) and were started at or
    after `since` (clock ticks), and of all their descendants (agents, workers). Anything else
    the driver started is not Ray's to end."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    stack = [pid for pid in children.get(driver, ())
             if pid != os.getpid() and table[pid][1] >= since and "/ray/" in _cmdline(pid)]
    found: dict[int, int] = {}
    while stack:
        pid = stack.pop()
        if pid not in found:
            found[pid] = table[pid][1]
            stack.extend(children.get(pid, ()))
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def reap(noted: dict[int, int]) -> list[int]:
    """SIGKILL each noted pid that is alive with its noted start time. Returns those
    signalled."""
    table = processes()
    killed = []
    for pid, started in noted.items():
        if pid == os.getpid() or table.get(pid, (0, -1))[1] != started:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except OSError:
            pass
    return killed


def watch(driver: int, poll: float = POLL_SECONDS) -> dict[int, int]:
    """Note the driver's descendants every `poll` seconds until stdin ends; returns every
    process noted (pid -> start time) that was still alive at the last look."""
    noted: dict[int, int] = {}
    since = processes().get(os.getpid(), (0, 0))[1]
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin.buffer, selectors.EVENT_READ)
    while True:
        table = processes()
        noted = {pid: t for pid, t in noted.items() if table.get(pid, (0, -1))[1] == t}
        noted.update(ray_descendants(driver, table, since))
        if selector.select(poll) and not os.read(sys.stdin.fileno(), 65536):
            return noted


def main(argv: list[str]) -> int:
    if not os.path.isdir("/proc/self"):
        return 0
    reap(watch(int(argv[1])))
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(main(sys.argv))
