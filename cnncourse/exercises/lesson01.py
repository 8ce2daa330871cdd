"""Checks for lesson 01, "Too little data"."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from cnncourse.checks import Verdict, check_number, correct, is_single_number, not_attempted, wrong


def check_subset(x_subset: Any, y_subset: Any, x_train: np.ndarray, y_train: np.ndarray,
                 per_class: int) -> Verdict:
    """Exercise 1: a balanced subset of ``per_class`` training images of every class."""
    if x_subset is None or y_subset is None:
        return not_attempted("x_subset, y_subset")
    if not isinstance(x_subset, np.ndarray) or not isinstance(y_subset, np.ndarray):
        return wrong("`x_subset` and `y_subset` should be NumPy arrays.",
                     "Index the training arrays with an array of positions: x_train[idx], y_train[idx].")
    if x_subset.shape[1:] != x_train.shape[1:] or len(x_subset) != len(y_subset):
        return wrong(f"Got {len(x_subset)} images of shape {x_subset.shape[1:]} and {len(y_subset)} labels; "
                     f"expected images of shape {x_train.shape[1:]}, one label each.",
                     "Use the same positions to index x_train and y_train.")
    counts = np.bincount(y_subset.astype(int), minlength=10)
    if not (counts == per_class).all():
        return wrong(f"Images per class: {counts.tolist()}; every class should have {per_class}.",
                     "np.flatnonzero(y_train == c) lists the positions of class c; take per_class of them.")
    # Hashes, not the image bytes themselves, keep this lookup small (CIFAR-10 holds no duplicates).
    label_of = {hash(image.tobytes()): label for image, label in zip(x_train, y_train)}
    keys = [hash(image.tobytes()) for image in x_subset]
    if any(key not in label_of for key in keys):
        return wrong("Some images in `x_subset` are not training images.",
                     "Take images from x_train only (never from the validation or test set).")
    if not np.array_equal([label_of[key] for key in keys], y_subset):
        return wrong("Some images carry the wrong label: images and labels got out of step.",
                     "Index x_train and y_train with the same positions, in the same order.")
    if len(set(keys)) != len(keys):
        return wrong("Some images appear twice.", "Choose positions without replacement.")
    return correct(f"Correct: {len(x_subset)} distinct training images, {per_class} of each class.")


def _log_linear_estimate(sizes, accuracies, target):
    slope, intercept = np.polyfit(np.log2(sizes), accuracies, 1)
    return float(slope * np.log2(target) + intercept)


def check_extrapolation(estimate: Any, sizes: Sequence[int] | np.ndarray, accuracies: Sequence[float] | np.ndarray,
                        target: int) -> Verdict:
    """Exercise 2: validation accuracy at ``target`` images per class, read from a straight
    line through the learning curve on a log scale."""
    expected = _log_linear_estimate(sizes, accuracies, target)
    if is_single_number(estimate):
        linear = np.polyval(np.polyfit(sizes, accuracies, 1), target)
        if abs(float(estimate) - expected) > 0.02 and abs(float(estimate) - linear) <= 0.01:
            return wrong("That fits a straight line against the size itself.",
                         "Accuracy grows by about the same amount per *doubling*: fit against np.log2(sizes).")
        if float(estimate) > 1:
            return wrong("Accuracy is a fraction between 0 and 1.", "Do not convert to percent.")
    return check_number(estimate, expected, name="estimate", atol=0.02,
                        hint="np.polyfit(np.log2(sizes), accuracies, 1) gives slope and intercept; "
                             "evaluate the line at np.log2(target).",
                        success=f"Correct: about {expected:.2f}. Such a line is only a rough guide: "
                                "real curves bend and flatten eventually, so measure before you collect.")


def _layers_of(augment):
    if isinstance(augment, keras.Sequential):
        return augment.layers
    return [augment]


def check_augmentation(augment: Any, sample_images: np.ndarray) -> Verdict:
    """Exercise 3: an augmentation pipeline with horizontal flips and small shifts."""
    if augment is None:
        return not_attempted("augment")
    if not isinstance(augment, keras.layers.Layer):
        return wrong(f"`augment` should be a Keras layer or keras.Sequential of layers, "
                     f"not a {type(augment).__name__}.",
                     "keras.Sequential([keras.layers.RandomFlip(...), keras.layers.RandomTranslation(...)])")
    layers = _layers_of(augment)
    flips = [layer for layer in layers if isinstance(layer, keras.layers.RandomFlip)]
    if not flips:
        return wrong("There is no RandomFlip layer.", "Add keras.layers.RandomFlip('horizontal').")
    if any("vertical" in layer.mode for layer in flips):
        return wrong("It flips images upside down.",
                     "Cars, ships and horses are never upside down in CIFAR-10: flip horizontally only.")
    shifts = (keras.layers.RandomTranslation, keras.layers.RandomCrop, keras.layers.RandomZoom)
    if not any(isinstance(layer, shifts) for layer in layers):
        return wrong("Nothing moves the image.", "Add keras.layers.RandomTranslation(0.1, 0.1).")
    batch = np.asarray(sample_images, dtype="float32")
    try:
        out = np.asarray(augment(batch, training=True))
    except Exception as exc:  # a learner's layer can fail in many ways; report, don't crash
        return wrong(f"Applying `augment` to images failed: {type(exc).__name__}: {exc}",
                     "Build it from Keras preprocessing layers only.")
    if out.shape != batch.shape:
        return wrong(f"It changes the image shape from {batch.shape[1:]} to {out.shape[1:]}.",
                     "Augmentation must keep the 32x32x3 shape the model expects.")
    if np.allclose(out, batch):
        return wrong("The images come out unchanged.", "Check the layers' factors are above 0.")
    return correct("Correct: each epoch now sees a slightly different version of every image.")
