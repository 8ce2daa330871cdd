import keras
import numpy as np
import pandas as pd
import pytest
from keras import layers

from cnncourse import depth


def stack(n_layers=10, activation="sigmoid", initializer="glorot_uniform", batch_norm=False, width=4):
    """A deep stack of small convolutions on 8 x 8 images, like lesson 08's, but cheap."""
    inputs = keras.Input(shape=(8, 8, 3))
    h = inputs
    for _ in range(n_layers):
        h = layers.Conv2D(width, 3, padding="same", kernel_initializer=initializer)(h)
        if batch_norm:
            h = layers.BatchNormalization()(h)
        h = layers.Activation(activation)(h)
    outputs = layers.Dense(10, activation="softmax")(layers.Flatten()(h))
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (64, 8, 8, 3)).astype("float32"), rng.integers(0, 10, 64)


def test_gradient_rms_vanishes_through_sigmoids_but_not_through_relus_with_he_init(batch):
    keras.utils.set_random_seed(0)
    model = stack()
    sigmoid = depth.gradient_rms(model, *batch)
    keras.utils.set_random_seed(0)
    relu = depth.gradient_rms(stack(activation="relu", initializer="he_normal"), *batch)
    kernels = [layer.name for layer in model.layers if isinstance(layer, (layers.Conv2D, layers.Dense))]
    assert isinstance(sigmoid, pd.Series) and list(sigmoid.index) == kernels and len(kernels) == 11
    assert sigmoid.iloc[0] / sigmoid.iloc[-1] < 1e-3
    assert relu.iloc[0] / relu.iloc[-1] > 0.05


def test_gradient_rms_changes_nothing_and_uses_the_compiled_loss(batch):
    x, y = batch
    model = stack(batch_norm=True)
    before = [v.numpy().copy() for v in model.variables]
    plain = depth.gradient_rms(model, x, y)
    for old, variable in zip(before, model.variables):
        np.testing.assert_array_equal(old, variable.numpy())
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    one_hot = depth.gradient_rms(model, x, keras.utils.to_categorical(y, 10))
    np.testing.assert_allclose(one_hot.values, plain.values, rtol=1e-4)


def test_probes_refuse_what_they_cannot_probe(batch):
    x, y = batch
    with pytest.raises(TypeError, match="Keras model"):
        depth.gradient_rms("model", x, y)
    with pytest.raises(ValueError, match="not built"):
        depth.activation_stats(keras.Sequential([layers.Dense(2)]), x)
    with pytest.raises(ValueError):
        depth.gradient_rms(stack(), x, y[:10])
    no_activation = keras.Sequential([keras.Input((8, 8, 3)), layers.Flatten(), layers.Dense(10)])
    with pytest.raises(ValueError, match="no layer with an activation"):
        depth.activation_stats(no_activation, x)
    with pytest.raises(ValueError, match="no trainable layer with a kernel"):
        depth.gradient_rms(keras.Sequential([keras.Input((8, 8, 3)), layers.Flatten()]), x, y)


def test_gradient_rms_in_batches_is_the_same_gradient_without_batch_norm(batch):
    """Batches of unequal size (16, 16, 8 of 40 images) weighted by their sizes: the gradient of the mean loss."""
    x, y = batch
    x, y = x[:40], y[:40]
    keras.utils.set_random_seed(0)
    model = stack(n_layers=3)
    whole, batched = depth.gradient_rms(model, x, y), depth.gradient_rms(model, x, y, batch_size=16)
    np.testing.assert_allclose(batched.to_numpy(), whole.to_numpy(), rtol=1e-4)
    for bad in (0, 2.5, "64"):
        with pytest.raises(ValueError, match="batch_size"):
            depth.gradient_rms(model, x, y, batch_size=bad)


def test_gradient_rms_skips_frozen_layers(batch):
    """A layer with trainable=False gets no gradient: it is left out, not a KeyError."""
    x, y = batch
    model = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3, trainable=False, name="frozen"),
                              layers.Conv2D(4, 3, name="learning"), layers.Flatten(), layers.Dense(10, name="out")])
    assert list(depth.gradient_rms(model, x, y).index) == ["learning", "out"]


def test_activation_stats_describe_each_activation_and_find_dead_and_saturated_units(batch):
    x, _ = batch
    keras.utils.set_random_seed(0)  # the healthy stack's share of zeros must not depend on the tests run before
    model = keras.Sequential([keras.Input((8, 8, 3)), layers.Flatten(),
                              layers.Dense(6, activation="relu", bias_initializer=keras.initializers.Constant(-100),
                                           name="dead"),
                              layers.Dense(6, bias_initializer=keras.initializers.Constant(50), name="pre"),
                              layers.Activation("sigmoid", name="saturated"),
                              layers.Dense(10, activation="softmax", name="out")])
    stats = depth.activation_stats(model, x)
    assert list(stats.index) == ["dead", "saturated", "out"]
    assert list(stats.columns) == ["activation", "mean", "std", "flat", "dead"]
    assert stats.loc["dead", "flat"] == 1 and stats.loc["dead", "mean"] == 0 and stats.loc["dead", "dead"] == 1
    assert stats.loc["saturated", "flat"] == 1 and stats.loc["saturated", "mean"] == pytest.approx(1, abs=1e-3)
    # a softmax's ten outputs average exactly 1/10, up to float32 rounding (1.2e-7 seen on JAX)
    assert np.isnan(stats.loc["out", "flat"]) and stats.loc["out", "mean"] == pytest.approx(0.1, abs=1e-6)
    healthy = depth.activation_stats(stack(activation="relu", initializer="he_normal"), x)
    assert healthy["flat"].dropna().between(0.2, 0.8).all()  # about half of a ReLU's outputs are 0
    assert (healthy["dead"].dropna() < 0.5).all()  # ... but each unit is off for some inputs only


def test_activation_stats_in_batches_equal_the_stats_of_one_pass(batch):
    x, _ = batch
    keras.utils.set_random_seed(0)
    model = stack(n_layers=3, activation="relu", initializer="he_normal")
    whole, batched = depth.activation_stats(model, x), depth.activation_stats(model, x, batch_size=24)
    np.testing.assert_allclose(batched[["mean", "std", "flat", "dead"]].to_numpy(dtype=float),
                               whole[["mean", "std", "flat", "dead"]].to_numpy(dtype=float), rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="batch_size"):
        depth.activation_stats(model, x, batch_size=0)


def test_activation_stats_count_dead_units_per_channel_not_per_value(batch):
    """Three of six channels switched off for every input: half the units are dead, whatever the share of zeros."""
    x, _ = batch
    keras.utils.set_random_seed(0)
    off = keras.initializers.Constant([-100.0] * 3 + [0.0] * 3)
    model = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(6, 3, activation="relu", bias_initializer=off,
                                                                    name="half_dead")])
    stats = depth.activation_stats(model, x - 0.5)  # centred inputs: a live channel is positive somewhere
    assert stats.loc["half_dead", "dead"] == 0.5
    assert stats.loc["half_dead", "flat"] > 0.5  # the live channels are zero at some positions too


def test_batch_norm_modes_disagree_with_stale_statistics_and_refresh_makes_them_agree(batch):
    x, y = batch
    keras.utils.set_random_seed(0)
    model = stack(n_layers=3, batch_norm=True)
    for layer in depth.batch_norm_layers(model):
        layer.moving_mean.assign(np.full(layer.moving_mean.shape, 3.0, "float32"))  # stale averages
    stats_before = [v.numpy().copy() for v in model.non_trainable_variables]
    depth.accuracy(model, x, y, training=True)
    depth.activation_stats(model, x, training=True)
    for old, variable in zip(stats_before, model.non_trainable_variables):  # the probes changed nothing
        np.testing.assert_array_equal(old, variable.numpy())
    stale = keras.ops.convert_to_numpy(model(x, training=False))
    batch_stats = keras.ops.convert_to_numpy(model(x, training=True))
    assert np.abs(stale - batch_stats).max() > 0.01
    depth.refresh_batch_norm(model, x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x, training=False)), batch_stats, atol=1e-3)
    assert [layer.momentum for layer in depth.batch_norm_layers(model)] == [0.99] * 3
    with pytest.raises(ValueError, match="no BatchNormalization"):
        depth.refresh_batch_norm(stack(n_layers=2), x)


def test_accuracy_counts_argmax_hits(batch):
    x, y = batch
    model = stack(n_layers=2)
    predicted = np.argmax(keras.ops.convert_to_numpy(model(x)), axis=1)
    assert depth.accuracy(model, x, y, batch_size=10) == pytest.approx(np.mean(predicted == y))
    assert depth.accuracy(model, x, predicted) == 1


def test_conv_layers_counts_convolutions():
    assert depth.conv_layers(stack(n_layers=7)) == 7


def test_weight_change_is_zero_for_untouched_layers_and_relative_for_moved_ones():
    model = stack(n_layers=2)
    before = depth.kernel_snapshot(model)
    assert len(before) == 3 and all(isinstance(kernel, np.ndarray) for kernel in before.values())
    first = model.layers[1]
    first.kernel.assign(first.kernel.numpy() * 1.5)
    change = depth.weight_change(before, model)
    assert change.iloc[0] == pytest.approx(0.5, rel=1e-5) and (change.iloc[1:] == 0).all()
    with pytest.raises(ValueError, match="same model"):
        depth.weight_change(before, stack(n_layers=2))
