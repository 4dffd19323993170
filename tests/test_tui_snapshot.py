"""Snapshots of the score screen at fixed terminal sizes, with small fixture photos.

The text of every terminal row is compared with tests/snapshots/*.txt; the photo's cells are
checked by colour. After a deliberate change of the layout, regenerate the files with
TUILABEL_UPDATE_SNAPSHOTS=1 and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_tui_support import fill_store, run, settle, until

from tuilabel.images import Fetcher
from tuilabel.tui.factory import make_score_app, open_store_thread

SNAPSHOTS = Path(__file__).parent / "snapshots"


def screen(app):
    """(text of each row, the screen's strips)."""
    strips = app.screen._compositor.render_strips()
    return ["".join(seg.text for seg in strip).rstrip() for strip in strips], strips


def compare(name: str, lines: list[str]) -> None:
    path = SNAPSHOTS / name
    text = "\n".join(lines) + "\n"
    if os.environ.get("TUILABEL_UPDATE_SNAPSHOTS"):
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path}: run with TUILABEL_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("size", [(80, 24), (130, 50)])
def test_score_screen_snapshot(tmp_path, monkeypatch, size):
    monkeypatch.chdir(tmp_path)  # photo URLs are relative paths: the same on every machine
    db = str(tmp_path / "t.db")
    fill_store(db, tmp_path, n=2, relative=True)
    store = open_store_thread(db)
    app = make_score_app(store, rater="alice", order="oldest", fetcher=Fetcher(cache_dir=None),
                         roc=None, freeze_gc=False, truecolor=True)
    result = {}

    async def scenario():
        async with app.run_test(size=size) as pilot:
            await settle(pilot, app)
            await until(pilot, lambda: "rated  0 of 2" in (t := "\n".join(screen(app)[0]))
                        and "q quit" in t, what="progress and footer")
            result["main"] = screen(app)
            await pilot.press("question_mark")
            await until(pilot, lambda: "continues where you stopped" in (
                t := "\n".join(screen(app)[0])) and "q quit" in t, what="help")
            await pilot.pause(0.1)
            result["help"] = screen(app)

    try:
        run(scenario())
    finally:
        store.close()

    lines, strips = result["main"]
    compare(f"score_{size[0]}x{size[1]}.txt", lines)
    compare(f"score_help_{size[0]}x{size[1]}.txt", result["help"][0])
    # The photo (left half red, right half blue) drawn as half-block cells, both halves
    # present, left of the side panel, in that order on every photo row.
    photo_rows = 0
    for strip in strips:
        colours = [seg.style.color.triplet for seg in strip
                   if seg.text == "▄" and seg.style and seg.style.color
                   and seg.style.color.triplet]
        cells = [(c.red, c.green, c.blue) for c in colours]
        if cells:
            photo_rows += 1
            assert cells[0] == (220, 30, 30) and cells[-1] == (30, 30, 220)
            reds = [r > b for r, _, b in cells]  # red, then blue; blended at the edge only
            switch = reds.index(False)
            assert all(reds[:switch]) and not any(reds[switch:])
            assert abs(switch - len(cells) / 2) <= 1
    assert photo_rows >= size[1] // 3
