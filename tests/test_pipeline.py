"""The labeling pipeline against a real HTTP server on 127.0.0.1 and real stores (SQLite and
MariaDB): known classes land on the right photo whatever order downloads finish, failures are
stored with their reasons, runs resume, --retry-failed retries, batches equal single photos,
VGG16 (random weights) honours k, a stop request ends after the batch in flight, --images
takes a folder or a list, and the CSV matches the store.

The classifier is `test_rgb` (numpy, from the model registry: each test photo's dominant primary
colour, known in advance), so these tests import TensorFlow only for VGG16's own test."""

from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest
from conftest import REPO
from httpserver import HTTPTestServer, Response, unused_port
from labelkit import CLASSES, photo_bytes

from tuilabel.images import Fetcher
from tuilabel.model import load_classifier
from tuilabel.pipeline import (
    LabelSummary,
    LocalEngine,
    PhotoJob,
    Progress,
    image_jobs,
    label_photos,
    run_label,
)
from tuilabel.store import open_store

JPEG = {"Content-Type": "image/jpeg"}
PNG = {"Content-Type": "image/png"}


@pytest.fixture(scope="module")
def tiny():
    return load_classifier("test_rgb")


@pytest.fixture
def server():
    with HTTPTestServer() as s:
        yield s


def fetcher() -> Fetcher:
    return Fetcher(cache_dir=None, timeout=(2.0, 1.0), retries=0)


def serve_photos(server: HTTPTestServer, n: int, *, delay_first: float = 0.0) -> list[tuple]:
    """Serve n photos of known class; earlier photos answer more slowly, so downloads finish
    in roughly the reverse order of the input. Returns (job, class) pairs."""
    out = []
    for i in range(n):
        cls = CLASSES[i % 3]
        fmt, headers = ("PNG", PNG) if i % 4 == 0 else ("JPEG", JPEG)
        delay = delay_first * (n - i) / n
        url = server.route(f"/p/{i}.img", Response(200, headers, photo_bytes(cls, 500 + i, fmt),
                                                   delay=delay))
        out.append((PhotoJob(f"tw{i}", url, url, f"m{i}"), cls))
    return out


def stored(store) -> dict[tuple[str, str], object]:
    images = {}
    for image_id in range(1, store.count_images() + 50):
        image = store.get_image(image_id)
        if image is not None:
            images[(image.tweet_id, image.url)] = image
    return images


def test_known_classes_land_on_the_right_photo(server, tiny, db_url):
    photos = serve_photos(server, 21, delay_first=0.3)
    seen: list[Progress] = []
    with open_store(db_url) as store:
        summary = label_photos(store, tiny, [job for job, _ in photos], fetcher=fetcher(), k=2,
                               batch_size=5, fetchers=6, progress=seen.append, total=21)
        assert (summary.labeled, summary.already, summary.n_failed) == (21, 0, 0)
        assert summary.batches == 5  # 4 full batches of 5 and the last 1
        images = stored(store)
    assert len(images) == 21
    for job, cls in photos:
        image = images[(job.tweet_id, job.url)]
        assert image.model == "test_rgb"
        assert image.media_id == job.media_id
        assert len(image.predictions) == 2
        assert image.predictions[0][0] == cls, (job, image.predictions)
        assert image.predictions[0][1] > 0.5
    assert seen[-1].done == 21 and seen[-1].total == 21 and seen[-1].batches == 5


def test_failures_are_stored_with_reasons_and_retried_only_on_request(server, tiny, tmp_path,
                                                                       monkeypatch):
    from PIL import Image

    good = serve_photos(server, 4)
    big = io.BytesIO()
    Image.new("RGB", (200, 200), (0, 0, 255)).save(big, format="PNG")
    big_png = big.getvalue()
    bad_routes = {
        "http_404": Response(404, body=b"gone"),
        "http_403": Response(403, body=b"no"),
        "http_410": Response(410, body=b"gone for good"),
        "not_image": Response(200, {"Content-Type": "text/html"}, b"<html>hello</html>"),
        "truncated": Response(200, JPEG, photo_bytes("red", 1)[:400]),
        "empty": Response(200, JPEG, b""),
        "timeout": Response(200, JPEG, photo_bytes("red", 2), delay=3.0),
        "decompression_bomb": Response(200, PNG, big_png),
    }
    jobs = [job for job, _ in good]
    for reason, response in bad_routes.items():
        url = server.route(f"/bad/{reason}", response)
        jobs.append(PhotoJob(f"bad-{reason}", url, url))
    refused = f"http://127.0.0.1:{unused_port()}/x.jpg"
    jobs.append(PhotoJob("bad-refused", refused, refused))
    jobs.append(PhotoJob("bad-missing-file", str(tmp_path / "nope.jpg"),
                         str(tmp_path / "nope.jpg")))
    jobs.append(PhotoJob("bad-dns", "http://photos.invalid/x.jpg", "http://photos.invalid/x.jpg"))
    # The bomb is a 200x200 PNG; lowering Pillow's limit (good photos are 48x64) makes it one.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    db = tmp_path / "t.db"
    with open_store(db) as store:
        summary = label_photos(store, tiny, jobs, fetcher=fetcher(), batch_size=3, fetchers=4)
        assert summary.labeled == 4
        expected = dict.fromkeys(bad_routes, 1) | {"refused": 1, "not_found": 1, "dns": 1}
        assert dict(summary.failed) == expected
        pairs = [(j.tweet_id, j.url) for j in jobs]
        assert store.failed_photos("test_rgb", pairs) == set(pairs[4:])
        assert store.stats().failures_by_reason == expected

        # Second run: nothing new; failed photos are skipped, not retried.
        counts_before = {p: server.count(p) for p in ("/bad/http_404", "/p/0.img")}
        again = label_photos(store, tiny, jobs, fetcher=fetcher(), batch_size=3, fetchers=4)
        assert (again.labeled, again.already, again.skipped_failed) == (0, 4, 11)
        assert again.n_failed == 0
        assert {p: server.count(p) for p in counts_before} == counts_before

        # The 404 is fixed; --retry-failed labels it and clears its failure.
        server.route("/bad/http_404", Response(200, JPEG, photo_bytes("green", 9)))
        retry = label_photos(store, tiny, jobs, fetcher=fetcher(), batch_size=3, fetchers=4,
                             retry_failed=True)
        assert retry.labeled == 1 and retry.already == 4
        assert retry.n_failed == 10
        fixed = (jobs[4].tweet_id, jobs[4].url)
        assert fixed not in store.failed_photos("test_rgb", [fixed])
        assert stored(store)[fixed].predictions[0][0] == "green"


def test_batch_scores_equal_single_photo_scores(server, tiny, tmp_path):
    photos = serve_photos(server, 9)
    jobs = [job for job, _ in photos]
    scores = {}
    for batch_size in (9, 1):
        with open_store(tmp_path / f"b{batch_size}.db") as store:
            label_photos(store, tiny, jobs, fetcher=fetcher(), k=3, batch_size=batch_size,
                         fetchers=3)
            scores[batch_size] = {key: img.predictions for key, img in stored(store).items()}
    assert scores[9].keys() == scores[1].keys() and len(scores[9]) == 9
    for key, together in scores[9].items():
        alone = scores[1][key]
        assert [label for label, _ in together] == [label for label, _ in alone]
        np.testing.assert_allclose([s for _, s in together], [s for _, s in alone],
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_vgg16_random_weights_through_the_pipeline(server, tmp_path):
    vgg = load_classifier("vgg16", weights="none")
    photos = serve_photos(server, 3)
    with open_store(tmp_path / "v.db") as store:
        summary = label_photos(store, vgg, [j for j, _ in photos], fetcher=fetcher(), k=7,
                               batch_size=2)
        assert summary.labeled == 3
        images = stored(store)
    from tuilabel.model import imagenet_labels

    names = set(imagenet_labels())
    for image in images.values():
        assert image.model == "vgg16-random"
        assert len(image.predictions) == 7
        assert all(label in names for label, _ in image.predictions)
        scores = [s for _, s in image.predictions]
        assert scores == sorted(scores, reverse=True)


def test_stop_request_ends_after_the_batch_in_flight(server, tiny, tmp_path):
    photos = serve_photos(server, 12)
    jobs = [job for job, _ in photos]
    stop = threading.Event()

    def after_batch(p: Progress) -> None:
        if p.batches == 1:
            stop.set()

    with open_store(tmp_path / "s.db") as store:
        first = label_photos(store, tiny, jobs, fetcher=fetcher(), batch_size=4, fetchers=2,
                             progress=after_batch, stop=stop)
        # The batch the model had started when the first was written is written too.
        assert first.interrupted and first.batches in (1, 2)
        assert first.labeled == 4 * first.batches == store.count_images()
        rest = label_photos(store, tiny, jobs, fetcher=fetcher(), batch_size=4, fetchers=2)
        assert (rest.labeled, rest.already, rest.interrupted) == (12 - first.labeled,
                                                                  first.labeled, False)
        assert len(stored(store)) == 12


def test_fetching_goes_on_while_the_model_runs(server, tiny, tmp_path):
    # The local engine takes photos from the input (to fetch them) while the model works on a
    # batch. Before, the model ran in the calling thread, which fed the fetchers only between
    # batches, and the model sat idle for a round trip every few batches.
    photos = serve_photos(server, 16)
    pulls: list[float] = []
    in_model: list[tuple[float, float]] = []

    def jobs():
        for job, _ in photos:
            pulls.append(time.monotonic())
            yield job

    class Slow:  # test_rgb, taking a second per batch as a big model would
        name, input_size = tiny.name, tiny.input_size

        def predict(self, batch, k):
            start = time.monotonic()
            time.sleep(1.0)
            in_model.append((start, time.monotonic()))
            return tiny.predict(batch, k)

    engine = LocalEngine(Slow(), fetcher(), fetchers=2)
    batches = list(engine.outcomes(jobs(), k=1, batch_size=4, stop=threading.Event()))
    assert sorted(o.job.tweet_id for b in batches for o in b) == sorted(j.tweet_id
                                                                      for j, _ in photos)
    assert len(in_model) == 4
    during = [t for t in pulls if any(a < t < b for a, b in in_model)]
    assert during, (pulls, in_model)


def test_duplicate_photos_in_the_input_are_labeled_once(server, tiny, tmp_path):
    photos = serve_photos(server, 3)
    jobs = [job for job, _ in photos] * 3
    with open_store(tmp_path / "d.db") as store:
        summary = label_photos(store, tiny, jobs, fetcher=fetcher(), batch_size=2)
        assert summary.labeled == 3 and store.count_images() == 3
    assert server.count("/p/0.img") == 1


def test_images_folder_and_list(server, tiny, tmp_path, monkeypatch):
    folder = tmp_path / "pics"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jpg").write_bytes(photo_bytes("red", 1))
    (folder / "sub" / "b.png").write_bytes(photo_bytes("blue", 2, "PNG"))
    (folder / "notes.txt").write_text("not an image")
    monkeypatch.chdir(tmp_path)  # names as given, within a tweet id's 64 characters
    jobs, total = image_jobs("pics")
    jobs = list(jobs)
    assert total == 2 and [j.tweet_id for j in jobs] == ["pics/a.jpg", "pics/sub/b.png"]
    assert jobs[0].url == str((folder / "a.jpg").resolve())

    url = server.route("/g.jpg", Response(200, JPEG, photo_bytes("green", 3)))
    listing = tmp_path / "list.txt"
    listing.write_text(f"# my photos\npics/a.jpg\n\n{url}\npics/missing.jpg\n")
    out = io.StringIO()
    with open_store(tmp_path / "i.db") as store:
        list_jobs, n = image_jobs(str(listing))
        assert n == 3
        summary = label_photos(store, tiny, list_jobs, fetcher=fetcher(), k=1, csv_out=out,
                               total=n)
        assert summary.labeled == 2 and dict(summary.failed) == {"not_found": 1}
        images = stored(store)
    assert images[("pics/a.jpg", str((folder / "a.jpg").resolve()))].predictions[0][0] == "red"
    assert images[(url, url)].predictions[0][0] == "green"
    rows = sorted(line.split(",") for line in out.getvalue().splitlines())
    assert [r[:3] for r in rows] == sorted([["pics/a.jpg", str((folder / "a.jpg").resolve()),
                                             "red"], [url, url, "green"]])
    assert all(len(r) == 4 and 0 < float(r[3]) <= 1 for r in rows)


def test_csv_rows_match_the_store(server, tiny, tmp_path):
    photos = serve_photos(server, 5)
    out = io.StringIO()
    with open_store(tmp_path / "c.db") as store:
        label_photos(store, tiny, [j for j, _ in photos], fetcher=fetcher(), k=3, csv_out=out,
                     batch_size=2)
        images = stored(store)
    rows = [line.split(",") for line in out.getvalue().splitlines()]
    assert len(rows) == 5
    for row in rows:
        assert len(row) == 2 + 2 * 3
        image = images[(row[0], row[1])]
        assert row[2::2] == [label for label, _ in image.predictions]
        np.testing.assert_allclose([float(s) for s in row[3::2]],
                                   [s for _, s in image.predictions], rtol=1e-5)


def test_run_label_reads_tweets_and_reports(server, tiny, tmp_path):
    import json

    url = server.route("/t.jpg", Response(200, JPEG, photo_bytes("blue", 4)))
    tweets = tmp_path / "tweets.jsonl"
    tweets.write_text(
        json.dumps({"id_str": "42", "text": "hi", "user": {"id_str": "1"},
                    "extended_entities": {"media": [
                        {"id_str": "7", "type": "photo", "media_url_https": url}]}}) + "\n"
        + "not json\n"
        + json.dumps({"delete": {"status": {"id_str": "1"}}}) + "\n"
    )
    summary: LabelSummary = run_label(
        [str(tweets)], db=str(tmp_path / "r.db"), model="test_rgb", k=2,
        show_progress=False,
    )
    assert summary.labeled == 1 and summary.photos == 1
    assert any(line.startswith("input: 1 file read, 3 records seen") for line in summary.lines())
    with open_store(tmp_path / "r.db") as store:
        (image,) = stored(store).values()
    assert (image.tweet_id, image.url, image.media_id) == ("42", url, "7")
    assert image.predictions[0][0] == "blue"


def test_tweet_jobs_count_records_without_photos_as_collect_does(tmp_path):
    import json

    from tuilabel.pipeline import tweet_jobs
    from tuilabel.tweets import ReadStats

    f = tmp_path / "t.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in [
        {"delete": {"status": {"id_str": "1"}}},
        {"id_str": "2", "text": "no photo", "user": {"id_str": "9"}, "entities": {}},
        {"id_str": "3", "text": "photo", "user": {"id_str": "9"}, "extended_entities": {
            "media": [{"id_str": "30", "type": "photo",
                       "media_url_https": "https://example.org/p.jpg"}]}},
    ]) + "\n")
    stats = ReadStats()
    jobs = list(tweet_jobs([str(f)], stats=stats))
    assert [j.tweet_id for j in jobs] == ["3"]
    assert stats.kept == 1
    assert stats.skipped["no_photo"] == 1 and stats.skipped["not_tweet"] == 1


def test_fast_decode_is_an_explicit_option_that_changes_the_pixels(server, tiny, tmp_path):
    """By default the pipeline decodes every pixel of a JPEG (what keras.utils.load_img gives);
    `fast_decode=True` lets libjpeg scale it down first (Image.draft), which gives the model
    other pixels: the stored scores follow each decode exactly."""
    from tuilabel.images import decode_image
    from tuilabel.numpy_models import RgbClassifier

    data = (REPO / "sample_data" / "photos" / "grace_hopper.jpg").read_bytes()  # 517x606 JPEG
    url = server.route("/big.jpg", Response(200, JPEG, data))
    job = PhotoJob("t1", url, url)
    clf = RgbClassifier(input_size=(64, 64))  # draft scales 606x517 down by 1/4 for it
    scores = {}
    for fast in (False, True):
        with open_store(tmp_path / f"f{fast}.db") as store:
            label_photos(store, clf, [job], fetcher=fetcher(), k=3, fast_decode=fast)
            (image,) = stored(store).values()
        pixels = np.asarray(decode_image(data, size=(64, 64), fast=fast), np.float32)
        expected = clf.predict(pixels[None], k=3)[0]
        assert [label for label, _ in image.predictions] == [label for label, _ in expected]
        np.testing.assert_allclose([s for _, s in image.predictions],
                                   [s for _, s in expected], rtol=1e-6)
        scores[fast] = [s for _, s in image.predictions]
    assert scores[False] != scores[True]
