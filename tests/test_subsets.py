import numpy as np
import pytest

from cnncourse.subsets import (
    long_tailed,
    long_tailed_counts,
    long_tailed_counts_for_total,
    oversample,
    pixel_space_smote,
    smote_oversample,
    stratified_subset,
    train_val_split,
    with_label_noise,
)


@pytest.fixture
def toy():
    """40 images per class for 10 classes; each image's pixels hold its own index."""
    y = np.repeat(np.arange(10), 40)
    x = np.arange(len(y), dtype=np.int64).reshape(-1, 1, 1, 1) * np.ones((1, 2, 2, 3), dtype=np.int64)
    return x, y


def test_train_val_split_is_stratified_disjoint_and_seeded(toy):
    x, y = toy
    (xt, yt), (xv, yv) = train_val_split(x, y, val_size=100, seed=3)
    assert len(xv) == 100 and len(xt) == 300
    assert np.bincount(yv).tolist() == [10] * 10
    assert not set(xt[:, 0, 0, 0]) & set(xv[:, 0, 0, 0])
    assert (y[xv[:, 0, 0, 0]] == yv).all()  # images keep their labels
    (_, _), (xv2, _) = train_val_split(x, y, val_size=100, seed=3)
    (_, _), (xv3, _) = train_val_split(x, y, val_size=100, seed=4)
    assert np.array_equal(xv, xv2) and not np.array_equal(xv, xv3)


def test_train_val_split_with_a_training_subset_equals_splitting_then_subsetting(toy):
    x, y = toy
    (xt, yt), (xv, yv) = train_val_split(x, y, val_size=100, seed=2)
    (xs, ys), (xv2, yv2) = train_val_split(x, y, val_size=100, seed=2, train_per_class=5)
    expected_x, expected_y = stratified_subset(xt, yt, per_class=5, seed=2)
    assert np.array_equal(xs, expected_x) and np.array_equal(ys, expected_y)
    assert np.array_equal(xv, xv2) and np.array_equal(yv, yv2)
    with pytest.raises(ValueError, match="per_class"):
        train_val_split(x, y, val_size=100, train_per_class=0)


def test_stratified_subset_takes_n_per_class_without_repeats(toy):
    x, y = toy
    xs, ys = stratified_subset(x, y, per_class=7, seed=0)
    assert np.bincount(ys).tolist() == [7] * 10
    assert len(set(xs[:, 0, 0, 0])) == 70
    assert (y[xs[:, 0, 0, 0]] == ys).all()
    assert not (np.diff(ys) >= 0).all(), "subset should come shuffled, not sorted by class"


@pytest.mark.parametrize("bad", [0, -1, 2.5])
def test_stratified_subset_rejects_bad_sizes(toy, bad):
    with pytest.raises(ValueError, match="per_class"):
        stratified_subset(*toy, per_class=bad)


def test_stratified_subset_too_many_names_the_class(toy):
    with pytest.raises(ValueError, match="only 40 images"):
        stratified_subset(*toy, per_class=41)


def test_mismatched_lengths_are_reported(toy):
    x, y = toy
    with pytest.raises(ValueError, match="400 images but y has 399"):
        stratified_subset(x, y[:-1], per_class=2)


def test_long_tailed_counts_follow_an_exponential_profile():
    counts = long_tailed_counts(5000, ratio=50)
    assert counts[0] == 5000 and counts[-1] == 100
    assert (np.diff(counts) < 0).all()
    assert long_tailed_counts(100, ratio=1).tolist() == [100] * 10
    with pytest.raises(ValueError, match="ratio"):
        long_tailed_counts(100, ratio=0.5)



@pytest.mark.parametrize("ratio", [1, 3, 10, 50])
def test_long_tailed_counts_for_total_hold_the_size_fixed(ratio):
    counts = long_tailed_counts_for_total(2800, ratio)
    assert counts.sum() == 2800
    assert counts[0] / counts[-1] == pytest.approx(ratio, rel=0.02)
    assert (np.diff(counts) <= 0).all()
    assert long_tailed_counts_for_total(2800, 50).tolist() == long_tailed_counts(1000, 50).tolist()
    assert long_tailed_counts_for_total(2799, 1).tolist() == [280] * 9 + [279]


def test_long_tailed_counts_for_total_needs_one_image_in_the_rarest_class():
    with pytest.raises(ValueError, match="at least 140"):
        long_tailed_counts_for_total(100, ratio=50)
    with pytest.raises(ValueError, match="ratio"):
        long_tailed_counts_for_total(100, ratio=0.5)

def test_long_tailed_subset_has_the_profile(toy):
    x, y = toy
    xs, ys = long_tailed(x, y, ratio=10, seed=1)
    assert np.bincount(ys).tolist() == long_tailed_counts(40, 10).tolist()
    assert (y[xs[:, 0, 0, 0]] == ys).all()


def test_train_val_split_takes_one_count_per_class(toy):
    x, y = toy
    counts = long_tailed_counts(20, ratio=10)
    (xs, ys), (xv, yv) = train_val_split(x, y, val_size=100, seed=1, train_per_class=counts)
    assert np.bincount(ys).tolist() == counts.tolist()
    assert np.bincount(yv).tolist() == [10] * 10
    assert not set(xs[:, 0, 0, 0]) & set(xv[:, 0, 0, 0])
    with pytest.raises(ValueError, match="one per class"):
        train_val_split(x, y, val_size=100, train_per_class=[5, 5, 5])


def test_oversample_repeats_rare_images_until_balanced(toy):
    x, y = long_tailed(*toy, ratio=10, seed=0)
    xo, yo = oversample(x, y, seed=0)
    assert np.bincount(yo).tolist() == [np.bincount(y).max()] * 10
    assert set(xo[:, 0, 0, 0]) == set(x[:, 0, 0, 0]), "every original image kept, no new ones invented"
    assert (toy[1][xo[:, 0, 0, 0]] == yo).all()
    assert not (np.diff(yo) >= 0).all(), "oversampled set should come shuffled"
    assert np.array_equal(oversample(x, y, seed=0)[1], yo)


def test_pixel_space_smote_blends_an_image_with_a_pixel_neighbour():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(30, 4, 4, 3), dtype=np.uint8)
    first, partner, blend = pixel_space_smote(x, n=5, neighbours=3, seed=1)
    assert first.shape == partner.shape == blend.shape == (5, 4, 4, 3) and blend.dtype == np.uint8
    assert not any(np.array_equal(a, b) for a, b in zip(first, partner)), "a partner is another image"
    low, high = np.minimum(first, partner), np.maximum(first, partner)
    assert ((blend >= low) & (blend <= high)).all(), "a blend lies between its two parents"
    with pytest.raises(ValueError, match="more than neighbours"):
        pixel_space_smote(x[:3], neighbours=3)


def test_smote_oversample_fills_rare_classes_with_blends_of_their_own_images():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), [30, 6, 2])
    # class c: values from 100c to 100c + 39
    x = (rng.integers(0, 40, size=(len(y), 4, 4, 3)) + 100 * y.reshape(-1, 1, 1, 1)).astype(np.uint8)
    xs, ys = smote_oversample(x, y, seed=0)
    assert np.bincount(ys).tolist() == [30, 30, 30] and xs.dtype == np.uint8
    for label in range(3):
        own = xs[ys == label]
        assert own.min() >= 100 * label and own.max() <= 100 * label + 39, "a blend stays within its own class"
    originals = {image.tobytes() for image in x}
    new = [image for image in xs[ys == 1] if image.tobytes() not in originals]
    assert len(new) >= 20, "the rare class gets new images, not copies"
    assert sum(image.tobytes() in originals for image in xs) >= len(x), "no original image is dropped"
    assert not (np.diff(ys) >= 0).all(), "the result comes shuffled"
    assert np.array_equal(smote_oversample(x, y, seed=0)[0], xs)
    with pytest.raises(ValueError, match="single image"):
        smote_oversample(x[:31], y[:31])


def test_label_noise_flips_the_asked_fraction_to_other_classes():
    y = np.repeat(np.arange(10), 100)
    noisy = with_label_noise(y, rate=0.2, seed=0)
    changed = noisy != y
    assert changed.sum() == 200  # every chosen label moved to a *different* class
    assert noisy.min() >= 0 and noisy.max() <= 9
    assert np.array_equal(y, np.repeat(np.arange(10), 100)), "input labels must not change"
    assert np.array_equal(with_label_noise(y, 0.0), y)
    with pytest.raises(ValueError, match="between 0 and 1"):
        with_label_noise(y, 1.5)
