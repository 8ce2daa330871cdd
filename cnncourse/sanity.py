"""Sanity checks for your own compiled Keras model, before you trust a training run.

The habits of Karpathy's "A Recipe for Training Neural Networks" and Full Stack Deep Learning's
"Troubleshooting Deep Neural Networks", as functions that take the model exactly as you compiled it
(your output layer, your loss, your optimizer) and the arrays you would pass to ``fit``:

- :func:`loss_at_init`: an untrained classifier that guesses evenly has a loss of ln K
  (:func:`expected_initial_loss`); far from it, the output layer and the loss do not fit
  (``probes.initial_loss`` measures with it, for a model not compiled yet);
- :func:`overfit_one_batch`: a few dozen images must be learned by heart in about a hundred steps;
  a model that cannot do even that has a bug between its data, its output and its loss;
- :func:`predicted_class_counts`: a model stuck at one class, or at the majority class, shows here;
- :func:`true_accuracy`: the multi-class accuracy from the predicted probabilities, whatever
  metric Keras reported (``depth.accuracy`` measures with it, in training mode too);
- and look at the images with their labels: ``cnncourse.plots.show_images``.

Nothing here changes your model: :func:`overfit_one_batch` trains a copy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from cnncourse.probes import call_in_batches, statistics_kept
from cnncourse.training import predict_classes


def expected_initial_loss(num_classes: int) -> float:
    """The cross-entropy of an even guess over ``num_classes`` classes: ln K (2.30 for 10 classes)."""
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"num_classes must be a whole number of at least 2, got {num_classes!r}.")
    return math.log(num_classes)


def class_indices(y: np.ndarray) -> np.ndarray:
    """Integer class labels from integer labels (shape ``(n,)`` or ``(n, 1)``) or one-hot rows ``(n, K)``."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    if y.ndim == 2:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"labels should have shape (n,), (n, 1) or one-hot (n, classes), got {y.shape}.")
    return y.astype("int64")


def require_compiled(model: keras.Model) -> None:
    """Raise a TypeError unless ``model`` is a Keras model, and a ValueError that says how to compile it
    unless it is compiled with a loss."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"expected a Keras model, got {type(model).__name__}.")
    if not getattr(model, "compiled", False) or getattr(model, "loss", None) is None:
        raise ValueError("compile the model first, with the loss you train with: "
                         "model.compile(optimizer=..., loss=..., metrics=['accuracy']).")


def check_pair(x: np.ndarray, y: np.ndarray) -> None:
    """Raise a clear ValueError unless ``x`` and ``y`` are non-empty and equally long."""
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} labels.")
    if len(x) == 0:
        raise ValueError("x and y are empty.")


def loss_at_init(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> float:
    """The model's own compiled loss on ``(x, y)``, as ``evaluate`` reports it: call it before
    training and compare it with :func:`expected_initial_loss`."""
    require_compiled(model)
    check_pair(x, y)
    return float(model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)["loss"])


def true_accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int = 256,
                  training: bool = False) -> float:
    """The fraction of images whose most likely class (the largest output) is their label: the
    multi-class accuracy, whatever ``metrics=["accuracy"]`` turned into.

    In inference mode (as ``predict``), or with ``training=True`` as during ``fit``: batch normalization
    then normalizes each batch of ``batch_size`` images with that batch's own statistics, and its moving
    averages are put back afterwards."""
    check_pair(x, y)
    if training:  # predict() has no training mode
        with statistics_kept(model):
            predicted = np.argmax(call_in_batches(model, x, batch_size, training=True), axis=1)
    else:
        predicted = predict_classes(model, x, batch_size)
    return float(np.mean(predicted == class_indices(y)))


def predicted_class_counts(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """How many of the images ``x`` the model assigns to each class (its largest output)."""
    return np.bincount(predict_classes(model, x, batch_size), minlength=max(2, model.output_shape[-1]))


@dataclass(frozen=True)
class OverfitResult:
    """One small batch trained on again and again: the loss and the true accuracy on it after each step."""
    losses: np.ndarray
    accuracies: np.ndarray
    target: float

    @property
    def final_accuracy(self) -> float:
        return float(self.accuracies[-1])

    @property
    def passed(self) -> bool:
        """True when the batch was learned: accuracy on it reached ``target``."""
        return bool(np.max(self.accuracies) >= self.target)

    @property
    def steps_to_fit(self) -> int | None:
        """The first step (counted from 1) at which the accuracy reached ``target``, or None."""
        reached = np.flatnonzero(self.accuracies >= self.target)
        return int(reached[0]) + 1 if reached.size else None


def overfit_one_batch(model: keras.Model, x: np.ndarray, y: np.ndarray, *, steps: int = 100,
                      target: float = 0.99, progress: bool = True) -> OverfitResult:
    """Train a copy of the compiled ``model`` (same weights, loss and kind of optimizer) on the one
    batch ``(x, y)`` for ``steps`` steps; record the loss and the true accuracy after each.

    A healthy pipeline learns a few dozen images by heart (accuracy ``target``) well within 100
    steps. Your model, its weights and its optimizer are left as they are."""
    require_compiled(model)
    check_pair(x, y)
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}.")
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    optimizer = type(model.optimizer).from_config(model.optimizer.get_config())
    copy.compile(optimizer=optimizer, loss=model.loss)
    labels = class_indices(y)
    losses, accuracies = [], []
    for _ in tqdm(range(steps), desc="overfit one batch", unit="step", disable=not progress, leave=False):
        losses.append(float(copy.train_on_batch(x, y, return_dict=True)["loss"]))
        predicted = np.argmax(keras.ops.convert_to_numpy(copy(x, training=False)), axis=1)
        accuracies.append(float(np.mean(predicted == labels)))
    return OverfitResult(np.array(losses), np.array(accuracies), target)


@dataclass(frozen=True)
class Fingerprint:
    """What the sanity checks say about one pipeline: its loss before training against ln K, whether
    a copy of it learned one batch by heart, its learning curves (``fit(...).history``) and how
    many validation images it put in each class after training."""
    name: str
    initial_loss: float
    num_classes: int
    overfit: OverfitResult
    history: dict
    predicted_counts: np.ndarray

    @property
    def expected_loss(self) -> float:
        return expected_initial_loss(self.num_classes)

    @property
    def top_class_share(self) -> float:
        """The share of validation images given the most common predicted class (1/K when even)."""
        return float(self.predicted_counts.max() / self.predicted_counts.sum())

    def summary(self) -> dict:
        """The numbers a comparison table shows, as a plain dict."""
        accuracy = {key: round(float(values[-1]), 3) for key, values in self.history.items() if "acc" in key}
        return {"pipeline": self.name, "loss at init": round(self.initial_loss, 2),
                "ln K": round(self.expected_loss, 2), "learns one batch": self.overfit.passed,
                **accuracy, "top predicted class share": round(self.top_class_share, 2)}


def fingerprint_table(*fingerprints: Fingerprint) -> pd.DataFrame:
    """One row of :meth:`Fingerprint.summary` per pipeline."""
    if not fingerprints or not all(isinstance(f, Fingerprint) for f in fingerprints):
        raise TypeError("pass one or more sanity.Fingerprint objects, e.g. fingerprint_table(healthy, broken).")
    return pd.DataFrame([f.summary() for f in fingerprints]).set_index("pipeline")
