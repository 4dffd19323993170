"""Where a tweet's photos are: the one extractor that `collect` and `label` share.

Tweet records come from many collectors (the platform's v1.1 and v2 APIs, Gnip's Activity
Streams, twarc and twarc2, snscrape in its several versions, twscrape, the account archive),
each with its own quirks about where media live: `entities.media` holds only the first item and
calls a GIF or a video a photo, truncated tweets keep media in `extended_tweet`, v2 joins
`attachments.media_keys` to `includes.media`, a retweet repeats the original's media. `FORMATS`
below is the one table that says, for every format, who writes it, how a record is recognised
and where its photos are; `record_format`, `tweet_ids` and `extract_photos` read it, and the
reader's fast path takes its byte marks from it. Everything that knows those quirks lives here,
so that a photo is found the same way whether we are filtering an archive or labeling it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit, urlunsplit

#: At most this many photos per tweet (the platform's own limit).
MAX_PHOTOS_PER_TWEET = 4

#: How deep retweets of quotes of retweets are followed (real data nests at most two levels).
_MAX_DEPTH = 4

#: The platform's media host: it serves a photo at several sizes on request.
MEDIA_HOST = "pbs.twimg.com"
_MEDIA_HOSTS = {"pbs.twimg.com", "pbs-0.twimg.com"}

#: The size we download: "small" fits the long side in 680 px, plenty for a 224x224 model input,
#: and a fraction of the bytes of the original.
FETCH_SIZE = "small"

#: Paths on the media host that accept `?format=...&name=<size>`.
_SIZED_PREFIXES = ("/media/", "/ext_tw_video_thumb/", "/amplify_video_thumb/")

#: Legacy size suffixes: `.../X.jpg:large`.
_SIZE_SUFFIX = re.compile(r":(?:thumb|small|medium|large|orig|\d+x\d+)$")

KINDS = ("photo", "video", "animated_gif")

_HTTPS_PREFIX = f"https://{MEDIA_HOST}/"
#: Anything that makes a media-host URL need real parsing: a query, fragment, size suffix,
#: port, user info, or an escape.
_URL_EXTRAS = re.compile(r"[?#:@%\\]")


@dataclass(frozen=True)
class Photo:
    """One image of a tweet.

    `url` is canonical (what is stored and deduplicated on); `fetch_url` is what to download,
    a smaller rendition where the host offers one. `tweet_id` is the tweet the photo was posted
    with: for a retweet that is the original tweet, for a quote the quoted tweet.
    """

    tweet_id: str
    url: str
    fetch_url: str
    media_id: str | None
    kind: str  # "photo" | "video" | "animated_gif"
    #: The text of the tweet the photo was posted with (None where the record has none);
    #: context, not identity: two Photos equal in their other fields are the same photo.
    text: str | None = field(default=None, compare=False)


# ----------------------------------------------------------------------------- URLs


def canonical_url(url: str) -> str:
    """The stored form of a photo URL: on the media host, https with no size suffix or query
    (`?format=jpg&name=large` becomes `.jpg`); any other URL or local path is left as is."""
    if "twimg.com" not in url:
        return url  # the common cases first: no parsing for local paths and other hosts
    if url.startswith(_HTTPS_PREFIX) and not _URL_EXTRAS.search(url, len(_HTTPS_PREFIX)):
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.hostname not in _MEDIA_HOSTS:
        return url
    path = _SIZE_SUFFIX.sub("", parts.path)
    if parts.query:
        fmt = parse_qs(parts.query).get("format")
        last = path.rsplit("/", 1)[-1]
        if fmt and "." not in last and re.fullmatch(r"[A-Za-z0-9]{1,8}", fmt[0]):
            path = f"{path}.{fmt[0]}"
    return urlunsplit(("https", MEDIA_HOST, path, "", ""))


def fetch_url_for(url: str, size: str = FETCH_SIZE) -> str:
    """What to download for a canonical URL: the `size` rendition on the media host
    (`https://pbs.twimg.com/media/X?format=jpg&name=small`), else the URL itself."""
    if not url.startswith(_HTTPS_PREFIX) or _URL_EXTRAS.search(url, len(_HTTPS_PREFIX)):
        return url
    path = url[len(_HTTPS_PREFIX) - 1:]
    if not path.startswith(_SIZED_PREFIXES):
        return url
    stem, dot, ext = path.rpartition(".")
    if not dot or "/" in ext or not ext:
        return url
    return f"https://{MEDIA_HOST}{stem}?format={ext}&name={size}"


def _kind_from_url(kind: str, url: str) -> str:
    """`entities.media` calls every item a photo; the thumbnail's path tells the truth."""
    if kind == "photo":
        if "/tweet_video_thumb/" in url:
            return "animated_gif"
        if "/ext_tw_video_thumb/" in url or "/amplify_video_thumb/" in url:
            return "video"
    return kind


def _has_scheme(text: str) -> bool:
    head, sep, _ = text.partition(":")
    return bool(sep) and len(head) > 1 and head.replace("+", "").replace("-", "").isalnum()


def resolve_local(url: str, base: str | None) -> str:
    """A photo URL that is a relative local path, made absolute against the folder `base` (the
    folder of the file that holds the record); URLs, absolute paths and `base=None` pass."""
    if base is None or not url or _has_scheme(url):
        return url
    path = os.path.expanduser(url)
    if os.path.isabs(path):
        return path
    return os.path.normpath(os.path.join(base, path))


# ----------------------------------------------------------------------------- collecting


#: Longest tweet or media id taken (the MySQL store's column width; real ids have 20 digits).
MAX_ID_CHARS = 64


class _Collector:
    """Photos of one record in order, deduplicated by media id and by canonical URL.

    Walkers offer media items richest description first (`extended_entities` before
    `entities`), so the first description of an item decides its kind: a video that
    `entities.media` calls a photo stays a video. `base` is the folder that relative local
    photo paths are resolved against (None: left as written).
    """

    __slots__ = ("photos", "thumbnails", "first_only", "base", "_ids", "_urls")

    def __init__(self, thumbnails: bool, first_only: bool = False,
                 base: str | None = None) -> None:
        self.photos: list[Photo] = []
        self.thumbnails = thumbnails
        self.first_only = first_only
        self.base = base
        self._ids: set[str] = set()
        self._urls: set[str] = set()

    def add(self, tweet_id: str, raw_url: object, media_id: object, kind: object,
            text: object = None) -> bool:
        """Add one media item (`text`: its tweet's text); True if it became a new photo."""
        if not isinstance(raw_url, str) or not raw_url:
            return False
        kind = kind if isinstance(kind, str) and kind in KINDS else "photo"
        kind = _kind_from_url(kind, raw_url)
        mid = str(media_id) if isinstance(media_id, (str, int)) and media_id != "" else None
        if len(tweet_id) > MAX_ID_CHARS or (mid is not None and len(mid) > MAX_ID_CHARS):
            return False  # not a real id (they have 20 digits at most); the store keeps 64
        url = resolve_local(canonical_url(raw_url), self.base)
        if (mid is not None and mid in self._ids) or url in self._urls:
            return False
        # Seen, whatever its kind: a poorer description of the same item later is ignored.
        if mid is not None:
            self._ids.add(mid)
        self._urls.add(url)
        if kind != "photo" and not self.thumbnails:
            return False
        self.photos.append(Photo(tweet_id, url, fetch_url_for(url), mid, kind,
                                 text if isinstance(text, str) and text else None))
        if self.first_only:
            raise _FoundOne
        return True


class _FoundOne(Exception):
    """Stops the walk at the first photo when only a yes/no is wanted (`has_photo`)."""


def _dig(obj: object, *keys: str) -> object:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _as_list(obj: object) -> list:
    return obj if isinstance(obj, list) else []


def _id_str(obj: dict) -> str | None:
    """A tweet's id as a string: `id_str` first (`id` may have lost precision in JS tools)."""
    for key in ("id_str", "id"):
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


# --- API v1.1 and Activity Streams share the media item layout ------------------------


def _add_v1_items(out: _Collector, tweet_id: str, groups: Iterable[list], budget: int,
                  text: object = None) -> int:
    """Add media items in the v1.1 layout (`media_url_https`, `id_str`, `type`)."""
    for items in groups:
        for item in items:
            if budget <= 0:
                return budget
            if not isinstance(item, dict):
                continue
            url = item.get("media_url_https") or item.get("media_url")
            owner = item.get("source_status_id_str") or tweet_id
            kind = item.get("type")
            if kind == "photo" and "/video/" in str(item.get("expanded_url", "")):
                kind = "video"  # entities.media of a video: only its link says so
            if out.add(str(owner), url, _id_str(item), kind, text):
                budget -= 1
    return budget


def _v1_tweet(t: dict, out: _Collector, depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    rt = t.get("retweeted_status")
    if isinstance(rt, dict):
        _v1_tweet(rt, out, depth + 1)
    tweet_id = _id_str(t)
    if tweet_id is not None:
        ext = t.get("extended_tweet")
        groups = [
            _as_list(_dig(ext, "extended_entities", "media")),
            _as_list(_dig(t, "extended_entities", "media")),
            _as_list(_dig(ext, "entities", "media"))[:1],
            _as_list(_dig(t, "entities", "media"))[:1],
        ]
        text = _dig(ext, "full_text") or t.get("full_text") or t.get("text")
        _add_v1_items(out, tweet_id, groups, MAX_PHOTOS_PER_TWEET, text)
    qt = t.get("quoted_status")
    if isinstance(qt, dict):
        _v1_tweet(qt, out, depth + 1)


def _activity_id(a: dict) -> str | None:
    """`tag:search.twitter.com,2005:123` -> `123`."""
    value = a.get("id")
    if isinstance(value, str) and ":" in value:
        tail = value.rsplit(":", 1)[1]
        return tail or None
    return None


def _activity(a: dict, out: _Collector, depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    obj = a.get("object")
    if a.get("verb") == "share" and isinstance(obj, dict) and obj.get("objectType") == "activity":
        _activity(obj, out, depth + 1)
    tweet_id = _activity_id(a)
    if tweet_id is not None:
        long = a.get("long_object")
        groups = [
            _as_list(_dig(long, "twitter_extended_entities", "media")),
            _as_list(_dig(a, "twitter_extended_entities", "media")),
            _as_list(_dig(long, "twitter_entities", "media"))[:1],
            _as_list(_dig(a, "twitter_entities", "media"))[:1],
        ]
        text = _dig(long, "body") or a.get("body")
        _add_v1_items(out, tweet_id, groups, MAX_PHOTOS_PER_TWEET, text)
    qt = a.get("twitter_quoted_status")
    if isinstance(qt, dict):
        _activity(qt, out, depth + 1)


# --- API v2 -------------------------------------------------------------------------------


def _v2_media_id(media: dict) -> str | None:
    key = media.get("media_key")
    if isinstance(key, str) and "_" in key:
        return key.split("_", 1)[1] or None
    return _id_str(media) if "id" in media or "id_str" in media else None


def _v2_tweet(t: dict, media_by_key: dict, tweets_by_id: dict, out: _Collector,
              depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    refs = [r for r in _as_list(t.get("referenced_tweets")) if isinstance(r, dict)]

    def referenced(ref: dict) -> dict | None:
        # twarc2's flattened records put the whole referenced tweet in place of the reference.
        if "text" in ref or "attachments" in ref:
            return ref
        ref_id = ref.get("id")
        found = tweets_by_id.get(ref_id) if isinstance(ref_id, str) else None
        return found if isinstance(found, dict) else None

    for ref in refs:
        if ref.get("type") == "retweeted" and (rt := referenced(ref)) is not None:
            _v2_tweet(rt, media_by_key, tweets_by_id, out, depth + 1)
    tweet_id = _id_str(t)
    attachments = t.get("attachments")
    if tweet_id is not None and isinstance(attachments, dict):
        items: list = [m for m in _as_list(attachments.get("media")) if isinstance(m, dict)]
        for key in _as_list(attachments.get("media_keys")):
            if isinstance(key, str) and key in media_by_key:
                items.append(media_by_key[key])
        budget = MAX_PHOTOS_PER_TWEET
        for m in items:
            if budget <= 0:
                break
            kind = m.get("type")
            url = m.get("url") if kind == "photo" else m.get("preview_image_url")
            text = _dig(t, "note_tweet", "text") or t.get("text")
            if out.add(tweet_id, url, _v2_media_id(m), kind, text):
                budget -= 1
    for ref in refs:
        if ref.get("type") == "quoted" and (qt := referenced(ref)) is not None:
            _v2_tweet(qt, media_by_key, tweets_by_id, out, depth + 1)


def _v2_envelope(record: dict, out: _Collector) -> None:
    includes = record.get("includes")
    if not isinstance(includes, dict):
        includes = {}
    media_by_key = {
        m["media_key"]: m
        for m in _as_list(includes.get("media"))
        if isinstance(m, dict) and isinstance(m.get("media_key"), str)
    }
    tweets_by_id = {
        t["id"]: t
        for t in _as_list(includes.get("tweets"))
        if isinstance(t, dict) and isinstance(t.get("id"), str)
    }
    data = record.get("data")
    for t in data if isinstance(data, list) else [data]:
        if isinstance(t, dict):
            _v2_tweet(t, media_by_key, tweets_by_id, out, 0)


# --- snscrape, twscrape -----------------------------------------------------------------------

#: snscrape's media classes (`_type` ends with them, 2021-) and the `type` field before that.
_SN_KINDS = {"Photo": "photo", "Video": "video", "Gif": "animated_gif",
             "photo": "photo", "video": "video", "gif": "animated_gif",
             "animated_gif": "animated_gif"}


def _snscrape(t: dict, out: _Collector, depth: int) -> None:
    """snscrape, every version: `media` is a list of Photo (fullUrl) / Video, Gif
    (thumbnailUrl) items, typed by `_type` (0.4, 2021-) or `type` (0.3, Sep 2020-May 2021)."""
    if depth > _MAX_DEPTH:
        return
    rt = t.get("retweetedTweet")
    if isinstance(rt, dict):
        _snscrape(rt, out, depth + 1)
    tweet_id = _id_str(t)
    if tweet_id is not None:
        budget = MAX_PHOTOS_PER_TWEET
        for m in _as_list(t.get("media")):
            if budget <= 0:
                break
            if not isinstance(m, dict):
                continue
            type_name = str(m.get("_type") or m.get("type") or "").rsplit(".", 1)[-1]
            kind = _SN_KINDS.get(type_name)
            if kind is None:
                kind = "photo" if "fullUrl" in m else "video"
            if kind == "photo":
                url = m.get("fullUrl") or m.get("previewUrl")
            else:
                url = m.get("thumbnailUrl") or m.get("previewUrl")
            if out.add(tweet_id, url, m.get("id"), kind,
                       t.get("rawContent") or t.get("content")):
                budget -= 1
    qt = t.get("quotedTweet")
    if isinstance(qt, dict):
        _snscrape(qt, out, depth + 1)


def _twscrape(t: dict, out: _Collector, depth: int) -> None:
    """twscrape: `media` is an object of `photos` (url), `videos` and `animated`
    (thumbnailUrl) lists."""
    if depth > _MAX_DEPTH:
        return
    rt = t.get("retweetedTweet")
    if isinstance(rt, dict):
        _twscrape(rt, out, depth + 1)
    tweet_id = _id_str(t)
    media = t.get("media")
    if tweet_id is not None and isinstance(media, dict):
        budget = MAX_PHOTOS_PER_TWEET
        for group, key, kind in (("photos", "url", "photo"), ("videos", "thumbnailUrl", "video"),
                                 ("animated", "thumbnailUrl", "animated_gif")):
            for m in _as_list(media.get(group)):
                if budget <= 0:
                    break
                if isinstance(m, dict) and out.add(tweet_id, m.get(key), None, kind,
                                                   t.get("rawContent")):
                    budget -= 1
    qt = t.get("quotedTweet")
    if isinstance(qt, dict):
        _twscrape(qt, out, depth + 1)


# --- the account archive ------------------------------------------------------------------

#: Where an account archive keeps its photos, beside tweets.js: `<tweet id>-<file name>`
#: (`tweets_media` since 2022, `tweet_media` before).
_ARCHIVE_MEDIA_FOLDERS = ("tweets_media", "tweet_media")


def _archive(r: dict, out: _Collector) -> None:
    """An archive item is a v1.1 tweet inside `tweet`; a photo whose file the archive holds
    (beside the tweets.js the record came from) is taken from there, not from the web."""
    start = len(out.photos)
    _v1_tweet(r["tweet"], out, 0)
    if out.base is None:
        return
    for i in range(start, len(out.photos)):
        photo = out.photos[i]
        name = photo.url.rsplit("/", 1)[-1]
        for folder in _ARCHIVE_MEDIA_FOLDERS:
            local = os.path.join(out.base, folder, f"{photo.tweet_id}-{name}")
            if os.path.isfile(local):
                out.photos[i] = Photo(photo.tweet_id, local, local, photo.media_id, photo.kind,
                                      photo.text)
                break


# ----------------------------------------------------------------------------- formats

#: Top-level keys of stream messages that are not tweets (v1.1 streaming API).
_STREAM_MESSAGES = frozenset({
    "delete", "limit", "scrub_geo", "status_withheld", "user_withheld", "disconnect",
    "warning", "event", "friends", "friends_str", "control", "for_user", "direct_message",
})


def _is_activity(r: dict) -> bool:
    return ("verb" in r or r.get("objectType") == "activity") and _activity_id(r) is not None


def _is_v2(r: dict) -> bool:
    data = r.get("data")
    if data is None:
        return False
    items = data if isinstance(data, list) else [data]
    return any(isinstance(t, dict) and _id_str(t) for t in items)


def _is_archive(r: dict) -> bool:
    t = r.get("tweet")
    return isinstance(t, dict) and _id_str(t) is not None and "text" not in r


def _is_snscrape_typed(r: dict) -> bool:
    type_name = r.get("_type")
    return (isinstance(type_name, str) and type_name.startswith("snscrape.")
            and _id_str(r) is not None)


def _is_twscrape(r: dict) -> bool:
    return _is_snscrape_typed(r) and isinstance(r.get("media"), dict)


def _has_text(r: dict) -> bool:
    return "text" in r or "full_text" in r


def _is_v1(r: dict) -> bool:
    if _id_str(r) is None or not _has_text(r):
        return False
    if "id_str" in r or isinstance(r.get("user"), dict):
        return True
    # An old v1.1 dump that dropped id_str (v2 ids are strings).
    return not isinstance(r.get("id"), str) and ("entities" in r or "extended_entities" in r)


def _is_snscrape_untyped(r: dict) -> bool:
    return (_id_str(r) is not None and "date" in r and isinstance(r.get("url"), str)
            and "/status/" in r["url"] and ("content" in r or "rawContent" in r))


def _is_v2_flat(r: dict) -> bool:
    return "text" in r and isinstance(r.get("id"), str) and not isinstance(r.get("user"), dict)


def _one_id(r: dict) -> list[str]:
    i = _id_str(r)
    return [i] if i else []


def _v2_ids(r: dict) -> list[str]:
    data = r["data"]
    items = data if isinstance(data, list) else [data]
    return [i for t in items if isinstance(t, dict) and (i := _id_str(t))]


@dataclass(frozen=True)
class TweetFormat:
    """One tweet format: who writes it, how a record is recognised, where its photos are.

    `recognise(record)` says whether a JSON object is a tweet record in this format (formats
    are tried in table order, the first that says yes wins); `ids(record)` lists the tweet ids
    it holds; `walk(record, collector)` offers its media items, richest description first.
    `marks` are byte strings at least one of which a record must contain to hold a photo
    (the reader skips long lines with none of any format's marks without parsing them).
    """

    name: str
    writers: str
    recognised_by: str
    photos_at: str
    recognise: Callable[[dict], bool]
    ids: Callable[[dict], list[str]]
    walk: Callable[[dict, _Collector], None]
    marks: tuple[bytes, ...]


#: Every tweet format in use, in the order they are tried (the most common first; the tests
#: exclude one another, except that twscrape must come before snscrape and v2flat, the
#: loosest, last). Adding a collector means adding a row here (and its walker above); nothing
#: else dispatches on format names.
FORMATS: tuple[TweetFormat, ...] = (
    TweetFormat(
        "v1", "API v1.1 REST and streaming: twarc 1, tweepy's _json, python-twitter, premium "
        "and enterprise search in native format, account archives before 2019",
        "an id and text/full_text, with id_str or a `user` object (or entities and a numeric id)",
        "extended_entities.media (extended_tweet's first), entities.media[0]; "
        "retweeted_status, quoted_status",
        _is_v1, _one_id, lambda r, out: _v1_tweet(r, out, 0), (b'"media"',)),
    TweetFormat(
        "activity", "Gnip PowerTrack, Historical PowerTrack and 30-day/full-archive search in "
        "Activity Streams (also tweet_parser's input)",
        "`verb` or objectType 'activity', id 'tag:search.twitter.com,2005:ID'",
        "twitter_extended_entities.media (long_object's first), twitter_entities.media[0]; a "
        "share's object; twitter_quoted_status",
        _is_activity, lambda r: [i] if (i := _activity_id(r)) else [],
        lambda r, out: _activity(r, out, 0), (b'"media"',)),
    TweetFormat(
        "v2", "API v2 responses and stream lines: twarc2, tweepy's Client, saved pages",
        "`data`: a tweet or a list of tweets with ids",
        "attachments.media_keys joined to includes.media (photo url, video and GIF "
        "preview_image_url); retweets and quotes through includes.tweets",
        _is_v2, _v2_ids, lambda r, out: _v2_envelope(r, out), (b'"media_keys"', b'"media"')),
    TweetFormat(
        "archive", "the account archive's data/tweets.js (2019-): items {\"tweet\": {...}}",
        "one `tweet` object with an id",
        "as API v1.1, inside `tweet`: extended_entities.media, entities.media[0]; the file "
        "tweets_media/<tweet id>-<name> beside tweets.js when the archive has it",
        _is_archive, lambda r: _one_id(r["tweet"]), _archive, (b'"media"',)),
    TweetFormat(
        "twscrape", "twscrape (2023-), which labels its records like snscrape's",
        "`_type` 'snscrape.modules.twitter.Tweet' and `media` an object",
        "media.photos[].url, media.videos[].thumbnailUrl, media.animated[].thumbnailUrl; "
        "retweetedTweet, quotedTweet",
        _is_twscrape, _one_id, lambda r, out: _twscrape(r, out, 0), (b'"media"',)),
    TweetFormat(
        "snscrape", "snscrape 0.4 and later (2021-)",
        "`_type` 'snscrape.modules.twitter.Tweet'",
        "media[]: Photo fullUrl, Video and Gif thumbnailUrl (by `_type`); retweetedTweet, "
        "quotedTweet",
        _is_snscrape_typed, _one_id, lambda r, out: _snscrape(r, out, 0), (b'"media"',)),
    TweetFormat(
        "snscrape2020", "snscrape 0.3 (Sep 2020-May 2021): no `_type`",
        "url .../status/ID, date, content (or rawContent) and an id",
        "media[]: `type` photo fullUrl, video and gif thumbnailUrl; retweetedTweet, quotedTweet",
        _is_snscrape_untyped, _one_id, lambda r, out: _snscrape(r, out, 0), (b'"media"',)),
    TweetFormat(
        "v2flat", "twarc2 flatten, twarc-csv rows (read from CSV), a bare API v2 tweet",
        "a string id and text, no `user` object",
        "attachments.media inline (or media_keys with nothing to join); referenced_tweets "
        "inline",
        _is_v2_flat, _one_id, lambda r, out: _v2_tweet(r, {}, {}, out, 0),
        (b'"media"',)),
)

def _minimal_marks(marks: Iterable[bytes]) -> tuple[bytes, ...]:
    """The marks, less those containing another (a line with `"media_keys"` has `"media`)."""
    unique = sorted(set(marks), key=len)
    kept: list[bytes] = []
    for m in unique:
        if not any(k in m for k in kept):
            kept.append(m)
    return tuple(kept)


#: Bytes that a record holding a photo contains in at least one format (derived from FORMATS).
MEDIA_MARKS: tuple[bytes, ...] = _minimal_marks(
    m.rstrip(b'"') for f in FORMATS for m in f.marks)


def _mark_test(marks: tuple[bytes, ...]) -> Callable[[bytes], bool]:
    if len(marks) == 1:  # the usual case, and the reader's hot loop: one substring search
        mark = marks[0]
        return lambda line: mark in line
    return lambda line: any(m in line for m in marks)


#: Whether a raw JSON line contains any format's media mark (False: it holds no photo).
may_hold_photo: Callable[[bytes], bool] = _mark_test(MEDIA_MARKS)


#: Responses that wrap tweets in a list under one key: the tweets are the records.
ENVELOPES: tuple[tuple[str, str], ...] = (
    ("statuses", "API v1.1 search/tweets response"),
    ("results", "premium and enterprise (Gnip) search response"),
)


_ENVELOPE_KEYS = frozenset(key for key, _ in ENVELOPES)
_RECORD_KEYS = frozenset({"id", "id_str", "data"})


def is_envelope(value: object) -> bool:
    """Whether a parsed JSON value wraps records: a non-empty list, or a response object whose
    tweets are a list under one of ENVELOPES' keys."""
    if isinstance(value, list):
        return bool(value)
    return (isinstance(value, dict) and not value.keys().isdisjoint(_ENVELOPE_KEYS)
            and value.keys().isdisjoint(_RECORD_KEYS)
            and any(isinstance(value.get(k), list) and value[k] for k in _ENVELOPE_KEYS))


def unwrap(value: object) -> Iterator[object]:
    """The records in one parsed JSON value: a list's items (a saved timeline), an envelope's
    tweets (`ENVELOPES`), else the value itself (an empty list or envelope too, to be counted
    as what it is). v2 pages stay whole: their tweets need the page's `includes`."""
    if not is_envelope(value):
        yield value
    elif isinstance(value, list):
        yield from value
    else:
        assert isinstance(value, dict)
        for key, _ in ENVELOPES:
            items = value.get(key)
            if isinstance(items, list) and items:
                yield from items
                return


def format_of(record: object) -> TweetFormat | None:
    """The FORMATS row a record is in; None if not a tweet (stream control messages,
    Activity Streams `info` lines, v2 pages with only `errors`)."""
    if not isinstance(record, dict) or not record:
        return None
    if _STREAM_MESSAGES.intersection(record) and "text" not in record:
        return None
    for fmt in FORMATS:
        if fmt.recognise(record):
            return fmt
    return None


def record_format(record: object) -> str | None:
    """The name of the format a record is in (a FORMATS row), or None if not a tweet."""
    fmt = format_of(record)
    return None if fmt is None else fmt.name


def tweet_ids(record: object) -> list[str]:
    """The ids of the tweets a record holds (one, or a v2 page's many); [] if not a tweet."""
    fmt = format_of(record)
    return [] if fmt is None else fmt.ids(record)  # type: ignore[arg-type]


def extract_photos(record: object, *, thumbnails: bool = False,
                   base: str | None = None) -> list[Photo]:
    """Every photo of a tweet record, in any format of FORMATS, in order, deduplicated.

    Up to four per tweet; a retweet's photos are the original's (the original comes first and
    a copy counts once), a quote's photos follow the quoting tweet's own. Video and GIF
    thumbnails only with `thumbnails=True`; an item's kind is taken from its richest
    description. Relative local paths are resolved against the folder `base` (the folder of
    the file the record came from). A record that is not a tweet gives [].
    """
    return _walk(record, _Collector(thumbnails, base=base))


def has_photo(record: object, *, thumbnails: bool = False) -> bool:
    """Whether `extract_photos` would find anything (stops at the first photo)."""
    try:
        _walk(record, _Collector(thumbnails, first_only=True))
    except _FoundOne:
        return True
    return False


def _walk(record: object, out: _Collector) -> list[Photo]:
    fmt = format_of(record)
    if fmt is not None:
        fmt.walk(record, out)  # type: ignore[arg-type]
    return out.photos
