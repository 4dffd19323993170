"""tuilabel/ray_reaper.py without Ray: a stand-in driver starts the reaper, a program under a
`ray/` folder (as gcs_server and raylet are) with a child of its own, and an unrelated child;
killed with SIGKILL, the driver's Ray-like processes are gone within a second and the
unrelated one still runs (the reaper ends what is Ray's, nothing else)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import REPO, is_running

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="the reaper reads /proc")

REAPER = REPO / "tuilabel" / "ray_reaper.py"


def test_the_reaper_ends_the_killed_drivers_ray_processes_and_nothing_else(tmp_path: Path):
    fake = tmp_path / "ray" / "fake_raylet.py"  # "/ray/" on its command line, as Ray's own
    fake.parent.mkdir()
    fake.write_text(textwrap.dedent("""
        import subprocess, sys, time
        worker = subprocess.Popen(["sleep", "120"])
        print(worker.pid, flush=True)
        time.sleep(120)
    """))
    driver_code = textwrap.dedent(f"""
        import json, os, subprocess, sys, time
        reaper = subprocess.Popen([sys.executable, "-I", {str(REAPER)!r}, str(os.getpid())],
                                  stdin=subprocess.PIPE, start_new_session=True)
        raylet = subprocess.Popen([sys.executable, {str(fake)!r}], stdout=subprocess.PIPE,
                                  text=True)
        worker = int(raylet.stdout.readline())
        other = subprocess.Popen(["sleep", "120"])
        print(json.dumps({{"reaper": reaper.pid, "raylet": raylet.pid, "worker": worker,
                          "other": other.pid}}), flush=True)
        time.sleep(120)
    """)
    driver = subprocess.Popen([sys.executable, "-c", driver_code], stdout=subprocess.PIPE,
                              text=True)
    pids: dict[str, int] = {}
    try:
        pids = json.loads(driver.stdout.readline())
        time.sleep(1.5)  # the reaper looks every 0.5 s
        assert all(is_running(pid) for pid in pids.values()), pids
        driver.kill()
        driver.wait(10)
        killed_at = time.monotonic()
        while time.monotonic() - killed_at < 5 and is_running(pids["reaper"]):
            time.sleep(0.05)
        assert not is_running(pids["reaper"]), "the reaper did not finish"
        assert time.monotonic() - killed_at < 1.0
        assert not is_running(pids["raylet"]) and not is_running(pids["worker"])
        assert is_running(pids["other"]), "the reaper ended a process that is not Ray's"
    finally:
        driver.kill()
        for pid in pids.values():
            if is_running(pid):
                os.kill(pid, signal.SIGKILL)


def test_the_leak_check_sees_an_orphaned_ray_process():
    # Ray's renamed processes show no environment, so conftest's leak check also looks for
    # `ray::` processes that a test left to PID 1: one made here (a double fork; `exec -a`
    # sets its name) is found, and one older than the test is not.
    from conftest import _seconds_since_boot, orphaned_ray_processes

    since = _seconds_since_boot() - 1.0
    subprocess.run(["bash", "-c", "(exec -a ray::LeakCheck sleep 30 &)"], check=True)
    deadline = time.monotonic() + 5
    while not (found := [p for p, cmd in orphaned_ray_processes(since)
                         if cmd.startswith("ray::LeakCheck")]) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert len(found) == 1
        assert not [p for p, _ in orphaned_ray_processes(_seconds_since_boot() + 5)
                    if p == found[0]]
    finally:
        for pid in found:
            os.kill(pid, signal.SIGKILL)
