"""The image classifier behind one small Protocol, so the pipeline and the TUI never see TensorFlow.

`load_classifier()` finds `-m NAME` in one table, `MODEL_SOURCES`, whose rows build:

* a model bundled with tuilabel (`efficientnet_lite0`: real ImageNet weights, no download);
* a `keras.applications` ImageNet model by name (`vgg16`, the default, `resnet50`,
  `mobilenet_v2`, `efficientnet_b0`, ...), each with its own input size and `preprocess_input`,
  labelled with the 1000 ImageNet class names bundled in `tuilabel/data/` (no download);
* a user's own Keras model (`path/model.keras` with a class-names file);
* either of them with weights from a local file (`weights=PATH`), or with random weights
  (`weights="none"`: meaningless predictions at the real cost, for tests and benchmarks);
* a numpy classifier (`test_rgb`, `tuilabel.numpy_models`) that needs no TensorFlow at all.

Every row returns the `Classifier` protocol, never a Keras class, and `ModelSpec` carries what
`-m/--weights/--classes` asked for to another process (a worker) to build it there again.

Weights: Keras' own download and cache ($KERAS_HOME/models, else ~/.keras/models) is the default.
Keras deletes a cached file whose checksum does not match once its re-download fails, and
offline it raises a bare `Exception`; so tuilabel checks the cached file itself first, never
hands Keras a file it could delete, and turns every failure into one `ModelError` line that
says which file, where it was looked for, its checksum and how to provide it.

TensorFlow is imported only inside functions here: importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from tuilabel.errors import ModelError
from tuilabel.store.base import LABEL_MAX, MODEL_MAX

#: Top-k labels per photo when nobody says otherwise (the original pipeline's k).
DEFAULT_K = 5

#: What `weights=` takes to build a model with random weights (tests, benchmarks).
RANDOM_WEIGHTS = "none"

Prediction = list[tuple[str, float]]


@runtime_checkable
class Classifier(Protocol):
    """Anything that turns a batch of photos into top-k (label, score) lists.

    `predict` takes float32 pixels 0..255, RGB, shape N x H x W x 3 with (H, W) ==
    `input_size`; preprocessing happens inside. Scores are probabilities in [0, 1], best first.
    A photo's scores do not depend on the other photos in its batch.
    """

    # Read-only (properties): an implementation may hold them in narrower types (a tuple).
    @property
    def name(self) -> str: ...

    @property
    def input_size(self) -> tuple[int, int]: ...

    @property
    def labels(self) -> Sequence[str]: ...

    def predict(self, batch: np.ndarray, k: int = DEFAULT_K) -> list[Prediction]: ...


@dataclass(frozen=True)
class AppSpec:
    """One `keras.applications` ImageNet model: constructor, preprocessing module, input size."""

    constructor: str
    module: str
    input_size: int


#: The ImageNet models of keras.applications, by the name `-m` takes.
APPLICATIONS: dict[str, AppSpec] = {
    "vgg16": AppSpec("VGG16", "vgg16", 224),
    "vgg19": AppSpec("VGG19", "vgg19", 224),
    "resnet50": AppSpec("ResNet50", "resnet50", 224),
    "resnet101": AppSpec("ResNet101", "resnet", 224),
    "resnet152": AppSpec("ResNet152", "resnet", 224),
    "resnet50_v2": AppSpec("ResNet50V2", "resnet_v2", 224),
    "resnet101_v2": AppSpec("ResNet101V2", "resnet_v2", 224),
    "resnet152_v2": AppSpec("ResNet152V2", "resnet_v2", 224),
    "mobilenet": AppSpec("MobileNet", "mobilenet", 224),
    "mobilenet_v2": AppSpec("MobileNetV2", "mobilenet_v2", 224),
    "mobilenet_v3_small": AppSpec("MobileNetV3Small", "mobilenet_v3", 224),
    "mobilenet_v3_large": AppSpec("MobileNetV3Large", "mobilenet_v3", 224),
    "inception_v3": AppSpec("InceptionV3", "inception_v3", 299),
    "inception_resnet_v2": AppSpec("InceptionResNetV2", "inception_resnet_v2", 299),
    "xception": AppSpec("Xception", "xception", 299),
    "densenet121": AppSpec("DenseNet121", "densenet", 224),
    "densenet169": AppSpec("DenseNet169", "densenet", 224),
    "densenet201": AppSpec("DenseNet201", "densenet", 224),
    "nasnet_mobile": AppSpec("NASNetMobile", "nasnet", 224),
    "nasnet_large": AppSpec("NASNetLarge", "nasnet", 331),
    **{
        f"efficientnet_b{i}": AppSpec(f"EfficientNetB{i}", "efficientnet", size)
        for i, size in enumerate((224, 240, 260, 300, 380, 456, 528, 600))
    },
    **{
        f"efficientnet_v2_{v}": AppSpec(f"EfficientNetV2{v.upper()}", "efficientnet_v2", size)
        for v, size in (("b0", 224), ("b1", 240), ("b2", 260), ("b3", 300), ("s", 384),
                        ("m", 480), ("l", 480))
    },
    **{
        f"convnext_{v}": AppSpec(f"ConvNeXt{v.capitalize().replace('Xl', 'XL')}", "convnext", 224)
        for v in ("tiny", "small", "base", "large", "xlarge")
    },
}

#: VGG16's ImageNet weights as Keras caches them (file name and MD5 from keras.applications).
VGG16_WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
VGG16_WEIGHTS_MD5 = "64373286793e3c8b2b4e3219cbf3544b"
VGG16_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + VGG16_WEIGHTS_FILE
)


def normalise_model_name(name: str) -> str:
    """`MobileNetV2`, `mobilenet-v2` and `mobilenet_v2` all name the same model (any name of
    the registry, `MODEL_SOURCES`)."""
    key = name.strip().lower().replace("-", "_")
    known = model_names()
    if key in known:
        return key
    squashed = key.replace("_", "")
    for name_ in known:
        if name_.replace("_", "") == squashed:
            return name_
    return key


def looks_like_path(model: str) -> bool:
    """A `-m` value that can only be a file: it has a folder in it or a model file's suffix."""
    return os.sep in model or model.lower().endswith(MODEL_FILE_SUFFIXES)


def is_model_path(model: str) -> bool:
    """A `-m` value names a file (the user's own model) rather than a model of the registry."""
    return bool(model.strip()) and (  # Path("") is the current folder
        looks_like_path(model)
        or (Path(model).exists() and normalise_model_name(model) not in model_names())
    )


# -- class names ------------------------------------------------------------------------------
@cache
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet class names in Keras' spelling (`golden_retriever`), by index."""
    text = resources.files("tuilabel.data").joinpath("imagenet_class_index.json").read_text(
        encoding="utf-8"
    )
    index = json.loads(text)
    return tuple(index[str(i)][1] for i in range(1000))


def read_class_names(path: str | os.PathLike[str]) -> list[str]:
    """Class names from a file: one per line (blank lines and `#` comments skipped), a JSON
    list, or a Keras-style class index (`{"0": ["wnid", "name"], ...}` or `{"0": "name"}`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ModelError(f"classes file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read classes file {p}: {exc}") from None
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelError(f"classes file {p} is not valid JSON: {exc}") from None
        try:
            if isinstance(data, list):
                names = [str(x) for x in data]
            else:
                names = []
                for i in range(len(data)):
                    v = data[str(i)]
                    names.append(str(v[-1] if isinstance(v, list) else v))
        except (KeyError, IndexError, TypeError):
            raise ModelError(
                f'classes file {p}: expected a JSON list or {{"0": ..., "1": ...}}'
            ) from None
    else:
        names = [
            line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
        ]
    if not names:
        raise ModelError(f"classes file {p} holds no class names")
    too_long = [n for n in names if len(n) > LABEL_MAX]
    if too_long:
        raise ModelError(f"classes file {p}: {len(too_long)} class name(s) over {LABEL_MAX} "
                         "characters, more than the store keeps")
    return names


# -- weights ----------------------------------------------------------------------------------
def keras_cache_dirs() -> list[Path]:
    """Where Keras keeps downloaded weights, in the order it uses them: $KERAS_HOME/models (or
    ~/.keras/models), then /tmp/.keras/models, which Keras falls back to when the first is not
    writable."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    dirs = [Path(os.path.expanduser(home)) / "models"]
    tmp = Path("/tmp/.keras/models")
    if tmp not in dirs:
        dirs.append(tmp)
    return dirs


def file_md5(path: Path) -> str:
    """The file's MD5 (hex), read in chunks by `hashlib.file_digest`."""
    with path.open("rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.md5(usedforsecurity=False)).hexdigest()


def file_digest(path: Path, expected: str) -> str:
    """The file's MD5, or SHA-256 when `expected` has SHA-256's length (Keras uses both)."""
    if len(expected) == 64:
        with path.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    return file_md5(path)


def _how_to_provide(fname: str, where: Path, origin: str | None) -> str:
    url = f" from {origin}" if origin else ""
    return (
        f"download it{url} on a machine with network access and copy it to {where / fname} "
        f"(or set KERAS_HOME), or pass --weights FILE"
    )


def missing_weights_error(
    model: str, fname: str, checksum: str | None, origin: str | None, reason: str
) -> ModelError:
    looked = " and ".join(str(d) for d in keras_cache_dirs())
    algo = "SHA-256" if checksum and len(checksum) == 64 else "MD5"
    check = f" ({algo} {checksum})" if checksum else ""
    return ModelError(
        f"{model} ImageNet weights not available: {fname}{check} is not in {looked} and "
        f"could not be downloaded ({reason}); "
        + _how_to_provide(fname, keras_cache_dirs()[0], origin)
    )


def cached_weights(fname: str, checksum: str | None, model: str, origin: str | None) -> Path | None:
    """The verified cached file `fname`, or None when it is not cached.

    A cached file whose checksum does not match raises ModelError and is left where it is
    (Keras would try to re-download it and delete it when that fails)."""
    for d in keras_cache_dirs():
        path = d / fname
        if path.is_file():
            if checksum:
                algo = "SHA-256" if len(checksum) == 64 else "MD5"
                actual = file_digest(path, checksum)
                if actual != checksum:
                    raise ModelError(
                        f"{model} weights file {path} has {algo} {actual}, expected {checksum} "
                        f"(incomplete or a different file; left untouched); replace it: "
                        f"{_how_to_provide(fname, d, origin)}"
                    )
            return path
    return None


class _HeldBack:
    """A stream that holds Keras' "Downloading data from ..." line back until the download
    shows progress, so a download that fails at once leaves only tuilabel's one error line."""

    def __init__(self, target: Any) -> None:
        self._target = target
        self._held: list[str] = []
        self._writes = 0

    def write(self, text: str) -> int:
        self._writes += 1
        if self._writes == 1:
            self._held.append(text)
            return len(text)
        if self._held:
            self._target.write("".join(self._held))
            self._held.clear()
        return self._target.write(text)

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return bool(getattr(self._target, "isatty", lambda: False)())


@contextmanager
def _guarded_keras_downloads(model: str) -> Iterator[list[Path]]:
    """While building a keras.applications model with weights="imagenet": serve a verified
    cached file without letting Keras touch it, refuse a cached file with a wrong checksum
    (instead of Keras deleting it), and turn a failed download into one ModelError line.
    Yields the list of weight files served (filled as Keras asks for them)."""
    from keras.src.utils import file_utils

    original = file_utils.get_file
    served: list[Path] = []

    def guarded_get_file(fname=None, origin=None, *args: Any, **kwargs: Any) -> str:
        checksum = kwargs.get("file_hash") or kwargs.get("md5_hash")
        name = fname or os.path.basename(str(origin or ""))
        if name and kwargs.get("cache_subdir", "datasets") == "models" and not (
            kwargs.get("extract") or kwargs.get("untar")
        ):
            found = cached_weights(name, checksum, model, origin)
            if found is not None:
                served.append(found)
                return str(found)
        try:
            with contextlib.redirect_stdout(_HeldBack(sys.stderr)):
                downloaded = original(fname, origin, *args, **kwargs)
            served.append(Path(downloaded))
            return downloaded
        except Exception as exc:  # Keras raises a bare Exception offline
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise missing_weights_error(model, name, checksum, origin, reason) from None

    file_utils.get_file = guarded_get_file
    try:
        yield served
    except ModelError:
        raise
    except Exception as exc:
        where = f" from {served[-1]}" if served else ""
        raise ModelError(f"cannot load {model} weights{where}: {_short(exc)}") from None
    finally:
        file_utils.get_file = original


# -- TensorFlow -------------------------------------------------------------------------------
@contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for a moment: TensorFlow's C++ start-up lines
    (oneDNN notice, CUDA probing on a machine without a GPU) ignore TF_CPP_MIN_LOG_LEVEL in
    TF 2.21 and are not for users. Python exceptions still propagate. TUILABEL_DEBUG=1 keeps
    them."""
    if os.environ.get("TUILABEL_DEBUG"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_TF_READY = False


def _import_tf() -> tuple[Any, Any]:
    """Import TensorFlow and Keras quietly, and let TensorFlow probe its devices once while
    its chatter is muted."""
    global _TF_READY
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not _TF_READY:
        with _quiet_native_stderr():
            import keras
            import tensorflow as tf

            tf.config.list_logical_devices()
        _TF_READY = True
    import keras
    import tensorflow as tf

    return tf, keras


class KerasClassifier:
    """A Keras model wrapped for batch inference: the model's `preprocess_input` on the numpy
    batch (as Keras' documentation does it), then one `tf.function` over the model, traced once
    for any batch size (oneDNN on, TensorFlow's default thread counts).
    `weights_path`: the Keras-cache file its ImageNet weights came from, if any (what the Ray
    engine ships to workers)."""

    weights_path: Path | None = None

    def __init__(
        self,
        name: str,
        model: Any,
        labels: Sequence[str],
        preprocess: Callable[[Any], Any] | None = None,
        recheck: KerasClassifier | None = None,
    ) -> None:
        if len(name) > MODEL_MAX:
            raise ModelError(f"model name {name[:40]}... is over {MODEL_MAX} characters "
                             "(the store keeps 191): rename the model or weights file")
        tf, _ = _import_tf()
        shape = tuple(model.input_shape)
        if len(shape) != 4 or shape[3] != 3 or shape[1] is None or shape[2] is None:
            raise ModelError(
                f"model {name} takes input of shape {shape}; tuilabel needs (None, H, W, 3) "
                "with a fixed H and W"
            )
        n_out = model.output_shape[-1]
        if len(labels) != n_out:
            raise ModelError(
                f"model {name} has {n_out} outputs but {len(labels)} class names were given"
            )
        self.name = name
        self.model = model
        self.preprocess = preprocess
        self.labels = tuple(labels)
        self.input_size = (int(shape[1]), int(shape[2]))
        spec = tf.TensorSpec([None, *self.input_size, 3], tf.float32)

        def forward(x: Any) -> Any:
            return model(x, training=False)

        self._forward = tf.function(forward, input_signature=[spec])
        self._preprocess = preprocess
        self.recheck = recheck
        self.rechecked = 0  # photos computed again by `recheck` (see probabilities)

    def model_input(self, batch: np.ndarray) -> np.ndarray:
        """What the Keras model itself receives for `batch` (N x H x W x 3 pixels 0..255): the
        batch after the model's `preprocess_input`, applied to a numpy copy exactly as the Keras
        documentation's snippet applies it (inside a `tf.function` the same arithmetic can be
        fused and differ by one float32 ulp)."""
        x = np.array(batch, dtype=np.float32, copy=True)  # preprocess_input works in place
        if self._preprocess is None:
            return x
        return np.ascontiguousarray(self._preprocess(x), dtype=np.float32)

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """The model's class probabilities for a batch (N x classes, rows in [0, 1]).

        A row with a value outside [0, 1] is taken for logits and softmaxed (row by row, so a
        photo's scores never depend on its batch). With `recheck` (a reduced `--precision`),
        each photo whose top-1 probability leads the second by less than RECHECK_MARGIN is
        computed again by `recheck` (the float32 model) and gets its row; `rechecked` counts
        them."""
        out = self._probabilities(batch)
        if self.recheck is not None and len(out) and out.shape[1] > 1:
            two = np.partition(out, -2, axis=1)[:, -2:]
            near = (two[:, 1] - two[:, 0]) < RECHECK_MARGIN
            if near.any():
                out[near] = self.recheck.probabilities(np.asarray(batch)[near])
                self.rechecked += int(near.sum())
        return out

    def _probabilities(self, batch: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(batch, dtype=np.float32)
        if x.ndim != 4 or x.shape[1:] != (*self.input_size, 3):
            raise ValueError(
                f"batch of shape {x.shape}; expected (N, {self.input_size[0]}, "
                f"{self.input_size[1]}, 3)"
            )
        if len(x) == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        out = np.asarray(self._forward(self.model_input(x)), dtype=np.float64)
        out = out.reshape(len(x), -1)
        bad = (out < 0).any(axis=1) | (out > 1 + 1e-6).any(axis=1)
        if bad.any():
            z = out[bad] - out[bad].max(axis=1, keepdims=True)
            e = np.exp(z)
            out[bad] = e / e.sum(axis=1, keepdims=True)
        return np.clip(out, 0.0, 1.0)

    def predict(self, batch: np.ndarray, k: int = DEFAULT_K) -> list[Prediction]:
        probs = self.probabilities(batch)
        k = max(1, min(k, probs.shape[1]))
        top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        return [
            [(self.labels[j], float(row[j])) for j in idx]
            for row, idx in zip(probs, top, strict=True)
        ]


def _load_application(name: str, weights: str | None) -> KerasClassifier:
    # Keras prints download chatter on stdout, which may be carrying `--csv -`.
    with contextlib.redirect_stdout(sys.stderr):
        return _build_application(name, weights)


def _build_application(name: str, weights: str | None) -> KerasClassifier:
    spec = APPLICATIONS[name]
    tf, keras = _import_tf()
    constructor = getattr(keras.applications, spec.constructor)
    module = getattr(keras.applications, spec.module)
    preprocess = module.preprocess_input
    label_name = name
    # An explicit input shape: some models (MobileNetV3) otherwise take any size, which a
    # batch of fixed-size photos cannot be checked against.
    shape = (spec.input_size, spec.input_size, 3)

    def build(weights_arg: str | None) -> Any:
        return constructor(weights=weights_arg, input_shape=shape)

    try:
        if weights is None:
            if name == "vgg16":
                # Checked here too, with the constants the issue documents, before Keras runs.
                cached = cached_weights(VGG16_WEIGHTS_FILE, VGG16_WEIGHTS_MD5, name,
                                        VGG16_WEIGHTS_URL)
                if cached is not None:
                    model = build(str(cached))
                    clf = KerasClassifier(label_name, model, imagenet_labels(), preprocess)
                    clf.weights_path = cached
                    return clf
            with _guarded_keras_downloads(name) as served:
                model = build("imagenet")
            clf = KerasClassifier(label_name, model, imagenet_labels(), preprocess)
            clf.weights_path = served[-1] if served else None
            return clf
        elif weights.lower() == RANDOM_WEIGHTS:
            keras.utils.set_random_seed(0)
            model = build(None)
            label_name = f"{name}-random"
        else:
            path = _existing_weights_file(weights)
            model = build(str(path))
            label_name = _weights_model_name(name, path)
    except ModelError:
        raise
    except Exception as exc:  # Keras reports bad weight files with many exception types
        raise ModelError(f"cannot build {name}: {_short(exc)}") from None
    return KerasClassifier(label_name, model, imagenet_labels(), preprocess)


def _existing_weights_file(weights: str) -> Path:
    path = Path(weights).expanduser()
    if not path.is_file():
        raise ModelError(f"weights file not found: {path}")
    if not os.access(path, os.R_OK):
        raise ModelError(f"weights file is not readable: {path}")
    return path


def _weights_model_name(name: str, path: Path) -> str:
    """The stored model name for `--weights FILE`: the plain name for VGG16's official file,
    else name+file stem, so results of other weights never mix with the official ones."""
    if name == "vgg16" and path.stat().st_size > 0 and file_md5(path) == VGG16_WEIGHTS_MD5:
        return name
    return f"{name}+{path.stem}"


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def default_classes_path(model_path: Path) -> Path:
    """Where class names are looked for when `--classes` is not given: `NAME.classes.txt`."""
    return model_path.with_name(model_path.stem + ".classes.txt")


def _load_user_model(
    path_text: str, weights: str | None, classes: str | os.PathLike[str] | None
) -> KerasClassifier:
    path = Path(path_text).expanduser()
    if not path.exists():
        known = ", ".join(sorted(model_names()))
        raise ModelError(f"no model file {path} (and not a known model name: {known})")
    if path.is_dir():
        raise ModelError(f"{path} is a folder, not a Keras model file (.keras or .h5)")
    if path.suffix.lower() == ".keras" and not zipfile.is_zipfile(path):
        # Keras itself would say "File not found" of a file that is there.
        raise ModelError(f"{path} is not a Keras model: a .keras file is a zip archive")
    if classes is None:
        guess = default_classes_path(path)
        if not guess.is_file():
            raise ModelError(
                f"no class names for {path}: pass --classes FILE (one name per line) "
                f"or put them in {guess}"
            )
        classes = guess
    labels = read_class_names(classes)
    _, keras = _import_tf()
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise ModelError(f"cannot load model {path}: {_short(exc)}") from None
    name = path.stem
    if weights is not None and weights.lower() != RANDOM_WEIGHTS:
        wpath = _existing_weights_file(weights)
        try:
            model.load_weights(wpath)
        except Exception as exc:
            raise ModelError(f"cannot load weights {wpath} into {path}: {_short(exc)}") from None
        name = f"{name}+{wpath.stem}"
    elif weights is not None:
        raise ModelError("--weights none applies to keras.applications models only")
    return KerasClassifier(name, model, labels, preprocess=None)


# -- bundled models -----------------------------------------------------------------------------
@dataclass(frozen=True)
class BundledModel:
    """A model file shipped in `tuilabel/data/`: a Keras model taking RGB pixels 0..255 at its
    input size (its preprocessing inside), ImageNet's 1000 classes out, with its licence
    notice beside it and the script that rebuilds it."""

    file: str
    notice: str
    script: str


#: The models that ship with tuilabel (no download), by the name `-m` takes.
BUNDLED: dict[str, BundledModel] = {
    # EfficientNet-Lite0 (about 75% top-1 on ImageNet), Apache-2.0: input 256x256, the
    # central 224x224 cropped and normalised inside the model.
    "efficientnet_lite0": BundledModel("efficientnet_lite0.keras",
                                       "efficientnet_lite0.NOTICE.txt",
                                       "scripts/build_efficientnet_lite0.py"),
}


def bundled_model_path(name: str) -> Path:
    """The file of a bundled model (see BUNDLED). Raises ModelError when it is missing."""
    entry = BUNDLED[name]
    path = Path(str(resources.files("tuilabel.data").joinpath(entry.file)))
    if not path.is_file():
        raise ModelError(f"bundled model file {path} is missing (rebuild it with "
                         f"{entry.script}, or reinstall tuilabel)")
    return path


def _load_bundled(name: str, weights: str | None, classes: str | None) -> KerasClassifier:
    if weights is not None:
        raise ModelError(f"--weights does not apply to the bundled model {name}")
    if classes is not None:
        raise ModelError(f"--classes does not apply to {name}: it uses ImageNet's names")
    path = bundled_model_path(name)
    _, keras = _import_tf()
    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:
        raise ModelError(f"cannot load the bundled model {path}: {_short(exc)}") from None
    return KerasClassifier(name, model, imagenet_labels(), preprocess=None)


# -- numpy models (no TensorFlow) ------------------------------------------------------------------
def _numpy_models() -> dict[str, Callable[[], Classifier]]:
    from tuilabel.numpy_models import RgbClassifier

    return {"test_rgb": RgbClassifier}


#: Models in numpy alone, for tests and trying the pipeline without TensorFlow.
NUMPY_MODELS: tuple[str, ...] = ("test_rgb",)


def _load_numpy(name: str, weights: str | None, classes: str | None) -> Classifier:
    if weights is not None or classes is not None:
        raise ModelError(f"--weights and --classes do not apply to {name}")
    return _numpy_models()[name]()


def _load_application_entry(name: str, weights: str | None, classes: str | None
                            ) -> KerasClassifier:
    if classes is not None:
        raise ModelError(f"--classes applies to your own model file; {name} uses ImageNet's names")
    return _load_application(name, weights)


# -- the registry: every way `-m` names a model -----------------------------------------------
ModelBuilder = Callable[[str, str | None, str | None], Classifier]


@dataclass(frozen=True)
class ModelSource:
    """One row of MODEL_SOURCES: a kind of model that `-m` can name.

    `names()`: the names it answers to (a file source answers to paths instead);
    `build(name_or_path, weights, classes)`: the classifier, or ModelError with one line."""

    kind: str
    description: str
    names: Callable[[], Sequence[str]]
    build: ModelBuilder


#: Where `-m NAME` is looked up, in order. To add a kind of model, add a row.
MODEL_SOURCES: tuple[ModelSource, ...] = (
    ModelSource("bundled", "shipped with tuilabel, no download",
                lambda: tuple(BUNDLED), _load_bundled),
    ModelSource("keras.applications", "ImageNet weights from Keras' download cache",
                lambda: tuple(APPLICATIONS), _load_application_entry),
    ModelSource("numpy", "numpy only, no TensorFlow (tests)",
                lambda: NUMPY_MODELS, _load_numpy),
    ModelSource("file", "your own Keras model file (.keras/.h5) with a classes file",
                lambda: (), _load_user_model),
)
FILE_SOURCE = MODEL_SOURCES[-1]

#: Suffixes that make a `-m` value a file, whatever else it looks like.
MODEL_FILE_SUFFIXES = (".keras", ".h5", ".hdf5")


def model_names() -> tuple[str, ...]:
    """Every model name the registry knows (bundled, keras.applications, numpy)."""
    return tuple(n for source in MODEL_SOURCES for n in source.names())


def resolve_model(model: str) -> tuple[ModelSource, str]:
    """The source `-m model` names and the model's name in it (a path for the file source).

    A value with a folder or a model suffix in it is a file; else a known name (spelled as
    `normalise_model_name` allows); else an existing file; else ModelError listing the names."""
    if looks_like_path(model):
        return FILE_SOURCE, model
    key = normalise_model_name(model)
    for source in MODEL_SOURCES:
        if key in source.names():
            return source, key
    if model.strip() and Path(model).exists():
        return FILE_SOURCE, model
    listing = "; ".join(f"{s.kind}: {', '.join(sorted(s.names()))}"
                        for s in MODEL_SOURCES if s.names())
    raise ModelError(f"unknown model {model!r}: give a Keras model file or a known name "
                     f"({listing})")


@dataclass(frozen=True)
class ModelSpec:
    """What `-m`, `--weights` and `--classes` asked for, as plain strings: enough to build the
    same classifier again in another process (it pickles), e.g. on a worker of a cluster."""

    model: str = "vgg16"
    weights: str | None = None
    classes: str | None = None

    def load(self) -> Classifier:
        """The classifier (see load_classifier). Raises ModelError."""
        return load_classifier(self.model, weights=self.weights, classes=self.classes)

    def local_files(self) -> list[Path]:
        """Files of this machine the classifier is built from (a user's model, its classes,
        a weights file), which a worker on another machine needs copies of. Bundled and
        numpy models need none; keras.applications weights come from Keras' cache."""
        source, name = resolve_model(self.model)
        files: list[Path] = []
        if source is FILE_SOURCE:
            path = Path(name).expanduser()
            files.append(path)
            files.append(Path(self.classes) if self.classes else default_classes_path(path))
        elif self.classes:
            files.append(Path(self.classes))
        if self.weights and self.weights.lower() != RANDOM_WEIGHTS:
            files.append(Path(self.weights).expanduser())
        return files


#: `--precision` values and the Keras dtype policy each runs the model under: float32, or
#: float16/bfloat16 arithmetic with float32 weights (Keras' mixed precision).
PRECISIONS = {"float32": "float32", "mixed_float16": "mixed_float16",
              "bfloat16": "mixed_bfloat16"}

#: In a reduced precision, a photo whose top-1 probability leads the second by less than
#: this is computed again in float32. Why: bfloat16 keeps 8 bits of mantissa, and through
#: EfficientNet-Lite0 it moved a photo's probabilities by up to 0.19 (median 0.009); its top-1
#: differed from float32's on 5 of 128 real inputs, all with a lead under 0.03, and on none
#: with a lead of 0.05 or more (`scripts/bench_scale.py`, 2026-11-30). About a third of those
#: inputs lead by less, so the re-check costs a third of a float32 pass at most.
RECHECK_MARGIN = 0.05


def with_precision(classifier: Classifier, precision: str) -> Classifier:
    """The classifier with its Keras model rebuilt to compute in `precision` (see PRECISIONS):
    each layer cloned under the dtype policy, the weights copied. Near ties are computed again
    by the float32 `classifier`, which the result keeps (see RECHECK_MARGIN; the weights are
    held twice). The stored model name stays (the benchmark measures how often top-1 agrees
    with float32). Raises ModelError for an unknown precision, or a model that is not Keras or
    does not clone."""
    if precision not in PRECISIONS:
        raise ModelError(f"--precision must be one of {', '.join(PRECISIONS)}, not "
                         f"{precision!r}")
    if precision == "float32":
        return classifier
    if not isinstance(classifier, KerasClassifier):
        raise ModelError(f"--precision {precision} applies to Keras models only")
    _, keras = _import_tf()
    policy = keras.DTypePolicy(PRECISIONS[precision])

    def clone(layer: Any) -> Any:
        config = layer.get_config()
        if not isinstance(layer, keras.layers.InputLayer):
            config["dtype"] = policy
        return layer.__class__.from_config(config)

    try:
        model = keras.models.clone_model(classifier.model, clone_function=clone)
        model.set_weights(classifier.model.get_weights())
    except Exception as exc:
        raise ModelError(f"cannot run {classifier.name} in {precision}: {_short(exc)}") from None
    out = KerasClassifier(classifier.name, model, classifier.labels, classifier.preprocess,
                          recheck=classifier)
    out.weights_path = classifier.weights_path
    return out


def load_classifier(
    model: str = "vgg16",
    *,
    weights: str | None = None,
    classes: str | os.PathLike[str] | None = None,
    precision: str = "float32",
) -> Classifier:
    """Build the classifier `-m` names, through the registry (MODEL_SOURCES).

    `model`: a bundled model (`efficientnet_lite0`), a keras.applications ImageNet model name
    (see APPLICATIONS), a numpy test model (`test_rgb`), or the path of a Keras model file
    (`.keras`/`.h5`) whose input is RGB pixels 0..255 (it does its own preprocessing) and whose
    output is one score per class.
    `weights`: None for the ImageNet weights from Keras' cache (downloaded when missing),
    a local file, or "none" for random weights (meaningless predictions; tests/benchmarks).
    `classes`: class names for a user's model (default NAME.classes.txt beside it).
    `precision`: see PRECISIONS and with_precision.
    Returns a `Classifier`. Raises ModelError with one line for the user.
    """
    if precision not in PRECISIONS:
        raise ModelError(f"--precision must be one of {', '.join(PRECISIONS)}, not "
                         f"{precision!r}")
    source, name = resolve_model(model)
    classifier = source.build(name, weights, None if classes is None else str(classes))
    return with_precision(classifier, precision)
