"""The score screen's side panel (issue 9): it takes what its text needs and the photo gets the
rest; class names wrap rather than being cut; a long path still shows the photo's file name; the
key hints follow the keys of the config file. Pilot tests over a real SQLite store and real
photo files, through the CLI's factory."""

from __future__ import annotations

import re

from test_tui import build
from test_tui_support import (
    HeldFetcher,
    fill_store,
    ratings,
    run,
    saved,
    screen_lines,
    settle,
    until,
)

from tuilabel.tui.factory import make_score_app, open_store_thread
from tuilabel.tui.sidepanel import MAX_SHARE, MIN_COLUMNS

SHORT = ["cat", "dog", "fox", "owl", "bee"]
LONG = ["American_Staffordshire_terrier", "Chesapeake_Bay_retriever",
        "German_short-haired_pointer", "Greater_Swiss_Mountain_dog", "tabby"]


def side_text(app) -> list[str]:
    """The side panel's text rows as on screen (inside its border and padding),
    right-stripped."""
    side = app.query_one("#side").region
    return [line[side.x + 2:side.x + side.width - 1].rstrip()
            for line in screen_lines(app)[side.y:side.y + side.height]]


def layout(sqlite_url, tmp_path, size, **fill):
    """Open `score` at `size` over photos stored with `fill` (fill_store's options); returns
    (side panel columns, the photo pane's (columns, rows) as drawn, the side panel's rows)."""
    fill_store(sqlite_url, tmp_path / "photos", n=2, **fill)
    store, app = build(sqlite_url)
    out = {}

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await settle(pilot, app)
            await until(pilot, lambda: app.photo.region.width
                        + app.query_one("#side").region.width == size[0], what="the layout")
            out["side"] = app.query_one("#side").region.width
            out["photo"] = app.photo.shown[1]
            out["pane"] = (app.photo.size.width, app.photo.size.height)
            out["text"] = side_text(app)

    try:
        run(scenario())
    finally:
        store.close()
    assert out["photo"] == out["pane"]  # drawn at the size the pane has: nothing re-rendered
    return out["side"], out["photo"], out["text"]


def test_the_side_panel_takes_what_its_text_needs(tmp_path):
    short_side, short_photo, _ = layout(str(tmp_path / "s.db"), tmp_path / "s", (100, 30),
                                        labels=SHORT)
    long_side, long_photo, long_text = layout(str(tmp_path / "l.db"), tmp_path / "l",
                                              (100, 30), labels=LONG)
    # short labels: the panel is as narrow as the hints and buttons allow, the photo wider
    assert MIN_COLUMNS <= short_side <= 30 and short_photo[0] == 100 - short_side
    # long labels: the panel grows, up to MAX_SHARE of the screen
    assert long_side == int(100 * MAX_SHARE) and long_photo[0] == 100 - long_side
    assert short_photo[0] > long_photo[0]
    # on a wide screen the long names fit on one line each, with their bars
    wide_side, _, wide_text = layout(str(tmp_path / "w.db"), tmp_path / "w", (160, 40),
                                     labels=LONG)
    assert long_side < wide_side < int(160 * MAX_SHARE)
    for rank, name in enumerate(LONG, start=1):
        line = next(t for t in wide_text if t.startswith(f"{rank} "))
        assert name.replace("_", " ") in line and "%" in line, (name, wide_text)


def test_a_long_class_name_wraps_whole_under_itself(tmp_path):
    _, _, text = layout(str(tmp_path / "t.db"), tmp_path, (80, 24), labels=LONG)
    labels = text[text.index("Top labels") + 1:next(i for i, t in enumerate(text)
                                                   if t.startswith("tweet"))]
    joined = " ".join(labels)
    for name in LONG:  # every word, in order (bars and scores may come between; a line may
        words = re.split(r"[_-]", name)  # break after a hyphen)
        assert re.search(r"\b" + r"\b.*?\b".join(map(re.escape, words)) + r"\b", joined), (
            name, labels)
    assert "…" not in joined
    wrapped = [t for t in labels if t.strip() and not re.match(r"\d ", t)]
    assert wrapped and all(t.startswith("  ") for t in wrapped)  # indented under the name


def test_a_long_path_shows_the_photos_file_name(tmp_path):
    deep = tmp_path / ("folder_" * 12) / ("subfolder_" * 8)
    side, _, text = layout(str(tmp_path / "t.db"), deep, (100, 30), labels=SHORT,
                           file_name="grace_hopper_portrait_{i}.png")
    line = next(t for t in text if t.startswith("photo"))
    assert line.endswith("/grace_hopper_portrait_0.png") and "…" in line, line
    assert side < int(100 * MAX_SHARE)  # (the file name, not the whole path, set the width)


def test_hints_follow_the_keys_of_the_config_file(sqlite_url, tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('[keys]\ntop1 = ["h", "1"]\nunrateable = "c"\nskip = "v"\n'
                      'zoom = "m"\n')
    monkeypatch.setenv("TUILABEL_CONFIG", str(config))
    from tuilabel.config import load_keymap

    photos = tmp_path / "photos"
    ids = fill_store(sqlite_url, photos, n=3, broken=(1,))
    fetcher = HeldFetcher(str(photos / "photo0.png"))
    store = open_store_thread(sqlite_url)
    app = make_score_app(store, rater="alice", order="oldest", fetcher=fetcher, roc=None,
                         freeze_gc=False, keys=load_keymap())

    def shown() -> str:
        return " ".join(side_text(app)) + "\n" + "\n".join(screen_lines(app))

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: "h top-1 · k top-5 · l none" in shown(), what="hints")
            assert "m zoom" in shown() and "j top-1" not in shown()
            await pilot.press("h")  # the photo is still on its way: refused
            await until(pilot, lambda: "h k l wait until the photo is drawn (v = skip)"
                        in " ".join(t.strip() for t in side_text(app)), what="the wait line")
            await pilot.press("v")  # skip, remapped from s
            fetcher.release.set()
            await settle(pilot, app)  # photo1: its file does not exist
            assert app.session.current.id == ids[1]
            text = shown()
            assert "so h/k/l cannot rate it" in text
            assert "c = mark it cannot rate    v = skip it for now" in text
            assert "c = cannot rate, v = skip" in " ".join(t.strip() for t in side_text(app))
            await pilot.press("question_mark")
            await until(pilot, lambda: "h k l wait for the photo" in shown(), what="help")
            await pilot.press("escape")
            await pilot.press("c")
            await settle(pilot, app)
            await pilot.press("m")
            await until(pilot, lambda: "m/esc back  h k l c v" in shown(), what="zoom bar")
            await saved(pilot, app)

    try:
        run(scenario())
    finally:
        fetcher.release.set()
        store.close()
    assert ratings(sqlite_url) == {ids[1]: "unrateable"}


def test_help_scrolls_on_a_short_screen(sqlite_url, tmp_path):
    fill_store(sqlite_url, tmp_path / "photos", n=2)
    store, app = build(sqlite_url)

    async def scenario():
        async with app.run_test(size=(80, 16)) as pilot:
            await settle(pilot, app)
            await pilot.press("question_mark")
            await until(pilot, lambda: "↑↓ more" in "\n".join(screen_lines(app)),
                        what="the help box saying it scrolls")
            text = "\n".join(screen_lines(app))
            assert "Rate the model's labels" in text and "where you stopped" not in text
            await pilot.press("pagedown")
            await until(pilot, lambda: "where you stopped" in "\n".join(screen_lines(app)),
                        what="the end of the help")
            await pilot.press("escape")
            await until(pilot, lambda: "↑↓ more" not in "\n".join(screen_lines(app)),
                        what="the help closed")

    try:
        run(scenario())
    finally:
        store.close()


def test_buttons_give_way_on_a_short_screen(tmp_path):
    """At 80x24 with long class names the side panel's text takes its whole height: the mouse
    buttons (every verdict has its key) are left out rather than pushed below the screen,
    and everything in the panel lies inside it. On a taller screen they are there, and
    clicking one rates; after zoom and back they are as before."""
    from tuilabel.tui.widgets import RateButtons

    def inside(app) -> list[str]:
        """The side panel's shown parts that lie outside it (none expected)."""
        side = app.query_one("#side")
        return [f"{type(w).__name__} {w.region}" for w in side.children
                if w.display and not side.region.contains_region(w.region)]

    rated: list[int] = []
    for size, shown in (((80, 24), False), ((80, 40), True)):
        folder = tmp_path / f"{size[0]}x{size[1]}"
        url = str(folder / "t.db")
        fill_store(url, folder / "photos", n=3, labels=LONG)
        store, app = build(url)

        async def scenario(app=app, size=size, shown=shown):
            async with app.run_test(size=size) as pilot:
                await settle(pilot, app)
                buttons = app.query_one(RateButtons)
                await until(pilot, lambda: buttons.display == shown, what="the buttons")
                side = app.query_one("#side")
                await until(pilot, lambda: side.virtual_size.height <= side.size.height,
                            what="the side panel's text to fit in it")
                assert inside(app) == [], (size, inside(app))
                assert "j top-1 · k top-5 · l none" in side_text(app), "\n".join(side_text(app))
                await pilot.press("z")
                await pilot.pause()
                await pilot.press("z")
                await until(pilot, lambda: buttons.display == shown, what="the buttons back")
                if shown:
                    first = app.session.current.id
                    assert await pilot.click("#rate-top1")
                    await settle(pilot, app)
                    await saved(pilot, app)
                    rated.append(first)

        try:
            run(scenario())
        finally:
            store.close()
        if shown:
            assert ratings(url) == {rated[-1]: "top1"}
