"""The keras.applications path feeds each model what the Keras documentation's snippet feeds it,
bit for bit: `keras.utils.load_img(path, target_size=size)`, `img_to_array`, the model's
`preprocess_input`. Checked on real JPEGs, where `Image.draft()` used to change the input
(case img-06: 89 levels on 44% of the pixels at 224x224); the faster decode that does so is
now only the explicit `fast=True`."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import REPO

from tuilabel.images import Fetcher, decode_image, load_for_model

JPEGS = [REPO / "tests" / "data" / "inputs" / "img-06.jpg",
         REPO / "sample_data" / "photos" / "grace_hopper.jpg",
         REPO / "sample_data" / "photos" / "rocket.jpg"]
SIZES = [(224, 224), (256, 256), (299, 299), (331, 331), (120, 160)]


def keras_snippet(path, size) -> np.ndarray:
    from keras.utils import img_to_array, load_img

    return img_to_array(load_img(path, target_size=size))


@pytest.mark.parametrize("path", JPEGS, ids=lambda p: p.name)
def test_jpeg_pixels_equal_the_keras_snippet_bit_for_bit(path):
    fetcher = Fetcher(cache_dir=None)
    for size in SIZES:
        theirs = keras_snippet(path, size)
        ours = load_for_model(fetcher, str(path), size)
        assert ours.dtype == theirs.dtype == np.float32 and ours.shape == (*size, 3)
        assert np.array_equal(ours, theirs), (path.name, size)


def test_img06_fast_decode_is_the_one_that_differs():
    """The case as filed: at 224x224 the draft-decoded input differs from Keras' on many
    pixels; the default does not differ at all."""
    path = JPEGS[0]
    theirs = keras_snippet(path, (224, 224))
    fast = np.asarray(decode_image(path.read_bytes(), size=(224, 224), fast=True), np.float32)
    diff = np.abs(fast - theirs)
    assert diff.max() >= 50 and (diff.max(axis=2) > 0).mean() > 0.2
    exact = np.asarray(decode_image(path.read_bytes(), size=(224, 224)), np.float32)
    assert np.array_equal(exact, theirs)


@pytest.mark.slow
@pytest.mark.parametrize("name, module", [("vgg16", "vgg16"), ("mobilenet_v2", "mobilenet_v2"),
                                          ("densenet121", "densenet")])
def test_each_preprocessing_mode_feeds_the_model_the_snippets_array(name, module):
    """caffe (VGG16), tf (MobileNetV2) and torch (DenseNet121) modes of preprocess_input: the
    array the Keras model receives equals the snippet's, bit for bit."""
    import keras

    from tuilabel.model import load_classifier

    clf = load_classifier(name, weights="none")
    preprocess_input = getattr(keras.applications, module).preprocess_input
    fetcher = Fetcher(cache_dir=None)
    for path in JPEGS:
        snippet = preprocess_input(np.expand_dims(keras_snippet(path, clf.input_size), 0))
        ours = clf.model_input(load_for_model(fetcher, str(path), clf.input_size)[None])
        assert np.array_equal(ours, snippet), (name, path.name)
