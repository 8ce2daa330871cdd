"""Checks for lesson 03, "Unnormalized pixels"."""
from __future__ import annotations

from typing import Any

import keras
import numpy as np

from cnncourse.checks import Verdict, as_numbers, check_array, correct, not_a_number, not_attempted, shown, wrong
from cnncourse.models import reference_cnn
from cnncourse.probes import first_conv_input


def _channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and standard deviation, one channel at a time: a float64 copy of all channels
    at once would cost ~120 MB for 5,000 images."""
    x = np.asarray(x)
    mean, std = np.empty(x.shape[-1]), np.empty(x.shape[-1])
    for c in range(x.shape[-1]):
        channel = x[..., c].astype("float64")
        mean[c], std[c] = channel.mean(), channel.std()
    return mean, std


def check_channel_stats(mean: Any, std: Any, x: np.ndarray) -> Verdict:
    """Exercise 1: per-channel mean and standard deviation of ``uint8`` images, on the 0-255 scale."""
    expected_mean, expected_std = _channel_stats(x)
    for name, answer, expected in (("mean", mean, expected_mean), ("std", std, expected_std)):
        if answer is None:
            return not_attempted(name)
        values = as_numbers(answer)  # text stays text: ["125.3", ...] is no answer, and ["a", ...] no crash
        if values is None:
            return not_a_number(answer, name, expected="an array of 3 numbers, one per colour channel",
                                hint="x.mean(axis=(0, 1, 2)) and x.std(axis=(0, 1, 2)): one value per channel.")
        shape = values.shape
        if shape and shape != (3,):
            return wrong(f"`{name}` has shape {shape}; it should hold one number per colour channel (3).",
                         "Average over images, rows and columns at once: axis=(0, 1, 2).")
        if shape == ():
            return wrong(f"`{name}` is a single number; it should hold one per colour channel (3).",
                         "Average over images, rows and columns but not channels: axis=(0, 1, 2).")
        if np.allclose(values * 255, expected, rtol=1e-3):
            return wrong(f"`{name}` is on the 0-1 scale.", "Compute it on the raw 0-255 pixels.")
        # Summing millions of pixels in float32 drifts by a few tenths; real mistakes are far larger.
        verdict = check_array(values, expected, name=name, atol=1.0,
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


# Exercise 3: what the drawn model was trained on. Every variant hides the same layer, a Normalization named
# "preprocessing", whose statistics turn that input into standardized values: only measuring tells them apart.
MYSTERIES = ("pixels divided by 255", "standardized pixels", "raw pixels")
PREPARE_EXAMPLE = "def prepare(x):\n    return x / 255   # or whatever this model needs"


def expected_input(seed: int) -> str:
    """For instructors and tests: the input (one of ``MYSTERIES``) that ``mystery_model(..., seed=seed)``
    was trained on. Neighbouring seeds get different models, and seeds 0-2 cover all three."""
    return MYSTERIES[int(seed) % len(MYSTERIES)]


def mystery_model(x_train: np.ndarray, *, seed: int) -> keras.Sequential:
    """Exercise 3: the reference CNN with a colleague's input layer, built for one of ``MYSTERIES`` (the
    input it expects) drawn from ``seed``. Fed that input, its first convolution receives standardized
    values; its layers look the same whatever the draw. Only the input layer matters to the exercise, so
    the other weights stay untrained. ``x_train`` (raw ``uint8`` images) gives the per-channel statistics."""
    mean, std = _channel_stats(x_train)
    scale = {"raw pixels": 1.0, "pixels divided by 255": 1 / 255, "standardized pixels": None}[expected_input(seed)]
    if scale is None:  # standardized in the data already: the layer leaves values as they are
        mean, std, scale = np.zeros_like(mean), np.ones_like(std), 1.0
    normalizer = keras.layers.Normalization(mean=mean * scale, variance=(std * scale) ** 2, name="preprocessing")
    return reference_cnn(scale_inputs=False, preprocessing=[normalizer], name="mystery_model")


def _as_images(fed: Any) -> np.ndarray | None:
    """What a learner's ``prepare`` returned as a float array (NumPy, or a tensor of any backend), else None."""
    try:
        array = np.asarray(fed)
        if array.dtype == object:
            array = np.asarray(keras.ops.convert_to_numpy(fed))
    except Exception:  # text, ragged lists, objects NumPy cannot read
        return None
    return array.astype("float64") if array.dtype.kind in "iuf" else None


def check_prepare(prepare: Any, model: keras.Model, raw_images: np.ndarray) -> Verdict:
    """Exercise 3: ``prepare`` turns raw ``uint8`` images into what ``model`` (a ``mystery_model``) must be fed,
    so that its first convolution receives standardized values (mean about 0, spread about 1), as in training.
    The check calls ``prepare`` on a copy of ``raw_images`` and runs the model's first layers on the result."""
    if prepare is None:
        return not_attempted("prepare")
    if not callable(prepare):
        return wrong(f"`prepare` should be a function that takes raw images and returns what to feed the model, "
                     f"not {shown(prepare)}: the check calls it on images you have not seen.", PREPARE_EXAMPLE)
    images = np.array(raw_images, dtype="uint8")  # a copy: an in-place change must not reach the caller's data
    try:
        returned = prepare(images)
    except Exception as error:  # a learner's function can fail in any way; say how
        return wrong(f"Calling `prepare(x)` on raw uint8 images failed: {type(error).__name__}: {error}",
                     "It receives a uint8 array of shape (N, 32, 32, 3); return a new array, e.g. x / 255, "
                     "rather than changing x in place.")
    fed = _as_images(returned)
    if fed is None:
        return wrong(f"`prepare(x)` returned {shown(returned)}; it should return an array of numbers.",
                     "End the function with `return` and the prepared images.")
    if fed.shape != images.shape:
        return wrong(f"`prepare(x)` returned shape {fed.shape} for images of shape {images.shape}; it should "
                     "return one prepared image per image, of the same shape.", PREPARE_EXAMPLE)
    if not np.isfinite(fed).all():
        return wrong("`prepare(x)` returned NaN or infinite values.", "Don't divide by a standard deviation of 0.")
    for c in range(images.shape[-1]):  # only scale and shift: each channel stays a straight-line copy of itself
        raw, out = images[..., c].ravel().astype("float64"), fed[..., c].ravel()
        if out.std() == 0 or np.corrcoef(raw, out)[0, 1] < 0.99:
            return wrong(f"Colour channel {c} of what `prepare(x)` returns is not the images' pixels, scaled and "
                         "shifted: the model would not see the images any more.",
                         "Only subtract and divide (or multiply): x / 255, (x - mean) / std, or x itself.")
    try:
        seen = first_conv_input(model, fed)
    except Exception as error:
        return wrong(f"Running the model's first layers on what `prepare(x)` returns failed: "
                     f"{type(error).__name__}: {error}")
    mean, spread, top = float(seen.mean()), float(seen.std()), float(seen.max())
    measured = f"mean {mean:.2f}, spread {spread:.2f}, up to {top:.3g}"
    if abs(mean) <= 0.2 and 0.8 <= spread <= 1.25:
        return correct(f"Correct: with your prepare(), the first convolution receives {measured}: standardized, "
                       "as in training. You found the model's convention by measuring, not by guessing.")
    measure = "Measure, then try again: first_conv_input(mystery, prepare(x_val[:100])).mean() and .std()."
    if seen.reshape(-1, seen.shape[-1]).std(axis=0).max() < 0.05:  # within each channel: channels' offsets differ
        return wrong(f"The first convolution receives almost one value per colour channel ({measured}): the "
                     "images are scaled twice. The model's own normalization expects larger numbers than you feed it.",
                     "Feed the model less processed pixels. " + measure)
    if top > 20:
        return wrong(f"The first convolution receives values far too large ({measured}): the model does not scale "
                     "them down enough by itself.", "Scale the pixels down before feeding them. " + measure)
    if seen.min() >= -0.01 and top <= 1.01:
        return wrong(f"The first convolution receives values from 0 to 1 ({measured}): scaled, but not "
                     "standardized as in training.",
                     "Subtract each channel's mean and divide by its std (exercise 1's mean and std). " + measure)
    return wrong(f"The first convolution receives {measured}; in training it received mean about 0 and "
                 "spread about 1.", measure)
