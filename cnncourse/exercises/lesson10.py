"""Checks for lesson 10, your own image folders: a pipeline drawn for each learner to diagnose, training and
validation datasets made from folders, scrambled pixels repaired. Each is judged by what the answer does."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import layers

from cnncourse.checks import Verdict, check_named_cause, correct, not_attempted, wrong
from cnncourse.diagnose import DIAGNOSE_CODES, SCRAMBLED, UNSCRAMBLE_GAIN
from cnncourse.fit_data import read_one
from cnncourse.folders import SPLITS, load_folder, pickle_rows
from cnncourse.sanity import class_indices
from cnncourse.signatures import batch_purity, input_shift, pixel_order_correlations, shuffled_purity
from cnncourse.training import EpochProgress

CAUSES = ("preprocessing_mismatch", "scrambled_images", "unshuffled_data")
FIX_HINTS = {
    "preprocessing_mismatch": "Read the input statistics of both pipelines side by side.",
    "scrambled_images": "Look at a few images, and at the correlation of neighbouring pixels.",
    "unshuffled_data": "Look at the class mix of the first batches, in the order fit sees them.",
}


def _drawn_cause(seed: int) -> str:
    # drawn here, from the seed, and never stored on the pipeline: the answer is not in the notebook
    return CAUSES[int(np.random.default_rng([int(seed), 10]).integers(len(CAUSES)))]


def _small_cnn(num_classes: int, scale: bool = True) -> keras.Model:
    return keras.Sequential([keras.Input(shape=(32, 32, 3)), *([layers.Rescaling(1 / 255)] if scale else []),
                             layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
                             layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(),
                             layers.Flatten(), layers.Dense(128, activation="relu"),
                             layers.Dense(num_classes, activation="softmax")])


@dataclass
class Pipeline:
    """A learner's pipeline: a compiled ``model`` and the ``train`` and ``validation`` datasets they pass to
    ``fit(train, validation_data=validation)``."""
    model: keras.Model
    train: Any
    validation: Any


def mystery_pipeline(folder: str | Path, *, seed: int, batch_size: int = 64) -> Pipeline:
    """A pipeline built on the image folder ``folder`` (``train/`` and ``val/``, one folder per class) with one
    of ``CAUSES`` planted in it, drawn from ``seed``. Which one is for the learner to find."""
    import tensorflow as tf

    cause = _drawn_cause(seed)
    folder = Path(folder)
    x, y, class_names = load_folder(folder / "train")
    x_val, y_val, _ = load_folder(folder / "val")
    if cause == "scrambled_images":  # loaded from pickle-style rows with a reshape that needed a transpose
        x, x_val = (pickle_rows(a).reshape(a.shape) for a in (x, x_val))
    order = np.arange(len(y)) if cause == "unshuffled_data" else np.random.default_rng(seed).permutation(len(y))
    train = tf.data.Dataset.from_tensor_slices((x[order], y[order])).batch(batch_size)
    validation = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(256)
    scaled_in_model = cause != "preprocessing_mismatch"
    if not scaled_in_model:  # the training pipeline scales; validation does not
        train = train.map(lambda images, labels: (tf.cast(images, "float32") / 255.0, labels))
    keras.utils.set_random_seed(seed)
    model = _small_cnn(len(class_names), scale=scaled_in_model)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return Pipeline(model, train, validation)


def check_cause(answer: Any, *, seed: int) -> Verdict:
    """Exercise 1: ``answer`` names what breaks ``mystery_pipeline(folder, seed=seed)``: one of ``diagnose``'s
    codes (case, spaces and dashes forgiven)."""
    given = "_".join(str(answer).strip().lower().replace("-", " ").split())
    return check_named_cause(answer, _drawn_cause(seed), DIAGNOSE_CODES,
                             how_to_find="Run diagnose(mystery.model, mystery.train, "
                                         "validation_data=mystery.validation) and read its evidence. "
                                         + FIX_HINTS.get(given, ""))


# ---------------------------------------------------------------- exercise 2: datasets from folders

def _files_per_class(folder: Path) -> np.ndarray:
    return np.array([sum(1 for f in c.iterdir() if f.is_file()) for c in sorted(folder.iterdir()) if c.is_dir()])


def _read(dataset, name: str, folder: Path):
    """The sample of ``dataset`` and a verdict on what it holds, judged against the files in ``folder``."""
    try:  # the first batch's shape first: 256 x 256 images (the loader's default) would fill the memory
        first = np.asarray(next(iter(dataset))[0])
    except Exception as error:  # anything that is not an iterable of (images, labels) batches
        return None, wrong(f"Your {name} dataset does not yield (images, labels) batches: "
                           f"{type(error).__name__}: {error}")
    if first.shape[1:] != (32, 32, 3):
        return None, wrong(f"Your {name} dataset yields batches of shape {first.shape}; images should be "
                           "(32, 32, 3).", "image_dataset_from_directory resizes to 256 x 256 unless told "
                           "image_size=(32, 32); and it needs batches (batch_size=64), not single images.")
    try:
        sample = read_one(dataset, max_images=20_000, what=f"your {name} dataset")
    except (TypeError, ValueError) as error:
        return None, wrong(str(error))
    expected = _files_per_class(folder)
    if len(sample) != expected.sum():
        return None, wrong(f"Your {name} dataset yields {len(sample)} images in one pass; {folder} holds "
                           f"{expected.sum()} image files.",
                           "Read the folder once per epoch: no .take(), no .repeat(), and the validation images "
                           "from the val/ folder only.")
    counts = np.bincount(class_indices(sample.y), minlength=len(expected))
    if len(counts) != len(expected) or not np.array_equal(counts, expected):
        return None, wrong(f"The labels of your {name} dataset count {counts.tolist()} images per class; its "
                           f"folder holds {expected.tolist()}.", "Label each image by the folder it is in "
                           "(image_dataset_from_directory does, with labels='inferred').")
    return sample, None


def check_datasets(answer: Any, folder: str | Path, *, seed: int = 0, epochs: int = 3,
                   min_accuracy: float = 0.3) -> Verdict:
    """Exercise 2: ``answer(folder)`` returns ``(train, validation)``, batched datasets of ``folder/train`` and
    ``folder/val``. The check reads every batch: each set read once, images 32 x 32, labels from the folders,
    the training batches shuffled (their class mix against a random order's), training and validation images
    on the same scale, pixels in their places. Then it trains a small model on them for ``epochs`` epochs, as
    given, and wants ``min_accuracy`` on validation."""
    if answer is None:
        return not_attempted("make_datasets")
    if not callable(answer):
        return wrong(f"`make_datasets` should be a function of the folder, not a {type(answer).__name__}.",
                     "def make_datasets(folder):\n    ...\n    return train, validation")
    folder = Path(folder)
    try:
        made = answer(folder)
    except Exception as error:  # a learner's function can fail in any way; say how
        return wrong(f"Calling `make_datasets(folder)` failed: {type(error).__name__}: {error}")
    if not isinstance(made, (tuple, list)) or len(made) != 2:
        return wrong(f"`make_datasets(folder)` returned a {type(made).__name__}; it should return two datasets.",
                     "End it with `return train, validation`.")
    samples = {}
    for name, dataset, split in zip(("training", "validation"), made, SPLITS):
        samples[name], verdict = _read(dataset, name, folder / split)
        if verdict:
            return verdict
    train, val = samples["training"], samples["validation"]
    batches = [class_indices(b) for b in train.batch_labels]
    purity, shuffled = batch_purity(batches), shuffled_purity(batches, seed=seed)
    if purity > shuffled + 0.15:
        return wrong(f"Your training batches are not shuffled: the commonest class takes {purity:.0%} of a batch "
                     f"on average, against {shuffled:.0%} in a random order.",
                     "Shuffle the images before batching, with a buffer as large as the data set "
                     "(shuffle(buffer_size) after batch() only reorders whole batches; a small buffer mixes only "
                     "neighbouring files).")
    scale, offset = input_shift(train.x, val.x)
    if not (0.67 < scale < 1.5 and abs(offset) < 0.5):
        return wrong(f"Training and validation images are not preprocessed alike: training values range "
                     f"{train.x.min():.3g} to {train.x.max():.3g}, validation {val.x.min():.3g} to "
                     f"{val.x.max():.3g}.", "Preprocess both the same way; safest, inside the model "
                     "(layers.Rescaling(1 / 255) as its first layer), so no pipeline can forget it.")
    correlation, reordered = pixel_order_correlations(train.x[:500])
    if reordered >= correlation + UNSCRAMBLE_GAIN or correlation < SCRAMBLED:
        return wrong(f"The pixels of your training images are out of place: neighbouring pixels correlate at "
                     f"{correlation:.2f} (photographs: about 0.9).", "Look at a few of them.")
    return _trains(made, train.x, len(np.unique(np.concatenate(batches))), seed, epochs, min_accuracy,
                   one_hot=np.ndim(train.y) == 2 and np.shape(train.y)[1] > 1)


def _trains(datasets, x_sample: np.ndarray, num_classes: int, seed: int, epochs: int, min_accuracy: float,
            one_hot: bool) -> Verdict:
    keras.utils.set_random_seed(seed)
    standardize = layers.Normalization()  # the check's model takes any scale the learner chose for both sets
    standardize.adapt(x_sample.astype("float32"))
    model = keras.Sequential([keras.Input(shape=(32, 32, 3)), standardize, *_small_cnn(num_classes, False).layers])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"],
                  loss="categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy")
    train, validation = datasets
    try:
        history = model.fit(train, validation_data=validation, epochs=epochs, verbose=0,
                            callbacks=[EpochProgress("a model on your datasets", epochs)]).history
    except Exception as error:  # e.g. batches the model cannot take
        return wrong(f"Training on your datasets failed: {type(error).__name__}: {error}")
    best = float(np.max(np.nan_to_num(history.get("val_accuracy", [0.0]))))
    if best < min_accuracy:
        return wrong(f"A small model trained on your datasets for {epochs} epochs reaches {best:.0%} validation "
                     f"accuracy; on sound datasets it reaches at least {min_accuracy:.0%}.",
                     "Compare a few training and validation images and their labels.")
    return correct(f"Correct: shuffled, read once, preprocessed alike; a small model trained on them reaches "
                   f"{best:.0%} validation accuracy in {epochs} epochs.")


# ---------------------------------------------------------------- exercise 3: repair scrambled pixels

def photo_like(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` smooth random 32 x 32 colour images drawn from ``rng`` (coarse noise enlarged), so that neighbouring
    pixels correlate as in photos: exercise 3 scrambles such images, and the tests build photo-like folders of them."""
    coarse = rng.integers(0, 256, (n, 8, 8, 3)).astype("float32")
    return keras.ops.convert_to_numpy(keras.ops.image.resize(coarse, (32, 32))).round().clip(0, 255).astype("uint8")


def check_repair(answer: Callable | None, *, seed: int = 0, n: int = 7) -> Verdict:
    """Exercise 3: ``answer(scrambled)`` repairs images of shape ``(n, 32, 32, 3)`` made by reshaping
    CIFAR-10's pickle rows without the transpose. Judged on images drawn here, from ``seed``."""
    if answer is None:
        return not_attempted("repair")
    if not callable(answer):
        return wrong(f"`repair` should be a function of the scrambled images, not a {type(answer).__name__}.",
                     "def repair(scrambled):\n    ...\n    return images")
    images = photo_like(np.random.default_rng([int(seed), 103]), n)
    scrambled = pickle_rows(images).reshape(images.shape)
    try:
        repaired = answer(scrambled.copy())
    except Exception as error:  # a learner's function can fail in any way; say how
        return wrong(f"Calling `repair(scrambled)` failed: {type(error).__name__}: {error}")
    if repaired is None:
        return wrong("`repair(scrambled)` returned None.", "End the function with `return` and the repaired array.")
    repaired = np.asarray(repaired)
    if repaired.shape != images.shape:
        return wrong(f"`repair` returns shape {repaired.shape}; images are {images.shape}: (n, height, width, "
                     "channels).", "After reshaping to (n, 3, 32, 32), move the channel axis last with "
                     ".transpose(0, 2, 3, 1).")
    if np.array_equal(repaired, images):
        return correct("Correct: each row holds the red plane, then green, then blue; reshape to (n, 3, 32, 32) "
                       "and move the channels last.")
    if np.array_equal(repaired, scrambled):
        return wrong("`repair` returns the images as scrambled as it got them.",
                     "Reshape back to the rows' own layout, (n, 3, 32, 32), then transpose.")
    return wrong("`repair` moves the pixels, but not back to their places.",
                 "The rows store channel planes: reshape to (n, 3, 32, 32) first, then .transpose(0, 2, 3, 1). "
                 "A transpose before the reshape reads the memory in the wrong order.")
