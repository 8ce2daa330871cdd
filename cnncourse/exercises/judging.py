"""What the exercise checks of lessons 06 and 09 read from a learner's compiled model: what its outputs are, whether
its loss is told they are logits, and whether that loss is the cross-entropy of the classes it predicts."""
from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

from cnncourse.sanity import class_indices
from cnncourse.signatures import output_kind


def first_line(error: Exception, limit: int = 160) -> str:
    """An exception as its type and the first line of its message, shortened to ``limit`` characters."""
    line = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {line if len(line) <= limit else line[:limit - 1] + '…'}"


def as_probabilities(outputs: np.ndarray) -> tuple[np.ndarray, bool]:
    """The model's predicted distribution, and whether its outputs already were probabilities."""
    outputs = np.asarray(outputs, dtype="float64")
    if outputs.min() >= 0 and np.allclose(outputs.sum(axis=1), 1, atol=1e-3):
        return outputs, True
    shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True), False


def uses_logits(loss: Any) -> bool:
    """Whether a compiled loss is told its inputs are logits (``from_logits=True``)."""
    get_config = getattr(loss, "get_config", None)
    return bool(callable(get_config) and get_config().get("from_logits"))


def last_activation(model: keras.Model) -> str | None:
    """The activation the model's last layer declares ("linear" for none), or None where it declares none that
    can be read (a Lambda, a custom layer)."""
    leaves = [layer for layer in model._flatten_layers(include_self=False, recursive=True)
              if not isinstance(layer, (keras.Model, keras.layers.InputLayer))]
    if not leaves:
        return None
    if isinstance(leaves[-1], keras.layers.Softmax):
        return "softmax"
    if isinstance(leaves[-1], keras.layers.ReLU):
        return "relu"
    return getattr(getattr(leaves[-1], "activation", None), "__name__", None)


def looks_sigmoid(model: keras.Model, outputs: np.ndarray) -> bool:
    """True for outputs that are each between 0 and 1 without summing to 1: a sigmoid on the last layer."""
    declared = last_activation(model)
    return not as_probabilities(outputs)[1] and (declared == "sigmoid" or declared is None
                                                 and output_kind(outputs) == "sigmoid")


def sigmoid_problem(model: keras.Model, told_logits: bool, build: str) -> tuple[str, str]:
    """The verdict's message and hint for a sigmoid output (``looks_sigmoid``); ``build`` names the model the
    exercise asks for."""
    told = ("the loss is told they are logits (from_logits=True), which they are not either: Keras on TensorFlow "
            "notices the sigmoid and quietly uses the numbers before it, other backends do not"
            if told_logits else "the loss reads them as one distribution over the classes, which they are not")
    where = "its last layer applies a sigmoid" if last_activation(model) == "sigmoid" else "as a sigmoid's do"
    return (f"The model's outputs are each between 0 and 1 but do not sum to 1 ({where}): one yes/no probability "
            f"per class, neither logits nor a distribution over the classes; and {told}.",
            f"Build {build} and compile it with SparseCategoricalCrossentropy(from_logits=True) on logits (no "
            "activation on the last layer), or end it in a softmax with the default from_logits=False.")


DOUBLE_SOFTMAX = ("The model's outputs are already probabilities (it ends in a softmax), but the loss is told they "
                  "are logits (from_logits=True). Keras on TensorFlow notices, warns and uses the numbers before the "
                  "softmax; on JAX or PyTorch the softmax would be applied twice.",
                  "Either drop the softmax from the last layer or drop from_logits=True.")


def cross_entropy(outputs: np.ndarray, y: np.ndarray) -> float:
    """The mean cross-entropy of the classes ``outputs`` predict (a softmax of them where they are not
    probabilities yet) for the labels ``y``."""
    probabilities, _ = as_probabilities(outputs)
    labels = class_indices(y)
    return float(np.mean(-np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1))))


def mismatch_hint(were_probabilities: bool, told_logits: bool) -> str:
    """What to do when the loss is not the cross-entropy of the predicted classes."""
    if were_probabilities:
        return ("The model's outputs are already probabilities (a softmax): the loss must read them as they are, "
                "with the default from_logits=False.")
    if told_logits:
        return ("The loss is told the outputs are logits, yet it is not the cross-entropy of their softmax: use "
                "keras.losses.SparseCategoricalCrossentropy(from_logits=True) itself.")
    return ("This model's last layer has no softmax: its outputs are logits, and the loss must be told so "
            "(from_logits=True).")


def loss_value(model: keras.Model, y: np.ndarray, outputs: np.ndarray) -> float:
    """The model's compiled loss (without regularization) of ``outputs`` for the labels ``y``, averaged."""
    loss = keras.losses.get(model.loss) if isinstance(model.loss, str) else model.loss
    value = loss(np.asarray(y), keras.ops.convert_to_tensor(np.asarray(outputs, dtype="float32")))
    return float(np.mean(keras.ops.convert_to_numpy(value)))


def loss_output_problem(model: keras.Model, x: np.ndarray, y: np.ndarray, *, build: str) -> tuple[str, str] | None:
    """``(message, hint)`` where the compiled model's loss and output do not fit the integer labels ``y``: a softmax
    told ``from_logits=True``, a sigmoid output, a loss that cannot take the labels, or a loss that is not the
    cross-entropy of the classes the model predicts on ``x``; None where they fit."""
    try:
        outputs = keras.ops.convert_to_numpy(model(np.asarray(x, dtype="float32"), training=False))
        reported = loss_value(model, y, outputs)
    except Exception as error:  # noqa: BLE001 - the learner's pairing may not even run: say what Keras said
        return (f"Keras cannot compute your model's loss on the integer labels: {first_line(error)}",
                "The labels are integers, one per image: the loss for them is the *sparse* categorical "
                "cross-entropy.")
    _, were_probabilities = as_probabilities(outputs)
    told_logits = uses_logits(model.loss)
    if were_probabilities and told_logits:
        return DOUBLE_SOFTMAX
    if looks_sigmoid(model, outputs):
        return sigmoid_problem(model, told_logits, build)
    expected = cross_entropy(outputs, y)
    if not math.isclose(reported, expected, rel_tol=1e-3, abs_tol=1e-3):
        return (f"The loss ({reported:.3f}) is not the cross-entropy of the classes the model predicts "
                f"({expected:.3f}): loss and output do not fit.", mismatch_hint(were_probabilities, told_logits))
    return None
