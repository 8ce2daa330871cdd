"""Noisy labels (lesson 07): watch a model learn the wrong labels by heart, and find the suspects.

The lesson plants the noise itself (:func:`cnncourse.subsets.with_label_noise`), so it knows the
true labels and can score both the memorization and the suspects it flags.
"""
from __future__ import annotations

import keras
import numpy as np

from cnncourse.sanity import check_pair, class_indices

MEMORIZATION_KEYS = ("given", "true", "flipped_given", "flipped_true")


class LabelFitTracker(keras.callbacks.Callback):
    """After every epoch, compare the model's predictions on training images with the labels it
    is trained on (``y_given``) and with their true labels (``y_true``).

    ``history`` holds one value per epoch for each of:

    - ``given``: share of images predicted as their given label (what Keras calls accuracy),
    - ``true``: share predicted as their true label,
    - ``flipped_given``: on the images whose given label is wrong, share predicted as that wrong
      label: the wrong labels the model has learned by heart,
    - ``flipped_true``: on those same images, share predicted as their true label.
    """

    def __init__(self, x: np.ndarray, y_given: np.ndarray, y_true: np.ndarray, batch_size: int = 500):
        super().__init__()
        check_pair(x, y_given)
        check_pair(x, y_true)
        self.x, self.batch_size = x, batch_size
        self.y_given, self.y_true = class_indices(y_given), class_indices(y_true)
        self.flipped = self.y_given != self.y_true
        self.history: dict[str, list[float]] = {key: [] for key in MEMORIZATION_KEYS}

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        # Calling the model directly, not predict(): predict() compiles a function per model, and TensorFlow
        # warns about "retracing" when a notebook trains several models that each predict every epoch.
        outputs = [keras.ops.convert_to_numpy(self.model(self.x[start:start + self.batch_size], training=False))
                   for start in range(0, len(self.x), self.batch_size)]
        predicted = np.argmax(np.concatenate(outputs), axis=1)
        flipped = self.flipped
        share = (lambda hits: float(np.mean(hits))) if flipped.any() else (lambda hits: float("nan"))
        self.history["given"].append(float(np.mean(predicted == self.y_given)))
        self.history["true"].append(float(np.mean(predicted == self.y_true)))
        self.history["flipped_given"].append(share(predicted[flipped] == self.y_given[flipped]))
        self.history["flipped_true"].append(share(predicted[flipped] == self.y_true[flipped]))


def given_label_confidence(probabilities: np.ndarray, y_given: np.ndarray) -> np.ndarray:
    """The probability each image's prediction gives to its given label ("self-confidence"): a
    low value means a model that did not train on the image disagrees with its label."""
    probabilities = np.asarray(probabilities)
    labels = class_indices(y_given)
    if probabilities.ndim != 2 or len(probabilities) != len(labels):
        raise ValueError(f"need one row of class probabilities per label: got probabilities of shape "
                         f"{probabilities.shape} for {len(labels)} labels.")
    if labels.min() < 0 or labels.max() >= probabilities.shape[1]:
        raise ValueError(f"labels must be class indices 0..{probabilities.shape[1] - 1}, got {labels.min()}.."
                         f"{labels.max()}.")
    return probabilities[np.arange(len(labels)), labels]


def most_suspicious(probabilities: np.ndarray, y_given: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` images whose given label gets the lowest probability, most suspicious first."""
    confidence = given_label_confidence(probabilities, y_given)
    if not 0 <= k <= len(confidence):
        raise ValueError(f"k must be between 0 and the number of images ({len(confidence)}), got {k}.")
    return np.argsort(confidence, kind="stable")[:k]
