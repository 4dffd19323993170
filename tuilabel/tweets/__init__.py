"""Reading tweet records out of files and archives, and finding their photos (one place).

`iter_items` streams records out of files, folders and archives in any shape (`read.SHAPES`),
counting bad input in a `ReadStats`; `extract_photos` says which photos a record holds, in any
format of the one format table `FORMATS`; `collect` keeps the records that have photos.
`label` and `collect` share all three.
"""

from tuilabel.tweets.collect import collect, collect_to_path, sample_fraction
from tuilabel.tweets.photos import (
    FORMATS,
    MAX_PHOTOS_PER_TWEET,
    Photo,
    TweetFormat,
    canonical_url,
    extract_photos,
    fetch_url_for,
    has_photo,
    record_format,
    tweet_ids,
)
from tuilabel.tweets.read import (
    MAX_LINE_BYTES,
    SHAPES,
    Item,
    expand_paths,
    iter_items,
    iter_records,
)
from tuilabel.tweets.stats import ReadStats

__all__ = [
    "FORMATS",
    "SHAPES",
    "Item",
    "TweetFormat",
    "iter_items",
    "MAX_LINE_BYTES",
    "MAX_PHOTOS_PER_TWEET",
    "Photo",
    "ReadStats",
    "canonical_url",
    "collect",
    "collect_to_path",
    "expand_paths",
    "extract_photos",
    "fetch_url_for",
    "has_photo",
    "iter_records",
    "record_format",
    "sample_fraction",
    "tweet_ids",
]
