"""`tuilabel collect` end to end: which records are kept, byte for byte, and what is counted.

The records come from test_tweets_photos.py (every format); the archives are built here.
CLI tests run the real command in a subprocess (`run_cli`).
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import re
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import run_cli
from test_tweets_photos import (
    AS_GIF,
    AS_INFO,
    AS_LONG,
    AS_POST,
    AS_QUOTE,
    AS_SHARE,
    DELETE,
    LIMIT,
    SCRUB_GEO,
    SN_NONE,
    SN_PHOTOS,
    SN_QUOTE,
    SN_RETWEET,
    V1_GIF,
    V1_LOCAL,
    V1_NO_MEDIA,
    V1_QUOTE,
    V1_RETWEET,
    V1_TRUNCATED,
    V1_TWO_PHOTOS,
    V1_VIDEO,
    V2_ERRORS,
    V2_FLAT,
    V2_PAGE,
    V2_STREAM_LINE,
    WITHHELD,
    v1_media,
    v1_tweet,
)

from tuilabel.errors import InputError
from tuilabel.tweets import ReadStats, collect, collect_to_path

WITH_PHOTOS = [V1_TWO_PHOTOS, V1_RETWEET, V1_QUOTE, V1_TRUNCATED, V1_LOCAL, AS_POST, AS_SHARE,
               AS_LONG, AS_QUOTE, V2_PAGE, V2_FLAT, SN_PHOTOS, SN_RETWEET, SN_QUOTE]
THUMBS_ONLY = [V1_GIF, V1_VIDEO, AS_GIF]  # kept only with --thumbnails
NO_PHOTO = [V1_NO_MEDIA, SN_NONE]
NOT_TWEETS = [DELETE, LIMIT, SCRUB_GEO, WITHHELD, AS_INFO, V2_ERRORS]


def line(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode()


def jsonl(records: list) -> bytes:
    return b"".join(line(r) + b"\n" for r in records)


def corpus() -> tuple[list[bytes], bytes]:
    """Every kind of line, interleaved, and the lines collect must keep, in order."""
    lines: list[bytes] = []
    for i, rec in enumerate(WITH_PHOTOS):
        lines.append(line(rec))
        lines.append(line(NO_PHOTO[i % 2]) if i % 3 else line(NOT_TWEETS[i % 6]))
    lines += [line(r) for r in THUMBS_ONLY + NOT_TWEETS]
    lines += [b"", b"{broken", b"\r"]
    return lines, jsonl(WITH_PHOTOS)


def run_collect(paths, **kw) -> tuple[bytes, ReadStats]:
    out = io.BytesIO()
    stats = collect([str(p) for p in paths], out, ReadStats(), **kw)
    return out.getvalue(), stats


def test_keeps_exactly_the_records_with_photos_unchanged(tmp_path: Path):
    lines, expected = corpus()
    f = tmp_path / "all.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    out, stats = run_collect([f])
    assert out == expected
    assert stats.kept == len(WITH_PHOTOS) == 14
    n_not_tweet = sum(1 for i in range(14) if not i % 3) + len(NOT_TWEETS)
    assert dict(stats.skipped) == {
        "no_photo": 14 - 5 + len(THUMBS_ONLY), "not_tweet": n_not_tweet, "blank": 2,
        "not_json": 1}
    assert stats.records_seen == len(lines) == stats.kept + sum(stats.skipped.values())


def test_thumbnails_keeps_gif_and_video_tweets(tmp_path: Path):
    f = tmp_path / "a.jsonl"
    f.write_bytes(jsonl(THUMBS_ONLY + NO_PHOTO))
    out, stats = run_collect([f], thumbnails=True)
    assert out == jsonl(THUMBS_ONLY)
    assert stats.skipped == {"no_photo": 2}


def test_long_tweets_without_media_take_the_fast_path_with_the_same_counts(tmp_path: Path):
    pad = "x" * 5000  # longer than the parse-anyway size: not parsed, still counted right
    big_plain = v1_tweet("601", text=pad)
    big_photo = v1_tweet("602", [v1_media("9602", "BIG1")], text=pad)
    f = tmp_path / "a.jsonl"
    f.write_bytes(jsonl([big_plain, big_photo]) + b'{"truncated line": "' + pad.encode() + b"\n")
    out, stats = run_collect([f])
    assert out == jsonl([big_photo])
    assert stats.skipped == {"no_photo": 1, "not_json": 1}
    assert stats.problems == [(str(f), 3, "not JSON (not a {...} object)")]
    # Parsing every line (--strict) counts the same.
    f.write_bytes(jsonl([big_plain, big_photo]))
    fast_out, fast = run_collect([f])
    strict_out, strict = run_collect([f], strict=True)
    assert fast_out == strict_out == jsonl([big_photo])
    assert fast.skipped == strict.skipped == {"no_photo": 1}


def test_duplicates_across_files_and_containers_written_once(tmp_path: Path):
    a = tmp_path / "a.jsonl.gz"
    a.write_bytes(gzip.compress(jsonl([V1_TWO_PHOTOS, AS_POST])))
    b = tmp_path / "b.jsonl.bz2"
    b.write_bytes(bz2.compress(jsonl([AS_POST, V1_QUOTE, V1_TWO_PHOTOS])))
    out, stats = run_collect([a, b])
    assert out == jsonl([V1_TWO_PHOTOS, AS_POST, V1_QUOTE])
    assert stats.skipped == {"duplicate": 2}


def test_every_container_in_one_run(tmp_path: Path):
    parts = [[V1_TWO_PHOTOS, DELETE], [AS_POST, V1_NO_MEDIA], [V2_STREAM_LINE],
             [SN_PHOTOS, LIMIT], [V2_FLAT], [AS_LONG]]
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "1.jsonl").write_bytes(jsonl(parts[0]))
    (tmp_path / "in" / "2.json.gz").write_bytes(gzip.compress(jsonl(parts[1][:1])) +
                                                gzip.compress(jsonl(parts[1][1:])))
    (tmp_path / "in" / "sub" / "3.bz2").write_bytes(bz2.compress(jsonl(parts[2])))
    with zipfile.ZipFile(tmp_path / "in" / "sub" / "4.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.json", jsonl(parts[3]))
    with tarfile.open(tmp_path / "in" / "sub" / "5.tar.gz", "w:gz") as tar:
        data = jsonl(parts[4])
        info = tarfile.TarInfo("y.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    out, stats = run_collect([tmp_path / "in", tmp_path / "in" / "sub" / "3.bz2"],
                             thumbnails=False)
    (tmp_path / "6.jsonl").write_bytes(jsonl(parts[5]))
    assert out == jsonl([V1_TWO_PHOTOS, AS_POST, V2_STREAM_LINE, SN_PHOTOS, V2_FLAT])
    assert stats.files == 6
    assert stats.skipped == {"not_tweet": 2, "no_photo": 1, "duplicate": 1}


def test_sampling_is_per_record_and_reproducible(tmp_path: Path):
    records = [v1_tweet(str(1000 + i), [v1_media(str(5000 + i), f"S{i}")]) for i in range(2000)]
    f = tmp_path / "a.jsonl"
    f.write_bytes(jsonl(records))
    first, stats = run_collect([f], fraction=0.1, seed=7)
    again, _ = run_collect([f], fraction=0.1, seed=7)
    other, _ = run_collect([f], fraction=0.1, seed=8)
    assert first == again != other
    assert 140 <= stats.kept <= 260  # about 1 in 10 of 2000
    assert stats.skipped == {"sampled_out": 2000 - stats.kept}
    kept_ids = [json.loads(x)["id_str"] for x in first.splitlines()]
    assert kept_ids == sorted(kept_ids)  # streamed in input order


def test_limit_stops_reading(tmp_path: Path):
    f = tmp_path / "a.jsonl"
    f.write_bytes(jsonl([V1_NO_MEDIA, V1_TWO_PHOTOS, AS_POST, V1_QUOTE, V1_TRUNCATED]))
    out, stats = run_collect([f], limit=2)
    assert out == jsonl([V1_TWO_PHOTOS, AS_POST])
    assert (stats.records_seen, stats.kept) == (3, 2)


def test_output_untouched_when_an_input_is_missing(tmp_path: Path):
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"precious\n")
    with pytest.raises(InputError, match="no such file"):
        collect_to_path([str(tmp_path / "nope")], str(out))
    assert out.read_bytes() == b"precious\n"


# ----------------------------------------------------------------------------- CLI


def test_cli_writes_file_and_summary(tmp_path: Path):
    lines, expected = corpus()
    src = tmp_path / "in.json.gz"
    src.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    out = tmp_path / "out.jsonl"
    r = run_cli("collect", str(src), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert out.read_bytes() == expected
    first = r.stderr.splitlines()[0]
    assert first.startswith(f"collect: 1 file read, {len(lines)} records seen, 14 kept, ")
    assert "1 not_json" in first and "2 blank" in first
    assert f"{src}:{len(lines) - 1}: not JSON" in r.stderr
    assert "Traceback" not in r.stderr
    assert "\x1b[" not in r.stderr and "records/s" not in r.stderr  # no bar off a terminal


def test_cli_stdin_to_stdout_with_bad_input(tmp_path: Path):
    data = (b"\xef\xbb\xbf" + line(AS_POST) + b"\n" + b'{"id_str": "1", "text": "\xff"}\n'
            + jsonl([DELETE, SN_QUOTE]))
    r = run_cli("collect", "-", input=data)
    assert r.returncode == 0
    assert r.stdout == jsonl([AS_POST, SN_QUOTE])  # the BOM is not copied
    # A BOM at the start is UTF-8 with a BOM, a shape of its own: removed, counted, no problem.
    assert b"repaired: 1 bom" in r.stderr
    assert b"byte order mark" not in r.stderr
    assert b"<stdin>:2: invalid UTF-8" in r.stderr
    assert b"1 bad_utf8" in r.stderr and b"1 not_tweet" in r.stderr


def test_cli_stdin_gzip():
    r = run_cli("collect", "-", input=gzip.compress(jsonl([V1_NO_MEDIA, V2_PAGE])))
    assert r.returncode == 0
    assert r.stdout == jsonl([V2_PAGE])


def test_cli_strict_exits_1_at_bad_line(tmp_path: Path):
    src = tmp_path / "a.jsonl"
    src.write_bytes(jsonl([AS_POST]) + b"garbage\n" + jsonl([V1_QUOTE]))
    r = run_cli("collect", "--strict", str(src))
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].startswith(f"tuilabel: error: {src}:2: not JSON")
    assert "Traceback" not in r.stderr


def test_cli_truncated_and_corrupt_archives_exit_0_unless_strict(tmp_path: Path):
    src = tmp_path / "cut.gz"
    src.write_bytes(gzip.compress(jsonl([AS_POST] + [V1_NO_MEDIA] * 50))[:-20])
    r = run_cli("collect", str(src))
    assert r.returncode == 0
    assert r.stdout == line(AS_POST).decode() + "\n"
    assert "1 truncated" in r.stderr
    # the stream broke inside the line after the last whole one: that line is not JSON
    (bad,) = re.findall(rf"{src}:(\d+): not JSON", r.stderr)
    assert f"{src}:{bad}: gzip stream is truncated" in r.stderr
    r = run_cli("collect", "--strict", str(src))
    assert r.returncode == 1
    assert "gzip stream is truncated" in r.stderr


def test_cli_missing_path_exit_2_and_no_output_file(tmp_path: Path):
    good = tmp_path / "a.jsonl"
    good.write_bytes(jsonl([AS_POST]))
    out = tmp_path / "out.jsonl"
    r = run_cli("collect", str(good), str(tmp_path / "missing.gz"), "-o", str(out))
    assert r.returncode == 2
    assert r.stderr.strip() == f"tuilabel: error: no such file or folder: {tmp_path}/missing.gz"
    assert not out.exists()


def test_cli_refuses_to_overwrite_an_input(tmp_path: Path):
    src = tmp_path / "a.jsonl"
    src.write_bytes(jsonl([AS_POST]))
    r = run_cli("collect", str(src), "-o", str(src))
    assert r.returncode == 2
    assert "is also an input" in r.stderr
    assert src.read_bytes() == jsonl([AS_POST])


@pytest.mark.parametrize(("args", "message"), [
    (["--sample", "0"], "--sample must be 1 or more"),
    (["--fraction", "1.5"], "--fraction must be in (0, 1]"),
    (["--sample", "3", "--fraction", "0.5"], "not both"),
    (["--limit", "0"], "--limit must be 1 or more"),
])
def test_cli_bad_options(tmp_path: Path, args, message):
    src = tmp_path / "a.jsonl"
    src.write_bytes(jsonl([AS_POST]))
    r = run_cli("collect", str(src), *args)
    assert r.returncode == 2
    assert message in r.stderr


def test_cli_sample_seed_limit(tmp_path: Path):
    records = [v1_tweet(str(1000 + i), [v1_media(str(5000 + i), f"S{i}")]) for i in range(300)]
    src = tmp_path / "a.jsonl"
    src.write_bytes(jsonl(records))
    a = run_cli("collect", str(src), "--sample", "3", "--seed", "42")
    b = run_cli("collect", str(src), "--sample", "3", "--seed", "42")
    assert a.returncode == b.returncode == 0
    assert a.stdout == b.stdout
    assert 60 <= len(a.stdout.splitlines()) <= 140
    c = run_cli("collect", str(src), "--limit", "5", "--thumbnails")
    assert c.stdout.encode() == jsonl(records[:5])


def test_cli_progress_bar_on_a_real_terminal(tmp_path: Path):
    """stderr on a pseudo-terminal: the bar shows bytes read, records/s and kept."""
    from conftest import run_cli_on_a_terminal

    src = tmp_path / "in.json.gz"
    src.write_bytes(gzip.compress(jsonl([V1_NO_MEDIA] * 500 + [AS_POST])))
    out = tmp_path / "out.jsonl"
    rc, seen = run_cli_on_a_terminal("collect", str(src), "-o", str(out), timeout=60)
    assert rc == 0
    assert "records/s" in seen and "1 kept" in seen and "collect" in seen
    assert "\x1b[" in seen  # drawn with terminal control codes
    assert out.read_bytes() == jsonl([AS_POST])


@pytest.mark.parametrize("gzipped", [False, True])
def test_ctrl_c_keeps_the_lines_already_kept(tmp_path: Path, gzipped: bool):
    """Interrupted while waiting on stdin: exit 130, and what was kept is in the file, whole."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import REPO

    out = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO), "TUILABEL_DEBUG": ""}
    proc = subprocess.Popen([sys.executable, "-m", "tuilabel", "collect", "-", "-o", str(out)],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdin is not None and proc.stderr is not None
    data = jsonl([AS_POST, V1_NO_MEDIA, V1_QUOTE])
    if gzipped:  # one complete gzip member; the stream stays open for more
        data = gzip.compress(data)
    proc.stdin.write(data)
    proc.stdin.flush()
    time.sleep(3)  # start-up and reading what is there; then the reader waits for more
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 130
    proc.stdin.close()
    assert "Traceback" not in err and "Fatal" not in err
    assert "collect (interrupted): 1 file read, 3 records seen, 2 kept" in err
    assert out.read_bytes() == jsonl([AS_POST, V1_QUOTE])


def test_reader_modules_import_no_ui_or_model_libraries():
    import subprocess
    import sys

    from conftest import REPO

    code = ("import sys, tuilabel.tweets, tuilabel.tweets.collect; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'textual', 'typer', 'rich') "
            "if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                       check=True)
    assert r.stdout.strip() == "[]"
