import math

import keras
import numpy as np
import pytest

from cnncourse.models import reference_cnn
from cnncourse.probes import EXPECTED_INITIAL_LOSS, first_conv_input, initial_loss, layer_output, nonfinite_weights


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).integers(0, 256, size=(16, 32, 32, 3), dtype=np.uint8)


def test_first_conv_input_applies_the_models_own_scaling(images):
    np.testing.assert_allclose(first_conv_input(reference_cnn(width=4), images), images / 255, rtol=1e-5)
    np.testing.assert_array_equal(first_conv_input(reference_cnn(width=4, scale_inputs=False), images), images)
    flip = reference_cnn(width=4, augmentation=[keras.layers.RandomFlip("horizontal")])
    np.testing.assert_allclose(first_conv_input(flip, images), images / 255, rtol=1e-5)  # inference: no flips


def test_first_conv_input_needs_a_conv():
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no Conv2D"):
        first_conv_input(dense, np.zeros((1, 4)))


def test_layer_output_has_the_layers_shape(images):
    out = layer_output(reference_cnn(width=4), "relu1", images)
    assert out.shape == (16, 32, 32, 4) and out.min() >= 0


def test_initial_loss_is_near_ln10_for_scaled_inputs_and_far_above_for_raw(images):
    assert EXPECTED_INITIAL_LOSS == pytest.approx(math.log(10))
    y = np.arange(16) % 10
    keras.utils.set_random_seed(0)
    scaled = initial_loss(reference_cnn(), images, y)
    keras.utils.set_random_seed(0)
    raw = initial_loss(reference_cnn(scale_inputs=False), images, y)
    assert abs(scaled - EXPECTED_INITIAL_LOSS) < 0.5
    assert raw > 2 * EXPECTED_INITIAL_LOSS


def test_nonfinite_weights_reports_each_layer_with_weights():
    model = reference_cnn(width=4)
    report = nonfinite_weights(model)
    assert set(report) == {"conv1", "conv2", "conv3", "dense", "class_probabilities"}
    assert all(v == 0 for v in report.values())
    kernel, bias = model.get_layer("conv1").weights
    kernel.assign(np.full(kernel.shape, np.nan, dtype="float32"))
    assert nonfinite_weights(model)["conv1"] == pytest.approx(0.5)  # kernel all NaN, bias fine
