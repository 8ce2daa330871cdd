"""Seeded ways to cut CIFAR-10 into the data sets the lessons need.

Every function takes NumPy arrays of images ``x`` and integer labels ``y``, returns
new arrays (never views that alias the input labels), and is reproducible from ``seed``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.neighbors import NearestNeighbors


def _check_pair(x, y):
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} labels; pass matching arrays.")
    if np.ndim(y) != 1:
        raise ValueError(f"y must be a 1-D array of integer labels, got shape {np.shape(y)}.")


def train_val_split(x: np.ndarray, y: np.ndarray, val_size: int | float = 5000, seed: int = 0,
                    train_per_class: int | Sequence[int] | np.ndarray | None = None,
                    ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split off a stratified validation set: ``(x_train, y_train), (x_val, y_val)``.

    The validation set comes from the *training* data, so the test set stays untouched
    until the very end of a lesson. With ``train_per_class``, the training part is
    ``stratified_subset(x_train, y_train, train_per_class, seed)`` of the rest, and only
    those images are copied: a small training set then costs little memory. Pass one
    number for a balanced set, or one count per class (e.g. ``long_tailed_counts(500, 50)``)
    for an imbalanced one.
    """
    _check_pair(x, y)
    train_idx, val_idx = train_test_split(np.arange(len(y)), test_size=val_size, stratify=y,
                                          random_state=seed)
    if train_per_class is not None:
        train_idx = train_idx[_balanced_positions(y[train_idx], train_per_class, seed)]
    return (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx])


def _positions(y, counts, seed):
    """Positions of ``counts[c]`` random images of each class ``c``, in a shuffled order."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label, n in enumerate(counts):
        pool = np.flatnonzero(y == label)
        if n > len(pool):
            raise ValueError(f"class {label} has only {len(pool)} images; cannot take {n}.")
        chosen.append(rng.choice(pool, size=n, replace=False))
    return rng.permutation(np.concatenate(chosen))


def _balanced_positions(y, per_class, seed):
    num_classes = int(y.max()) + 1
    counts = np.atleast_1d(per_class)
    if counts.size == 1:
        counts = np.repeat(counts, num_classes)
    if counts.shape != (num_classes,) or np.any(counts < 1) or np.any(counts != np.round(counts)):
        raise ValueError(f"per_class must be a positive whole number or one per class ({num_classes} of "
                         f"them), got {per_class!r}.")
    return _positions(y, counts.astype(int), seed)


def stratified_subset(x: np.ndarray, y: np.ndarray, per_class: int | Sequence[int] | np.ndarray,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` random images of every class (a small, balanced training set)."""
    _check_pair(x, y)
    order = _balanced_positions(y, per_class, seed)
    return x[order], y[order]


def _tail_shares(ratio: float, num_classes: int) -> np.ndarray:
    """Each class's size relative to class 0 in an exponential long tail: 1 down to ``1 / ratio``."""
    if ratio < 1:
        raise ValueError(f"ratio is most/fewest images per class and must be >= 1, got {ratio}.")
    return float(ratio) ** -(np.arange(num_classes) / (num_classes - 1))


def long_tailed_counts(max_per_class: int, ratio: float, num_classes: int = 10) -> np.ndarray:
    """Images per class for an exponential long tail: class 0 keeps ``max_per_class``,
    the last class ``max_per_class / ratio``, the others in between on a log scale."""
    return np.maximum(1, np.round(max_per_class * _tail_shares(ratio, num_classes))).astype(int)


def long_tailed_counts_for_total(total: int, ratio: float, num_classes: int = 10) -> np.ndarray:
    """Images per class for the same exponential tail as :func:`long_tailed_counts`, scaled to add
    up to exactly ``total``: compare imbalance ratios at one data-set size (as the rare classes
    shrink, the common ones grow), so that a difference comes from the imbalance, not from more data."""
    shares = _tail_shares(ratio, num_classes)
    exact = total * shares / shares.sum()
    if total != round(total) or exact[-1] < 1:
        raise ValueError(f"total must be a whole number large enough to leave the rarest class one image "
                         f"(at least {int(np.ceil(shares.sum() / shares[-1]))} for ratio {ratio}), got {total!r}.")
    counts = np.floor(exact).astype(int)
    # Hand the images lost to rounding down to the classes that lost the most (largest remainder).
    counts[np.argsort(counts - exact)[:int(total) - counts.sum()]] += 1
    return counts


def long_tailed(x: np.ndarray, y: np.ndarray, ratio: float, max_per_class: int | None = None,
                seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An imbalanced copy of ``(x, y)``: class 0 is the most common, the last class is
    ``ratio`` times rarer (as in Cao et al., 2019, "long-tailed CIFAR-10")."""
    _check_pair(x, y)
    num_classes = int(y.max()) + 1
    if max_per_class is None:
        max_per_class = int(np.bincount(y).min())
    order = _positions(y, long_tailed_counts(max_per_class, ratio, num_classes), seed)
    return x[order], y[order]


def oversample(x: np.ndarray, y: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Repeat images of the rarer classes (drawn at random) until every class has as many
    as the most common one. Returns new arrays in a shuffled order; no image is dropped."""
    _check_pair(x, y)
    rng = np.random.default_rng(seed)
    counts = np.bincount(y)
    extra = [rng.choice(np.flatnonzero(y == label), size=counts.max() - n, replace=True)
             for label, n in enumerate(counts) if 0 < n < counts.max()]
    order = rng.permutation(np.concatenate([np.arange(len(y)), *extra]))
    return x[order], y[order]


def pixel_space_smote(x: np.ndarray, n: int = 6, neighbours: int = 5,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What SMOTE would add for images ``x`` of one class: for ``n`` random images, a random
    one of its ``neighbours`` nearest images *in pixel space* and a random blend of the two.
    Returns ``(first, neighbour, blend)``, each of shape ``(n, height, width, channels)``, uint8."""
    if len(x) <= neighbours:
        raise ValueError(f"need more than neighbours={neighbours} images, got {len(x)}.")
    rng = np.random.default_rng(seed)
    flat = np.asarray(x, dtype="float32").reshape(len(x), -1)
    _, nearest = NearestNeighbors(n_neighbors=neighbours + 1).fit(flat).kneighbors(flat)
    first = rng.choice(len(x), size=n, replace=len(x) < n)
    partner = nearest[first, rng.integers(1, neighbours + 1, size=n)]  # column 0 is the image itself
    weight = rng.uniform(size=(n, 1, 1, 1)).astype("float32")
    blend = (1 - weight) * x[first].astype("float32") + weight * x[partner].astype("float32")
    return x[first], x[partner], np.round(blend).astype("uint8")


def smote_oversample(x: np.ndarray, y: np.ndarray, neighbours: int = 5,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """SMOTE in pixel space: like :func:`oversample`, every rarer class is filled up to the count of the most
    common one, but with new images, each a random blend of one of its images and one of that image's
    ``neighbours`` nearest images of the same class (:func:`pixel_space_smote`). Returns new arrays in a shuffled
    order; no image is dropped. A class with ``neighbours`` images or fewer blends with all the others."""
    _check_pair(x, y)
    rng = np.random.default_rng(seed)
    counts = np.bincount(y)
    x_parts, y_parts = [x], [y]
    for label, n in enumerate(counts):
        if 0 < n < counts.max():
            if n < 2:
                raise ValueError(f"class {label} has a single image: SMOTE needs two to blend.")
            *_, blend = pixel_space_smote(x[y == label], n=int(counts.max() - n), neighbours=min(neighbours, n - 1),
                                          seed=int(rng.integers(2**31)))
            x_parts.append(blend)
            y_parts.append(np.full(len(blend), label, dtype=y.dtype))
    order = rng.permutation(sum(len(part) for part in y_parts))
    return np.concatenate(x_parts)[order], np.concatenate(y_parts)[order]


def with_label_noise(y: np.ndarray | Sequence[int], rate: float, seed: int = 0,
                     num_classes: int | None = None) -> np.ndarray:
    """A copy of ``y`` where a fraction ``rate`` of labels is changed to a different,
    uniformly chosen wrong class."""
    if not 0 <= rate <= 1:
        raise ValueError(f"rate is a fraction of labels and must be between 0 and 1, got {rate}.")
    y = np.asarray(y)
    num_classes = num_classes or int(y.max()) + 1
    rng = np.random.default_rng(seed)
    noisy = y.copy()
    flip = rng.choice(len(y), size=round(rate * len(y)), replace=False)
    # Adding 1..num_classes-1 modulo num_classes always lands on another class.
    noisy[flip] = (y[flip] + rng.integers(1, num_classes, size=len(flip))) % num_classes
    return noisy
