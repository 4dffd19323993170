"""The Store interface: everything tuilabel keeps, whatever the database behind it.

Two implementations sit behind it (`sqlite.py`, `mysql.py`); `tuilabel.store.open_store` picks
one from a path or URL. Every method that touches the database raises `StoreError` (never a
driver exception) with a message that names the database but never a password.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tuilabel.verdicts import VERDICT_TO_LABEL_ID as _VERDICT_TO_LABEL_ID
from tuilabel.verdicts import VERDICT_VALUES

#: The most labels stored per image (the original pipeline used k=5).
MAX_K = 10

#: Widths of the MySQL schema's columns, in characters (SQLite has none). The store refuses
#: longer values on every backend alike, so a batch is never refused by MySQL alone.
TWEET_ID_MAX = 64
LABEL_MAX = 255
MODEL_MAX = 191
RATER_MAX = 191

#: What a rater can say about an image, read from the one verdict table
#: (`tuilabel.verdicts`). `unrateable` (photo broken or not a photo) is kept apart from the
#: three verdicts so that it never enters the ROC as a negative.
VERDICTS = VERDICT_VALUES

#: The original pipeline's export column `label_id`: 0 = top1, 1 = top5, 2 = none.
VERDICT_TO_LABEL_ID = _VERDICT_TO_LABEL_ID

#: `class` groups photos by their top-1 label (the grid's order), random within a label.
ORDERS = ("random", "oldest", "uncertain", "class")


def utcnow() -> str:
    """The current time as the ISO-8601 UTC text every table stores."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def url_hash(url: str) -> str:
    """The key an image URL is indexed by (URLs can be longer than an index allows)."""
    return hashlib.sha1(url.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewImage:
    """A labeled photo on its way into the store."""

    tweet_id: str
    url: str
    model: str
    predictions: Sequence[tuple[str, float]]  # (label, score), best first, 1..MAX_K of them
    media_id: str | None = None
    text: str | None = None  # the tweet's text, as read at labeling time (shown with `t`)


@dataclass(frozen=True)
class Image:
    """A labeled photo as stored."""

    id: int
    tweet_id: str
    url: str
    model: str
    predictions: tuple[tuple[str, float], ...]
    media_id: str | None
    labeled_at: str
    n_ratings: int = 0
    text: str | None = None  # the tweet's text (None: not kept, e.g. labeled before it was)

    @property
    def score1(self) -> float:
        return self.predictions[0][1]

    @property
    def label1(self) -> str:
        return self.predictions[0][0]


@dataclass(frozen=True)
class Failure:
    """A photo that could not be labeled, and why (reason is a short token such as `http_404`)."""

    tweet_id: str
    url: str
    model: str
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class RatedImage:
    """One rating joined with the image it rates (what export and analysis read)."""

    rating_id: int
    image: Image
    rater: str
    verdict: str
    rated_at: str
    blind: bool = False  # rated with the model's scores hidden (`score --blind`)


@dataclass(frozen=True)
class ImageFilter:
    """Which photos to hand out, beyond the model: top-1 label globs (any of them; `*` and
    `?`, case-insensitive), a top-1 label to match exactly (a grid page), and bounds on the
    top-1 score (inclusive)."""

    labels: tuple[str, ...] = ()
    label1: str | None = None
    min_score: float | None = None
    max_score: float | None = None

    def same_label(self, label: str) -> ImageFilter:
        """This filter narrowed to photos whose top-1 label is exactly `label`."""
        return ImageFilter(self.labels, label, self.min_score, self.max_score)


def glob_to_like(pattern: str, escape: str = "!") -> str:
    """A shell-style glob (`*` any run, `?` one character) as a SQL LIKE pattern, with LIKE's
    own `%` and `_` (and `escape`) escaped. Raises ValueError for `[...]`, which LIKE lacks."""
    if "[" in pattern:
        raise ValueError(f"label pattern {pattern!r}: only * and ? are supported, not [...]")
    out = []
    for ch in pattern:
        if ch in ("%", "_", escape):
            out.append(escape + ch)
        elif ch == "*":
            out.append("%")
        elif ch == "?":
            out.append("_")
        else:
            out.append(ch)
    return "".join(out)


@dataclass
class Stats:
    images: int = 0
    images_by_model: dict[str, int] = field(default_factory=dict)
    failures_by_reason: dict[str, int] = field(default_factory=dict)
    rated_images: int = 0
    ratings_by_verdict: dict[str, int] = field(default_factory=dict)
    ratings_by_rater: dict[str, int] = field(default_factory=dict)


class Store(ABC):
    """One database of labeled images, failures and ratings.

    Safe for one thread per Store object; open one Store per thread or process. Writers in
    different processes (a labeler and several raters) may share a database.
    """

    #: A description of the database for messages (a path, or a URL without any password).
    name: str
    #: Called (on the store's thread) with a short note such as "reconnecting…" before the
    #: store retries a transient failure (deadlock, lost connection); None: say nothing.
    on_retry: Callable[[str], None] | None = None

    # -- images ---------------------------------------------------------------------------
    @abstractmethod
    def add_images(self, images: Iterable[NewImage]) -> int:
        """Insert images in one transaction; ones already stored (same model, tweet id and
        URL) are left unchanged. Returns how many were new. Clears any stored failure of the
        same photo and model. Raises ValueError for an image with 0 or more than MAX_K
        predictions or a score outside [0, 1]."""

    @abstractmethod
    def known_photos(self, model: str, photos: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Of the given (tweet_id, url) pairs, those already labeled by `model`."""

    @abstractmethod
    def count_images(self, model: str | None = None) -> int:
        """How many images are stored (for one model, or all)."""

    @abstractmethod
    def get_image(self, image_id: int) -> Image | None:
        """One image by id, or None."""

    @abstractmethod
    def get_photos(self, model: str, photos: Iterable[tuple[str, str]]) -> list[Image]:
        """The stored images of the given (tweet_id, url) pairs labeled by `model`, in the
        order they were stored; pairs not stored are left out."""

    # -- failures -------------------------------------------------------------------------
    @abstractmethod
    def add_failures(self, failures: Iterable[Failure]) -> None:
        """Record failed photos in one transaction (a repeated failure updates its reason and
        time and counts the attempt)."""

    @abstractmethod
    def failed_photos(self, model: str, photos: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Of the given (tweet_id, url) pairs, those recorded as failed for `model`."""

    # -- rating ---------------------------------------------------------------------------
    @abstractmethod
    def claim_next(
        self,
        rater: str,
        *,
        n: int = 1,
        order: str = "random",
        model: str | None = None,
        overlap: int = 1,
        exclude: Sequence[int] = (),
        claim_seconds: int = 900,
        where: ImageFilter | None = None,
    ) -> list[Image]:
        """Up to `n` images for `rater` to rate next, and claim them for `claim_seconds`.

        An image qualifies when `rater` has not rated it, it has fewer than `overlap` ratings,
        and its ratings plus other raters' unexpired claims are fewer than `overlap` (so with
        overlap 1 two raters are never given the same image). `exclude` lists image ids to
        pass over (skipped in this session). `order`: random (a fixed shuffled order, no
        ORDER BY RAND()), oldest (first stored first), uncertain (lowest top-1 score first),
        class (grouped by top-1 label, random within one). `where` narrows the photos (see
        ImageFilter). The claim is atomic across processes. Raises ValueError for an unknown
        order, an overlap under 1 or a label pattern with [...]."""

    @abstractmethod
    def release_claims(self, rater: str, image_ids: Sequence[int] | None = None) -> None:
        """Drop `rater`'s claims (all of them, or on the given images)."""

    @abstractmethod
    def renew_claims(self, rater: str, image_ids: Sequence[int], *, claim_seconds: int = 900,
                     overlap: int = 1) -> set[int]:
        """Extend `rater`'s claims on these images to `claim_seconds` from now. Returns the ids
        still held; a claim that lapsed is renewed only where the image still qualifies as in
        `claim_next` (not rated by `rater`, ratings plus others' claims under `overlap`), and
        dropped otherwise."""

    @abstractmethod
    def add_rating(self, image_id: int, rater: str, verdict: str, *, blind: bool = False) -> int:
        """Store (or replace) `rater`'s verdict on an image, committed before returning.
        `blind`: rated with the model's scores hidden. Returns the rating id. Raises ValueError
        for an unknown verdict and StoreError for an unknown image."""

    @abstractmethod
    def add_ratings(self, rater: str, verdicts: Sequence[tuple[int, str]], *,
                    blind: bool = False) -> list[int]:
        """Store (or replace) `rater`'s verdicts on several images, (image id, verdict) each,
        in ONE transaction: all are committed or none (a grid page). Returns the rating ids in
        the same order. Raises as `add_rating`."""

    @abstractmethod
    def delete_ratings(self, rating_ids: Sequence[int], claim_seconds: int = 900) -> int:
        """Remove several ratings in one transaction (undoing a grid page); the rater gets a
        fresh claim on each image. Returns how many existed."""

    @abstractmethod
    def delete_rating(self, rating_id: int, claim_seconds: int = 900) -> bool:
        """Remove one rating (undo), committed before returning. True if it existed. The
        rater gets a fresh claim on the image, since undoing means rating it again."""

    @abstractmethod
    def count_rated(self, model: str | None = None, overlap: int = 1,
                    where: ImageFilter | None = None) -> tuple[int, int]:
        """(images with at least `overlap` ratings, all images), for one model or all, and
        within `where` when given."""

    @abstractmethod
    def iter_ratings(
        self, rater: str | None = None, model: str | None = None
    ) -> Iterator[RatedImage]:
        """Every rating joined with its image, oldest rating first, streamed (not loaded
        whole), optionally for one rater and/or one model."""

    @abstractmethod
    def rating_columns(
        self, rater: str | None = None, model: str | None = None, k: int = 5,
        labels: int | None = None,
    ) -> dict[str, list]:
        """The ratings as columns for fast analysis: image_id, rater, verdict,
        label1..label{labels} (default: k), score1..score{k} (None where an image has fewer
        labels). Oldest rating first."""

    # -- overview -------------------------------------------------------------------------
    @abstractmethod
    def stats(self) -> Stats:
        """Counts for `tuilabel stats`."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection. Further calls raise StoreError."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_new_image(image: NewImage) -> None:
    """Raise ValueError unless `image` can be stored."""
    if not image.tweet_id:
        raise ValueError("empty tweet id")
    _check_width("tweet id", image.tweet_id, TWEET_ID_MAX)
    _check_width("media id", image.media_id or "", TWEET_ID_MAX)
    _check_width("model name", image.model, MODEL_MAX)
    for label, _ in image.predictions:
        _check_width("label", label, LABEL_MAX)
    if not image.url:
        raise ValueError("empty image URL")
    if not 1 <= len(image.predictions) <= MAX_K:
        raise ValueError(f"{len(image.predictions)} predictions; 1 to {MAX_K} can be stored")
    for label, score in image.predictions:
        if not (0.0 <= score <= 1.0):  # also rejects NaN
            raise ValueError(f"score {score!r} for {label!r} is not between 0 and 1")


def _check_width(what: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise ValueError(f"{what} of {len(value)} characters; at most {limit}")


def check_rater(rater: str) -> None:
    """Raise ValueError unless `rater` can be stored as a rater's name."""
    if not rater:
        raise ValueError("empty rater name")
    _check_width("rater name", rater, RATER_MAX)


def check_verdict(verdict: str) -> None:
    if verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}; expected one of {', '.join(VERDICTS)}")
