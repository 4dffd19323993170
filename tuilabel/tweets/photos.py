"""Where a tweet's photos are: the one extractor that `collect` and `label` share.

Tweet corpora come in four shapes (Activity Streams from Gnip, API v1.1, API v2 in twarc2's
envelopes or flattened, snscrape's JSONL), each with its own quirks about where media live:
`entities.media` holds only the first item and calls a GIF a photo, truncated tweets keep media
in `extended_tweet`, v2 joins `attachments.media_keys` to `includes.media`, a retweet repeats
the original's media. Everything that knows those quirks lives here, so that a photo is found
the same way whether we are filtering an archive or labeling it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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


# ----------------------------------------------------------------------------- collecting


#: Longest tweet or media id taken (the MySQL store's column width; real ids have 20 digits).
MAX_ID_CHARS = 64


class _Collector:
    """Photos of one record in order, deduplicated by media id and by canonical URL."""

    __slots__ = ("photos", "thumbnails", "first_only", "_ids", "_urls")

    def __init__(self, thumbnails: bool, first_only: bool = False) -> None:
        self.photos: list[Photo] = []
        self.thumbnails = thumbnails
        self.first_only = first_only
        self._ids: set[str] = set()
        self._urls: set[str] = set()

    def add(self, tweet_id: str, raw_url: object, media_id: object, kind: object,
            text: object = None) -> bool:
        """Add one media item (`text`: its tweet's text); True if it became a new photo."""
        if not isinstance(raw_url, str) or not raw_url:
            return False
        kind = kind if isinstance(kind, str) and kind in KINDS else "photo"
        kind = _kind_from_url(kind, raw_url)
        if kind != "photo" and not self.thumbnails:
            return False
        mid = str(media_id) if isinstance(media_id, (str, int)) and media_id != "" else None
        if len(tweet_id) > MAX_ID_CHARS or (mid is not None and len(mid) > MAX_ID_CHARS):
            return False  # not a real id (they have 20 digits at most); the store keeps 64
        url = canonical_url(raw_url)
        if (mid is not None and mid in self._ids) or url in self._urls:
            return False
        if mid is not None:
            self._ids.add(mid)
        self._urls.add(url)
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
            if out.add(str(owner), url, _id_str(item), item.get("type"), text):
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


# --- snscrape -------------------------------------------------------------------------------

_SN_KINDS = {"Photo": "photo", "Video": "video", "Gif": "animated_gif"}


def _snscrape(t: dict, out: _Collector, depth: int) -> None:
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
            type_name = str(m.get("_type", "")).rsplit(".", 1)[-1]
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


# ----------------------------------------------------------------------------- formats

#: Top-level keys of stream messages that are not tweets (v1.1 streaming API).
_STREAM_MESSAGES = frozenset({
    "delete", "limit", "scrub_geo", "status_withheld", "user_withheld", "disconnect",
    "warning", "event", "friends", "friends_str", "control", "for_user", "direct_message",
})


def record_format(record: object) -> str | None:
    """Which tweet format a record is in: "activity", "v1", "v2" (envelope: page or stream
    line), "v2flat" (twarc2 flattened or a bare v2 tweet), "snscrape"; None if not a tweet
    (stream control messages, Activity Streams `info` lines, v2 pages with only `errors`)."""
    if not isinstance(record, dict) or not record:
        return None
    if _STREAM_MESSAGES.intersection(record) and "text" not in record:
        return None
    type_name = record.get("_type")
    if isinstance(type_name, str) and type_name.startswith("snscrape."):
        return "snscrape" if _id_str(record) else None
    if "verb" in record or record.get("objectType") == "activity":
        return "activity" if _activity_id(record) else None
    if "data" in record:
        data = record["data"]
        items = data if isinstance(data, list) else [data]
        ok = any(isinstance(t, dict) and _id_str(t) for t in items)
        return "v2" if ok else None
    if _id_str(record) is None:
        return None
    has_text = "text" in record or "full_text" in record
    if "id_str" in record or isinstance(record.get("user"), dict):
        return "v1" if has_text else None
    if ("rawContent" in record or "content" in record) and "url" in record and "date" in record:
        return "snscrape"
    if "text" in record and isinstance(record.get("id"), str):
        return "v2flat"  # v2 ids are strings; v2 tweets have no `user` object
    if has_text and ("entities" in record or "extended_entities" in record):
        return "v1"  # an old v1.1 dump that dropped id_str
    return None


def tweet_ids(record: object) -> list[str]:
    """The ids of the tweets a record holds (one, or a v2 page's many); [] if not a tweet."""
    fmt = record_format(record)
    if fmt is None:
        return []
    assert isinstance(record, dict)
    if fmt == "activity":
        return [_activity_id(record)]  # type: ignore[list-item]
    if fmt == "v2":
        data = record["data"]
        items = data if isinstance(data, list) else [data]
        return [i for t in items if isinstance(t, dict) and (i := _id_str(t))]
    return [_id_str(record)]  # type: ignore[list-item]


def extract_photos(record: object, *, thumbnails: bool = False) -> list[Photo]:
    """Every photo of a tweet record, in any supported format, in order, deduplicated.

    Up to four per tweet; a retweet's photos are the original's (the original comes first and
    a copy counts once), a quote's photos follow the quoting tweet's own. Video and GIF
    thumbnails only with `thumbnails=True`. A record that is not a tweet gives [].
    """
    return _walk(record, _Collector(thumbnails))


def has_photo(record: object, *, thumbnails: bool = False) -> bool:
    """Whether `extract_photos` would find anything (stops at the first photo)."""
    try:
        _walk(record, _Collector(thumbnails, first_only=True))
    except _FoundOne:
        return True
    return False


def _walk(record: object, out: _Collector) -> list[Photo]:
    fmt = record_format(record)
    if fmt is None:
        return []
    assert isinstance(record, dict)
    if fmt == "v1":
        _v1_tweet(record, out, 0)
    elif fmt == "activity":
        _activity(record, out, 0)
    elif fmt == "v2":
        _v2_envelope(record, out)
    elif fmt == "v2flat":
        _v2_tweet(record, {}, {}, out, 0)
    else:
        _snscrape(record, out, 0)
    return out.photos
