"""The signatures of broken pipelines that can be read from the data alone, without the model.

Each function takes plain arrays and returns numbers; ``cnncourse.diagnose`` turns them into findings.

- :func:`neighbour_correlation`: neighbouring pixels of a photograph are nearly equal (about 0.9
  correlation on CIFAR-10); pixels reordered at load (a channels-first array read as channels-last,
  CIFAR-10's pickle rows reshaped without the transpose) lose that.
- :func:`batch_purity`: the share of each batch taken by its most common class; a pipeline that never
  shuffles files sorted by class gives batches of one class.
- :func:`input_shift`: how far two sets of inputs differ in scale and offset (training against validation).
"""
from __future__ import annotations

import numpy as np


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


def neighbour_correlation(images: np.ndarray) -> float:
    """The correlation of each pixel with its right and lower neighbours (averaged), over images of
    shape ``(n, height, width, channels)``: above 0.9 for photographs, near 0 for noise."""
    x = np.asarray(images, dtype="float32")
    return (_correlation(x[:, :, :-1], x[:, :, 1:]) + _correlation(x[:, :-1], x[:, 1:])) / 2


def memory_order_repairs(images: np.ndarray) -> list[np.ndarray]:
    """``images`` (n, h, w, c) re-read the two ways a loader mixes up channels-first and channels-last memory:
    as if their memory held channels first (CIFAR-10's pickle rows, PyTorch tensors: the repair of a reshape that
    needed a transpose), and undoing a channels-first reshape of memory that was channels-last already.
    Empty when the images are square-less or have one channel."""
    n, h, w, c = images.shape
    if c < 2 or h != w:
        return []
    images = np.ascontiguousarray(images)
    return [images.reshape(n, c, h, w).transpose(0, 2, 3, 1),
            np.ascontiguousarray(images.transpose(0, 3, 1, 2)).reshape(n, h, w, c)]


def pixel_order_correlations(images: np.ndarray) -> tuple[float, float]:
    """(the :func:`neighbour_correlation` of ``images`` as they are, the highest among their
    :func:`memory_order_repairs`; NaN where no re-reading applies). A re-reading that restores a
    photograph's correlation gives away pixels scrambled at load."""
    repaired = [neighbour_correlation(candidate) for candidate in memory_order_repairs(images)]
    return neighbour_correlation(images), max(repaired, default=float("nan"))


def batch_purity(batch_labels: list[np.ndarray]) -> float:
    """The mean, over batches, of the share of the batch taken by its most common class."""
    shares = [np.bincount(labels).max() / len(labels) for labels in batch_labels if len(labels)]
    return float(np.mean(shares)) if shares else float("nan")


def shuffled_purity(batch_labels: list[np.ndarray], seed: int = 0) -> float:
    """:func:`batch_purity` of the same labels in a random order, cut into batches of the same sizes:
    what a shuffled pipeline would show."""
    labels = np.random.default_rng(seed).permutation(np.concatenate(batch_labels))
    cuts = np.cumsum([len(batch) for batch in batch_labels])[:-1]
    return batch_purity(np.split(labels, cuts))


def input_shift(train: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """(the ratio of the standard deviations, other over train; the difference of the means in units
    of train's standard deviation) of two sets of values."""
    train_std, other_std = float(np.std(train)), float(np.std(other))
    scale = other_std / train_std if train_std > 0 else float("inf")
    offset = (float(np.mean(other)) - float(np.mean(train))) / train_std if train_std > 0 else float("inf")
    return scale, offset


def output_kind(outputs: np.ndarray) -> str:
    """What a model's outputs look like: ``"nonfinite"``, ``"constant"`` (one unit that never changes, e.g.
    a one-unit softmax), ``"probabilities"`` (rows sum to 1), ``"sigmoid"`` (each in 0..1), ``"relu"``
    (never negative, often exactly 0) or ``"logits"`` (any real numbers)."""
    outputs = np.asarray(outputs, dtype="float64")
    if not np.all(np.isfinite(outputs)):
        return "nonfinite"
    if outputs.ndim == 2 and outputs.shape[1] == 1 and np.ptp(outputs) < 1e-6:
        return "constant"
    if outputs.min() >= 0 and np.allclose(outputs.sum(axis=-1), 1, atol=1e-3) and outputs.shape[-1] > 1:
        return "probabilities"
    if outputs.min() >= 0 and outputs.max() <= 1 and np.mean(outputs == 0) < 0.05:
        return "sigmoid"
    if outputs.min() >= 0:
        return "relu"
    return "logits"
