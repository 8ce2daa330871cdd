import keras
import numpy as np
import pytest
from keras import layers

from cnncourse.diagnose import MONITOR_CODES, Monitor


def classifier(activation="relu", initializer="he_normal", n_conv=1, head=layers.GlobalAveragePooling2D):
    inputs = keras.Input(shape=(16, 16, 3))
    h = layers.Rescaling(1 / 255)(inputs)
    for _ in range(n_conv):
        h = layers.Conv2D(8, 3, padding="same", activation=activation, kernel_initializer=initializer)(h)
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(head()(h)))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def colours():
    """Images whose class is their colour."""
    rng = np.random.default_rng(0)
    palette = rng.integers(0, 256, (10, 3))
    y = np.arange(600) % 10
    return np.clip(palette[y][:, None, None, :] + rng.normal(0, 20, (600, 16, 16, 3)), 0, 255).astype("uint8"), y


def watched(model, monitor):
    monitor.set_model(model)
    monitor.on_train_begin()
    return monitor


def test_every_code_names_a_lesson():
    assert all("lesson" in lesson for lesson in MONITOR_CODES.values())


def test_a_nonfinite_loss_is_reported_once():
    monitor = watched(classifier(), Monitor(verbose=False))
    for epoch in range(3):
        monitor.on_epoch_end(epoch, {"loss": float("nan"), "accuracy": 0.1})
    assert monitor.codes == ["nonfinite_loss"] and "lesson 04" in str(monitor.findings[0])


@pytest.mark.parametrize("bias, expected", [(0, []), (30, ["initial_loss"])])
def test_the_loss_before_training_is_compared_with_ln_k(bias, expected, colours):
    x, y = colours
    keras.utils.set_random_seed(0)
    model = classifier()
    model.layers[-1].bias.assign(np.eye(10, dtype="float32")[y[0]] * bias)  # huge, confident outputs
    monitor = watched(model, Monitor(x[:100], y[:100], verbose=False))
    assert monitor.codes == expected
    if expected:
        assert "ln 10 = 2.30" in monitor.findings[0].message


def test_accuracy_at_chance_for_several_epochs_is_reported():
    monitor = watched(classifier(), Monitor(verbose=False, chance_epochs=2))
    monitor.on_epoch_end(0, {"loss": 2.3, "accuracy": 0.10})
    assert monitor.codes == []
    monitor.on_epoch_end(1, {"loss": 2.3, "accuracy": 0.095})
    assert monitor.codes == ["at_chance"]


def test_rising_validation_loss_while_training_loss_falls_is_overfitting():
    monitor = watched(classifier(), Monitor(verbose=False, rising_epochs=2))
    for epoch, (loss, val) in enumerate([(1.5, 1.6), (1.2, 1.5), (1.0, 1.55), (0.8, 1.7)]):
        monitor.on_epoch_end(epoch, {"loss": loss, "val_loss": val, "accuracy": 0.5})
    assert monitor.codes == ["overfitting"]
    both_fall = watched(classifier(), Monitor(verbose=False))
    for epoch, (loss, val) in enumerate([(1.5, 1.6), (1.2, 1.5), (1.0, 1.4)]):
        both_fall.on_epoch_end(epoch, {"loss": loss, "val_loss": val, "accuracy": 0.5})
    assert both_fall.codes == []


def test_one_predicted_class_is_reported(colours):
    x, _ = colours
    model = classifier()
    dense = model.layers[-1]
    dense.bias.assign(np.eye(10, dtype="float32")[3] * 100)  # always class 3
    monitor = watched(model, Monitor(x_probe=x[:100], verbose=False))
    monitor.on_epoch_end(0, {"loss": 2.0, "accuracy": 0.3})
    assert monitor.codes == ["one_class"] and "class 3 for 100 of 100" in monitor.findings[0].message


def test_a_deep_sigmoid_stack_is_reported_stuck_with_vanishing_gradients_and_a_healthy_run_is_not(colours, capsys):
    x, y = colours
    keras.utils.set_random_seed(0)
    monitor = Monitor(x_probe=x[:128], y_probe=y[:128])
    classifier("sigmoid", "glorot_uniform", n_conv=12).fit(x, y, epochs=2, batch_size=32, verbose=0,
                                                           callbacks=[monitor])
    assert "vanishing_gradients" in monitor.codes and "at_chance" in monitor.codes
    assert "lesson 08" in capsys.readouterr().out
    keras.utils.set_random_seed(0)
    healthy = Monitor(x_probe=x[:128], y_probe=y[:128])
    classifier(head=layers.Flatten).fit(x, y, validation_data=(x[:100], y[:100]), epochs=3, batch_size=32, verbose=0,
                                        callbacks=[healthy])
    assert healthy.codes == []


def test_monitor_refuses_bad_arguments(colours):
    x, y = colours
    with pytest.raises(ValueError, match="y_probe needs x_probe"):
        Monitor(y_probe=y)
    with pytest.raises(ValueError):
        Monitor(x_probe=x, y_probe=y[:5])
    with pytest.raises(ValueError, match="at least 1"):
        Monitor(chance_epochs=0)
