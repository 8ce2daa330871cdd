import os

import keras
import numpy as np
import pytest

from cnncourse.lr_range import RangeTestResult, lr_range_test
from cnncourse.models import reference_cnn
from cnncourse.training import TrainingResult, predict_classes, train


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(64, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, size=64)
    return x, y


def test_keras_runs_on_the_backend_the_environment_asks_for():
    assert keras.backend.backend() == os.environ.get("KERAS_BACKEND", "tensorflow")


def tiny_model():
    return reference_cnn(width=4, dense_units=8)


def test_reference_cnn_takes_raw_uint8_and_outputs_probabilities(tiny_data):
    model = reference_cnn(width=4)
    assert model.layers[0].name == "scale_0_1"
    probs = model.predict(tiny_data[0][:5], verbose=0)
    assert probs.shape == (5, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)


def test_reference_cnn_switches_add_and_remove_layers():
    names = [layer.name for layer in reference_cnn(width=4, dropout=0.5, batch_norm=True, scale_inputs=False,
                                                   augmentation=[keras.layers.RandomFlip("horizontal")]).layers]
    assert "scale_0_1" not in names
    assert names[0].startswith("random_flip")
    assert {"bn1", "bn2", "bn3", "dropout"} <= set(names)
    assert [reference_cnn(width=8).get_layer(f"conv{i}").filters for i in (1, 2, 3)] == [8, 16, 32]


def test_reference_cnn_l2_penalizes_every_kernel_and_batch_norm_follows_the_weights_quickly():
    plain, decayed = reference_cnn(width=4), reference_cnn(width=4, l2=1e-3, batch_norm=True)
    assert not plain.losses
    kernels = [layer for layer in decayed.layers if hasattr(layer, "kernel")]
    assert len(kernels) == 5 and all(layer.kernel_regularizer is not None for layer in kernels)
    expected = 1e-3 * sum(float(np.sum(np.square(layer.kernel.numpy()))) for layer in kernels)
    assert float(sum(decayed.losses)) == pytest.approx(expected, rel=1e-4)
    assert decayed.get_layer("bn1").momentum == 0.9


@pytest.mark.parametrize("kwargs", [{"width": 0}, {"dropout": 1.0}, {"dropout": -0.1}, {"l2": -1e-4}])
def test_reference_cnn_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        reference_cnn(**kwargs)


def test_train_returns_history_time_and_model(tiny_data):
    x, y = tiny_data
    result = train(tiny_model, x, y, validation_data=(x[:16], y[:16]), epochs=2, seed=1, name="tiny", progress=False)
    assert isinstance(result, TrainingResult)
    assert result.name == "tiny" and result.epochs == 2 and result.seed == 1
    assert set(result.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert result.seconds > 0
    assert result.train_accuracy == result.history["accuracy"][-1]
    assert result.gap == pytest.approx(result.train_accuracy - result.val_accuracy)
    assert result.summary()["run"] == "tiny"
    assert predict_classes(result.model, x[:8]).shape == (8,)


@pytest.mark.parametrize("batch_size, fit_kwargs", [(16, {}), (64, {}), (8, {"steps_per_epoch": 2})])
def test_train_records_the_steps_and_images_of_each_epoch(tiny_data, batch_size, fit_kwargs):
    x, y = tiny_data
    result = train(tiny_model, x, y, validation_data=(x[:16], y[:16]), epochs=2, batch_size=batch_size,
                   progress=False, **fit_kwargs)
    assert int(result.model.optimizer.iterations) == 2 * result.steps_per_epoch  # the steps Keras really took
    assert result.images_per_epoch == min(result.steps_per_epoch * batch_size, len(x))


def test_train_releases_the_traced_steps_and_the_model_still_trains_and_evaluates(tiny_data):
    x, y = tiny_data
    result = train(tiny_model, x, y, validation_data=(x[:16], y[:16]), epochs=1, progress=False)
    assert result.model.train_function is None and result.model.test_function is None  # memory a lesson keeps
    before = int(result.model.optimizer.iterations)
    result.model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert int(result.model.optimizer.iterations) == before + 2
    loss, accuracy = result.model.evaluate(x, y, verbose=0)
    assert np.isfinite(loss) and 0 <= accuracy <= 1


def test_mean_gap_averages_the_last_epochs_gaps():
    history = {"accuracy": [0.3, 0.9, 0.8, 0.7], "val_accuracy": [0.3, 0.4, 0.5, 0.6]}
    result = TrainingResult("by hand", history, seconds=1.0, model=None)
    assert result.mean_gap(epochs=1) == pytest.approx(result.gap) == pytest.approx(0.1)
    assert result.mean_gap(epochs=3) == pytest.approx((0.5 + 0.3 + 0.1) / 3)
    assert result.mean_gap(epochs=10) == pytest.approx((0 + 0.5 + 0.3 + 0.1) / 4)  # a shorter run: all its epochs
    with pytest.raises(ValueError, match="at least 1"):
        result.mean_gap(epochs=0)


def test_same_seed_same_curves_other_seed_other_curves(tiny_data):
    x, y = tiny_data
    runs = [train(tiny_model, x, y, validation_data=(x, y), epochs=1, seed=s, progress=False).history["loss"]
            for s in (5, 5, 6)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_train_uses_the_learning_rate_and_optimizer(tiny_data):
    x, y = tiny_data
    result = train(tiny_model, x, y, validation_data=(x, y), epochs=1, optimizer="sgd", learning_rate=0.05,
                   progress=False)
    assert isinstance(result.model.optimizer, keras.optimizers.SGD)
    assert float(result.model.optimizer.learning_rate) == pytest.approx(0.05)


def test_train_wants_a_builder_not_a_model(tiny_data):
    x, y = tiny_data
    with pytest.raises(TypeError, match="function that builds the model"):
        train(tiny_model(), x, y, validation_data=(x, y))
    with pytest.raises(TypeError, match="function that builds the model"):
        lr_range_test(tiny_model(), x, y, progress=False)
    with pytest.raises(ValueError, match="64 images but y has 63"):
        train(tiny_model, x, y[:-1], validation_data=(x, y))


def test_progress_bar_counts_epochs(tiny_data, capsys):
    x, y = tiny_data
    train(tiny_model, x, y, validation_data=(x, y), epochs=2, name="shown", progress=True)
    err = capsys.readouterr().err
    assert "shown" in err and "2/2" in err


def test_lr_range_test_raises_the_rate_exponentially_and_stops_when_loss_explodes():
    # An easy task (dark images are class 0, bright ones class 1): the loss falls far, then explodes.
    y = np.tile([0, 1], 32)
    x = (y * 255).astype(np.uint8).reshape(-1, 1, 1, 1) * np.ones((1, 32, 32, 3), dtype=np.uint8)
    result = lr_range_test(tiny_model, x, y, start=1e-5, stop=10.0, steps=60, batch_size=16, stop_factor=1.5,
                           progress=False)
    assert len(result.learning_rates) == len(result.losses) <= 60
    smooth = result.smoothed()
    assert smooth[-1] > 1.5 * smooth.min() or not np.isfinite(smooth[-1]), "it stops only once the loss blew up"
    assert (smooth[:-1] <= 1.5 * np.minimum.accumulate(smooth[:-1])).all(), "and not before"
    ratios = result.learning_rates[1:] / result.learning_rates[:-1]
    np.testing.assert_allclose(ratios, (10.0 / 1e-5) ** (1 / 59), rtol=1e-6)
    assert len(result.losses) < 60, "a rate of 10 must blow the loss up before the end"
    assert result.learning_rates[0] <= result.lowest_loss_rate <= result.learning_rates[-1]
    assert result.suggestion() == pytest.approx(result.lowest_loss_rate / 10)


def test_lr_range_test_leaves_out_the_batch_that_blew_up(tiny_data):
    """A NaN loss ends the test; kept, it would make np.argmin(result.smoothed()) pick the blow-up."""
    losses = iter([2.3 - 0.01 * step for step in range(14)] + [float("nan")])

    def build():
        model = tiny_model()
        model.train_on_batch = lambda *args, **kwargs: {"loss": next(losses)}
        return model

    result = lr_range_test(build, *tiny_data, steps=40, batch_size=16, progress=False)
    assert len(result.losses) == len(result.learning_rates) == 14 and np.isfinite(result.smoothed()).all()
    assert result.learning_rates[np.argmin(result.smoothed())] == result.lowest_loss_rate


def test_range_test_smoothing_and_suggestion_on_a_known_curve():
    rates = np.geomspace(1e-5, 1, 6)
    result = RangeTestResult(rates, np.array([2.0, 2.0, 1.0, 0.5, 3.0, 9.0]))
    np.testing.assert_allclose(result.smoothed(beta=0.0), result.losses)
    assert result.smoothed()[0] == 2.0  # bias correction: the first value is not shrunk toward 0
    assert result.lowest_loss_rate == pytest.approx(1e-2)  # lowest smoothed point is the 4th (0.5)


def test_range_test_halfway_rate_is_where_the_loss_has_fallen_half_its_depth():
    rates = np.geomspace(1e-6, 1, 30)
    losses = np.r_[np.full(10, 2.3), np.linspace(2.3, 1.3, 10), np.full(5, 1.3), np.linspace(1.3, 9, 5)]
    result = RangeTestResult(rates, losses)
    smooth = result.smoothed()
    halfway = int(np.flatnonzero(rates == result.halfway_rate())[0])
    middle = (2.3 + smooth.min()) / 2
    assert smooth[halfway] <= middle < smooth[halfway - 1]  # the first point at or below the middle
    assert 10 < halfway < int(np.argmin(smooth))  # on the falling part, before the lowest point


@pytest.mark.parametrize("kwargs, message", [({"start": 1.0, "stop": 0.1}, "start < stop"),
                                             ({"steps": 5}, "too few"), ({"batch_size": 1000}, "at least")])
def test_lr_range_test_rejects_bad_arguments(tiny_data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        lr_range_test(tiny_model, *tiny_data, progress=False, **kwargs)


def test_lr_range_test_takes_an_optimizer_instance_and_sets_its_rate(tiny_data):
    optimizer = keras.optimizers.SGD(momentum=0.9)
    result = lr_range_test(tiny_model, *tiny_data, start=1e-4, stop=1e-2, steps=10, batch_size=16,
                           optimizer=optimizer, progress=False)
    assert float(optimizer.learning_rate) == pytest.approx(result.learning_rates[-1], rel=1e-5)


def test_augmentation_layers_leave_out_zero_strengths_and_keep_images_upright():
    from cnncourse.models import augmentation_layers

    names = [type(layer).__name__ for layer in augmentation_layers(flip=False, shift=0.1, zoom=0.0, rotation=0.05)]
    assert names == ["RandomTranslation", "RandomRotation"]
    flip = augmentation_layers(shift=0, zoom=0)[0]
    assert flip.mode == "horizontal"
    image = np.random.default_rng(0).integers(0, 256, size=(1, 32, 32, 3)).astype("float32")
    out = np.asarray(keras.Sequential(augmentation_layers(seed=3))(np.repeat(image, 8, axis=0), training=True))
    assert out.shape == (8, 32, 32, 3) and not np.allclose(out, image)
    same = np.asarray(keras.Sequential(augmentation_layers(seed=3))(np.repeat(image, 8, axis=0), training=True))
    np.testing.assert_allclose(out, same, err_msg="a seed gives repeatable draws")
    with pytest.raises(ValueError, match="fractions"):
        augmentation_layers(shift=1.5)


@pytest.mark.parametrize("activation, bias, expected", [("sigmoid", -0.1, 0), ("sigmoid", 0.1, 1),
                                                         (None, -0.1, 0), (None, 0.1, 1)])
def test_a_single_output_model_predicts_both_classes(activation, bias, expected):
    # sigmoid(0.1) > 0.5 and sigmoid(-0.1) < 0.5; a logit is compared with 0 (argmax of one column is always 0)
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1, activation=activation,
                              kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(bias))])
    assert predict_classes(model, np.zeros((4, 2), "float32")).tolist() == [expected] * 4


def test_last_weights_keeps_the_last_epoch_before_early_stopping_restores_the_best():
    from cnncourse.training import LastWeights
    x, y = np.random.default_rng(0).normal(size=(64, 4)).astype("float32"), np.arange(64) % 2
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    last = LastWeights()
    restore = keras.callbacks.EarlyStopping(monitor="loss", mode="max", patience=10, restore_best_weights=True)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[last, restore])  # "best" = the first epoch's (highest loss)
    assert last.weights is not None
    assert not all(np.allclose(a, b) for a, b in zip(last.weights, model.get_weights()))
