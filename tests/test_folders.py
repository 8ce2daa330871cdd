"""cnncourse.folders: CIFAR-10 written once as image folders, read back exactly; the class mix of batches; tf.data's
shuffle buffer on labels alone; pickle rows. And the per-batch loss that lesson 10 plots."""
import keras
import numpy as np
import pytest

from cnncourse import plots
from cnncourse.data import Cifar10
from cnncourse.folders import batch_labels, cifar10_folders, class_mix, load_folder, pickle_rows, shuffled_label_batches
from cnncourse.training import BatchLosses


@pytest.fixture(scope="module")
def fake_cifar(colour_images):
    x, y = colour_images(200, classes=4, seed=3)
    return Cifar10(x, y, x[:4], y[:4], class_names=("ant", "bee", "cow", "dog"))


def test_the_folders_are_written_once_and_read_back_exactly(fake_cifar, tmp_path):
    folder = cifar10_folders(per_class=30, val_per_class=10, data=fake_cifar, root=tmp_path, progress=False)
    assert sorted(p.name for p in (folder / "train").iterdir()) == ["ant", "bee", "cow", "dog"]
    assert [len(list((folder / "val" / c).glob("*.png"))) for c in fake_cifar.class_names] == [10] * 4
    x, y, names = load_folder(folder / "train")
    assert names == list(fake_cifar.class_names) and np.array_equal(np.bincount(y), [30] * 4)
    originals = {image.tobytes() for image in fake_cifar.x_train}
    assert all(image.tobytes() in originals for image in x), "PNG is lossless: every image comes back as it was"
    # training and validation images are different images
    x_val, _, _ = load_folder(folder / "val")
    assert not {i.tobytes() for i in x} & {i.tobytes() for i in x_val}
    written = (folder / "train" / "ant" / "ant_0001.png").stat().st_mtime_ns
    assert cifar10_folders(per_class=30, val_per_class=10, data=None, root=tmp_path) == folder  # no data needed
    assert (folder / "train" / "ant" / "ant_0001.png").stat().st_mtime_ns == written
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name], "no half-written copy is left behind"


@pytest.mark.parametrize("per_class", [0, 2.5, "300", 3000])
def test_a_wrong_count_is_refused(per_class, tmp_path):
    with pytest.raises(ValueError, match="per_class"):
        cifar10_folders(per_class=per_class, root=tmp_path)


def test_a_missing_folder_says_what_to_pass(tmp_path):
    with pytest.raises(FileNotFoundError, match="one sub-folder of images per class"):
        load_folder(tmp_path / "nothing here")


def test_class_mix_of_sorted_and_shuffled_batches():
    labels = np.repeat(np.arange(5), 100)  # files sorted by class
    in_order = shuffled_label_batches(labels, buffer_size=1, batch_size=50)
    assert np.array_equal(np.concatenate(in_order), labels), "a buffer of one changes nothing"
    mix = class_mix(in_order, 5)
    assert mix.shape == (10, 5) and np.allclose(mix.sum(axis=1), 1) and np.allclose(mix.max(axis=1), 1)
    mixed = class_mix(shuffled_label_batches(labels, buffer_size=500, batch_size=50, seed=1), 5)
    assert mixed.max(axis=1).mean() < 0.45, "a buffer as large as the data mixes every batch"
    assert sorted(np.concatenate(shuffled_label_batches(labels, 500, 50))) == sorted(labels)
    with pytest.raises(ValueError, match="buffer_size"):
        shuffled_label_batches(labels, buffer_size=0)
    with pytest.raises(ValueError, match="no batches"):
        class_mix([], 5)


def test_batch_labels_reads_class_indices_and_one_hot_rows():
    one_hot = np.eye(3)[[0, 2, 1, 1]]
    batches = [(np.zeros((2, 4, 4, 3)), one_hot[:2]), (np.zeros((2, 4, 4, 3)), one_hot[2:])]
    assert [b.tolist() for b in batch_labels(batches)] == [[0, 2], [1, 1]]
    assert [b.tolist() for b in batch_labels([(None, np.array([3, 4]))] * 3, max_batches=2)] == [[3, 4], [3, 4]]


def test_pickle_rows_store_the_colour_planes_one_after_another(colour_images):
    x, _ = colour_images(3)
    rows = pickle_rows(x)
    assert rows.shape == (3, 3072)
    assert np.array_equal(rows[1, :1024], x[1, :, :, 0].ravel())
    assert np.array_equal(rows[1, 2048:], x[1, :, :, 2].ravel())
    assert np.array_equal(rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), x)
    with pytest.raises(ValueError, match="height, width, 3"):
        pickle_rows(x[..., 0])


def test_batch_losses_are_the_loss_of_each_batch(colour_images):
    x, y = colour_images(96, classes=3, size=8)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Rescaling(1 / 255), keras.layers.Flatten(),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy")  # weights stay
    recorder = BatchLosses()
    model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0, callbacks=[recorder])
    expected = [model.evaluate(x[i:i + 32], y[i:i + 32], verbose=0) for i in range(0, 96, 32)]
    assert np.allclose(recorder.losses, expected * 2, rtol=1e-4)


def test_the_class_mix_and_batch_loss_figures():
    mix = class_mix([np.array([0, 0, 1]), np.array([2, 2, 2])], 3)
    fig = plots.plot_class_mix(mix, ["a", "b", "c"])
    assert "83%" in fig.axes[0].get_title()  # (2/3 + 1) / 2
    with pytest.raises(ValueError, match="one column per class"):
        plots.plot_class_mix(mix, ["a", "b"])
    fig = plots.plot_batch_losses({"sorted": [2.3, 0.1, 4.0], "shuffled": [2.3, 2.0, 1.8]})
    assert len(fig.axes[0].lines) == 2
    with pytest.raises(TypeError, match="per-batch losses"):
        plots.plot_batch_losses([1.0, 2.0])
