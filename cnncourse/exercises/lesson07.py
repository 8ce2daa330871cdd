"""Checks for lesson 07, "Noisy labels"."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cnncourse.checks import Verdict, correct, is_single_number, not_attempted, wrong
from cnncourse.noise import most_suspicious

SUSPECTS_MARGIN = 0.10  # a ranking this far below the self-confidence ranking's precision still passes


def _as_indices(answer: Any, n: int) -> tuple[np.ndarray | None, str]:
    """Image indices from a list, array or pandas object of whole numbers, or from a boolean mask
    of length ``n``; else None and what is wrong with the answer."""
    if isinstance(answer, (str, bytes, dict, set)) or np.ndim(answer) == 0:
        return None, f"should be a list or array of image indices, not a {type(answer).__name__}"
    try:
        values = np.asarray(answer)
    except (TypeError, ValueError):
        return None, f"should be a list or array of image indices, not a {type(answer).__name__}"
    if values.ndim != 1:
        return None, f"should be a flat list of image indices, but it has shape {values.shape}"
    if values.dtype == bool:
        if len(values) != n:
            return None, f"is a True/False mask of length {len(values)}, but there are {n} training images"
        return np.flatnonzero(values), ""
    if values.size and not np.issubdtype(values.dtype, np.number):
        return None, f"should hold whole numbers (image indices), but it holds {values.dtype} values"
    if values.size and not np.all(np.isfinite(values.astype(float)) & (values.astype(float) % 1 == 0)):
        return None, "should hold whole numbers (image indices), but some are not whole"
    indices = values.astype("int64")
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        return None, f"holds indices from {indices.min()} to {indices.max()}, but images are numbered 0 to {n - 1}"
    return indices, ""


def check_suspects(answer: Any, probabilities: np.ndarray, y_given: np.ndarray, flipped: np.ndarray,
                   k: int) -> Verdict:
    """Exercise 1: the ``k`` training images whose given label looks most wrong to the out-of-fold
    ``probabilities``. Judged by how many of them are planted flips (``flipped``), against the
    ranking by the probability given to the given label; any order passes."""
    if answer is None:
        return not_attempted("suspects")
    flipped, probabilities = np.asarray(flipped, dtype=bool), np.asarray(probabilities)
    indices, problem = _as_indices(answer, len(flipped))
    if indices is None:
        return wrong(f"`suspects` {problem}.", "np.argsort(scores)[:k] gives the indices of the k smallest scores.")
    if len(indices) > probabilities.shape[1] and len(np.unique(indices)) <= probabilities.shape[1]:
        return wrong(f"`suspects` holds only the numbers {sorted(set(indices.tolist()))}: those look like class "
                     "labels, not image indices.",
                     "np.argsort(scores)[:k] gives the positions (indices) of the k smallest scores.")
    if len(np.unique(indices)) != len(indices):
        return wrong(f"`suspects` names some images more than once: {len(np.unique(indices))} different images "
                     f"among {len(indices)}.", f"Pick {k} different images.")
    if len(indices) != k:
        return wrong(f"`suspects` names {len(indices)} images; the exercise asks for k = {k}.")
    precision = float(np.mean(flipped[indices]))
    reference = float(np.mean(flipped[most_suspicious(probabilities, y_given, k)]))
    hits = int(np.sum(flipped[indices]))
    if precision < reference - SUSPECTS_MARGIN:
        base_rate = float(np.mean(flipped))
        hint = ("Score each image by the probability its out-of-fold prediction gives to its *given* label "
                "(probabilities[np.arange(n), y_noisy]); the suspects are the k *lowest* scores.")
        if precision <= base_rate + 0.05:
            hint = f"That is no better than picking at random ({base_rate:.0%} of all labels are wrong). " + hint
        return wrong(f"{hits} of your {k} suspects have a wrong label (precision {precision:.0%}); ranking by the "
                     f"probability of the given label finds {reference:.0%}.", hint)
    return correct(f"Correct: {hits} of your {k} suspects have a planted wrong label (precision {precision:.0%}; "
                   f"{np.mean(flipped):.0%} of all labels are wrong, so a random pick would find that many).")


def noise_rate_estimates(agreement: float, clean_accuracy: float, num_classes: int) -> tuple[float, float]:
    """Two estimates of a symmetric noise rate r from how often the predictions agree with the given
    labels (``agreement``) and how often the same models are right on clean labels (``clean_accuracy``):

    - first order, ignoring the chance that a wrong label happens to be predicted:
      agreement ≈ (1 - r) * accuracy, so r ≈ 1 - agreement / accuracy;
    - exact for symmetric noise, with that chance, (1 - accuracy) / (K - 1):
      agreement = (1 - r) * accuracy + r * (1 - accuracy) / (K - 1).
    """
    lucky = (1 - clean_accuracy) / (num_classes - 1)
    return 1 - agreement / clean_accuracy, (clean_accuracy - agreement) / (clean_accuracy - lucky)


def check_noise_rate(answer: Any, given_vs_predicted: np.ndarray, clean_accuracy: float) -> Verdict:
    """Exercise 2: the share of wrong labels, estimated from the confusion of given labels (rows)
    against out-of-fold predictions (columns) and the models' accuracy on clean validation labels.
    Either estimate of :func:`noise_rate_estimates` passes, or anything between them, ± 0.02."""
    if answer is None:
        return not_attempted("noise_rate")
    if not is_single_number(answer):
        return wrong(f"`noise_rate` should be a single number (a fraction such as 0.25), not a "
                     f"{type(answer).__name__}.")
    confusion = np.asarray(given_vs_predicted, dtype=float)
    agreement = float(np.trace(confusion) / confusion.sum())
    first_order, exact = noise_rate_estimates(agreement, clean_accuracy, len(confusion))
    value = float(answer)
    if value > 1:
        return wrong(f"`noise_rate` is {value:g}: give it as a fraction (0.25), not a percentage.")
    if min(first_order, exact) - 0.02 <= value <= max(first_order, exact) + 0.02:
        return correct(f"Correct: about {value:.0%} of the labels are wrong. The models agree with the given labels "
                       f"on {agreement:.0%} of the images, but they are right on only {clean_accuracy:.0%} of clean "
                       "labels: most of the disagreement is the models' own error, not the labels'. (Counting the "
                       f"wrong labels that the models match by chance too, (1 - {clean_accuracy:.2f}) / "
                       f"{len(confusion) - 1} of them, gives {exact:.0%}.)")
    explanations = [
        (1 - agreement, f"1 - agreement ({1 - agreement:.2f}) counts every disagreement as a wrong label, but the "
                        f"models are wrong on {1 - clean_accuracy:.0%} of images even when the label is right."),
        (1 - clean_accuracy, "1 - clean accuracy is how often the models are wrong, not how often labels are."),
        (agreement, "The agreement is how often prediction and label match, not how often the label is wrong."),
    ]
    for candidate, explanation in explanations:
        if abs(value - candidate) <= 0.01:
            return wrong(f"`noise_rate` is {value:.3f}. {explanation}",
                         "A right label is matched about as often as the models are right (clean accuracy); a "
                         "wrong label is almost never matched. So agreement ≈ (1 - noise rate) × clean accuracy.")
    return wrong(f"`noise_rate` is {value:.3f}, which is not what these numbers give.",
                 "Agreement = trace / total of the confusion matrix. A right label is matched about as often as "
                 "the models are right (clean accuracy); a wrong label is almost never matched. So agreement ≈ "
                 "(1 - noise rate) × clean accuracy.")


def check_stop_epoch(answer: Any, val_accuracy: Sequence[float], tolerance: float = 0.01) -> Verdict:
    """Exercise 3: the epoch (counted from 1, as Keras prints them) to stop a noisy run at: any
    epoch whose validation accuracy is within ``tolerance`` of the best passes."""
    if answer is None:
        return not_attempted("stop_epoch")
    if not is_single_number(answer) or float(answer) % 1:
        return wrong(f"`stop_epoch` should be a whole number of epochs, not {answer!r}.")
    val_accuracy = np.asarray(val_accuracy, dtype=float)
    epoch, best = int(answer), int(np.argmax(val_accuracy)) + 1
    if not 1 <= epoch <= len(val_accuracy):
        zero_based = " Epochs count from 1, as Keras prints them." if epoch == 0 else ""
        return wrong(f"The run has epochs 1 to {len(val_accuracy)}; `stop_epoch` is {epoch}.{zero_based}")
    reached = val_accuracy[epoch - 1]
    if reached < val_accuracy.max() - tolerance:
        later = epoch > best
        return wrong(f"At epoch {epoch} validation accuracy is {reached:.3f}; the best epoch reaches "
                     f"{val_accuracy.max():.3f}.",
                     "By then the model is learning the wrong labels by heart: training accuracy on the given "
                     "labels still rises, validation accuracy falls. Stop where validation accuracy peaks."
                     if later else "The model is still learning then: validation accuracy rises after it.")
    return correct(f"Correct: at epoch {epoch} validation accuracy is {reached:.3f} (best {val_accuracy.max():.3f}, "
                   f"at epoch {best}, last {val_accuracy[-1]:.3f}). EarlyStopping(monitor='val_accuracy', "
                   "restore_best_weights=True) makes that choice for you.")

