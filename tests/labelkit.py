"""Shared parts of the label tests: synthetic photos with a known class, and a tiny Keras model
trained on them once per test session (cached here, not in a fixture, so that every test module
that needs it shares one training run).

The classes are colours a photo unmistakably has (a red, green or blue scene with noise and
random brightness), so the trained model's top-1 on a fresh photo is known in advance.
"""

from __future__ import annotations

import functools
import io
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("red", "green", "blue")
BASE = {"red": (200, 40, 40), "green": (40, 170, 60), "blue": (40, 70, 200)}
TINY_SIZE = 32


def photo_array(cls: str, rng: np.random.Generator, size: tuple[int, int] = (48, 64)) -> np.ndarray:
    """A height x width x 3 uint8 photo of class `cls`: its colour, brightness varied, noisy,
    with a grey stripe so it is not a flat field."""
    h, w = size
    base = np.array(BASE[cls], dtype=np.float64) * rng.uniform(0.7, 1.2)
    img = base + rng.normal(0, 25, size=(h, w, 3))
    top = rng.integers(0, h - 6)
    img[top:top + 5] = rng.uniform(90, 160)
    return np.clip(img, 0, 255).astype(np.uint8)


def encode(arr: np.ndarray, fmt: str = "JPEG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def photo_bytes(cls: str, seed: int, fmt: str = "JPEG") -> bytes:
    return encode(photo_array(cls, np.random.default_rng(seed)), fmt)


@functools.cache
def tiny_model_path() -> Path:
    """Train (once per process) a tiny CNN on 32x32 synthetic photos of CLASSES; save it as
    .keras with its classes file beside it (NAME.classes.txt). Returns the model path."""
    from tuilabel.model import _import_tf  # TensorFlow's start-up, quietly

    _, keras = _import_tf()
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    xs, ys = [], []
    for i in range(360):
        cls = CLASSES[i % 3]
        img = Image.fromarray(photo_array(cls, rng)).resize((TINY_SIZE, TINY_SIZE),
                                                            Image.Resampling.NEAREST)
        xs.append(np.asarray(img, dtype=np.float32))
        ys.append(i % 3)
    x, y = np.stack(xs), np.array(ys)
    inputs = keras.Input(shape=(TINY_SIZE, TINY_SIZE, 3))
    h = keras.layers.Rescaling(1 / 255.0)(inputs)
    h = keras.layers.Conv2D(8, 3, activation="relu")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    outputs = keras.layers.Dense(len(CLASSES), activation="softmax")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=15, batch_size=32, verbose=0)
    acc = model.evaluate(x, y, verbose=0)[1]
    assert acc > 0.98, f"tiny model failed to learn its training set ({acc:.2f})"
    out = Path(tempfile.mkdtemp(prefix="tuilabel-tiny-")) / "tiny.keras"
    model.save(out)
    out.with_name("tiny.classes.txt").write_text("\n".join(CLASSES) + "\n")
    return out
