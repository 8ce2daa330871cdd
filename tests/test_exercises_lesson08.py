"""Lesson 08's checks judge what an answer does: every correct spelling passes, plausible wrong answers
fail with a reason."""
import keras
import pytest
from keras import layers

from cnncourse.exercises import lesson08

DEPTH = 12


def deep(activation="sigmoid", initializer="glorot_uniform", batch_norm=False, residual=False, n_conv=DEPTH,
         momentum=0.9):
    inputs = keras.Input(shape=(32, 32, 3))
    h = layers.Rescaling(1 / 255)(inputs)
    h = layers.Conv2D(8, 3, strides=4, padding="same", activation=activation, kernel_initializer=initializer)(h)
    for _ in range(n_conv - 1):
        z = layers.Conv2D(8, 3, padding="same", kernel_initializer=initializer)(h)
        if batch_norm:
            z = layers.BatchNormalization(momentum=momentum)(z)
        z = layers.Activation(activation)(z)
        h = layers.Add()([h, z]) if residual else z
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(layers.Flatten()(h)))


def with_head(units, activation):
    body = deep("relu", "he_normal")
    return keras.Model(body.inputs, layers.Dense(units, activation=activation)(body.layers[-2].output))


@pytest.fixture(scope="module")
def colours(colour_images):
    """Images whose class is their colour: easy for any network that learns at all."""
    x, y = colour_images(1200)
    return x[:1000], y[:1000], x[1000:], y[1000:]


def check(answer, colours):  # 20 %, twice chance, as in the lesson
    return lesson08.check_fixed_model(answer, *colours, depth=DEPTH, epochs=3, min_accuracy=0.2)


@pytest.mark.parametrize("answer", [
    lambda: deep("relu", "he_normal"),
    lambda: deep(batch_norm=True),
    lambda: deep("relu", keras.initializers.VarianceScaling(2 / DEPTH), residual=True),
], ids=["relu-he", "batch-norm-momentum-0.9", "residual"])
def test_models_that_train_pass(answer, colours):
    verdict = check(answer, colours)
    assert verdict.passed, verdict


@pytest.mark.parametrize("metrics", [None, ["sparse_categorical_accuracy"]], ids=["no metrics", "named metric"])
def test_a_model_compiled_by_the_learner_is_judged_as_the_check_compiles_it(metrics, colours):
    def fixed_model():
        model = deep("relu", "he_normal")
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=metrics)
        return model
    verdict = check(fixed_model, colours)
    assert verdict.passed and "reaches 0 %" not in verdict.message, verdict


def test_the_sigmoid_stack_fails_with_a_hint_about_vanishing_gradients(colours):
    verdict = check(lambda: deep(), colours)
    assert not verdict.passed and "gradients still vanish" in verdict.hint


def linear_stack(n_conv=DEPTH, pooled=True):
    """Convolutions with no activation at all (a max pooling after the last one, as deep_cnn has), or written
    as Sequential layers with a ReLU only after the last convolution."""
    if pooled:
        return deep(activation=None)
    return keras.Sequential([keras.Input((32, 32, 3)), layers.Rescaling(1 / 255),
                             *[layers.Conv2D(8, 3, strides=4 if i == 0 else 1, padding="same") for i in range(n_conv)],
                             layers.ReLU(), layers.Flatten(), layers.Dense(10, activation="softmax")])


@pytest.mark.parametrize("answer", [lambda: deep(activation="linear"), lambda: linear_stack(pooled=False)],
                         ids=["no activation", "relu only after the stack"])
def test_a_stack_of_linear_convolutions_fails_as_one_linear_map(answer, colours):
    verdict = check(answer, colours)
    assert not verdict.passed and "no nonlinearity" in verdict.message and "one linear map" in verdict.message, \
        verdict


@pytest.mark.parametrize("build", [lambda: deep("relu", "he_normal"), lambda: deep(batch_norm=True), lambda: deep(),
                                   lambda: deep("relu", keras.initializers.VarianceScaling(2 / DEPTH), residual=True)],
                         ids=["relu-he", "batch-norm", "sigmoid", "residual"])
def test_every_convolution_after_the_first_receives_a_nonlinear_function_of_the_image(build, colours):
    assert lesson08._nonlinear_inputs(build(), colours[0]) == DEPTH - 1
    assert lesson08._nonlinear_inputs(linear_stack(), colours[0]) == 0


def test_batch_norm_with_stale_statistics_fails_with_a_hint_about_the_trap(colours):
    verdict = check(lambda: deep(batch_norm=True, momentum=0.999), colours)
    assert not verdict.passed and "batch-norm trap" in verdict.hint, verdict


@pytest.mark.parametrize("answer, message", [
    (None, "Not attempted"),
    ("relu", "should be a function"),
    (deep("relu", "he_normal"), "the function that builds one"),
    (lambda: 1 / 0, "ZeroDivisionError"),
    (lambda: "model", "returned a str"),
    (lambda: deep("relu", "he_normal", n_conv=4), "keep at least 12"),
    (lambda: keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10, activation="softmax")]),
     "inputs of shape"),
    (lambda: with_head(10, None), "not probabilities"),
    (lambda: with_head(2, "softmax"), "10 class probabilities"),
    (lambda: keras.Sequential([layers.Lambda(lambda t: t[0])]), "no input shape"),
    (lambda: keras.Sequential([keras.Input((32, 32, 3)), layers.Lambda(lambda t: t @ t)]), "Calling your model"),
], ids=["none", "string", "model-not-function", "raises", "not-a-model", "too-shallow", "wrong-input",
        "logits", "two-classes", "no-input", "call-fails"])
def test_answers_that_are_not_a_deep_model_builder_fail_with_a_reason(answer, message, colours):
    verdict = check(answer, colours)
    assert not verdict.passed and message in str(verdict), verdict


NAMES = list(lesson08.CURVE_SIGNATURES)


def seed_where(truth):
    """A seed whose draw puts the curves under these letters."""
    return next(seed for seed in range(100) if lesson08._letters(seed) == truth)


TRUTH = {"A": "overfitting", "B": "stuck at chance", "C": "underfitting"}
SEED = seed_where(TRUTH)


@pytest.mark.parametrize("answer", [
    dict(TRUTH),
    {"a": "Overfitting", "b": "Stuck at chance ", "c": "UNDERFITTING"},
    {"A": "overfitting", "B": "stuck_at_chance", "C": "underfitting"},
])
def test_right_diagnoses_pass_in_any_spelling(answer):
    assert lesson08.check_diagnosis(answer, seed=SEED).passed


@pytest.mark.parametrize("answer, message", [
    (None, "Not attempted"),
    ("overfitting", "should be a dict"),
    ({"A": "overfitting", "B": "stuck at chance"}, "no answer for curve(s) C"),
    ({"A": "overfitting", "B": "vanishing", "C": "underfitting"}, "'vanishing' is not one of the diagnoses"),
    ({"A": "underfitting", "B": "stuck at chance", "C": "overfitting"}, "2 of 3 curves are misread"),
    ({"A": "overfitting", "B": "underfitting", "C": "underfitting"}, "curve B is not 'underfitting'"),
])
def test_wrong_diagnoses_fail_with_a_reason(answer, message):
    verdict = lesson08.check_diagnosis(answer, seed=SEED)
    assert not verdict.passed and message in str(verdict), verdict


def test_the_letters_are_drawn_from_the_seed_inside_the_check_and_handed_out_nowhere():
    drawn = [lesson08._letters(seed) for seed in range(12)]
    assert all(sorted(d) == ["A", "B", "C"] and sorted(d.values()) == sorted(NAMES) for d in drawn)
    assert drawn[0] == lesson08._letters(0) and len({tuple(d.values()) for d in drawn}) == 6  # every order
    histories = {name: {"accuracy": [i / 10], "val_accuracy": [i / 20]} for i, name in enumerate(NAMES)}
    for seed, truth in enumerate(drawn):
        shown = lesson08.curves_by_letter(histories, seed=seed)
        assert list(shown) == ["A", "B", "C"] and all(shown[letter] == histories[truth[letter]] for letter in shown)
        assert all(shown[letter] is not histories[truth[letter]] for letter in shown)  # copies, not the runs
        assert not any(name in repr(shown) for name in NAMES)  # what each curve is, is not in what the notebook gets
        assert lesson08.check_diagnosis(dict(truth), seed=seed).passed
        other = next(d for d in drawn if d != truth)
        assert not lesson08.check_diagnosis(dict(other), seed=seed).passed  # another seed's letters fail


def test_curves_by_letter_wants_the_three_curves():
    with pytest.raises(ValueError, match="stuck at chance"):
        lesson08.curves_by_letter({"overfitting": {}}, seed=0)
