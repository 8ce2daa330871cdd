"""Checks for lesson 08, "Too deep to train"."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np

from cnncourse.checks import Verdict, build_answer, correct, not_attempted, wrong
from cnncourse.depth import conv_layers
from cnncourse.training import EpochProgress

CURVE_SIGNATURES = {
    "stuck at chance": "training and validation accuracy both sit at chance (10 % on ten classes) from the first "
                       "epoch: nothing is learned at all, e.g. because no gradient reaches the early layers",
    "underfitting": "training accuracy itself stays low and levels off, with validation accuracy close to it: the "
                    "model cannot even fit the images it trains on",
    "overfitting": "training accuracy climbs far above validation accuracy, which stops improving or falls: the "
                   "model learns its training images by heart",
}


def check_fixed_model(answer: Any, x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, *,
                      depth: int, epochs: int = 3, min_accuracy: float = 0.2, seed: int = 0) -> Verdict:
    """Exercise 1: ``answer`` is a function that builds an (uncompiled) model with at least ``depth``
    ``Conv2D`` layers. The check builds it, trains it with Adam for ``epochs`` epochs and passes it when
    its best validation accuracy reaches ``min_accuracy``: what the model does, not how it is written."""
    model, not_built = build_answer(answer, "fixed_model", seed=seed,
                                    example="def fixed_model():\n    return deep_cnn(...)")
    if not_built:
        return not_built
    problem = _shape_problem(model, x)
    if problem:
        return wrong(problem)
    if conv_layers(model) < depth:
        return wrong(f"This model has {conv_layers(model)} Conv2D layers; keep at least {depth}.",
                     "The exercise is to make a deep network train, not to make it shallow: change how each "
                     "layer passes the signal on, not how many layers there are.")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, validation_data=(x_val, y_val), epochs=epochs, batch_size=64, verbose=0,
                        validation_batch_size=500, callbacks=[EpochProgress("your model", epochs)]).history
    val, train = max(history["val_accuracy"]), history["accuracy"][-1]
    if val >= min_accuracy:
        return correct(f"Correct: your {conv_layers(model)}-layer model reaches {val:.0%} validation accuracy in "
                       f"{epochs} epochs (training accuracy {train:.0%}); the sigmoid stack stays at 10 %.")
    if train >= min_accuracy:
        hint = ("Training accuracy rises but validation accuracy does not: the batch-norm trap of section 5. "
                "With few training steps, use BatchNormalization(momentum=0.9), or no batch norm.")
    else:
        hint = ("Even training accuracy stays low: gradients still vanish. Use ReLU with He initialization "
                "(activation='relu', initializer='he_normal'), or batch normalization, or residual connections.")
    return wrong(f"Your model reaches {val:.0%} validation accuracy in {epochs} epochs (training accuracy "
                 f"{train:.0%}); it should reach at least {min_accuracy:.0%}.", hint)


def _shape_problem(model: keras.Model, x: np.ndarray) -> str:
    if tuple(model.input_shape[1:]) != tuple(np.shape(x)[1:]):
        return f"The model takes inputs of shape {model.input_shape}, but the images have shape {np.shape(x)[1:]}."
    probabilities = keras.ops.convert_to_numpy(model(np.asarray(x[:8], dtype="float32"), training=False))
    if probabilities.shape[1:] != (10,):
        return f"The model's output has shape {probabilities.shape[1:]}; it should give 10 class probabilities."
    if not np.allclose(probabilities.sum(axis=1), 1, atol=1e-3) or probabilities.min() < 0:
        return "The model's outputs are not probabilities: end it with Dense(10, activation='softmax')."
    return ""


def check_diagnosis(answer: Any, truth: Mapping[str, str]) -> Verdict:
    """Exercise 2: ``answer`` maps each curve's letter to one of ``CURVE_SIGNATURES`` ("stuck at chance",
    "underfitting", "overfitting"), as ``truth`` does; spelling is forgiven up to case and spaces."""
    if answer is None:
        return not_attempted("diagnosis")
    if not isinstance(answer, Mapping):
        return wrong(f"`diagnosis` should be a dict such as {{'A': 'overfitting', ...}}, not a "
                     f"{type(answer).__name__}.")
    given = {str(letter).strip().upper(): " ".join(str(name).lower().replace("_", " ").split())
             for letter, name in answer.items()}
    missing = sorted(set(truth) - set(given))
    if missing:
        return wrong(f"`diagnosis` has no answer for curve(s) {', '.join(missing)}.",
                     f"Give one diagnosis for each of {', '.join(sorted(truth))}.")
    unknown = sorted(name for name in given.values() if name not in CURVE_SIGNATURES)
    if unknown:
        return wrong(f"{', '.join(repr(name) for name in unknown)} is not one of the diagnoses: use "
                     f"{', '.join(repr(name) for name in CURVE_SIGNATURES)}.")
    mistakes = [letter for letter in sorted(truth) if given[letter] != truth[letter]]
    if mistakes:
        letter = mistakes[0]
        return wrong(f"{len(mistakes)} of {len(truth)} curves are misread; curve {letter} is not "
                     f"{given[letter]!r}.", f"Look at training accuracy first. {given[letter].capitalize()} means "
                     f"{CURVE_SIGNATURES[given[letter]]}. Is that what curve {letter} shows?")
    return correct("Correct. " + " ".join(f"{letter}: {truth[letter]}." for letter in sorted(truth)) +
                   " Underfitting calls for more capacity or more training; overfitting for more data, "
                   "augmentation, regularization or early stopping; a run stuck at chance for a bug or a "
                   "network whose gradients vanish.")


def shuffled_letters(names: list[str], seed: int) -> dict[str, str]:
    """Letters A, B, C... for ``names`` in an order drawn from ``seed``: letter -> name."""
    order = np.random.default_rng(seed).permutation(len(names))
    return {chr(ord("A") + i): names[j] for i, j in enumerate(order)}

