"""The photo extractor on hand-written records in every supported format.

The records follow the shapes documented for each source (Gnip Activity Streams, API v1.1
REST and streaming, API v2 via twarc2, snscrape), trimmed to the fields that matter plus a
few that do not, so that the extractor is shown to find photos where they really are.
`test_collect.py` imports the records from here.
"""

from __future__ import annotations

import copy
import json

import pytest

from tuilabel.tweets import (
    Photo,
    canonical_url,
    extract_photos,
    fetch_url_for,
    record_format,
    tweet_ids,
)

PBS = "https://pbs.twimg.com"
BIG_ID = "1234567890123456789"  # above 2**53: must survive as a string


def v1_media(media_id: str, name: str, kind: str = "photo", source: str | None = None,
             http: bool = False) -> dict:
    """A v1.1 media item as the API sends it."""
    if kind == "animated_gif":
        path = f"/tweet_video_thumb/{name}.jpg"
    elif kind == "video":
        path = f"/ext_tw_video_thumb/{media_id}/pu/img/{name}.jpg"
    else:
        path = f"/media/{name}.jpg"
    item = {
        "id": int(media_id), "id_str": media_id, "indices": [10, 33],
        "media_url": f"http://pbs.twimg.com{path}",
        "media_url_https": f"{PBS}{path}",
        "url": "https://t.co/abcdefghij", "display_url": "pic.twitter.com/abcdefghij",
        "expanded_url": "https://twitter.com/someone/status/1/photo/1", "type": kind,
        "sizes": {"thumb": {"w": 150, "h": 150, "resize": "crop"},
                  "small": {"w": 680, "h": 453, "resize": "fit"}},
    }
    if http:
        del item["media_url_https"]
    if source:
        item["source_status_id"] = int(source)
        item["source_status_id_str"] = source
    return item


def v1_tweet(tid: str, media: list[dict] | None = None, text: str = "look", **extra) -> dict:
    """A v1.1 tweet: `entities.media` holds the first item only, typed photo."""
    t = {
        "created_at": "Wed Oct 10 20:19:24 +0000 2018", "id": int(tid), "id_str": tid,
        "text": text, "truncated": False, "user": {"id": 6253282, "id_str": "6253282",
                                                    "screen_name": "someone"},
        "entities": {"hashtags": [], "urls": [], "user_mentions": []},
    }
    if media:
        first = dict(media[0], type="photo")  # the platform calls a GIF a photo here
        t["entities"]["media"] = [first]
        t["extended_entities"] = {"media": media}
    t.update(extra)
    return t


# --- API v1.1 -------------------------------------------------------------------------------

V1_TWO_PHOTOS = v1_tweet(BIG_ID, [v1_media("9000000000000000001", "AAAA"),
                                  v1_media("9000000000000000002", "BBBB")])
V1_GIF = v1_tweet("101", [v1_media("9101", "GIF1", "animated_gif")])
V1_VIDEO = v1_tweet("102", [v1_media("9102", "VID1", "video")])
V1_NO_MEDIA = v1_tweet("103")
V1_RETWEET = v1_tweet(
    "104", [v1_media("9000000000000000001", "AAAA", source=BIG_ID)],
    text="RT @someone: look", retweeted_status=copy.deepcopy(V1_TWO_PHOTOS))
V1_QUOTE = v1_tweet("105", [v1_media("9105", "QQQQ")], quoted_status=v1_tweet(
    "106", [v1_media("9106", "QTED")]), quoted_status_id_str="106", is_quote_status=True)
V1_TRUNCATED = v1_tweet("107", text="a long tweet that was cut…", truncated=True,
                        extended_tweet={
                            "full_text": "a long tweet that was cut here and continues",
                            "entities": {"media": [dict(v1_media("9171", "TRC1"))]},
                            "extended_entities": {"media": [
                                v1_media("9171", "TRC1"), v1_media("9172", "TRC2"),
                                v1_media("9173", "TRC3")]},
                        })
V1_FIVE = v1_tweet("108", [v1_media(f"918{i}", f"FIVE{i}") for i in range(5)])
V1_LEGACY_HTTP = {  # 2012-era: no extended_entities, no media_url_https, no id_str on media
    "id": 109, "id_str": "109", "text": "old", "user": {"id": 1},
    "entities": {"media": [{"id": 9109, "media_url": "http://pbs.twimg.com/media/OLD1.jpg",
                            "type": "photo"}]},
}
V1_LOCAL = v1_tweet("110", [
    {"id_str": "9110", "media_url_https": "sample_data/photos/cat.jpg", "type": "photo"},
    {"id_str": "9111", "media_url_https": "file:///srv/photos/dog.png", "type": "photo"},
    {"id_str": "9112", "media_url_https": "https://example.org/img/owl.jpg?x=1",
     "type": "photo"},
])
V1_MIXED = v1_tweet("111", [v1_media("9113", "MIX1"), v1_media("9114", "MIX2", "video")])

DELETE = {"delete": {"status": {"id": 1, "id_str": "1", "user_id": 3, "user_id_str": "3"},
                     "timestamp_ms": "1481651337305"}}
LIMIT = {"limit": {"track": 1234, "timestamp_ms": "1481651337305"}}
SCRUB_GEO = {"scrub_geo": {"user_id": 14090452, "user_id_str": "14090452",
                           "up_to_status_id": 23260136625, "up_to_status_id_str": "23260136625"}}
WITHHELD = {"status_withheld": {"id": 1234567890, "user_id": 123456,
                                "withheld_in_countries": ["DE", "AR"]}}


# --- Activity Streams (Gnip) --------------------------------------------------------------


def activity(tid: str, ext: list[dict] | None = None, **extra) -> dict:
    a = {
        "id": f"tag:search.twitter.com,2005:{tid}", "objectType": "activity", "verb": "post",
        "postedTime": "2014-06-01T00:00:00.000Z", "body": "look",
        "actor": {"objectType": "person", "id": "id:twitter.com:6253282"},
        "object": {"objectType": "note", "id": f"object:search.twitter.com,2005:{tid}",
                   "summary": "look"},
        "twitter_entities": {"hashtags": [], "urls": [], "user_mentions": []},
    }
    if ext:
        a["twitter_entities"]["media"] = [dict(ext[0], type="photo")]
        a["twitter_extended_entities"] = {"media": ext}
    a.update(extra)
    return a


AS_POST = activity("201", [v1_media("9201", "ASP1"), v1_media("9202", "ASP2")])
AS_GIF = activity("202", [v1_media("9203", "ASG1", "animated_gif")])
AS_OLD_GIF = activity("203")  # before extended entities: only the first item, called a photo
AS_OLD_GIF["twitter_entities"]["media"] = [dict(v1_media("9204", "ASG2", "animated_gif"),
                                                type="photo")]
AS_SHARE = activity("204", verb="share", body="RT @someone: look",
                    object=copy.deepcopy(AS_POST))
AS_SHARE["twitter_entities"]["media"] = [dict(v1_media("9201", "ASP1"), type="photo")]
AS_LONG = activity("205", long_object={
    "body": "a long post", "twitter_entities": {"media": [v1_media("9205", "ASL1")]},
    "twitter_extended_entities": {"media": [v1_media("9205", "ASL1"),
                                            v1_media("9206", "ASL2")]},
})
AS_QUOTE = activity("206", twitter_quoted_status=activity("207", [v1_media("9207", "ASQ1")]))
AS_INFO = {"info": {"message": "Replay Request Completed", "sent": "2014-06-02T00:00:00+00:00",
                    "activity_count": 1000}}


# --- API v2 (twarc2) ----------------------------------------------------------------------

V2_STREAM_LINE = {
    "data": {"id": "301", "text": "look", "author_id": "6253282",
             "edit_history_tweet_ids": ["301"],
             "attachments": {"media_keys": ["3_9301", "7_9302"]}},
    "includes": {"media": [
        {"media_key": "3_9301", "type": "photo", "url": f"{PBS}/media/V2P1.jpg",
         "width": 1200, "height": 800},
        {"media_key": "7_9302", "type": "video",
         "preview_image_url": f"{PBS}/ext_tw_video_thumb/9302/pu/img/V2V1.jpg"},
    ]},
    "matching_rules": [{"id": "1", "tag": "cats"}],
}
V2_PAGE = {
    "data": [
        {"id": "302", "text": "no media", "author_id": "1"},
        {"id": "303", "text": "RT @x: look", "author_id": "1",
         "referenced_tweets": [{"type": "retweeted", "id": "304"}],
         "attachments": {"media_keys": ["3_9304"]}},
        {"id": "305", "text": "gif", "author_id": "1",
         "attachments": {"media_keys": ["16_9305"]}},
    ],
    "includes": {
        "media": [
            {"media_key": "3_9304", "type": "photo", "url": f"{PBS}/media/V2R1.png"},
            {"media_key": "16_9305", "type": "animated_gif",
             "preview_image_url": f"{PBS}/tweet_video_thumb/V2G1.jpg"},
        ],
        "tweets": [{"id": "304", "text": "look", "author_id": "2",
                    "attachments": {"media_keys": ["3_9304"]}}],
        "users": [{"id": "1", "username": "x"}],
    },
    "meta": {"result_count": 3, "newest_id": "305", "oldest_id": "302"},
    "__twarc": {"url": "https://api.twitter.com/2/tweets/search/recent", "version": "2.14.0"},
}
V2_ERRORS = {"errors": [{"title": "Not Found Error", "detail": "Could not find tweet"}],
             "__twarc": {"version": "2.14.0"}}
V2_FLAT = {
    "id": "306", "text": "RT @y: look", "author_id": "1", "edit_history_tweet_ids": ["306"],
    "author": {"id": "1", "username": "x"},
    "entities": {"mentions": [{"start": 3, "end": 5, "username": "y"}]},
    "attachments": {"media_keys": ["3_9307"], "media": [
        {"media_key": "3_9307", "type": "photo", "url": f"{PBS}/media/V2F1.jpg"}]},
    "referenced_tweets": [{
        "type": "retweeted", "id": "307", "text": "look", "author_id": "2",
        "attachments": {"media_keys": ["3_9307", "3_9308"], "media": [
            {"media_key": "3_9307", "type": "photo", "url": f"{PBS}/media/V2F1.jpg"},
            {"media_key": "3_9308", "type": "photo", "url": f"{PBS}/media/V2F2.jpg"}]},
    }],
    "__twarc": {"version": "2.14.0"},
}


# --- snscrape -----------------------------------------------------------------------------


def sn_tweet(tid: int, media: list[dict] | None, **extra) -> dict:
    t = {"_type": "snscrape.modules.twitter.Tweet",
         "url": f"https://twitter.com/someone/status/{tid}", "date": "2022-01-01T00:00:00+00:00",
         "rawContent": "look", "id": tid, "user": {"_type": "snscrape.modules.twitter.User",
                                                   "username": "someone"},
         "media": media, "retweetedTweet": None, "quotedTweet": None}
    t.update(extra)
    return t


def sn_photo(name: str) -> dict:
    return {"_type": "snscrape.modules.twitter.Photo",
            "previewUrl": f"{PBS}/media/{name}?format=jpg&name=small",
            "fullUrl": f"{PBS}/media/{name}?format=jpg&name=large", "altText": None}


SN_PHOTOS = sn_tweet(1499999999999999999, [
    sn_photo("SNP1"), sn_photo("SNP2"),
    {"_type": "snscrape.modules.twitter.Video",
     "thumbnailUrl": f"{PBS}/amplify_video_thumb/1/img/SNV1.jpg",
     "variants": [{"contentType": "video/mp4", "url": "https://video.twimg.com/x.mp4"}]},
    {"_type": "snscrape.modules.twitter.Gif",
     "thumbnailUrl": f"{PBS}/tweet_video_thumb/SNG1.jpg", "variants": []},
])
SN_RETWEET = sn_tweet(402, None, retweetedTweet=sn_tweet(403, [sn_photo("SNR1")]))
SN_QUOTE = sn_tweet(404, [sn_photo("SNQ1")], quotedTweet=sn_tweet(405, [sn_photo("SNQ2")]))
SN_NONE = sn_tweet(406, None)


def urls(photos: list[Photo]) -> list[str]:
    return [p.url for p in photos]


def media(name: str, ext: str = "jpg") -> str:
    return f"{PBS}/media/{name}.{ext}"


# ----------------------------------------------------------------------------- v1.1


def test_v1_all_photos_with_string_ids_and_small_fetch_url():
    photos = extract_photos(json.loads(json.dumps(V1_TWO_PHOTOS)))
    assert photos == [
        Photo(BIG_ID, media("AAAA"), f"{PBS}/media/AAAA?format=jpg&name=small",
              "9000000000000000001", "photo"),
        Photo(BIG_ID, media("BBBB"), f"{PBS}/media/BBBB?format=jpg&name=small",
              "9000000000000000002", "photo"),
    ]


def test_v1_gif_and_video_only_with_thumbnails():
    assert extract_photos(V1_GIF) == []
    assert extract_photos(V1_VIDEO) == []
    (gif,) = extract_photos(V1_GIF, thumbnails=True)
    assert (gif.kind, gif.url, gif.media_id) == (
        "animated_gif", f"{PBS}/tweet_video_thumb/GIF1.jpg", "9101")
    (video,) = extract_photos(V1_VIDEO, thumbnails=True)
    assert video.kind == "video"
    assert video.fetch_url == f"{PBS}/ext_tw_video_thumb/9102/pu/img/VID1?format=jpg&name=small"


def test_v1_mixed_photo_and_video():
    assert urls(extract_photos(V1_MIXED)) == [media("MIX1")]
    assert [p.kind for p in extract_photos(V1_MIXED, thumbnails=True)] == ["photo", "video"]


def test_v1_retweet_counts_the_original_photos_once():
    photos = extract_photos(V1_RETWEET)
    assert urls(photos) == [media("AAAA"), media("BBBB")]
    assert {p.tweet_id for p in photos} == {BIG_ID}  # the photos belong to the original


def test_v1_quote_gives_own_then_quoted_photos():
    photos = extract_photos(V1_QUOTE)
    assert [(p.tweet_id, p.url) for p in photos] == [("105", media("QQQQ")),
                                                     ("106", media("QTED"))]


def test_v1_truncated_tweet_media_in_extended_tweet():
    assert urls(extract_photos(V1_TRUNCATED)) == [media("TRC1"), media("TRC2"), media("TRC3")]


def test_at_most_four_photos_per_tweet():
    assert urls(extract_photos(V1_FIVE)) == [media(f"FIVE{i}") for i in range(4)]


def test_v1_legacy_http_media_url_and_numeric_media_id():
    (p,) = extract_photos(V1_LEGACY_HTTP)
    assert p == Photo("109", media("OLD1"), f"{PBS}/media/OLD1?format=jpg&name=small", "9109",
                      "photo")


def test_non_platform_urls_and_local_paths_pass_through():
    photos = extract_photos(V1_LOCAL)
    assert [(p.url, p.fetch_url) for p in photos] == [
        ("sample_data/photos/cat.jpg", "sample_data/photos/cat.jpg"),
        ("file:///srv/photos/dog.png", "file:///srv/photos/dog.png"),
        ("https://example.org/img/owl.jpg?x=1", "https://example.org/img/owl.jpg?x=1"),
    ]


def test_no_media_gives_nothing_but_is_a_tweet():
    assert extract_photos(V1_NO_MEDIA) == []
    assert tweet_ids(V1_NO_MEDIA) == ["103"]


@pytest.mark.parametrize("record", [DELETE, LIMIT, SCRUB_GEO, WITHHELD, AS_INFO, V2_ERRORS,
                                    {}, {"foo": 1}, [], "text", 3, None])
def test_non_tweets(record):
    assert record_format(record) is None
    assert tweet_ids(record) == []
    assert extract_photos(record) == []


# ----------------------------------------------------------------------------- Activity Streams


def test_activity_post_extended_entities():
    photos = extract_photos(AS_POST)
    assert [(p.tweet_id, p.url, p.media_id) for p in photos] == [
        ("201", media("ASP1"), "9201"), ("201", media("ASP2"), "9202")]
    assert record_format(AS_POST) == "activity"


def test_activity_gif_is_not_a_photo_even_where_entities_says_so():
    assert extract_photos(AS_GIF) == []
    assert extract_photos(AS_OLD_GIF) == []  # told apart by the thumbnail's path
    assert [p.kind for p in extract_photos(AS_OLD_GIF, thumbnails=True)] == ["animated_gif"]


def test_activity_share_counts_original_once():
    photos = extract_photos(AS_SHARE)
    assert [(p.tweet_id, p.url) for p in photos] == [("201", media("ASP1")),
                                                     ("201", media("ASP2"))]
    assert tweet_ids(AS_SHARE) == ["204"]


def test_activity_long_object_and_quote():
    assert urls(extract_photos(AS_LONG)) == [media("ASL1"), media("ASL2")]
    assert [(p.tweet_id, p.url) for p in extract_photos(AS_QUOTE)] == [("207", media("ASQ1"))]


# ----------------------------------------------------------------------------- API v2


def test_v2_stream_line():
    assert record_format(V2_STREAM_LINE) == "v2"
    (photo,) = extract_photos(V2_STREAM_LINE)
    assert photo == Photo("301", media("V2P1"), f"{PBS}/media/V2P1?format=jpg&name=small",
                          "9301", "photo")
    both = extract_photos(V2_STREAM_LINE, thumbnails=True)
    assert [(p.kind, p.url) for p in both] == [
        ("photo", media("V2P1")), ("video", f"{PBS}/ext_tw_video_thumb/9302/pu/img/V2V1.jpg")]


def test_v2_page_with_retweet_resolved_through_includes():
    assert tweet_ids(V2_PAGE) == ["302", "303", "305"]
    photos = extract_photos(V2_PAGE)
    assert [(p.tweet_id, p.url, p.media_id) for p in photos] == [
        ("304", media("V2R1", "png"), "9304")]
    assert photos[0].fetch_url == f"{PBS}/media/V2R1?format=png&name=small"
    assert [p.kind for p in extract_photos(V2_PAGE, thumbnails=True)] == ["photo",
                                                                          "animated_gif"]


def test_v2_flattened_retweet():
    assert record_format(V2_FLAT) == "v2flat"
    photos = extract_photos(V2_FLAT)
    assert [(p.tweet_id, p.url) for p in photos] == [("307", media("V2F1")),
                                                     ("307", media("V2F2"))]


# ----------------------------------------------------------------------------- snscrape


def test_snscrape_photos_with_canonical_url_from_query():
    photos = extract_photos(SN_PHOTOS)
    assert [(p.tweet_id, p.url, p.fetch_url, p.media_id) for p in photos] == [
        ("1499999999999999999", media("SNP1"), f"{PBS}/media/SNP1?format=jpg&name=small", None),
        ("1499999999999999999", media("SNP2"), f"{PBS}/media/SNP2?format=jpg&name=small", None),
    ]
    kinds = [(p.kind, p.url) for p in extract_photos(SN_PHOTOS, thumbnails=True)]
    assert kinds[2:] == [("video", f"{PBS}/amplify_video_thumb/1/img/SNV1.jpg"),
                         ("animated_gif", f"{PBS}/tweet_video_thumb/SNG1.jpg")]


def test_snscrape_retweet_and_quote():
    assert [(p.tweet_id, p.url) for p in extract_photos(SN_RETWEET)] == [
        ("403", media("SNR1"))]
    assert [(p.tweet_id, p.url) for p in extract_photos(SN_QUOTE)] == [
        ("404", media("SNQ1")), ("405", media("SNQ2"))]
    assert extract_photos(SN_NONE) == []
    assert tweet_ids(SN_NONE) == ["406"]


# ----------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(("raw", "canonical", "fetch"), [
    ("http://pbs.twimg.com/media/AAA.jpg:large", f"{PBS}/media/AAA.jpg",
     f"{PBS}/media/AAA?format=jpg&name=small"),
    (f"{PBS}/media/AAA.jpg:orig", f"{PBS}/media/AAA.jpg", f"{PBS}/media/AAA?format=jpg&name=small"),
    (f"{PBS}/media/AAA?format=png&name=4096x4096", f"{PBS}/media/AAA.png",
     f"{PBS}/media/AAA?format=png&name=small"),
    (f"{PBS}/media/AAA.jpg?name=large", f"{PBS}/media/AAA.jpg",
     f"{PBS}/media/AAA?format=jpg&name=small"),
    (f"{PBS}/tweet_video_thumb/G.jpg", f"{PBS}/tweet_video_thumb/G.jpg",
     f"{PBS}/tweet_video_thumb/G.jpg"),
    ("sample_data/photos/x.jpg", "sample_data/photos/x.jpg", "sample_data/photos/x.jpg"),
    ("https://example.org/a.jpg:large", "https://example.org/a.jpg:large",
     "https://example.org/a.jpg:large"),
])
def test_canonical_and_fetch_urls(raw, canonical, fetch):
    assert canonical_url(raw) == canonical
    assert fetch_url_for(canonical) == fetch


def test_same_photo_by_url_counts_once_without_media_ids():
    record = v1_tweet("501", [
        {"media_url_https": f"{PBS}/media/DUP.jpg", "type": "photo"},
        {"media_url": "http://pbs.twimg.com/media/DUP.jpg:large", "type": "photo"},
    ])
    assert urls(extract_photos(record)) == [media("DUP")]


def test_malformed_media_fields_are_ignored_not_fatal():
    record = v1_tweet("502", [v1_media("9502", "OK1")])
    record["extended_entities"]["media"] += [None, "x", {"type": "photo"},
                                             {"media_url_https": 7}]
    record["quoted_status"] = "not an object"
    assert urls(extract_photos(record)) == [media("OK1")]


ALL_RECORDS = [
    V1_TWO_PHOTOS, V1_GIF, V1_VIDEO, V1_NO_MEDIA, V1_RETWEET, V1_QUOTE, V1_TRUNCATED, V1_FIVE,
    V1_LEGACY_HTTP, V1_LOCAL, V1_MIXED, DELETE, LIMIT, SCRUB_GEO, WITHHELD, AS_POST, AS_GIF,
    AS_OLD_GIF, AS_SHARE, AS_LONG, AS_QUOTE, AS_INFO, V2_STREAM_LINE, V2_PAGE, V2_ERRORS,
    V2_FLAT, SN_PHOTOS, SN_RETWEET, SN_QUOTE, SN_NONE,
]


@pytest.mark.parametrize("thumbnails", [False, True])
def test_has_photo_agrees_with_extract_photos(thumbnails):
    from tuilabel.tweets import has_photo

    answers = [has_photo(r, thumbnails=thumbnails) for r in ALL_RECORDS]
    assert answers == [bool(extract_photos(r, thumbnails=thumbnails)) for r in ALL_RECORDS]
    assert answers.count(True) == (22 if thumbnails else 18)


def test_random_junk_in_every_field_never_raises():
    """Real records of every format with random fields swapped for values of every JSON type:
    the extractor never raises, and has_photo always agrees with it."""
    import random

    from tuilabel.tweets import has_photo

    rng = random.Random(1234)
    junk = [None, True, 0, 7, -1, 1.5, "", "x", "3_9", "photo", "video", "share", "activity",
            "tag:x:5", f"{PBS}/media/R.jpg", [], [None, 3], {}, {"media": 5}, {"id": None}]

    def mutate(obj: object) -> object:
        if isinstance(obj, dict):
            return {k: (rng.choice(junk) if rng.random() < 0.08 else mutate(v))
                    for k, v in obj.items()}
        if isinstance(obj, list):
            return [rng.choice(junk) if rng.random() < 0.08 else mutate(v) for v in obj]
        return obj

    found = emptied = 0
    for _ in range(400):
        for record in ALL_RECORDS:
            broken = mutate(record)
            for thumbnails in (False, True):
                photos = extract_photos(broken, thumbnails=thumbnails)
                assert has_photo(broken, thumbnails=thumbnails) == bool(photos)
                assert all(isinstance(p.tweet_id, str) and isinstance(p.url, str)
                           and p.kind in ("photo", "video", "animated_gif") for p in photos)
                assert len(photos) <= len(extract_photos(record, thumbnails=thumbnails)) + 4
                found += len(photos)
                emptied += not photos and bool(extract_photos(record, thumbnails=thumbnails))
            tweet_ids(broken)
    assert found > 1000 and emptied > 100  # both outcomes were exercised
