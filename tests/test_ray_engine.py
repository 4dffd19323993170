"""`label --engine ray` on a real local Ray (`ray.init(num_cpus=2)`): the results equal the local
engine's (same top-k per photo, scores within 1e-4), the failures are the same, the CSV matches,
a rerun adds nothing and --retry-failed retries; a model actor killed mid-run is restarted and
every photo is labeled once; a fetch/decode task killed while it waits on a photo is retried
(that photo is requested again) and every photo is labeled once, the failures the same; a
worker that cannot load the model says what the local engine says; without Ray installed, one
line says how to install it. The two-node cluster and the killed driver: test_ray_cluster.py."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, run_cli
from httpserver import HTTPTestServer, Response, unused_port
from labelkit import CLASSES, photo_bytes, tiny_model_path

from tuilabel.errors import ModelError
from tuilabel.images import Fetcher
from tuilabel.model import load_classifier
from tuilabel.pipeline import PhotoJob, label_photos
from tuilabel.store import open_store

ray = pytest.importorskip("ray", reason="the Ray extra is not installed (pip install '.[ray]')")
import raykit  # noqa: E402
from raykit import actor_pids, local_ray  # noqa: E402

from tuilabel import ray_engine  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.ray]

JPEG = {"Content-Type": "image/jpeg"}
FETCH = {"cache_dir": None, "timeout": (2.0, 2.0), "retries": 0}


@pytest.fixture(scope="module")
def tiny():
    return load_classifier(str(tiny_model_path()))


@pytest.fixture(scope="module")
def ray_session():
    with local_ray(num_cpus=2) as temp_dir:
        yield temp_dir


def serve(server: HTTPTestServer, n: int, delay: float = 0.0) -> list[PhotoJob]:
    """n photos of known class, then five that fail in five ways."""
    jobs = []
    for i in range(n):
        url = server.route(f"/p/{i}.jpg", Response(200, JPEG, photo_bytes(CLASSES[i % 3], i),
                                                    delay=delay))
        jobs.append(PhotoJob(f"t{i}", url, url, f"m{i}" if i % 2 else None))
    bad = {
        "http_404": Response(404, body=b"gone"),
        "not_image": Response(200, {"Content-Type": "text/html"}, b"<html>no</html>"),
        "truncated": Response(200, JPEG, photo_bytes("red", 99)[:300]),
    }
    for reason, response in bad.items():
        url = server.route(f"/bad/{reason}", response)
        jobs.append(PhotoJob(f"bad-{reason}", url, url))
    refused = f"http://127.0.0.1:{unused_port()}/x.jpg"
    jobs.append(PhotoJob("bad-refused", refused, refused))
    jobs.append(PhotoJob("bad-file", "/nonexistent/x.jpg", "/nonexistent/x.jpg"))
    return jobs


def engine(classifier, model: str, **kw) -> ray_engine.RayEngine:
    recipe = ray_engine.model_recipe(model, None, None, "float32", classifier,
                                     ship=kw.pop("ship", False))
    return ray_engine.RayEngine(recipe, classifier.input_size, fetcher_options=FETCH, **kw)


def labels_in(db) -> dict[tuple[str, str], tuple]:
    with open_store(db) as store:
        out = {}
        for image_id in range(1, store.count_images() + 1):
            image = store.get_image(image_id)
            out[(image.tweet_id, image.url)] = (image.media_id, image.predictions)
        return out


def failures_in(db: Path) -> dict[tuple[str, str], str]:
    with sqlite3.connect(db) as conn:
        return {(t, u): r for t, u, r in conn.execute("SELECT tweet_id, url, reason FROM failures")}


def assert_same_labels(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key, (media_a, preds_a) in a.items():
        media_b, preds_b = b[key]
        assert media_a == media_b
        assert [label for label, _ in preds_a] == [label for label, _ in preds_b], key
        np.testing.assert_allclose([s for _, s in preds_a], [s for _, s in preds_b], atol=1e-4)


def test_local_ray_equals_the_local_engine_then_resumes(ray_session, tiny, tmp_path):
    model = str(tiny_model_path())
    with HTTPTestServer() as server:
        jobs = serve(server, 20)
        with open_store(tmp_path / "local.db") as store:
            local = label_photos(store, tiny, jobs, fetcher=Fetcher(**FETCH), k=3, batch_size=4,
                                 handle_sigint=False)
        csv_out = io.StringIO()
        with open_store(tmp_path / "ray.db") as store:
            on_ray = label_photos(store, tiny, jobs, k=3, batch_size=4, csv_out=csv_out,
                                  handle_sigint=False, engine=engine(tiny, model))
        assert (on_ray.labeled, on_ray.n_failed) == (local.labeled, local.n_failed) == (20, 5)
        assert on_ray.failed == local.failed
        ray_labels = labels_in(tmp_path / "ray.db")
        assert_same_labels(ray_labels, labels_in(tmp_path / "local.db"))
        assert failures_in(tmp_path / "ray.db") == failures_in(tmp_path / "local.db")
        for job in jobs[:20]:  # and they are right
            top1 = ray_labels[(job.tweet_id, job.url)][1][0][0]
            assert top1 == CLASSES[int(job.tweet_id[1:]) % 3]
        rows = [line.split(",") for line in csv_out.getvalue().splitlines()]
        assert sorted(r[0] for r in rows) == sorted(j.tweet_id for j in jobs[:20])
        for row in rows:
            preds = ray_labels[(row[0], row[1])][1]
            assert row[2::2] == [label for label, _ in preds]

        # A rerun adds nothing and fetches nothing; --retry-failed tries the failed again.
        hits = server.count("/p/0.jpg")
        with open_store(tmp_path / "ray.db") as store:
            again = label_photos(store, tiny, jobs, k=3, batch_size=4, handle_sigint=False,
                                 engine=engine(tiny, model))
            assert (again.labeled, again.already, again.skipped_failed) == (0, 20, 5)
            assert store.count_images() == 20
            server.route("/bad/http_404", Response(200, JPEG, photo_bytes("blue", 7)))
            retry = label_photos(store, tiny, jobs, k=3, batch_size=4, handle_sigint=False,
                                 retry_failed=True, engine=engine(tiny, model))
            assert (retry.labeled, retry.n_failed, retry.already) == (1, 4, 20)
        assert server.count("/p/0.jpg") == hits


def test_a_worker_that_cannot_load_the_model_says_what_the_local_engine_says(ray_session,
                                                                               tiny, tmp_path):
    missing = str(tmp_path / "gone" / "model.keras")
    with pytest.raises(ModelError) as local:
        load_classifier(missing)
    recipe = ray_engine.ModelRecipe(missing)  # as if the workers lacked the driver's file
    runner = ray_engine.RayEngine(recipe, tiny.input_size, fetcher_options=FETCH)
    photo = tmp_path / "a.jpg"
    photo.write_bytes(photo_bytes("red", 1))
    with open_store(tmp_path / "x.db") as store, pytest.raises(ModelError) as on_ray:
        label_photos(store, tiny, [PhotoJob("a", str(photo), str(photo))], handle_sigint=False,
                     engine=runner)
    assert str(on_ray.value) == str(local.value)


def test_a_killed_model_worker_is_restarted_and_every_photo_labeled_once(ray_session, tiny,
                                                                          tmp_path):
    model = str(tiny_model_path())
    killed: list[int] = []

    def kill_the_actor(progress) -> None:
        if progress.batches == 2 and not killed:
            pids = actor_pids(ray_session, "_Predictor")
            assert pids, "no model actor found"
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            killed.extend(pids)

    with HTTPTestServer() as server:
        jobs = serve(server, 40, delay=0.1)[:40]
        with open_store(tmp_path / "k.db") as store:
            summary = label_photos(store, tiny, jobs, k=2, batch_size=4, handle_sigint=False,
                                   progress=kill_the_actor, engine=engine(tiny, model))
            assert killed
            assert (summary.labeled, summary.n_failed, summary.interrupted) == (40, 0, False)
            assert store.count_images() == 40
    labels = labels_in(tmp_path / "k.db")
    assert len(labels) == 40
    for job in jobs:
        assert labels[(job.tweet_id, job.url)][1][0][0] == CLASSES[int(job.tweet_id[1:]) % 3]


def test_a_killed_fetch_task_is_retried_and_every_photo_labeled_once(ray_session, tiny,
                                                                      tmp_path):
    """The first request for one photo is held 1.5 s (under the 2 s read timeout); while it
    is held, the fetch tasks then running (`ray::MapBatches(_fetch_block)`, the one waiting on
    that photo among them) are killed with SIGKILL. Ray Data's tasks have `max_retries=-1`
    (ray.data._internal.remote_fn): the task runs again on a new worker, so the photo is
    requested a second time, and its batch comes through once."""
    model = str(tiny_model_path())
    trap = "/p/21.jpg"
    arrived = threading.Event()
    killed: list[tuple[int, str, float]] = []

    def kill_fetch_tasks() -> None:
        if not arrived.wait(120):
            return
        since = time.monotonic()
        procs = raykit._processes()
        for pid in actor_pids(ray_session, "_fetch_block"):
            os.kill(pid, signal.SIGKILL)
            killed.append((pid, procs.get(pid, (0, '?'))[1], time.monotonic() - since))

    with HTTPTestServer() as server:
        jobs = serve(server, 40)
        with open_store(tmp_path / "local.db") as store:
            label_photos(store, tiny, jobs, fetcher=Fetcher(**FETCH), k=2, batch_size=4,
                         handle_sigint=False)
        body = photo_bytes(CLASSES[21 % 3], 21)
        before = server.count(trap)

        def held_once(request) -> Response:
            if server.count(trap) == before + 1:
                arrived.set()
                return Response(200, JPEG, body, delay=1.5)
            return Response(200, JPEG, body)

        server.route(trap, held_once)
        killer = threading.Thread(target=kill_fetch_tasks, daemon=True)
        killer.start()
        with open_store(tmp_path / "k.db") as store:
            summary = label_photos(store, tiny, jobs, k=2, batch_size=4, handle_sigint=False,
                                   engine=engine(tiny, model))
        killer.join(5)
        assert killed, "no fetch task was running while the photo was held"
        assert all(after < 1.0 for _, _, after in killed), killed  # within the 1.5 s hold
        assert server.count(trap) - before == 2, "the killed task's photos were not fetched again"
        assert (summary.labeled, summary.n_failed, summary.interrupted) == (40, 5, False)
        assert failures_in(tmp_path / "k.db") == failures_in(tmp_path / "local.db")
        with sqlite3.connect(tmp_path / "k.db") as conn:
            assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT tweet_id || ' ' || url_hash) "
                                "FROM images").fetchone() == (40, 40)
        assert_same_labels(labels_in(tmp_path / "k.db"), labels_in(tmp_path / "local.db"))
        with open_store(tmp_path / "k.db") as store:
            again = label_photos(store, tiny, jobs, k=2, batch_size=4, handle_sigint=False,
                                 engine=engine(tiny, model))
            assert (again.labeled, again.already, again.skipped_failed) == (0, 40, 5)
            assert store.count_images() == 40


def test_without_ray_the_engine_says_how_to_install_it(tmp_path):
    blocker = tmp_path / "noray"
    (blocker / "ray").mkdir(parents=True)
    (blocker / "ray" / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    photo = tmp_path / "a.jpg"
    photo.write_bytes(photo_bytes("red", 1))
    r = run_cli("label", "--images", str(tmp_path), "--engine", "ray", "--db",
                str(tmp_path / "x.db"), "-m", "nonexistent.keras",
                env={"PYTHONPATH": f"{blocker}{os.pathsep}{REPO}"})
    assert r.returncode == 2
    assert r.stderr.strip() == f"tuilabel: error: {ray_engine.INSTALL_HINT}"
