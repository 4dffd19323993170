"""`--precision`: the model computes in bfloat16 or float16 (Keras mixed precision: float32
weights), top-1 agrees with float32 on photos of known class, near ties are computed again in
float32 (a real ImageNet model on real photos), bad values and engine options are one line;
the GPU check runs only where TensorFlow sees a GPU (none on the 2-core CI machine)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO, run_cli
from labelkit import CLASSES, TINY_SIZE, photo_array, tiny_model_path

from tuilabel.errors import ModelError
from tuilabel.model import RECHECK_MARGIN, load_classifier

pytestmark = pytest.mark.slow


def photos(n: int = 30) -> tuple[np.ndarray, list[int]]:
    from PIL import Image

    rng = np.random.default_rng(5)
    xs, ys = [], []
    for i in range(n):
        img = Image.fromarray(photo_array(CLASSES[i % 3], rng)).resize((TINY_SIZE, TINY_SIZE),
                                                                      Image.Resampling.NEAREST)
        xs.append(np.asarray(img, dtype=np.float32))
        ys.append(i % 3)
    return np.stack(xs), ys


@pytest.mark.parametrize(("precision", "dtype"),
                         [("bfloat16", "bfloat16"), ("mixed_float16", "float16")])
def test_the_model_computes_in_the_precision_and_agrees_with_float32(precision, dtype):
    x, truth = photos()
    base = load_classifier(str(tiny_model_path()))
    low = load_classifier(str(tiny_model_path()), precision=precision)
    assert low.name == base.name  # the same model, stored under the same name
    dense = [layer for layer in low.model.layers if layer.weights]
    assert dense and all(layer.compute_dtype == dtype for layer in dense)
    assert all(w.dtype == "float32" for layer in dense for w in layer.weights)
    p32, plow = base.probabilities(x), low.probabilities(x)
    assert (plow.argmax(axis=1) == p32.argmax(axis=1)).all()
    assert (p32.argmax(axis=1) == truth).all()
    assert np.abs(plow - p32).max() < 0.05  # bfloat16 keeps 8 bits of mantissa
    assert np.abs(plow - p32).max() > 0  # and it did compute in less than float32


def test_a_bad_precision_is_one_line():
    with pytest.raises(ModelError, match="--precision must be one of float32, mixed_float16"):
        load_classifier(str(tiny_model_path()), precision="int8")
    r = run_cli("label", "--images", "sample_data/photos", "--precision", "fp8", "--db",
                "/nonexistent/x.db")
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == ("tuilabel label: error: Invalid value for '--precision': 'fp8' "
                                "is not one of 'float32', 'mixed_float16', 'bfloat16'. "
                                "(see 'tuilabel label --help')")


@pytest.mark.parametrize(("args", "words"), [
    (["--engine", "spark"], "'spark' is not one of 'local', 'ray'"),
    (["--workers", "2"], "need --engine ray"),
    (["--ray-address", "auto"], "need --engine ray"),
    (["--engine", "ray", "--workers", "0"], "--workers must be at least 1"),
])
def test_engine_options_are_checked_in_one_line(args, words, tmp_path):
    r = run_cli("label", "--images", "sample_data/photos", "--db", str(tmp_path / "x.db"), *args)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and words in r.stderr


def test_on_a_gpu_the_model_runs_there():
    from tuilabel.model import _import_tf

    tf, _ = _import_tf()
    if not tf.config.list_physical_devices("GPU"):
        pytest.skip("no GPU visible to TensorFlow on this machine")
    x, truth = photos(12)
    clf = load_classifier(str(tiny_model_path()), precision="mixed_float16")
    probs = clf.probabilities(x)  # placed by TensorFlow, as both engines run it
    assert (probs.argmax(axis=1) == truth).all()
    assert tf.config.experimental.get_memory_info("GPU:0")["peak"] > 0


def real_inputs(size: tuple[int, int]) -> np.ndarray:
    """The sample photos and case img-06 as a model sees them, each also mirrored and cropped
    twice (the middle and the top-left 70%): 28 inputs of real things."""
    from PIL import Image, ImageOps

    from tuilabel.images import decode_image

    paths = sorted((REPO / "sample_data" / "photos").iterdir())
    paths.append(REPO / "tests" / "data" / "inputs" / "img-06.jpg")
    out = []
    for path in paths:
        img = decode_image(path.read_bytes())
        w, h = img.size
        for v in (img, ImageOps.mirror(img),
                  img.crop((int(w * .15), int(h * .15), int(w * .85), int(h * .85))),
                  img.crop((0, 0, int(w * .7), int(h * .7)))):
            out.append(np.asarray(v.resize((size[1], size[0]), Image.Resampling.NEAREST),
                                  dtype=np.float32))
    return np.stack(out)


def test_bfloat16_near_ties_are_computed_again_in_float32():
    base = load_classifier("efficientnet_lite0")  # real ImageNet weights, bundled
    low = load_classifier("efficientnet_lite0", precision="bfloat16")
    x = real_inputs(base.input_size)
    p32 = base.probabilities(x)
    raw = low._probabilities(x)  # bfloat16 alone
    lead = np.diff(np.sort(raw, axis=1)[:, -2:], axis=1)[:, 0]
    near = lead < RECHECK_MARGIN
    assert 0 < near.sum() < len(x)  # both kinds are here
    out = low.probabilities(x)
    assert low.rechecked == near.sum()
    np.testing.assert_array_equal(out[near], p32[near])  # float32's own rows
    np.testing.assert_array_equal(out[~near], raw[~near])  # bfloat16's
    assert np.abs(out[~near] - p32[~near]).max() > 0
    assert (out.argmax(axis=1) == p32.argmax(axis=1)).all()
