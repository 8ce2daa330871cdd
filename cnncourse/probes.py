"""Look inside a model: the values that reach a layer, and the loss before any training."""
from __future__ import annotations

import math

import keras
import numpy as np

EXPECTED_INITIAL_LOSS = math.log(10)  # cross-entropy of a uniform guess over 10 classes


def first_conv_input(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """The values the model's first ``Conv2D`` receives for images ``x`` (inference mode):
    what is left of the input after the model's own scaling and normalization."""
    h = keras.ops.convert_to_tensor(np.asarray(x, dtype="float32"))
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            return keras.ops.convert_to_numpy(h)
        if not isinstance(layer, keras.layers.InputLayer):
            h = layer(h, training=False)
    raise ValueError(f"model {model.name!r} has no Conv2D layer.")


def _call_in_batches(model, x, batch_size=256, training=False):
    # A plain call, not predict(): predict compiles a function per new model, and probing
    # many models makes TensorFlow print retracing warnings into the notebook.
    x = np.asarray(x, dtype="float32")
    return np.concatenate([keras.ops.convert_to_numpy(model(x[i:i + batch_size], training=training))
                           for i in range(0, len(x), batch_size)])


def layer_output(model: keras.Model, layer_name: str, x: np.ndarray) -> np.ndarray:
    """The output of the layer named ``layer_name`` for images ``x`` (inference mode)."""
    return _call_in_batches(keras.Model(model.inputs[0], model.get_layer(layer_name).output), x)


def initial_loss(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Cross-entropy of an untrained (freshly built) model on ``(x, y)``.

    A model that starts well guesses roughly uniformly, so this is close to
    ``EXPECTED_INITIAL_LOSS`` = ln(10) ≈ 2.30; far above it means huge, confident
    outputs before the first update.
    """
    probabilities = _call_in_batches(model, x)
    return float(keras.ops.convert_to_numpy(
        keras.losses.sparse_categorical_crossentropy(y, probabilities)).mean())


def nonfinite_weights(model: keras.Model) -> dict[str, float]:
    """For each layer with weights, the fraction of its weights that are NaN or infinite.

    Anything above 0 means training blew up: such a model can never recover, because every
    gradient that passes through a NaN is NaN too.
    """
    return {layer.name: float(np.mean([(~np.isfinite(w.numpy())).mean()
                                       for w in layer.weights]))
            for layer in model.layers if layer.weights}
