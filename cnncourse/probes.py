"""Look inside a model without changing it: the values that reach a layer, its outputs in batches, the loss
before any training, and a faithful copy."""
from __future__ import annotations

import math
from contextlib import contextmanager

import keras
import numpy as np

EXPECTED_INITIAL_LOSS = math.log(10)  # cross-entropy of a uniform guess over 10 classes
# A plain (eager) call keeps its peak memory in TensorFlow's allocator for the rest of the session: 256 images at once
# cost a notebook about 220 MB for good, 64 about 60 MB. Probes call models in batches of this size.
EAGER_BATCH = 64


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


def weight_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers with a kernel (``Conv2D``, ``Dense`` ...), nested models included, trainable or not."""
    return [layer for layer in model._flatten_layers(include_self=False, recursive=True)
            if not isinstance(layer, keras.Model) and getattr(layer, "kernel", None) is not None]


@contextmanager
def inputs_recorded(layers: list[keras.layers.Layer]):
    """Record (layer, first input) each time one of ``layers`` is called, in the order the model calls them."""
    seen = []
    for layer in layers:
        def recorded(*args, _call=layer.call, _layer=layer, **kwargs):
            seen.append((_layer, args[0] if args else next(iter(kwargs.values()))))
            return _call(*args, **kwargs)
        object.__setattr__(layer, "call", recorded)  # on the instance: Keras' __call__ runs self.call
    try:
        yield seen
    finally:
        for layer in layers:
            object.__delattr__(layer, "call")


@contextmanager
def statistics_kept(model: keras.Model):
    """Put the model's non-trainable variables (batch normalization's moving statistics) back on exit."""
    saved = [(variable, variable.numpy()) for variable in model.non_trainable_variables]
    try:
        yield
    finally:
        for variable, value in saved:
            variable.assign(value)


def layer_input(model: keras.Model, layer: keras.layers.Layer, x: np.ndarray,
                batch_size: int = EAGER_BATCH) -> np.ndarray:
    """The values ``layer`` receives (at its first call per image batch) when ``model`` sees images ``x`` in
    inference mode."""
    parts = []
    for i in range(0, len(x), batch_size):
        with inputs_recorded([layer]) as seen:
            model(keras.ops.convert_to_tensor(np.asarray(x[i:i + batch_size], dtype="float32")), training=False)
        if not seen:
            raise ValueError(f"the model does not call {layer.name!r}.")
        parts.append(keras.ops.convert_to_numpy(seen[0][1]))
    return np.concatenate(parts)


def first_called(model: keras.Model, layers: list[keras.layers.Layer], x: np.ndarray) -> keras.layers.Layer | None:
    """The first of ``layers`` that ``model`` calls on an image of ``x``, or None if it calls none of them."""
    with inputs_recorded(layers) as seen:
        model(keras.ops.convert_to_tensor(np.asarray(x[:1], dtype="float32")), training=False)
    return seen[0][0] if seen else None


def first_layer_input(model: keras.Model, x: np.ndarray) -> tuple[np.ndarray, keras.layers.Layer | None]:
    """The values the model's first layer with weights (a convolution or dense layer, however deeply
    nested) receives for images ``x`` in inference mode, and that layer: what is left of the input after
    the model's own scaling, normalization and flattening. ``(x, None)`` for a model without one."""
    layer = first_called(model, weight_layers(model), x)
    if layer is None:
        return np.asarray(x, dtype="float32"), None
    return layer_input(model, layer, x), layer


def copy_model(model: keras.Model, optimizer: keras.optimizers.Optimizer | None = None, loss=None) -> keras.Model:
    """A compiled copy of ``model`` that computes what it computes (weights, adapted ``Normalization``
    statistics, frozen layers), with its loss (or ``loss``) and a fresh optimizer of the same kind (or
    ``optimizer``).
    Raises ValueError when Keras cannot copy it faithfully (e.g. a subclassed model without ``get_config``)."""
    try:
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
    except Exception as error:  # noqa: BLE001 - Keras raises many kinds here for models it cannot rebuild
        raise ValueError(f"Keras cannot copy this model ({type(error).__name__}: {str(error)[:120]})") from None
    for layer in copy._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.Normalization) and layer.built:
            layer.finalize_state()  # its mean and variance are computed from the copied weights only here
    if optimizer is None:
        optimizer = type(model.optimizer).from_config(model.optimizer.get_config())
    copy.compile(optimizer=optimizer, loss=model.loss if loss is None else loss)
    return copy


def call_in_batches(model: keras.Model, x: np.ndarray, batch_size: int = EAGER_BATCH,
                    training: bool = False) -> np.ndarray:
    """``model``'s outputs for ``x`` as one NumPy array, the model called on ``batch_size`` images at a time
    (in training mode with ``training=True``)."""
    # A plain call, not predict(): predict compiles a function per new model, and probing
    # many models makes TensorFlow print retracing warnings into the notebook.
    x = np.asarray(x, dtype="float32")
    return np.concatenate([keras.ops.convert_to_numpy(model(x[i:i + batch_size], training=training))
                           for i in range(0, len(x), batch_size)])


def layer_output(model: keras.Model, layer_name: str, x: np.ndarray) -> np.ndarray:
    """The output of the layer named ``layer_name`` for images ``x`` (inference mode)."""
    return call_in_batches(keras.Model(model.inputs[0], model.get_layer(layer_name).output), x)


def initial_loss(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Cross-entropy of an untrained (freshly built, not necessarily compiled) model on ``(x, y)``:
    :func:`cnncourse.sanity.loss_at_init` of a copy compiled with sparse categorical cross-entropy.

    A model that starts well guesses roughly uniformly, so this is close to
    ``EXPECTED_INITIAL_LOSS`` = ln(10) ≈ 2.30; far above it means huge, confident
    outputs before the first update.
    """
    from cnncourse.sanity import loss_at_init  # not at the top: sanity imports this module

    return loss_at_init(copy_model(model, keras.optimizers.SGD(), loss="sparse_categorical_crossentropy"), x, y)


def nonfinite_weights(model: keras.Model) -> dict[str, float]:
    """For each layer with weights, the fraction of its weights that are NaN or infinite.

    Anything above 0 means training blew up: such a model can never recover, because every
    gradient that passes through a NaN is NaN too.
    """
    return {layer.name: float(np.mean([(~np.isfinite(w.numpy())).mean()
                                       for w in layer.weights]))
            for layer in model.layers if layer.weights}
