"""Write sample_data/: six public-domain or CC0 photos of things ImageNet knows, and tweets in
every supported format that point at them.

Why: `tuilabel label sample_data/tweets.jsonl -m efficientnet_lite0` must work on a machine with
no network and label real objects (an espresso, a cat, a tripod...), so that the README's main
command, the rater and the tests see real labels. The photos are copied byte for byte from the
sample data of two packages on PyPI (their licences are in sample_data/README.md and
PHOTOS below): scikit-image (`skimage/data/`) and matplotlib (`mpl-data/sample_data/`). Their
SHA-256 is checked, so the copies are exactly the files the README credits. Deterministic:
running it again rewrites the same files.

Run (scikit-image and matplotlib need not be in tuilabel's environment; any folder holding
their data files will do):

    pip download --no-deps -d /tmp/wheels scikit-image matplotlib   # or have them installed
    .venv/bin/python scripts/make_sample_data.py --from /path/to/skimage/data \\
        --from /path/to/matplotlib/mpl-data/sample_data
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "sample_data"
PHOTOS = OUT / "photos"
#: Photo paths in the tweets are relative to tweets.jsonl's folder (tuilabel resolves them
#: against the file that holds them), so `label` works from any folder.
REL = "photos"
#: In images.txt they are relative to the current folder (the repo root, in the README).
LIST_REL = "sample_data/photos"

#: name -> (SHA-256 of the file as its package ships it, what it shows). The ImageNet class
#: each must have in its top 5 is in sample_data/README.md and tests/test_sample_data.py.
PHOTOS_USED: dict[str, tuple[str, str]] = {
    "coffee.png": ("cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
                   "a cup of coffee on a saucer"),
    "chelsea.png": ("596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
                    "Chelsea the cat"),
    "camera.png": ("b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a",
                   "a photographer with his camera on a tripod"),
    "rocket.jpg": ("c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
                   "a Falcon 9 rocket lifting off"),
    "clock_motion.png": ("f029226b28b642e80113d86622e9b215ee067a0966feaf5e60604a1e05733955",
                         "a wall clock, motion-blurred"),
    "grace_hopper.jpg": ("a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130",
                         "Grace Hopper in US Navy uniform"),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def default_sources() -> list[Path]:
    """scikit-image's and matplotlib's data folders, where those packages are installed."""
    found = []
    for module, sub in (("skimage", "data"), ("matplotlib", "mpl-data/sample_data")):
        spec = importlib.util.find_spec(module)
        if spec is not None and spec.origin:
            found.append(Path(spec.origin).parent / sub)
    return found


def tweets() -> list[dict]:
    p = f"{REL}/"
    activity = {  # Activity Streams (Gnip), two photos
        "id": "tag:search.twitter.com,2005:1000000000000000001",
        "objectType": "activity", "verb": "post", "postedTime": "2016-05-01T10:00:00.000Z",
        "body": "Espresso first, then the cat wants breakfast",
        "actor": {"id": "id:twitter.com:11", "preferredUsername": "sample_a"},
        "twitter_entities": {"media": [{
            "id_str": "2000000000000000001", "type": "photo",
            "media_url_https": p + "coffee.png"}]},
        "twitter_extended_entities": {"media": [
            {"id_str": "2000000000000000001", "type": "photo", "media_url_https": p + "coffee.png"},
            {"id_str": "2000000000000000002", "type": "photo",
             "media_url_https": p + "chelsea.png"},
        ]},
    }
    v1 = {  # API v1.1
        "id": 1000000000000000002, "id_str": "1000000000000000002",
        "created_at": "Sun May 01 11:00:00 +0000 2016", "text": "Setting up for the shoot",
        "user": {"id_str": "12", "screen_name": "sample_b"},
        "entities": {"media": [{"id_str": "2000000000000000003", "type": "photo",
                                "media_url_https": p + "camera.png"}]},
        "extended_entities": {"media": [{"id_str": "2000000000000000003", "type": "photo",
                                         "media_url_https": p + "camera.png"}]},
    }
    retweet = {  # API v1.1 retweet of the tweet above: its photo counts once
        "id_str": "1000000000000000003", "created_at": "Sun May 01 12:00:00 +0000 2016",
        "text": "RT @sample_b: Setting up for the shoot",
        "user": {"id_str": "13", "screen_name": "sample_c"},
        "retweeted_status": v1,
    }
    v2 = {  # API v2 stream line (twarc2), two photos
        "data": {"id": "1000000000000000004", "text": "Launch day, and we nearly missed it",
                 "attachments": {"media_keys": ["3_2000000000000000004",
                                                "3_2000000000000000005"]}},
        "includes": {"media": [
            {"media_key": "3_2000000000000000004", "type": "photo", "url": p + "rocket.jpg"},
            {"media_key": "3_2000000000000000005", "type": "photo",
             "url": p + "clock_motion.png"},
        ]},
    }
    snscrape = {  # snscrape JSONL
        "_type": "snscrape.modules.twitter.Tweet", "id": 1000000000000000005,
        "url": "https://twitter.com/sample_d/status/1000000000000000005",
        "date": "2016-05-01T13:00:00+00:00", "rawContent": "Amazing Grace, 1984",
        "media": [{"_type": "snscrape.modules.twitter.Photo", "fullUrl": p + "grace_hopper.jpg",
                   "previewUrl": p + "grace_hopper.jpg"}],
    }
    no_photo = {"id_str": "1000000000000000006", "text": "No photo here",
                "user": {"id_str": "14"}, "entities": {}}
    delete = {"delete": {"status": {"id_str": "1000000000000000007", "user_id_str": "15"}}}
    return [activity, v1, retweet, v2, snscrape, no_photo, delete]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="sources", type=Path, action="append", default=[],
                        help="a folder holding the photos (scikit-image's data folder, "
                        "matplotlib's sample_data folder); default: where they are installed")
    args = parser.parse_args()
    sources = args.sources or default_sources()
    PHOTOS.mkdir(parents=True, exist_ok=True)
    for old in PHOTOS.iterdir():
        if old.name not in PHOTOS_USED:
            old.unlink()
    for name, (digest, _) in PHOTOS_USED.items():
        src = next((d / name for d in sources if (d / name).is_file()), None)
        if src is None:
            print(f"make_sample_data: {name} not found in {[str(s) for s in sources]}",
                  file=sys.stderr)
            return 2
        if sha256(src) != digest:
            print(f"make_sample_data: {src} has SHA-256 {sha256(src)}, expected {digest}",
                  file=sys.stderr)
            return 2
        shutil.copyfile(src, PHOTOS / name)
    with (OUT / "tweets.jsonl").open("w", encoding="utf-8") as f:
        for record in tweets():
            f.write(json.dumps(record) + "\n")
    (OUT / "images.txt").write_text(
        "# one image per line: local paths (relative to the current folder) or URLs\n"
        + "".join(f"{LIST_REL}/{n}\n" for n in ("coffee.png", "camera.png", "grace_hopper.jpg")),
        encoding="utf-8",
    )
    for name in PHOTOS_USED:
        print(f"{name}  sha256 {sha256(PHOTOS / name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
