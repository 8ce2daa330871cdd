"""Lesson 11's checks: the transfer model is judged by what its backbone receives, what can train and a short run;
the broken pipeline's cause is drawn from the seed and stored nowhere. Every wrong answer gets a reason."""
import keras
import numpy as np
import pytest
from keras import layers

from cnncourse import backbone as bb
from cnncourse.data import Cifar10
from cnncourse.diagnose import DIAGNOSE_CODES
from cnncourse.exercises import lesson11

TINY = {**bb.RECIPE, "widths": [8, 16, 16], "epochs": 2, "warmup_epochs": 1}


@pytest.fixture(scope="module")
def setting(colour_images, tmp_path_factory):
    x, y = colour_images(700, classes=10, seed=11)
    backbone = bb.load_backbone(data=Cifar10(x[:500], y[:500], x[:50], y[:50]),
                                cache_dir=tmp_path_factory.mktemp("backbones"), recipe=TINY, progress=False)
    new = np.arange(700) % 10 >= 5
    x_new, y_new = x[new], y[new] - 5
    return backbone, x_new[:250], y_new[:250], (x_new[250:], y_new[250:])


def builder(backbone, preprocessing="once", freeze="backbone", pretrained=True, compile_it=True, classes=5):
    def build():
        base = backbone.copy() if pretrained else bb.build_backbone(TINY["widths"])
        inputs = keras.Input(shape=(32, 32, 3))
        h = {"once": lambda t: bb.preprocessing_layer(backbone)(t),
             "/255": lambda t: layers.Rescaling(1 / 255)(t),
             "none": lambda t: t,
             "twice": lambda t: bb.preprocessing_layer(backbone, "again")(bb.preprocessing_layer(backbone)(t)),
             }[preprocessing](inputs)
        if freeze == "backbone":
            base.trainable = False
        model = keras.Model(inputs, layers.Dense(classes, activation="softmax")(base(h)))
        if freeze == "everything":
            model.trainable = False
        if compile_it:
            model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
        return model
    return build


def check(setting, answer, **kwargs):
    backbone, x, y, validation = setting
    return lesson11.check_transfer_model(answer, backbone, x, y, validation, epochs=3, min_accuracy=0.6, **kwargs)


@pytest.mark.parametrize("freeze", ["backbone", "nothing"], ids=["frozen-backbone", "fine-tuned"])
def test_right_transfer_models_pass(setting, freeze):
    verdict = check(setting, builder(setting[0], freeze=freeze))
    assert verdict.passed, verdict


@pytest.mark.parametrize("kwargs, reason", [
    ({"preprocessing": "/255"}, "scaled to 0-1"),
    ({"preprocessing": "none"}, "raw pixels"),
    ({"preprocessing": "twice"}, "applied twice"),
    ({"freeze": "everything"}, "Nothing in your model is trainable"),
    ({"pretrained": False}, "does not hold the pretrained backbone"),
    ({"compile_it": False}, "not compiled"),
    ({"classes": 10}, "to 10 outputs"),
], ids=["scaled-0-1", "no-preprocessing", "twice", "all-frozen", "random-weights", "uncompiled", "ten-classes"])
def test_wrong_transfer_models_fail_with_a_reason(setting, kwargs, reason):
    verdict = check(setting, builder(setting[0], **kwargs))
    assert not verdict.passed and reason in verdict.message + verdict.hint, verdict


def test_a_model_or_nothing_instead_of_a_function(setting):
    assert check(setting, None).status == "not attempted"
    verdict = check(setting, builder(setting[0])())
    assert not verdict.passed and "function that builds one" in verdict.message


def test_a_model_without_an_accuracy_metric_gets_a_message_not_zero(setting):
    def build():
        model = builder(setting[0], compile_it=False)()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model
    verdict = check(setting, build)
    assert not verdict.passed and "accuracy metric" in verdict.message


def test_the_mystery_cause_is_drawn_from_the_seed_covers_every_cause_and_is_stored_nowhere(setting):
    backbone, x, y, validation = setting
    drawn = [lesson11._drawn_cause(s) for s in range(30)]
    assert set(drawn) == set(lesson11.CAUSES) and set(lesson11.CAUSES) <= set(DIAGNOSE_CODES)
    pipeline = lesson11.mystery_pipeline(backbone, x, y, validation, seed=0)
    assert not hasattr(pipeline, "cause") and not any(c in repr(vars(pipeline)) for c in lesson11.CAUSES)


@pytest.mark.parametrize("cause", lesson11.CAUSES)
def test_each_planted_cause_is_what_it_says(setting, cause):
    backbone, x, y, validation = setting
    seed = next(s for s in range(100) if lesson11._drawn_cause(s) == cause)
    model = lesson11.mystery_pipeline(backbone, x, y, validation, seed=seed).model
    normalizations = [layer for layer in model.layers if isinstance(layer, layers.Normalization)]
    assert (not model.trainable_weights) == (cause == "frozen_model")
    assert len(normalizations) == {"frozen_model": 1, "inputs_scaled_twice": 2, "preprocessing_mismatch": 0}[cause]
    verdict = lesson11.check_cause(cause.replace("_", " ").upper(), seed=seed)
    assert verdict.passed, verdict
    other = next(c for c in lesson11.CAUSES if c != cause)
    assert not lesson11.check_cause(other, seed=seed).passed


@pytest.mark.parametrize("answer, reason", [
    ("the backbone", "not one of diagnose's codes"),
    (["frozen_model"], "not a list"),
    (1, "should be a string"),
])
def test_wrong_causes_fail_with_a_reason(answer, reason):
    verdict = lesson11.check_cause(answer, seed=0)
    assert not verdict.passed and reason in verdict.message + verdict.hint
