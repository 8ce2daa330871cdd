"""Lesson 06's checks judge what an answer does: every correct spelling passes, plausible wrong answers
fail with a reason."""
import math

import keras
import numpy as np
import pytest
from keras import layers

from cnncourse import sanity
from cnncourse.exercises import lesson06

RNG = np.random.default_rng(0)
X = RNG.integers(0, 256, (32, 8, 8, 3), dtype=np.uint8)
Y = RNG.integers(0, 10, 32)


def build_model(output="softmax", num_classes=10):
    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((8, 8, 3)), layers.Rescaling(1 / 255), layers.Flatten(),
                             layers.Dense(32, activation="relu"), layers.Dense(num_classes, activation=output)])


def compiled(output=None, loss=None, metrics=("accuracy",)):
    model = build_model(output)
    model.compile(optimizer="adam", loss=loss, metrics=None if metrics is None else list(metrics))
    return model


SPARSE_LOGITS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


@pytest.mark.parametrize("model", [
    compiled(None, keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
    compiled(None, lambda y, p: keras.losses.sparse_categorical_crossentropy(y, p, from_logits=True)),
    compiled(None, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
             metrics=[keras.metrics.SparseCategoricalAccuracy()]),
    compiled(None, SPARSE_LOGITS, metrics=["sparse_categorical_accuracy"]),
    compiled("softmax", "sparse_categorical_crossentropy"),  # a softmax put back is a right pairing too
    compiled("softmax", keras.losses.SparseCategoricalCrossentropy()),
], ids=["class", "function", "metric object", "metric name", "softmax + default", "softmax + class"])
def test_repaired_compile_accepts_every_right_pairing(model):
    verdict = lesson06.check_repaired_compile(model, X, Y)
    assert verdict.passed, verdict


@pytest.mark.parametrize("model, says", [
    (None, "Not attempted"),
    ("model", "should be a Keras model"),
    (build_model(None), "not compiled"),
    (compiled(None, "sparse_categorical_crossentropy"), "not the cross-entropy"),
    (compiled(None, "categorical_crossentropy"), "could not evaluate"),
    (compiled(None, "binary_crossentropy"), "could not evaluate"),
    (compiled("softmax", SPARSE_LOGITS), "softmax would be applied twice"),
    (compiled(None, "mse"), "could not evaluate"),
    (compiled(None, SPARSE_LOGITS, metrics=["binary_accuracy"]), "could not evaluate"),
    (compiled(None, SPARSE_LOGITS, metrics=[keras.metrics.SparseTopKCategoricalAccuracy(k=5)]),
     "is not the share of images"),
    (compiled(None, SPARSE_LOGITS, metrics=[]), "reports no accuracy"),
    (compiled(None, SPARSE_LOGITS, metrics=None), "reports no accuracy"),
], ids=["none", "text", "uncompiled", "logits as probabilities", "categorical on integers", "binary",
        "double softmax", "mse", "binary accuracy", "top-5 accuracy", "no metric", "metrics left out"])
def test_repaired_compile_rejects_wrong_pairings_with_a_reason(model, says):
    verdict = lesson06.check_repaired_compile(model, X, Y)
    assert not verdict.passed and says in verdict.message, verdict


@pytest.mark.parametrize("loss, says", [
    (SPARSE_LOGITS, "told they are logits (from_logits=True), which they are not either"),
    (keras.losses.SparseCategoricalCrossentropy(), "reads them as one distribution"),
    ("sparse_categorical_crossentropy", "reads them as one distribution"),
], ids=["from_logits=True", "loss object", "loss name"])
def test_a_sigmoid_output_is_told_what_it_is_whatever_the_loss_is_told(loss, says):
    verdict = lesson06.check_repaired_compile(compiled("sigmoid", loss), X, Y)
    assert not verdict.passed and "applies a sigmoid" in verdict.message and says in verdict.message, verdict
    assert "must be told so" not in verdict.hint and "build_model(output=None)" in verdict.hint, verdict


def right_check(model, x, y, steps=100):
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    copy.compile(optimizer="adam", loss=model.loss)
    for _ in range(steps):
        copy.train_on_batch(x, y)
    return bool(np.mean(np.argmax(copy.predict(x, verbose=0), axis=1) == y) >= 0.99)


def numpy_bool_check(model, x, y):
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    copy.compile(optimizer=keras.optimizers.Adam(3e-3), loss=model.loss, metrics=["accuracy"])
    history = copy.fit(x, y, epochs=100, batch_size=len(x), verbose=0)
    outputs = copy.predict(x, verbose=0)
    return np.mean(outputs.argmax(axis=1) == y) == 1.0 and len(history.history["loss"]) == 100


def trains_the_model_itself(model, x, y):
    for _ in range(100):
        model.train_on_batch(x, y)
    return bool(np.mean(np.argmax(model.predict(x, verbose=0), axis=1) == y) >= 0.99)


def loss_went_down(model, x, y):
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    copy.compile(optimizer="adam", loss=model.loss)
    losses = [copy.train_on_batch(x, y, return_dict=True)["loss"] for _ in range(100)]
    return losses[-1] < losses[0]


def checked(target=0.99, steps=100):
    """The reference answer (train_on_batch on a copy), with its threshold and number of steps as given."""
    def fits_one_batch(model, x, y):
        copy = keras.models.clone_model(model)
        copy.set_weights(model.get_weights())
        copy.compile(optimizer="adam", loss=model.loss)
        for _ in range(steps):
            copy.train_on_batch(x, y)
        return bool(np.mean(np.argmax(copy.predict(x, verbose=0), axis=1) == y) >= target)
    return fits_one_batch


def lesson_standard(model, x, y):
    return sanity.overfit_one_batch(model, x, y, progress=False).passed


def never_trains(model, x, y):  # the last layer's activation tells healthy from broken, without training
    return model.layers[-1].activation.__name__ == "softmax"


def loss_near_ln_k(model, x, y):  # the loss at init tells them apart too, without training
    return bool(abs(sanity.loss_at_init(model, x, y) - np.log(model.output_shape[-1])) < 0.5)


@pytest.mark.parametrize("answer", [right_check, numpy_bool_check, lesson_standard, checked(target=1.0)],
                         ids=["train_on_batch", "fit, numpy bool", "sanity.overfit_one_batch", "every image"])
def test_fits_one_batch_accepts_working_checks(answer):
    verdict = lesson06.check_fits_one_batch(answer, build_model, X, Y)
    assert verdict.passed, verdict


def test_the_unlearnable_batch_is_failed_by_the_lessons_own_test_and_learned_all_but_its_copies():
    x, y = lesson06.contradictory_batch(X, Y, 10)
    assert np.array_equal(x[-2:], X[:2]) and np.all(y[-2:] != Y[:2]) and np.array_equal(y[:-2], Y[:-2])
    assert np.array_equal(x[:-2], X[:-2]) and X is not x and not np.array_equal(X[-2:], X[:2])  # X itself unchanged
    model = compiled("softmax", "sparse_categorical_crossentropy")
    result = sanity.overfit_one_batch(model, x, y, progress=False)
    assert not result.passed and result.accuracies.max() >= 0.9, result.accuracies.max()


@pytest.mark.parametrize("answer, says", [
    (None, "Not attempted"),
    (42, "should be a function"),
    (lambda model, x, y: True, "said True"),
    (lambda model, x, y: False, "said False"),
    (lambda model, x, y: "yes", "should return True or False"),
    (lambda model, x, y: None, "should return True or False"),
    (lambda model: True, "raised TypeError"),
    (trains_the_model_itself, "changed the weights"),
    (loss_went_down, "said True"),
    (never_trains, "judges without training"),
    (loss_near_ln_k, "judges without training"),
    (checked(target=0.9), "content with less than (nearly) every image"),
    (checked(steps=5), "said False"),
], ids=["none", "number", "always true", "always false", "text", "prints", "wrong signature", "trains the model",
        "loss went down", "never trains", "loss at init", "90 % is enough", "too few steps"])
def test_fits_one_batch_rejects_checks_that_cannot_tell(answer, says):
    verdict = lesson06.check_fits_one_batch(answer, build_model, X, Y)
    assert not verdict.passed and says in verdict.message, verdict


@pytest.mark.parametrize("answer", [np.log(6), math.log(6), -np.log(1 / 6), 1.79, 1.792, np.float32(1.7918)])
def test_loss_at_init_accepts_ln_6_however_written(answer):
    assert lesson06.check_loss_at_init(answer).passed


@pytest.mark.parametrize("answer, says", [
    (None, "Not attempted"),
    (np.log10(6), "natural log"),
    (np.log2(6), "natural log"),
    (1 / 6, "accuracy of guessing"),
    (np.log(1 / 6), "never negative"),
    (np.log(10), "10 classes"),
    ("1.79", "single number"),
    ([1.79], "single number"),
    (2.0, "not right yet"),
])
def test_loss_at_init_rejects_common_mistakes(answer, says):
    verdict = lesson06.check_loss_at_init(answer)
    assert not verdict.passed and says in verdict.message + verdict.hint, verdict
