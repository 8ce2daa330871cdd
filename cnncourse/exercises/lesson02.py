"""Checks for lesson 02, "Class imbalance"."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.utils.class_weight import compute_class_weight

from cnncourse.checks import Verdict, check_array, check_number, correct, is_single_number, not_attempted, wrong

if TYPE_CHECKING:
    import pandas as pd

_WEIGHTS_HINT = "weight of class c = (number of images) / (number of classes × images of class c)."


def check_class_weights(weights: Any, y_train: np.ndarray, num_classes: int = 10) -> Verdict:
    """Exercise 1: "balanced" class weights, as a list/array of one weight per class or a
    ``{class: weight}`` dict (what ``fit(class_weight=...)`` takes)."""
    if weights is None:
        return not_attempted("weights")
    if isinstance(weights, dict):
        if sorted(weights) != list(range(num_classes)):
            return wrong(f"The dict's keys are {sorted(weights)}; use the class numbers 0 to {num_classes - 1}.",
                         "dict(enumerate(array_of_weights)) turns an array into such a dict.")
        weights = [weights[c] for c in range(num_classes)]
    expected = compute_class_weight("balanced", classes=np.arange(num_classes), y=np.asarray(y_train))
    try:
        got = np.asarray(weights, dtype="float64")
    except (TypeError, ValueError):
        got = None
    if got is not None and got.shape == expected.shape and not np.allclose(got, expected, atol=1e-3):
        counts = np.bincount(y_train, minlength=num_classes)
        if np.allclose(got, counts / counts.sum()) or np.allclose(got, counts):
            return wrong("Those are the classes' shares (or counts): they give the common classes the big weights.",
                         "Rare classes need the large weights: divide by the count. " + _WEIGHTS_HINT)
        if np.allclose(got / got.mean(), expected / expected.mean(), rtol=1e-3):
            return wrong("Right proportions, wrong scale: the weights should average 1 on a balanced set.",
                         "Multiply 1 / count by (number of images) / (number of classes). " + _WEIGHTS_HINT)
    return check_array(weights, expected, name="weights", atol=1e-3, hint=_WEIGHTS_HINT,
                       success=f"Correct: from {expected.min():.2f} for the most common class to "
                               f"{expected.max():.1f} for the rarest. Each class now adds the same total weight "
                               "to the loss. (scikit-learn: compute_class_weight('balanced', ...).)")


def check_balanced_accuracy(value: Any, y_true: np.ndarray, y_pred: np.ndarray) -> Verdict:
    """Exercise 2: balanced accuracy computed by hand (the mean of the per-class recalls)."""
    expected = balanced_accuracy_score(y_true, y_pred)
    if is_single_number(value):
        plain = accuracy_score(y_true, y_pred)
        if not np.isclose(expected, plain, atol=1e-3) and np.isclose(float(value), plain, atol=1e-6):
            return wrong("That is plain accuracy: it counts images, so the common classes dominate it.",
                         "Compute each class's recall (correct images of the class / images of the class), "
                         "then average the recalls.")
        if float(value) > 1:
            return wrong("Balanced accuracy is a fraction between 0 and 1.", "Do not convert to percent.")
    return check_number(value, expected, name="balanced", atol=1e-6,
                        hint="For each class c: np.mean(y_pred[y_true == c] == c); then the mean of those.",
                        success=f"Correct: {expected:.3f}, the same as sklearn.metrics.balanced_accuracy_score.")


def check_best_fix(choice: Any, report: pd.DataFrame, baseline: str = "plain") -> Verdict:
    """Exercise 3: the run with the highest rare-class recall among those whose balanced
    accuracy is at least the baseline's (``report`` is ``metrics.imbalance_report``'s table)."""
    if choice is None:
        return not_attempted("choice")
    if choice not in report.index:
        return wrong(f"`choice` should be one of the runs {list(report.index)}, got {choice!r}.")
    floor = report.loc[baseline, "balanced accuracy"]
    eligible = report[report["balanced accuracy"] >= floor]
    best = eligible["rare-class recall"].idxmax()
    row = report.loc[choice]
    if row["balanced accuracy"] < floor:
        return wrong(f"{choice!r} has balanced accuracy {row['balanced accuracy']:.3f}, below the "
                     f"{baseline!r} run's {floor:.3f}: it is not allowed.", "Filter the rows first, then compare.")
    if row["rare-class recall"] < eligible.loc[best, "rare-class recall"]:
        return wrong(f"{choice!r} finds {row['rare-class recall']:.0%} of the rare classes' images; another "
                     "allowed run finds more.", "Among the allowed rows, take the largest rare-class recall.")
    return correct(f"Correct: {choice!r} finds {row['rare-class recall']:.0%} of the rare classes' images "
                   f"without losing balanced accuracy against {baseline!r}.")
