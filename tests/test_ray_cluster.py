"""`label --engine ray` from the command line. Through a two-node Ray cluster on this machine
(`ray start --head`, then `ray start --address`, two logical CPUs each, `--ray-address`): the
results equal the local engine's (same top-k, scores within 1e-4, the same failures), the
model file reaches the workers through Ray's object store, nothing of Ray's reaches stdout, and a
driver killed mid-run loses at most its batches in flight: the rerun adds no duplicate and a run
after it adds nothing. With the Ray the driver starts on this machine (no `--ray-address`): the
driver killed with SIGKILL takes every process of that Ray with it within seconds, and the rerun
completes with no duplicate. No raylet, gcs_server, agent or worker outlives a test."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, is_running
from httpserver import HTTPTestServer, Response, unused_port
from labelkit import CLASSES, photo_bytes, tiny_model_path

from tuilabel.images import Fetcher
from tuilabel.model import load_classifier
from tuilabel.pipeline import image_jobs, label_photos
from tuilabel.store import open_store

pytest.importorskip("ray", reason="the Ray extra is not installed (pip install '.[ray]')")
from raykit import (  # noqa: E402
    kill_leftovers,
    processes_using,
    ray_env,
    short_temp_dir,
    two_node_cluster,
)
from test_ray_engine import JPEG, assert_same_labels, failures_in, labels_in  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.ray]


@pytest.fixture(scope="module")
def tiny():
    return load_classifier(str(tiny_model_path()))


def _cli(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.Popen:
    env = {**ray_env(), "TUILABEL_DEBUG": "", "TUILABEL_CACHE": "/nonexistent-cache-dir",
           **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "tuilabel", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _listing(server: HTTPTestServer, tmp_path: Path, n: int, delay: float = 0.0) -> Path:
    lines = []
    for i in range(n):
        lines.append(server.route(f"/c/{i}.jpg", Response(200, JPEG,
                                                          photo_bytes(CLASSES[i % 3], 300 + i),
                                                          delay=delay)))
    lines.append(server.route("/c/bad", Response(200, {"Content-Type": "text/html"}, b"<p>")))
    lines.append(f"http://127.0.0.1:{unused_port()}/refused.jpg")
    listing = tmp_path / f"list-{n}.txt"
    listing.write_text("\n".join(lines) + "\n")
    return listing


def _rows(db: Path) -> tuple[int, int]:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT COUNT(*), COUNT(DISTINCT model || ' ' || url_hash "
                                "|| ' ' || tweet_id) FROM images").fetchone()
    except sqlite3.OperationalError:  # not created yet
        return 0, 0


def test_two_node_cluster_labels_as_the_local_engine_and_survives_a_killed_driver(tiny,
                                                                                  tmp_path):
    model = tmp_path / "m" / "tiny.keras"  # the workers get it through Ray's object store
    model.parent.mkdir()
    src = tiny_model_path()
    model.write_bytes(src.read_bytes())
    model.with_name("tiny.classes.txt").write_bytes(src.with_name("tiny.classes.txt").read_bytes())
    base = ["-m", str(model), "-k", "2", "--batch-size", "4"]
    with HTTPTestServer() as server, two_node_cluster(cpus_per_node=2) as (address, _):
        listing = _listing(server, tmp_path, 12)
        with open_store(tmp_path / "l.db") as store:
            jobs, _ = image_jobs(str(listing))
            label_photos(store, tiny, jobs, fetcher=Fetcher(cache_dir=None), k=2, batch_size=4,
                         handle_sigint=False)
        args = ["label", "--images", str(listing), *base, "--db", str(tmp_path / "c.db"),
                "--engine", "ray", "--ray-address", address, "--workers", "2", "--csv", "-"]
        proc = _cli(*args)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "labeled 12 photo(s) with tiny" in err and "failed: 2" in err, err
        assert len(out.splitlines()) == 12  # --csv -: nothing of Ray's on stdout
        assert_same_labels(labels_in(tmp_path / "c.db"), labels_in(tmp_path / "l.db"))
        assert failures_in(tmp_path / "c.db") == failures_in(tmp_path / "l.db")

        # The driver killed mid-run: whole batches only; the rerun finishes, no duplicate,
        # and a run after that adds nothing.
        slow = _listing(server, tmp_path, 40, delay=0.15)
        db = tmp_path / "kill.db"
        args = ["label", "--images", str(slow), *base, "--db", str(db), "--engine", "ray",
                "--ray-address", address]
        proc = _cli(*args)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and _rows(db)[0] < 8:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        done, distinct = _rows(db)
        assert done == distinct and 8 <= done < 40
        for expected in (f"already in the store: {done}", "labeled 0 photo(s)"):
            proc = _cli(*args)
            _, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            assert expected in err, err
            assert _rows(db) == (40, 40)


#: How long a killed driver's Ray may take to be gone (Ray's own agents took 60 s).
RAY_GONE_SECONDS = 10.0


def _wait_until_gone(folder: str, seen: dict[int, str], within: float
                     ) -> tuple[float, dict[int, str]]:
    """Seconds until no process uses `folder` and none of `seen` is alive, or `within`
    passed; returns the time taken and what is left (pid -> command line)."""
    start = time.monotonic()
    while True:
        left = {pid: cmd for pid, cmd in seen.items() if is_running(pid)}
        left.update(processes_using(folder))
        if not left or time.monotonic() - start > within:
            return time.monotonic() - start, left
        time.sleep(0.1)


def test_a_driver_killed_with_sigkill_takes_its_local_ray_with_it(tmp_path):
    ray_tmp = short_temp_dir()  # Ray's session of this test only: its processes log there
    env = {"RAY_TMPDIR": ray_tmp}
    seen: dict[int, str] = {}
    try:
        with HTTPTestServer() as server:
            listing = _listing(server, tmp_path, 120, delay=0.15)
            db = tmp_path / "kill.db"
            args = ["label", "--images", str(listing), "-m", str(tiny_model_path()), "-k", "2",
                    "--batch-size", "4", "--db", str(db), "--engine", "ray"]
            proc = _cli(*args, env=env)
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline and _rows(db)[0] < 8:
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.05)
            seen = processes_using(ray_tmp)
            titles = " | ".join(seen.values())
            for part in ("gcs_server", "raylet", "ray::DashboardAgent", "ray::RuntimeEnvAgent",
                         "ray::MapWorker(MapBatches(_Predictor))"):
                assert part in titles, f"{part} not among the run's processes: {titles}"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            took, left = _wait_until_gone(ray_tmp, seen, RAY_GONE_SECONDS)
            assert not left, (f"{len(left)} Ray process(es) of the killed driver still ran "
                              f"{took:.1f} s after it died: {left}")
            print(f"\n{len(seen)} Ray processes gone {took:.1f} s after the driver's SIGKILL")
            done, distinct = _rows(db)
            assert done == distinct and 8 <= done < 120

            # The rerun resumes: no duplicate, and its own Ray is gone when it exits.
            rerun = _cli(*args, env=env)
            _, err = rerun.communicate(timeout=300)
            assert rerun.returncode == 0, err
            assert f"already in the store: {done}" in err, err
            assert _rows(db) == (120, 120)
            took, left = _wait_until_gone(ray_tmp, {}, 1.0)
            assert not left, f"Ray process(es) outlived a finished run: {left}"
    finally:
        kill_leftovers(ray_tmp, set(seen) | set(processes_using(ray_tmp)), wait=0)
        shutil.rmtree(ray_tmp, ignore_errors=True)
