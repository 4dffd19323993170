"""`label --engine ray --ray-address` through a two-node Ray cluster on this machine (`ray start
--head`, then `ray start --address`, two logical CPUs each), from the command line:
the results equal the local engine's (same top-k, scores within 1e-4, the same failures), the
model file reaches the workers through Ray's object store, nothing of Ray's reaches stdout, and a
driver killed mid-run loses at most its batches in flight: the rerun adds no duplicate and a run
after it adds nothing. No raylet, gcs_server or worker outlives the test."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO
from httpserver import HTTPTestServer, Response, unused_port
from labelkit import CLASSES, photo_bytes, tiny_model_path

from tuilabel.images import Fetcher
from tuilabel.model import load_classifier
from tuilabel.pipeline import image_jobs, label_photos
from tuilabel.store import open_store

pytest.importorskip("ray", reason="the Ray extra is not installed (pip install '.[ray]')")
from raykit import ray_env, two_node_cluster  # noqa: E402
from test_ray_engine import JPEG, assert_same_labels, failures_in, labels_in  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.ray]


@pytest.fixture(scope="module")
def tiny():
    return load_classifier(str(tiny_model_path()))


def _cli(*args: str, **kw) -> subprocess.Popen:
    env = {**ray_env(), "TUILABEL_DEBUG": "", "TUILABEL_CACHE": "/nonexistent-cache-dir"}
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
