"""decode_image: every input kind becomes the right RGB pixels, the right way up, the right size."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image
from PIL.JpegImagePlugin import JpegImageFile

from tuilabel.images import DecodeError, decode_image


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature + IHDR claiming width x height, with one tiny IDAT and IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def px(img: Image.Image, x: int, y: int) -> tuple[int, int, int]:
    return img.getpixel((x, y))


def close(a, b, tol=6) -> bool:
    return all(abs(int(p) - int(q)) <= tol for p, q in zip(a, b, strict=True))


# -- modes ---------------------------------------------------------------------------------


def test_rgb_png_roundtrip_exact():
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (12, 20, 3), dtype=np.uint8)
    img = decode_image(encode(Image.fromarray(arr), "PNG"))
    assert img.mode == "RGB" and img.size == (20, 12)
    assert np.array_equal(np.asarray(img), arr)


def test_greyscale_becomes_three_equal_channels():
    img = decode_image(encode(Image.new("L", (5, 4), 77), "PNG"))
    assert img.mode == "RGB" and px(img, 2, 2) == (77, 77, 77)


def test_cmyk_jpeg():
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red in CMYK
    img = decode_image(encode(cmyk, "JPEG", quality=95))
    assert img.mode == "RGB"
    assert close(px(img, 8, 8), (255, 0, 0), tol=12)


def test_palette_with_transparency_on_white():
    pal = Image.new("P", (10, 10), 0)
    pal.putpalette([0, 0, 255] + [255, 0, 0] + [0] * (254 * 3))  # 0 blue, 1 red
    for x in range(5):
        for y in range(10):
            pal.putpixel((x, y), 1)
    data = encode(pal, "PNG", transparency=0)  # index 0 (blue) is transparent
    img = decode_image(data)
    assert img.mode == "RGB"
    assert px(img, 2, 5) == (255, 0, 0)
    assert px(img, 8, 5) == (255, 255, 255)  # transparent: white, not blue


def test_palette_without_transparency_keeps_colours():
    pal = Image.new("RGB", (6, 6), (10, 120, 200)).convert("P", palette=Image.Palette.ADAPTIVE)
    assert close(px(decode_image(encode(pal, "PNG")), 3, 3), (10, 120, 200), tol=2)


def test_rgba_composited_on_white():
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    for y in range(10):
        rgba.putpixel((0, y), (0, 200, 0, 255))  # opaque green column
        rgba.putpixel((1, y), (0, 0, 0, 128))  # half-transparent black
    img = decode_image(encode(rgba, "PNG"))
    assert px(img, 0, 0) == (0, 200, 0)
    assert close(px(img, 1, 0), (127, 127, 127), tol=2)
    assert px(img, 5, 5) == (255, 255, 255)  # Keras would give black here


def test_la_composited_on_white():
    la = Image.new("LA", (4, 4), (0, 0))
    la.putpixel((0, 0), (50, 255))
    img = decode_image(encode(la, "PNG"))
    assert px(img, 0, 0) == (50, 50, 50) and px(img, 3, 3) == (255, 255, 255)


def test_16_bit_greyscale_is_scaled_not_clipped():
    arr = np.array([[0, 256, 32768, 65535]], dtype=np.uint16)
    src = Image.fromarray(arr)
    assert src.mode.startswith("I;16")
    img = decode_image(encode(src, "PNG"))
    assert [px(img, x, 0)[0] for x in range(4)] == [0, 1, 128, 255]
    assert px(img, 2, 0) == (128, 128, 128)


def test_animated_gif_uses_first_frame():
    frames = [Image.new("RGB", (8, 8), c) for c in [(255, 0, 0), (0, 0, 255), (0, 255, 0)]]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    img = decode_image(data)
    assert img.mode == "RGB" and close(px(img, 4, 4), (255, 0, 0), tol=2)


def two_tone(w: int, h: int) -> Image.Image:
    """Left half red, right half blue."""
    img = Image.new("RGB", (w, h), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, w // 2, h))
    return img


@pytest.mark.parametrize(
    ("orientation", "top", "bottom"),
    [(6, (255, 0, 0), (0, 0, 255)), (8, (0, 0, 255), (255, 0, 0))],
)
def test_exif_orientation_applied(orientation, top, bottom):
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(two_tone(40, 20), "JPEG", quality=95, exif=exif.tobytes())
    img = decode_image(data)
    # 6: rotate 90 clockwise to display, so the left (red) half ends on top; 8: the reverse.
    assert img.size == (20, 40)
    assert close(px(img, 10, 5), top, tol=30)
    assert close(px(img, 10, 35), bottom, tol=30)


def test_exif_orientation_then_resize_non_square():
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(two_tone(800, 400), "JPEG", quality=95, exif=exif.tobytes())
    img = decode_image(data, size=(60, 30))  # (height, width)
    assert img.size == (30, 60)
    assert close(px(img, 15, 10), (255, 0, 0), tol=30)
    assert close(px(img, 15, 50), (0, 0, 255), tol=30)


# -- resizing ------------------------------------------------------------------------------


def test_size_is_height_width_and_exact():
    img = decode_image(encode(Image.new("RGB", (33, 17), (1, 2, 3)), "PNG"), size=(224, 100))
    assert img.size == (100, 224)
    assert np.asarray(img).shape == (224, 100, 3)


def test_resize_matches_keras_load_img(tmp_path):
    """Same pixels as keras.utils.load_img(target_size=...) for an RGB PNG (nearest)."""
    load_img = pytest.importorskip("keras.utils").load_img
    rng = np.random.default_rng(1)
    arr = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    path = tmp_path / "r.png"
    Image.fromarray(arr).save(path)
    for size in [(24, 24), (64, 40), (37, 53)]:
        ours = np.asarray(decode_image(path.read_bytes(), size=size))
        theirs = np.asarray(load_img(path, target_size=size))
        assert ours.shape == (*size, 3)
        assert np.array_equal(ours, theirs), size


def test_large_jpeg_uses_draft_only_when_asked_to_be_fast(monkeypatch):
    calls = []
    real_draft = JpegImageFile.draft

    def spy(self, mode, size):
        result = real_draft(self, mode, size)
        calls.append((size, self.size))
        return result

    monkeypatch.setattr(JpegImageFile, "draft", spy)
    data = encode(two_tone(1600, 1200), "JPEG", quality=90)
    assert decode_image(data, size=(224, 224)).size == (224, 224)
    assert calls == []  # the default decodes every pixel, as keras.utils.load_img does
    img = decode_image(data, size=(224, 224), fast=True)
    assert img.size == (224, 224)
    ((requested, reduced),) = calls
    assert requested == (224, 224)
    assert reduced == (400, 300)  # DCT-scaled by 1/4 before any pixel was decoded
    assert close(px(img, 20, 112), (255, 0, 0), tol=30)
    assert close(px(img, 200, 112), (0, 0, 255), tol=30)


def test_no_draft_without_size():
    img = decode_image(encode(two_tone(1600, 1200), "JPEG"))
    assert img.size == (1600, 1200)


# -- failures ------------------------------------------------------------------------------


def reason(data: bytes, **kw) -> str:
    with pytest.raises(DecodeError) as info:
        decode_image(data, **kw)
    return info.value.reason


def test_empty():
    assert reason(b"") == "empty"


@pytest.mark.parametrize(
    "data",
    [b"<!DOCTYPE html><html></html>", b'{"errors":[{"code":34}]}', b"\x00" * 100, b"GIF"],
)
def test_not_an_image(data):
    assert reason(data) == "not_image"


def test_truncated_jpeg():
    data = encode(Image.effect_noise((300, 200), 60).convert("RGB"), "JPEG")
    assert reason(data[: len(data) // 2]) == "truncated"
    assert reason(data[: len(data) // 2], size=(32, 32)) == "truncated"


def test_truncated_png():
    data = encode(Image.effect_noise((300, 200), 60).convert("RGB"), "PNG")
    assert reason(data[: len(data) // 2]) == "truncated"


@pytest.mark.parametrize("side", [10_000, 20_000])  # warning range and error range of Pillow
def test_decompression_bomb(side):
    assert side * side > Image.MAX_IMAGE_PIXELS
    assert reason(png_header_only(side, side)) == "decompression_bomb"
    assert reason(png_header_only(side, side), size=(8, 8)) == "decompression_bomb"


def test_bomb_warning_is_an_error_even_with_warnings_ignored():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert reason(png_header_only(10_000, 10_000)) == "decompression_bomb"


def test_just_under_the_limit_is_fine(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 64 * 64)
    assert decode_image(encode(Image.new("RGB", (64, 64)), "PNG")).size == (64, 64)
    assert reason(encode(Image.new("RGB", (65, 64)), "PNG")) == "decompression_bomb"


def test_32_bit_integer_images_of_each_range():
    for values, expected in [
        ([0, 100, 255], [0, 100, 255]),  # 8-bit data held in mode I
        ([0, 256, 65535], [0, 1, 255]),  # 16-bit data
        ([0, 1 << 20, 1 << 24], [0, 15, 255]),  # wider: scaled by the peak
    ]:
        src = Image.fromarray(np.array([values], dtype=np.int32), "I")
        img = decode_image(encode(src, "TIFF"))
        assert [px(img, x, 0)[0] for x in range(3)] == expected, values


def test_webp_with_alpha():
    from PIL import features

    if not features.check("webp"):
        pytest.skip("this Pillow has no WebP")
    rgba = Image.new("RGBA", (8, 8), (10, 20, 30, 0))
    rgba.putpixel((0, 0), (10, 20, 200, 255))
    img = decode_image(encode(rgba, "WEBP", lossless=True))
    assert px(img, 5, 5) == (255, 255, 255) and px(img, 0, 0) == (10, 20, 200)


def test_unexpected_pillow_errors_become_decode_errors(monkeypatch):
    from PIL import PngImagePlugin

    def broken_load(self):
        raise KeyError("odd chunk")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", broken_load)
    assert reason(encode(Image.new("RGB", (4, 4)), "PNG")) == "unsupported"
