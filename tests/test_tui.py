"""Pilot tests of the score app: keys pressed, what the store then holds, on SQLite and MariaDB.

The app is built by the same factory the CLI uses, over a real database and real photo files
fetched by the real Fetcher.
"""

from __future__ import annotations

import asyncio

import pytest
from test_tui_support import (
    HeldFetcher,
    fill_store,
    rate,
    ratings,
    run,
    saved,
    screen_lines,
    settle,
    until,
)

from tuilabel.images import Fetcher
from tuilabel.tui.factory import make_score_app, open_store_thread


def build(db_url, rater="alice", **kwargs):
    store = open_store_thread(db_url)
    app = make_score_app(store, rater=rater, order="oldest", fetcher=Fetcher(cache_dir=None),
                         roc=None, freeze_gc=False, **kwargs)
    return store, app


def test_keys_store_ratings(db_url, tmp_path):
    ids = fill_store(db_url, tmp_path / "photos", n=8)
    store, app = build(db_url)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, app)
            shown = []
            for key in "jklx":
                shown.append(app.session.current.id)
                await rate(pilot, app, key)
                await settle(pilot, app)
            await saved(pilot, app)
            assert ratings(db_url) == dict(zip(shown, ["top1", "top5", "none", "unrateable"],
                                               strict=True))
            # u takes back the last rating (x) and shows that photo again
            await pilot.press("u")
            await until(pilot, lambda: len(ratings(db_url)) == 3, what="the undo")
            assert app.session.current.id == shown[3]
            # s passes over it: no rating, and the next photo is shown
            await pilot.press("s")
            await settle(pilot, app)
            assert app.session.current.id != shown[3]
            fifth = app.session.current.id
            # backspace is undo too; with nothing left to undo after it, the store is as before
            await pilot.press("j")
            await saved(pilot, app)
            assert ratings(db_url)[fifth] == "top1"
            await pilot.press("backspace")
            await until(pilot, lambda: fifth not in ratings(db_url), what="backspace undo")
            await pilot.press("l")
            await saved(pilot, app)
            await pilot.press("q")
        return shown, fifth

    try:
        shown, fifth = asyncio.run(scenario())
    finally:
        store.close()
    final = ratings(db_url)
    assert final == {shown[0]: "top1", shown[1]: "top5", shown[2]: "none", fifth: "none"}
    assert shown == ids[:4]  # --order oldest
    assert all(r == "alice" for r in _raters(db_url))


def _raters(db_url):
    from tuilabel.store import open_store

    with open_store(db_url) as s:
        return [r.rater for r in s.iter_ratings()]


def test_mouse_buttons_rate(db_url, tmp_path):
    fill_store(db_url, tmp_path / "photos", n=4)
    store, app = build(db_url)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, app)
            shown = []
            for button in ("#rate-top1", "#rate-top5", "#rate-none"):
                shown.append(app.session.current.id)
                clicked = await pilot.click(button)
                if not clicked:
                    open("/tmp/sc/fail.txt", "w").write("\n".join(screen_lines(app)))
                assert clicked, button
                await settle(pilot, app)
            await saved(pilot, app)
            return shown

    try:
        shown = asyncio.run(scenario())
    finally:
        store.close()
    assert ratings(db_url) == dict(zip(shown, ["top1", "top5", "none"], strict=True))


def test_two_raters_never_get_the_same_photo(db_url, tmp_path):
    fill_store(db_url, tmp_path / "photos", n=16)
    store_a, app_a = build(db_url, rater="alice")
    store_b, app_b = build(db_url, rater="bob")

    async def rate_photos(app, n):
        seen = []
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(n):
                await settle(pilot, app)
                seen.append(app.session.current.id)
                seen.extend(img.id for img in app.session.queue)  # claimed ahead, too
                await rate(pilot, app, "j")
            await saved(pilot, app)
            await pilot.press("q")
        return seen

    async def both():
        return await asyncio.gather(rate_photos(app_a, 6), rate_photos(app_b, 6))

    try:
        seen_a, seen_b = asyncio.run(both())
    finally:
        store_a.close()
        store_b.close()
    assert not set(seen_a) & set(seen_b)
    rated_a, rated_b = ratings(db_url, "alice"), ratings(db_url, "bob")
    assert len(rated_a) == 6 and len(rated_b) == 6
    assert not set(rated_a) & set(rated_b)


def test_overlap_two_lets_a_second_rater_see_rated_photos(db_url, tmp_path):
    fill_store(db_url, tmp_path / "photos", n=3)
    for rater in ("alice", "bob"):
        store, app = build(db_url, rater=rater, overlap=2)

        async def scenario(app=app):
            async with app.run_test(size=(100, 30)) as pilot:
                for _ in range(3):
                    await settle(pilot, app)
                    await pilot.press("k")
                await saved(pilot, app)
                await until(pilot, lambda: app.session.current is None
                            and not app.session.more_available, what="nothing left")

        try:
            run(scenario())
        finally:
            store.close()
    assert len(ratings(db_url, "alice")) == 3
    assert ratings(db_url, "bob") == ratings(db_url, "alice")


def test_reopening_continues_where_the_rater_stopped(db_url, tmp_path):
    ids = fill_store(db_url, tmp_path / "photos", n=5)
    for expected_first in (ids[0], ids[2]):
        store, app = build(db_url)

        async def scenario(app=app, expected_first=expected_first):
            async with app.run_test(size=(100, 30)) as pilot:
                await settle(pilot, app)
                assert app.session.current.id == expected_first
                await rate(pilot, app, "j")
                await settle(pilot, app)
                await rate(pilot, app, "j")
                await saved(pilot, app)
                # no q: the app is torn down as if the connection dropped

        try:
            run(scenario())
        finally:
            store.close()
    assert set(ratings(db_url)) == set(ids[:4])


@pytest.mark.parametrize("size", [(80, 24), (130, 50)])
def test_broken_photo_shows_reason_and_can_be_marked_unrateable(sqlite_url, tmp_path, size):
    ids = fill_store(sqlite_url, tmp_path / "photos", n=2, broken=(0,))
    store, app = build(sqlite_url)

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await settle(pilot, app)
            text = "\n".join(screen_lines(app))
            assert "cannot be shown" in text and "not_found" in text
            assert "does not exist here" in text  # the reason in words a rater can act on
            # j/k/l judge the photo: refused for one that cannot be seen
            for key in "jkl":
                await pilot.press(key)
            await pilot.pause(0.2)
            assert app.session.history == [] and app.session.current.id == ids[0]
            assert "not stored" in "\n".join(screen_lines(app))
            await pilot.press("x")
            await settle(pilot, app)
            await saved(pilot, app)

    try:
        run(scenario())
    finally:
        store.close()
    assert ratings(sqlite_url) == {ids[0]: "unrateable"}


def test_nothing_left_and_undo_brings_it_back(sqlite_url, tmp_path):
    ids = fill_store(sqlite_url, tmp_path / "photos", n=1)
    store, app = build(sqlite_url)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, app)
            await pilot.press("l")
            await until(pilot, lambda: "Nothing left to rate" in "\n".join(screen_lines(app)),
                        what="the nothing-left message")
            await saved(pilot, app)
            assert ratings(sqlite_url) == {ids[0]: "none"}
            await pilot.press("u")
            await settle(pilot, app)
            await until(pilot, lambda: ratings(sqlite_url) == {}, what="undo")

    try:
        run(scenario())
    finally:
        store.close()


def test_help_screen_opens_and_closes(sqlite_url, tmp_path):
    fill_store(sqlite_url, tmp_path / "photos", n=2)
    store, app = build(sqlite_url)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, app)
            await pilot.press("question_mark")
            await pilot.pause(0.1)
            assert "undo the last rating" in "\n".join(screen_lines(app))
            await pilot.press("escape")
            await pilot.pause(0.1)
            assert "undo the last rating" not in "\n".join(screen_lines(app))

    try:
        run(scenario())
    finally:
        store.close()


def test_roc_screen_shows_the_ratings_so_far_and_refreshes(sqlite_url, tmp_path, monkeypatch):
    from tuilabel.store import open_store
    from tuilabel.tui.factory import default_roc_view
    from tuilabel.tui.screens import RocScreen

    monkeypatch.setattr(RocScreen, "REFRESH_SECONDS", 0.5)
    ids = fill_store(sqlite_url, tmp_path / "photos", n=8)
    store, app = build(sqlite_url)
    app.roc_view = default_roc_view(None)
    assert app.roc_view is not None

    def text():
        return "\n".join(screen_lines(app))

    async def scenario():
        async with app.run_test(size=(120, 40)) as pilot:
            for key in "jjll":  # scores 0.9, 0.85 right; 0.8, 0.75 wrong: AUC 1
                await settle(pilot, app)
                await rate(pilot, app, key)
            await saved(pilot, app)
            await pilot.press("r")
            # (the screen can be drawn in more than one frame: wait for the whole of it)
            await until(pilot, lambda: "AUC 1.000" in text() and "photos rated" in text(),
                        timeout=60, what="the ROC")
            assert "4 photos rated (2 top-1 right, 2 not)" in text(), text()
            assert "FPR" in text() and "Youden" in text()
            assert "Hanley-McNeil" in text() and "4 rated so far" in text()  # the plan line
            # rating keys do nothing while the photo is hidden
            await pilot.press("j")
            await pilot.pause(0.2)
            assert len(app.session.history) == 4
            # another rater's rating arrives: the screen follows
            with open_store(sqlite_url) as other:
                other.add_rating(ids[7], "bob", "top1")
            await until(pilot, lambda: "5 photos rated" in text(), timeout=30,
                        what="the refreshed ROC")
            await pilot.press("escape")
            await until(pilot, lambda: "Top labels" in text(), what="the photo again")

    try:
        run(scenario())
    finally:
        store.close()


def test_photo_is_redrawn_to_fit_after_a_resize(sqlite_url, tmp_path):
    fill_store(sqlite_url, tmp_path / "photos", n=3)
    store, app = build(sqlite_url)

    async def scenario():
        async with app.run_test(size=(130, 50)) as pilot:
            await settle(pilot, app)
            big = app.photo.shown[1]
            await pilot.resize_terminal(80, 24)
            await until(pilot, lambda: app.photo.shown is not None
                        and app.photo.shown[1] == app.pane_size() != big, what="re-render")
            small = app.photo.shown[1]
            assert small[0] < big[0] and small[1] < big[1]
            lines = screen_lines(app)
            assert len(lines) == 24 and sum("▄" in line for line in lines) >= 10

    try:
        run(scenario())
    finally:
        store.close()


def test_ctrl_c_quits_cleanly_and_releases_claims(sqlite_url, tmp_path):
    from tuilabel.store import open_store

    ids = fill_store(sqlite_url, tmp_path / "photos", n=6)
    store, app = build(sqlite_url)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, app)
            await pilot.press("k")
            await pilot.press("ctrl+c")
            await until(pilot, lambda: not app.is_running, what="the app to exit")

    try:
        run(scenario())
    finally:
        store.close()
    assert ratings(sqlite_url) == {ids[0]: "top5"}
    with open_store(sqlite_url) as s:
        assert [i.id for i in s.claim_next("other", n=6, order="oldest")] == ids[1:]


def test_claims_are_renewed_while_the_rater_is_away(db_url, tmp_path):
    from tuilabel.store import open_store

    ids = fill_store(db_url, tmp_path / "photos", n=8)
    store = open_store_thread(db_url)
    app = make_score_app(store, rater="alice", order="oldest", fetcher=Fetcher(cache_dir=None),
                         roc=None, freeze_gc=False)
    app.claim_seconds = 2  # renewed every second (the minimum interval)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, app)
            held = set(app.session.claimed_ids())
            assert held == set(ids[:5])
            await pilot.pause(3.5)  # idle: longer than a claim lasts
            with open_store(db_url) as other:
                got = {i.id for i in other.claim_next("bob", n=8, order="oldest")}
            assert not got & held, "another rater was given photos alice still holds"
            assert got == set(ids[5:])

    try:
        run(scenario())
    finally:
        store.close()


def test_a_rating_that_cannot_be_stored_is_reported_and_its_photo_shown_again(sqlite_url,
                                                                             tmp_path):
    import sqlite3

    fill_store(sqlite_url, tmp_path / "photos", n=3)
    store, app = build(sqlite_url)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, app)
            doomed = app.session.current.id
            # the photo disappears from the database behind the app's back
            conn = sqlite3.connect(sqlite_url)
            with conn:
                conn.execute("DELETE FROM claims WHERE image_id = ?", (doomed,))
                conn.execute("DELETE FROM images WHERE id = ?", (doomed,))
            conn.close()
            await pilot.press("j")
            await until(pilot, lambda: "NOT stored" in "\n".join(screen_lines(app)),
                        what="the failure message")
            assert app.session.current.id == doomed  # shown again, nothing claimed stored
            assert "✓ stored" not in "\n".join(screen_lines(app))
            assert app.session.history == []

    try:
        run(scenario())
    finally:
        store.close()
    assert ratings(sqlite_url) == {}


def test_enter_and_space_store_nothing(sqlite_url, tmp_path):
    """Text typed into the wrong window must not become ratings; the mouse still rates."""
    ids = fill_store(sqlite_url, tmp_path / "photos", n=3)
    store, app = build(sqlite_url)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot, app)
            for key in ("enter", "space", "tab", "enter", "space", "shift+tab", "enter"):
                await pilot.press(key)
            await pilot.pause(0.3)
            assert app.session.history == [] and app.session.current.id == ids[0]
            assert await pilot.click("#rate-top5")
            await settle(pilot, app)
            await saved(pilot, app)

    try:
        run(scenario())
    finally:
        store.close()
    assert ratings(sqlite_url) == {ids[0]: "top5"}


def test_rating_keys_wait_for_the_photo(sqlite_url, tmp_path):
    ids = fill_store(sqlite_url, tmp_path / "photos", n=3)
    fetcher = HeldFetcher(str(tmp_path / "photos" / "photo0.png"))
    store = open_store_thread(sqlite_url)
    app = make_score_app(store, rater="alice", order="oldest", fetcher=fetcher, roc=None,
                         freeze_gc=False)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.session.current is not None, what="a claim")
            for key in "jkl":
                await pilot.press(key)
            await pilot.pause(0.2)
            assert app.session.history == []
            text = " ".join(line.split("│")[-1].strip() for line in screen_lines(app))
            assert "j k l wait until the photo is drawn" in text, text
            await pilot.press("s")  # s and x still work while loading
            fetcher.release.set()  # (the one render worker was waiting on that photo)
            await settle(pilot, app)
            assert app.session.current.id == ids[1]
            await pilot.press("k")
            await settle(pilot, app)
            await saved(pilot, app)

    try:
        run(scenario())
    finally:
        fetcher.release.set()
        store.close()
    assert ratings(sqlite_url) == {ids[1]: "top5"}


def test_zoom_gives_the_photo_the_screen_and_rating_keys_still_work(sqlite_url, tmp_path):
    ids = fill_store(sqlite_url, tmp_path / "photos", n=3)
    store, app = build(sqlite_url)

    async def scenario():
        async with app.run_test(size=(130, 50)) as pilot:
            await settle(pilot, app)
            normal = app.photo.shown[1]
            await pilot.press("z")
            await until(pilot, lambda: app.photo.shown is not None
                        and app.photo.shown[1][0] == 130, what="the zoomed photo")
            assert app.photo.shown[1][1] >= 48 and normal[0] < 130
            lines = screen_lines(app)
            assert "Top labels" not in "\n".join(lines)
            assert "golden retriever" in lines[-1] and "z/esc back" in lines[-1]
            # the fixture photo (48x36) fills 130 cells wide: the zoomed photo is 130 px wide
            assert max(line.count("▄") for line in lines) == 130
            await pilot.press("j")  # rates while zoomed, the next photo zoomed too
            await until(pilot, lambda: app.photo.shown is not None
                        and app.photo.shown[0] == ids[1] and app.photo.shown[1][0] == 130,
                        what="the next photo, zoomed")
            await pilot.press("escape")
            await until(pilot, lambda: app.photo.shown is not None
                        and app.photo.shown[1] == normal, what="the normal view")
            assert "Top labels" in "\n".join(screen_lines(app))
            await pilot.press("z")
            await pilot.press("z")
            await until(pilot, lambda: app.photo.shown is not None
                        and app.photo.shown[1] == normal, what="z back")
            await saved(pilot, app)

    try:
        run(scenario())
    finally:
        store.close()
    assert ratings(sqlite_url) == {ids[0]: "top1"}
