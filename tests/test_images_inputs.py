"""Photos as people have them (issue 13): transparency composited on white the same way in every
mode (16-bit included), decompression bombs named as such in every format, every format Pillow
opens decoded and found by folder scans, formats Pillow cannot read named, library warnings
counted and never printed.

The img-NN files in tests/data/inputs/ are the regression cases as reported; the images built
here stand for the kind each case is one of (PNGs of every bit depth are written byte by byte,
since Pillow itself writes only some of them).
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image

from tuilabel.images import DecodeError, decode_image, image_extensions, is_image_file
from tuilabel.pipeline import image_jobs

CASES = Path(__file__).parent / "data" / "inputs"
WHITE = (255, 255, 255)


def reason(data: bytes) -> tuple[str, str]:
    with pytest.raises(DecodeError) as info:
        decode_image(data)
    return info.value.reason, info.value.detail


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(decode_image(data))


# ----------------------------------------------------------------------------- PNG by hand


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def png(samples: np.ndarray, depth: int, colour: int, trns: bytes | None = None,
        after_idat: bytes = b"", before_idat: bytes = b"") -> bytes:
    """A PNG of any bit depth and colour type (0 grey, 2 RGB) from integer samples, shaped
    (h, w) or (h, w, 3)."""
    h, w = samples.shape[:2]
    rows = []
    for row in samples.reshape(h, -1):
        if depth == 16:
            raw = row.astype(">u2").tobytes()
        elif depth == 8:
            raw = row.astype(np.uint8).tobytes()
        else:
            per = 8 // depth
            padded = np.zeros(-(-len(row) // per) * per, dtype=np.uint8)
            padded[: len(row)] = row
            raw = bytes(
                sum(int(v) << (8 - depth * (i + 1)) for i, v in enumerate(group))
                for group in padded.reshape(-1, per))
        rows.append(b"\x00" + raw)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + before_idat
    if trns is not None:
        out += _chunk(b"tRNS", trns)
    return (out + _chunk(b"IDAT", zlib.compress(b"".join(rows))) + after_idat
            + _chunk(b"IEND", b""))


# ----------------------------------------------------------------------------- transparency


def test_img01_16_bit_grey_with_a_transparent_colour_is_white_there():
    data = (CASES / "img-01.png").read_bytes()
    raw = np.asarray(Image.open(io.BytesIO(data)))
    key = Image.open(io.BytesIO(data)).info["transparency"]
    out = pixels(data)
    clear = raw == key
    assert clear.any() and (out[clear] == 255).all()  # was black
    # As for its 8-bit twin: the same values in an 8-bit PNG with the same transparent grey.
    twin = io.BytesIO()
    Image.fromarray(raw.astype(np.uint8), "L").save(twin, "PNG", transparency=key)
    assert (pixels(twin.getvalue()) == out).all()


@pytest.mark.parametrize(("depth", "colour", "opaque", "clear", "grey"), [
    (1, 0, 0, 1, 0),                                     # 1-bit grey: black, white clear
    (2, 0, 1, 3, 85),                                    # 2-bit: Pillow scales by 85
    (4, 0, 7, 2, 119),                                   # 4-bit: by 17
    (8, 0, 90, 200, 90),
    (16, 0, 90 * 257, 200 * 257, 90),
    (8, 2, (90, 20, 30), (1, 2, 3), (90, 20, 30)),
    (16, 2, (90 * 257, 20 * 257, 30 * 257), (1, 2, 3), (90, 20, 30)),
])
def test_a_transparent_colour_is_white_at_every_bit_depth(depth, colour, opaque, clear, grey):
    cells = np.array([[opaque, clear], [clear, opaque]], dtype=np.int64)  # (2, 2) or (2, 2, 3)
    key = np.atleast_1d(np.asarray(clear)).astype(">u2").tobytes()
    out = pixels(png(cells, depth, colour, key))
    expected = tuple(np.broadcast_to(np.asarray(grey), (3,)))
    assert tuple(out[0, 0]) == expected and tuple(out[1, 1]) == expected
    assert tuple(out[0, 1]) == WHITE and tuple(out[1, 0]) == WHITE


def _half_clear(mode: str) -> Image.Image:
    colour = {"RGBA": (0, 0, 0, 0), "LA": (0, 0), "RGBa": (0, 0, 0, 0), "La": (0, 0)}[mode]
    img = Image.new(mode, (2, 1), colour)
    img.putpixel((0, 0), {"RGBA": (60, 60, 60, 255), "LA": (60, 255),
                          "RGBa": (60, 60, 60, 255), "La": (60, 255)}[mode])
    return img


@pytest.mark.parametrize(("mode", "fmt"), [
    ("RGBA", "PNG"), ("LA", "PNG"), ("RGBA", "WEBP"), ("RGBA", "TIFF"), ("LA", "TIFF"),
    ("RGBA", "TGA"), ("RGBA", "AVIF"), ("RGBA", "QOI"),
])
def test_alpha_is_composited_on_white_in_every_mode_and_format(mode: str, fmt: str):
    if fmt not in Image.SAVE:
        pytest.skip(f"this Pillow cannot write {fmt}")
    buf = io.BytesIO()
    _half_clear(mode).save(buf, fmt, **({"lossless": True} if fmt in ("WEBP", "AVIF") else {}))
    out = pixels(buf.getvalue())
    assert all(v >= 251 for v in out[0, 1])  # white (AVIF's lossless is off by a level or two)
    assert all(abs(int(v) - 60) <= 4 for v in out[0, 0])


def test_premultiplied_alpha_is_undone_then_composited():
    # A TIFF whose alpha is 'associated' (ExtraSamples = 1): colours already multiplied by
    # alpha (Pillow reads it through its RGBa raw mode). Written as RGBA, then its ExtraSamples
    # value patched from 2 to 1.
    img = Image.new("RGBA", (2, 1), (0, 0, 0, 0))
    img.putpixel((0, 0), (30, 30, 30, 128))  # premultiplied: 60 at half opacity
    buf = io.BytesIO()
    img.save(buf, "TIFF")
    entry = struct.pack("<HHIH", 338, 3, 1, 2)  # tag ExtraSamples, SHORT, count 1, value 2
    data = buf.getvalue()
    assert data.count(entry) == 1
    data = data.replace(entry, struct.pack("<HHIH", 338, 3, 1, 1))
    out = pixels(data)
    assert tuple(out[0, 1]) == WHITE
    assert all(abs(int(v) - (60 * 128 + 255 * 127) // 255) <= 2 for v in out[0, 0])


def test_palette_alpha_and_gif_transparency():
    pal = Image.new("P", (2, 1))
    pal.putpalette([10, 20, 30, 200, 0, 0] + [0] * 762)
    pal.putpixel((1, 0), 1)
    for fmt in ("PNG", "GIF"):
        buf = io.BytesIO()
        pal.save(buf, fmt, transparency=1)
        out = pixels(buf.getvalue())
        assert tuple(out[0, 0]) == (10, 20, 30) and tuple(out[0, 1]) == WHITE, fmt


# ----------------------------------------------------------------------------- bombs


def test_img02_text_chunk_bomb_is_a_decompression_bomb():
    assert reason((CASES / "img-02.png").read_bytes())[0] == "decompression_bomb"  # truncated


def _ztxt_bomb() -> bytes:
    return _chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"\x00" * (2 * 1024 * 1024), 9))


@pytest.mark.parametrize("where", ["before_idat", "after_idat"])
def test_compressed_chunk_bombs_wherever_they_sit(where: str):
    # Before the pixels Pillow meets it while opening, after them while loading.
    data = png(np.zeros((2, 2), dtype=np.int64), 8, 0, **{where: _ztxt_bomb()})
    assert reason(data)[0] == "decompression_bomb"
    icc = _chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(b"\x00" * (2 * 1024 * 1024), 9))
    assert reason(png(np.zeros((2, 2), dtype=np.int64), 8, 0, before_idat=icc))[0] == (
        "decompression_bomb")


def test_many_text_chunks_adding_up_to_a_bomb():
    chunk = _chunk(b"zTXt", b"C\x00\x00" + zlib.compress(b"\x00" * (1024 * 1024 - 16), 9))
    data = png(np.zeros((2, 2), dtype=np.int64), 8, 0, before_idat=chunk * 66)
    assert reason(data)[0] == "decompression_bomb"


def _writable_formats() -> list[str]:
    Image.init()
    return sorted(f for f in set(Image.SAVE) & set(Image.OPEN) if f not in ("EPS",))


def _write_any(fmt: str, size: tuple[int, int]) -> bytes | None:
    """`fmt` bytes of a small picture in the first mode the format's writer takes."""
    base = Image.new("RGB", size, (200, 30, 30))
    for mode in ("RGB", "RGBA", "L", "1", "P"):
        buf = io.BytesIO()
        try:
            base.convert(mode).save(buf, fmt)
        except Exception:
            continue
        return buf.getvalue()
    return None


@pytest.mark.parametrize("fmt", _writable_formats())
def test_every_format_pillow_opens_is_decoded_and_bombs_are_named(fmt: str, monkeypatch):
    data = _write_any(fmt, (64, 48))
    if data is None:
        pytest.skip(f"no mode this Pillow writes {fmt} in")
    img = decode_image(data)
    assert img.mode == "RGB" and img.size[0] > 0
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 64 * 48 // 2 - 1)  # a bomb at 2x the limit
    assert reason(data)[0] == "decompression_bomb", fmt


# ----------------------------------------------------------------------------- formats


def test_img04_avif_is_decoded_and_found_by_the_folder_scan(tmp_path: Path):
    data = (CASES / "img-04.avif").read_bytes()
    assert decode_image(data).size == (128, 128)
    assert ".avif" in image_extensions()
    (tmp_path / "a.avif").write_bytes(data)
    (tmp_path / "b").write_bytes((CASES / "img-01.png").read_bytes())  # no extension
    (tmp_path / "c.dat").write_bytes((CASES / "img-05.jpg").read_bytes())  # a foreign one
    (tmp_path / "d.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
    (tmp_path / "notes.txt").write_text("not a photo\n")
    (tmp_path / "e.json").write_text('{"a": 1}')
    jobs, count = image_jobs(str(tmp_path))
    names = sorted(Path(j.url).name for j in jobs)
    assert names == ["a.avif", "b", "c.dat", "d.heic"] and count == 4
    assert not is_image_file(tmp_path / "notes.txt")


@pytest.mark.parametrize(("data", "name"), [
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64, "HEIF/HEIC"),
    (b"\xff\x0a\xfa\x7f" + b"\x00" * 64, "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n" + b"\x00" * 64, "JPEG XL"),
    (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
    (b"%PDF-1.7\n" + b"\x00" * 64, "PDF"),
])
def test_a_format_pillow_cannot_read_is_named(data: bytes, name: str):
    why, detail = reason(data)
    assert why == "unsupported" and detail.startswith(f"{name} image: Pillow cannot read it")


def test_damaged_avif_is_truncated_not_a_crash():
    data = bytearray((CASES / "img-04.avif").read_bytes())
    data[88] = 0  # libavif raised RuntimeError("Failed to decode image: Missing ... item")
    assert reason(bytes(data))[0] == "truncated"
    data = bytearray((CASES / "img-04.avif").read_bytes())
    data[100:300] = bytes(200)  # not even identified: damaged, not "Pillow lacks AVIF"
    assert reason(bytes(data)) == ("truncated", "AVIF image Pillow could not read (damaged?)")


def test_unknown_bytes_are_still_not_an_image():
    assert reason(b"hello world, not an image at all")[0] == "not_image"


# ----------------------------------------------------------------------------- warnings


def test_img05_warnings_are_counted_not_printed():
    data = (CASES / "img-05.jpg").read_bytes()
    warned: list[str] = []
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        img = decode_image(data, size=(32, 32), warned=warned)
        warnings.warn("not from decoding", UserWarning, stacklevel=1)
    assert img.size == (32, 32)
    assert warned == ["UserWarning: Corrupt EXIF data"]
    assert [str(w.message) for w in shown] == ["not from decoding"]  # others still shown
    again: list[str] = []
    decode_image(data, warned=again)
    assert again == warned  # every photo's warnings, not only the first time


def test_label_a_folder_of_the_cases(tmp_path: Path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("img-01.png", "img-02.png", "img-04.avif", "img-05.jpg"):
        (folder / name).write_bytes((CASES / name).read_bytes())
    (folder / "scan").write_bytes((CASES / "img-01.png").read_bytes())
    (folder / "phone.heic").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
    (folder / "notes.txt").write_text("not a photo\n")
    r = run_cli("label", "--images", str(folder), "-m", "test_rgb", "--db",
                str(tmp_path / "t.db"))
    assert r.returncode == 0, r.stderr
    assert "labeled 4 photo(s)" in r.stderr
    assert "failed: 2 (decompression_bomb 1, unsupported 1)" in r.stderr
    assert "library warnings while decoding: 1 (UserWarning: Corrupt EXIF data 1)" in r.stderr
    assert "warnings.warn" not in r.stderr and "TiffImagePlugin" not in r.stderr
