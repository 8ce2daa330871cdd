"""Checks for lesson 08, "Too deep to train"."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras
import numpy as np

from cnncourse.checks import Verdict, build_answer, correct, not_attempted, wrong
from cnncourse.probes import inputs_recorded
from cnncourse.training import EpochProgress

CURVE_SIGNATURES = {
    "stuck at chance": "training and validation accuracy both sit at chance (10 % on ten classes) from the first "
                       "epoch: nothing is learned at all, e.g. because no gradient reaches the early layers",
    "underfitting": "training accuracy itself stays low and levels off, with validation accuracy close to it: the "
                    "model cannot even fit the images it trains on",
    "overfitting": "training accuracy climbs far above validation accuracy, which stops improving or falls: the "
                   "model learns its training images by heart",
}


NONLINEAR = 1e-3  # a layer's input that departs from an affine function of the image by less than this share: linear


def _convolutions(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's ``Conv2D`` layers, nested models included."""
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, keras.layers.Conv2D)]


def _nonlinear_inputs(model: keras.Model, x: np.ndarray) -> int | None:
    """How many of the model's convolutions receive a nonlinear function of the image: the inputs each receives
    (inference mode) for two batches of images and for their average, compared with the average of its inputs for
    the two. An affine function of the image (convolutions, dense layers, scaling with nothing nonlinear in between)
    gives the average's input exactly the average of the two. None where the model cannot be probed so."""
    images = np.asarray(x[:32], dtype="float32")
    half = len(images) // 2
    a, b = images[:half], images[half:2 * half]
    received = []
    try:
        for batch in (a, b, (a + b) / 2):
            with inputs_recorded(_convolutions(model)) as seen:
                model(keras.ops.convert_to_tensor(batch), training=False)
            first = {}
            for layer, value in seen:  # a layer called twice: its first input
                first.setdefault(id(layer), keras.ops.convert_to_numpy(value).astype("float64"))
            received.append(list(first.values()))
    except Exception:  # noqa: BLE001 - a model this probe cannot follow is judged by its training alone
        return None
    count = 0
    for for_a, for_b, for_mean in zip(*received):
        spread = float(np.linalg.norm(for_a - for_b))
        if spread > 0 and float(np.linalg.norm(for_mean - (for_a + for_b) / 2)) > NONLINEAR * spread:
            count += 1
    return count


def check_fixed_model(answer: Any, x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, *,
                      depth: int, epochs: int = 3, min_accuracy: float = 0.2, seed: int = 0) -> Verdict:
    """Exercise 1: ``answer`` is a function that builds an (uncompiled) model with at least ``depth``
    ``Conv2D`` layers, with something nonlinear between them. The check builds it, trains it with Adam for
    ``epochs`` epochs and passes it when its best validation accuracy reaches ``min_accuracy``: what the model
    does, not how it is written."""
    model, not_built = build_answer(answer, "fixed_model", seed=seed,
                                    example="def fixed_model():\n    return deep_cnn(...)")
    if not_built:
        return not_built
    problem = _shape_problem(model, x)
    if problem:
        return wrong(problem)
    convolutions = len(_convolutions(model))
    if convolutions < depth:
        return wrong(f"This model has {convolutions} Conv2D layers; keep at least {depth}.",
                     "The exercise is to make a deep network train, not to make it shallow: change how each "
                     "layer passes the signal on, not how many layers there are.")
    if _nonlinear_inputs(model, x) == 0:
        return wrong(f"Your model has no nonlinearity between its {convolutions} convolutions: each receives an "
                     "affine function of the image (no activation, or only linear ones). A stack of linear layers "
                     "computes one linear map, which a single convolution computes as well: however many layers it "
                     "has, it is not deep.",
                     "Give each convolution a nonlinear activation that lets the gradient through: activation='relu' "
                     "with kernel_initializer='he_normal' (or batch normalization before each sigmoid, or residual "
                     "connections around ReLU layers).")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    try:
        history = model.fit(x, y, validation_data=(x_val, y_val), epochs=epochs, batch_size=64, verbose=0,
                            validation_batch_size=500, callbacks=[EpochProgress("your model", epochs)]).history
    except Exception as error:  # a learner's model can fail in training in any way; say how
        return wrong(f"Training your model failed: {type(error).__name__}: {str(error).strip()[:300]}")
    val = float(np.max(np.nan_to_num(history["val_accuracy"])))
    train = float(np.nan_to_num(history["accuracy"][-1]))
    if val >= min_accuracy:
        return correct(f"Correct: your {convolutions}-layer model reaches {val:.0%} validation accuracy in "
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
    try:
        input_shape = tuple(model.input_shape[1:])
    except Exception:  # noqa: BLE001 - e.g. no keras.Input, or a layer that cannot be built on it
        input_shape = None
    if input_shape is not None and input_shape != tuple(np.shape(x)[1:]):
        return f"The model takes inputs of shape {model.input_shape}, but the images have shape {np.shape(x)[1:]}."
    try:
        probabilities = keras.ops.convert_to_numpy(model(np.asarray(x[:8], dtype="float32"), training=False))
    except Exception as error:  # noqa: BLE001 - a learner's model can fail in any way; say how
        return f"Calling your model on images failed: {type(error).__name__}: {str(error).strip()[:300]}"
    if input_shape is None:
        return "The model has no input shape: start it with keras.Input(shape=(32, 32, 3))."
    if probabilities.shape[1:] != (10,):
        return f"The model's output has shape {probabilities.shape[1:]}; it should give 10 class probabilities."
    if not np.allclose(probabilities.sum(axis=1), 1, atol=1e-3) or probabilities.min() < 0:
        return "The model's outputs are not probabilities: end it with Dense(10, activation='softmax')."
    return ""


def _letters(seed: int) -> dict[str, str]:
    # drawn here, from the seed, and never handed to the notebook: which curve is which is the learner's to read
    names = list(CURVE_SIGNATURES)
    order = np.random.default_rng(seed).permutation(len(names))
    return {chr(ord("A") + i): names[j] for i, j in enumerate(order)}


def curves_by_letter(curves: Mapping[str, Mapping[str, Any]], *, seed: int) -> dict[str, dict[str, list]]:
    """Exercise 2's curves: ``curves`` maps each of ``CURVE_SIGNATURES``' names to a run's history; returned as
    copies under the letters A, B, C in an order drawn from ``seed``, which they do not say."""
    if not isinstance(curves, Mapping) or set(curves) != set(CURVE_SIGNATURES):
        raise ValueError(f"curves must map each of {', '.join(map(repr, CURVE_SIGNATURES))} to a run's history.")
    return {letter: {key: [float(v) for v in values] for key, values in curves[name].items()}
            for letter, name in sorted(_letters(seed).items())}


def check_diagnosis(answer: Any, *, seed: int) -> Verdict:
    """Exercise 2: ``answer`` maps each curve's letter (``curves_by_letter(..., seed=seed)``) to one of
    ``CURVE_SIGNATURES`` ("stuck at chance", "underfitting", "overfitting"); spelling is forgiven up to case, spaces
    and underscores. Which curve is which is drawn here again from ``seed``."""
    truth = _letters(seed)
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
