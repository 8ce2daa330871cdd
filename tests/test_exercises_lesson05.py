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


def test_check_early_stopping_not_attempted():
    assert lesson05.check_early_stopping(None, LESSON_RUN, 3).status == "not attempted"
    assert lesson05.check_early_stopping(lambda losses, patience: None, LESSON_RUN, 3).status == "not attempted"


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


def run(train_acc, val_acc, best_val, epochs=20):
    history = {"accuracy": [train_acc] * epochs, "val_accuracy": [best_val] + [val_acc] * (epochs - 1),
               "loss": [1.0] * epochs, "val_loss": [1.0] * epochs}
    return TrainingResult(name="run", history=history, seconds=1.0, model=None)


PLAIN = run(0.85, 0.39, 0.42)


@pytest.mark.parametrize("mine, passed, says", [
    (run(0.50, 0.46, 0.47), True, "gap 0.040"),
    (run(0.70, 0.45, 0.46), False, "at most 0.10"),
    (run(0.30, 0.28, 0.30), False, "underfits"),
    (run(0.45, 0.40, 0.405), True, "gap 0.050"),   # 1.5 points below the plain run: within the noise
    (run(0.42, 0.38, 0.395), False, "underfits"),  # 2.5 points below: regularized too much
    (run(0.50, 0.46, 0.47, epochs=12), False, "hides the gap"),
    ("run", False, "what train() returns"),
])
def test_check_regularized(mine, passed, says):
    verdict = lesson05.check_regularized(mine, PLAIN)
    assert verdict.passed == passed and says in str(verdict)
