"""Lesson 03's checks: the channel statistics, a model that standardizes its own input, and the mystery model
drawn from the seed, whose expected input is judged by what the learner's `prepare` makes the first convolution
receive, with a reason for every wrong answer."""
import keras
import numpy as np
import pytest

from cnncourse.exercises import lesson03
from cnncourse.models import reference_cnn
from cnncourse.probes import first_conv_input


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, size=(64, 32, 32, 3), dtype=np.uint8)


def test_channel_stats(images):
    x = images.astype("float64")
    mean, std = x.mean(axis=(0, 1, 2)), x.std(axis=(0, 1, 2))
    assert lesson03.check_channel_stats(mean, std, images).passed
    assert "0-1 scale" in lesson03.check_channel_stats(mean / 255, std, images).message
    assert "axis=(0, 1, 2)" in lesson03.check_channel_stats(x.mean(axis=0), std, images).hint
    assert "single number" in lesson03.check_channel_stats(x.mean(), std, images).message
    assert lesson03.check_channel_stats(mean + 0.3, std - 0.3, images).passed  # float32 rounding
    assert lesson03.check_channel_stats(mean, std + 3, images).status == "wrong"
    dim_red = images.copy()
    dim_red[..., 0] //= 4  # channels with clearly different spreads
    pooled = np.full(3, dim_red.std())  # one std over all channels instead of one per channel
    assert lesson03.check_channel_stats(dim_red.mean(axis=(0, 1, 2)), pooled, dim_red).status == "wrong"
    assert lesson03.check_channel_stats(mean, None, images).status == "not attempted"


@pytest.mark.parametrize("as_given, says", [
    (lambda v: [f"{x:.1f}" for x in v], "give numbers, not text"),  # the right values, as text: no pass
    (lambda v: np.array([f"{x:.1f}" for x in v]), "give numbers, not text"),
    (lambda v: f"{v[0]:.1f}", "is the text"),
    (lambda v: ["a", "b", "c"], "holds text, such as 'a'"),  # letters: converting them used to raise
    (lambda v: [v[0], "b", v[2]], "holds text, such as 'b'"),
    (lambda v: [[v[0], v[1]], [v[2]]], "3 numbers"),  # ragged
    (lambda v: [True, False, True], "3 numbers"),
    (lambda v: {"red": v[0], "green": v[1], "blue": v[2]}, "3 numbers"),
], ids=["list-of-text", "array-of-text", "text", "letters", "one-letter", "ragged", "booleans", "dict"])
def test_channel_stats_refuse_what_is_not_numbers_without_a_traceback(images, as_given, says):
    x = images.astype("float64")
    mean, std = x.mean(axis=(0, 1, 2)), x.std(axis=(0, 1, 2))
    for verdict in (lesson03.check_channel_stats(as_given(mean), std, images),
                    lesson03.check_channel_stats(mean, as_given(std), images)):
        assert verdict.status == "wrong" and says in verdict.message, verdict


def test_self_normalizing_model(images):
    def normalizer():
        layer = keras.layers.Normalization()
        layer.adapt(images.astype("float32"))
        return layer

    good = reference_cnn(width=4, scale_inputs=False, preprocessing=[normalizer()])
    assert lesson03.check_self_normalizing(good, images).passed
    twice = reference_cnn(width=4, preprocessing=[keras.layers.Rescaling(1 / 255)])
    assert "scaled twice" in lesson03.check_self_normalizing(twice, images).message
    raw = reference_cnn(width=4, scale_inputs=False)
    assert "not scaled" in lesson03.check_self_normalizing(raw, images).message
    only_rescaled = reference_cnn(width=4)
    assert "mean about 0" in lesson03.check_self_normalizing(only_rescaled, images).message
    assert "Keras model" in lesson03.check_self_normalizing("model", images).message
    assert lesson03.check_self_normalizing(None, images).status == "not attempted"


# ---------------------------------------------------------------- exercise 3: the mystery model

def photos(n, seed):
    """Images with channels of different brightness and contrast, like CIFAR-10's."""
    rng = np.random.default_rng(seed)
    x = rng.normal([125, 122, 113], [62, 61, 66], size=(n, 32, 32, 3))
    return np.clip(x, 0, 255).astype("uint8")


TRAIN, CHECKED = photos(256, 1), photos(64, 2)
MEAN, STD = TRAIN.astype("float64").mean(axis=(0, 1, 2)), TRAIN.astype("float64").std(axis=(0, 1, 2))
SEED_OF = {lesson03.expected_input(seed): seed for seed in range(3)}


def mystery(expects):
    return lesson03.mystery_model(TRAIN, seed=SEED_OF[expects])


def adapted(x):
    layer = keras.layers.Normalization()
    layer.adapt(x.astype("float32"))
    return layer


def test_the_draw_follows_the_seed_covers_every_input_and_looks_the_same():
    assert set(SEED_OF) == set(lesson03.MYSTERIES)
    assert [lesson03.expected_input(s) for s in range(9)] == [lesson03.expected_input(s) for s in range(9)]
    models = [mystery(expects) for expects in lesson03.MYSTERIES]
    described = {tuple((type(layer).__name__, layer.name) for layer in m.layers) for m in models}
    assert len(described) == 1 and len({m.count_params() for m in models}) == 1


@pytest.mark.parametrize("expects, raw_mean", [("raw pixels", 0), ("pixels divided by 255", 480),
                                               ("standardized pixels", 120)])
def test_raw_pixels_reveal_the_convention_by_measurement(expects, raw_mean):
    seen = first_conv_input(mystery(expects), CHECKED)
    assert abs(seen.mean() - raw_mean) < 0.1 * raw_mean + 0.1


CORRECT = {
    "raw pixels": {"identity": lambda x: x, "float": lambda x: x.astype("float32"), "asarray": np.asarray},
    "pixels divided by 255": {"divide": lambda x: x / 255, "float32": lambda x: np.divide(x, 255, dtype="f4"),
                              "multiply": lambda x: x * (1 / 255.0), "layer": keras.layers.Rescaling(1 / 255)},
    "standardized pixels": {"per-channel": lambda x: (x - MEAN) / STD,
                            "one-mean-one-std": lambda x: (x - TRAIN.mean()) / TRAIN.std(),
                            "adapted-layer": adapted(TRAIN),
                            "ops": lambda x: keras.ops.divide(keras.ops.cast(x, "float32") - MEAN, STD)},
}


@pytest.mark.parametrize("expects, spelling", [(e, s) for e, spellings in CORRECT.items() for s in spellings])
def test_every_spelling_of_the_right_preparation_passes(expects, spelling):
    verdict = lesson03.check_prepare(CORRECT[expects][spelling], mystery(expects), CHECKED)
    assert verdict.passed, verdict


@pytest.mark.parametrize("expects, prepare, reason", [
    ("pixels divided by 255", lambda x: x, "far too large"),
    ("pixels divided by 255", lambda x: x / 255 / 255, "scaled twice"),
    ("pixels divided by 255", lambda x: (x - MEAN) / STD, "in training it received mean about 0"),
    ("standardized pixels", lambda x: x, "far too large"),
    ("standardized pixels", lambda x: x / 255, "from 0 to 1"),
    ("raw pixels", lambda x: x / 255, "scaled twice"),
    ("raw pixels", lambda x: (x - MEAN) / STD, "scaled twice"),
], ids=["0-1-fed-raw", "0-1-fed-twice-divided", "0-1-fed-standardized", "standardized-fed-raw",
        "standardized-fed-0-1", "raw-fed-0-1", "raw-fed-standardized"])
def test_wrong_preparations_fail_with_what_the_first_convolution_receives(expects, prepare, reason):
    verdict = lesson03.check_prepare(prepare, mystery(expects), CHECKED)
    assert verdict.status == "wrong" and reason in verdict.message, verdict
    assert "first_conv_input" in verdict.hint


def in_place(x):
    x /= 255  # uint8 cannot hold the result: NumPy raises
    return x


def blank(x):
    x[...] = 0
    return x


@pytest.mark.parametrize("prepare, reason", [
    ([lambda x: x / 255], "should be a function"),
    ("x / 255", "should be a function"),
    (CHECKED / 255, "should be a function"),
    (lambda x: None, "returned None"),
    (lambda x: "x / 255", "array of numbers"),
    (lambda x: [[1, 2], [3]], "array of numbers"),
    (lambda x: x[:, :16] / 255, "shape"),
    (lambda x: (x / 255)[0], "shape"),
    (lambda: 1.0, "failed"),
    (in_place, "failed"),
    (blank, "not the images' pixels"),
    (lambda x: np.random.default_rng(0).normal(size=x.shape), "not the images' pixels"),
    (lambda x: x[::-1] / 255, "not the images' pixels"),
    (lambda x: np.where(x > 128, np.inf, x / 255), "NaN or infinite"),
], ids=["list", "string", "array", "returns-none", "returns-text", "returns-ragged", "crops", "one-image",
        "no-argument", "in-place-divide", "blanks", "noise", "other-order", "infinite"])
def test_bad_answers_get_a_verdict_not_a_traceback(prepare, reason):
    verdict = lesson03.check_prepare(prepare, mystery("pixels divided by 255"), CHECKED)
    assert verdict.status == "wrong" and reason in verdict.message, verdict


def test_the_model_itself_or_nothing():
    model = mystery("raw pixels")
    assert "shape" in lesson03.check_prepare(model, model, CHECKED).message  # the model maps images to classes
    assert lesson03.check_prepare(None, model, CHECKED).status == "not attempted"


def test_a_prepare_that_changes_its_input_leaves_the_callers_images_alone():
    before = CHECKED.copy()
    lesson03.check_prepare(blank, mystery("raw pixels"), CHECKED)
    np.testing.assert_array_equal(CHECKED, before)
