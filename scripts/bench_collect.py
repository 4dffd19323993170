#!/usr/bin/env python3
"""Benchmark `tuilabel collect` against `gzip -cd FILE > /dev/null` on the same file.

Generates a corpus of API v1.1 streaming tweets (realistic field set and entropy, so gzip
compresses it about as much as real tweet dumps) in which 10% of records carry 1-4 photos and
a few are `delete` lines, gzips it to at least --size-mb MB, then times, alternating, the two
commands --repeat times each and reports the best run of each: records/s, MB/s (compressed and
decompressed) and the ratio of rates. The target is collect >= 0.5x gzip.

Memory: collect's peak RSS (wait4's ru_maxrss) on the full corpus and on one 8 times smaller;
flat means about the same.

    .venv/bin/python scripts/bench_collect.py                 # 200 MB in a temp dir
    .venv/bin/python scripts/bench_collect.py --size-mb 20    # a quick look
    .venv/bin/python scripts/bench_collect.py --dir /data/bench --keep
    .venv/bin/python scripts/bench_collect.py --dir /data/bench --keep --reuse --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ID_MARK = b"@@ID@@"
POOL_SIZE = 4000  # distinct records; far more than gzip's 32 KB window ever sees at once
PROFILE = "pbs.twimg.com/profile_images"


def _words(rng: random.Random, n: int) -> list[str]:
    letters = string.ascii_lowercase
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 10))) for _ in range(n)]


def _text(rng: random.Random, vocab: list[str], lo: int, hi: int) -> str:
    return " ".join(rng.choice(vocab) for _ in range(rng.randint(lo, hi)))


def _hexid(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + "_-") for _ in range(n))


def _user(rng: random.Random, vocab: list[str]) -> dict:
    uid = rng.randint(10**6, 10**18)
    name = rng.choice(vocab)
    return {
        "id": uid, "id_str": str(uid), "name": _text(rng, vocab, 1, 3),
        "screen_name": name + str(rng.randint(0, 9999)), "location": _text(rng, vocab, 0, 3),
        "url": None if rng.random() < 0.6 else f"https://{name}.example.com/",
        "description": _text(rng, vocab, 0, 25), "translator_type": "none",
        "protected": False, "verified": rng.random() < 0.02,
        "followers_count": rng.randint(0, 100000), "friends_count": rng.randint(0, 5000),
        "listed_count": rng.randint(0, 200), "favourites_count": rng.randint(0, 90000),
        "statuses_count": rng.randint(1, 200000),
        "created_at": f"Mon Jun {rng.randint(10, 28)} 0{rng.randint(0, 9)}:{rng.randint(10, 59)}"
                      f":{rng.randint(10, 59)} +0000 20{rng.randint(10, 19)}",
        "utc_offset": None, "time_zone": None, "geo_enabled": rng.random() < 0.3,
        "lang": None, "contributors_enabled": False, "is_translator": False,
        "profile_background_color": f"{rng.randint(0, 0xFFFFFF):06X}",
        "profile_background_image_url": "http://abs.twimg.com/images/themes/theme1/bg.png",
        "profile_background_image_url_https": "https://abs.twimg.com/images/themes/theme1/bg.png",
        "profile_background_tile": False,
        "profile_link_color": f"{rng.randint(0, 0xFFFFFF):06X}",
        "profile_sidebar_border_color": "C0DEED", "profile_sidebar_fill_color": "DDEEF6",
        "profile_text_color": "333333", "profile_use_background_image": True,
        "profile_image_url": f"http://{PROFILE}/{uid}/{_hexid(rng, 8)}_normal.jpg",
        "profile_image_url_https": f"https://{PROFILE}/{uid}/{_hexid(rng, 8)}_normal.jpg",
        "profile_banner_url":
            f"https://pbs.twimg.com/profile_banners/{uid}/{rng.randint(10**9, 10**10)}",
        "default_profile": rng.random() < 0.5, "default_profile_image": False,
        "following": None, "follow_request_sent": None, "notifications": None,
    }


def _media(rng: random.Random, tid: str, i: int) -> dict:
    mid = str(rng.randint(10**17, 10**19))
    name = _hexid(rng, 15)
    return {
        "id": int(mid), "id_str": mid, "indices": [rng.randint(20, 100), rng.randint(101, 140)],
        "media_url": f"http://pbs.twimg.com/media/{name}.jpg",
        "media_url_https": f"https://pbs.twimg.com/media/{name}.jpg",
        "url": f"https://t.co/{_hexid(rng, 10)}",
        "display_url": f"pic.twitter.com/{_hexid(rng, 10)}",
        "expanded_url": f"https://twitter.com/x/status/{tid}/photo/{i + 1}", "type": "photo",
        "sizes": {"thumb": {"w": 150, "h": 150, "resize": "crop"},
                  "medium": {"w": 1200, "h": rng.randint(600, 1200), "resize": "fit"},
                  "small": {"w": 680, "h": rng.randint(300, 680), "resize": "fit"},
                  "large": {"w": 2048, "h": rng.randint(1000, 2048), "resize": "fit"}},
    }


def _tweet(rng: random.Random, vocab: list[str], photos: int) -> bytes:
    """One tweet as a JSON line template, its id replaced by ID_MARK."""
    tid = "@@ID@@"
    t = {
        "created_at": f"Sat Nov {rng.randint(10, 28)} {rng.randint(10, 23)}:{rng.randint(10, 59)}"
                      f":{rng.randint(10, 59)} +0000 2014",
        "id": 0, "id_str": tid, "text": _text(rng, vocab, 3, 22),
        "source": '<a href="http://twitter.com/download/iphone" rel="nofollow">Twitter for '
                  'iPhone</a>',
        "truncated": False, "in_reply_to_status_id": None, "in_reply_to_status_id_str": None,
        "in_reply_to_user_id": None, "in_reply_to_user_id_str": None,
        "in_reply_to_screen_name": None, "user": _user(rng, vocab), "geo": None,
        "coordinates": None, "place": None, "contributors": None, "is_quote_status": False,
        "retweet_count": 0, "favorite_count": 0,
        "entities": {"hashtags": [{"text": rng.choice(vocab), "indices": [1, 9]}]
                     if rng.random() < 0.3 else [],
                     "urls": [], "user_mentions": [], "symbols": []},
        "favorited": False, "retweeted": False, "filter_level": "low",
        "lang": rng.choice(["en", "es", "ja", "pt", "und"]),
        "timestamp_ms": str(rng.randint(1416000000000, 1417000000000)),
    }
    if photos:
        media = [_media(rng, tid, i) for i in range(photos)]
        t["entities"]["media"] = media[:1]
        t["extended_entities"] = {"media": media}
        t["possibly_sensitive"] = False
    line = json.dumps(t, separators=(",", ":")).encode()
    return line.replace(b'"id":0', b'"id":' + ID_MARK, 1)


def make_corpus(path: Path, size_mb: float, seed: int = 1) -> dict:
    """Gzip (level 6, like `gzip`) tweet lines into `path` until it holds size_mb MB."""
    rng = random.Random(seed)
    vocab = _words(rng, 20000)
    plain = [_tweet(rng, vocab, 0) for _ in range(POOL_SIZE)]
    with_photos = [_tweet(rng, vocab, rng.choice([1, 1, 1, 2, 3, 4]))
                   for _ in range(POOL_SIZE // 4)]
    delete = (b'{"delete":{"status":{"id":@@ID@@,"id_str":"@@ID@@","user_id":1,'
              b'"user_id_str":"1"},"timestamp_ms":"1416000000000"}}')
    target = int(size_mb * 1e6)
    records = photo_records = raw_bytes = 0
    next_id = 530000000000000000
    with open(path, "wb") as out:
        gz = subprocess.Popen(["gzip", "-6", "-c"], stdin=subprocess.PIPE, stdout=out)
        assert gz.stdin is not None
        buf: list[bytes] = []
        while True:
            for _ in range(2000):
                next_id += rng.randint(1, 5000)
                roll = rng.random()
                if roll < 0.10:
                    tmpl = rng.choice(with_photos)
                    photo_records += 1
                elif roll < 0.12:
                    tmpl = delete
                else:
                    tmpl = rng.choice(plain)
                buf.append(tmpl.replace(ID_MARK, str(next_id).encode()))
                buf.append(b"\n")
                records += 1
            chunk = b"".join(buf)
            buf.clear()
            raw_bytes += len(chunk)
            gz.stdin.write(chunk)
            if out.tell() >= target or path.stat().st_size >= target:
                break
        gz.stdin.close()
        gz.wait()
    return {"records": records, "photo_records": photo_records, "raw_bytes": raw_bytes,
            "gz_bytes": path.stat().st_size}


def timed(cmd: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + sys) and peak RSS (KiB) of one command."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert p.stderr is not None
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode}): {err.decode()[-500:]}")
    timed.last_stderr = err.decode()  # type: ignore[attr-defined]
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def _line(name: str, wall: list[float], cpu: list[float], n: int, gzb: int, raw: int) -> str:
    best = min(wall)
    runs = ", ".join(f"{t:.2f}" for t in wall)
    return (f"{name:9s}  {best:6.2f} s  {n / best:10,.0f} records/s  {gzb / best / 1e6:6.1f} MB/s "
            f"gz  {raw / best / 1e6:6.1f} MB/s JSON  cpu {min(cpu):.2f} s  (runs: {runs})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mb", type=float, default=200.0, help="gzipped corpus size (MB)")
    ap.add_argument("--dir", help="where to put the corpus (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the corpus afterwards")
    ap.add_argument("--repeat", type=int, default=2, help="timed runs of each command")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse the corpus a previous --dir ... --keep run left there")
    args = ap.parse_args()

    work = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="bench-collect-"))
    work.mkdir(parents=True, exist_ok=True)
    big, small = work / "tweets.json.gz", work / "tweets-small.json.gz"
    try:
        t0 = time.perf_counter()
        saved = work / "corpus.json"
        if args.reuse and saved.exists() and big.exists() and small.exists():
            info, small_info = json.loads(saved.read_text())
        else:
            info = make_corpus(big, args.size_mb)
            small_info = make_corpus(small, args.size_mb / 8, seed=2)
            saved.write_text(json.dumps([info, small_info]))
        print(f"corpus: {info['records']:,} records ({info['photo_records']:,} with photos), "
              f"{info['gz_bytes'] / 1e6:,.1f} MB gzipped, {info['raw_bytes'] / 1e6:,.1f} MB "
              f"JSON (ratio {info['raw_bytes'] / info['gz_bytes']:.1f}x), made in "
              f"{time.perf_counter() - t0:,.0f} s")

        collect_cmd = [sys.executable, "-m", "tuilabel", "collect", str(big), "-o",
                       str(work / "kept.jsonl")]
        gz, col, rss = ([], []), ([], []), []
        for _ in range(args.repeat):
            wall, cpu, _ = timed(["gzip", "-cd", str(big)])
            gz[0].append(wall)
            gz[1].append(cpu)
            wall, cpu, maxrss = timed(collect_cmd)
            col[0].append(wall)
            col[1].append(cpu)
            rss.append(maxrss)
        summary = timed.last_stderr.strip().splitlines()[0]  # type: ignore[attr-defined]
        _, _, small_rss = timed([sys.executable, "-m", "tuilabel", "collect", str(small), "-o",
                                 str(work / "kept-small.jsonl")])
        with open(work / "kept.jsonl", "rb") as fh:
            kept = sum(1 for _ in fh)

        n, gzb, raw = info["records"], info["gz_bytes"], info["raw_bytes"]
        print(_line("gzip -cd", *gz, n, gzb, raw))
        print(_line("collect", *col, n, gzb, raw))
        print(f"ratio:     collect rate = {min(gz[0]) / min(col[0]):.2f} x gzip rate "
              f"(target >= 0.50)")
        print(f"kept:      {kept:,} records (expected {info['photo_records']:,})")
        print(f"summary:   {summary}")
        print(f"memory:    collect peak RSS {max(rss) / 1024:,.0f} MiB on "
              f"{gzb / 1e6:,.0f} MB, {small_rss / 1024:,.0f} MiB on "
              f"{small_info['gz_bytes'] / 1e6:,.0f} MB")
        if kept != info["photo_records"]:
            sys.exit("bench: collect kept a different number of records than were generated")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
