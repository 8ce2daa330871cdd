import keras
import numpy as np
import pytest
from keras import layers

from cnncourse.exercises import lesson05
from cnncourse.training import TrainingResult

LESSON_RUN = [2.0, 1.8, 1.7, 1.65, 1.7, 1.75, 1.64, 1.8, 1.9, 2.0, 2.1, 1.5]


def right(val_losses, patience):
    best, best_epoch, wait = float("inf"), 0, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch, best_epoch
    return len(val_losses), best_epoch


def counts_from_zero(val_losses, patience):
    trained, best = right(val_losses, patience)
    return trained - 1, best - 1


def global_minimum(val_losses, patience):
    return right(val_losses, patience)[0], int(np.argmin(val_losses)) + 1


def one_epoch_late(val_losses, patience):
    trained, best = right(val_losses, patience + 1)
    return trained, best


def ties_improve(val_losses, patience):
    return right([loss - 1e-9 * epoch for epoch, loss in enumerate(val_losses)], patience)


def test_keras_early_stopping_follows_the_callback():
    assert lesson05.keras_early_stopping([1.0, 0.9, 0.95, 0.96, 0.97, 0.8], 3) == (5, 2)
    assert lesson05.keras_early_stopping([1.0, 0.9, 0.9, 0.9, 0.9], 3) == (5, 2), "a tie is no improvement"
    assert lesson05.keras_early_stopping([1.0, 0.9, 0.8], 3) == (3, 3), "never stops"
    assert lesson05.keras_early_stopping(LESSON_RUN, 3) == (10, 7)


@pytest.mark.parametrize("answer, passed, says", [
    (right, True, "restores the weights of epoch 7"),
    (counts_from_zero, False, "Count epochs from 1"),
    (global_minimum, False, "never saw the later epochs"),
    (one_epoch_late, False, "patience 3, 3 epochs after the best one"),
    (ties_improve, False, "strictly lower"),
    (lambda losses, patience: (len(losses),), False, "two whole numbers"),
    (lambda losses, patience: 1 / 0, False, "ZeroDivisionError"),
    ("epoch 7", False, "should be a function"),
])
def test_check_early_stopping(answer, passed, says):
    verdict = lesson05.check_early_stopping(answer, LESSON_RUN, 3)
    assert verdict.passed == passed and says in str(verdict)


def placeholder(val_losses, patience):
    """(epochs_trained, restored_epoch), counting epochs from 1."""
    # YOUR CODE HERE


def prints(val_losses, patience):
    print(right(val_losses, patience))


def test_check_early_stopping_not_attempted():
    assert lesson05.check_early_stopping(None, LESSON_RUN, 3).status == "not attempted"
    assert lesson05.check_early_stopping(placeholder, LESSON_RUN, 3).status == "not attempted"
    assert lesson05.check_early_stopping(lambda losses, patience: None, LESSON_RUN, 3).status == "not attempted"


def test_check_early_stopping_asks_whether_a_function_printed_instead_of_returning():
    verdict = lesson05.check_early_stopping(prints, LESSON_RUN, 3)
    assert verdict.status == "wrong" and "returned None: did `early_stopping` print its result" in verdict.message
    assert "return epochs_trained, restored_epoch" in verdict.hint


def as_text(val_losses, patience):
    return tuple(str(value) for value in right(val_losses, patience))


def as_floats(val_losses, patience):
    return tuple(float(value) for value in right(val_losses, patience))


def truncated_into_the_answer(val_losses, patience):
    trained, restored = right(val_losses, patience)
    return trained + 0.6, restored + 0.3  # int() would make both right


@pytest.mark.parametrize("answer, passed, says", [
    (as_floats, True, "restores the weights of epoch 7"),  # 10.0 is a whole number
    (lambda losses, patience: np.array(right(losses, patience)), True, "restores"),
    (lambda losses, patience: list(right(losses, patience)), True, "restores"),
    (as_text, False, "give a number, not the text '10'"),
    (lambda losses, patience: "10, 7", False, "not the text '10, 7'"),
    (lambda losses, patience: [str(v) for v in right(losses, patience)], False, "not the text"),
    (truncated_into_the_answer, False, "is 10.6; it should be a whole number"),
    (lambda losses, patience: (right(losses, patience)[0], 7.5), False, "is 7.5"),
    (lambda losses, patience: (float("nan"), 7), False, "is nan"),
    (lambda losses, patience: (True, 7), False, "not True"),
    (lambda losses, patience: 10, False, "two whole numbers"),
    (lambda losses, patience: (10, 7, 3), False, "two whole numbers"),
    (lambda losses, patience: ((10,), 7), False, "should be a whole number, but it is (10,)"),
    (lambda losses, patience: {"trained": 10, "restored": 7}, False, "two whole numbers"),
])
def test_check_early_stopping_takes_whole_numbers_only(answer, passed, says):
    verdict = lesson05.check_early_stopping(answer, LESSON_RUN, 3)
    assert verdict.passed == passed and says in str(verdict), verdict


IMAGES = np.random.default_rng(0).integers(1, 256, size=(16, 32, 32, 3)).astype(np.uint8)


def shift(**kwargs):
    options = {"fill_mode": "constant", "interpolation": "nearest", **kwargs}
    return layers.RandomTranslation(options.pop("factor", 0.125), options.pop("factor", 0.125), seed=1, **options)


def flip():
    return layers.RandomFlip("horizontal", seed=2)


@pytest.mark.parametrize("augment, passed, says", [
    (keras.Sequential([shift(), flip()]),
     True, "moved by up to 4 pixels"),
    (keras.Sequential([shift(fill_mode="reflect"), flip()]),
     False, "fill_mode='constant'"),
    (keras.Sequential([shift(interpolation="bilinear"), flip()]),
     False, "interpolation='nearest'"),
    (keras.Sequential([shift(factor=0.3), flip()]),
     False, "4 of 32 pixels is 0.125"),
    (keras.Sequential([shift(), layers.RandomFlip("vertical", seed=2)]), False, "upside down"),
    (keras.Sequential([shift()]), False, "No image came out mirrored"),
    (keras.Sequential([flip()]), False, "No image was moved"),
    (keras.Sequential([layers.RandomCrop(32, 32, seed=1), flip()]), False, "No image was moved"),
    (keras.Sequential([shift(), flip(), layers.Resizing(24, 24)]), False, "into (24, 24, 3)"),
    (keras.Sequential([layers.RandomFlip("horizontal", seed=2), layers.RandomZoom(0.2, seed=3)]), False,
     "RandomTranslation"),
    (keras.Sequential([layers.ZeroPadding2D(4), shift()]), False, "shape"),
    (layers.Rescaling(1.0), False, "unchanged"),
    (layers.Rescaling(0.5), False, "training=False"),
    ([shift()], False, "should be a Keras layer"),
])
def test_check_shift_and_flip_verifies_every_image(augment, passed, says):
    verdict = lesson05.check_shift_and_flip(augment, IMAGES)
    assert verdict.passed == passed and says in str(verdict)


def test_check_shift_and_flip_not_attempted():
    assert lesson05.check_shift_and_flip(None, IMAGES).status == "not attempted"


def run(train_acc, val_acc, best_val, epochs=20, leaked=None, history=None):
    history = history or {"accuracy": [train_acc] * epochs, "val_accuracy": [best_val] + [val_acc] * (epochs - 1),
                          "loss": [1.0] * epochs, "val_loss": [1.0] * epochs}
    return TrainingResult(name="run", history=history, seconds=1.0, model=None, val_images_trained_on=leaked)


PLAIN = run(0.85, 0.39, 0.42)
NAN = float("nan")


@pytest.mark.parametrize("mine, passed, says", [
    (run(0.50, 0.46, 0.47), True, "gap 0.040"),
    (run(0.58, 0.45, 0.46), True, "gap 0.130"),   # the lesson's augmentation reached 0.12 on one seed
    (run(0.62, 0.45, 0.46), False, "at most 0.15"),
    (run(0.70, 0.45, 0.46), False, "at most 0.15"),  # dropout or L2 alone leave 0.26 and more
    (run(0.30, 0.28, 0.30), False, "underfits"),
    (run(0.45, 0.40, 0.385), True, "gap 0.050"),   # 3.5 points below the plain run: within the noise
    (run(0.42, 0.36, 0.375), False, "underfits"),  # 4.5 points below: regularized too much
    (run(0.50, 0.46, 0.47, epochs=12), False, "hides the gap"),
    (run(0.50, 0.46, 0.47, leaked=0), True, "gap 0.040"),
    (run(0.50, 0.46, 0.47, leaked=3), True, "gap 0.040"),  # a few duplicate photos are no leak
    (run(0.80, 0.79, 0.80, leaked=1000), False, "trained on 1000 of the validation images"),
    (run(0.60, 0.55, 0.56, leaked=100), False, "trained on 100 of the validation images"),
    (run(0, 0, 0, history={key: [NAN] * 20 for key in ("accuracy", "val_accuracy", "loss", "val_loss")}),
     False, "diverged (NaN)"),
    (run(0, 0, 0, history={"accuracy": [0.3] * 5 + [NAN] * 15, "val_accuracy": [0.3] * 5 + [NAN] * 15,
                           "loss": [2.0] * 4 + [NAN] * 16, "val_loss": [2.0] * 5 + [NAN] * 15}),
     False, "loss is nan from epoch 5 on"),
    (run(0, 0, 0, history={"loss": [], "val_accuracy": []}), False, "no epoch to judge"),
    (run(0, 0, 0, history={"loss": [1.0] * 20, "accuracy": [0.5] * 20}), False, "no val_accuracy"),
    ("run", False, "what train() returns"),
])
def test_check_regularized(mine, passed, says):
    verdict = lesson05.check_regularized(mine, PLAIN)
    assert verdict.passed == passed and says in str(verdict), verdict


def test_check_regularized_not_attempted():
    assert lesson05.check_regularized(None, PLAIN).status == "not attempted"


def test_train_counts_the_validation_images_it_trained_on(colour_images):
    """What lets exercise 3 fail a leaked run: train() counts the validation images among its training images,
    as a uint8 copy or a float copy."""
    from cnncourse.training import train

    x, y = colour_images(40, classes=4, size=8)
    x_train, y_train, x_val, y_val = x[:30], y[:30], x[30:], y[30:]

    def tiny():
        return keras.Sequential([keras.Input((8, 8, 3)), layers.Flatten(), layers.Dense(4, activation="softmax")])

    def fit(x_fit, y_fit):
        return train(tiny, x_fit, y_fit, validation_data=(x_val, y_val), epochs=1, progress=False, batch_size=16)

    assert fit(x_train, y_train).val_images_trained_on == 0
    leaked = fit(np.concatenate([x_train, x_val]).astype("float32"), np.concatenate([y_train, y_val]))
    assert leaked.val_images_trained_on == 10
    assert fit(x_val, y_val).val_images_trained_on == 10
