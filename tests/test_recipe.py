"""The capstone's recipes, the compute budget that races them, and the clock that trains them for a fixed time."""
import time

import keras
import numpy as np
import pytest

from cnncourse.recipe import TimeBudget, course_cnn, epochs_within, one_cycle, training_flops, tutorial_cnn


@pytest.mark.parametrize("build, softmax", [(course_cnn, True), (tutorial_cnn, False)])
def test_recipes_map_raw_images_to_class_scores(build, softmax):
    model = build(num_classes=6)
    out = keras.ops.convert_to_numpy(model(np.full((2, 32, 32, 3), 255, dtype="float32")))
    assert out.shape == (2, 6)
    assert np.allclose(out.sum(axis=1), 1, atol=1e-5) == softmax  # the tutorial's model gives logits


def test_the_schedule_warms_up_then_decays_to_zero():
    clock = TimeBudget(10, peak_learning_rate=1e-2, warmup=0.2)
    rates = [clock.learning_rate(share) for share in (0, 0.1, 0.2, 0.6, 1.0, 1.5)]
    assert rates[0] == 0 and rates[1] == pytest.approx(5e-3) and rates[2] == pytest.approx(1e-2)
    assert rates[3] == pytest.approx(5e-3) and rates[4] == pytest.approx(0, abs=1e-12) and rates[5] == rates[4]


class Slow(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        time.sleep(0.05)


def test_training_stops_when_the_budget_is_spent_and_the_rate_follows_the_clock():
    x = np.random.default_rng(0).integers(0, 256, (64, 32, 32, 3)).astype("uint8")
    y = np.arange(64) % 10
    model = keras.Sequential([keras.Input(shape=(32, 32, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(), loss="sparse_categorical_crossentropy")
    clock = TimeBudget(1.0, peak_learning_rate=0.1)
    history = model.fit(x, y, epochs=1000, batch_size=16, verbose=0, callbacks=[Slow(), clock]).history
    assert 1.0 <= clock.spent < 1.5 and len(history["loss"]) < 1000  # stopped at the budget, not the epochs
    assert clock.seconds == sorted(clock.seconds) and len(clock.seconds) == len(history["loss"])
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) < 0.01  # near the end of the cosine


def test_a_clock_without_a_peak_leaves_the_learning_rate_alone():
    x, y = np.zeros((32, 32, 32, 3), "uint8"), np.zeros(32, int)
    model = course_cnn(num_classes=2)
    model.compile(optimizer=keras.optimizers.Adam(3e-4), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[TimeBudget(60)])
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(3e-4)


@pytest.mark.parametrize("kwargs", [{"seconds": 0}, {"seconds": 10, "warmup": 1.0},
                                    {"seconds": 10, "peak_learning_rate": -1}])
def test_bad_arguments_say_what_is_wrong(kwargs):
    with pytest.raises(ValueError, match="need seconds|must be positive"):
        TimeBudget(**kwargs)


def test_training_flops_count_convolutions_and_dense_layers_by_hand():
    model = keras.Sequential([keras.Input(shape=(8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same"),
                              keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(5)])
    forward = 2 * (8 * 8 * 3 * 3 * 3 * 4) + 2 * (4 * 4 * 4 * 5)  # multiply-adds of the kernel at each output pixel
    assert training_flops(model) == 3 * forward
    inner = keras.Sequential([keras.Input(shape=(8, 8, 3)), keras.layers.Conv2D(4, 3, padding="same")])
    nested = keras.Sequential([keras.Input(shape=(8, 8, 3)), inner, keras.layers.MaxPooling2D(),
                               keras.layers.Flatten(), keras.layers.Dense(5)])
    assert training_flops(nested) == training_flops(model)  # a backbone inside a model is counted too


def test_the_same_budget_gives_the_cheaper_model_more_epochs():
    course, tutorial = course_cnn(num_classes=6), tutorial_cnn(num_classes=6)
    assert 2 < training_flops(course) / training_flops(tutorial) < 2.6
    budget = 10 * training_flops(course) * 3000
    assert epochs_within(budget, course, 3000) == 10
    assert epochs_within(budget, tutorial, 3000) == int(10 * training_flops(course) / training_flops(tutorial))
    assert epochs_within(1, course, 3000) == 1  # at least one epoch
    with pytest.raises(ValueError, match="no Conv2D or Dense"):
        training_flops(keras.Sequential([keras.Input(shape=(4,)), keras.layers.ReLU()]))


def test_one_cycle_warms_up_to_the_peak_then_decays_to_zero():
    schedule = one_cycle(1e-2, 100, warmup=0.2)
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in (0, 10, 20, 60, 100)]
    assert rates[0] == 0 and rates[1] == pytest.approx(5e-3) and rates[2] == pytest.approx(1e-2)
    assert rates[3] == pytest.approx(5e-3, rel=1e-3) and rates[4] == pytest.approx(0, abs=1e-9)
    with pytest.raises(ValueError, match="need peak"):
        one_cycle(0, 100)
