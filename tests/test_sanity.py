import math

import keras
import numpy as np
import pytest
from keras import layers

from cnncourse import sanity


def tiny(output="softmax", loss="sparse_categorical_crossentropy", seed=0, num_classes=4):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((8, 8, 3)), layers.Rescaling(1 / 255), layers.Flatten(),
                              layers.Dense(32, activation="relu"), layers.Dense(num_classes, activation=output)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=loss, metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (24, 8, 8, 3), dtype=np.uint8), rng.integers(0, 4, 24)


def test_expected_initial_loss_is_ln_k():
    assert sanity.expected_initial_loss(10) == pytest.approx(2.302585)
    assert sanity.expected_initial_loss(6) == pytest.approx(math.log(6))
    for bad in (1, 0, 2.5, "10"):
        with pytest.raises(ValueError, match="at least 2"):
            sanity.expected_initial_loss(bad)


def test_class_indices_from_every_label_format():
    y = np.array([2, 0, 1])
    for form in (y, y[:, None], np.eye(3)[y], list(y)):
        np.testing.assert_array_equal(sanity.class_indices(form), y)
    with pytest.raises(ValueError, match="one-hot"):
        sanity.class_indices(np.zeros((2, 2, 2)))


def test_loss_at_init_is_near_ln_k_for_a_healthy_pairing_and_far_for_logits_read_as_probabilities(batch):
    x, y = batch
    assert sanity.loss_at_init(tiny(), x, y) == pytest.approx(math.log(4), abs=0.5)
    assert abs(sanity.loss_at_init(tiny(output=None), x, y) - math.log(4)) > 0.5  # how far depends on the backend


def test_checks_refuse_an_uncompiled_model_and_mismatched_arrays(batch):
    x, y = batch
    model = keras.Sequential([keras.Input((8, 8, 3)), layers.Flatten(), layers.Dense(4)])
    with pytest.raises(ValueError, match="compile the model first"):
        sanity.loss_at_init(model, x, y)
    with pytest.raises(ValueError, match="compile the model first"):
        sanity.overfit_one_batch(model, x, y)
    with pytest.raises(ValueError, match="24 images but y has 3 labels"):
        sanity.loss_at_init(tiny(), x, y[:3])
    with pytest.raises(TypeError, match="Keras model"):
        sanity.overfit_one_batch("model", x, y)


def test_overfit_one_batch_learns_a_small_batch_and_leaves_the_model_alone(batch):
    x, y = batch
    model = tiny()
    before = [w.copy() for w in model.get_weights()]
    result = sanity.overfit_one_batch(model, x, y, steps=60, progress=False)
    assert result.passed and result.final_accuracy == 1.0 and 1 <= result.steps_to_fit <= 60
    assert len(result.losses) == len(result.accuracies) == 60 and result.losses[-1] < result.losses[0]
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert int(model.optimizer.iterations.numpy()) == 0


def test_overfit_one_batch_fails_when_nothing_can_be_learned(batch):
    x, y = batch
    frozen = tiny()
    frozen.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")
    result = sanity.overfit_one_batch(frozen, x, y, steps=10, progress=False)
    assert not result.passed and result.steps_to_fit is None


def test_true_accuracy_and_predicted_counts_read_the_outputs_whatever_the_metric(batch):
    x, y = batch
    model = tiny(loss="binary_crossentropy")
    onehot = np.eye(4)[y]
    predicted = np.argmax(model.predict(x, verbose=0), axis=1)
    assert sanity.true_accuracy(model, x, onehot) == pytest.approx(np.mean(predicted == y))
    assert sanity.true_accuracy(model, x, y) == sanity.true_accuracy(model, x, onehot)
    counts = sanity.predicted_class_counts(model, x)
    np.testing.assert_array_equal(counts, np.bincount(predicted, minlength=4))
