"""Tweet files as people have them (issue 13): every shape recognised by content, every
collector's format in the one table, media kinds from the richest description, and local photo
paths resolved against the file that holds them.

The tw-NN files in tests/data/inputs/ are the regression cases as reported; the records built
here stand for the kind of input each case is one of.
"""

from __future__ import annotations

import codecs
import copy
import json
import os
from pathlib import Path

import pytest
from conftest import run_cli
from test_tweets_photos import (
    AS_POST,
    PBS,
    SN_PHOTOS,
    V1_NO_MEDIA,
    V1_TWO_PHOTOS,
    V2_FLAT,
    V2_PAGE,
    activity,
    media,
    urls,
    v1_media,
    v1_tweet,
)

from tuilabel.errors import DataError
from tuilabel.tweets import (
    FORMATS,
    ReadStats,
    collect,
    extract_photos,
    iter_items,
    iter_records,
    record_format,
    tweet_ids,
)
from tuilabel.tweets.photos import MEDIA_MARKS, may_hold_photo
from tuilabel.tweets.read import PARSE_SMALL, SHAPES

CASES = Path(__file__).parent / "data" / "inputs"
PHOTO_TWEET = "1341793727208181762"
PHOTO_URL = "https://pbs.twimg.com/media/Ep8CRytXIAgWtpq.jpg"


def read(path: Path, **kw) -> tuple[list[dict], ReadStats]:
    stats = ReadStats()
    return list(iter_records([str(path)], stats, **kw)), stats


def collected(path: Path, **kw) -> tuple[list[dict], ReadStats]:
    import io

    out = io.BytesIO()
    stats = collect([str(path)], out, ReadStats(), **kw)
    return [json.loads(line) for line in out.getvalue().splitlines()], stats


def balanced(stats: ReadStats) -> bool:
    return stats.records_seen == stats.kept + sum(stats.skipped.values())


# ----------------------------------------------------------------------------- tw-01: kinds


def test_tw01_a_video_that_entities_calls_a_photo_is_a_video():
    records, _ = read(CASES / "tw-01.jsonl")
    assert len(records) == 2
    for record in records:
        assert extract_photos(record) == []
        thumbs = extract_photos(record, thumbnails=True)
        assert [p.kind for p in thumbs] == ["video"]  # one thumbnail, not a photo and a video
    kept, stats = collected(CASES / "tw-01.jsonl")
    assert kept == [] and stats.skipped == {"no_photo": 2}
    kept, _ = collected(CASES / "tw-01.jsonl", thumbnails=True)
    assert len(kept) == 2


def _video_under_media(n: str) -> dict:
    item = v1_media(n, f"VID{n}", "video")
    item["media_url_https"] = f"{PBS}/media/VID{n}.jpg"  # the preview is under /media/
    item["expanded_url"] = f"https://twitter.com/someone/status/{n}/video/1"
    return item


def test_richest_description_decides_in_every_layout():
    # Activity Streams: twitter_extended_entities says video, twitter_entities says photo.
    assert extract_photos(activity("7001", [_video_under_media("7001")])) == []
    # Only entities (no extended_entities, as in older dumps): the link says video.
    only_entities = v1_tweet("7002")
    only_entities["entities"]["media"] = [dict(_video_under_media("7002"), type="photo")]
    assert extract_photos(only_entities) == []
    assert [p.kind for p in extract_photos(only_entities, thumbnails=True)] == ["video"]
    # Truncated tweet: extended_tweet.extended_entities says video.
    truncated = v1_tweet("7003", truncated=True, extended_tweet={
        "full_text": "x", "entities": {"media": [dict(_video_under_media("7003"), type="photo")]},
        "extended_entities": {"media": [_video_under_media("7003")]}})
    assert extract_photos(truncated) == []
    # A real photo next to the video is still found.
    mixed = v1_tweet("7004", [v1_media("7005", "PHOTO"), _video_under_media("7006")])
    assert [(p.kind, p.url) for p in extract_photos(mixed)] == [("photo", media("PHOTO"))]


# ----------------------------------------------------------------------------- tw-02: envelopes


def test_tw02_saved_api_responses_give_the_photo_tweet_once():
    kept, stats = collected(CASES / "tw-02.jsonl")
    assert [t["id_str"] for t in kept] == [PHOTO_TWEET]
    assert stats.kept == 1 and stats.skipped == {"duplicate": 2, "no_photo": 1}
    assert balanced(stats)
    r = run_cli("collect", "--strict", str(CASES / "tw-02.jsonl"))
    assert r.returncode == 0, r.stderr
    assert [json.loads(x)["id_str"] for x in r.stdout.splitlines()] == [PHOTO_TWEET]


@pytest.mark.parametrize("envelope", [
    lambda ts: ts,                                                     # statuses/user_timeline
    lambda ts: {"statuses": ts, "search_metadata": {"count": 2}},      # search/tweets
    lambda ts: {"results": ts, "next": "abc", "requestParameters": {}},  # premium / Gnip search
])
def test_every_envelope_opens_on_one_line_and_pretty_printed(tmp_path: Path, envelope):
    body = envelope([V1_TWO_PHOTOS, V1_NO_MEDIA])
    for name, text in (("one.jsonl", json.dumps(body)),
                       ("pretty.json", json.dumps(body, indent=2))):
        f = tmp_path / name
        f.write_text(text + "\n")
        records, stats = read(f)
        assert [tweet_ids(r) for r in records] == [tweet_ids(V1_TWO_PHOTOS), ["103"]], name
        assert stats.records_seen == 2 and balanced(stats)


def test_activity_streams_search_results_open_too(tmp_path: Path):
    f = tmp_path / "search.json"
    f.write_text(json.dumps({"results": [AS_POST], "next": "x"}, indent=1))
    kept, _ = collected(f)
    assert kept == [AS_POST]


# ----------------------------------------------------------------------------- tw-03: collectors


def test_tw03_snscrape_2020_without_type():
    records, _ = read(CASES / "tw-03.jsonl")
    assert [record_format(r) for r in records] == ["snscrape2020"]
    photos = extract_photos(records[0])
    assert [(p.tweet_id, p.url, p.kind) for p in photos] == [(PHOTO_TWEET, PHOTO_URL, "photo")]
    kept, _ = collected(CASES / "tw-03.jsonl")
    assert len(kept) == 1


SN_2020_VIDEO = {
    "url": "https://twitter.com/someone/status/501", "date": "2021-01-01T00:00:00+00:00",
    "content": "look", "id": 501, "user": {"username": "someone"},
    "media": [{"thumbnailUrl": f"{PBS}/ext_tw_video_thumb/1/pu/img/SN20V.jpg", "type": "video",
               "variants": [], "duration": 3.0},
              {"thumbnailUrl": f"{PBS}/tweet_video_thumb/SN20G.jpg", "type": "gif",
               "variants": []}],
}
TWSCRAPE = {
    "id": 601, "id_str": "601", "url": "https://x.com/someone/status/601",
    "date": "2024-01-01 00:00:00+00:00", "user": {"id_str": "1", "username": "someone",
                                                  "_type": "snscrape.modules.twitter.User"},
    "lang": "en", "rawContent": "look",
    "media": {"photos": [{"url": f"{PBS}/media/TWS1.jpg"}],
              "videos": [{"thumbnailUrl": f"{PBS}/amplify_video_thumb/2/img/TWSV.jpg",
                          "variants": [], "duration": 1000}],
              "animated": [{"thumbnailUrl": f"{PBS}/tweet_video_thumb/TWSG.jpg",
                            "videoUrl": "https://video.twimg.com/x.mp4"}]},
    "retweetedTweet": None, "quotedTweet": None,
    "_type": "snscrape.modules.twitter.Tweet",
}
ARCHIVE_ITEM = {"tweet": {
    "id_str": "701", "id": "701", "full_text": "look https://t.co/x", "created_at": "x",
    "entities": {"media": [dict(v1_media("7701", "ARC1"), type="photo")]},
    "extended_entities": {"media": [v1_media("7701", "ARC1"), v1_media("7702", "ARC2")]},
}}

#: One record with a photo per format of the table (the collectors' own layouts).
ONE_PER_FORMAT = {
    "activity": (AS_POST, [media("ASP1"), media("ASP2")]),
    "v2": (V2_PAGE, [media("V2R1", "png")]),
    "archive": (ARCHIVE_ITEM, [media("ARC1"), media("ARC2")]),
    "twscrape": (TWSCRAPE, [media("TWS1")]),
    "snscrape": (SN_PHOTOS, [media("SNP1"), media("SNP2")]),
    "v1": (V1_TWO_PHOTOS, [media("AAAA"), media("BBBB")]),
    "snscrape2020": (json.loads((CASES / "tw-03.jsonl").read_text()), [PHOTO_URL]),
    "v2flat": (V2_FLAT, [media("V2F1"), media("V2F2")]),
}


def test_the_format_table_has_one_row_per_format_and_every_row_is_tested():
    names = [f.name for f in FORMATS]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(ONE_PER_FORMAT)
    for fmt in FORMATS:
        assert fmt.writers and fmt.recognised_by and fmt.photos_at, fmt.name


@pytest.mark.parametrize("name", sorted(ONE_PER_FORMAT))
def test_each_format_is_recognised_and_its_photos_found(name: str):
    record, expected = ONE_PER_FORMAT[name]
    assert record_format(record) == name
    assert set(expected) <= set(urls(extract_photos(record)))
    # The fast path can never drop it: its raw line carries a media mark of the table.
    assert may_hold_photo(json.dumps(record).encode())


def test_fast_path_keeps_every_format_on_long_lines(tmp_path: Path):
    f = tmp_path / "all.jsonl"
    pad = "x" * (PARSE_SMALL + 10)  # past the size at which lines are judged unparsed
    records = [dict(copy.deepcopy(r), padding=pad) for r, _ in ONE_PER_FORMAT.values()]
    f.write_text("".join(json.dumps(r) + "\n" for r in records))
    kept, stats = collected(f)
    assert len(kept) == len(records) and stats.skipped == {}
    assert MEDIA_MARKS == (b'"media',)  # derived from the table, not assumed


def test_twscrape_and_snscrape_2020_thumbnails_by_kind():
    assert extract_photos(SN_2020_VIDEO) == []
    assert [p.kind for p in extract_photos(SN_2020_VIDEO, thumbnails=True)] == [
        "video", "animated_gif"]
    assert [p.kind for p in extract_photos(TWSCRAPE, thumbnails=True)] == [
        "photo", "video", "animated_gif"]


# ----------------------------------------------------------------------------- tw-05: encodings


def test_tw05_utf16_with_bom_and_crlf():
    records, stats = read(CASES / "tw-05.jsonl")
    assert [tweet_ids(r) for r in records] == [[PHOTO_TWEET], ["1341494971405373445"]]
    assert stats.problems == [] and balanced(stats)


@pytest.mark.parametrize(("encoding", "bom"), [
    ("utf-8", codecs.BOM_UTF8), ("utf-8", b""),
    ("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-32-be", codecs.BOM_UTF32_BE),
    ("utf-16-le", b""),  # no BOM, told by the zero bytes of ASCII text
])
def test_every_unicode_encoding_with_a_bom(tmp_path: Path, encoding: str, bom: bytes):
    tweet = dict(V1_TWO_PHOTOS, text="café ☕ 𝄞")
    text = json.dumps(tweet, ensure_ascii=False) + "\r\n" + json.dumps(V1_NO_MEDIA) + "\r\n"
    f = tmp_path / "t.jsonl"
    f.write_bytes(bom + text.encode(encoding))
    records, stats = read(f, strict=True)
    assert records == [tweet, V1_NO_MEDIA]


# ----------------------------------------------------------------------------- tw-06: documents


def test_tw06_one_pretty_printed_tweet():
    kept, stats = collected(CASES / "tw-06.json")
    assert [t["id_str"] for t in kept] == [PHOTO_TWEET]
    assert stats.problems == [] and balanced(stats)


def test_documents_one_after_another_and_arrays_over_many_lines(tmp_path: Path):
    f = tmp_path / "jq.json"  # what `jq . tweets.jsonl` writes
    f.write_text(json.dumps(V1_TWO_PHOTOS, indent=2) + "\n" + json.dumps(AS_POST, indent=2))
    assert read(f)[0] == [V1_TWO_PHOTOS, AS_POST]
    g = tmp_path / "array.json"
    g.write_text(json.dumps([V1_TWO_PHOTOS, V2_PAGE, AS_POST], indent=4))
    assert read(g)[0] == [V1_TWO_PHOTOS, V2_PAGE, AS_POST]


def test_a_huge_array_is_streamed_item_by_item(tmp_path: Path):
    # One line far longer than a line may be: read as a JSON array, item by item (a line
    # reader would skip it whole as too_long).
    f = tmp_path / "timeline.json"
    tweets = [dict(V1_TWO_PHOTOS, id_str=str(10**6 + i), id=10**6 + i) for i in range(300)]
    f.write_text(json.dumps(tweets))
    assert f.stat().st_size > 100 * 3000
    records, stats = read(f, max_line=3000)
    assert len(records) == 300 and stats.skipped == {}


def test_huge_integers_and_fractions_in_a_json_array(tmp_path: Path):
    # ijson's C backend with use_float refused integers over 2**63 ("integer overflow") and
    # dropped the rest of the file; a fraction (a coordinate) must come back out as a number.
    tweet = dict(V1_TWO_PHOTOS, coordinates={"type": "Point", "coordinates": [-73.99, 40.73]},
                 some_counter=2**64 + 5)
    f = tmp_path / "big.json"
    f.write_text(json.dumps([tweet, V1_NO_MEDIA], indent=1))
    records, stats = read(f, strict=True)
    assert len(records) == 2 and records[0]["some_counter"] == 2**64 + 5
    kept, _ = collected(f)
    assert kept == [tweet]


def test_a_broken_document_is_one_problem_and_strict_stops(tmp_path: Path):
    f = tmp_path / "cut.json"
    text = json.dumps([V1_TWO_PHOTOS, AS_POST], indent=2)
    f.write_text(text[: len(text) - 40])
    records, stats = read(f)
    assert records == [V1_TWO_PHOTOS]
    assert stats.skipped == {"not_json": 1}
    assert "JSON broken after 1 record" in stats.problems[0][2]
    with pytest.raises(DataError, match="JSON broken"):
        read(f, strict=True)


def test_account_archive_tweets_js(tmp_path: Path):
    f = tmp_path / "tweets.js"
    f.write_text("window.YTD.tweets.part0 = " + json.dumps([ARCHIVE_ITEM, {"tweet": {
        "id_str": "702", "full_text": "no photo", "entities": {}}}], indent=2))
    records, stats = read(f)
    assert [record_format(r) for r in records] == ["archive", "archive"]
    assert urls(extract_photos(records[0])) == [media("ARC1"), media("ARC2")]
    kept, _ = collected(f)
    assert kept == [ARCHIVE_ITEM]
    old = tmp_path / "tweet.js"  # 2019 archives: window.YTD.tweet.part0, bare tweets
    old.write_text("window.YTD.tweet.part0 = [ " + json.dumps(ARCHIVE_ITEM["tweet"]) + " ];\n")
    records, stats = read(old, strict=True)  # a statement's `;` at the end is not damage
    assert [record_format(r) for r in records] == ["v1"]


# ----------------------------------------------------------------------------- tw-07: CSV


def test_tw07_twarc_csv_photos_found():
    items = list(iter_items([str(CASES / "tw-07.csv")], ReadStats()))
    photos = [p for item in items for p in extract_photos(item.record)]
    assert [(p.tweet_id, p.url) for p in photos] == [
        ("1440717067863216142", "https://pbs.twimg.com/media/E_50iIlUcBIcU0j.jpg")]
    assert [record_format(i.record) for i in items] == ["v2flat"] * len(items)
    kept, stats = collected(CASES / "tw-07.csv")
    assert [t["id"] for t in kept] == ["1440717067863216142"]
    assert kept[0]["attachments"]["media_keys"] == ["3_1440717060573523986"]


def test_other_csv_is_one_clear_line_and_an_error_under_strict(tmp_path: Path):
    f = tmp_path / "labels.csv"
    f.write_text("tweet_id,link,label_1,score_1\n1,https://x/a.jpg,cat,0.9\n" * 50)
    records, stats = read(f)
    assert records == [] and stats.skipped == {"unknown_shape": 1}
    assert len(stats.problems) == 1
    assert "CSV" in stats.problems[0][2] and "JSON Lines" in stats.problems[0][2]
    r = run_cli("collect", str(f), "--strict")
    assert r.returncode == 1
    assert "CSV or TSV without twarc-csv's columns" in r.stderr and "Traceback" not in r.stderr


def test_unknown_shapes_say_what_they_are(tmp_path: Path):
    html = tmp_path / "page.json"
    html.write_text("<!DOCTYPE html>\n<html><body>rate limited</body></html>\n")
    _, stats = read(html)
    assert stats.problems[0][2].startswith("an HTML page, not tweets")
    r = run_cli("collect", str(html))
    assert r.returncode == 0
    assert r.stderr.count("\n") <= 4 and "an HTML page" in r.stderr


def test_every_shape_is_tested_here():
    assert [s.name for s in SHAPES] == ["tweets.js", "JSON Lines", "JSON", "twarc-csv"]


# ----------------------------------------------------------------------------- local paths


LOCAL = v1_tweet("801", [
    {"id_str": "9801", "media_url_https": "photos/a.jpg", "type": "photo"},
    {"id_str": "9802", "media_url_https": "../elsewhere/b.png", "type": "photo"},
    {"id_str": "9803", "media_url_https": "/srv/photos/c.jpg", "type": "photo"},
    {"id_str": "9804", "media_url_https": "file:///srv/photos/d.jpg", "type": "photo"},
])


def test_local_paths_resolve_against_the_records_folder():
    found = urls(extract_photos(LOCAL, base="/data/run1"))
    assert found == ["/data/run1/photos/a.jpg", "/data/elsewhere/b.png", "/srv/photos/c.jpg",
                     "file:///srv/photos/d.jpg"]
    assert urls(extract_photos(LOCAL))[:2] == ["photos/a.jpg", "../elsewhere/b.png"]


def test_label_jobs_store_absolute_paths_from_any_folder(tmp_path: Path, monkeypatch):
    from tuilabel.pipeline import tweet_jobs

    data = tmp_path / "data"
    data.mkdir()
    (data / "t.jsonl").write_text(json.dumps(LOCAL) + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    jobs = list(tweet_jobs([os.path.relpath(data / "t.jsonl")]))
    assert [j.url for j in jobs][:2] == [str(data / "photos/a.jpg"),
                                         str(tmp_path / "elsewhere/b.png")]
    assert all(j.url == j.fetch_url for j in jobs)


def test_account_archive_photos_come_from_its_media_folder(tmp_path: Path):
    from tuilabel.pipeline import tweet_jobs

    data = tmp_path / "archive" / "data"
    (data / "tweets_media").mkdir(parents=True)
    (data / "tweets_media" / "701-ARC1.jpg").write_bytes(b"jpeg bytes")
    (data / "tweets.js").write_text("window.YTD.tweets.part0 = " + json.dumps([ARCHIVE_ITEM]))
    jobs = list(tweet_jobs([str(data / "tweets.js")]))
    assert [j.url for j in jobs] == [str(data / "tweets_media" / "701-ARC1.jpg"), media("ARC2")]
    assert jobs[0].fetch_url == jobs[0].url and jobs[0].media_id == "7701"


def test_the_sample_is_labeled_from_any_folder_and_stored_absolute(tmp_path: Path):
    # The sample's photo paths are relative to sample_data/ (its tweets.jsonl), not to the
    # folder label runs in; they are stored absolute, so that score finds them from anywhere.
    import sqlite3

    from conftest import REPO

    db = tmp_path / "t.db"
    r = run_cli("label", str(REPO / "sample_data" / "tweets.jsonl"), "-m", "test_rgb",
                "--db", str(db), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "failed: 0" in r.stderr and "labeled 6 photo(s)" in r.stderr
    with sqlite3.connect(db) as con:
        stored = {url for (url,) in con.execute("SELECT DISTINCT url FROM images")}
    photos = REPO / "sample_data" / "photos"
    assert stored == {str(p) for p in photos.iterdir()}
    again = run_cli("label", "sample_data/tweets.jsonl", "-m", "test_rgb", "--db", str(db),
                    cwd=REPO)
    assert "labeled 0 photo(s)" in again.stderr and "already in the store: 6" in again.stderr
