"""The classifier: bundled ImageNet names, keras.applications VGG16 (random weights: same shapes
and cost as the real ones), preprocessing, top-k, batch independence, users' own models, and
the weights rules (a bad cached file is refused and kept, never deleted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from labelkit import CLASSES, photo_array, tiny_model_path

from tuilabel.errors import ModelError
from tuilabel.model import (
    VGG16_WEIGHTS_FILE,
    VGG16_WEIGHTS_MD5,
    imagenet_labels,
    load_classifier,
    normalise_model_name,
    read_class_names,
)


@pytest.fixture(scope="module")
def vgg16():
    return load_classifier("vgg16", weights="none")


def test_imagenet_names_match_keras_index():
    names = imagenet_labels()
    assert len(names) == 1000
    # Spot checks against Keras' own imagenet_class_index.json, duplicates included.
    assert names[0] == "tench"
    assert names[134] == names[517] == "crane"
    assert names[638] == names[639] == "maillot"
    assert names[207] == "golden_retriever"
    assert names[999] == "toilet_tissue"
    check = subprocess.run([sys.executable, "scripts/gen_imagenet_classes.py", "--check"],
                           cwd=REPO, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


@pytest.mark.slow
def test_vgg16_random_weights_shapes_topk_and_preprocessing(vgg16):
    assert vgg16.name == "vgg16-random"
    assert vgg16.input_size == (224, 224)
    assert len(vgg16.labels) == 1000
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, size=(3, 224, 224, 3)).astype(np.float32)
    for k in (1, 5, 10):
        preds = vgg16.predict(x, k)
        assert len(preds) == 3 and all(len(p) == k for p in preds)
        for p in preds:
            scores = [s for _, s in p]
            assert scores == sorted(scores, reverse=True)
            assert all(0.0 <= s <= 1.0 for s in scores)
            assert all(label in vgg16.labels for label, _ in p)
    probs = vgg16.probabilities(x)
    assert probs.shape == (3, 1000)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    # VGG16's preprocessing ("caffe": RGB->BGR, ImageNet means subtracted) happens inside:
    # the raw Keras model fed the hand-preprocessed batch gives the same probabilities.
    by_hand = x[..., ::-1] - np.array([103.939, 116.779, 123.68], dtype=np.float32)
    raw = np.asarray(vgg16.model(by_hand, training=False))
    np.testing.assert_allclose(probs, raw, rtol=1e-4, atol=1e-6)
    # ...and differs from feeding unpreprocessed pixels (so the check above can fail).
    assert not np.allclose(probs, np.asarray(vgg16.model(x, training=False)), atol=1e-6)


@pytest.mark.slow
def test_batch_scores_equal_alone(vgg16):
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 255, size=(4, 224, 224, 3)).astype(np.float32)
    together = vgg16.probabilities(x)
    for i in range(len(x)):
        alone = vgg16.probabilities(x[i:i + 1])[0]
        np.testing.assert_allclose(together[i], alone, rtol=1e-4, atol=1e-7)


@pytest.mark.slow
def test_tiny_user_model_top1_and_classes_file():
    clf = load_classifier(str(tiny_model_path()))
    assert clf.name == "tiny" and clf.labels == CLASSES and clf.input_size == (32, 32)
    rng = np.random.default_rng(7)
    from PIL import Image

    for cls in CLASSES:
        img = Image.fromarray(photo_array(cls, rng)).resize((32, 32), Image.Resampling.NEAREST)
        top = clf.predict(np.asarray(img, dtype=np.float32)[None], k=3)[0]
        assert top[0][0] == cls
        assert {label for label, _ in top} == set(CLASSES)


@pytest.mark.slow
def test_user_model_logits_become_probabilities(tmp_path):
    from tuilabel.model import _import_tf

    _, keras = _import_tf()
    inputs = keras.Input(shape=(8, 8, 3))
    h = keras.layers.GlobalAveragePooling2D()(inputs)
    outputs = keras.layers.Dense(4, kernel_initializer="ones")(h)  # logits, no softmax
    path = tmp_path / "logits.keras"
    keras.Model(inputs, outputs).save(path)
    names = tmp_path / "names.txt"
    names.write_text("# four classes\na\nb\n\nc\nd\n")
    clf = load_classifier(str(path), classes=names)
    probs = clf.probabilities(np.full((2, 8, 8, 3), 200.0, dtype=np.float32))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    assert (probs >= 0).all() and (probs <= 1).all()


def test_class_names_file_formats(tmp_path):
    (tmp_path / "a.txt").write_text("cat\n# comment\ndog\n")
    (tmp_path / "b.json").write_text('{"0": ["n1", "cat"], "1": ["n2", "dog"]}')
    (tmp_path / "c.json").write_text('["cat", "dog"]')
    for name in ("a.txt", "b.json", "c.json"):
        assert read_class_names(tmp_path / name) == ["cat", "dog"]
    with pytest.raises(ModelError, match="not found"):
        read_class_names(tmp_path / "missing.txt")


def test_model_errors_are_one_line():
    with pytest.raises(ModelError, match="unknown model 'vgg17'"):
        load_classifier("vgg17")
    with pytest.raises(ModelError, match="no model file"):
        load_classifier("nowhere/model.keras")
    assert normalise_model_name("MobileNetV2") == "mobilenet_v2"
    assert normalise_model_name("efficientnet-b0") == "efficientnet_b0"


def test_bad_cached_vgg16_file_is_refused_and_kept(tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    bad = models / VGG16_WEIGHTS_FILE
    bad.write_bytes(b"not the weights, but the user's file")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(ModelError) as info:
        load_classifier("vgg16")
    msg = str(info.value)
    assert "\n" not in msg
    assert str(bad) in msg and VGG16_WEIGHTS_MD5 in msg and "--weights" in msg
    assert bad.read_bytes() == b"not the weights, but the user's file"


@pytest.mark.slow
def test_bad_weights_file_option_is_refused_and_kept(tmp_path):
    junk = tmp_path / "my_weights.h5"
    junk.write_bytes(b"\x89HDF junk")
    with pytest.raises(ModelError, match="cannot build vgg16"):
        load_classifier("vgg16", weights=str(junk))
    assert junk.read_bytes() == b"\x89HDF junk"
    with pytest.raises(ModelError, match="weights file not found"):
        load_classifier("vgg16", weights=str(tmp_path / "absent.h5"))


@pytest.mark.slow
def test_bad_cached_file_without_keras_checksum_is_kept(tmp_path, monkeypatch):
    # MobileNetV2's download has no checksum in Keras: the guard serves the cached file as is
    # and reports the failure to load it, leaving the file where it is.
    models = tmp_path / "models"
    models.mkdir()
    bad = models / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5"
    bad.write_bytes(b"junk")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(ModelError, match="mobilenet_v2") as info:
        load_classifier("mobilenet_v2")
    assert str(bad) in str(info.value)
    assert bad.read_bytes() == b"junk"


def test_core_modules_do_not_import_tensorflow():
    code = (
        "import sys, tuilabel.model, tuilabel.pipeline, tuilabel.cli.label; "
        "bad = [m for m in ('tensorflow', 'keras', 'textual') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
def test_user_model_with_a_weights_file(tmp_path):
    clf = load_classifier(str(tiny_model_path()))
    weights = tmp_path / "retrained.weights.h5"
    clf.model.save_weights(weights)
    again = load_classifier(str(tiny_model_path()), weights=str(weights))
    assert again.name == "tiny+retrained.weights"  # never mixed with the plain model's rows
    x = np.random.default_rng(3).uniform(0, 255, size=(2, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(again.probabilities(x), clf.probabilities(x), rtol=1e-6)
    with pytest.raises(ModelError, match="--weights none applies to keras.applications"):
        load_classifier(str(tiny_model_path()), weights="none")


def test_class_names_longer_than_the_store_keeps_are_refused(tmp_path):
    from tuilabel.errors import ModelError
    from tuilabel.model import read_class_names

    f = tmp_path / "names.txt"
    f.write_text("cat\n" + "x" * 256 + "\n")
    with pytest.raises(ModelError, match="over 255 characters"):
        read_class_names(f)
    f.write_text("cat\ndog\n")
    assert read_class_names(f) == ["cat", "dog"]


@pytest.mark.slow
def test_mobilenet_v3_gets_a_fixed_input_size():
    """Keras builds MobileNetV3 for any input size unless told; tuilabel asks for 224."""
    from tuilabel.model import load_classifier

    clf = load_classifier("mobilenet_v3_small", weights="none")
    assert clf.input_size == (224, 224)
    [preds] = clf.predict(np.zeros((1, 224, 224, 3), np.float32), k=3)
    assert len(preds) == 3


@pytest.mark.slow
def test_a_model_name_longer_than_the_store_keeps_is_refused_at_load(tmp_path):
    from tuilabel.errors import ModelError
    from tuilabel.model import load_classifier

    weights = tmp_path / ("w" * 200 + ".weights.h5")
    load_classifier("mobilenet_v3_small", weights="none").model.save_weights(weights)
    with pytest.raises(ModelError, match="over 191 characters"):
        load_classifier("mobilenet_v3_small", weights=str(weights))


# -- the registry ------------------------------------------------------------------------------
def test_every_kind_of_model_is_found_through_one_table(tmp_path):
    from tuilabel.model import FILE_SOURCE, MODEL_SOURCES, resolve_model

    kinds = {source.kind: source for source in MODEL_SOURCES}
    assert resolve_model("VGG16") == (kinds["keras.applications"], "vgg16")
    assert resolve_model("mobilenet-v2")[1] == "mobilenet_v2"
    assert resolve_model("test_rgb") == (kinds["numpy"], "test_rgb")
    assert resolve_model("some/dir/model.keras") == (FILE_SOURCE, "some/dir/model.keras")
    (tmp_path / "mine").write_bytes(b"x")  # an existing file named without a suffix
    assert resolve_model(str(tmp_path / "mine"))[0] is FILE_SOURCE
    with pytest.raises(ModelError) as info:
        resolve_model("vgg17")
    msg = str(info.value)
    assert "\n" not in msg and "keras.applications: " in msg and "test_rgb" in msg


def test_the_numpy_classifier_needs_no_tensorflow():
    code = (
        "import sys, numpy as np; from tuilabel.model import Classifier, load_classifier; "
        "c = load_classifier('test_rgb'); assert isinstance(c, Classifier), type(c); "
        "x = np.zeros((2, *c.input_size, 3), np.float32); x[0, ..., 0] = 200; x[1, ..., 2] = 90; "
        "p = c.predict(x, k=2); print(p[0][0][0], p[1][0][0], len(p[0])); "
        "print([m for m in ('tensorflow', 'keras') if m in sys.modules])"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["red blue 2", "[]"]


def test_rgb_classifier_scores_follow_the_channel_means():
    from tuilabel.numpy_models import RgbClassifier

    clf = RgbClassifier(input_size=(4, 4))
    x = np.zeros((3, 4, 4, 3), np.float32)
    x[0] = (150, 100, 100)  # red 50 levels above the others
    x[1] = (10, 60, 10)
    x[2, :2] = (0, 0, 255)  # half the photo blue
    probs = clf.probabilities(x)
    assert probs[0].argmax() == 0 and probs[1].argmax() == 1 and probs[2].argmax() == 2
    expected = np.exp(50 / 16) / (np.exp(50 / 16) + 2)  # softmax of means / 16
    assert probs[0, 0] == pytest.approx(expected)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    np.testing.assert_allclose(clf.probabilities(x[1:2])[0], probs[1])  # batch-independent
    with pytest.raises(ValueError, match="expected"):
        clf.probabilities(np.zeros((1, 5, 5, 3)))


def test_a_model_spec_pickles_and_names_the_files_a_worker_needs(tmp_path):
    import pickle

    from tuilabel.model import ModelSpec

    spec = pickle.loads(pickle.dumps(ModelSpec("test_rgb")))
    assert spec.load().predict(np.zeros((1, 32, 32, 3), np.float32), k=1)[0][0][0] == "red"
    assert spec.local_files() == []
    mine = tmp_path / "mine.keras"
    assert ModelSpec(str(mine)).local_files() == [mine, tmp_path / "mine.classes.txt"]
    assert ModelSpec(str(mine), classes="c.txt", weights="w.h5").local_files() == [
        mine, Path("c.txt"), Path("w.h5")]
    assert ModelSpec("vgg16", weights="none").local_files() == []
    with pytest.raises(ModelError, match="do not apply to test_rgb"):
        ModelSpec("test_rgb", weights="w.h5").load()
