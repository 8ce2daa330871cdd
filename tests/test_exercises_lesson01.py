"""Lesson 01's checks judge what an answer does: a subset by the images it holds, an augmentation by what
it does to images. Every correct spelling passes, plausible wrong answers fail with a reason."""
import keras
import numpy as np
import pytest
from keras import layers
from scipy.stats import linregress

from cnncourse import checks
from cnncourse.exercises import lesson01
from cnncourse.subsets import train_val_split

# 20,000 distinct tiny "images", 2,000 per class: enough that the lesson's 1,000 validation images are 5 %.
RNG = np.random.default_rng(0)
X = RNG.integers(0, 256, (20000, 2, 2, 3), dtype=np.uint8)
Y = RNG.permutation(np.repeat(np.arange(10), 2000)).astype(np.uint8)
SEED = 3
(X_REST, Y_REST), (X_VAL, Y_VAL) = train_val_split(X, Y, val_size=1000, seed=SEED)
FIRST_20 = np.concatenate([np.flatnonzero(Y == c)[:20] for c in range(10)])
RANDOM_20 = np.concatenate([RNG.choice(np.flatnonzero(Y == c), 20, replace=False) for c in range(10)])
FROM_VAL = np.concatenate([np.flatnonzero(Y_VAL == c)[:20] for c in range(10)])


def check_subset(x_subset, y_subset):
    return lesson01.check_subset(x_subset, y_subset, X, Y, per_class=20, x_val=X_VAL)


def test_the_fixture_has_what_the_tests_need():
    assert len({image.tobytes() for image in X}) == len(X)
    val_share = np.isin(X[RANDOM_20].reshape(200, -1).view("V12"), X_VAL.reshape(1000, -1).view("V12")).mean()
    assert 0 < val_share < 0.2  # a right answer may hold a few validation images


@pytest.mark.parametrize("x_subset, y_subset", [
    (X[FIRST_20], Y[FIRST_20]),
    (X[RANDOM_20], Y[RANDOM_20]),
    (X[FIRST_20[::-1]], Y[FIRST_20[::-1]]),
    (X[FIRST_20], Y[FIRST_20].astype(np.int64)),
    (X[FIRST_20], Y[FIRST_20].astype(float)),
    (np.stack([X[i] for i in FIRST_20]), np.array([Y[i] for i in FIRST_20])),
    train_val_split(X, Y, val_size=1000, seed=SEED, train_per_class=20)[0],
], ids=["first 20", "random 20", "reversed", "int64 labels", "float labels", "stacked", "the lesson's helper"])
def test_subset_accepts_every_balanced_subset_of_training_images(x_subset, y_subset):
    verdict = check_subset(x_subset, y_subset)
    assert verdict.passed, verdict


ONE_SHORT = np.concatenate([FIRST_20[:19], FIRST_20[20:]])
DOUBLED = np.concatenate([np.flatnonzero(Y == c)[[0, 0, *range(1, 19)]] for c in range(10)])
NAMES = np.array(["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"])


@pytest.mark.parametrize("x_subset, y_subset, says", [
    (None, None, "Not attempted"),
    (list(X[FIRST_20]), Y[FIRST_20], "NumPy arrays"),
    (X[FIRST_20], list(Y[FIRST_20]), "NumPy arrays"),
    (X[FIRST_20], Y[FIRST_20][:, None], "one class number per image"),
    (X[FIRST_20], np.eye(10)[Y[FIRST_20]], "one class number per image"),
    (X[FIRST_20], NAMES[Y[FIRST_20]], "class numbers 0 to 9"),
    (X[FIRST_20], Y[FIRST_20].astype(int) - 1, "class numbers 0 to 9"),
    (X[FIRST_20], Y[FIRST_20] + 0.5, "class numbers 0 to 9"),
    (X[FIRST_20] / 255, Y[FIRST_20], "float64"),
    (X[FIRST_20].reshape(200, -1), Y[FIRST_20], "shape"),
    (X[FIRST_20][:100], Y[FIRST_20], "one label each"),
    (X[0], np.array(Y[0]), "a flat array"),
    (np.array(X[0, 0, 0, 0]), Y[FIRST_20], "shape ()"),
    (X[ONE_SHORT], Y[ONE_SHORT], "every class should have 20"),
    (255 - X[FIRST_20], Y[FIRST_20], "not training images"),
    (X_VAL[FROM_VAL], Y_VAL[FROM_VAL], "validation images"),
    (X[FIRST_20], np.roll(Y[FIRST_20], 3), "wrong label"),
    (X[DOUBLED], Y[DOUBLED], "twice"),
], ids=["none", "image list", "label list", "label column", "one-hot", "class names", "from 1", "halves",
        "scaled", "flattened", "half the images", "one image", "0-d images", "one short", "not training",
        "validation", "out of step", "twice"])
def test_subset_rejects_wrong_subsets_with_a_reason(x_subset, y_subset, says):
    verdict = check_subset(x_subset, y_subset)
    assert not verdict.passed and says in verdict.message, verdict
    assert verdict.status == "not attempted" or verdict.hint


SIZES = np.array([25, 50, 100, 200])
ACCURACIES = np.array([0.312, 0.357, 0.405, 0.452])
SLOPE, INTERCEPT = np.polyfit(np.log2(SIZES), ACCURACIES, 1)
ESTIMATE = SLOPE * np.log2(400) + INTERCEPT


@pytest.mark.parametrize("answer", [
    ESTIMATE, np.polyval(np.polyfit(np.log(SIZES), ACCURACIES, 1), np.log(400)),
    np.polyval(np.polyfit(np.log10(SIZES), ACCURACIES, 1), np.log10(400)),
    linregress(np.log2(SIZES), ACCURACIES).slope * np.log2(400) + linregress(np.log2(SIZES), ACCURACIES).intercept,
    ACCURACIES[-1] + np.mean(np.diff(ACCURACIES)),  # the mean gain per doubling, once more
    round(ESTIMATE, 2), np.float32(ESTIMATE), np.array(ESTIMATE),
], ids=["log2", "ln", "log10", "linregress", "gain per doubling", "rounded", "float32", "0-d array"])
def test_extrapolation_accepts_a_log_linear_estimate_however_computed(answer):
    verdict = lesson01.check_extrapolation(answer, SIZES, ACCURACIES, 400)
    assert verdict.passed, verdict


@pytest.mark.parametrize("answer, says", [
    (None, "Not attempted"),
    (np.polyval(np.polyfit(SIZES, ACCURACIES, 1), 400), "size itself"),
    (SLOPE * 400 + INTERCEPT, "log of the size"),
    (np.polyval(np.polyfit(np.log(SIZES), ACCURACIES, 1), 400), "log of the size"),
    (100 * ESTIMATE, "fraction"),
    (ACCURACIES[-1], "not right yet"),
    (SLOPE, "not right yet"),
    (np.polyval([SLOPE, INTERCEPT], np.log2([400])), "single number"),
    (str(ESTIMATE), "single number"),
    ([[1, 2], [3]], "single number"),
], ids=["none", "linear", "at the size", "ln at the size", "percent", "last point", "slope", "array", "text",
        "ragged"])
def test_extrapolation_rejects_wrong_estimates_with_a_reason(answer, says):
    verdict = lesson01.check_extrapolation(answer, SIZES, ACCURACIES, 400)
    assert not verdict.passed and says in verdict.message, verdict


IMAGES = RNG.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
S = keras.Sequential


class AlwaysFlip(layers.Layer):
    def call(self, x, training=None):
        return keras.ops.flip(x, axis=2) if training else x


def flip_and_shift(**kwargs):
    return [layers.RandomFlip("horizontal"), layers.RandomTranslation(0.1, 0.1, **kwargs)]


@pytest.mark.parametrize("augment", [
    lambda: S(flip_and_shift()),
    lambda: S(flip_and_shift()[::-1]),
    lambda: S([keras.Input((32, 32, 3)), *flip_and_shift()]),
    lambda: S([layers.RandomFlip(mode="horizontal"), layers.RandomTranslation((-0.1, 0.1), (-0.1, 0.1))]),
    lambda: S(flip_and_shift(fill_mode="constant")),
    lambda: S(flip_and_shift(fill_mode="nearest")),
    lambda: S(flip_and_shift(fill_mode="wrap")),
    lambda: S([layers.RandomFlip("horizontal"), layers.RandomTranslation(0.05, 0.05)]),
    lambda: S([layers.RandomFlip("horizontal"), layers.RandomTranslation(0.125, 0.125)]),
    lambda: S([*flip_and_shift(), layers.RandomRotation(0.03)]),
    lambda: S([*flip_and_shift(), layers.RandomContrast(0.2)]),
    lambda: S([*flip_and_shift(), layers.RandomZoom(0.1)]),
    lambda: layers.Pipeline(flip_and_shift()),
], ids=["flip, shift", "shift, flip", "with Input", "ranges", "constant fill", "nearest fill", "wrap fill",
        "5 %", "12.5 %", "and a small rotation", "and contrast", "and zoom", "Pipeline"])
def test_augmentation_accepts_pipelines_that_flip_left_right_and_shift_a_little(augment):
    verdict = lesson01.check_augmentation(augment(), IMAGES)
    assert verdict.passed, verdict


@pytest.mark.parametrize("augment, says", [
    (lambda: None, "Not attempted"),
    (lambda: flip_and_shift(), "not a list"),
    (lambda: "RandomFlip", "not a str"),
    (lambda: layers.RandomFlip("horizontal"), "Nothing moves"),
    (lambda: S([layers.RandomFlip("horizontal"), layers.RandomCrop(32, 32)]), "Nothing moves"),
    (lambda: S([layers.RandomFlip("horizontal"), layers.RandomZoom(0.1)]), "Nothing moves"),
    (lambda: S([layers.RandomFlip("horizontal"), layers.RandomTranslation(0.01, 0.01)]), "Nothing moves"),
    (lambda: layers.RandomTranslation(0.1, 0.1), "never flips"),
    (lambda: S([layers.RandomFlip("horizontal"), layers.RandomTranslation(0.9, 0.9)]), "too far"),
    (lambda: S([layers.RandomFlip("horizontal"), layers.RandomTranslation(0.2, 0.2)]), "too far"),
    (lambda: S([layers.RandomFlip("vertical"), layers.RandomTranslation(0.1, 0.1)]), "upside down"),
    (lambda: S([layers.RandomFlip("horizontal_and_vertical"), layers.RandomTranslation(0.1, 0.1)]),
     "upside down"),
    (lambda: S([*flip_and_shift(), layers.RandomRotation(0.5)]), "upside down"),
    (lambda: S([AlwaysFlip(), layers.RandomTranslation(0.1, 0.1)]), "flips every image"),
    (lambda: S([*flip_and_shift(), layers.Resizing(16, 16)]), "shape"),
    (lambda: S([layers.Rescaling(1 / 255), *flip_and_shift()]), "prediction time"),
    (lambda: S([layers.Lambda(lambda x: keras.ops.flip(x, axis=2)), layers.RandomTranslation(0.1, 0.1)]),
     "prediction time"),
    # Keras 3's RandomCrop returns the padded 40x40 images unchanged at prediction time
    (lambda: S([layers.RandomFlip("horizontal"), layers.ZeroPadding2D(4), layers.RandomCrop(32, 32)]),
     "prediction time"),
    (lambda: layers.Reshape((10,)), "failed"),
], ids=["none", "list", "text", "flip only", "crop to own size", "zoom", "1 %", "shift only", "90 %", "20 %",
        "vertical", "both flips", "turned over", "always flipped", "resized", "rescaled", "flipped when predicting",
        "pad and crop", "fails"])
def test_augmentation_rejects_what_does_not_flip_and_shift_a_little(augment, says):
    verdict = lesson01.check_augmentation(augment(), IMAGES)
    assert not verdict.passed and says in verdict.message, verdict
    assert verdict.status == "not attempted" or verdict.hint


CHECKS = {"x_subset": lambda answer: check_subset(answer, Y[FIRST_20]),
          "y_subset": lambda answer: check_subset(X[FIRST_20], answer),
          "estimate": lambda answer: lesson01.check_extrapolation(answer, SIZES, ACCURACIES, 400),
          "augment": lambda answer: lesson01.check_augmentation(answer, IMAGES)}


@pytest.mark.parametrize("name", CHECKS)
def test_a_helper_that_prints_instead_of_returning_is_told_so(monkeypatch, name):
    cells = [f"{name} = None  # replace None with your answer", f"def build():\n    print(1)\n\n{name} = build()"]
    monkeypatch.setattr(checks, "_input_history", lambda: cells)
    verdict = CHECKS[name](None)
    assert verdict.status == "wrong" and "`build` returned None" in verdict.message, verdict
    cells.pop()
    assert CHECKS[name](None).status == "not attempted"
