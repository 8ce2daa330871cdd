"""Numbers that stay honest when the classes are not equally common.

Plain accuracy counts images, so the common classes dominate it; these metrics give every
class the same say (scikit-learn computes them).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, recall_score


def per_class_recall(y_true: np.ndarray | Sequence[int], y_pred: np.ndarray | Sequence[int],
                     num_classes: int = 10) -> np.ndarray:
    """The fraction of each class's images that the model labels correctly."""
    return recall_score(y_true, y_pred, labels=range(num_classes), average=None, zero_division=0)


def imbalance_report(y_true: np.ndarray | Sequence[int], predictions: dict[str, np.ndarray | Sequence[int]],
                     rare_classes: Iterable[int], num_classes: int = 10) -> pd.DataFrame:
    """One row per run: accuracy, balanced accuracy, macro F1 and the mean recall of
    ``rare_classes``. ``predictions`` maps a run name to its predicted labels."""
    if not isinstance(predictions, dict):
        raise TypeError("predictions must map a name to predicted labels, e.g. {'baseline': y_pred}.")
    rare = list(rare_classes)
    if not rare or not all(0 <= c < num_classes for c in rare):
        raise ValueError(f"rare_classes must list class numbers between 0 and {num_classes - 1}, got {rare_classes!r}.")
    rows = {}
    for name, y_pred in predictions.items():
        if len(y_pred) != len(y_true):
            raise ValueError(f"{name!r} has {len(y_pred)} predictions for {len(y_true)} labels.")
        rows[name] = {
            "accuracy": accuracy_score(y_true, y_pred),
            "balanced accuracy": balanced_accuracy_score(y_true, y_pred),
            "macro F1": f1_score(y_true, y_pred, labels=range(num_classes), average="macro", zero_division=0),
            "rare-class recall": float(np.mean(per_class_recall(y_true, y_pred, num_classes)[rare])),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("run").round(3)
