"""Reviewing faster (issue 10), Pilot tests on SQLite and MariaDB: the grid view, going back,
filters and order, the 1/2/3 keys and a remapped key, blind rating, the tweet's text, the
sitting's summary. The app is built by the CLI's factory over a real database and real photo
files fetched by the real Fetcher; assertions are on what the store then holds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from test_tui_support import make_photo, ratings, run, saved, settle, until

from tuilabel.images import Fetcher
from tuilabel.store import NewImage, open_store
from tuilabel.tui.factory import make_score_app, open_store_thread


def fill(db_url: str, photo_dir: Path, rows: list[tuple[str, float]],
         texts: list[str | None] | None = None) -> list[int]:
    """Store one photo per (top-1 label, top-1 score); returns the ids in storage order."""
    photo_dir.mkdir(parents=True, exist_ok=True)
    images = []
    for i, (label, score) in enumerate(rows):
        path = make_photo(photo_dir / f"p{i}.png", colours=((20 * i % 255, 90, 30), (30, 30, 200)))
        preds = [(label, score), ("other_a", 0.02), ("other_b", 0.01)]
        images.append(NewImage(tweet_id=str(5000 + i), url=str(path), model="vgg16",
                               predictions=preds, text=(texts or [None] * len(rows))[i]))
    with open_store(db_url) as store:
        store.add_images(images)
        ids = [img.id for img in store.claim_next("__probe__", n=len(rows), order="oldest")]
        store.release_claims("__probe__")
    return ids


def build(db_url, **fields):
    store = open_store_thread(db_url)
    fields.setdefault("rater", "alice")
    fields.setdefault("order", "oldest")
    app = make_score_app(store, fetcher=Fetcher(cache_dir=None), roc=None, freeze_gc=False,
                         **fields)
    return store, app


def lines(app) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


async def page_drawn(pilot, app) -> None:
    """Wait until the grid shows a page with every tile's photo."""
    def drawn() -> bool:
        grid = app.grid
        if grid is None or not grid.is_mounted or grid.pages.shown is None:
            return False
        view = grid.view
        return view.page is grid.pages.shown and all(
            i.id in view.cells for i in view.page.images)

    await until(pilot, drawn, what="a grid page to be drawn")


async def pages_saved(pilot, app) -> None:
    await until(pilot, lambda: all(p.rating_ids is None or p.rating_ids.done()
                                   for p in app.grid.pages.history), what="pages stored")
    await pilot.pause(0.05)


def test_grid_page_stores_exceptions_in_one_go_undo_and_back(db_url, tmp_path):
    rows = [("tabby", 0.9)] * 9 + [("golden_retriever", 0.8)] * 3
    ids = fill(db_url, tmp_path / "photos", rows)
    store, app = build(db_url, grid=(3, 3))

    async def scenario():
        async with app.run_test(size=(120, 45)) as pilot:
            await page_drawn(pilot, app)
            page = app.grid.pages.shown
            assert [i.id for i in page.images] == ids[:9]  # one label per page, in order
            assert "1 top-1 correct" in lines(app) and "9 top-1 correct" in lines(app)
            await pilot.press("4")  # top5
            await pilot.press("7", "7")  # none
            await pilot.press("9", "9", "9")  # unrateable
            assert "4 in the top 5" in lines(app) and "7 none correct" in lines(app)
            assert ratings(db_url) == {}  # nothing stored before Enter
            await pilot.press("enter")
            await page_drawn(pilot, app)
            await pages_saved(pilot, app)
            got = ratings(db_url)
            assert got == {**dict.fromkeys(ids[:9], "top1"), ids[3]: "top5", ids[6]: "none",
                           ids[8]: "unrateable"}
            # the next page: the other label, three tiles
            assert [i.id for i in app.grid.pages.shown.images] == ids[9:]
            # u: the page's ratings are deleted and it is shown again with its verdicts
            await pilot.press("u")
            await until(pilot, lambda: ratings(db_url) == {}, what="the page undone")
            assert app.grid.pages.shown is page and page.verdicts[3] == "top5"
            await pilot.press("enter")
            await page_drawn(pilot, app)
            await pages_saved(pilot, app)
            assert len(ratings(db_url)) == 9
            # b: back to the stored page; a tile changed and Enter replaces its rating
            await pilot.press("b")
            await page_drawn(pilot, app)
            assert app.grid.pages.shown is page
            await pilot.press("1")
            await pilot.press("enter")
            await until(pilot, lambda: ratings(db_url).get(ids[0]) == "top5",
                        what="the re-rated tile")
            assert len(ratings(db_url)) == 9  # replaced, not added
            assert [i.id for i in app.grid.pages.shown.images] == ids[9:]  # forward again
            await pilot.press("enter")
            await pages_saved(pilot, app)
            await until(pilot, lambda: "Nothing left to rate" in lines(app), what="the end")

    try:
        run(scenario())
    finally:
        store.close()
    final = ratings(db_url)
    assert len(final) == 12 and final[ids[0]] == "top5" and final[ids[6]] == "none"
    assert all(final[i] == "top1" for i in ids[9:])
    assert app.summary().startswith("tuilabel score: 12 photo(s) rated by alice")


def test_a_skipped_grid_page_is_released_and_comes_back_at_the_end(db_url, tmp_path):
    rows = [("tabby", 0.9)] * 3 + [("golden_retriever", 0.8)] * 3
    ids = fill(db_url, tmp_path / "photos", rows)
    store, app = build(db_url, grid=(3, 1))

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await page_drawn(pilot, app)
            assert [i.id for i in app.grid.pages.shown.images] == ids[:3]
            await pilot.press("2")  # a verdict set, then the page skipped: nothing stored
            await pilot.press("s")
            await page_drawn(pilot, app)
            assert [i.id for i in app.grid.pages.shown.images] == ids[3:]
            assert "page skipped, back at the end of the sitting" in lines(app)
            # its claims were let go: another rater could take those photos meanwhile
            await until(pilot, lambda: _claimable(db_url) >= set(ids[:3]), what="the release")
            await pilot.press("enter")
            await pages_saved(pilot, app)
            # nothing else is left: the skipped page comes back, its tiles at top-1 again
            await until(pilot, lambda: app.grid.pages.shown is not None
                        and [i.id for i in app.grid.pages.shown.images] == ids[:3],
                        what="the skipped page back")
            assert app.grid.pages.shown.verdicts == ["top1"] * 3
            await page_drawn(pilot, app)
            await pilot.press("3")
            await pilot.press("enter")
            await pages_saved(pilot, app)
            await until(pilot, lambda: "Nothing left to rate" in lines(app), what="the end")

    try:
        run(scenario())
    finally:
        store.close()
    assert ratings(db_url) == {**dict.fromkeys(ids, "top1"), ids[2]: "top5"}


def _claimable(db_url: str) -> set[int]:
    """Ids another rater could claim now (claimed by a probe and released at once)."""
    with open_store(db_url) as s:
        got = {img.id for img in s.claim_next("__other__", n=50, order="oldest")}
        s.release_claims("__other__")
    return got


def test_two_raters_in_grid_mode_never_get_the_same_photo(db_url, tmp_path):
    rows = [("tabby", 0.9)] * 10 + [("tiger_cat", 0.7)] * 10
    fill(db_url, tmp_path / "photos", rows)
    store_a, app_a = build(db_url, rater="alice", grid=(2, 2), order="random")
    store_b, app_b = build(db_url, rater="bob", grid=(2, 2), order="random")

    async def rate(app, pages):
        seen = []
        async with app.run_test(size=(100, 40)) as pilot:
            for _ in range(pages):
                await page_drawn(pilot, app)
                grid = app.grid
                seen += grid.pages.claimed_ids()  # the page shown and the pages ahead
                await pilot.press("enter")
            await pages_saved(pilot, app)
            await pilot.press("q")
        return seen

    async def both():
        return await asyncio.gather(rate(app_a, 2), rate(app_b, 2))

    try:
        seen_a, seen_b = asyncio.run(both())
    finally:
        store_a.close()
        store_b.close()
    assert not set(seen_a) & set(seen_b)
    rated_a, rated_b = ratings(db_url, "alice"), ratings(db_url, "bob")
    # pages hold up to 4 photos of one label (fewer when a label runs out)
    assert 2 <= len(rated_a) <= 8 and 2 <= len(rated_b) <= 8
    assert set(rated_a) <= set(seen_a) and set(rated_b) <= set(seen_b)
    assert not set(rated_a) & set(rated_b)


def test_digit_keys_back_and_rerate_in_the_single_view(db_url, tmp_path):
    ids = fill(db_url, tmp_path / "photos", [("tabby", 0.9 - 0.1 * i) for i in range(5)])
    store, app = build(db_url)

    async def scenario():
        async with app.run_test(size=(110, 32)) as pilot:
            for key in "123":  # 1, 2, 3 work as j, k, l
                await settle(pilot, app)
                await pilot.press(key)
            await settle(pilot, app)
            await saved(pilot, app)
            assert ratings(db_url) == {ids[0]: "top1", ids[1]: "top5", ids[2]: "none"}
            # b twice: the second rating, with its stored verdict
            await pilot.press("b", "b")
            await until(pilot, lambda: app.photo.shown and app.photo.shown[0] == ids[1],
                        what="the earlier photo")
            assert "Stored:" in lines(app) and "in the top 5" in lines(app)
            await pilot.press("n")  # forward one: the third
            await until(pilot, lambda: app.photo.shown and app.photo.shown[0] == ids[2],
                        what="one forward")
            await pilot.press("b")
            await pilot.press("x")  # a new verdict replaces the stored one, then forward
            await until(pilot, lambda: ratings(db_url).get(ids[1]) == "unrateable",
                        what="the re-rating")
            assert app.session.back == 1 and app.session.shown.id == ids[2]
            await pilot.press("n")
            await settle(pilot, app)
            assert app.session.current.id == ids[3]
            await pilot.press("j")
            await saved(pilot, app)

    try:
        run(scenario())
    finally:
        store.close()
    assert ratings(db_url) == {ids[0]: "top1", ids[1]: "unrateable", ids[2]: "none",
                               ids[3]: "top1"}


def test_filters_and_class_order(db_url, tmp_path):
    rows = [("tabby", 0.95), ("golden_retriever", 0.9), ("tiger_cat", 0.4),
            ("tabby", 0.3), ("Egyptian_cat", 0.8), ("tabby", 0.6)]
    ids = fill(db_url, tmp_path / "photos", rows)
    with open_store(db_url) as s:
        from tuilabel.store.base import ImageFilter

        def claim(**kw):
            got = [i.id for i in s.claim_next("carl", n=10, **kw)]
            s.release_claims("carl")
            return got

        cats = ImageFilter(labels=("*cat", "TAB?Y"))  # globs, any of them, any case
        assert claim(order="oldest", where=cats) == [ids[0], ids[2], ids[3], ids[4], ids[5]]
        band = ImageFilter(labels=("tabby",), min_score=0.5, max_score=0.9)
        assert claim(order="oldest", where=band) == [ids[5]]
        # class: grouped by top-1 label (ordered by label), every photo once
        by_class = claim(order="class")
        labels = [rows[ids.index(i)][0] for i in by_class]
        assert sorted(by_class) == sorted(ids)
        assert list(dict.fromkeys(labels)) == ["Egyptian_cat", "golden_retriever", "tabby",
                                               "tiger_cat"]  # grouped, in label order
        assert labels == sorted(labels)
        assert s.count_rated(where=cats) == (0, 5)
    # the app hands out only the filtered photos, and counts only them
    store, app = build(db_url, labels=("tabby",), min_score=0.5)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, app)
            shown = [app.session.current.id]
            await pilot.press("j")
            await settle(pilot, app)
            shown.append(app.session.current.id)
            await pilot.press("l")
            await saved(pilot, app)
            await until(pilot, lambda: "Nothing left to rate" in lines(app), what="the end")
            assert "2 of 2 photos" in lines(app)
            return shown

    try:
        run(scenario())
    finally:
        store.close()
    assert ratings(db_url) == {ids[0]: "top1", ids[5]: "none"}


def test_a_remapped_key_from_the_config_file(sqlite_url, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[keys]\ntop1 = ["space", "1"]\nnone = ";"\nback = "p"\n')
    monkeypatch.setenv("TUILABEL_CONFIG", str(config))
    from tuilabel.config import load_keymap

    ids = fill(sqlite_url, tmp_path / "photos", [("tabby", 0.9)] * 4)
    store, app = build(sqlite_url, keys=load_keymap())

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, app)
            await pilot.press("space")
            await settle(pilot, app)
            await pilot.press("j")  # no longer a verdict key: nothing happens
            await pilot.pause(0.2)
            assert len(app.session.history) == 1
            await pilot.press("semicolon")
            await saved(pilot, app)
            await pilot.press("p")  # back, remapped from b
            await until(pilot, lambda: app.session.back == 1, what="back on p")
            await pilot.press("question_mark")
            await pilot.pause(0.2)
            assert "␣ 1 " in lines(app) and "Keys from" in lines(app)

    try:
        run(scenario())
    finally:
        store.close()
    assert ratings(sqlite_url) == {ids[0]: "top1", ids[1]: "none"}


@pytest.mark.parametrize("text, message", [
    ('[keys]\ntop1 = "s"\n', "given to both"),
    ('[keys]\nfrobnicate = "z"\n', "not a verdict or action"),
    ('[keys]\nback = "4"\n', "digits number the grid"),
    ("[keys\n", "not valid TOML"),
])
def test_a_bad_config_file_is_one_clear_line(tmp_path, text, message):
    from conftest import run_cli

    config = tmp_path / "config.toml"
    config.write_text(text)
    db = str(tmp_path / "t.db")
    fill(db, tmp_path / "photos", [("tabby", 0.9)])
    result = run_cli("score", "--db", db, env={"TUILABEL_CONFIG": str(config)}, input="")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and str(config) in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_blind_hides_scores_and_is_stored_and_exported(db_url, tmp_path):
    ids = fill(db_url, tmp_path / "photos", [("tabby", 0.87)] * 3)
    store, app = build(db_url, blind=True)

    async def scenario():
        async with app.run_test(size=(110, 32)) as pilot:
            await settle(pilot, app)
            screen = lines(app)
            assert "tabby" in screen
            assert "87.0" not in screen and "87%" not in screen  # no score, no bar
            assert not any(bar in screen for bar in "█▏▎▍▌▋▊▉")
            await pilot.press("j")
            await saved(pilot, app)

    try:
        run(scenario())
    finally:
        store.close()
    with open_store(db_url) as s:
        s.add_rating(ids[1], "bob", "none")  # not blind
        by_id = {(r.image.id, r.rater): r.blind for r in s.iter_ratings()}
        records = list(s.iter_ratings())
    assert by_id == {(ids[0], "alice"): True, (ids[1], "bob"): False}
    import csv
    import io
    import json

    from tuilabel.exchange import export_ratings

    out = io.StringIO()
    export_ratings(records, out, "jsonl")
    assert [json.loads(line)["blind"] for line in out.getvalue().splitlines()] == [True, False]
    out = io.StringIO()
    export_ratings(records, out, "csv")
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [row["blind"] for row in table] == ["1", "0"]


def test_tweet_text_is_shown_escaped_and_skipped_photos_return(sqlite_url, tmp_path):
    texts = ["look at this \x1b[2Jcat\nsecond line", None, "third"]
    ids = fill(sqlite_url, tmp_path / "photos", [("tabby", 0.9)] * 3, texts=texts)
    store, app = build(sqlite_url)

    async def scenario():
        async with app.run_test(size=(110, 32)) as pilot:
            await settle(pilot, app)
            await pilot.press("t")
            await until(pilot, lambda: "look at this" in lines(app), what="the tweet text")
            screen = lines(app)
            assert "\\x1b[2Jcat" in screen and "second line" in screen
            assert "\x1b" not in screen
            await pilot.press("escape")
            await pilot.pause(0.1)
            await pilot.press("s")  # skipped: comes back at the end of the sitting
            await settle(pilot, app)
            assert app.session.current.id == ids[1]
            await pilot.press("j")
            await settle(pilot, app)
            await pilot.press("j")
            await settle(pilot, app)
            assert app.session.current.id == ids[0]  # back, without reopening
            await pilot.press("l")
            await saved(pilot, app)

    try:
        run(scenario())
    finally:
        store.close()
    assert ratings(sqlite_url) == {ids[0]: "none", ids[1]: "top1", ids[2]: "top1"}
    summary = app.summary()
    assert "3 photo(s) rated by alice" in summary
    assert "top-1 correct" in summary and "none correct" in summary
    assert "left" in summary and "0 of 3" in summary


def test_labeling_keeps_the_tweet_text(tmp_path):
    """`label` stores each photo's tweet text (v1.1 extended text, v2 text) for `t`."""
    import json

    from httpserver import HTTPTestServer, Response
    from labelkit import photo_bytes

    from tuilabel.pipeline import run_label

    with HTTPTestServer() as server:
        jpeg = {"Content-Type": "image/jpeg"}
        one = server.route("/1.jpg", Response(200, jpeg, photo_bytes("blue", 4)))
        two = server.route("/2.jpg", Response(200, jpeg, photo_bytes("red", 5)))
        tweets = tmp_path / "tweets.jsonl"
        tweets.write_text(
            json.dumps({"id_str": "42", "text": "short…", "user": {"id_str": "1"},
                        "extended_tweet": {"full_text": "the whole \x1b[31mtext\x1b[0m"},
                        "extended_entities": {"media": [
                            {"id_str": "7", "type": "photo", "media_url_https": one}]}}) + "\n"
            + json.dumps({"data": {"id": "43", "text": "a v2 tweet",
                                   "attachments": {"media_keys": ["3_8"]}},
                          "includes": {"media": [{"media_key": "3_8", "type": "photo",
                                                  "url": two}]}}) + "\n")
        db = str(tmp_path / "r.db")
        run_label([str(tweets)], db=db, model="test_rgb", k=2, show_progress=False)
    with open_store(db) as store:
        texts = {i.tweet_id: i.text for i in store.claim_next("x", n=5, order="oldest")}
    assert texts == {"42": "the whole \x1b[31mtext\x1b[0m", "43": "a v2 tweet"}


def test_an_older_database_is_upgraded_and_its_ratings_kept(tmp_path):
    """A database made before review (only 0001_initial) gets the blind, text and class-order
    migrations on opening; its ratings stay, not blind."""
    import sqlite3

    db = str(tmp_path / "old.db")
    ids = fill(db, tmp_path / "photos", [("tabby", 0.9)] * 2)
    with open_store(db) as s:
        s.add_rating(ids[0], "alice", "top5")
    conn = sqlite3.connect(db)  # take the database back to before the review migrations
    with conn:
        conn.execute("DELETE FROM migrations WHERE name <> '0001_initial'")
        conn.execute("DROP INDEX images_queue_class")
        for table, column in (("ratings", "blind"), ("images", "text")):
            conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.close()
    with open_store(db) as s:
        (r,) = list(s.iter_ratings())
        assert (r.image.id, r.verdict, r.blind, r.image.text) == (ids[0], "top5", False, None)
        names = {row[0] for row in s._rows("SELECT name FROM migrations")}
    assert {"0002_ratings_blind", "0003_images_text", "0004_images_queue_class"} <= names


def test_grid_tiles_use_the_terminals_pixel_graphics(sqlite_url, tmp_path):
    """Tiles are the single view's photo pane: with Sixel each tile holds a Sixel picture of
    its own box (cells x the cell size), placed by that pane."""
    from tuilabel.tui.graphics import Display

    ids = fill(sqlite_url, tmp_path / "photos", [("tabby", 0.9)] * 4)
    store, app = build(sqlite_url, grid=(2, 2),
                       display=Display(graphics="sixel", cell_px=(8, 16)))

    async def scenario():
        async with app.run_test(size=(100, 40)) as pilot:
            await page_drawn(pilot, app)
            tiles = app.grid.view.tiles
            pictures = [t.photo.picture for t in tiles]
            assert all(p is not None and p.graphics == "sixel" and p.payload.startswith("\x1bP")
                       for p in pictures)
            cols, rows = app.grid.view.tile_size()
            assert all(p.box == (cols, rows) and p.pixels[0] <= cols * 8 for p in pictures)
            await pilot.press("enter")
            await pages_saved(pilot, app)

    try:
        run(scenario())
    finally:
        store.close()
    assert ratings(sqlite_url) == dict.fromkeys(ids, "top1")


@pytest.mark.parametrize("args, message", [
    (["--grid", "6x2"], "--grid 6x2"),
    (["--grid", "three"], "COLUMNSxROWS"),
    (["--min-score", "0.8", "--max-score", "0.2"], "--min-score is above --max-score"),
    (["--min-score", "2"], "between 0 and 1"),
    (["--label", "[ab]*"], "only * and ?"),
    (["--order", "labels"], "class"),
])
def test_bad_review_options_are_one_line_exit_2(tmp_path, args, message):
    from conftest import run_cli

    db = str(tmp_path / "t.db")
    fill(db, tmp_path / "photos", [("tabby", 0.9)])
    result = run_cli("score", "--db", db, *args, input="")
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_no_photo_passes_the_filters(tmp_path):
    from conftest import run_cli

    db = str(tmp_path / "t.db")
    fill(db, tmp_path / "photos", [("tabby", 0.9)])
    result = run_cli("score", "--db", db, "--label", "dog*", input="")
    assert result.returncode == 1
    assert "match --label/--min-score/--max-score" in result.stderr


def test_help_names_the_config_file_and_the_review_options(tmp_path):
    from conftest import run_cli

    config = tmp_path / "elsewhere.toml"
    result = run_cli("score", "--help", env={"TUILABEL_CONFIG": str(config), "COLUMNS": "300"})
    assert result.returncode == 0
    assert "elsewhere.toml" in result.stdout
    for option in ("--grid", "--label", "--min-score", "--max-score", "--blind"):
        assert option in result.stdout
