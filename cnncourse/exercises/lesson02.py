"""Checks for lesson 02, "Class imbalance"."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score
from sklearn.utils.class_weight import compute_class_weight

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

if TYPE_CHECKING:
    import pandas as pd

_WEIGHTS_HINT = "weight of class c = (number of images) / (number of classes × images of class c)."
# Answers rounded as the notebook prints them are right too: weights with 2 decimals, accuracies with 3.
WEIGHTS_PRINTED, ACCURACY_PRINTED = rounded_tolerance(2), rounded_tolerance(3)


def check_class_weights(weights: Any, y_train: np.ndarray, num_classes: int = 10) -> Verdict:
    """Exercise 1: "balanced" class weights, as a list/array of one weight per class or a
    ``{class: weight}`` dict (what ``fit(class_weight=...)`` takes)."""
    if weights is None:
        return unanswered("weights")
    weights = by_class(weights, num_classes, name="weights")
    if isinstance(weights, Verdict):
        return weights
    expected = compute_class_weight("balanced", classes=np.arange(num_classes), y=np.asarray(y_train))
    got = as_numbers(weights)
    if got is None:
        return wrong(f"`weights` should be an array of numbers, one per class, but it is {shown(weights)}.",
                     _WEIGHTS_HINT)
    if got.shape == expected.shape and not np.allclose(got, expected, rtol=0, atol=WEIGHTS_PRINTED):
        counts = np.bincount(y_train, minlength=num_classes)
        if np.allclose(got, counts / counts.sum()) or np.allclose(got, counts):
            return wrong("Those are the classes' shares (or counts): they give the common classes the big weights.",
                         "Rare classes need the large weights: divide by the count. " + _WEIGHTS_HINT)
        if np.allclose(got / got.mean(), expected / expected.mean(), rtol=1e-3):
            return wrong("Right proportions, wrong scale: the weights should average 1 on a balanced set.",
                         "Multiply 1 / count by (number of images) / (number of classes). " + _WEIGHTS_HINT)
    return check_array(got, expected, name="weights", atol=WEIGHTS_PRINTED, hint=_WEIGHTS_HINT,
                       success=f"Correct: from {expected.min():.2f} for the most common class to "
                               f"{expected.max():.1f} for the rarest. Each class now adds the same total weight "
                               "to the loss. (scikit-learn: compute_class_weight('balanced', ...).)")


def check_balanced_accuracy(value: Any, y_true: np.ndarray, y_pred: np.ndarray) -> Verdict:
    """Exercise 2: balanced accuracy computed by hand (the mean of the per-class recalls)."""
    expected = balanced_accuracy_score(y_true, y_pred)
    if value is None:
        return unanswered("balanced")
    if is_single_number(value):
        plain = accuracy_score(y_true, y_pred)
        if abs(expected - plain) > 2 * ACCURACY_PRINTED and abs(float(value) - plain) <= ACCURACY_PRINTED:
            return wrong("That is plain accuracy: it counts images, so the common classes dominate it.",
                         "Compute each class's recall (correct images of the class / images of the class), "
                         "then average the recalls.")
        if float(value) > 1:
            return wrong("Balanced accuracy is a fraction between 0 and 1.", "Do not convert to percent.")
    return check_number(value, expected, name="balanced", atol=ACCURACY_PRINTED,
                        hint="For each class c: np.mean(y_pred[y_true == c] == c); then the mean of those.",
                        success=f"Correct: {expected:.3f}, the same as sklearn.metrics.balanced_accuracy_score.")


def check_best_fix(choice: Any, report: pd.DataFrame, baseline: str = "plain") -> Verdict:
    """Exercise 3: the run with the highest rare-class recall among those whose balanced
    accuracy is at least the baseline's (``report`` is ``metrics.imbalance_report``'s table)."""
    if choice is None:
        return unanswered("choice")
    runs = [str(run) for run in report.index]
    if not isinstance(choice, str):
        return wrong(f"`choice` should be one run name, a string such as {runs[-1]!r}, but it is {shown(choice)}.",
                     "idxmax() gives the name itself; from an Index or a list, take one element with [0].")
    # A run named with other capitals or spaces around it is still that run.
    named = [run for run in runs if run.casefold() == choice.strip().casefold()]
    if len(named) != 1:
        return wrong(f"`choice` should be one of the runs {runs}, got {choice!r}.",
                     "Copy a name from the table's first column (report.index).")
    choice = report.index[runs.index(named[0])]
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
