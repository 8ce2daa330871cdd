"""Lesson 10's checks: the mystery pipeline's cause is drawn from the seed and stored nowhere; the datasets made
from folders are judged by what their batches hold and by a short training run; the repair of scrambled pixels by
images the check draws itself. Every wrong answer gets a reason."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from cnncourse.data import Cifar10
from cnncourse.diagnose import DIAGNOSE_CODES
from cnncourse.exercises import lesson10
from cnncourse.folders import batch_labels, cifar10_folders, load_folder, pickle_rows
from cnncourse.signatures import batch_purity

NAMES = ("ant", "bee", "cow", "dog", "elk")


@pytest.fixture(scope="module")
def folder(colour_images, tmp_path_factory):
    """Photos of five classes: the class is the colour, under a smooth texture, so that neighbouring pixels
    correlate as in photographs (and scrambling them shows)."""
    x, y = colour_images(400, classes=5, noise=5, seed=4)
    x = (x / 2 + lesson10.photo_like(np.random.default_rng(4), 400) / 2).astype("uint8")
    data = Cifar10(x, y, x[:5], y[:5], class_names=NAMES)
    return cifar10_folders(per_class=60, val_per_class=20, data=data, root=tmp_path_factory.mktemp("photos"),
                           progress=False)


def seed_for(cause):
    return next(s for s in range(100) if lesson10._drawn_cause(s) == cause)


def test_the_draw_follows_the_seed_covers_every_cause_and_is_stored_nowhere(folder):
    drawn = [lesson10._drawn_cause(s) for s in range(30)]
    assert set(drawn) == set(lesson10.CAUSES) and set(lesson10.CAUSES) <= set(DIAGNOSE_CODES)
    pipeline = lesson10.mystery_pipeline(folder, seed=0)
    assert not any(cause in repr(vars(pipeline)) for cause in lesson10.CAUSES), "no spoiler on the pipeline"
    assert not hasattr(pipeline, "cause")


def test_each_planted_cause_shows_its_signature(folder):
    unshuffled = lesson10.mystery_pipeline(folder, seed=seed_for("unshuffled_data"))
    assert batch_purity(batch_labels(unshuffled.train)) > 0.8
    mismatch = lesson10.mystery_pipeline(folder, seed=seed_for("preprocessing_mismatch"))
    assert max(float(np.max(x)) for x, _ in mismatch.train) <= 1 < max(float(np.max(x)) for x, _ in mismatch.validation)
    assert batch_purity(batch_labels(mismatch.train)) < 0.6
    scrambled = lesson10.mystery_pipeline(folder, seed=seed_for("scrambled_images"))
    images = np.concatenate([x for x, _ in scrambled.train])
    originals, _, _ = load_folder(folder / "train")
    planted = pickle_rows(originals).reshape(-1, 32, 32, 3)
    assert sorted(i.tobytes() for i in images) == sorted(i.tobytes() for i in planted)


@pytest.mark.parametrize("answer", ["unshuffled_data", "Unshuffled data", " unshuffled-data "])
def test_any_spelling_of_the_right_cause_passes(answer):
    verdict = lesson10.check_cause(answer, seed=seed_for("unshuffled_data"))
    assert verdict.passed, verdict


@pytest.mark.parametrize("answer, reason", [
    ("scrambled_images", "is not what breaks"),
    ("the shuffle", "not one of diagnose's codes"),
    (["unshuffled_data"], "not a list"),
    (2, "should be a string"),
], ids=["another-cause", "not-a-code", "a-list", "a-number"])
def test_wrong_causes_fail_with_a_reason(answer, reason):
    verdict = lesson10.check_cause(answer, seed=seed_for("unshuffled_data"))
    assert not verdict.passed and reason in verdict.message + verdict.hint


def from_folder(path, **kwargs):
    return keras.utils.image_dataset_from_directory(path, **{"image_size": (32, 32), "batch_size": 32,
                                                             "verbose": False, **kwargs})


def sound(folder):
    return from_folder(folder / "train", seed=1), from_folder(folder / "val", shuffle=False)


def by_hand_one_hot_scaled(folder):
    """tf.data by hand: file list shuffled in full, decoded, scaled in both pipelines, one-hot labels."""
    def read(split, shuffle):
        files = sorted(str(p) for p in (folder / split).glob("*/*.png"))
        labels = [NAMES.index(f.split("/")[-2]) for f in files]
        data = tf.data.Dataset.from_tensor_slices((files, labels))
        if shuffle:
            data = data.shuffle(len(files), seed=0)
        return data.map(lambda f, y: (tf.cast(tf.io.decode_png(tf.io.read_file(f), channels=3), "float32") / 255,
                                      tf.one_hot(y, 5))).batch(32)
    return read("train", True), read("val", False)


@pytest.mark.parametrize("make", [sound, by_hand_one_hot_scaled], ids=["image_dataset_from_directory", "by-hand"])
def test_sound_datasets_pass(make, folder):
    verdict = lesson10.check_datasets(make, folder, epochs=4, min_accuracy=0.5)
    assert verdict.passed, verdict


def shuffled_after_batching(folder):
    return from_folder(folder / "train", shuffle=False).shuffle(100), from_folder(folder / "val", shuffle=False)


def buffer_of_ten(folder):
    return (from_folder(folder / "train", shuffle=False).unbatch().shuffle(10).batch(32),
            from_folder(folder / "val", shuffle=False))


def scaled_for_training_only(folder):
    train, val = sound(folder)
    return train.map(lambda x, y: (x / 255, y)), val


def validation_from_the_training_folder(folder):
    return from_folder(folder / "train"), from_folder(folder / "train", shuffle=False)


def default_image_size(folder):
    return from_folder(folder / "train", image_size=(256, 256)), from_folder(folder / "val", image_size=(256, 256))


def unbatched(folder):
    train, val = sound(folder)
    return train.unbatch(), val


def labels_dropped(folder):
    train, val = sound(folder)
    return train.map(lambda x, y: (x, tf.zeros_like(y))), val


def scrambled_pixels(folder):
    train, val = sound(folder)
    scramble = lambda x, y: (tf.reshape(tf.transpose(x, (0, 3, 1, 2)), tf.shape(x)), y)  # noqa: E731
    return train.map(scramble), val.map(scramble)


def one_dataset(folder):
    return sound(folder)[0]


def raises(folder):
    raise FileNotFoundError(folder / "training")


@pytest.mark.parametrize("make, reason", [
    (shuffled_after_batching, "not shuffled"),
    (buffer_of_ten, "not shuffled"),
    (scaled_for_training_only, "not preprocessed alike"),
    (validation_from_the_training_folder, "holds 100 image files"),
    (default_image_size, "(32, 32, 3)"),
    (unbatched, "(32, 32, 3)"),
    (labels_dropped, "per class"),
    (one_dataset, "two datasets"),
    (raises, "FileNotFoundError"),
    ("train_ds", "a function of the folder"),
], ids=lambda v: getattr(v, "__name__", None) if callable(v) else None)
def test_wrong_datasets_fail_with_a_reason(make, reason, folder):
    verdict = lesson10.check_datasets(make, folder, epochs=1)
    assert not verdict.passed and reason in verdict.message + verdict.hint, verdict


def test_scrambled_pixels_fail(folder):
    verdict = lesson10.check_datasets(scrambled_pixels, folder, epochs=1)
    assert not verdict.passed and "out of place" in verdict.message, verdict


def test_no_answer_is_not_attempted(folder):
    assert lesson10.check_cause(None, seed=0).status == "not attempted"
    assert lesson10.check_datasets(None, folder).status == "not attempted"
    assert lesson10.check_repair(None).status == "not attempted"


@pytest.mark.parametrize("repair", [
    lambda s: s.reshape(len(s), 3, 32, 32).transpose(0, 2, 3, 1),
    lambda s: np.moveaxis(s.reshape(-1, 3, 32, 32), 1, -1),
    lambda s: np.stack([row.reshape(3, 32, 32).transpose(1, 2, 0) for row in s.reshape(len(s), -1)]),
    lambda s: np.einsum("nchw->nhwc", s.reshape(-1, 3, 32, 32)).tolist(),
], ids=["reshape-transpose", "moveaxis", "image-by-image", "einsum-as-list"])
def test_any_right_repair_passes(repair):
    assert lesson10.check_repair(repair, seed=5).passed


@pytest.mark.parametrize("repair, reason", [
    (lambda s: s, "as scrambled as it got them"),
    (lambda s: s.reshape(-1, 32, 32, 3), "as scrambled as it got them"),
    (lambda s: s.transpose(0, 3, 1, 2).reshape(s.shape), "not back to their places"),
    (lambda s: s.reshape(len(s), 3, 32, 32), "returns shape"),
    (lambda s: s.transpose(0, 2, 1, 3), "not back to their places"),
    (lambda s: None, "returned None"),
    (lambda s: s.reshape(3, 32, 32), "failed: ValueError"),
    (np.zeros((7, 32, 32, 3)), "should be a function"),
], ids=["unchanged", "the-tutorial's-reshape", "transpose-first", "no-transpose", "swapped-axes", "None", "raises",
        "an-array"])
def test_wrong_repairs_fail_with_a_reason(repair, reason):
    verdict = lesson10.check_repair(repair, seed=5)
    assert not verdict.passed and reason in verdict.message + verdict.hint, verdict


def test_the_repair_is_judged_on_images_the_check_draws():
    """A function that returns fixed images (e.g. repaired ones from the lesson) cannot pass for two seeds."""
    first = {}

    def remember(s):
        repaired = s.reshape(len(s), 3, 32, 32).transpose(0, 2, 3, 1)
        return first.setdefault("images", repaired)

    assert lesson10.check_repair(remember, seed=1).passed
    assert not lesson10.check_repair(remember, seed=2).passed
