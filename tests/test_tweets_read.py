"""Reading records out of every container, and counting damage instead of dying on it.

Each archive is built inside the test with the standard library, the way corpora are really
packed (multi-member gzip from `cat a.gz b.gz`, multi-stream bz2 from pbzip2, zips with a
corrupt member, tarballs with junk members), then damaged where the test needs it.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import tarfile
import zipfile
from pathlib import Path

import pytest

from tuilabel.errors import DataError, InputError
from tuilabel.tweets import ReadStats, iter_records
from tuilabel.tweets.read import expand_paths


def lines_of(*records: object) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def numbered(start: int, n: int) -> list[dict]:
    return [{"n": i} for i in range(start, start + n)]


def read(paths, **kw) -> tuple[list[dict], ReadStats]:
    stats = ReadStats()
    records = list(iter_records([str(p) for p in paths], stats, **kw))
    return records, stats


def ns(records: list[dict]) -> list[int]:
    return [r["n"] for r in records]


def add_tar_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def test_plain_file_with_crlf_blank_lines_and_no_final_newline(tmp_path: Path):
    f = tmp_path / "a.jsonl"
    f.write_bytes(b'{"n": 1}\r\n\r\n{"n": 2}\r\n   \n{"n": 3}')
    records, stats = read([f])
    assert ns(records) == [1, 2, 3]
    assert (stats.files, stats.records_seen, stats.kept) == (1, 5, 3)
    assert stats.skipped == {"blank": 2}
    assert stats.problems == []
    assert stats.bytes_read == stats.bytes_decoded == f.stat().st_size


def test_multi_member_gzip(tmp_path: Path):
    f = tmp_path / "a.json.gz"
    f.write_bytes(gzip.compress(lines_of(*numbered(0, 3))) + gzip.compress(lines_of(
        *numbered(3, 2))))
    records, stats = read([f])
    assert ns(records) == [0, 1, 2, 3, 4]
    assert stats.bytes_read == f.stat().st_size
    assert stats.problems_total == 0


def test_gzip_bigger_than_the_chunks(tmp_path: Path):
    # Enough data for several read and decompression chunks, with lines across the borders.
    recs = [{"n": i, "pad": "x" * (i % 3000)} for i in range(3000)]
    f = tmp_path / "big.gz"
    f.write_bytes(gzip.compress(lines_of(*recs), compresslevel=1))
    records, stats = read([f])
    assert ns(records) == list(range(3000))
    assert stats.bytes_decoded == len(lines_of(*recs))


def test_truncated_gzip_keeps_what_came_before(tmp_path: Path):
    data = gzip.compress(lines_of(*numbered(0, 50), *[{"pad": "y" * 200}] * 100))
    f = tmp_path / "cut.gz"
    f.write_bytes(data[:-40])  # lose the trailer and the end of the data
    records, stats = read([f])
    assert ns(records[:50]) == list(range(50))
    assert stats.skipped["truncated"] == 1
    assert [(s, m) for s, _, m in stats.problems if "truncated" in m] == [
        (str(f), "gzip stream is truncated")]


def test_multi_stream_bz2_and_truncated_bz2(tmp_path: Path):
    f = tmp_path / "a.bz2"
    f.write_bytes(bz2.compress(lines_of(*numbered(0, 2))) + bz2.compress(lines_of(
        *numbered(2, 2))) + bz2.compress(lines_of(*numbered(4, 1))))
    records, stats = read([f])
    assert ns(records) == [0, 1, 2, 3, 4]
    assert stats.problems_total == 0

    cut = tmp_path / "cut.bz2"
    cut.write_bytes(bz2.compress(lines_of(*numbered(0, 2))) + bz2.compress(lines_of(
        *numbered(2, 200)))[:-30])
    records, stats = read([cut])
    assert ns(records[:2]) == [0, 1]
    assert stats.skipped["truncated"] == 1
    assert any("bzip2 stream is truncated" in m for _, _, m in stats.problems)


def test_xz(tmp_path: Path):
    f = tmp_path / "a.xz"
    f.write_bytes(lzma.compress(lines_of(*numbered(0, 3))))
    assert ns(read([f])[0]) == [0, 1, 2]


def test_compression_is_found_by_content_not_name(tmp_path: Path):
    f = tmp_path / "looks-plain.json"
    f.write_bytes(gzip.compress(lines_of(*numbered(0, 2))))
    assert ns(read([f])[0]) == [0, 1]


def test_zip_members_in_order_with_a_corrupt_member(tmp_path: Path):
    f = tmp_path / "a.zip"
    with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("2014/01/a.json", lines_of(*numbered(0, 2)))
        z.writestr("2014/01/bad.json", lines_of(*numbered(100, 50)))
        z.writestr("2014/01/", b"")  # a folder entry
        z.writestr("2014/01/c.json.gz", gzip.compress(lines_of(*numbered(2, 2))))
    raw = bytearray(f.read_bytes())
    with zipfile.ZipFile(f) as z:
        info = z.getinfo("2014/01/bad.json")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start:start + info.compress_size] = b"\xff" * info.compress_size
    f.write_bytes(bytes(raw))

    records, stats = read([f])
    assert ns(records) == [0, 1, 2, 3]
    assert stats.files == 2
    assert stats.skipped == {"corrupt_archive": 1}
    ((source, line, message),) = stats.problems
    assert (source, line) == (f"{f}[2014/01/bad.json]", None)
    assert message.startswith("damaged zip member")


def test_not_a_zip_after_all(tmp_path: Path):
    f = tmp_path / "broken.zip"
    f.write_bytes(b"PK\x03\x04" + b"\x00" * 10)
    records, stats = read([f])
    assert records == []
    assert stats.skipped == {"corrupt_archive": 1}


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2"])
def test_tar_members_in_order_junk_counted(tmp_path: Path, mode: str):
    f = tmp_path / f"a.tar{'' if mode == 'w' else '.' + mode[2:]}"
    with tarfile.open(f, mode) as tar:
        add_tar_member(tar, "day1/a.json", lines_of(*numbered(0, 2)))
        add_tar_member(tar, "day1/photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
        add_tar_member(tar, "day1/b.json.gz", gzip.compress(lines_of(*numbered(2, 2))))
        add_tar_member(tar, "day1/notes.txt", b"not json\n")
        add_tar_member(tar, "day2/c.json.bz2", bz2.compress(lines_of(*numbered(4, 1))))
    records, stats = read([f])
    assert ns(records) == [0, 1, 2, 3, 4]
    assert stats.files == 3
    # notes.txt is text in no shape we read: one problem for the file, not one per line.
    assert stats.skipped == {"junk_file": 1, "unknown_shape": 1}
    assert [(s, ln) for s, ln, _ in stats.problems] == [
        (f"{f}[day1/photo.png]", None), (f"{f}[day1/notes.txt]", None)]


@pytest.mark.parametrize(("mode", "message"), [("w:gz", "gzip stream is truncated"),
                                               ("w", "tar archive is truncated")])
def test_truncated_tar_reports_the_member_cut_short(tmp_path: Path, mode: str, message: str):
    f = tmp_path / "a.tar"
    with tarfile.open(f, mode) as tar:
        add_tar_member(tar, "a.json", lines_of(*numbered(0, 3)))
        add_tar_member(tar, "b.json", lines_of(*[{"pad": "z" * 100, "n": i}
                                                 for i in range(3, 400)]))
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    records, stats = read([f])
    assert ns(records) == [0, 1, 2]
    assert stats.skipped == {"truncated": 1}
    assert stats.problems == [(f"{f}[b.json]", None, message)]


def test_bom_invalid_utf8_and_broken_lines_are_counted_with_line_numbers(tmp_path: Path):
    f = tmp_path / "a.jsonl"
    f.write_bytes(
        b'\xef\xbb\xbf{"n": 0}\n'
        b'{"n": 1, "t": "caf\xe9"}\n'
        b'{"n": 2\n'
        b'[1, 2]\n'
        b'\xef\xbb\xbf{"n": 3, "t": "caf\xc3\xa9"}\n'
    )
    records, stats = read([f])
    assert records == [{"n": 0}, {"n": 3, "t": "café"}]
    # [1, 2] is an array: its two items are records, neither of them a tweet.
    assert stats.skipped == {"bad_utf8": 1, "not_json": 1, "not_tweet": 2}
    assert stats.repaired == {"bom": 2}
    # The BOM of the file is its encoding (UTF-8 with a BOM); one inside (`cat`) is damage.
    assert [(ln, m.split(" (")[0]) for _, ln, m in stats.problems] == [
        (2, "invalid UTF-8"), (3, "not JSON"), (5, "UTF-8 byte order mark")]
    assert stats.records_seen == stats.kept + sum(stats.skipped.values())


def test_strict_stops_at_the_first_problem(tmp_path: Path):
    f = tmp_path / "a.jsonl"
    f.write_bytes(lines_of({"n": 0}) + b"oops\n" + lines_of({"n": 1}))
    with pytest.raises(DataError, match=r"a.jsonl:2: not JSON .*\(--strict\)"):
        read([f], strict=True)


def test_over_long_lines_are_skipped_and_counted(tmp_path: Path):
    f = tmp_path / "a.jsonl"
    long_line = json.dumps({"n": 99, "pad": "x" * 5000}).encode()
    f.write_bytes(lines_of({"n": 0}) + long_line + b"\n" + lines_of({"n": 1}) + long_line)
    records, stats = read([f], max_line=1000)
    assert ns(records) == [0, 1]
    assert stats.skipped == {"too_long": 2}
    assert [ln for _, ln, _ in stats.problems] == [2, 4]
    assert stats.records_seen == 4


def test_over_long_line_across_many_chunks(tmp_path: Path, monkeypatch):
    import tuilabel.tweets.streams as read_mod

    monkeypatch.setattr(read_mod, "READ_CHUNK", 64)
    f = tmp_path / "a.jsonl"
    f.write_bytes(lines_of({"n": 0}) + b"[" + b"1," * 500 + b"1]\n" + lines_of({"n": 1}))
    records, stats = read([f], max_line=100)
    assert ns(records) == [0, 1]
    assert stats.skipped == {"too_long": 1}
    assert [ln for _, ln, _ in stats.problems] == [2]


def test_binary_file_is_junk(tmp_path: Path):
    f = tmp_path / "cat.jpg"
    f.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01")
    records, stats = read([f])
    assert records == []
    assert stats.skipped == {"junk_file": 1}


def test_folders_recursively_in_name_order(tmp_path: Path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "z").mkdir(parents=True)
    (tmp_path / "b" / "1.json").write_bytes(lines_of({"n": 3}))
    (tmp_path / "a" / "2.json").write_bytes(lines_of({"n": 1}))
    (tmp_path / "a" / "z" / "0.json.gz").write_bytes(gzip.compress(lines_of({"n": 2})))
    (tmp_path / "a" / "1.json").write_bytes(lines_of({"n": 0}))
    records, stats = read([tmp_path])
    assert ns(records) == [0, 1, 2, 3]
    assert stats.files == 4


def test_missing_path_is_an_error_before_reading(tmp_path: Path):
    good = tmp_path / "a.jsonl"
    good.write_bytes(lines_of({"n": 0}))
    stats = ReadStats()
    it = iter_records([str(good), str(tmp_path / "nope.json")], stats)
    with pytest.raises(InputError, match="no such file or folder: .*nope.json"):
        next(it)
    assert stats.records_seen == 0
    with pytest.raises(InputError):
        expand_paths([])


def test_summary_names_counts_reasons_and_problems(tmp_path: Path):
    f = tmp_path / "a.jsonl"
    f.write_bytes(lines_of({"n": 0}) + b"nope\n\n")
    _, stats = read([f])
    text = stats.summary()
    assert text.splitlines()[0].startswith(
        "1 file read, 3 records seen, 1 kept, 2 skipped (1 blank, 1 not_json)")
    assert f"{f}:2: not JSON" in text


def test_media_only_skips_long_lines_without_media_unparsed(tmp_path: Path):
    pad = "p" * 3000
    f = tmp_path / "a.jsonl"
    f.write_bytes(lines_of({"n": 0, "pad": pad}, {"n": 1, "media": [], "pad": pad}, {"n": 2})
                  + b'{"n": 3, "cut' + pad.encode() + b"\n")
    records, stats = read([f], media_only=True)
    assert ns(records) == [1, 2]  # the short line is parsed whatever it holds
    assert stats.skipped == {"no_photo": 1, "not_json": 1}
    assert [ln for _, ln, _ in stats.problems] == [4]
    everything, full = read([f])
    assert ns(everything) == [0, 1, 2]
    assert full.skipped == {"not_json": 1}


@pytest.mark.parametrize(("read_chunk", "out_chunk"), [(1, 7), (5, 16), (64, 1 << 20)])
def test_tiny_chunks_across_member_and_stream_borders(tmp_path: Path, monkeypatch,
                                                      read_chunk: int, out_chunk: int):
    """Every border (gzip member header, bz2 stream magic, capped output) cut by a chunk."""
    import tuilabel.tweets.streams as read_mod

    monkeypatch.setattr(read_mod, "READ_CHUNK", read_chunk)
    monkeypatch.setattr(read_mod, "OUT_CHUNK", out_chunk)
    parts = [lines_of(*numbered(i * 3, 3)) for i in range(4)]
    gz = tmp_path / "a.gz"
    gz.write_bytes(b"".join(gzip.compress(p) for p in parts))
    bz = tmp_path / "b.bz2"
    bz.write_bytes(b"".join(bz2.compress(p) for p in parts))
    xz = tmp_path / "c.xz"
    xz.write_bytes(b"".join(lzma.compress(p) for p in parts))
    records, stats = read([gz, bz, xz])
    assert ns(records) == list(range(12)) * 3
    assert stats.problems_total == 0


def test_gzip_padding_ignored_trailing_garbage_reported(tmp_path: Path):
    padded = tmp_path / "padded.gz"
    padded.write_bytes(gzip.compress(lines_of(*numbered(0, 2))) + b"\x00" * 512)
    records, stats = read([padded])
    assert ns(records) == [0, 1]
    assert stats.problems_total == 0

    junk = tmp_path / "junk.gz"
    junk.write_bytes(gzip.compress(lines_of(*numbered(0, 2))) + b"this is not gzip")
    records, stats = read([junk])
    assert ns(records) == [0, 1]
    assert stats.skipped == {"corrupt_archive": 1}
    assert stats.problems == [(str(junk), None, "trailing garbage after gzip data")]


def test_absurdly_nested_line_is_counted_not_a_crash(tmp_path: Path):
    f = tmp_path / "a.jsonl"
    f.write_bytes(b'{"media": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n" + lines_of({"n": 1}))
    records, stats = read([f])
    assert ns(records) == [1]
    assert stats.skipped == {"not_json": 1}
    assert stats.problems == [(str(f), 1, "not JSON we can read (nested too deeply)")]


def test_randomly_damaged_archives_are_counted_never_raised(tmp_path: Path):
    """Bytes flipped, files cut, junk inserted, in every container: reading never raises, and
    collect's counts always add up (seen == kept + skipped)."""
    import random

    from tuilabel.tweets import collect

    data = b"".join(json.dumps({"id_str": str(i), "text": "t", "user": {}, "extended_entities": {
        "media": [{"media_url_https": f"https://pbs.twimg.com/media/M{i}.jpg"}]}}).encode()
        + b"\n" for i in range(200))

    def tar_of(mode: str) -> bytes:
        bio = io.BytesIO()
        with tarfile.open(fileobj=bio, mode=mode) as tar:
            add_tar_member(tar, "a.json", data)
            add_tar_member(tar, "b.json.gz", gzip.compress(data))
        return bio.getvalue()

    def zip_of() -> bytes:
        bio = io.BytesIO()
        with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("a.json", data)
            z.writestr("b.json.bz2", bz2.compress(data))
        return bio.getvalue()

    bases = [gzip.compress(data) * 2, bz2.compress(data) * 2, lzma.compress(data), tar_of("w"),
             tar_of("w:gz"), tar_of("w:bz2"), zip_of(), data]
    rng = random.Random(99)
    f = tmp_path / "damaged"
    kept_some = damaged_some = 0
    for _ in range(160):
        b = bytearray(rng.choice(bases))
        roll = rng.random()
        if roll < 0.4:
            for _ in range(rng.randint(1, 20)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif roll < 0.7:
            del b[rng.randrange(len(b)):]
        else:
            at = rng.randrange(len(b))
            b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 50)))
        f.write_bytes(bytes(b))
        read([f])
        stats = collect([str(f)], io.BytesIO(), ReadStats())
        assert stats.records_seen == stats.kept + sum(stats.skipped.values())
        kept_some += stats.kept > 0
        damaged_some += stats.problems_total > 0
    assert kept_some > 50 and damaged_some > 50
