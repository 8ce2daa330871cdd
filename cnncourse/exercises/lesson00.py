"""Checks for lesson 00, "Meet CIFAR-10 and a baseline"."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cnncourse.checks import (
    Verdict,
    as_numbers,
    by_class,
    check_array,
    check_number,
    correct,
    is_single_number,
    rounded_tolerance,
    shown,
    unanswered,
    wrong,
)

# The notebook prints accuracies with 3 decimals; an answer rounded like that is right too.
PRINTED = rounded_tolerance(3)
_COUNTS_HINT = "np.bincount(labels, minlength=10) counts how often each label occurs."


def check_class_counts(counts: Any, y: np.ndarray) -> Verdict:
    """Exercise 1: the number of images of each class in ``y`` (an array or list, or a ``{class: count}``
    dict, Counter or pandas Series)."""
    expected = np.bincount(y, minlength=10)
    if counts is None:
        return unanswered("counts")
    counts = by_class(counts, 10, name="counts")
    if isinstance(counts, Verdict):
        return counts
    values = as_numbers(counts)
    if values is None:
        return wrong(f"`counts` should be an array of numbers, one per class, but it is {shown(counts)}.",
                     _COUNTS_HINT)
    if values.ndim == 1 and len(values) == len(y):
        return wrong("`counts` has one entry per image; it should have one entry per class (10).", _COUNTS_HINT)
    if values.shape == (2, 10):
        return wrong("`counts` has two rows: np.unique(..., return_counts=True) gives (classes, counts).",
                     "Keep only the counts: its second element.")
    return check_array(values, expected, name="counts", hint=_COUNTS_HINT,
                       success=f"Correct: {expected.min()} to {expected.max()} images per class."
                       if expected.min() != expected.max() else
                       f"Correct: {expected.min()} images of every class, a balanced training set.")


def check_accuracy(accuracy: Any, predicted: np.ndarray, y: np.ndarray) -> Verdict:
    """Exercise 2: accuracy computed by hand from predicted and true labels."""
    expected = float(np.mean(np.asarray(predicted) == np.asarray(y)))
    if accuracy is None:
        return unanswered("accuracy")
    if is_single_number(accuracy):
        value = float(accuracy)
        if value > 1 and abs(value - 100 * expected) <= rounded_tolerance(1):
            return wrong("That is a percentage.", "Keras reports accuracy as a fraction between 0 and 1.")
        if value > 1 and np.isclose(value, expected * len(y)):
            return wrong("That is the number of correct predictions.", "Divide by the number of images.")
        if abs(value - (1 - expected)) <= PRINTED and abs(1 - 2 * expected) > 2 * PRINTED:
            return wrong("That is the error rate, the fraction of *wrong* predictions.",
                         "Count where the predicted label equals the true one (==).")
    return check_number(accuracy, expected, name="accuracy", atol=PRINTED,
                        hint="Compare the predicted labels with the true ones (==), then take the mean.",
                        success=f"Correct: {expected:.3f}, the same number Keras reports as val_accuracy.")


def check_best_epoch(best_epoch: Any, history: Mapping[str, Sequence[float]]) -> Verdict:
    """Exercise 3: the epoch (counted from 1) with the highest validation accuracy; where epochs tie,
    any of them."""
    val = np.asarray(history["val_accuracy"], dtype=float)
    best = np.flatnonzero(val == val.max()) + 1
    if best_epoch is None:
        return unanswered("best_epoch")
    if is_single_number(best_epoch):
        if float(best_epoch) in best:
            return correct(f"Correct: epoch {int(best_epoch)}. Early stopping (lesson 05) picks "
                           + ("the same one." if best_epoch == best[0] else f"epoch {best[0]}, as good."))
        if float(best_epoch) + 1 in best:
            return wrong(f"Off by one: epoch {best_epoch} is np.argmax's 0-based index.",
                         "Epochs are counted from 1 in the plots: add 1.")
        if best_epoch == int(np.argmax(history["accuracy"])) + 1:
            return wrong("That is the best *training* epoch.",
                         "Judge a model by its validation accuracy: use history['val_accuracy'].")
    return check_number(best_epoch, best[0], name="best_epoch", atol=0,
                        hint="np.argmax(history['val_accuracy']) gives the 0-based index of the best epoch.")
