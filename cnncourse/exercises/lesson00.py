"""Checks for lesson 00, "Meet CIFAR-10 and a baseline"."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cnncourse.checks import Verdict, check_array, check_number, is_single_number, not_attempted, wrong


def check_class_counts(counts: Any, y: np.ndarray) -> Verdict:
    """Exercise 1: the number of images of each class in ``y``."""
    expected = np.bincount(y, minlength=10)
    if counts is not None and np.ndim(counts) == 1 and len(counts) == len(y):
        return wrong("`counts` has one entry per image; it should have one entry per class (10).",
                     "np.bincount(labels, minlength=10) counts how often each label occurs.")
    return check_array(counts, expected, name="counts",
                       hint="np.bincount(labels, minlength=10) counts how often each label occurs.",
                       success=f"Correct: {expected.min()} to {expected.max()} images per class."
                       if expected.min() != expected.max() else
                       f"Correct: {expected.min()} images of every class, a balanced training set.")


def check_accuracy(accuracy: Any, predicted: np.ndarray, y: np.ndarray) -> Verdict:
    """Exercise 2: accuracy computed by hand from predicted and true labels."""
    expected = float(np.mean(np.asarray(predicted) == np.asarray(y)))
    if accuracy is None:
        return not_attempted("accuracy")
    if is_single_number(accuracy):
        value = float(accuracy)
        if np.isclose(value, 100 * expected, atol=1e-3):
            return wrong("That is a percentage.", "Keras reports accuracy as a fraction between 0 and 1.")
        if np.isclose(value, expected * len(y)):
            return wrong("That is the number of correct predictions.", "Divide by the number of images.")
    return check_number(accuracy, expected, name="accuracy", atol=1e-6,
                        hint="Compare the predicted labels with the true ones (==), then take the mean.",
                        success=f"Correct: {expected:.3f}, the same number Keras reports as val_accuracy.")


def check_best_epoch(best_epoch: Any, history: Mapping[str, Sequence[float]]) -> Verdict:
    """Exercise 3: the epoch (counted from 1) with the highest validation accuracy."""
    expected = int(np.argmax(history["val_accuracy"])) + 1
    if is_single_number(best_epoch):
        if best_epoch == expected - 1:
            return wrong(f"Off by one: epoch {best_epoch} is np.argmax's 0-based index.",
                         "Epochs are counted from 1 in the plots: add 1.")
        if best_epoch == int(np.argmax(history["accuracy"])) + 1 and best_epoch != expected:
            return wrong("That is the best *training* epoch.",
                         "Judge a model by its validation accuracy: use history['val_accuracy'].")
    return check_number(best_epoch, expected, name="best_epoch", atol=0,
                        hint="np.argmax(history['val_accuracy']) gives the 0-based index of the best epoch.",
                        success=f"Correct: epoch {expected}. Early stopping (lesson 05) picks the same one.")
