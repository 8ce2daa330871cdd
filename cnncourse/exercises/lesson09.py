"""Checks for lesson 09, the capstone: a broken pipeline drawn for each learner, its cause, its fix.

The cause is drawn from the learner's seed here, by each check, and stored nowhere on the pipeline: the answer to
exercise 1 is not in the notebook. Exercise 2 is judged against that same cause: the learner's model must be the
mystery's own network with that bug gone, no other bug of the catalogue in it, and it must learn."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import keras
import numpy as np
from keras import layers

from cnncourse.checks import Verdict, build_answer, check_named_cause, correct, wrong
from cnncourse.depth import trainable_gradients
from cnncourse.diagnose import DIAGNOSE_CODES, SCALED_TWICE_STD, UNSCALED_MAX, VANISHING_RATIO
from cnncourse.exercises.judging import loss_output_problem
from cnncourse.probes import call_in_batches, first_layer_input, inputs_recorded, statistics_kept, weight_layers
from cnncourse.sanity import class_indices
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
    "vanishing_gradients": "Keep the 12 convolutions and let the gradient through them: activation='relu' with "
                           "kernel_initializer='he_normal' (lesson 08).",
}
FIXED = {  # what the check saw change, for the verdict of a right fix
    "unscaled_inputs": "the first convolution now receives pixels scaled to 0-1",
    "loss_output_mismatch": "the loss is now the cross-entropy of the classes the model predicts",
    "learning_rate_too_high": "the learning rate is no longer too high",
    "learning_rate_too_low": "the learning rate is no longer too low",
    "vanishing_gradients": "the gradient now reaches the first of the 12 convolutions",
}
RATE_MARGIN = 3  # a rate within this factor of the mystery's (or beyond it) is still the mystery's bug
PROBE = 64       # images the check's probes look at


def _drawn_cause(seed: int) -> str:
    # drawn here, from the seed, and never stored on the pipeline: the answer is not in the notebook
    return sorted(MYSTERIES)[int(np.random.default_rng(seed).integers(len(MYSTERIES)))]


@dataclass
class Mystery:
    """A broken pipeline: a compiled ``model`` and the arrays its owner passes to ``fit``. What breaks it is for
    the learner to find."""
    model: keras.Model
    x: np.ndarray
    y: np.ndarray
    validation_data: tuple[np.ndarray, np.ndarray]


def _broken(cause: str, num_classes: int, seed: int) -> tuple[keras.Model, keras.optimizers.Optimizer, Any]:
    keras.utils.set_random_seed(seed)
    return MYSTERIES[cause](num_classes)


def mystery_pipeline(x: np.ndarray, y: np.ndarray, validation_data: tuple[np.ndarray, np.ndarray], *,
                     seed: int) -> Mystery:
    """A pipeline with one of ``MYSTERIES``' causes, drawn from ``seed``, on the given (sound) data."""
    model, optimizer, loss = _broken(_drawn_cause(seed), int(np.max(y)) + 1, seed)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    return Mystery(model, x, y, validation_data)


def check_cause(answer: Any, *, seed: int) -> Verdict:
    """Exercise 1: ``answer`` is the code of what breaks ``mystery_pipeline(..., seed=seed)``, one of
    ``DIAGNOSE_CODES`` (case, spaces and dashes forgiven)."""
    return check_named_cause(answer, _drawn_cause(seed), DIAGNOSE_CODES, then="explains it; now fix it (exercise 2).",
                             how_to_find="Run diagnose(mystery.model, mystery.x, mystery.y, "
                                         "validation_data=mystery.validation_data) and read its first finding's "
                                         "evidence.")


# ---------------------------------------------------------------- exercise 2: the fix

def _layout(model: keras.Model, x: np.ndarray) -> list[tuple[str, tuple[int, ...]]]:
    """The layers with weights (nested models included) in the order the model calls them on ``x``: their kind and
    kernel shape."""
    kernels = weight_layers(model)
    try:
        with inputs_recorded(kernels) as seen:
            model(keras.ops.convert_to_tensor(np.asarray(x[:1], dtype="float32")), training=False)
        kernels = list(dict.fromkeys(layer for layer, _ in seen)) + [k for k in kernels if k not in dict(seen)]
    except Exception:  # noqa: BLE001 - a model that cannot be called keeps the order its layers were made in
        pass
    return [(type(layer).__name__, tuple(int(d) for d in layer.kernel.shape)) for layer in kernels]


def _described(layout: list[tuple[str, tuple[int, ...]]]) -> str:
    def one(kind, shape):
        if kind == "Conv2D" and len(shape) == 4:
            return f"Conv2D {shape[0]}×{shape[1]}, {shape[2]} → {shape[3]} channels"
        return f"{kind} {shape[0]} → {shape[-1]}" if len(shape) == 2 else f"{kind} {shape}"
    parts = [(len(list(run)), one(*layer)) for layer, run in groupby(layout)]
    return ", ".join(f"{count} × {text}" if count > 1 else text for count, text in parts) or "none"


def _rate(optimizer: Any) -> float | None:
    try:
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    except Exception:  # noqa: BLE001 - an optimizer without one readable rate: training judges it
        return None


def _gradient_ratio(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float | None:
    """The gradient that reaches the first layer with weights, as a share of the last one's (root mean squares
    of their kernels' gradients on one batch, as diagnose measures it); None where it cannot be measured."""
    loss = keras.losses.get(model.loss) if isinstance(model.loss, str) else model.loss
    try:
        with inputs_recorded(weight_layers(model)) as order, statistics_kept(model):
            grads = trainable_gradients(model, lambda yt, yp: keras.ops.mean(loss(yt, yp)),
                                        keras.ops.convert_to_tensor(np.asarray(x, dtype="float32")), np.asarray(y))
    except Exception:  # noqa: BLE001 - training judges what the probe cannot
        return None
    by_path = {variable.path: grad for variable, grad in zip(model.trainable_variables, grads)}
    called = [layer for layer in dict.fromkeys(layer for layer, _ in order)
              if by_path.get(layer.kernel.path) is not None]
    if len(called) < 2:
        return None
    first, last = (float(np.sqrt(np.mean(np.square(keras.ops.convert_to_numpy(by_path[layer.kernel.path])))))
                   for layer in (called[0], called[-1]))
    return first / last if last > 0 and np.isfinite(first) else None


def _problems(model: keras.Model, x: np.ndarray, y: np.ndarray, broken_optimizer: Any,
              cause: str) -> dict[str, tuple[str, str]]:
    """The catalogue's signatures found in the learner's compiled ``model``: code -> (evidence, hint)."""
    found = {}
    loss_problem = loss_output_problem(model, x, y, build="the mystery's network")
    if loss_problem:
        found["loss_output_mismatch"] = loss_problem
    try:
        seen, _ = first_layer_input(model, x)
    except Exception:  # noqa: BLE001 - training judges what the probe cannot
        seen = None
    if seen is not None:
        largest = float(np.max(np.abs(seen)))
        spread = float(np.mean(np.std(seen.reshape(-1, seen.shape[-1]), axis=0)))
        if largest > UNSCALED_MAX:
            found["unscaled_inputs"] = (f"values up to {largest:.0f} reach the first convolution: the pixels are not "
                                        "scaled.", FIX_HINTS["unscaled_inputs"])
        elif spread < SCALED_TWICE_STD:
            found["inputs_scaled_twice"] = (f"the values that reach the first convolution vary by only ±{spread:.2g}: "
                                            "the pixels are scaled twice.", "Scale them once, inside the model.")
    if "loss_output_mismatch" not in found:  # the gradient of a loss that does not fit says nothing
        ratio = _gradient_ratio(model, x, y)
        if ratio is not None and ratio < VANISHING_RATIO:
            found["vanishing_gradients"] = (f"the first layer with weights gets {ratio:.0e} of the last layer's "
                                            "gradient: it cannot learn.", FIX_HINTS["vanishing_gradients"])
    rate, broken_rate = _rate(model.optimizer), _rate(broken_optimizer)
    if cause.startswith("learning_rate") and type(model.optimizer) is type(broken_optimizer) and rate and broken_rate:
        too_high = cause == "learning_rate_too_high"
        if (rate >= broken_rate / RATE_MARGIN) if too_high else (rate <= broken_rate * RATE_MARGIN):
            if np.isclose(rate, broken_rate):
                near = "the mystery's own rate"
            elif (rate > broken_rate) == too_high:
                near = f"even {'higher' if too_high else 'lower'} than the mystery's {broken_rate:g}"
            else:
                near = f"within {RATE_MARGIN} times the mystery's {broken_rate:g}"
            found[cause] = (f"it trains with {type(model.optimizer).__name__} at a learning rate of {rate:g}, {near}: "
                            f"far too {'high' if too_high else 'low'}.", RATE_HINT)
    return found


class _MeasuredAccuracy(keras.callbacks.Callback):
    """After each epoch, the share of validation images whose most likely class (the largest output) is their label,
    measured from the model's outputs whatever metrics it was compiled with; shown as val_accuracy."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        super().__init__()
        self.x, self.labels, self.accuracies = x, class_indices(y), []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        outputs = call_in_batches(self.model, self.x)
        accuracy = float(np.mean(np.argmax(np.nan_to_num(outputs, nan=-np.inf), axis=1) == self.labels))
        self.accuracies.append(accuracy)
        if logs is not None:
            logs["val_accuracy"] = accuracy


def check_fix(answer: Any, mystery: Mystery, *, seed: int, epochs: int = 3, min_accuracy: float = 1 / 3) -> Verdict:
    """Exercise 2: ``answer`` is a function that returns a fresh **compiled** model: the mystery's own network (its
    layers with weights, fresh weights) with the mystery's bug fixed, the cause drawn again here from ``seed``.
    Judged by what it is and does: the same layers with weights as the mystery's model, the bug's signature gone
    and none of the catalogue's others there (loss and output that do not fit, unscaled or twice-scaled inputs,
    vanishing gradients, the mystery's learning rate), and trained as the learner compiled it for ``epochs``
    epochs on ``mystery.x``, ``mystery.y``, a best validation accuracy of at least ``min_accuracy``, measured from
    its predictions."""
    cause = _drawn_cause(seed)
    model, not_built = build_answer(answer, "fixed_model", seed=seed,
                                    example="def fixed_model():\n    model = ...\n    model.compile(...)\n"
                                            "    return model")
    if not_built:
        return not_built
    if model is mystery.model:
        return wrong("`fixed_model()` returns `mystery.model` itself: the check would train the mystery's own model, "
                     "with its bug compiled in.", "Build a fresh model from its layers, e.g. "
                     "keras.models.clone_model(mystery.model) (fresh weights), and compile that.")
    if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
        return wrong("The model is not compiled: the fix may be in the loss or the optimizer, so compile it "
                     "inside `fixed_model()`.", "model.compile(optimizer=..., loss=..., metrics=['accuracy'])")
    x, y = np.asarray(mystery.x), np.asarray(mystery.y)
    x_val, y_val = mystery.validation_data
    num_classes = int(np.max(y)) + 1
    try:
        shapes = tuple(model.input_shape[1:]), model.output_shape[-1]
    except Exception:  # noqa: BLE001 - e.g. a layer that cannot be built on the input
        shapes = None
    if shapes != (tuple(x.shape[1:]), num_classes):
        return wrong(f"The model maps {shapes[0] if shapes else 'no input shape'} to "
                     f"{shapes[1] if shapes else 'no'} outputs; it should map images of shape {x.shape[1:]} to "
                     f"{num_classes} classes.", "Start from the mystery's network: keras.models.clone_model("
                     "mystery.model).")
    broken, broken_optimizer, _ = _broken(cause, num_classes, seed)
    layout, expected = _layout(model, x), _layout(broken, x)
    if layout != expected:
        return wrong(f"Your model is not the mystery's network: its layers with weights are {_described(layout)}; "
                     f"the mystery's are {_described(expected)}.",
                     "Fix the mystery's own network instead of building another: keep its layers and change only "
                     "what is broken. keras.models.clone_model(mystery.model, clone_function=...) copies them with "
                     "fresh weights, and can change a layer on the way.")
    problems = _problems(model, x[:PROBE], y[:PROBE], broken_optimizer, cause)
    if problems:
        still = cause in problems
        evidence, hint = problems[cause] if still else next(iter(problems.values()))
        evidence = "the " + evidence[4:] if evidence.startswith("The ") else evidence
        return wrong(("The mystery's bug is still there: " if still else
                      "Your model has a bug the mystery's pipeline did not have: ") + evidence, hint)
    measured = _MeasuredAccuracy(x_val, y_val)
    try:
        history = model.fit(x, y, epochs=epochs, batch_size=64, verbose=0,
                            callbacks=[measured, EpochProgress("your fix", epochs)]).history
    except Exception as error:  # noqa: BLE001 - e.g. a loss that does not take these labels
        return wrong(f"Training your model failed: {type(error).__name__}: {str(error).strip()[:300]}")
    best = max(measured.accuracies, default=0.0)
    if best >= min_accuracy:
        return correct(f"Correct: {FIXED[cause]}, nothing else is broken, and your model reaches {best:.0%} "
                       f"validation accuracy in {epochs} epochs (chance: {1 / num_classes:.0%}).")
    diverged = " Its loss became NaN or infinite." if not np.all(np.isfinite(history.get("loss", [0.0]))) else ""
    return wrong(f"Your model reaches {best:.0%} validation accuracy in {epochs} epochs (measured from its "
                 f"predictions); the fixed pipeline should reach at least {min_accuracy:.0%}.{diverged}",
                 FIX_HINTS[cause])

