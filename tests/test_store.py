"""Store behaviour, run on every backend (the `store` fixture: SQLite and a real MariaDB)."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from tuilabel.errors import StoreError
from tuilabel.store import Failure, NewImage, open_store
from tuilabel.store import sql as sqlmod

BIG_ID = "1234567890123456789"  # > 2**53: must survive exactly


def img(i: int, model: str = "vgg16", score: float = 0.5, k: int = 5) -> NewImage:
    preds = [(f"label{i}_{j}", round(score / (j + 1), 6)) for j in range(k)]
    return NewImage(tweet_id=f"{1000 + i}", url=f"http://h/{i}.jpg", model=model,
                    predictions=preds, media_id=f"m{i}")


def test_add_images_is_idempotent_and_exact(store):
    big = NewImage(tweet_id=BIG_ID, url="http://h/big.jpg", model="vgg16",
                   predictions=[("tabby", 0.75), ("tiger_cat", 0.125)])
    assert store.add_images([big, img(1)]) == 2
    assert store.add_images([big, img(1), img(2)]) == 1
    assert store.count_images() == 3
    assert store.count_images("vgg16") == 3
    assert store.count_images("resnet50") == 0
    # the same photo labeled by another model is another image
    assert store.add_images([img(1, model="resnet50")]) == 1
    got = [store.get_image(i) for i in range(1, 5)]
    stored_big = next(g for g in got if g and g.url == "http://h/big.jpg")
    assert stored_big.tweet_id == BIG_ID
    assert stored_big.predictions == (("tabby", 0.75), ("tiger_cat", 0.125))
    assert store.get_image(99999) is None


@pytest.mark.parametrize(
    "bad",
    [
        NewImage("1", "http://h/x", "m", []),
        NewImage("1", "http://h/x", "m", [("a", 1.5)]),
        NewImage("1", "http://h/x", "m", [("a", float("nan"))]),
        NewImage("", "http://h/x", "m", [("a", 0.5)]),
        NewImage("1", "http://h/x", "m", [("a", 0.1)] * 11),
    ],
)
def test_add_images_rejects_bad_rows_and_stores_nothing(store, bad):
    with pytest.raises(ValueError):
        store.add_images([img(1), bad])
    assert store.count_images() == 0


def test_known_and_failed_photos(store):
    store.add_images([img(1), img(2)])
    pairs = [("1001", "http://h/1.jpg"), ("9999", "http://h/1.jpg"), ("1003", "http://h/3.jpg")]
    assert store.known_photos("vgg16", pairs) == {("1001", "http://h/1.jpg")}
    assert store.known_photos("other", pairs) == set()

    store.add_failures([Failure("1003", "http://h/3.jpg", "vgg16", "http_404", "Not Found")])
    store.add_failures([Failure("1003", "http://h/3.jpg", "vgg16", "timeout", "read timed out")])
    assert store.failed_photos("vgg16", pairs) == {("1003", "http://h/3.jpg")}
    assert store.stats().failures_by_reason == {"timeout": 1}
    # a later success clears the failure
    store.add_images([NewImage("1003", "http://h/3.jpg", "vgg16", [("x", 0.3)])])
    assert store.failed_photos("vgg16", pairs) == set()


def test_claim_orders(store):
    store.add_images([img(i, score=s) for i, s in [(1, 0.9), (2, 0.2), (3, 0.6)]])
    oldest = [i.url for i in store.claim_next("a", n=3, order="oldest")]
    assert oldest == ["http://h/1.jpg", "http://h/2.jpg", "http://h/3.jpg"]
    store.release_claims("a")
    uncertain = [i.score1 for i in store.claim_next("b", n=3, order="uncertain")]
    assert uncertain == [0.2, 0.6, 0.9]
    store.release_claims("b")
    random_order = store.claim_next("c", n=3, order="random")
    assert sorted(i.url for i in random_order) == sorted(oldest)
    with pytest.raises(ValueError):
        store.claim_next("c", order="sideways")


def test_two_raters_never_get_the_same_image(store):
    store.add_images([img(i) for i in range(6)])
    a = {i.id for i in store.claim_next("alice", n=4)}
    b = {i.id for i in store.claim_next("bob", n=4)}
    assert len(a) == 4 and len(b) == 2 and not a & b
    # alice asking again gets her own claims back (reopening continues where she stopped)
    assert {i.id for i in store.claim_next("alice", n=4)} == a
    # exclude: images this session skipped
    skipped = sorted(a)[:2]
    assert {i.id for i in store.claim_next("alice", n=4, exclude=skipped)} == a - set(skipped)


def test_expired_claims_are_given_out_again(store):
    store.add_images([img(1)])
    [first] = store.claim_next("alice", claim_seconds=-1)  # already expired
    [again] = store.claim_next("bob")
    assert again.id == first.id


def test_overlap_gives_each_image_to_n_raters(store):
    store.add_images([img(1), img(2)])
    for rater in ("a", "b"):
        for image in store.claim_next(rater, n=5, overlap=2):
            store.add_rating(image.id, rater, "top1")
    assert store.count_rated(overlap=2) == (2, 2)
    assert store.claim_next("c", n=5, overlap=2) == []
    assert len(store.claim_next("c", n=5, overlap=3)) == 2
    assert store.claim_next("a", n=5, overlap=3) == []  # a has rated both


def test_rating_replace_undo_and_counts(store):
    store.add_images([img(1), img(2)])
    first, second = store.claim_next("alice", n=2, order="oldest")
    r1 = store.add_rating(first.id, "alice", "top5")
    assert store.add_rating(first.id, "alice", "top1") == r1  # replaced, not added
    r2 = store.add_rating(second.id, "alice", "unrateable")
    assert store.count_rated() == (2, 2)
    verdicts = {(r.image.id, r.verdict) for r in store.iter_ratings()}
    assert verdicts == {(first.id, "top1"), (second.id, "unrateable")}
    assert store.delete_rating(r2) is True
    assert store.delete_rating(r2) is False
    assert store.count_rated() == (1, 2)
    assert store.get_image(second.id).n_ratings == 0
    # the undone image is offered again
    assert [i.id for i in store.claim_next("alice", n=2)] == [second.id]
    with pytest.raises(ValueError):
        store.add_rating(first.id, "alice", "maybe")
    with pytest.raises(StoreError):
        store.add_rating(987654, "alice", "top1")


def test_model_filter(store):
    store.add_images([img(1, model="vgg16"), img(2, model="resnet50")])
    [only] = store.claim_next("a", n=5, model="resnet50")
    assert only.model == "resnet50"
    store.add_rating(only.id, "a", "none")
    assert store.count_rated(model="resnet50") == (1, 1)
    assert store.count_rated(model="vgg16") == (0, 1)
    assert [r.image.model for r in store.iter_ratings(model="resnet50")] == ["resnet50"]
    assert list(store.iter_ratings(model="vgg16")) == []


def test_iter_ratings_pages_and_filters(store, monkeypatch):
    monkeypatch.setattr(sqlmod, "_PAGE", 3)
    store.add_images([img(i) for i in range(8)])
    images = store.claim_next("a", n=8, order="oldest")
    for n, image in enumerate(images):
        store.add_rating(image.id, "a" if n % 2 else "b", ["top1", "top5", "none"][n % 3])
    all_ratings = list(store.iter_ratings())
    assert [r.image.id for r in all_ratings] == [i.id for i in images]
    assert {r.rater for r in store.iter_ratings(rater="a")} == {"a"}
    assert len(list(store.iter_ratings(rater="a"))) == 4


def test_rating_columns(store):
    store.add_images([img(1, score=0.8, k=2), img(2, score=0.4, k=5)])
    a, b = store.claim_next("r", n=2, order="oldest")
    store.add_rating(a.id, "r", "top1")
    store.add_rating(b.id, "r", "none")
    cols = store.rating_columns(k=5)
    assert cols["image_id"] == [a.id, b.id]
    assert cols["verdict"] == ["top1", "none"]
    assert cols["score1"] == [0.8, 0.4]
    assert cols["score3"] == [None, pytest.approx(0.4 / 3, abs=1e-6)]
    assert cols["label2"] == ["label1_1", "label2_1"]
    assert store.rating_columns(rater="nobody")["verdict"] == []


def test_stats(store):
    store.add_images([img(1), img(2), img(3, model="resnet50")])
    store.add_failures([Failure("9", "http://h/9.jpg", "vgg16", "dns")])
    images = store.claim_next("a", n=3, order="oldest")
    store.add_rating(images[0].id, "a", "top1")
    store.add_rating(images[1].id, "a", "none")
    store.add_rating(images[1].id, "b", "top5")
    s = store.stats()
    assert s.images == 3
    assert s.images_by_model == {"resnet50": 1, "vgg16": 2}
    assert s.failures_by_reason == {"dns": 1}
    assert s.rated_images == 2
    assert s.ratings_by_verdict == {"none": 1, "top1": 1, "top5": 1}
    assert s.ratings_by_rater == {"a": 2, "b": 1}


def test_reopening_keeps_everything_and_records_migrations(db_url):
    with open_store(db_url) as s:
        s.add_images([img(1)])
        [image] = s.claim_next("a")
        s.add_rating(image.id, "a", "top1")
    with open_store(db_url) as s:
        assert s.count_rated() == (1, 1)
        from tuilabel.store.schema import MIGRATIONS

        names = [row[0] for row in s._rows("SELECT name FROM migrations ORDER BY name")]
        assert names == sorted(m.name for m in MIGRATIONS)


def test_closed_store_raises(store):
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.count_images()


def test_concurrent_claims_never_overlap(db_url):
    """Four raters with their own connections claim at once: every image goes to one rater."""
    with open_store(db_url) as s:
        s.add_images([img(i) for i in range(40)])
    got: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def rater(name: str) -> None:
        try:
            with open_store(db_url) as s:
                ids: list[int] = []
                for _ in range(5):
                    ids += [i.id for i in s.claim_next(name, n=2, exclude=ids)]
                got[name] = ids
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=rater, args=(f"r{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    every = [i for ids in got.values() for i in ids]
    assert len(every) == 40
    assert len(set(every)) == 40


# -- SQLite specifics -----------------------------------------------------------------------------
def test_sqlite_is_in_wal_mode(tmp_path):
    with open_store(tmp_path / "t.db") as s:
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_locked_by_another_writer_gives_clear_error(tmp_path):
    from tuilabel.store.sqlite import SQLiteStore

    path = tmp_path / "t.db"
    with open_store(path) as s:
        s.add_images([img(1)])
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        s = SQLiteStore(path, busy_seconds=0.3)
        with pytest.raises(StoreError, match="locked by another writer"):
            s.add_images([img(2)])
        s.close()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with open_store(path) as s:
        assert s.count_images() == 1


def test_sqlite_not_a_database_is_left_untouched(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a database\n" * 100)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a SQLite database"):
        open_store(path)
    assert path.read_bytes() == before
    with pytest.raises(StoreError, match="folder"):
        open_store(tmp_path)


def test_missing_sqlite_file_for_reading(tmp_path):
    with pytest.raises(StoreError, match="no database"):
        open_store(tmp_path / "absent.db", create=False)
    assert not (tmp_path / "absent.db").exists()


def test_unknown_scheme():
    with pytest.raises(StoreError, match="unknown database scheme"):
        open_store("postgres://u@h/db")


# -- MySQL specifics ------------------------------------------------------------------------------
@pytest.mark.mysql
def test_mysql_password_never_in_errors(mysql_available, monkeypatch):
    monkeypatch.delenv("TUILABEL_DB_PASSWORD", raising=False)
    with pytest.raises(StoreError) as info:
        open_store("mysql://nobody_here:s3cretPW@127.0.0.1:3306/tuilabel_nope")
    assert "s3cretPW" not in str(info.value)
    assert "nobody_here@127.0.0.1:3306/tuilabel_nope" in str(info.value)
    monkeypatch.setenv("TUILABEL_DB_PASSWORD", "An0therSecret")
    with pytest.raises(StoreError) as info:
        open_store("mysql://nobody_here@127.0.0.1:3306/tuilabel_nope")
    assert "An0therSecret" not in str(info.value)


@pytest.mark.mysql
def test_mysql_unreachable_and_bad_names(mysql_available):
    with pytest.raises(StoreError, match="cannot connect"):
        open_store("mysql://root@127.0.0.1:1/tuilabel_x")
    with pytest.raises(StoreError, match="not allowed"):
        open_store("mysql://root@127.0.0.1:3306/bad-name;drop")
    with pytest.raises(StoreError, match="names no database"):
        open_store("mysql://root@127.0.0.1:3306/")


@pytest.mark.mysql
def test_mysql_creates_the_database(mysql_url):
    with open_store(mysql_url) as s:
        assert s.count_images() == 0
        assert s.name == mysql_url


def test_renew_claims_keeps_what_is_still_free(store):
    store.add_images([img(i) for i in range(3)])
    a, b, c = (i.id for i in store.claim_next("alice", n=3, order="oldest", claim_seconds=-1))
    # alice's claims lapsed; bob takes one photo and rates another meanwhile
    [taken] = store.claim_next("bob", n=1, order="oldest")
    assert taken.id == a
    [rated] = store.claim_next("bob", n=1, order="oldest", exclude=[a])
    store.add_rating(rated.id, "bob", "top1")
    assert store.renew_claims("alice", [a, b, c]) == {c}
    assert store.claim_next("carol", n=3) == []  # c is alice's again, a is bob's, b is rated
    assert store.renew_claims("alice", [a, b, c], overlap=2) == {a, b, c}


def test_undo_gives_the_rater_the_claim_back(store):
    store.add_images([img(1)])
    [image] = store.claim_next("alice")
    rating = store.add_rating(image.id, "alice", "top1")
    store.delete_rating(rating)
    assert store.claim_next("bob") == []  # alice is rating it again
    assert [i.id for i in store.claim_next("alice")] == [image.id]


@pytest.mark.mysql
def test_mysql_read_only_open_does_not_create_a_database(mysql_url):
    with pytest.raises(StoreError, match="no database .*tuilabel load"):
        open_store(mysql_url, create=False)
    with open_store(mysql_url) as s:  # created by a writer
        s.add_images([img(1)])
    with open_store(mysql_url, create=False) as s:
        assert s.count_images() == 1


@pytest.mark.mysql
def test_mysql_password_in_url_warns_and_still_works(mysql_url, capsys, monkeypatch):
    monkeypatch.delenv("TUILABEL_DB_PASSWORD", raising=False)
    url = mysql_url.replace("root@", "root:@")  # an empty password, written in the URL
    with open_store(url) as s:
        assert s.count_images() == 0
    err = capsys.readouterr().err
    assert "warning: a password in the database URL" in err


def test_values_wider_than_the_mysql_columns_are_refused_on_every_backend(store):
    too_long = [
        NewImage("1" * 65, "http://h/x", "m", [("a", 0.5)]),
        NewImage("1", "http://h/x", "m" * 192, [("a", 0.5)]),
        NewImage("1", "http://h/x", "m", [("a" * 256, 0.5)]),
        NewImage("1", "http://h/x", "m", [("a", 0.5)], media_id="9" * 65),
    ]
    for image in too_long:
        with pytest.raises(ValueError, match="characters; at most"):
            store.add_images([image])
    store.add_images([img(1)])
    with pytest.raises(ValueError, match="rater name"):
        store.claim_next("r" * 192)
    with pytest.raises(ValueError, match="rater name"):
        store.add_rating(1, "r" * 192, "top1")
    assert store.count_images() == 1
