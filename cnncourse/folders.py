"""CIFAR-10 as a learner's own image folders, and what to read from the pipelines built on them (lesson 10).

- :func:`cifar10_folders` writes a few thousand CIFAR-10 images as PNG files, one folder per class, exactly
  like a learner's own photos (``train/cat/cat_0001.png``, ``val/cat/...``), once, into the course's cache.
- :func:`batch_labels` reads the labels of a pipeline's batches in the order ``fit`` sees them, and
  :func:`class_mix` turns them into the share of each class in each batch.
- :func:`shuffled_label_batches` runs ``tf.data``'s own ``shuffle(buffer_size)`` over labels alone: what a
  buffer of that size does to the class mix, in milliseconds.
- :func:`pickle_rows` stores images the way CIFAR-10's Python pickle does (each row: the red plane, then
  green, then blue), to show what a reshape without the transpose makes of them.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from cnncourse.data import Cifar10, default_cache_dir, load_cifar10
from cnncourse.subsets import stratified_subset

SPLITS = ("train", "val")


def _write_pngs(images: np.ndarray, labels: np.ndarray, class_names: Sequence[str], folder: Path, bar) -> None:
    from PIL import Image  # Pillow comes with matplotlib; imported here so the module loads without it

    for name in class_names:
        (folder / name).mkdir(parents=True)
    counters = dict.fromkeys(range(len(class_names)), 0)
    for image, label in zip(images, labels):
        label = int(label)
        counters[label] += 1
        Image.fromarray(image).save(folder / class_names[label] / f"{class_names[label]}_{counters[label]:04d}.png")
        bar.update(1)


def cifar10_folders(per_class: int = 300, val_per_class: int = 100, *, data: Cifar10 | None = None,
                    root: str | os.PathLike[str] | None = None, progress: bool = True) -> Path:
    """A folder of CIFAR-10 PNG files laid out as ``train/<class>/*.png`` and ``val/<class>/*.png``.

    ``per_class`` training and ``val_per_class`` validation images of each class, all from CIFAR-10's
    training set (the test set stays untouched), drawn once with a fixed seed: the folder is the same
    "own photos" on every run and every seed. Written the first time into ``root`` (by default
    the course's cache, ``~/.cache/cnncourse``) and read from there afterwards. Returns the folder.
    """
    for name, value in (("per_class", per_class), ("val_per_class", val_per_class)):
        if not isinstance(value, (int, np.integer)) or not 1 <= value <= 2500:
            raise ValueError(f"{name} must be a whole number of images from 1 to 2500, got {value!r}.")
    root = Path(root).expanduser() if root is not None else default_cache_dir()
    folder = root / f"cifar10-folders-{per_class}-{val_per_class}"
    if all((folder / split).is_dir() for split in SPLITS):
        return folder
    data = data if data is not None else load_cifar10()
    x, y = stratified_subset(data.x_train, data.y_train, per_class=per_class + val_per_class, seed=0)
    order = np.argsort(y, kind="stable")  # per class: the first per_class for training, the rest validation
    x, y = x[order], y[order]
    is_train = np.concatenate([np.arange(per_class + val_per_class) < per_class] * len(data.class_names))
    try:
        root.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=folder.name + ".partial-", dir=root))
    except OSError as error:
        raise OSError(f"Could not write the image folders into {root} ({error}): pass root= a writable "
                      "folder.") from None
    total = len(y)
    with tqdm(total=total, desc=f"writing {total} PNG files once", unit="file", disable=not progress) as bar:
        try:
            _write_pngs(x[is_train], y[is_train], data.class_names, partial / "train", bar)
            _write_pngs(x[~is_train], y[~is_train], data.class_names, partial / "val", bar)
            if folder.exists():  # a copy written meanwhile by another kernel, or half of an old one
                shutil.rmtree(folder)
            partial.rename(folder)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return folder


def batch_labels(dataset, max_batches: int | None = None) -> list[np.ndarray]:
    """The class index of each image, batch by batch, in the order the (batched) ``dataset`` yields them:
    the order ``fit`` would see. Accepts ``(images, labels)`` batches with class indices or one-hot rows."""
    batches = []
    for i, batch in enumerate(dataset):
        if max_batches is not None and i >= max_batches:
            break
        labels = np.asarray(batch[1] if isinstance(batch, (tuple, list)) else batch)
        batches.append(labels.argmax(axis=-1) if labels.ndim == 2 and labels.shape[1] > 1 else labels.ravel())
    return [b.astype("int64") for b in batches]


def class_mix(batches: Sequence[np.ndarray], num_classes: int) -> np.ndarray:
    """The share of each class in each batch: an array of shape ``(batches, num_classes)``, rows summing to 1."""
    if not batches:
        raise ValueError("no batches: the dataset yielded nothing.")
    counts = np.stack([np.bincount(np.asarray(b, dtype="int64"), minlength=num_classes)[:num_classes]
                       for b in batches]).astype("float64")
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


def shuffled_label_batches(labels: np.ndarray, buffer_size: int, batch_size: int = 64,
                           seed: int = 0) -> list[np.ndarray]:
    """The batches of ``labels`` (in file order) after ``tf.data``'s ``shuffle(buffer_size)`` and ``batch``:
    the class mix a pipeline with that buffer feeds ``fit``, without reading a single image."""
    import tensorflow as tf  # the pipeline being taught is tf.data's own

    if buffer_size < 1:
        raise ValueError(f"buffer_size must be at least 1, got {buffer_size}.")
    dataset = tf.data.Dataset.from_tensor_slices(np.asarray(labels)).shuffle(buffer_size, seed=seed)
    return [batch.numpy() for batch in dataset.batch(batch_size)]


def pickle_rows(images: np.ndarray) -> np.ndarray:
    """``images`` of shape ``(n, 32, 32, 3)`` stored as CIFAR-10's Python pickle stores them: one row of 3072
    bytes per image, the 1024 red values first (row by row), then green, then blue."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"expected images of shape (n, height, width, 3), got {images.shape}.")
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2)).reshape(len(images), -1)


def load_folder(folder: str | os.PathLike[str], image_size: tuple[int, int] = (32, 32)
                ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every image of a folder tree of one folder per class, in file order, as ``(images, labels,
    class_names)``: uint8 images of ``image_size`` and their class indices (class folders in alphabetical
    order, as ``keras.utils.image_dataset_from_directory`` numbers them)."""
    import keras

    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"No folder {folder}: pass a folder with one sub-folder of images per class.")
    dataset = keras.utils.image_dataset_from_directory(folder, image_size=image_size, batch_size=256,
                                                       shuffle=False, verbose=False)
    batches = [(np.asarray(x), np.asarray(y)) for x, y in dataset]
    images = np.concatenate([x for x, _ in batches]).round().clip(0, 255).astype("uint8")
    return images, np.concatenate([y for _, y in batches]).astype("int64"), list(dataset.class_names)
