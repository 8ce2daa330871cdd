import keras
import numpy as np
import pytest
from keras import layers
from matplotlib.figure import Figure

from cnncourse import noise, plots


def test_given_label_confidence_reads_the_probability_of_each_given_label():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])
    assert noise.given_label_confidence(probabilities, [0, 0, 2]) == pytest.approx([0.7, 0.1, 0.4])
    assert noise.given_label_confidence(probabilities, np.eye(3)[[0, 0, 2]]) == pytest.approx([0.7, 0.1, 0.4])
    with pytest.raises(ValueError, match="one row of class probabilities per label"):
        noise.given_label_confidence(probabilities, [0, 1])
    with pytest.raises(ValueError, match="class indices 0..2"):
        noise.given_label_confidence(probabilities, [0, 1, 3])


def test_most_suspicious_ranks_the_lowest_confidence_in_the_given_label_first():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.05, 0.95]])
    assert list(noise.most_suspicious(probabilities, [0, 0, 0, 0], k=2)) == [3, 1]
    assert len(noise.most_suspicious(probabilities, [0, 0, 0, 0], k=0)) == 0
    with pytest.raises(ValueError, match="k must be between 0"):
        noise.most_suspicious(probabilities, [0, 0, 0, 0], k=5)


class _Constant(keras.Model):
    """A stand-in for a trained model: it always predicts the classes it is given."""

    def __init__(self, answers):
        super().__init__()
        self.answers = answers

    def call(self, x, training=False):
        return np.eye(3)[self.answers[: len(x)]]


def test_label_fit_tracker_separates_memorized_wrong_labels_from_true_classes():
    y_true = np.array([0, 1, 2, 0, 1, 2])
    y_given = np.array([0, 1, 2, 1, 2, 0])  # the last three labels are wrong
    tracker = noise.LabelFitTracker(np.zeros((6, 4, 4, 3)), y_given, y_true)
    for answers in ([0, 1, 2, 0, 1, 2], [0, 1, 2, 1, 2, 2]):  # true classes, then two wrong labels memorized
        tracker.set_model(_Constant(np.array(answers)))
        tracker.on_epoch_end(0)
    assert tracker.history["given"] == pytest.approx([0.5, 5 / 6])
    assert tracker.history["true"] == pytest.approx([1.0, 4 / 6])
    assert tracker.history["flipped_given"] == pytest.approx([0.0, 2 / 3])
    assert tracker.history["flipped_true"] == pytest.approx([1.0, 1 / 3])
    with pytest.raises(ValueError, match="3 labels"):
        noise.LabelFitTracker(np.zeros((6, 4, 4, 3)), y_given[:3], y_true)


def test_label_fit_tracker_records_every_epoch_of_a_real_fit():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 256, (40, 8, 8, 3), dtype=np.uint8), rng.integers(0, 3, 40)
    y_given = y.copy()
    y_given[:10] = (y[:10] + 1) % 3
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 3)), layers.Rescaling(1 / 255), layers.Flatten(),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    tracker = noise.LabelFitTracker(x, y_given, y)
    history = model.fit(x, y_given, validation_data=(x, y), epochs=3, verbose=0, callbacks=[tracker]).history
    assert all(len(values) == 3 for values in tracker.history.values())
    predicted = np.argmax(model.predict(x, verbose=0), axis=1)  # the tracker measures at the end of each epoch
    assert tracker.history["given"][-1] == pytest.approx(np.mean(predicted == y_given))
    assert tracker.history["flipped_given"][-1] == pytest.approx(np.mean(predicted[:10] == y_given[:10]))
    fig = plots.plot_memorization(history, tracker.history, title="t")
    assert isinstance(fig, Figure) and len(fig.axes[0].lines) == 4 and len(fig.axes[1].lines) == 2


def test_plot_memorization_says_so_without_wrong_labels_and_refuses_other_input():
    clean = {"given": [0.5], "true": [0.5], "flipped_given": [float("nan")], "flipped_true": [float("nan")]}
    fig = plots.plot_memorization({"val_accuracy": [0.4]}, clean)
    assert "no wrong labels" in fig.axes[1].texts[0].get_text()
    with pytest.raises(ValueError, match="val_accuracy"):
        plots.plot_memorization({"accuracy": [0.4]}, clean)
    with pytest.raises(ValueError, match="flipped_true"):
        plots.plot_memorization({"val_accuracy": [0.4]}, {"given": [0.5], "true": [0.5], "flipped_given": [0.1]})
