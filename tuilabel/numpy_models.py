"""Classifiers written in numpy alone: no TensorFlow, so the pipeline, the TUI and the scale-out
engine can be tested (and tried) at full speed in a process that never imports it.

They are real classifiers with a rule that can be checked, not mocks: `RgbClassifier` says which
primary colour dominates a photo, which is the class of the test photos in `tests/labelkit.py`
(a red, green or blue scene with noise), so a test knows each photo's right answer.
"""

from __future__ import annotations

import numpy as np

#: The classes of `RgbClassifier`, in output order.
RGB_CLASSES = ("red", "green", "blue")


class RgbClassifier:
    """The dominant primary colour of a photo, as a `tuilabel.model.Classifier`.

    Scores: softmax over the three channel means of the photo (pixels 0..255), each divided by
    `temperature` (16 levels by default: a photo whose red mean is 50 levels above the others'
    gets about 0.92 for red). Deterministic, and a photo's scores never depend on its batch.
    """

    labels = RGB_CLASSES

    def __init__(self, name: str = "test_rgb", input_size: tuple[int, int] = (32, 32),
                 temperature: float = 16.0) -> None:
        self.name = name
        self.input_size = input_size
        self.temperature = temperature

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """N x 3 probabilities (red, green, blue) for a batch N x H x W x 3 of pixels 0..255.

        Raises ValueError for a batch of another shape."""
        x = np.asarray(batch, dtype=np.float64)
        if x.ndim != 4 or x.shape[1:] != (*self.input_size, 3):
            raise ValueError(f"batch of shape {x.shape}; expected (N, {self.input_size[0]}, "
                             f"{self.input_size[1]}, 3)")
        z = x.mean(axis=(1, 2)) / self.temperature
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, batch: np.ndarray, k: int = 5) -> list[list[tuple[str, float]]]:
        """Top-k (label, score) per photo, best first (k is capped at the 3 classes)."""
        probs = self.probabilities(batch)
        k = max(1, min(k, len(self.labels)))
        top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
        return [[(self.labels[j], float(row[j])) for j in idx]
                for row, idx in zip(probs, top, strict=True)]
