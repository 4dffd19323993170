"""Ratings as numpy arrays, one verdict per image, from the store or from an original TSV export.

Everything downstream (ROC, bootstrap, categories) works on `Ratings`: flat arrays that are
cheap to slice, built once from the store's columns or streamed from a TSV file.

Several raters per image (a store, or a TSV export whose ids repeat): unless one rater is
picked, each image's verdicts are counted (`Ratings.votes`) and the vote is taken on the
question analysed: for `--positive top1` "is the top-1 label right?" (top1 against top5 and
none), for `--positive top5` "is a right label within the top 5?" (top1 or top5 against none).
So two of three raters saying top1 or top5 make a top-5 positive even when the third said
top1 and the second top5. A tied vote goes against the model (no), so a split panel never
credits the model with more than its raters agreed on; ties are counted and reported.
`unrateable` ratings are dropped before the vote (they say nothing about the model).
`Ratings.verdict` (the three-way plurality, ties to the verdict worse for the model, none >
top5 > top1) only sorts images for the per-verdict histograms.
"""

from __future__ import annotations

import gc
import math
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tuilabel.errors import DataError, InputError, StoreError
from tuilabel.exchange import TSV_COLUMNS
from tuilabel.verdicts import ANALYSED, VERDICT_TABLE

#: The three verdicts that enter the analysis, in their natural order (best for the model
#: first); their index is the verdict code used in the arrays (and the export's label_id).
VERDICT_NAMES = ANALYSED
#: The code of every verdict left out of the analysis (`unrateable`).
UNRATEABLE = len(ANALYSED)
_VERDICT_CODE = {v.value: (ANALYSED.index(v.value) if v.analysed else UNRATEABLE)
                 for v in VERDICT_TABLE}
_TSV_REQUIRED = ("score1", "label_id")
K = 5


@dataclass(frozen=True)
class Ratings:
    """One verdict per image (majority or one rater's), with the image's top-k scores."""

    image_id: np.ndarray  # int64, shape (n,)
    verdict: np.ndarray  # int8 codes into VERDICT_NAMES, shape (n,)
    scores: np.ndarray  # float64, shape (n, K); NaN where an image has fewer labels
    label1: np.ndarray  # int32 codes into `labels`, shape (n,)
    labels: tuple[str, ...]  # the top-1 label vocabulary
    source: str  # where the ratings came from, for the report
    n_read: int  # ratings (or rows) read, before votes and exclusions
    notes: tuple[str, ...] = ()  # what was left out or decided, in plain words
    tied_votes: int = 0  # images whose raters split evenly on the three verdicts
    votes: np.ndarray | None = None  # int (n, 3): raters saying top1, top5, none per image

    @property
    def n(self) -> int:
        return int(self.verdict.shape[0])

    def vote_counts(self) -> np.ndarray:
        """(n, 3) counts of top1, top5 and none verdicts per image (one-hot of `verdict`
        when the ratings carry no votes: one rater per image)."""
        if self.votes is not None:
            return self.votes
        return np.eye(3, dtype=np.int64)[self.verdict]

    def yes_no(self, positive: str) -> tuple[np.ndarray, np.ndarray]:
        """(yes, no): per image, the raters answering yes and no to the question analysed
        (top1: is the top-1 label right? top5: is a right label within the top 5?)."""
        v = self.vote_counts()
        if positive == "top1":
            return v[:, 0], v[:, 1] + v[:, 2]
        if positive == "top5":
            return v[:, 0] + v[:, 1], v[:, 2]
        raise InputError(f"unknown positive class {positive!r}: use top1 or top5")

    def tied(self, positive: str) -> int:
        """Images whose raters split evenly on the question analysed (counted as no)."""
        yes, no = self.yes_no(positive)
        return int((yes == no).sum())

    def binary(self, positive: str) -> tuple[np.ndarray, np.ndarray]:
        """(y, score) for a positive class, y by majority on the question analysed (a tie is
        no): top1 scored by score1; top5 ("a right label is within the top 5") scored by the
        sum of the top-5 scores."""
        if self.votes is None:  # one verdict per image: no vote to count
            if positive not in ("top1", "top5"):
                raise InputError(f"unknown positive class {positive!r}: use top1 or top5")
            y = self.verdict == 0 if positive == "top1" else self.verdict <= 1
        else:
            yes, no = self.yes_no(positive)
            y = yes > no
        if positive == "top1":
            return y, self.scores[:, 0]
        return y, np.nansum(self.scores[:, :K], axis=1)


def empty_ratings(source: str, notes: tuple[str, ...] = ()) -> Ratings:
    return Ratings(
        image_id=np.zeros(0, np.int64), verdict=np.zeros(0, np.int8),
        scores=np.zeros((0, K)), label1=np.zeros(0, np.int32), labels=(),
        source=source, n_read=0, notes=notes,
    )


def _factorize(values: list) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes for a list of strings (None becomes "(none)"), in first-seen order."""
    index = {v: i for i, v in enumerate(dict.fromkeys(values))}  # C-speed loops only
    codes = np.fromiter(map(index.__getitem__, values), dtype=np.int32, count=len(values))
    return codes, tuple("(none)" if v is None else str(v) for v in index)


@dataclass(frozen=True)
class RatingTable:
    """Every rating as read from the store (several per image possible), as codes."""

    image_id: np.ndarray  # int64
    rater: np.ndarray  # int32 codes into `raters`
    raters: tuple[str, ...]
    verdict: np.ndarray  # int8: 0..2, or UNRATEABLE
    scores: np.ndarray  # float64 (n, K)
    label1: np.ndarray  # int32 codes into `labels`
    labels: tuple[str, ...]

    @property
    def n(self) -> int:
        return int(self.verdict.shape[0])


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of row tuples are built: they hold
    no cycles, and collections triggered by every 700 new objects rescan the whole growing
    heap (on one million ratings this halves the time of `Store.rating_columns`)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_columns(store, rater: str | None = None, model: str | None = None) -> dict[str, list]:
    """The columns the analysis uses: every score, but only the top-1 label."""
    return store.rating_columns(rater=rater, model=model, k=K, labels=1)


def read_table(store, rater: str | None = None, model: str | None = None) -> RatingTable:
    """Every rating of a store as arrays (what `tuilabel roc` reads). A store that can hand
    over Arrow columns (`rating_arrow`: SQLite with adbc-driver-sqlite installed) is read that
    way, with no Python object per value; any other, or a driver that fails, through
    `rating_columns`. Both give the same table (a test checks)."""
    arrow = getattr(store, "rating_arrow", None)
    if arrow is not None:
        try:
            t = arrow(rater=rater, model=model, k=K, labels=1)
        except StoreError:
            t = None  # e.g. a value of an unexpected type: the plain path reads anything
        if t is not None:
            return table_from_arrow(t)
    cols = read_columns(store, rater=rater, model=model)
    with no_gc():
        return table_from_columns(cols)


def _arrow_codes(column) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes (first-seen order, as `_factorize`) of an Arrow string column; null
    becomes "(none)"."""
    enc = column.combine_chunks().dictionary_encode()
    names = [str(v) for v in enc.dictionary.to_pylist()]
    indices = enc.indices
    if indices.null_count:
        indices = indices.fill_null(len(names))
        names.append("(none)")
    return np.asarray(indices.to_numpy(zero_copy_only=False), dtype=np.int32), tuple(names)


def table_from_arrow(t) -> RatingTable:
    """`table_from_columns` for a pyarrow Table with the same columns."""
    import pyarrow as pa

    n = t.num_rows

    def numbers(name: str, dtype) -> np.ndarray:
        col = t.column(name)
        if col.type != dtype:
            col = col.cast(dtype)
        return np.asarray(col.to_numpy(), dtype=np.float64 if dtype == pa.float64()
                          else np.int64).reshape(n)

    image_id = numbers("image_id", pa.int64()) if n else np.zeros(0, np.int64)
    vcodes, vnames = _arrow_codes(t.column("verdict").cast(pa.string()))
    bad = [v for v in vnames if v not in _VERDICT_CODE]
    if bad:
        raise DataError(f"unknown verdicts in the store: {', '.join(map(repr, bad))}")
    verdict = np.array([_VERDICT_CODE[v] for v in vnames], dtype=np.int8)[vcodes]
    scores = np.full((n, K), np.nan)
    for j in range(K):
        if f"score{j + 1}" in t.column_names and n:
            scores[:, j] = numbers(f"score{j + 1}", pa.float64())  # null -> NaN
    rater, raters = _arrow_codes(t.column("rater").cast(pa.string()))
    if "label1" in t.column_names:
        label1, labels = _arrow_codes(t.column("label1").cast(pa.string()))
    else:
        label1, labels = np.zeros(n, np.int32), ("(none)",)
    return RatingTable(image_id, rater, raters, verdict, scores, label1, labels)


def table_from_columns(cols: dict[str, list]) -> RatingTable:
    """Turn `Store.rating_columns()` output into arrays."""
    n = len(cols["image_id"])
    image_id = np.asarray(cols["image_id"], dtype=np.int64).reshape(n)
    codes, names = _factorize(cols["verdict"])
    bad = [v for v in names if v not in _VERDICT_CODE]
    if bad:
        raise DataError(f"unknown verdicts in the store: {', '.join(map(repr, bad))}")
    verdict = np.array([_VERDICT_CODE[v] for v in names], dtype=np.int8)[codes]
    scores = np.full((n, K), np.nan)
    for j in range(K):
        col = cols.get(f"score{j + 1}")
        if col is not None and n:
            scores[:, j] = np.asarray(col, dtype=np.float64)  # None -> NaN
    rater, raters = _factorize(cols["rater"])
    label1, labels = _factorize(cols.get("label1", [None] * n))
    return RatingTable(image_id, rater, raters, verdict, scores, label1, labels)


def _repeats(ids: np.ndarray) -> bool:
    """Whether any id occurs twice (a sort; np.unique took a second on a million ids)."""
    if ids.shape[0] < 2:
        return False
    s = np.sort(ids)
    return bool((s[1:] == s[:-1]).any())


def vote(image_id: np.ndarray, verdict: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Count the verdicts (codes 0..2) per image: (image ids ascending, index of each image's
    first row, votes (m, 3), plurality verdict with ties to the worse for the model, number of
    three-way ties)."""
    uniq, first, inv = np.unique(image_id, return_index=True, return_inverse=True)
    counts = np.bincount(inv * 3 + verdict, minlength=3 * uniq.shape[0]).reshape(-1, 3)
    # argmax over reversed columns: among tied verdicts, the worst for the model wins.
    plurality = (2 - np.argmax(counts[:, ::-1], axis=1)).astype(np.int8)
    top = counts.max(axis=1)
    tied = int(((counts == top[:, None]).sum(axis=1) > 1).sum())
    return uniq, first, counts, plurality, tied


def ratings_from_table(table: RatingTable, rater: str | None, source: str) -> Ratings:
    """One verdict per image: `rater`'s, or the majority of all raters (see module doc)."""
    notes: list[str] = []
    keep = table.verdict != UNRATEABLE
    n_unrateable = int((~keep).sum())
    if rater is not None:
        if rater not in table.raters:
            known = ", ".join(table.raters[:10]) or "none"
            raise DataError(f"no ratings by rater {rater!r} in {source} (raters: {known})")
        keep &= table.rater == table.raters.index(rater)
        n_unrateable = int(((table.verdict == UNRATEABLE)
                            & (table.rater == table.raters.index(rater))).sum())
    n_read = int(keep.sum()) + n_unrateable
    if n_unrateable:
        notes.append(f"{n_unrateable} 'unrateable' rating(s) left out of the ROC")
    rows = np.flatnonzero(keep)
    ids = table.image_id[rows]
    tied = 0
    votes = None
    if not _repeats(ids):  # one rating per image: nothing to vote on
        verdict = table.verdict[rows]
        pick, image_id = rows, ids
    else:
        image_id, first, votes, verdict, tied = vote(ids, table.verdict[rows])
        pick = rows[first]
        notes.append(f"{rows.shape[0]} ratings of {image_id.shape[0]} images: majority "
                     "verdict per image")
    return Ratings(
        image_id=image_id,
        verdict=np.asarray(verdict, dtype=np.int8),
        scores=table.scores[pick],
        label1=table.label1[pick],
        labels=table.labels,
        source=source,
        n_read=n_read,
        notes=tuple(notes),
        tied_votes=tied,
        votes=votes,
    )


# -- the original TSV export ------------------------------------------------------------------


def _bad_score(text: str) -> str | None:
    """Why a score field is unusable, or None when it is a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        return "a score is not a number"
    if math.isnan(value):
        return "a score is NaN"
    if not 0.0 <= value <= 1.0:
        return "a score is outside [0, 1]"
    return None


def read_tsv(path: str | Path, positive: str = "top1") -> Ratings:
    """Stream an export in the original format (mysql batch output with a header line).

    An export of a store with several raters holds one row per rating, so an image id can
    repeat: its rows are voted on as `ratings_from_table` does (see the module doc), and the
    note says so. Rows with a label_id other than 0, 1 or 2 (such as the original UI's buggy
    3s), malformed rows and rows with a NaN, non-numeric or out-of-range score are counted,
    reported in `notes` and left out. Raises InputError for a missing or unreadable file or
    missing columns.
    """
    path = Path(path)
    source = str(path)
    try:
        handle = open(path, encoding="utf-8", errors="replace", newline="")  # noqa: SIM115
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a TSV file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with handle:
        header_line = handle.readline()
        if not header_line.strip():
            raise InputError(
                f"{path}: empty file; expected a header line ({' '.join(TSV_COLUMNS)})"
            )
        header = [h.strip().lower() for h in header_line.rstrip("\r\n").split("\t")]
        missing = [c for c in _TSV_REQUIRED if c not in header]
        if missing:
            raise InputError(
                f"{path}: missing column(s) {', '.join(missing)}; expected a tab-separated header "
                f"with {' '.join(TSV_COLUMNS)}"
            )
        col = {name: i for i, name in enumerate(header)}
        if positive == "top5":
            lacking = [f"score{j}" for j in range(2, K + 1) if f"score{j}" not in col]
            if lacking:
                raise InputError(
                    f"{path}: --positive top5 needs score1..score5; missing {', '.join(lacking)}"
                )
        score_cols = [col.get(f"score{j}") for j in range(1, K + 1)]
        label_col, kw_col, id_col = col["label_id"], col.get("keyword1"), col.get("id")
        width = len(header)
        ids: list[int] = []
        verdicts: list[int] = []
        scores: list[tuple[float, ...]] = []
        kws: list[str | None] = []
        bad: Counter[str] = Counter()
        other_labels: Counter[str] = Counter()
        n_rows = 0
        for line in handle:
            line = line.rstrip("\r\n")
            if not line:
                continue
            n_rows += 1
            fields = line.split("\t")
            if len(fields) != width:
                bad[f"{len(fields)} fields instead of {width}"] += 1
                continue
            label = fields[label_col].strip()
            if label not in ("0", "1", "2"):
                other_labels[label or "(empty)"] += 1
                continue
            row_scores = []
            reason = None
            for j, c in enumerate(score_cols):
                text = fields[c].strip() if c is not None else ""
                if text in ("", "NULL", r"\N"):
                    if j == 0:
                        reason = "score1 is empty"
                        break
                    row_scores.append(math.nan)
                    continue
                reason = _bad_score(text)
                if reason:
                    break
                row_scores.append(float(text))
            if reason:
                bad[reason] += 1
                continue
            verdicts.append(int(label))
            scores.append(tuple(row_scores))
            kw = fields[kw_col].strip() if kw_col is not None else None
            kws.append(None if kw in (None, "", "NULL") else kw)
            try:
                ids.append(int(fields[id_col]) if id_col is not None else -n_rows)
            except ValueError:
                ids.append(-n_rows)  # no id: a photo of its own (negative: no clash)
    notes = []
    for label, count in sorted(other_labels.items()):
        why = " (the original UI's button bug)" if label == "3" else ""
        notes.append(f"{count} row(s) with label_id {label}{why} left out")
    for reason, count in sorted(bad.items()):
        notes.append(f"{count} row(s) left out: {reason}")
    if kw_col is None:
        notes.append("no keyword1 column: top-1 labels unknown")
    missing_scores = [f"score{j}" for j in range(2, K + 1) if score_cols[j - 1] is None]
    if missing_scores:
        notes.append(f"no {', '.join(missing_scores)} column(s)")
    n = len(verdicts)
    label1, labels = _factorize(kws)
    image_id = np.asarray(ids, dtype=np.int64)
    verdict = np.asarray(verdicts, dtype=np.int8)
    score_array = np.asarray(scores, dtype=np.float64).reshape(n, K)
    votes, tied = None, 0
    if _repeats(image_id):  # one row per rating: vote per image
        image_id, first, votes, verdict, tied = vote(image_id, verdict)
        score_array, label1 = score_array[first], label1[first]
        notes.insert(0, f"{n} rows of {image_id.shape[0]} images (ids repeat: one row per "
                        "rating): majority verdict per image")
    return Ratings(
        image_id=image_id,
        verdict=verdict,
        scores=score_array,
        label1=label1,
        labels=labels,
        source=source,
        n_read=n_rows,
        notes=tuple(notes),
        tied_votes=tied,
        votes=votes,
    )
