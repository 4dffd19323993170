"""`--precision`: the model computes in bfloat16 or float16 (Keras mixed precision: float32
weights), top-1 agrees with float32 on photos of known class, bad values and engine options are
one line; the GPU check runs only where TensorFlow sees a GPU (none on the 2-core CI machine)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import run_cli
from labelkit import CLASSES, TINY_SIZE, photo_array, tiny_model_path

from tuilabel.errors import ModelError
from tuilabel.model import load_classifier

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
