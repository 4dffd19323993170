"""Generate sample_data/: tweets in every supported format whose photos are local files.

Why: `tuilabel label sample_data/tweets.jsonl` must work on a machine with no network. The two
photographs are scikit-learn's sample images (CC BY 2.0, credited in sample_data/README.md,
copied from sklearn/datasets/images/); the three drawings are generated here (ours, same
licence as tuilabel). Deterministic: running it again rewrites the same files.

Run: .venv/bin/python scripts/make_sample_data.py
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "sample_data"
PHOTOS = OUT / "photos"
REL = "sample_data/photos"  # photo paths in the tweets are relative to the repo root


def drawings() -> None:
    rng = np.random.default_rng(7)
    # A clear sky: a blue gradient with two white clouds.
    y = np.linspace(0, 1, 300)[:, None, None]
    sky = (np.array([40, 110, 215]) * (1 - y) + np.array([135, 190, 245]) * y)
    sky = np.broadcast_to(sky, (300, 400, 3)).astype(np.uint8)
    img = Image.fromarray(sky)
    d = ImageDraw.Draw(img)
    d.ellipse((40, 50, 170, 100), fill=(250, 250, 250))
    d.ellipse((230, 120, 370, 170), fill=(245, 245, 245))
    img.save(PHOTOS / "sky.jpg", quality=85)
    # A meadow: green noise with yellow flowers (PNG).
    g = rng.normal(0, 18, size=(240, 320, 3)) + np.array([60, 150, 50])
    meadow = Image.fromarray(np.clip(g, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(meadow)
    for _ in range(40):
        x0, y0 = rng.integers(0, 310), rng.integers(0, 230)
        d.ellipse((x0, y0, x0 + 8, y0 + 8), fill=(245, 215, 40))
    meadow.save(PHOTOS / "meadow.png", optimize=True)
    # Night: nearly black, with a few lit windows (a palette GIF, like a GIF thumbnail).
    night = Image.new("RGB", (320, 240), (12, 12, 28))
    d = ImageDraw.Draw(night)
    for _ in range(12):
        x0, y0 = rng.integers(10, 300), rng.integers(120, 220)
        d.rectangle((x0, y0, x0 + 6, y0 + 9), fill=(250, 200, 90))
    night.convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(PHOTOS / "night.gif")


def tweets() -> list[dict]:
    p = f"{REL}/"
    activity = {  # Activity Streams (Gnip), two photos
        "id": "tag:search.twitter.com,2005:1000000000000000001",
        "objectType": "activity", "verb": "post", "postedTime": "2016-05-01T10:00:00.000Z",
        "body": "Temple roofs against the sky",
        "actor": {"id": "id:twitter.com:11", "preferredUsername": "sample_a"},
        "twitter_entities": {"media": [{
            "id_str": "2000000000000000001", "type": "photo",
            "media_url_https": p + "china.jpg"}]},
        "twitter_extended_entities": {"media": [
            {"id_str": "2000000000000000001", "type": "photo", "media_url_https": p + "china.jpg"},
            {"id_str": "2000000000000000002", "type": "photo", "media_url_https": p + "sky.jpg"},
        ]},
    }
    v1 = {  # API v1.1
        "id": 1000000000000000002, "id_str": "1000000000000000002",
        "created_at": "Sun May 01 11:00:00 +0000 2016", "text": "Spring is here",
        "user": {"id_str": "12", "screen_name": "sample_b"},
        "entities": {"media": [{"id_str": "2000000000000000003", "type": "photo",
                                "media_url_https": p + "flower.jpg"}]},
        "extended_entities": {"media": [{"id_str": "2000000000000000003", "type": "photo",
                                         "media_url_https": p + "flower.jpg"}]},
    }
    retweet = {  # API v1.1 retweet of the tweet above: its photo counts once
        "id_str": "1000000000000000003", "created_at": "Sun May 01 12:00:00 +0000 2016",
        "text": "RT @sample_b: Spring is here", "user": {"id_str": "13", "screen_name": "sample_c"},
        "retweeted_status": v1,
    }
    v2 = {  # API v2 stream line (twarc2)
        "data": {"id": "1000000000000000004", "text": "Meadow walk",
                 "attachments": {"media_keys": ["3_2000000000000000004"]}},
        "includes": {"media": [{"media_key": "3_2000000000000000004", "type": "photo",
                                "url": p + "meadow.png"}]},
    }
    snscrape = {  # snscrape JSONL
        "_type": "snscrape.modules.twitter.Tweet", "id": 1000000000000000005,
        "url": "https://twitter.com/sample_d/status/1000000000000000005",
        "date": "2016-05-01T13:00:00+00:00", "rawContent": "City lights",
        "media": [{"_type": "snscrape.modules.twitter.Photo", "fullUrl": p + "night.gif",
                   "previewUrl": p + "night.gif"}],
    }
    no_photo = {"id_str": "1000000000000000006", "text": "No photo here",
                "user": {"id_str": "14"}, "entities": {}}
    delete = {"delete": {"status": {"id_str": "1000000000000000007", "user_id_str": "15"}}}
    return [activity, v1, retweet, v2, snscrape, no_photo, delete]


def main() -> None:
    PHOTOS.mkdir(parents=True, exist_ok=True)
    sk = Path(__import__("sklearn").__file__).parent / "datasets" / "images"
    for name in ("china.jpg", "flower.jpg"):
        shutil.copyfile(sk / name, PHOTOS / name)
    drawings()
    with (OUT / "tweets.jsonl").open("w", encoding="utf-8") as f:
        for record in tweets():
            f.write(json.dumps(record) + "\n")
    (OUT / "images.txt").write_text(
        "# one image per line: local paths (relative to the current folder) or URLs\n"
        + "".join(f"{REL}/{n}\n" for n in ("china.jpg", "flower.jpg", "sky.jpg")),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
