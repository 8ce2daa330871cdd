"""Checks for lesson 11, reusing a trained network: a transfer model judged by what its backbone receives and what
it trains, and a broken transfer pipeline drawn for each learner to diagnose."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from keras import layers

from cnncourse.backbone import Backbone, preprocess_input, preprocessing_layer
from cnncourse.checks import Verdict, build_answer, check_named_cause, correct, wrong
from cnncourse.diagnose import DIAGNOSE_CODES
from cnncourse.probes import layer_input
from cnncourse.training import EpochProgress

CAUSES = ("frozen_model", "inputs_scaled_twice", "preprocessing_mismatch")
EVIDENCE_HINTS = {
    "frozen_model": "Count the trainable weights: model.trainable_weights.",
    "inputs_scaled_twice": "Look at the values that reach the backbone's first convolution.",
    "preprocessing_mismatch": "Compare what the backbone's first BatchNormalization receives with what it stored.",
}


def _drawn_cause(seed: int) -> str:
    # drawn here, from the seed, and never stored on the pipeline: the answer is not in the notebook
    return CAUSES[int(np.random.default_rng([int(seed), 11]).integers(len(CAUSES)))]


@dataclass
class Pipeline:
    """A learner's transfer pipeline: a compiled ``model`` and what they pass to ``fit``."""
    model: keras.Model
    x: np.ndarray
    y: np.ndarray
    validation_data: tuple[np.ndarray, np.ndarray]


def mystery_pipeline(backbone: Backbone, x: np.ndarray, y: np.ndarray,
                     validation_data: tuple[np.ndarray, np.ndarray], *, seed: int) -> Pipeline:
    """A transfer model on ``backbone`` with one of ``CAUSES`` planted in it, drawn from ``seed``: the whole model
    frozen, the backbone's preprocessing applied twice, or pixels scaled to 0-1 instead of it."""
    cause = _drawn_cause(seed)
    keras.utils.set_random_seed(seed)
    base = backbone.copy()
    base.trainable = False
    inputs = keras.Input(shape=(32, 32, 3))
    if cause == "preprocessing_mismatch":
        h = layers.Rescaling(1 / 255)(inputs)
    else:
        h = preprocessing_layer(backbone)(inputs)
        if cause == "inputs_scaled_twice":
            h = preprocessing_layer(backbone, name="preprocessing_again")(h)
    outputs = layers.Dense(int(np.max(y)) + 1, activation="softmax")(layers.Dropout(0.3)(base(h)))
    model = keras.Model(inputs, outputs)
    if cause == "frozen_model":
        model.trainable = False
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return Pipeline(model, x, y, validation_data)


def check_cause(answer: Any, *, seed: int) -> Verdict:
    """Exercise 2: ``answer`` names what breaks ``mystery_pipeline(..., seed=seed)``: one of ``diagnose``'s codes."""
    given = "_".join(str(answer).strip().lower().replace("-", " ").split())
    return check_named_cause(answer, _drawn_cause(seed), DIAGNOSE_CODES,
                             how_to_find="Run diagnose(mystery.model, mystery.x, mystery.y, "
                                         "validation_data=mystery.validation_data) and read its evidence. "
                                         + EVIDENCE_HINTS.get(given, ""))


# ---------------------------------------------------------------- exercise 1: the transfer model

def _backbone_layer(model: keras.Model, name: str):
    found = [layer for layer in model._flatten_layers(include_self=False, recursive=True) if layer.name == name]
    return found[0] if found else None


def check_transfer_model(answer: Any, backbone: Backbone, x: np.ndarray, y: np.ndarray,
                         validation_data: tuple[np.ndarray, np.ndarray], *, seed: int = 0, epochs: int = 5,
                         min_accuracy: float = 0.5) -> Verdict:
    """Exercise 1: ``answer()`` builds and compiles a model of 0-255 images that reuses the pretrained ``backbone``
    with a new head. Judged on what it is and does: the backbone's pretrained weights are in it, its first
    convolution receives exactly what the backbone's preprocessing makes of the images (applied once), something
    trains, and ``epochs`` epochs of training on ``x``, ``y`` reach ``min_accuracy`` on ``validation_data``."""
    model, not_built = build_answer(answer, "transfer_model", seed=seed,
                                    example="def transfer_model():\n    base = backbone.copy()\n    ...\n"
                                            "    model.compile(...)\n    return model")
    if not_built:
        return not_built
    if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
        return wrong("The model is not compiled: compile it inside `transfer_model()`.",
                     "model.compile(optimizer=keras.optimizers.Adam(1e-3), loss='sparse_categorical_crossentropy', "
                     "metrics=['accuracy'])")
    num_classes = int(np.max(y)) + 1
    if tuple(model.input_shape[1:]) != (32, 32, 3) or model.output_shape[-1] != num_classes:
        return wrong(f"The model maps {model.input_shape[1:]} to {model.output_shape[-1]} outputs; it should map "
                     f"(32, 32, 3) images to {num_classes} classes.")
    first_conv = _backbone_layer(model, "block1_conv")
    if first_conv is None or not np.allclose(keras.ops.convert_to_numpy(first_conv.kernel),
                                             keras.ops.convert_to_numpy(backbone.model.get_layer("block1_conv").kernel)):
        return wrong("The model does not hold the pretrained backbone's weights (its block1_conv is missing or "
                     "differs).", "Start from base = backbone.copy(): build_backbone() gives random weights.")
    if not model.trainable_weights:
        return wrong("Nothing in your model is trainable: training cannot change what it computes.",
                     "Freeze the backbone (base.trainable = False), not the whole model: the new head must learn.")
    try:
        seen = layer_input(model, first_conv, x[:256])
    except ValueError:
        return wrong("Your model holds the backbone but does not call it on its input.",
                     "features = base(preprocessing_layer(backbone)(inputs))")
    expected = preprocess_input(x[:256], backbone)
    if not np.allclose(seen, expected, atol=1e-3 * float(np.std(expected)) + 1e-4, rtol=1e-3):
        readings = {"raw pixels: the backbone's preprocessing is missing": np.asarray(x[:256], dtype="float32"),
                    "pixels scaled to 0-1, not the backbone's preprocessing": np.asarray(x[:256], "float32") / 255,
                    "the backbone's preprocessing applied twice": preprocess_input(expected, backbone)}
        why = next((name for name, values in readings.items() if np.allclose(seen, values, rtol=1e-3, atol=1e-3)),
                   "values preprocessed another way than the backbone's training images")
        return wrong(f"The backbone's first convolution receives {why} (mean {float(np.mean(seen)):.3g}, standard "
                     f"deviation {float(np.std(seen)):.3g}; with its own preprocessing: mean "
                     f"{float(np.mean(expected)):.3g}, standard deviation {float(np.std(expected)):.3g}).",
                     "Put preprocessing_layer(backbone) once, right after the Input, and nothing else that scales.")
    try:
        history = model.fit(x, y, validation_data=validation_data, epochs=epochs, batch_size=32, verbose=0,
                            callbacks=[EpochProgress("your transfer model", epochs)]).history
    except Exception as error:  # e.g. a loss that does not take these labels
        return wrong(f"Training your model failed: {type(error).__name__}: {error}")
    if "val_accuracy" not in history:
        return wrong("Your model was compiled without an accuracy metric, so the check cannot score it.",
                     "Compile with metrics=['accuracy'].")
    best = float(np.max(np.nan_to_num(history["val_accuracy"])))
    if best < min_accuracy:
        return wrong(f"Your transfer model reaches {best:.0%} validation accuracy in {epochs} epochs; reusing the "
                     f"backbone should reach at least {min_accuracy:.0%}.",
                     "Check the head's activation and loss, and the learning rate (Adam at 1e-3 works).")
    frozen = "frozen" if not any(w.trainable for w in first_conv.weights) else "trainable"
    return correct(f"Correct: the pretrained backbone ({frozen}) receives standardized images, and the model reaches "
                   f"{best:.0%} validation accuracy in {epochs} epochs.")
