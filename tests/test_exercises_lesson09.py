"""Lesson 09's checks: the mystery pipeline's cause is drawn from the seed inside each check and stored nowhere;
naming it and fixing it are judged by what the answer is and does, with a reason for every wrong answer."""
import keras
import pytest
from keras import layers

from cnncourse.diagnose import DIAGNOSE_CODES
from cnncourse.exercises import lesson09

CAUSES = sorted(lesson09.MYSTERIES)


@pytest.fixture(scope="module")
def colours(colour_images):
    """Six classes whose class is their colour: easy for any pipeline that learns at all."""
    x, y = colour_images(900, classes=6)
    return x[:600], y[:600], (x[600:], y[600:])


def seed_for(cause):
    return next(seed for seed in range(100) if lesson09._drawn_cause(seed) == cause)


def mystery(colours, cause):
    x, y, validation = colours
    return lesson09.mystery_pipeline(x, y, validation, seed=seed_for(cause))


def test_the_draw_follows_the_seed_covers_every_cause_and_is_stored_nowhere(colours):
    x, y, validation = colours
    drawn = [lesson09._drawn_cause(seed) for seed in range(40)]
    assert set(drawn) == set(CAUSES) and set(CAUSES) <= set(DIAGNOSE_CODES)
    assert drawn == [lesson09._drawn_cause(seed) for seed in range(40)]
    assert drawn[:6] == ["vanishing_gradients", "loss_output_mismatch", "vanishing_gradients", "vanishing_gradients",
                         "unscaled_inputs", "unscaled_inputs"]  # the draw INSTRUCTORS.md measured on seeds 0-5
    for seed in range(6):
        pipeline = lesson09.mystery_pipeline(x[:8], y[:8], validation, seed=seed)
        assert set(vars(pipeline)) == {"model", "x", "y", "validation_data"}, vars(pipeline)
        assert not any(cause in repr(pipeline) for cause in CAUSES)  # no spoiler in what the notebook holds


@pytest.mark.parametrize("answer", ["unscaled_inputs", "Unscaled inputs", " unscaled-inputs "])
def test_any_spelling_of_the_right_code_passes(answer):
    verdict = lesson09.check_cause(answer, seed=seed_for("unscaled_inputs"))
    assert verdict.passed, verdict


@pytest.mark.parametrize("cause", CAUSES)
def test_each_cause_passes_on_its_own_seed_only(cause):
    assert lesson09.check_cause(cause, seed=seed_for(cause)).passed
    other = next(c for c in CAUSES if c != cause)
    verdict = lesson09.check_cause(cause, seed=seed_for(other))
    assert not verdict.passed and "is not what breaks" in verdict.message, verdict


@pytest.mark.parametrize("answer, reason", [
    ("learning_rate_too_high", "is not what breaks"),
    ("the pixels", "not one of diagnose's codes"),
    (["unscaled_inputs"], "not a list"),
    (3, "should be a string"),
], ids=["another-code", "not-a-code", "a-list", "a-number"])
def test_wrong_causes_fail_with_a_reason(answer, reason):
    verdict = lesson09.check_cause(answer, seed=seed_for("unscaled_inputs"))
    assert not verdict.passed and reason in verdict.message + verdict.hint


def test_no_answer_is_not_attempted(colours):
    seed = seed_for("vanishing_gradients")
    assert lesson09.check_cause(None, seed=seed).status == "not attempted"
    assert lesson09.check_fix(None, mystery(colours, "vanishing_gradients"), seed=seed).status == "not attempted"


# ---------------------------------------------------------------- exercise 2

def reference_fix(pipeline, cause, metrics=("accuracy",)):
    """The solution notebook's answer: the mystery's own network, fresh weights, only ``cause`` fixed."""
    def fixed_model():
        def fix(layer):
            config = layer.get_config()
            if cause == "vanishing_gradients" and config.get("activation") == "sigmoid":
                config.update(activation="relu", kernel_initializer="he_normal")
            if cause == "loss_output_mismatch" and layer is pipeline.model.layers[-1]:
                config["activation"] = "softmax"
            return layer.__class__.from_config(config)

        model = keras.models.clone_model(pipeline.model, clone_function=fix)
        if cause == "unscaled_inputs":
            model = keras.Sequential([keras.Input(shape=(32, 32, 3)), layers.Rescaling(1 / 255), model])
        optimizer = pipeline.model.optimizer
        config = optimizer.get_config()
        if cause.startswith("learning_rate"):
            config["learning_rate"] = 1e-3
        model.compile(optimizer=type(optimizer).from_config(config), loss=pipeline.model.loss,
                      metrics=None if metrics is None else list(metrics))
        return model
    return fixed_model


def check(answer, colours, cause):
    return lesson09.check_fix(answer, mystery(colours, cause), seed=seed_for(cause))


@pytest.mark.parametrize("cause", CAUSES)
def test_the_reference_fix_of_each_cause_passes(cause, colours):
    pipeline = mystery(colours, cause)
    verdict = lesson09.check_fix(reference_fix(pipeline, cause), pipeline, seed=seed_for(cause))
    assert verdict.passed and lesson09.FIXED[cause] in verdict.message, verdict


def lesson_fixed(optimizer=lambda: keras.optimizers.SGD(0.01, momentum=0.9), output="softmax",
                 loss="sparse_categorical_crossentropy", metrics=("accuracy",), scaled=True, classes=6):
    """The lesson's fully fixed model (pipeline(FIXES)): the capstone's CNN, scaled, softmax, SGD at 0.01."""
    def build():
        model = lesson09._cnn(classes, scaled=scaled, output=output)
        model.compile(optimizer=optimizer(), loss=loss, metrics=None if metrics is None else list(metrics))
        return model
    return build


@pytest.mark.parametrize("cause", [c for c in CAUSES if c != "vanishing_gradients"])
def test_the_lessons_fixed_model_passes_where_it_fixes_the_mysterys_network(cause, colours):
    verdict = check(lesson_fixed(), colours, cause)
    assert verdict.passed, verdict


def test_logits_with_from_logits_fix_the_loss_as_well_as_a_softmax(colours):
    verdict = check(lesson_fixed(lambda: keras.optimizers.Adam(1e-3), output=None,
                                 loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
                    colours, "loss_output_mismatch")
    assert verdict.passed, verdict


def test_the_lessons_fixed_model_is_no_fix_of_the_deep_mystery(colours):
    verdict = check(lesson_fixed(), colours, "vanishing_gradients")
    assert not verdict.passed and "not the mystery's network" in verdict.message, verdict
    assert "12 convolutions" in verdict.message or "11 × Conv2D" in verdict.message, verdict


@pytest.mark.parametrize("metrics", [None, (), ("sparse_categorical_accuracy",)], ids=["none", "empty", "named"])
def test_accuracy_is_measured_from_the_predictions_whatever_the_metrics(metrics, colours):
    pipeline = mystery(colours, "loss_output_mismatch")
    verdict = lesson09.check_fix(reference_fix(pipeline, "loss_output_mismatch", metrics), pipeline,
                                 seed=seed_for("loss_output_mismatch"))
    assert verdict.passed and "reaches 0 %" not in verdict.message, verdict


def broken_copy(pipeline):
    """The mystery's model itself, rebuilt with fresh weights and compiled as the mystery is: nothing fixed."""
    def build():
        model = keras.models.clone_model(pipeline.model)
        optimizer = pipeline.model.optimizer
        model.compile(optimizer=type(optimizer).from_config(optimizer.get_config()), loss=pipeline.model.loss,
                      metrics=["accuracy"])
        return model
    return build


@pytest.mark.parametrize("cause, evidence", [
    ("unscaled_inputs", "values up to 255 reach the first convolution"),
    ("loss_output_mismatch", "not the cross-entropy of the classes the model predicts"),
    ("learning_rate_too_high", "Adam at a learning rate of 0.05, the mystery's own rate"),
    ("learning_rate_too_low", "Adam at a learning rate of 1e-06, the mystery's own rate"),
    ("vanishing_gradients", "of the last layer's gradient"),
])
def test_the_broken_pipeline_itself_fails_with_its_own_evidence(cause, evidence, colours):
    pipeline = mystery(colours, cause)
    verdict = lesson09.check_fix(broken_copy(pipeline), pipeline, seed=seed_for(cause))
    assert not verdict.passed and verdict.message.startswith("The mystery's bug is still there"), verdict
    assert evidence in verdict.message, verdict


def test_the_mystery_model_itself_is_no_fresh_model(colours):
    pipeline = mystery(colours, "learning_rate_too_low")
    verdict = lesson09.check_fix(lambda: pipeline.model, pipeline, seed=seed_for("learning_rate_too_low"))
    assert not verdict.passed and "`mystery.model` itself" in verdict.message, verdict


@pytest.mark.parametrize("cause, answer, says", [
    ("loss_output_mismatch", lesson_fixed(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
     "softmax would be applied twice"),
    ("loss_output_mismatch", lesson_fixed(output="sigmoid"), "applies a sigmoid"),
    ("loss_output_mismatch", lesson_fixed(output="sigmoid", loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True)), "told they are logits (from_logits=True), which they are not either"),
    ("learning_rate_too_high", lesson_fixed(lambda: keras.optimizers.Adam(0.03)), "within 3 times the mystery's"),
    ("learning_rate_too_low", lesson_fixed(lambda: keras.optimizers.Adam(1e-7)), "even lower than the mystery's"),
    ("unscaled_inputs", lesson_fixed(scaled=False), "values up to 255"),
], ids=["softmax-from-logits", "sigmoid", "sigmoid-from-logits", "rate-still-high", "rate-even-lower",
        "still-unscaled"])
def test_a_fix_that_leaves_the_bug_in_fails_with_its_evidence(cause, answer, says, colours):
    verdict = check(answer, colours, cause)
    assert not verdict.passed and says in verdict.message, verdict


def test_a_fix_for_another_cause_leaves_the_bug_in(colours):
    pipeline = mystery(colours, "vanishing_gradients")
    verdict = lesson09.check_fix(reference_fix(pipeline, "unscaled_inputs"), pipeline,
                                 seed=seed_for("vanishing_gradients"))
    assert not verdict.passed and verdict.message.startswith("The mystery's bug is still there"), verdict
    assert "of the last layer's gradient" in verdict.message, verdict


def test_a_fix_that_breaks_something_else_fails_with_that(colours):
    verdict = check(lesson_fixed(output=None), colours, "unscaled_inputs")  # scaled now, but logits as probabilities
    assert not verdict.passed and "did not have: the loss" in verdict.message, verdict
    pipeline = mystery(colours, "loss_output_mismatch")

    def scaled_twice():
        model = reference_fix(pipeline, "loss_output_mismatch")()
        return keras.Sequential([keras.Input((32, 32, 3)), layers.Rescaling(1 / 255), model])
    verdict = lesson09.check_fix(lambda: compiled_like(scaled_twice(), pipeline), pipeline,
                                 seed=seed_for("loss_output_mismatch"))
    assert not verdict.passed and "scaled twice" in verdict.message, verdict


def compiled_like(model, pipeline):
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=pipeline.model.loss, metrics=["accuracy"])
    return model


def test_a_model_that_does_not_learn_fails_on_measured_accuracy_with_the_hint_for_its_cause(colours):
    verdict = check(lesson_fixed(lambda: keras.optimizers.SGD(1e-6), metrics=None), colours, "learning_rate_too_low")
    assert not verdict.passed and "measured from its predictions" in verdict.message, verdict
    assert verdict.hint == lesson09.FIX_HINTS["learning_rate_too_low"]


@pytest.mark.parametrize("answer, reason", [
    (lesson_fixed(), "the function that builds one"),
    (lambda: lesson09._cnn(6), "not compiled"),
    (lambda: 1 / 0, "ZeroDivisionError"),
    (lambda: "a model", "not a Keras model"),
    (lesson_fixed(classes=10), "6 classes"),
    (lesson_fixed(loss="categorical_crossentropy"), "cannot compute your model's loss"),
    (lesson_fixed(loss=lambda y, p: 1 / 0), "cannot compute your model's loss"),
], ids=["a-model-not-a-function", "uncompiled", "raises", "not-a-model", "ten-outputs", "loss-rejects-labels",
        "loss-raises"])
def test_answers_that_cannot_be_trained_fail_with_a_reason(answer, reason, colours):
    answer = answer() if reason == "the function that builds one" else answer
    verdict = check(answer, colours, "loss_output_mismatch")
    assert not verdict.passed and reason in verdict.message + verdict.hint, verdict
