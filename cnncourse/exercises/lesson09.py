"""Checks for lesson 09, the capstone: a broken pipeline drawn for each learner, its cause, its fix."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
from keras import layers

from cnncourse.checks import Verdict, build_answer, check_named_cause, correct, wrong
from cnncourse.diagnose import DIAGNOSE_CODES
from cnncourse.training import EpochProgress


def _cnn(num_classes: int, scaled: bool = True, output: str | None = "softmax") -> keras.Model:
    """The small CNN of the capstone's learner."""
    return keras.Sequential([keras.Input(shape=(32, 32, 3)), *([layers.Rescaling(1 / 255)] if scaled else []),
                             layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
                             layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(),
                             layers.Flatten(), layers.Dense(128, activation="relu"),
                             layers.Dense(num_classes, activation=output)])


def _deep_sigmoid(num_classes: int, depth: int = 12) -> keras.Model:
    inputs = keras.Input(shape=(32, 32, 3))
    h = layers.Conv2D(16, 3, strides=2, padding="same", activation="sigmoid")(layers.Rescaling(1 / 255)(inputs))
    for _ in range(depth - 1):
        h = layers.Conv2D(16, 3, padding="same", activation="sigmoid")(h)
    return keras.Model(inputs, layers.Dense(num_classes, activation="softmax")(layers.Flatten()(
        layers.MaxPooling2D()(h))))


SPARSE = "sparse_categorical_crossentropy"
# cause -> (model builder for K classes, optimizer, loss): each breaks one thing in an otherwise sound pipeline.
MYSTERIES: dict[str, Callable[[int], tuple[keras.Model, keras.optimizers.Optimizer, Any]]] = {
    "unscaled_inputs": lambda k: (_cnn(k, scaled=False), keras.optimizers.SGD(0.01, momentum=0.9), SPARSE),
    "loss_output_mismatch": lambda k: (_cnn(k, output=None), keras.optimizers.Adam(1e-3), SPARSE),
    "learning_rate_too_high": lambda k: (_cnn(k), keras.optimizers.Adam(0.05), SPARSE),
    "learning_rate_too_low": lambda k: (_cnn(k), keras.optimizers.Adam(1e-6), SPARSE),
    "vanishing_gradients": lambda k: (_deep_sigmoid(k), keras.optimizers.Adam(1e-3), SPARSE),
}
RATE_HINT = ("Compile with a learning rate 3 to 10 times below the lowest point of a range test, "
             "e.g. keras.optimizers.Adam(1e-3).")
FIX_HINTS = {
    "unscaled_inputs": "Scale the pixels inside the model: put layers.Rescaling(1 / 255) right after the Input.",
    "loss_output_mismatch": "The output layer has no activation (logits) but the loss expects probabilities: "
                            "give the last Dense activation='softmax', or use "
                            "SparseCategoricalCrossentropy(from_logits=True).",
    "learning_rate_too_high": RATE_HINT,
    "learning_rate_too_low": RATE_HINT,
    "vanishing_gradients": "Use ReLU with He initialization (or batch normalization, or fewer sigmoid layers) "
                           "so that gradient reaches the first layers.",
}


@dataclass
class Mystery:
    """A broken pipeline: a compiled ``model`` and the arrays its owner passes to ``fit``. Its cause is
    ``cause``: read it only after answering."""
    model: keras.Model
    x: np.ndarray
    y: np.ndarray
    validation_data: tuple[np.ndarray, np.ndarray]
    cause: str = field(repr=False)


def mystery_pipeline(x: np.ndarray, y: np.ndarray, validation_data: tuple[np.ndarray, np.ndarray], *,
                     seed: int) -> Mystery:
    """A pipeline with one of ``MYSTERIES``' causes, drawn from ``seed``, on the given (sound) data."""
    cause = sorted(MYSTERIES)[np.random.default_rng(seed).integers(len(MYSTERIES))]
    num_classes = int(np.max(y)) + 1
    keras.utils.set_random_seed(seed)
    model, optimizer, loss = MYSTERIES[cause](num_classes)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return Mystery(model, x, y, validation_data, cause)


def check_cause(answer: Any, mystery: Mystery) -> Verdict:
    """Exercise 1: ``answer`` is the code of the mystery pipeline's cause, one of ``DIAGNOSE_CODES``
    (case, spaces and dashes forgiven)."""
    return check_named_cause(answer, mystery.cause, DIAGNOSE_CODES, then="explains it; now fix it (exercise 2).",
                             how_to_find="Run diagnose(mystery.model, mystery.x, mystery.y, "
                                         "validation_data=mystery.validation_data) and read its first finding's "
                                         "evidence.")


def check_fix(answer: Any, mystery: Mystery, *, epochs: int = 3, min_accuracy: float = 1 / 3,
              seed: int = 0) -> Verdict:
    """Exercise 2: ``answer`` is a function that returns a fresh **compiled** model for ``mystery.x``.
    The check trains it as the learner compiled it (their loss, optimizer and learning rate) for ``epochs``
    epochs and passes it when its best validation accuracy reaches ``min_accuracy``."""
    model, not_built = build_answer(answer, "fixed_model", seed=seed,
                                    example="def fixed_model():\n    model = ...\n    model.compile(...)\n"
                                            "    return model")
    if not_built:
        return not_built
    if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
        return wrong("The model is not compiled: the fix may be in the loss or the optimizer, so compile it "
                     "inside `fixed_model()`.", "model.compile(optimizer=..., loss=..., metrics=['accuracy'])")
    num_classes = len(np.unique(mystery.y))
    if tuple(model.input_shape[1:]) != tuple(np.shape(mystery.x)[1:]) or model.output_shape[-1] != num_classes:
        return wrong(f"The model maps {model.input_shape[1:]} to {model.output_shape[-1]} outputs; it should map "
                     f"images of shape {np.shape(mystery.x)[1:]} to {num_classes} classes.")
    x_val, y_val = mystery.validation_data
    try:
        history = model.fit(mystery.x, mystery.y, validation_data=(x_val, y_val), epochs=epochs, batch_size=64,
                            verbose=0, validation_batch_size=500,
                            callbacks=[EpochProgress("your fix", epochs)]).history
    except Exception as error:  # e.g. a loss that does not take these labels
        return wrong(f"Training your model failed: {type(error).__name__}: {error}")
    accuracy = np.nan_to_num(history.get("val_accuracy", [0.0]))
    best = float(np.max(accuracy))
    if best >= min_accuracy:
        return correct(f"Correct: your fixed pipeline reaches {best:.0%} validation accuracy in {epochs} epochs "
                       f"(chance: {1 / num_classes:.0%}).")
    return wrong(f"Your model reaches {best:.0%} validation accuracy in {epochs} epochs; the fixed pipeline should "
                 f"reach at least {min_accuracy:.0%}.", FIX_HINTS[mystery.cause])
