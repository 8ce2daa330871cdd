"""Deep networks (lesson 08): what reaches each layer, forward (activations) and backward (gradients).

Both probes leave the model as it was: they read, they do not train (batch normalization's moving
statistics, which a forward pass in training mode would update, are put back).
"""
from __future__ import annotations

import keras
import numpy as np
import pandas as pd

from cnncourse.probes import statistics_kept
from cnncourse.sanity import check_pair, class_indices, true_accuracy

FLAT_SLOPE = 0.01  # an activation whose slope is below this passes (almost) no gradient back

# The slope of each activation as a function of its *output* a, where there is a simple one.
_SLOPES = {
    "sigmoid": lambda a: a * (1 - a),
    "tanh": lambda a: 1 - a * a,
    "relu": lambda a: keras.ops.cast(a > 0, "float32"),
}


def _activation_name(layer: keras.layers.Layer) -> str | None:
    if isinstance(layer, keras.layers.ReLU):
        return "relu"
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None)
    return None if name in (None, "linear") else name


def _check_model(model: object) -> None:
    if not isinstance(model, keras.Model):
        raise TypeError(f"need a Keras model, got {type(model).__name__}.")
    if not model.built:
        raise ValueError(f"model {model.name!r} is not built yet: give it a keras.Input(shape=...) first.")


def _batches(n: int, batch_size: int | None) -> list[slice]:
    """Slices that cut ``n`` items into batches of ``batch_size`` (the last may be smaller); one batch if None."""
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive whole number or None, got {batch_size!r}.")
    step = batch_size or n
    return [slice(start, start + step) for start in range(0, n, step)]


def activation_stats(model: keras.Model, x: np.ndarray, training: bool = False,
                     batch_size: int | None = None) -> pd.DataFrame:
    """For every layer that applies an activation (``Activation``, ``ReLU``, or ``Conv2D``/``Dense``
    with ``activation=...``), statistics of its output on images ``x``, one row per layer from input
    to output:

    - ``mean`` and ``std`` of the values;
    - ``flat``: the share of values where the activation's slope is below ``FLAT_SLOPE`` (0.01), i.e.
      where (almost) no gradient passes back: a ReLU at 0 (dead), a sigmoid near 0 or 1, a tanh near
      -1 or 1 (saturated). NaN for activations without a simple slope (softmax).
    - ``dead``: the share of units (channels of a convolution, neurons of a dense layer) that are flat on
      every image and at every position: they pass no gradient for any input, which is what a *dead* ReLU is.
      A high ``flat`` share with few dead units is a ReLU working: each unit is off for some inputs only.

    ``training=True`` runs the layers as in training (batch normalization uses the batch's own
    statistics); the default is inference, as ``predict`` does. ``batch_size`` (e.g. 64, as ``fit``) runs
    ``x`` in batches of that size, so memory grows with it instead of with ``len(x)``; by default the whole
    of ``x`` is one batch.
    """
    _check_model(model)
    probed = [layer for layer in model.layers if _activation_name(layer)]
    if not probed:
        raise ValueError(f"model {model.name!r} has no layer with an activation to probe.")
    x = np.asarray(x, dtype="float32")
    batches = _batches(len(x), batch_size)
    probe = keras.Model(model.inputs, [layer.output for layer in probed])
    totals = [{"n": 0, "sum": 0.0, "squares": 0.0, "flat": 0, "alive": None} for _ in probed]
    with statistics_kept(model):
        for batch in batches:
            outputs = probe(keras.ops.convert_to_tensor(x[batch]), training=training)
            for layer, output, total in zip(probed, outputs, totals):
                values = keras.ops.convert_to_numpy(output)
                total["n"] += values.size
                total["sum"] += values.sum(dtype="float64")
                total["squares"] += np.square(values, dtype="float64").sum()
                slope = _SLOPES.get(_activation_name(layer))
                if slope:
                    flat = keras.ops.convert_to_numpy(slope(output) < FLAT_SLOPE)
                    total["flat"] += int(flat.sum())
                    alive = ~flat.reshape(-1, flat.shape[-1]).all(axis=0)
                    total["alive"] = alive if total["alive"] is None else total["alive"] | alive
    rows = []
    for layer, total in zip(probed, totals):
        mean = total["sum"] / total["n"]
        has_slope = total["alive"] is not None
        rows.append({"layer": layer.name, "activation": _activation_name(layer), "mean": float(mean),
                     "std": float(np.sqrt(max(total["squares"] / total["n"] - mean ** 2, 0.0))),
                     "flat": total["flat"] / total["n"] if has_slope else np.nan,
                     "dead": float(1 - total["alive"].mean()) if has_slope else np.nan})
    return pd.DataFrame(rows).set_index("layer")


def trainable_gradients(model: keras.Model, loss, x, y) -> list:
    """Gradients of ``loss(y, model(x))`` with respect to ``model.trainable_variables``, in training
    mode, on whichever backend Keras runs (Keras 3 has no backend-neutral gradient call)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        with tf.GradientTape() as tape:
            value = loss(y, model(x, training=True))
        return tape.gradient(value, model.trainable_variables)
    if backend == "jax":
        import jax
        fixed = [variable.value for variable in model.non_trainable_variables]

        def loss_of(trainable):
            y_pred, _ = model.stateless_call(trainable, fixed, x, training=True)
            return loss(y, y_pred)
        return jax.grad(loss_of)([variable.value for variable in model.trainable_variables])
    if backend == "torch":
        model.zero_grad()
        loss(y, model(x, training=True)).backward()
        return [variable.value.grad for variable in model.trainable_variables]
    raise NotImplementedError(f"gradient_rms does not know Keras' {backend!r} backend.")


def gradient_rms(model: keras.Model, x: np.ndarray, y: np.ndarray, loss=None,
                 batch_size: int | None = None) -> pd.Series:
    """How much gradient reaches each layer: for every trainable layer with a kernel (``Conv2D``, ``Dense``),
    the root mean square of the gradient of the loss on ``(x, y)`` with respect to its kernel
    weights, one value per layer from input to output. The mean square, not the sum, so that
    layers of different sizes compare.

    ``loss`` is a Keras loss (default: the model's compiled loss, else sparse categorical
    cross-entropy). In training mode, as ``fit`` computes it; nothing is updated. ``batch_size`` (e.g. 64,
    as ``fit``) splits ``x`` into batches and averages their gradients, weighted by their sizes: the same
    gradient for a model without batch normalization, batch statistics of the size training uses for one with
    it, and memory that grows with ``batch_size`` instead of ``len(x)`` (the whole of ``x`` is one batch by
    default).
    """
    _check_model(model)
    check_pair(x, y)
    if loss is None:
        loss = getattr(model, "loss", None) or "sparse_categorical_crossentropy"
    loss_fn = keras.losses.get(loss)
    if not callable(loss_fn):
        raise ValueError(f"unknown loss {loss!r}.")
    trainable = {variable.path for variable in model.trainable_variables}
    kernels = [(layer.name, layer.kernel) for layer in _kernel_layers(model) if layer.kernel.path in trainable]
    if not kernels:
        raise ValueError(f"model {model.name!r} has no trainable layer with a kernel (Conv2D, Dense).")
    x, labels = np.asarray(x), class_indices(y) if np.ndim(y) == 1 else np.asarray(y, dtype="float32")
    batches = _batches(len(labels), batch_size)
    paths = [variable.path for variable in model.trainable_variables]
    total = dict.fromkeys([kernel.path for _, kernel in kernels], 0.0)
    with statistics_kept(model):
        for batch in batches:
            grads = trainable_gradients(model, lambda yt, yp: keras.ops.mean(loss_fn(yt, yp)),
                                        keras.ops.convert_to_tensor(np.asarray(x[batch], dtype="float32")),
                                        labels[batch])
            for path, grad in zip(paths, grads):
                if path in total:
                    total[path] = total[path] + keras.ops.convert_to_numpy(grad) * len(labels[batch])
    return pd.Series({name: float(np.sqrt(np.mean(np.square(total[kernel.path] / len(labels)))))
                      for name, kernel in kernels}, name="gradient RMS")


def conv_layers(model: keras.Model) -> int:
    """How many ``Conv2D`` layers the model has (its depth, in the sense of lesson 08)."""
    _check_model(model)
    return sum(isinstance(layer, keras.layers.Conv2D) for layer in model.layers)


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray, training: bool = False, batch_size: int = 250) -> float:
    """Accuracy of ``model`` on ``(x, y)`` in inference mode (as ``evaluate`` and ``predict``), or with
    ``training=True`` as during ``fit``: batch normalization then normalizes each batch of ``batch_size``
    images with that batch's own statistics instead of its moving averages. Changes nothing in the model.
    :func:`cnncourse.sanity.true_accuracy` with lesson 08's batch size."""
    _check_model(model)
    return true_accuracy(model, x, y, batch_size, training=training)


def batch_norm_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    """The model's ``BatchNormalization`` layers, input side first."""
    _check_model(model)
    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


def refresh_batch_norm(model: keras.Model, x: np.ndarray) -> None:
    """Replace every batch-normalization layer's moving mean and variance with the statistics of
    images ``x`` under the current weights (one forward pass in training mode; weights unchanged).
    What the moving averages would converge to if the weights stopped changing."""
    layers = batch_norm_layers(model)
    if not layers:
        raise ValueError(f"model {model.name!r} has no BatchNormalization layer.")
    momenta = [layer.momentum for layer in layers]
    try:
        for layer in layers:
            layer.momentum = 0.0  # the next update keeps nothing of the old averages
        model(np.asarray(x, dtype="float32"), training=True)
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum


def _kernel_layers(model: keras.Model) -> list[keras.layers.Layer]:
    return [layer for layer in model.layers if getattr(layer, "kernel", None) is not None]


def kernel_snapshot(model: keras.Model) -> dict[str, np.ndarray]:
    """A copy of every kernel (``Conv2D``, ``Dense``) of the model, by layer name: take one before
    training, and :func:`weight_change` tells how far each layer moved."""
    _check_model(model)
    return {layer.name: layer.kernel.numpy().copy() for layer in _kernel_layers(model)}


def weight_change(snapshot: dict[str, np.ndarray], model: keras.Model) -> pd.Series:
    """How far each layer's kernel moved since ``snapshot`` (from :func:`kernel_snapshot` of the
    same model), relative to where it started: ‖after − before‖ / ‖before‖, input side first.
    A layer that receives no gradient stays near 0."""
    _check_model(model)
    names = [layer.name for layer in _kernel_layers(model)]
    if not isinstance(snapshot, dict) or sorted(snapshot) != sorted(names):
        raise ValueError("snapshot must come from kernel_snapshot() of this same model (its layer names differ).")
    change = {}
    for name in names:
        before, after = snapshot[name], model.get_layer(name).kernel.numpy()
        change[name] = float(np.linalg.norm(after - before) / np.linalg.norm(before))
    return pd.Series(change, name="relative weight change")
