"""Files in and out of the store, in the formats the original pipeline's users already have.

In:  the predictions CSV of the original `label_images.py`: no header, one row per image,
     `tweet_id,link,label_1,score_1,...,label_k,score_k` (k read from each row).
Out: the TSV of the original `export_results.sql` (what its analysis notebook reads), with
     columns `id, tweet_id, link, keyword1, score1, ... keyword5, score5, label_id`
     (label_id 0 = top1, 1 = top5, 2 = none); and CSV / JSON Lines with every field.
"""

from __future__ import annotations

import csv
import io
import json
import math
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tuilabel.errors import DataError, InputError
from tuilabel.store.base import (
    LABEL_MAX,
    MAX_K,
    MODEL_MAX,
    TWEET_ID_MAX,
    VERDICT_TO_LABEL_ID,
    NewImage,
    RatedImage,
    Store,
)

LOAD_BATCH = 2000
MAX_REPORTED = 20
TSV_COLUMNS = ["id", "tweet_id", "link"] + [
    c for i in range(1, 6) for c in (f"keyword{i}", f"score{i}")
] + ["label_id"]
FULL_COLUMNS = ["rating_id", "image_id", "tweet_id", "media_id", "url", "model", "rater",
                "verdict", "label_id", "rated_at", "labeled_at", "k"] + [
    c for i in range(1, MAX_K + 1) for c in (f"label{i}", f"score{i}")
] + ["blind"]  # last, so that the original columns keep their places
EXPORT_FORMATS = ("tsv", "csv", "jsonl")


class MalformedRow(ValueError):
    """One CSV row that cannot be loaded; the message says why."""


# -- the original predictions CSV ---------------------------------------------------------------
def format_prediction_row(
    tweet_id: str, url: str, predictions: Iterable[tuple[str, float]]
) -> list[str]:
    """The fields of one row of the original CSV (write it with csv.writer)."""
    fields = [str(tweet_id), url]
    for label, score in predictions:
        fields += [label, repr(float(score))]
    return fields


def parse_prediction_row(fields: list[str], model: str) -> NewImage:
    """One row of the original CSV as a NewImage; raises MalformedRow."""
    n = len(fields)
    if n < 4 or n % 2:
        raise MalformedRow(
            f"{n} fields; expected tweet_id,link then label,score pairs (an even number, 4 or more)"
        )
    tweet_id, url = fields[0].strip(), fields[1].strip()
    if not tweet_id:
        raise MalformedRow("empty tweet id")
    if not url:
        raise MalformedRow("empty link")
    if len(tweet_id) > TWEET_ID_MAX:
        raise MalformedRow(f"tweet id of {len(tweet_id)} characters; at most {TWEET_ID_MAX}")
    k = (n - 2) // 2
    if k > MAX_K:
        raise MalformedRow(f"{k} labels; at most {MAX_K} can be stored")
    predictions = []
    for i in range(k):
        label, raw = fields[2 + 2 * i].strip(), fields[3 + 2 * i].strip()
        try:
            score = float(raw)
        except ValueError:
            raise MalformedRow(f"score_{i + 1} {raw!r} is not a number") from None
        if not (0.0 <= score <= 1.0):  # NaN fails this too
            raise MalformedRow(f"score_{i + 1} {raw!r} is not between 0 and 1")
        if not label:
            raise MalformedRow(f"label_{i + 1} is empty")
        if len(label) > LABEL_MAX:
            raise MalformedRow(f"label_{i + 1} of {len(label)} characters; at most {LABEL_MAX}")
        predictions.append((label, score))
    return NewImage(tweet_id=tweet_id, url=url, model=model, predictions=predictions)


@dataclass
class LoadSummary:
    rows: int = 0
    added: int = 0
    present: int = 0
    malformed: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.rows} rows: {self.added} images added, {self.present} already present, "
                f"{self.malformed} malformed rows skipped")


@contextmanager
def open_input(path: str) -> Iterator[IO[str]]:
    """A text stream for a path or `-` (stdin); InputError when it cannot be read."""
    if path == "-":
        yield io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig",
                               errors="surrogateescape", newline="")
        return
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{path} is a folder, not a file")
    try:
        # utf-8-sig: a BOM (Excel's CSV) is not part of the first tweet id.
        f = open(p, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with f:
        yield f


def load_predictions(
    stream: IO[str],
    store: Store,
    *,
    model: str,
    strict: bool = False,
    source: str = "<stdin>",
    report: Callable[[str], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> LoadSummary:
    """Load the original CSV from `stream` into `store`, committing every LOAD_BATCH rows.

    A malformed row is reported (`report`, at most MAX_REPORTED lines), counted and skipped;
    with `strict` the first one raises DataError (rows before it stay stored). Loading the
    same rows again adds nothing."""
    if not model.strip():
        raise InputError("--model must not be empty: name the model that made the predictions")
    if len(model) > MODEL_MAX:
        raise InputError(f"--model name of {len(model)} characters; at most {MODEL_MAX}")
    summary = LoadSummary()
    batch: list[NewImage] = []

    def flush() -> None:
        if batch:
            added = store.add_images(batch)
            summary.added += added
            summary.present += len(batch) - added
            batch.clear()

    reader = csv.reader(stream)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            fields = None
            problem: str | None = f"not CSV: {exc}"
        else:
            problem = None
        line = reader.line_num
        if fields is not None and not any(f.strip() for f in fields):
            continue  # blank line
        summary.rows += 1
        if problem is None and fields is not None:
            try:
                if any("\udc80" <= ch <= "\udcff" for f in fields for ch in f):
                    raise MalformedRow("invalid UTF-8")
                batch.append(parse_prediction_row(fields, model))
            except MalformedRow as exc:
                problem = str(exc)
        if problem is not None:
            message = f"{source}:{line}: {problem}"
            if strict:
                flush()
                raise DataError(f"{message} (stopped: --strict)")
            summary.malformed += 1
            if len(summary.problems) < MAX_REPORTED:
                summary.problems.append(message)
                if report:
                    report(f"skipped {message}")
        if len(batch) >= LOAD_BATCH:
            flush()
            if progress:
                progress(summary.rows)
    flush()
    if progress:
        progress(summary.rows)
    if report and summary.malformed > MAX_REPORTED:
        report(f"... and {summary.malformed - MAX_REPORTED} more malformed rows")
    return summary


# -- export ---------------------------------------------------------------------------------------
def _score_text(score: float | None) -> str:
    return "" if score is None or math.isnan(score) else repr(float(score))


def tsv_row(r: RatedImage) -> list[str] | None:
    """The original export's columns for one rating; None for verdicts it cannot express."""
    label_id = VERDICT_TO_LABEL_ID.get(r.verdict)
    if label_id is None:
        return None
    preds = list(r.image.predictions[:5]) + [("", None)] * (5 - len(r.image.predictions[:5]))
    row = [str(r.image.id), r.image.tweet_id, r.image.url]
    for label, score in preds:
        row += [label, _score_text(score)]
    return row + [str(label_id)]


def full_record(r: RatedImage) -> dict[str, Any]:
    """Every field of one rating and its image (CSV and JSON Lines export)."""
    label_id = VERDICT_TO_LABEL_ID.get(r.verdict)
    return {
        "rating_id": r.rating_id,
        "image_id": r.image.id,
        "tweet_id": r.image.tweet_id,
        "media_id": r.image.media_id,
        "url": r.image.url,
        "model": r.image.model,
        "rater": r.rater,
        "verdict": r.verdict,
        "label_id": label_id,
        "rated_at": r.rated_at,
        "labeled_at": r.image.labeled_at,
        "k": len(r.image.predictions),
        "predictions": [[label, score] for label, score in r.image.predictions],
        "blind": r.blind,
    }


@dataclass
class ExportSummary:
    written: int = 0
    left_out: int = 0  # ratings the chosen format cannot express (unrateable, in TSV)


def _clean(text: str) -> str:
    """TSV has no quoting: tabs and line breaks inside a field would break the columns."""
    return text.replace("\t", " ").replace("\r", " ").replace("\n", " ")


def export_ratings(ratings: Iterable[RatedImage], out: IO[str], fmt: str) -> ExportSummary:
    """Write ratings to `out` in `fmt` (tsv, csv or jsonl)."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    summary = ExportSummary()
    if fmt == "tsv":
        out.write("\t".join(TSV_COLUMNS) + "\n")
        for r in ratings:
            row = tsv_row(r)
            if row is None:
                summary.left_out += 1
                continue
            out.write("\t".join(_clean(v) for v in row) + "\n")
            summary.written += 1
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FULL_COLUMNS)
        for r in ratings:
            rec = full_record(r)
            preds = rec.pop("predictions")
            flat: list[Any] = [rec[c] for c in FULL_COLUMNS[:12]]
            for i in range(MAX_K):
                flat += [preds[i][0], repr(preds[i][1])] if i < len(preds) else ["", ""]
            flat.append(int(rec["blind"]))
            writer.writerow(["" if v is None else v for v in flat])
            summary.written += 1
    else:
        for r in ratings:
            out.write(json.dumps(full_record(r), ensure_ascii=False) + "\n")
            summary.written += 1
    return summary


@contextmanager
def open_output(path: str | None) -> Iterator[IO[str]]:
    """stdout for None or `-`; else a file written whole or not at all (temp file + rename,
    see tuilabel.outfile)."""
    from tuilabel.outfile import atomic_output
    from tuilabel.text import for_terminal

    with atomic_output(path) as out:
        yield for_terminal(out)  # on a terminal, escape sequences in the data made visible
