"""Train the small bundled demo model: the share of a photo's pixels in each colour family.

Why: VGG16's ImageNet weights are a 528 MB download, and some machines cannot fetch them. The
demo model lets anyone try the whole workflow (label, score, roc) offline, and what it says is
true of the photo: its scores estimate the fraction of the photo's pixels in each of 11 colour
families (black, white, grey, red, orange, yellow, green, cyan, blue, purple, pink), so its top-1
is the photo's dominant colour. It is NOT an object classifier.

How: the families are defined by an exact rule on each pixel's HSV value (`colour_family`). A
per-pixel network (1x1 convolutions) is trained on random pixels labelled by the rule, then
wrapped as a Keras model that takes a 128x128 RGB photo (0..255), classifies every pixel and
averages: the output is the estimated colour share, summing to 1. Deterministic (fixed seeds,
TensorFlow op determinism); takes under a minute on 2 CPU cores.

Run: .venv/bin/python scripts/train_demo_model.py [--out sample_data/demo_model.keras]
It writes the model and NAME.classes.txt next to it (where `tuilabel label -m` finds them),
and prints the pixel accuracy on held-out random pixels and the share error on the sample photos.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CLASSES = (
    "black", "white", "grey", "red", "orange", "yellow", "green", "cyan", "blue", "purple",
    "pink",
)
INPUT_SIZE = 128
SEED = 0


def rgb_to_hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hue in degrees [0, 360), saturation and value in [0, 1], for float RGB in [0, 255]."""
    x = rgb.astype(np.float64) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    mx = x.max(axis=-1)
    mn = x.min(axis=-1)
    delta = mx - mn
    safe = np.where(delta == 0, 1.0, delta)
    h = np.where(
        mx == r, ((g - b) / safe) % 6, np.where(mx == g, (b - r) / safe + 2, (r - g) / safe + 4)
    )
    h = np.where(delta == 0, 0.0, h * 60.0) % 360.0
    s = np.where(mx == 0, 0.0, delta / np.where(mx == 0, 1.0, mx))
    return h, s, mx


def colour_family(rgb: np.ndarray) -> np.ndarray:
    """The colour family (index into CLASSES) of each pixel: the rule the model learns."""
    h, s, v = rgb_to_hsv(rgb)
    hue_bins = np.select(
        [h < 15, h < 40, h < 70, h < 165, h < 195, h < 255, h < 290, h < 345],
        [3, 4, 5, 6, 7, 8, 9, 10],
        default=3,
    )
    grey_bins = np.where(v > 0.85, 1, 2)
    out = np.where(s < 0.2, grey_bins, hue_bins)
    return np.where(v < 0.2, 0, out).astype(np.int64)


def colour_shares(rgb: np.ndarray) -> np.ndarray:
    """The exact share of each family among an image's pixels (the model's target)."""
    fam = colour_family(rgb.reshape(-1, 3))
    return np.bincount(fam, minlength=len(CLASSES)) / fam.size


def training_pixels(n: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform random colours, plus extra pixels near the grey axis and in the dark, where the
    family boundaries are densest."""
    uniform = rng.uniform(0, 255, size=(n, 3))
    base = rng.uniform(0, 255, size=(n // 2, 1))
    greyish = np.clip(base + rng.normal(0, 25, size=(n // 2, 3)), 0, 255)
    dark = rng.uniform(0, 80, size=(n // 4, 3))
    return np.concatenate([uniform, greyish, dark]).astype(np.float32)


def build(keras, input_shape) -> object:
    """The per-pixel classifier with per-image averaging."""
    inputs = keras.Input(shape=input_shape)
    x = keras.layers.Rescaling(1.0 / 255.0)(inputs)
    x = keras.layers.Conv2D(48, 1, activation="relu", name="pixel_1")(x)
    x = keras.layers.Conv2D(48, 1, activation="relu", name="pixel_2")(x)
    x = keras.layers.Conv2D(len(CLASSES), 1, name="pixel_logits")(x)
    x = keras.layers.Softmax(axis=-1)(x)
    outputs = keras.layers.GlobalAveragePooling2D(name="colour_share")(x)
    return keras.Model(inputs, outputs, name="colour_share")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "sample_data" / "demo_model.keras"))
    parser.add_argument("--pixels", type=int, default=400_000)
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(SEED)
    x = training_pixels(args.pixels, rng)
    y = colour_family(x)
    order = rng.permutation(len(x))
    x, y = x[order], y[order]

    # Train on 1x1 "images" (one pixel each): the same layers then run over whole photos.
    trainer = build(keras, (1, 1, 3))
    trainer.compile(optimizer=keras.optimizers.Adam(3e-3),
                    loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    trainer.fit(x.reshape(-1, 1, 1, 3), y, batch_size=2048, epochs=args.epochs, verbose=2,
                shuffle=False)

    held = training_pixels(60_000, np.random.default_rng(SEED + 1))
    acc = float(np.mean(
        trainer.predict(held.reshape(-1, 1, 1, 3), verbose=0, batch_size=8192).argmax(1)
        == colour_family(held)
    ))

    model = build(keras, (INPUT_SIZE, INPUT_SIZE, 3))
    model.set_weights(trainer.get_weights())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    classes_path = out.with_name(out.stem + ".classes.txt")
    classes_path.write_text("\n".join(CLASSES) + "\n", encoding="utf-8")
    print(f"pixel accuracy on held-out random pixels: {acc:.4f}", file=sys.stderr)

    # How close the shares are on the sample photos, decoded as `tuilabel label` decodes them.
    sys.path.insert(0, str(REPO))
    from tuilabel.images import decode_image

    photos = sorted((REPO / "sample_data" / "photos").glob("*.*"))
    for photo in photos:
        pixels = np.asarray(
            decode_image(photo.read_bytes(), size=(INPUT_SIZE, INPUT_SIZE)), dtype=np.float32
        )
        predicted = model.predict(pixels[None], verbose=0)[0]
        exact = colour_shares(pixels)
        top = CLASSES[int(predicted.argmax())]
        print(f"{photo.name}: top-1 {top} ({predicted.max():.2f}); exact dominant "
              f"{CLASSES[int(exact.argmax())]} ({exact.max():.2f}); "
              f"mean |share error| {np.abs(predicted - exact).mean():.4f}", file=sys.stderr)
    print(f"wrote {out} ({out.stat().st_size} bytes) and {classes_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
