"""Read a bounded sample of whatever a learner passes to ``model.fit``.

``fit`` takes NumPy arrays (with ``validation_split=``, ``shuffle=``, ``sample_weight=``), a
``tf.data.Dataset`` of ``(x, y)`` or ``(x, y, w)`` batches (``image_dataset_from_directory`` makes
one), a ``keras.utils.PyDataset`` or a Python generator. :func:`read_fit_data` turns any of these
into :class:`Sample` objects, the arrays that ``cnncourse.diagnose`` probes read: at most
``max_images`` images, never the whole data set in memory, and the labels of each batch in the order
``fit`` would see them (an unshuffled pipeline shows there).

A dataset or a ``PyDataset`` can be read again, so reading a sample leaves it as it was. A generator
cannot: the batches read are gone from it, and the sample's ``notes`` say so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras
import numpy as np

MAX_BYTES = 400 * 2**20  # stop reading once the sample's images take this much memory


@dataclass
class Sample:
    """Images and labels read from one of ``fit``'s inputs."""
    x: np.ndarray                         # the images, as the pipeline yields them (not scaled by us)
    y: np.ndarray                         # their labels, as given (class indices, one-hot rows, floats ...)
    sample_weight: np.ndarray | None
    batch_labels: list[np.ndarray]        # the raw labels of each batch, in the order fit would see them
    source: str                           # "arrays", "tf.data.Dataset", "PyDataset" or "generator"
    complete: bool                        # the sample holds every image of the data
    total: int | None                     # images in the whole data, where it can be known
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.x)


def _is_tf_dataset(data) -> bool:
    return type(data).__module__.startswith("tensorflow") and hasattr(data, "element_spec")


def _is_pydataset(data) -> bool:
    return isinstance(data, keras.utils.PyDataset)


def _is_iterator(data) -> bool:
    return hasattr(data, "__next__") and not hasattr(data, "shape")


def _is_array(data) -> bool:
    return isinstance(data, np.ndarray) or (hasattr(data, "shape") and hasattr(data, "__array__"))


def describe(data) -> str:
    """The kind of ``fit`` input ``data`` is, in words."""
    if _is_tf_dataset(data):
        return "tf.data.Dataset"
    if _is_pydataset(data):
        return "PyDataset"
    if _is_iterator(data):
        return "generator"
    if _is_array(data) or isinstance(data, (list, tuple)):
        return "arrays"
    return type(data).__name__


def _as_images(x, what: str) -> np.ndarray:
    if isinstance(x, dict):
        raise TypeError(f"{what} is a dict of inputs: diagnose reads image classifiers with one input.")
    try:
        x = np.asarray(x)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{what} could not be read as an array of images: {error}") from None
    if x.dtype.kind in "USO":
        raise TypeError(f"{what} holds {x.dtype.name} values, not pixels: decode the image files first "
                        "(e.g. keras.utils.image_dataset_from_directory does).")
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{what} holds {x.dtype} values, not pixel numbers.")
    return x


def _split_batch(batch, what: str) -> tuple:
    """(x, y, w) of one batch yielded by a dataset, PyDataset or generator."""
    if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
        raise ValueError(f"{what} should yield (images, labels) or (images, labels, sample_weights) batches, "
                         f"got {type(batch).__name__}{'' if not isinstance(batch, (tuple, list)) else len(batch)}: "
                         "fit cannot learn without labels.")
    x, y, *w = batch
    x = _as_images(x, f"the images {what} yields")
    if np.ndim(x) < 2:
        raise ValueError(f"{what} yields images of shape {np.shape(x)}: fit needs batches; add .batch(32).")
    y = np.asarray(y)
    if len(y) != len(x):
        raise ValueError(f"{what} yields batches of {len(x)} images with {len(y)} labels.")
    return x, y, (np.asarray(w[0]) if w else None)


def _from_batches(batches, source: str, what: str, max_images: int, total_batches: int | None) -> Sample:
    xs, ys, ws = [], [], []
    images = nbytes = 0
    exhausted = True
    for batch in batches:
        x, y, w = _split_batch(batch, what)
        xs.append(x), ys.append(y), ws.append(w)
        images += len(x)
        nbytes += x.nbytes
        if images >= max_images or nbytes >= MAX_BYTES:
            exhausted = False
            break
    if not xs or images == 0:
        raise ValueError(f"{what} is empty: it yielded no images.")
    if len({x.shape[1:] for x in xs}) > 1:
        raise ValueError(f"{what} yields images of different shapes {sorted({x.shape[1:] for x in xs})}: resize "
                         "them to one size (image_dataset_from_directory(image_size=...) or a Resizing layer).")
    weights = None if any(w is None for w in ws) else np.concatenate(ws)
    read = len(xs)
    complete = exhausted or (total_batches is not None and read >= total_batches)
    total = images if complete else (None if total_batches is None else round(images / read * total_batches))
    return Sample(np.concatenate(xs), np.concatenate(ys), weights, ys, source, complete, total)


def _from_arrays(x, y, sample_weight, batch_size: int, shuffle, max_images: int, what: str) -> Sample:
    x = _as_images(x, what)
    if y is None:
        raise ValueError(f"{what} has no labels: pass y (fit(x, y, ...)).")
    y = np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} labels.")
    if len(x) == 0:
        raise ValueError("x and y are empty.")
    if sample_weight is not None and len(sample_weight) != len(x):
        raise ValueError(f"sample_weight has {len(sample_weight)} values for {len(x)} images.")
    rng = np.random.default_rng(0)
    if shuffle is True:
        order = rng.permutation(len(x))
    elif shuffle == "batch":  # fit shuffles whole batches, each batch in its stored order
        starts = rng.permutation(math.ceil(len(x) / batch_size)) * batch_size
        order = np.concatenate([np.arange(s, min(s + batch_size, len(x))) for s in starts])
    else:
        order = np.arange(len(x))
    batches = math.ceil(min(len(x), max_images) / batch_size)
    batch_labels = [y[order[i * batch_size:(i + 1) * batch_size]] for i in range(batches)]
    keep = slice(None) if len(x) <= max_images else np.sort(rng.choice(len(x), max_images, replace=False))
    weights = None if sample_weight is None else np.asarray(sample_weight)[keep]
    return Sample(x[keep], y[keep], weights, batch_labels, "arrays", len(x) <= max_images, len(x))


def read_one(x, y=None, *, sample_weight=None, batch_size: int | None = None, shuffle=True,
             max_images: int = 5000, what: str = "x") -> Sample:
    """A :class:`Sample` of one ``fit`` input: arrays ``x``, ``y`` or a dataset, PyDataset or generator ``x``."""
    if isinstance(max_images, bool) or not isinstance(max_images, int) or max_images < 1:
        raise ValueError(f"max_images must be a positive whole number, got {max_images!r}.")
    if x is None:
        raise ValueError(f"{what} is None: pass the images (and labels) you give to fit.")
    if _is_tf_dataset(x) or _is_pydataset(x) or _is_iterator(x):
        if y is not None:
            raise ValueError(f"when {what} is a {describe(x)}, its batches carry the labels: y must be None "
                             "(as for fit).")
        if sample_weight is not None:
            raise ValueError(f"when {what} is a {describe(x)}, sample weights come as the third item of each "
                             "batch, not as sample_weight= (as for fit).")
    if _is_tf_dataset(x):
        spec = x.element_spec[0] if isinstance(x.element_spec, tuple) else x.element_spec
        shape = getattr(spec, "shape", None)
        if shape is not None and shape.rank == 3 and shape[-1] in (1, 3, 4) and shape[0] is not None:
            raise ValueError(f"{what} yields single images of shape {tuple(shape)}, not batches: fit needs batches; "
                             "add .batch(32).")
        cardinality = int(x.cardinality())
        total_batches = cardinality if cardinality >= 0 else None
        return _from_batches(x.as_numpy_iterator(), "tf.data.Dataset", what, max_images, total_batches)
    if _is_pydataset(x):
        count = len(x)
        if count == 0:
            raise ValueError(f"{what} is empty: its __len__ is 0.")
        rng = np.random.default_rng(0)
        indices = rng.permutation(count) if shuffle else np.arange(count)
        return _from_batches((x[int(i)] for i in indices), "PyDataset", what, max_images, count)
    if _is_iterator(x):
        sample = _from_batches(x, "generator", what, max_images, None)
        sample.notes.append(f"read {len(sample.batch_labels)} batches ({len(sample)} images) from your generator "
                            f"{what}: a generator cannot be rewound, so they are gone from it. Make a new generator "
                            "before you call fit.")
        return sample
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}.")
    return _from_arrays(x, y, sample_weight, batch_size or 32, shuffle, max_images, what)


def read_fit_data(x, y=None, *, batch_size: int | None = None, validation_data=None, validation_split: float = 0.0,
                  shuffle=True, sample_weight=None, max_images: int = 5000) -> tuple[Sample, Sample | None]:
    """The training sample and the validation sample (or None) of a ``fit`` call with these arguments.

    ``validation_split`` takes the last share of the arrays, before any shuffling, exactly as ``fit``
    does; ``validation_data`` may be ``(x_val, y_val)``, ``(x_val, y_val, weights)`` or a dataset,
    PyDataset or generator of batches."""
    if not 0 <= validation_split < 1:
        raise ValueError(f"validation_split must be at least 0 and below 1, got {validation_split}.")
    if validation_split:
        if not _is_array(x) and not isinstance(x, (list, tuple)):
            raise ValueError(f"validation_split works only with arrays, not with a {describe(x)} (as for fit): "
                             "pass validation_data=... instead.")
        x, y = np.asarray(x), None if y is None else np.asarray(y)
        cut = int(math.floor(len(x) * (1 - validation_split)))
        if y is not None and len(x) != len(y):
            raise ValueError(f"x has {len(x)} images but y has {len(y)} labels.")
        weights = None if sample_weight is None else np.asarray(sample_weight)
        x, x_val = x[:cut], x[cut:]
        y, y_val = (None, None) if y is None else (y[:cut], y[cut:])
        sample_weight = None if weights is None else weights[:cut]
        validation_data = (x_val, y_val) if weights is None else (x_val, y_val, weights[cut:])
    train = read_one(x, y, sample_weight=sample_weight, batch_size=batch_size, shuffle=shuffle,
                     max_images=max_images, what="x")
    if validation_data is None:
        return train, None
    if _is_array(validation_data):
        raise ValueError("validation_data should be a pair (x_val, y_val), (x_val, y_val, weights) or a dataset of "
                         "batches, as for fit; got one array.")
    if isinstance(validation_data, (tuple, list)):
        if len(validation_data) not in (2, 3):
            raise ValueError("validation_data should be (x_val, y_val), (x_val, y_val, weights) or a dataset, "
                             f"as for fit; got a {type(validation_data).__name__} of {len(validation_data)} items.")
        x_val, y_val, *w_val = validation_data
        val = read_one(x_val, y_val, sample_weight=w_val[0] if w_val else None, batch_size=batch_size,
                       shuffle=False, max_images=max_images, what="the validation images")
    else:
        val = read_one(validation_data, batch_size=batch_size, shuffle=False, max_images=max_images,
                       what="validation_data")
    if val.x.shape[1:] != train.x.shape[1:]:
        raise ValueError(f"training images have shape {train.x.shape[1:]} but validation images "
                         f"{val.x.shape[1:]}: they must match.")
    return train, val
