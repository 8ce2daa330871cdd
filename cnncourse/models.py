"""The small reference CNN every lesson starts from.

It is deliberately plain: three convolution blocks and a two-layer classifier, with switches for
the ingredients the lessons add or remove (input scaling, augmentation, dropout, batch
normalization, width). Input scaling lives *inside* the model, so the model takes raw
``uint8`` images and nobody can forget to scale them at prediction time.
"""
from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers


def reference_cnn(*, width: int = 32, dropout: float = 0.0, batch_norm: bool = False, l2: float = 0.0,
                  scale_inputs: bool = True, preprocessing: Sequence[keras.layers.Layer] = (),
                  augmentation: Sequence[keras.layers.Layer] = (), dense_units: int = 128, num_classes: int = 10,
                  input_shape: tuple[int, ...] = (32, 32, 3), name: str = "reference_cnn") -> keras.Sequential:
    """Build (not compile) the reference CNN.

    Args:
        width: filters in the first block; the next blocks use 2x and 4x as many.
        dense_units: size of the hidden layer of the classifier.
        dropout: dropout rate before the classifier (0 = none).
        batch_norm: add BatchNormalization after every convolution. Its running statistics use
            momentum 0.9 (Keras' default 0.99 lags behind the weights in the few hundred
            steps a lesson trains, and validation accuracy collapses).
        l2: weight decay as an L2 penalty ``l2 * sum(w**2)`` on every kernel (0 = none).
        scale_inputs: start with ``Rescaling(1/255)`` so the model takes raw 0-255 pixels.
        preprocessing: layers applied to the input after that (e.g. an adapted ``Normalization``).
        augmentation: Keras preprocessing layers (e.g. ``RandomFlip``) applied after scaling;
            they are active only during training.
    """
    if width < 1 or not 0 <= dropout < 1 or l2 < 0:
        raise ValueError(f"need width >= 1, 0 <= dropout < 1 and l2 >= 0, got width={width}, "
                         f"dropout={dropout}, l2={l2}.")
    penalty = {"kernel_regularizer": keras.regularizers.L2(l2)} if l2 else {}
    model = keras.Sequential(name=name)
    model.add(keras.Input(shape=input_shape))
    if scale_inputs:
        model.add(layers.Rescaling(1 / 255, name="scale_0_1"))
    for layer in (*preprocessing, *augmentation):
        model.add(layer)
    for block, filters in enumerate((width, 2 * width, 4 * width), start=1):
        model.add(layers.Conv2D(filters, 3, padding="same", use_bias=not batch_norm, name=f"conv{block}",
                                **penalty))
        if batch_norm:
            model.add(layers.BatchNormalization(momentum=0.9, name=f"bn{block}"))
        model.add(layers.ReLU(name=f"relu{block}"))
        model.add(layers.MaxPooling2D(name=f"pool{block}"))
    model.add(layers.Flatten(name="flatten"))
    if dropout:
        model.add(layers.Dropout(dropout, name="dropout"))
    model.add(layers.Dense(dense_units, activation="relu", name="dense", **penalty))
    model.add(layers.Dense(num_classes, activation="softmax", name="class_probabilities", **penalty))
    return model


def augmentation_layers(*, flip: bool = True, shift: float = 0.1, zoom: float = 0.1, rotation: float = 0.0,
                        seed: int | None = None) -> list[keras.layers.Layer]:
    """The usual image augmentations as a list of Keras layers, for ``reference_cnn(augmentation=...)``.

    flip:     mirror left-right (never upside down: CIFAR-10's objects stand upright).
    shift:    move by up to this fraction of the height and width (0.1 = 3 pixels).
    zoom:     zoom in or out by up to this fraction (zooming in crops the picture).
    rotation: rotate by up to this fraction of a full turn (0.05 = 18 degrees).
    A strength of 0 leaves that layer out; Keras fills uncovered borders by reflection. Give
    ``seed`` for repeatable draws.
    """
    strengths = {"shift": shift, "zoom": zoom, "rotation": rotation}
    bad = {name: value for name, value in strengths.items() if not 0 <= value < 1}
    if bad:
        raise ValueError(f"augmentation strengths are fractions in [0, 1), got {bad}.")
    candidates = [
        (flip, lambda: layers.RandomFlip("horizontal", seed=seed)),
        (shift, lambda: layers.RandomTranslation(shift, shift, seed=seed)),
        (zoom, lambda: layers.RandomZoom(zoom, seed=seed)),
        (rotation, lambda: layers.RandomRotation(rotation, seed=seed)),
    ]
    return [make() for wanted, make in candidates if wanted]
