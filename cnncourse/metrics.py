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


def wilson_interval(successes: np.ndarray | Sequence[int] | int, n: np.ndarray | Sequence[int] | int,
                    z: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval (95 % for ``z=1.96``) of a fraction ``successes / n``, e.g. a
    class's recall from ``n`` images: ``(low, high)``. Unlike ``p ± z·sqrt(p(1-p)/n)`` it stays
    inside [0, 1] and is not zero wide when the fraction is 0 or 1. ``n = 0`` gives (0, 1)."""
    k, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    if np.any(n < 0) or np.any(k < 0) or np.any(k > n):
        raise ValueError(f"need 0 <= successes <= n, got successes={successes!r}, n={n!r}.")
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n > 0, k / n, 0.5)
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    low, high = np.where(n > 0, centre - half, 0.0), np.where(n > 0, centre + half, 1.0)
    return np.clip(low, 0, 1), np.clip(high, 0, 1)


def recall_uncertainty(y_true: np.ndarray | Sequence[int], y_pred: np.ndarray | Sequence[int],
                       class_names: Sequence[str], z: float = 1.96) -> pd.DataFrame:
    """One row per class: its images, the recall, the step 1/n in which that recall can move, and
    the Wilson interval around it (95 % by default). With a handful of images a recall is a coarse,
    uncertain number: 2 images allow only 0, 0.5 or 1."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_pred) != len(y_true):
        raise ValueError(f"{len(y_pred)} predictions for {len(y_true)} labels.")
    num_classes = len(class_names)
    n = np.bincount(y_true, minlength=num_classes)
    hits = np.bincount(y_true[y_pred == y_true], minlength=num_classes)
    low, high = wilson_interval(hits, n, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        table = {"images": n, "recall": hits / n, "step 1/n": 1 / n, "low": low, "high": high}
    return pd.DataFrame(table, index=pd.Index(class_names, name="class")).round(2)


def prior_correction(probabilities: np.ndarray, priors: np.ndarray | Sequence[float],
                     strength: float = 1.0) -> np.ndarray:
    """Remove the class prior a model learned from imbalanced training data, without retraining:
    each class's predicted probability divided by ``priors ** strength``, renormalized to sum to 1.

    ``priors`` are the classes' shares of the training set (only their ratios matter). With
    ``strength`` 0 nothing changes; 1 is the full correction, the same as adding ``-log(prior)``
    to the logits ("logit adjustment", Menon et al. 2021). Choose another strength on held-out
    data, never on the images you report on."""
    p = np.asarray(probabilities, dtype="float64")
    priors = np.asarray(priors, dtype="float64")
    if p.ndim != 2 or priors.shape != (p.shape[1],):
        raise ValueError(f"need probabilities of shape (images, classes) and one prior per class; got shapes "
                         f"{p.shape} and {priors.shape}.")
    if not np.all(priors > 0):
        raise ValueError("every prior must be > 0 (a class with no training images cannot be corrected); "
                         f"got {priors.tolist()}.")
    if not np.isfinite(strength):
        raise ValueError(f"strength must be a finite number, got {strength!r}.")
    logits = np.log(np.clip(p, 1e-30, None)) - strength * np.log(priors)
    adjusted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return adjusted / adjusted.sum(axis=1, keepdims=True)
