"""Checks for lesson 03, "Unnormalized pixels"."""
from __future__ import annotations

from typing import Any

import keras
import numpy as np

from cnncourse.checks import Verdict, check_array, check_choice, correct, not_attempted, wrong
from cnncourse.probes import first_conv_input


def check_channel_stats(mean: Any, std: Any, x: np.ndarray) -> Verdict:
    """Exercise 1: per-channel mean and standard deviation of ``uint8`` images, on the 0-255 scale."""
    x = np.asarray(x)
    # One channel at a time: a float64 copy of all channels at once would cost ~120 MB.
    expected_mean, expected_std = np.empty(x.shape[-1]), np.empty(x.shape[-1])
    for c in range(x.shape[-1]):
        channel = x[..., c].astype("float64")
        expected_mean[c], expected_std[c] = channel.mean(), channel.std()
    for name, answer, expected in (("mean", mean, expected_mean), ("std", std, expected_std)):
        if answer is None:
            return not_attempted(name)
        shape = np.shape(answer)
        if shape and shape != (3,):
            return wrong(f"`{name}` has shape {shape}; it should hold one number per colour channel (3).",
                         "Average over images, rows and columns at once: axis=(0, 1, 2).")
        if shape == ():
            return wrong(f"`{name}` is a single number; it should hold one per colour channel (3).",
                         "Average over images, rows and columns but not channels: axis=(0, 1, 2).")
        if np.allclose(np.asarray(answer, dtype="float64") * 255, expected, rtol=1e-3):
            return wrong(f"`{name}` is on the 0-1 scale.", "Compute it on the raw 0-255 pixels.")
        # Summing millions of pixels in float32 drifts by a few tenths; real mistakes are far larger.
        verdict = check_array(answer, expected, name=name, atol=1.0,
                              hint="x.mean(axis=(0, 1, 2)) and x.std(axis=(0, 1, 2)): one value per channel.")
        if not verdict.passed:
            return verdict
    return correct(f"Correct: mean {np.round(expected_mean, 1)}, std {np.round(expected_std, 1)}. "
                   "Normalization.adapt computes exactly these.")


def check_self_normalizing(model: Any, raw_images: np.ndarray) -> Verdict:
    """Exercise 2: a model that takes raw ``uint8`` images and standardizes them itself."""
    if model is None:
        return not_attempted("model")
    if not isinstance(model, keras.Model):
        return wrong(f"`model` should be a Keras model, not a {type(model).__name__}.",
                     "Call the builder: reference_cnn(...) returns a model.")
    try:
        seen = first_conv_input(model, raw_images)
    except Exception as exc:  # a learner's model can fail in many ways; report, don't crash
        return wrong(f"Running the model's first layers on raw images failed: {type(exc).__name__}: {exc}",
                     "Did you adapt() the Normalization layer before building the model?")
    spread = seen.std()
    if seen.max() <= 1 / 255 + 1e-6:
        return wrong(f"The first convolution sees values up to only {seen.max():.4f}: scaled twice.",
                     "Normalization already scales the raw pixels: switch off scale_inputs.")
    if seen.max() > 20:
        return wrong(f"The first convolution sees values up to {seen.max():.0f}: the input is not scaled.",
                     "Add an adapted keras.layers.Normalization() as preprocessing.")
    if abs(seen.mean()) > 0.5 or not 0.5 < spread < 2:
        return wrong(f"The first convolution sees mean {seen.mean():.2f} and spread {spread:.2f}; "
                     "standardized inputs have mean about 0 and spread about 1.",
                     "Adapt the Normalization layer on raw training images (0-255), and don't also rescale.")
    return correct(f"Correct: raw pixels reach the first convolution with mean {seen.mean():.2f} and "
                   f"spread {spread:.2f}, and nobody can forget to normalize at prediction time.")


def check_twice(answer: Any) -> Verdict:
    """Exercise 3: which pipeline normalizes twice."""
    return check_choice(answer, "B", name="twice", explanations={
        "A": "the model rescales raw 0-255 pixels once; that is the course's default.",
        "C": "the data is scaled once, and the model is told not to scale again (scale_inputs=False).",
    }, success="Correct: B divides by 255 in the data and again in the model, so the first convolution "
                "sees values below 0.004. Nothing crashes; it just learns slowly or not at all.")
