"""Truth in the tests: the bundled EfficientNet-Lite0 labels the sample photos with what they
show, through `tuilabel label` (the same loader, class index, decoding at the model's input size,
batching and top-k as VGG16), offline; and the bundled files are what they say they are.

Each photo's known class is what a person sees in it (sample_data/README.md); the model's top 5
must hold it. A wrong class order, wrong preprocessing or a broken top-k fails this."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys

import pytest
from conftest import REPO, run_cli

#: Each sample photo and the ImageNet class it shows (a person's label, not the model's).
KNOWN_CLASS = {
    "coffee.png": "espresso",
    "chelsea.png": "tabby",
    "camera.png": "tripod",
    "rocket.jpg": "missile",
    "clock_motion.png": "wall_clock",
    "grace_hopper.jpg": "military_uniform",
}


@pytest.mark.slow
def test_efficientnet_lite0_finds_each_sample_photos_known_class_in_its_top5(tmp_path):
    db = tmp_path / "sample.db"
    args = ("label", "sample_data/tweets.jsonl", "-m", "efficientnet_lite0", "--db", str(db),
            "--csv", "-")
    offline = "http://127.0.0.1:9"  # nothing may be downloaded
    env = {"KERAS_HOME": str(tmp_path / "keras"), "https_proxy": offline, "http_proxy": offline}
    first = run_cli(*args, env=env)
    assert first.returncode == 0, first.stderr
    assert f"labeled {len(KNOWN_CLASS)} photo(s) with efficientnet_lite0" in first.stderr
    assert "failed: 0" in first.stderr
    rows = {r.split(",")[1].rsplit("/", 1)[-1]: r.split(",") for r in first.stdout.splitlines()}
    assert rows.keys() == KNOWN_CLASS.keys()
    for photo, known in KNOWN_CLASS.items():
        top5 = rows[photo][2::2]
        scores = [float(s) for s in rows[photo][3::2]]
        assert len(top5) == 5 and scores == sorted(scores, reverse=True), rows[photo]
        assert known in top5, f"{photo}: {known} not in the top 5 {top5}"
    # Clear cases are clear: the top-1 of these is the known class.
    for photo in ("coffee.png", "camera.png", "grace_hopper.jpg", "rocket.jpg"):
        assert rows[photo][2] == KNOWN_CLASS[photo], rows[photo]
    again = run_cli(*args, env=env)
    assert again.returncode == 0 and again.stdout == "", again.stderr
    assert f"already in the store: {len(KNOWN_CLASS)}" in again.stderr


@pytest.mark.slow
def test_the_bundled_model_through_the_registry():
    from tuilabel.errors import ModelError
    from tuilabel.model import Classifier, imagenet_labels, load_classifier, resolve_model

    assert resolve_model("EfficientNet-Lite0")[0].kind == "bundled"
    clf = load_classifier("efficientnet_lite0")
    assert isinstance(clf, Classifier)
    assert clf.name == "efficientnet_lite0" and clf.input_size == (256, 256)
    assert tuple(clf.labels) == imagenet_labels()
    with pytest.raises(ModelError, match="does not apply to the bundled model"):
        load_classifier("efficientnet_lite0", weights="w.h5")
    # Its preprocessing is inside: the central 224x224 normalised as (x - 127) / 128.
    keras_model = clf.model  # type: ignore[attr-defined]
    assert [layer.name for layer in keras_model.layers[1:3]] == ["crop", "normalise"]
    assert keras_model.get_layer("normalise").output.shape[1:] == (224, 224, 3)


def test_the_bundled_model_ships_with_its_licence_notice():
    from tuilabel.model import BUNDLED

    data = REPO / "tuilabel" / "data"
    for entry in BUNDLED.values():
        assert (data / entry.file).stat().st_size > 1_000_000
        notice = (data / entry.notice).read_text()
        assert "Apache License" in notice and "Version 2.0" in notice
        assert (REPO / entry.script).is_file()
    text = (REPO / "pyproject.toml").read_text()
    assert '"data/*"' in text  # package data: the model and notice are installed with tuilabel


def test_sample_photos_are_the_credited_files():
    """The photos are byte-for-byte the files sample_data/README.md credits (their SHA-256 is
    pinned in scripts/make_sample_data.py), and the tweets point at all of them."""
    spec = importlib.util.spec_from_file_location("make_sample_data",
                                                  REPO / "scripts" / "make_sample_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    photos = REPO / "sample_data" / "photos"
    assert sorted(p.name for p in photos.iterdir()) == sorted(KNOWN_CLASS)
    for name, (digest, _) in module.PHOTOS_USED.items():
        assert hashlib.sha256((photos / name).read_bytes()).hexdigest() == digest, name
    readme = (REPO / "sample_data" / "README.md").read_text()
    for name, known in KNOWN_CLASS.items():
        assert name in readme and known in readme
    collect = subprocess.run(
        [sys.executable, "-m", "tuilabel", "collect", "sample_data/tweets.jsonl", "-o",
         "/dev/null"], cwd=REPO, capture_output=True, text=True)
    assert collect.returncode == 0, collect.stderr
    assert "7 records seen, 5 kept" in collect.stderr


@pytest.mark.slow
def test_the_build_script_writes_the_shipped_file_byte_for_byte(tmp_path):
    """The script's network with the shipped weights, saved the script's way, is the shipped
    file, byte for byte (the torch half of the script, which reads the .pth, is not run here:
    tuilabel's tests never import torch)."""
    from tuilabel.model import BUNDLED, _import_tf, bundled_model_path

    spec = importlib.util.spec_from_file_location(
        "build_lite0", REPO / BUNDLED["efficientnet_lite0"].script)
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    _, keras = _import_tf()
    shipped = bundled_model_path("efficientnet_lite0")
    model = build.build_keras(keras)
    model.set_weights(keras.models.load_model(shipped, compile=False).get_weights())
    model.save(tmp_path / "raw.keras")
    build.deterministic_keras_file(tmp_path / "raw.keras", tmp_path / "again.keras")
    assert (tmp_path / "again.keras").read_bytes() == shipped.read_bytes()
