"""Lesson 09's checks: the mystery pipeline is drawn from the seed; naming its cause and fixing it are judged
by what the answer is and does, with a reason for every wrong answer."""
import keras
import pytest
from keras import layers

from cnncourse.diagnose import DIAGNOSE_CODES
from cnncourse.exercises import lesson09


@pytest.fixture(scope="module")
def colours(colour_images):
    """Six classes whose class is their colour: easy for any pipeline that learns at all."""
    x, y = colour_images(900, classes=6)
    return x[:600], y[:600], (x[600:], y[600:])


def mystery(colours, cause):
    x, y, validation = colours
    seed = next(s for s in range(100) if lesson09.mystery_pipeline(x[:8], y[:8], validation, seed=s).cause == cause)
    return lesson09.mystery_pipeline(x, y, validation, seed=seed)


def test_the_draw_follows_the_seed_and_covers_every_cause(colours):
    x, y, validation = colours
    drawn = [lesson09.mystery_pipeline(x[:8], y[:8], validation, seed=s).cause for s in range(40)]
    assert set(drawn) == set(lesson09.MYSTERIES) and set(lesson09.MYSTERIES) <= set(DIAGNOSE_CODES)
    assert drawn == [lesson09.mystery_pipeline(x[:8], y[:8], validation, seed=s).cause for s in range(40)]
    assert "cause" not in repr(lesson09.mystery_pipeline(x[:8], y[:8], validation, seed=0))  # no spoiler


@pytest.mark.parametrize("answer", ["unscaled_inputs", "Unscaled inputs", " unscaled-inputs "])
def test_any_spelling_of_the_right_code_passes(answer, colours):
    verdict = lesson09.check_cause(answer, mystery(colours, "unscaled_inputs"))
    assert verdict.passed, verdict


@pytest.mark.parametrize("answer, reason", [
    ("learning_rate_too_high", "is not what breaks"),
    ("the pixels", "not one of diagnose's codes"),
    (["unscaled_inputs"], "not a list"),
    (3, "should be a string"),
], ids=["another-code", "not-a-code", "a-list", "a-number"])
def test_wrong_causes_fail_with_a_reason(answer, reason, colours):
    verdict = lesson09.check_cause(answer, mystery(colours, "unscaled_inputs"))
    assert not verdict.passed and reason in verdict.message + verdict.hint


def test_no_answer_is_not_attempted(colours):
    assert lesson09.check_cause(None, mystery(colours, "vanishing_gradients")).status == "not attempted"
    assert lesson09.check_fix(None, mystery(colours, "vanishing_gradients")).status == "not attempted"


def sound(output="softmax", loss="sparse_categorical_crossentropy", optimizer=lambda: keras.optimizers.Adam(1e-3),
          compile_it=True, classes=6):
    def build():
        model = keras.Sequential([keras.Input(shape=(32, 32, 3)), layers.Rescaling(1 / 255),
                                  layers.Conv2D(8, 3, strides=2, activation="relu"), layers.Flatten(),
                                  layers.Dense(classes, activation=output)])
        if compile_it:
            model.compile(optimizer=optimizer(), loss=loss, metrics=["accuracy"])
        return model
    return build


@pytest.mark.parametrize("answer", [
    sound(),
    sound(output=None, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
    sound(optimizer=lambda: keras.optimizers.SGD(0.01, momentum=0.9)),
], ids=["softmax", "logits-with-from-logits", "sgd"])
@pytest.mark.parametrize("cause", ["learning_rate_too_low", "loss_output_mismatch"])
def test_fixes_that_learn_pass_whatever_the_spelling(answer, cause, colours):
    verdict = lesson09.check_fix(answer, mystery(colours, cause))
    assert verdict.passed, verdict


def test_the_broken_pipeline_itself_fails_with_the_fix_for_its_cause(colours):
    broken = mystery(colours, "learning_rate_too_low")
    verdict = lesson09.check_fix(sound(optimizer=lambda: keras.optimizers.Adam(1e-6)), broken)
    assert not verdict.passed and verdict.hint == lesson09.FIX_HINTS["learning_rate_too_low"]


@pytest.mark.parametrize("answer, reason", [
    (sound(compile_it=False), "not compiled"),
    (sound()(), "the function that builds one"),
    (lambda: 1 / 0, "ZeroDivisionError"),
    (lambda: "a model", "not a Keras model"),
    (sound(classes=10), "6 classes"),
    (sound(loss="categorical_crossentropy"), "Training your model failed"),
], ids=["uncompiled", "a-model-not-a-function", "raises", "not-a-model", "ten-outputs", "loss-rejects-labels"])
def test_answers_that_cannot_be_trained_fail_with_a_reason(answer, reason, colours):
    verdict = lesson09.check_fix(answer, mystery(colours, "loss_output_mismatch"))
    assert not verdict.passed and reason in verdict.message + verdict.hint
