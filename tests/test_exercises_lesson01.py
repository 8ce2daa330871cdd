"""Lesson 01's checks judge what an answer does: a subset by the images it holds, an augmentation by what
it does to images. Every correct spelling passes, plausible wrong answers fail with a reason."""
import keras
import numpy as np
import pytest
from keras import layers

from cnncourse import checks
from cnncourse.exercises import lesson01
from cnncourse.subsets import train_val_split

# 20,000 distinct tiny "images", 2,000 per class: enough that the lesson's 1,000 validation images are 5 %.
RNG = np.random.default_rng(0)
X = RNG.integers(0, 256, (20000, 2, 2, 3), dtype=np.uint8)
Y = RNG.permutation(np.repeat(np.arange(10), 2000)).astype(np.uint8)
SEED = 3
(X_REST, Y_REST), (X_VAL, Y_VAL) = train_val_split(X, Y, val_size=1000, seed=SEED)
# The lesson's train_positions and val_positions: the same split, as positions in X.
(TRAIN_POS, _), (VAL_POS, _) = train_val_split(np.arange(len(Y)), Y, val_size=1000, seed=SEED)
FIRST_20 = np.concatenate([TRAIN_POS[np.flatnonzero(Y[TRAIN_POS] == c)[:20]] for c in range(10)])
RANDOM_20 = np.concatenate([RNG.choice(TRAIN_POS[Y[TRAIN_POS] == c], 20, replace=False) for c in range(10)])
FROM_VAL = np.concatenate([np.flatnonzero(Y_VAL == c)[:20] for c in range(10)])
# Drawn from all of X, as the lesson's old solution did: a few validation images slip in.
FROM_ALL = np.concatenate([np.flatnonzero(Y == c)[:20] for c in range(10)])
ONE_FROM_VAL = FIRST_20.copy()
ONE_FROM_VAL[0] = VAL_POS[Y[VAL_POS] == Y[FIRST_20[0]]][0]


def check_subset(x_subset, y_subset):
    return lesson01.check_subset(x_subset, y_subset, X, Y, per_class=20, x_val=X_VAL)


def test_the_fixture_has_what_the_tests_need():
    assert len({image.tobytes() for image in X}) == len(X)
    assert np.array_equal(X[VAL_POS], X_VAL) and np.array_equal(np.sort(np.concatenate([TRAIN_POS, VAL_POS])),
                                                                np.arange(len(X)))
    val_share = np.isin(FROM_ALL, VAL_POS).mean()
    assert 0 < val_share < 0.2  # what the old solution did: mostly training images, a few validation images
    assert np.isin(ONE_FROM_VAL, VAL_POS).sum() == 1 and np.bincount(Y[ONE_FROM_VAL]).tolist() == [20] * 10


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
DOUBLED = np.concatenate([TRAIN_POS[np.flatnonzero(Y[TRAIN_POS] == c)[[0, 0, *range(1, 19)]]] for c in range(10)])
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
    (X[FROM_ALL], Y[FROM_ALL], "validation images"),
    (X[ONE_FROM_VAL], Y[ONE_FROM_VAL], "1 of the 200 images"),
    (X[FIRST_20], np.roll(Y[FIRST_20], 3), "wrong label"),
    (X[DOUBLED], Y[DOUBLED], "twice"),
], ids=["none", "image list", "label list", "label column", "one-hot", "class names", "from 1", "halves",
        "scaled", "flattened", "half the images", "one image", "0-d images", "one short", "not training",
        "validation", "from all of x_train", "one validation image", "out of step", "twice"])
def test_subset_rejects_wrong_subsets_with_a_reason(x_subset, y_subset, says):
    verdict = check_subset(x_subset, y_subset)
    assert not verdict.passed and says in verdict.message, verdict
    assert verdict.status == "not attempted" or verdict.hint


SIZES = np.array([25, 50, 100, 200])
ACCURACIES = np.array([0.312, 0.357, 0.405, 0.452])  # the line reads 0.498 at 400: 0.4 points below +5, 5.4 below +10
STEEP = np.array([0.20, 0.30, 0.40, 0.50])  # 0.600 at 400: 5 points above +5, exactly +10
FLAT = np.array([0.40, 0.41, 0.42, 0.43])  # 0.440 at 400: 4 points below +5


def decide(five, ten, accuracies=ACCURACIES):
    return lesson01.check_more_data_decision(five, ten, SIZES, accuracies)


def test_the_decision_fixtures_fall_where_their_comments_say():
    for accuracies, at_400 in ((ACCURACIES, 0.498), (STEEP, 0.600), (FLAT, 0.440)):
        assert np.polyval(np.polyfit(np.log2(SIZES), accuracies, 1), np.log2(400)) == pytest.approx(at_400, abs=5e-4)


@pytest.mark.parametrize("five, ten, accuracies", [
    ("can't tell", "no", ACCURACIES), ("Can't tell", "No", ACCURACIES), ("CAN'T TELL", "NO", ACCURACIES),
    ("can\u2019t tell", "no.", ACCURACIES), ("cant tell", False, ACCURACIES), ("cannot tell", " no ", ACCURACIES),
    ("can_not_tell", "n", ACCURACIES), ("not sure", "no", ACCURACIES), ("Maybe", "no", ACCURACIES),
    ("yes", "can't tell", STEEP), ("Yes!", "unsure", STEEP), (True, "too close to call", STEEP),
    ("no", "no", FLAT), (False, "NO", FLAT),
], ids=["plain", "capital", "upper case", "curly apostrophe", "no apostrophe, False", "cannot", "underscores, n",
        "not sure", "maybe", "steep", "steep, unsure", "steep, True", "flat", "flat, False"])
def test_decision_accepts_what_the_line_and_its_noise_imply_however_spelled(five, ten, accuracies):
    verdict = decide(five, ten, accuracies)
    assert verdict.passed, verdict


def test_decision_accepts_either_reading_of_the_line_and_either_side_of_the_noise_edge():
    # Here the line lands 2.6 points above the +5 target at 400, and the gain per doubling (7.5) 2.5 above it:
    # both within the noise, but within half a point of its edge, so "yes" passes as well as "can't tell".
    edge = np.array([0.226, 0.301, 0.376, 0.451])
    assert decide("can't tell", "no", edge).passed and decide("yes", "no", edge).passed
    assert not decide("no", "no", edge).passed


@pytest.mark.parametrize("five, ten, accuracies, says", [
    (None, None, ACCURACIES, "Not attempted"),
    ("can't tell", None, ACCURACIES, "Not attempted"),
    ("yes", "no", ACCURACIES, "ignores that noise"),  # 0.4 points short read as reaching it
    ("no", "no", ACCURACIES, "ignores that noise"),  # 0.4 points short read as a clear miss
    ("can't tell", "can't tell", ACCURACIES, "does tell"),  # 5.4 points short is beyond the noise
    ("can't tell", "yes", ACCURACIES, "the curve says no"),
    ("can't tell", "no", STEEP, "does tell"),
    ("no", "can't tell", STEEP, "the curve says yes"),
    ("can't tell", "no", FLAT, "does tell"),
    ("yes", "no", FLAT, "the curve says no"),
    (0.498, "no", ACCURACIES, "step on the way"),
    ("can't tell", 0.05, ACCURACIES, "step on the way"),
    ("perhaps not", "no", ACCURACIES, "should be"),
    (["can't tell"], "no", ACCURACIES, "should be"),
    ("can't tell", 1, ACCURACIES, "should be"),
], ids=["none", "one missing", "yes within the noise", "no within the noise", "can't tell beyond the noise",
        "yes beyond the noise", "steep can't tell", "steep no", "flat can't tell", "flat yes", "a number",
        "the gain", "other words", "a list", "one"])
def test_decision_rejects_decisions_the_curve_and_its_noise_do_not_support(five, ten, accuracies, says):
    verdict = decide(five, ten, accuracies)
    assert not verdict.passed and says in str(verdict), verdict
    assert verdict.status == "not attempted" or verdict.hint


IMAGES = RNG.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
S = keras.Sequential


def shift(**kwargs):
    return [layers.RandomTranslation(0.1, 0.1, **kwargs)]


@pytest.mark.parametrize("augment", [
    lambda: S(shift()),
    lambda: layers.RandomTranslation(0.1, 0.1),
    lambda: S([keras.Input((32, 32, 3)), *shift()]),
    lambda: S([layers.RandomTranslation((-0.1, 0.1), (-0.1, 0.1))]),
    lambda: S(shift(fill_mode="constant")),
    lambda: S(shift(fill_mode="nearest")),
    lambda: S(shift(fill_mode="wrap")),
    lambda: S([layers.RandomTranslation(0.05, 0.05)]),
    lambda: S([layers.RandomTranslation(0.125, 0.125)]),
    lambda: S([*shift(), layers.RandomRotation(0.03)]),
    lambda: S([*shift(), layers.RandomContrast(0.2)]),
    lambda: S([layers.RandomZoom(0.1), *shift()]),
    lambda: S([*shift(), layers.RandomBrightness(0.2, value_range=(0, 255))]),
    lambda: layers.Pipeline(shift()),
], ids=["shift", "one layer", "with Input", "ranges", "constant fill", "nearest fill", "wrap fill",
        "5 %", "12.5 %", "and a small rotation", "and contrast", "zoom, shift", "and brightness", "Pipeline"])
def test_sign_augmentation_accepts_pipelines_that_shift_a_little_and_never_mirror(augment):
    verdict = lesson01.check_sign_augmentation(augment(), IMAGES)
    assert verdict.passed, verdict


@pytest.mark.parametrize("augment, says", [
    (lambda: None, "Not attempted"),
    (lambda: shift(), "not a list"),
    (lambda: "RandomTranslation", "not a str"),
    (lambda: S([layers.RandomFlip("horizontal"), layers.RandomTranslation(0.1, 0.1)]), "mirrors"),  # lesson's
    (lambda: S([*shift(), layers.RandomFlip()]), "upside down"),  # default mode: both flips
    (lambda: S([layers.RandomFlip("vertical"), *shift()]), "upside down"),
    (lambda: S([*shift(), layers.RandomRotation(0.5)]), "upside down"),
    (lambda: S([layers.RandomCrop(32, 32)]), "Nothing moves"),
    (lambda: S([layers.RandomZoom(0.1)]), "Nothing moves"),
    (lambda: S([layers.RandomTranslation(0.01, 0.01)]), "Nothing moves"),
    (lambda: S([layers.RandomContrast(0.2)]), "Nothing moves"),
    (lambda: S([layers.RandomTranslation(0.9, 0.9)]), "too far"),
    (lambda: S([layers.RandomTranslation(0.2, 0.2)]), "too far"),
    (lambda: S([*shift(), layers.Resizing(16, 16)]), "shape"),
    (lambda: S([layers.Rescaling(1 / 255), *shift()]), "prediction time"),
    (lambda: S([layers.Lambda(lambda x: keras.ops.flip(x, axis=2)), *shift()]), "prediction time"),
    # Keras 3's RandomCrop returns the padded 40x40 images unchanged at prediction time
    (lambda: S([layers.ZeroPadding2D(4), layers.RandomCrop(32, 32)]), "prediction time"),
    (lambda: layers.Reshape((10,)), "failed"),
], ids=["none", "list", "text", "the lesson's flip and shift", "both flips", "vertical", "turned over",
        "crop to own size", "zoom", "1 %", "contrast only", "90 %", "20 %", "resized", "rescaled",
        "flipped when predicting", "pad and crop", "fails"])
def test_sign_augmentation_rejects_mirrors_and_what_does_not_move_a_little(augment, says):
    verdict = lesson01.check_sign_augmentation(augment(), IMAGES)
    assert not verdict.passed and says in verdict.message, verdict
    assert verdict.status == "not attempted" or verdict.hint


CHECKS = {"x_subset": lambda answer: check_subset(answer, Y[FIRST_20]),
          "y_subset": lambda answer: check_subset(X[FIRST_20], answer),
          "five_more_points": lambda answer: decide(answer, "no"),
          "ten_more_points": lambda answer: decide("can't tell", answer),
          "augment": lambda answer: lesson01.check_sign_augmentation(answer, IMAGES)}


@pytest.mark.parametrize("name", CHECKS)
def test_a_helper_that_prints_instead_of_returning_is_told_so(monkeypatch, name):
    cells = [f"{name} = None  # replace None with your answer", f"def build():\n    print(1)\n\n{name} = build()"]
    monkeypatch.setattr(checks, "_input_history", lambda: cells)
    verdict = CHECKS[name](None)
    assert verdict.status == "wrong" and "`build` returned None" in verdict.message, verdict
    cells.pop()
    assert CHECKS[name](None).status == "not attempted"
