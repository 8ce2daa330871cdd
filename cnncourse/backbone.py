"""A backbone the course trains itself, for lesson 11 (reusing a trained network).

The model zoos cannot be reached offline (nor from many classrooms), so the course pretrains its own small
backbone, like a miniature of ``keras.applications``:

- :func:`build_backbone`: three blocks of convolution, BatchNormalization and ReLU with max pooling, then global
  average pooling to 128 features. It takes **standardized** images, as ``keras.applications`` models take their
  own ``preprocess_input``'s output.
- trained on CIFAR-10's first five classes (airplane, automobile, bird, cat, deer: all 25,000 training images)
  with the capstone's recipe: a random flip, BatchNormalization, dropout before the classifier, Adam with a
  warm-up and a cosine decay (here over a fixed number of epochs, not seconds, so every machine trains the same
  backbone);
- :func:`preprocess_input` is its preprocessing: ``(x - MEAN) / STD`` per channel, with the mean and standard
  deviation of its training images, stored beside it; :func:`preprocessing_layer` is the same as a Keras layer,
  to put inside a model.
- :func:`load_backbone` trains it the first time (a few minutes on a laptop CPU, with a progress bar) and caches
  it in the course's cache, keyed by a hash of its recipe; afterwards it loads in a second.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import layers

from cnncourse.data import Cifar10, default_cache_dir, load_cifar10

PRETRAINING_CLASSES = (0, 1, 2, 3, 4)  # airplane, automobile, bird, cat, deer
RECIPE = {"classes": list(PRETRAINING_CLASSES), "widths": [32, 64, 128], "epochs": 8, "batch_size": 64,
          "peak_learning_rate": 5e-3, "warmup_epochs": 1, "dropout": 0.3, "flip": True, "bn_momentum": 0.9,
          "seed": 0, "version": 1}


def recipe_key(recipe: dict = RECIPE) -> str:
    """A short hash of ``recipe``: a changed recipe trains (and caches) a new backbone."""
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def build_backbone(widths=(32, 64, 128), bn_momentum: float = 0.9, name: str = "backbone") -> keras.Model:
    """The backbone's architecture, untrained: standardized 32 x 32 x 3 images in, 128 features out. Its layers
    are named by block (``block1_conv``, ``block1_bn``, ...), so "the top block" is ``block3_*``."""
    inputs = keras.Input(shape=(32, 32, 3), name="standardized_images")
    h = inputs
    for block, filters in enumerate(widths, start=1):
        h = layers.Conv2D(filters, 3, padding="same", use_bias=False, kernel_initializer="he_normal",
                          name=f"block{block}_conv")(h)
        h = layers.BatchNormalization(momentum=bn_momentum, name=f"block{block}_bn")(h)
        h = layers.ReLU(name=f"block{block}_relu")(h)
        h = layers.MaxPooling2D(name=f"block{block}_pool")(h)
    features = layers.GlobalAveragePooling2D(name="features")(h)
    return keras.Model(inputs, features, name=name)


@dataclass(frozen=True)
class Backbone:
    """The pretrained backbone and its preprocessing's statistics."""
    model: keras.Model
    mean: np.ndarray            # per channel, in pixel units (0-255)
    std: np.ndarray
    accuracy: float             # on CIFAR-10's test images of its five classes, with a classifier on top
    path: Path

    def copy(self, name: str = "backbone") -> keras.Model:
        """A fresh copy of the pretrained model, with its weights, all layers trainable: the model itself stays
        as it was, whatever you freeze or train in the copy."""
        model = keras.models.clone_model(self.model)
        model.set_weights(self.model.get_weights())
        model.name = name
        return model


def _paths(cache: Path, recipe: dict) -> tuple[Path, Path]:
    stem = cache / f"backbone-{recipe_key(recipe)}"
    return stem.with_suffix(".keras"), stem.with_suffix(".json")


def _train(data: Cifar10, recipe: dict, progress: bool) -> tuple[keras.Model, np.ndarray, np.ndarray, float]:
    from cnncourse.training import EpochProgress

    classes = np.array(recipe["classes"])
    chosen = np.isin(data.y_train, classes)
    x, y = data.x_train[chosen], np.searchsorted(classes, data.y_train[chosen])
    mean = x.reshape(-1, 3).mean(axis=0, dtype="float64")
    std = x.reshape(-1, 3).std(axis=0, dtype="float64")
    keras.utils.set_random_seed(recipe["seed"])
    backbone = build_backbone(recipe["widths"], recipe["bn_momentum"])
    steps = int(np.ceil(len(x) / recipe["batch_size"]))
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=steps * (recipe["epochs"] - recipe["warmup_epochs"]),
        warmup_target=recipe["peak_learning_rate"], warmup_steps=steps * recipe["warmup_epochs"])
    classifier = keras.Sequential([keras.Input(shape=(32, 32, 3)),
                                   layers.Normalization(mean=mean, variance=std**2),
                                   *([layers.RandomFlip("horizontal", seed=recipe["seed"])] if recipe["flip"] else []),
                                   backbone, layers.Dropout(recipe["dropout"]),
                                   layers.Dense(len(classes), activation="softmax")])
    classifier.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy",
                       metrics=["accuracy"])
    callbacks = [EpochProgress("training the course's backbone (once)", recipe["epochs"])] if progress else []
    classifier.fit(x, y, epochs=recipe["epochs"], batch_size=recipe["batch_size"], verbose=0, callbacks=callbacks)
    in_test = np.isin(data.y_test, classes)
    _, accuracy = classifier.evaluate(data.x_test[in_test], np.searchsorted(classes, data.y_test[in_test]),
                                      batch_size=500, verbose=0)
    return backbone, mean, std, float(accuracy)


def is_cached(cache_dir: str | os.PathLike[str] | None = None, recipe: dict | None = None) -> bool:
    """Whether the backbone of ``recipe`` is in the cache already (then :func:`load_backbone` trains nothing)."""
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return all(path.is_file() for path in _paths(cache, dict(RECIPE if recipe is None else recipe)))


def load_backbone(*, data: Cifar10 | None = None, cache_dir: str | os.PathLike[str] | None = None,
                  recipe: dict | None = None, progress: bool = True) -> Backbone:
    """The course's pretrained backbone: read from the cache, or trained once and cached there (the first call
    takes a few minutes on a laptop CPU; it says so). ``data`` defaults to ``load_cifar10()``."""
    recipe = dict(RECIPE if recipe is None else recipe)
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    model_path, info_path = _paths(cache, recipe)
    if not is_cached(cache, recipe):
        if progress:
            print(f"The course's backbone is not in {cache} yet: training it once on 25,000 CIFAR-10 images "
                  f"({recipe['epochs']} epochs, a few minutes on a laptop CPU). Later runs load it in a second.")
        data = data if data is not None else load_cifar10(progress=progress)
        model, mean, std, accuracy = _train(data, recipe, progress)
        try:
            cache.mkdir(parents=True, exist_ok=True)
            partial = model_path.with_suffix(f".partial-{os.getpid()}.keras")
            model.save(partial)
            partial.replace(model_path)  # the model first, the statistics last: both or neither are there
            info_path.write_text(json.dumps({"recipe": recipe, "mean": mean.tolist(), "std": std.tolist(),
                                             "accuracy": accuracy}, indent=1))
        except OSError as error:
            raise OSError(f"Could not save the backbone into {cache} ({error}): pass cache_dir= a writable "
                          "folder.") from None
    info = json.loads(info_path.read_text())
    model = keras.models.load_model(model_path, compile=False)
    return Backbone(model, np.array(info["mean"]), np.array(info["std"]), info["accuracy"], model_path)


def preprocess_input(images: np.ndarray, backbone: Backbone) -> np.ndarray:
    """``images`` (0-255 pixels) standardized as ``backbone`` expects: ``(x - mean) / std`` per channel, float32."""
    images = np.asarray(images, dtype="float32")
    if images.ndim < 1 or images.shape[-1] != 3:
        raise ValueError(f"expected images with 3 colour channels last, got shape {images.shape}.")
    return ((images - backbone.mean) / backbone.std).astype("float32")


def preprocessing_layer(backbone: Backbone, name: str | None = None) -> layers.Layer:
    """:func:`preprocess_input` as a Keras layer (a fixed ``Normalization``), to put inside a model."""
    return layers.Normalization(mean=backbone.mean, variance=backbone.std**2, name=name)
