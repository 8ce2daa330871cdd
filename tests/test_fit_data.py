"""cnncourse.fit_data: a bounded sample of any input fit takes."""
import keras
import numpy as np
import pytest

from cnncourse.fit_data import read_fit_data, read_one

tf = pytest.importorskip("tensorflow")


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    y = np.arange(400) % 4
    return rng.integers(0, 256, (400, 8, 8, 3)).astype("uint8"), y


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size=32):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, index):
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[part], self.y[part]


def test_arrays_are_sampled_without_copying_everything_and_batches_follow_fits_order(arrays):
    x, y = arrays
    sample = read_one(x, y, batch_size=50, max_images=100)
    assert len(sample) == 100 and not sample.complete and sample.total == 400 and sample.source == "arrays"
    in_order = read_one(x, y, batch_size=50, shuffle=False)
    assert in_order.complete and np.array_equal(in_order.batch_labels[0], y[:50])
    shuffled = read_one(x, y, batch_size=50)
    assert not np.array_equal(shuffled.batch_labels[0], y[:50])


def test_validation_split_takes_the_last_share_before_shuffling_as_fit_does(arrays):
    x, y = arrays
    train, val = read_fit_data(x, y, validation_split=0.25)
    assert len(train) == 300 and len(val) == 300 // 3 and np.array_equal(val.x, x[300:])


@pytest.mark.parametrize("form", ["tf.data", "unbatched-then-batched", "PyDataset", "generator", "weighted"])
def test_every_form_fit_takes_gives_the_same_kind_of_sample(form, arrays):
    x, y = arrays
    data = {"tf.data": lambda: tf.data.Dataset.from_tensor_slices((x, y)).batch(32),
            "unbatched-then-batched": lambda: tf.data.Dataset.from_tensor_slices((x, y)).shuffle(400).batch(16),
            "PyDataset": lambda: Batches(x, y),
            "generator": lambda: ((x[i:i + 32], y[i:i + 32]) for i in range(0, 400, 32)),
            "weighted": lambda: tf.data.Dataset.from_tensor_slices((x, y, np.ones(400))).batch(32)}[form]()
    sample = read_one(data, max_images=200)
    assert sample.x.shape[1:] == (8, 8, 3) and 200 <= len(sample) < 240 and len(sample.y) == len(sample)
    assert (sample.sample_weight is not None) == (form == "weighted")
    assert bool(sample.notes) == (form == "generator")  # a generator cannot give back what was read
    if form in ("tf.data", "PyDataset"):
        assert abs(sample.total - 400) <= 32 and not sample.complete  # estimated from the batches read
        again = read_one(data, max_images=200)  # reading leaves a dataset as it was
        assert len(again) == len(sample)


def test_bad_inputs_get_a_clear_error(arrays):
    x, y = arrays
    with pytest.raises(TypeError, match="decode the image files first"):
        read_one(tf.data.Dataset.from_tensor_slices((["a.png"] * 4, [0, 1, 0, 1])).batch(2))
    with pytest.raises(ValueError, match="empty"):
        read_one(tf.data.Dataset.from_tensor_slices((x[:0], y[:0])).batch(2))
    with pytest.raises(ValueError, match="add .batch"):
        read_one(tf.data.Dataset.from_tensor_slices((x, y)))
    with pytest.raises(ValueError, match="without labels|cannot learn without labels"):
        read_one(tf.data.Dataset.from_tensor_slices(x).batch(8))
    with pytest.raises(ValueError, match="y must be None"):
        read_one(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), y)
    with pytest.raises(ValueError, match="has no labels"):
        read_one(x)
    with pytest.raises(ValueError, match="validation_split works only with arrays"):
        read_fit_data(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), validation_split=0.2)
    with pytest.raises(ValueError, match="positive whole number"):
        read_one(x, y, max_images=0)
    with pytest.raises(ValueError, match="must match"):
        read_fit_data(x, y, validation_data=(x[:, :4], y))


def test_an_image_folder_read_by_keras_is_sampled_with_its_labels(arrays, tmp_path):
    from PIL import Image

    x, y = arrays
    for i, (image, label) in enumerate(zip(x[:40], y[:40])):
        folder = tmp_path / f"class_{label}"
        folder.mkdir(exist_ok=True)
        Image.fromarray(image).save(folder / f"{i}.png")
    dataset = keras.utils.image_dataset_from_directory(tmp_path, image_size=(8, 8), batch_size=8, seed=0,
                                                       verbose=False)
    sample = read_one(dataset)
    assert sample.complete and len(sample) == 40 and sample.x.shape[1:] == (8, 8, 3)
    assert sorted(np.bincount(sample.y)) == [10, 10, 10, 10] and sample.x.max() > 1  # 0-255 floats, as Keras reads
