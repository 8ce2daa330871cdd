"""Checks for lesson 01, "Too little data"."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from cnncourse.checks import (
    Verdict,
    as_numbers,
    correct,
    is_single_number,
    shown,
    unanswered,
    wrong,
)


def check_subset(x_subset: Any, y_subset: Any, x_train: np.ndarray, y_train: np.ndarray,
                 per_class: int, *, x_val: np.ndarray) -> Verdict:
    """Exercise 1: a balanced subset of ``per_class`` training images of every class, not drawn from the
    validation images ``x_val`` (which the lesson cut from ``x_train``)."""
    missing = [name for name, value in (("x_subset", x_subset), ("y_subset", y_subset)) if value is None]
    if missing:
        return unanswered(*missing)
    if not isinstance(x_subset, np.ndarray) or not isinstance(y_subset, np.ndarray):
        return wrong("`x_subset` and `y_subset` should be NumPy arrays.",
                     "Index the training arrays with an array of positions: x_train[idx], y_train[idx].")
    if y_subset.ndim != 1:
        return wrong(f"`y_subset` has shape {y_subset.shape}; it should hold one class number per image, "
                     "a flat array like y_train.",
                     "Index y_train itself; .ravel() flattens a column, np.argmax(y, axis=1) undoes one-hot.")
    labels = as_numbers(y_subset)
    if labels is None or not np.isin(labels, np.arange(10)).all():
        return wrong(f"`y_subset` should hold the class numbers 0 to 9, but it is {shown(y_subset)}.",
                     "Take the labels from y_train at the same positions as the images.")
    if x_subset.ndim == 0 or x_subset.shape[1:] != x_train.shape[1:] or len(x_subset) != len(y_subset):
        return wrong(f"`x_subset` has shape {x_subset.shape} and `y_subset` {y_subset.shape}; expected images "
                     f"of shape {x_train.shape[1:]}, one label each.",
                     "Use the same positions to index x_train and y_train.")
    if x_subset.dtype != x_train.dtype:
        return wrong(f"`x_subset` holds {x_subset.dtype} values; the training images are {x_train.dtype}.",
                     "Take the images as they are: x_train[idx], without converting or scaling them.")
    counts = np.bincount(labels.astype(int), minlength=10)
    if not (counts == per_class).all():
        return wrong(f"Images per class: {counts.tolist()}; every class should have {per_class}.",
                     "np.flatnonzero(y_train == c) lists the positions of class c; take per_class of them.")
    # Hashes, not the image bytes themselves, keep this lookup small (CIFAR-10 holds no duplicates).
    train_keys = [hash(image.tobytes()) for image in x_train]
    position_of = {key: i for i, key in enumerate(train_keys)}
    keys = [hash(image.tobytes()) for image in x_subset]
    if any(key not in position_of for key in keys):
        return wrong("Some images in `x_subset` are not training images.",
                     "Take images from x_train only (never from the validation or test set).")
    val_keys = {hash(image.tobytes()) for image in np.asarray(x_val)}
    from_val = sum(key in val_keys for key in keys)
    if from_val:
        return wrong(f"{from_val} of the {len(keys)} images in `x_subset` are validation images (x_val): a model "
                     "trained on them would be measured on images it has seen.",
                     "Draw only from the training part: the positions in train_positions "
                     "(e.g. np.flatnonzero(data.y_train[train_positions] == c) picks class c among them).")
    if not np.array_equal([y_train[position_of[key]] for key in keys], labels):
        return wrong("Some images carry the wrong label: images and labels got out of step.",
                     "Index x_train and y_train with the same positions, in the same order.")
    if len(set(keys)) != len(keys):
        return wrong("Some images appear twice.", "Choose positions without replacement.")
    return correct(f"Correct: {len(x_subset)} distinct training images, {per_class} of each class.")


NOISE = 0.03  # the lesson's ±3 points: 95 % of accuracies measured on 1,000 validation images lie that close
_SAYS = {"yes": "yes", "y": "yes", "true": "yes", "no": "no", "n": "no", "false": "no"}
_SAYS.update(dict.fromkeys(["cant tell", "cannot tell", "can not tell", "cant say", "cannot say", "not sure",
                            "unsure", "uncertain", "unclear", "maybe", "dont know", "do not know", "unknown",
                            "too close to call", "within the noise"], "can't tell"))
_CHOICES = "\"yes\", \"no\" or \"can't tell\""


def _decision(answer: Any) -> str | None:
    """An answer as "yes", "no" or "can't tell", however spelled; None where it is none of them."""
    if isinstance(answer, (bool, np.bool_)):
        return "yes" if answer else "no"
    if not isinstance(answer, str):
        return None
    text = answer.casefold().replace("\u2019", "").replace("'", "").replace("_", " ").replace("-", " ")
    return _SAYS.get(" ".join(text.strip(" .!?\"").split()))


def _decide(margin: float, noise: float) -> str:
    return "yes" if margin >= noise else "no" if margin <= -noise else "can't tell"


def check_more_data_decision(five_more_points: Any, ten_more_points: Any, sizes: Sequence[int] | np.ndarray,
                             accuracies: Sequence[float] | np.ndarray, collected: int = 400) -> Verdict:
    """Exercise 2: will ``collected`` images per class gain 5 (10) points of validation accuracy over the
    largest measured size? "yes" or "no" where the straight line through the learning curve (on a log
    scale of size) clears or misses that target by more than the ±3-point noise of a measurement, "can't
    tell" where it lands closer. Either reading of the line passes (its value at ``collected`` against
    the last measured accuracy plus the gain, or the gain per doubling against the gain needed), and so
    does either decision within half a point of the noise's edge."""
    answers = {"five_more_points": five_more_points, "ten_more_points": ten_more_points}
    missing = [name for name, answer in answers.items() if answer is None]
    if missing:
        return unanswered(*missing)
    sizes, accuracies = np.asarray(sizes, dtype=float), np.asarray(accuracies, dtype=float)
    slope, intercept = np.polyfit(np.log2(sizes), accuracies, 1)
    predicted = float(slope * np.log2(collected) + intercept)
    doublings = float(np.log2(collected / sizes[-1]))
    findings = []
    for (name, answer), gain in zip(answers.items(), (0.05, 0.10)):
        said = _decision(answer)
        if said is None:
            return wrong(f"`{name}` should be {_CHOICES}, but it is {shown(answer)}.",
                         "A number such as the line's reading at 400 per class is a step on the way; the answer is "
                         "what it means for the decision." if is_single_number(answer) else
                         f"Write one of {_CHOICES} as a string.")
        target = float(accuracies[-1]) + gain
        margin = predicted - target
        readings = (margin, slope * doublings - gain)
        allowed = {_decide(m, noise) for m in readings for noise in (NOISE - 0.005, NOISE + 0.005)}
        expected = _decide(margin, NOISE)
        where = (f"The line reads {predicted:.3f} at {collected} per class; the target is {accuracies[-1]:.3f} + "
                 f"{gain:.2f} = {target:.3f}, so the line lands {100 * abs(margin):.1f} points "
                 f"{'above' if margin > 0 else 'below'} it")
        if said not in allowed:
            if expected == "can't tell":
                return wrong(f"`{name}`: {where}: closer than the ±3 points to which 1,000 validation images "
                             f"measure an accuracy. Saying \"{said}\" ignores that noise: a run at {collected} per "
                             f"class could measure on either side of the target.",
                             "Where the line lands within ±3 points of the target, the curve cannot tell.")
            if said == "can't tell":
                return wrong(f"`{name}`: {where}, more than the ±3-point noise of a measurement: the curve does "
                             "tell, as far as a straight line can be trusted one doubling out.",
                             "\"can't tell\" is the answer only where the line lands within ±3 points of the "
                             "target.")
            return wrong(f"`{name}`: {where}, more than the ±3-point noise: the curve says {expected}, not {said}.",
                         f"Each doubling gained about {100 * slope:.1f} points; {collected} per class is "
                         f"{doublings:g} doubling{'' if doublings == 1 else 's'} more than {sizes[-1]:g}.")
        findings.append(f"{100 * gain:.0f} points: {said}")
    needed = sizes[-1] * 2 ** (0.10 / slope) if slope > 0 else np.inf
    return correct(f"Correct ({'; '.join(findings)}). One more doubling is worth about {100 * slope:.1f} points "
                   f"on this curve, and a single measurement scatters by ±3. Ten points would take about "
                   f"{needed:,.0f} images per class, if the line held that far. Augmentation + dropout gave about "
                   "a doubling's worth in an afternoon: try it first, measure, then decide about collecting.")


def _probe() -> np.ndarray:
    """A black 32x32 image with a red and a green spot whose midpoint is the image's centre: where the spots
    end up tells how an augmentation flipped and shifted it, whatever it does to the colours."""
    image = np.zeros((32, 32, 3), "float32")
    image[11:13, 9:11, 0] = 255   # red spot, centred at row 11.5, column 9.5
    image[19:21, 21:23, 1] = 255  # green spot, centred at row 19.5, column 21.5
    return image


def _spot_centres(images: np.ndarray) -> np.ndarray:
    """(n, 2 spots, row/column) centres of the red and green spots; NaN where a spot left the image."""
    grid = np.indices(images.shape[1:3]).astype("float64")
    centres = []
    for channel in (0, 1):
        weight = np.clip(images[..., channel] - images[..., 2], 0, None)  # above blue: brightness cancels
        total = weight.sum(axis=(1, 2))
        centre = np.einsum("nhw,khw->nk", weight, grid) / np.maximum(total, 1e-9)[:, None]
        centre[total < 255] = np.nan  # less than a quarter of the spot is left
        centres.append(centre)
    return np.stack(centres, axis=1)


MAX_SHIFT = 0.15  # of the image size: the exercise asks for 10 %; 4 pixels (12.5 %) is CIFAR's classic crop


def check_sign_augmentation(augment: Any, sample_images: np.ndarray) -> Verdict:
    """Exercise 3: augmentation for photos of road signs ("turn left", "turn right", ...): it must move
    images a little and never mirror them, since a mirror turns "left" into "right". Judged by what it
    does to images."""
    if augment is None:
        return unanswered("augment")
    if not isinstance(augment, keras.layers.Layer):
        return wrong(f"`augment` should be a Keras layer or keras.Sequential of layers, "
                     f"not a {type(augment).__name__}.",
                     "keras.Sequential([keras.layers.RandomTranslation(...), ...])")
    batch = np.asarray(sample_images, dtype="float32")
    probes = np.repeat(_probe()[None], 16, axis=0)
    try:
        out = keras.ops.convert_to_numpy(augment(batch, training=True))
        at_prediction = keras.ops.convert_to_numpy(augment(batch, training=False))
        # Several calls, in case a layer draws one transformation per batch.
        probed = np.concatenate([keras.ops.convert_to_numpy(augment(probes, training=True)) for _ in range(4)])
    except Exception as exc:  # a learner's layer can fail in many ways; report, don't crash
        return wrong(f"Applying `augment` to images failed: {type(exc).__name__}: {exc}",
                     "Build it from Keras preprocessing layers only.")
    if out.shape != batch.shape:
        return wrong(f"It changes the image shape from {batch.shape[1:]} to {out.shape[1:]}.",
                     "Augmentation must keep the 32x32x3 shape the model expects.")
    if at_prediction.shape != batch.shape:
        return wrong(f"At prediction time (training=False) it changes the image shape from {batch.shape[1:]} to "
                     f"{at_prediction.shape[1:]}.", "Use layers that keep the shape, e.g. RandomTranslation.")
    if not np.allclose(at_prediction, batch, atol=1e-3):
        return wrong("It changes images at prediction time too (training=False).",
                     "Use Keras' Random... preprocessing layers: they pass images through unchanged when predicting.")
    red, green = _spot_centres(probed).transpose(1, 0, 2)
    shift = np.abs((red + green) / 2 - 15.5).max(axis=1)  # in pixels; flips keep the midpoint in place
    if np.isnan(shift).any() or shift.max() > MAX_SHIFT * 32:
        far = "out of the frame" if np.isnan(shift).any() else f"by {shift.max():.1f} of their 32 pixels"
        return wrong(f"It shifts images too far: some {far}, more than {100 * MAX_SHIFT:.0f} % of their size.",
                     "Shift by up to 10 %: RandomTranslation(0.1, 0.1) (its factors are fractions of the size).")
    if (red[:, 0] > green[:, 0]).any():
        return wrong("It turns images upside down: signs are photographed upright, and an upside-down arrow "
                     "means something else.", "Leave out vertical flips and large rotations.")
    if (red[:, 1] > green[:, 1]).any():
        return wrong("It mirrors images left-right: a 'turn left' sign becomes a 'turn right' sign, and keeps "
                     "its old label. The model is taught the wrong answer on purpose.",
                     "Leave RandomFlip out. A flip was right for CIFAR-10's photos, where a mirrored car is "
                     "still a car; whether a transformation is safe depends on what the label means.")
    if not (shift >= 1).any():
        return wrong("Nothing moves the image: no image is shifted by even one pixel.",
                     "Signs appear anywhere in a frame: add keras.layers.RandomTranslation(0.1, 0.1). "
                     "(RandomCrop to the image's own size "
                     "has nothing to cut away, and a zoom keeps the centre in place.)")
    if np.allclose(out, batch):
        return wrong("The images come out unchanged.", "Check the layers' factors are above 0.")
    return correct("Correct: every image moves a little and none is mirrored, so every label stays true. "
                   "Each epoch now sees a slightly different version of every sign.")
