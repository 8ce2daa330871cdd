"""Reproductions of real, public bug reports of stuck Keras/TensorFlow image classifiers, for measuring
``cnncourse.diagnose.diagnose`` on bugs nobody on this project planted.

Each case ports one published program (a Stack Overflow question, a GitHub issue, or a case of the DeepLocalize,
DeepFD, defects4ml or AUTOTRAINER/DeepDiagnosis benchmarks) to CIFAR-10 in Keras 3: same architecture style,
optimizer, loss, activations and pipeline shape, and the same bug. Nothing is copied verbatim: the bug is ported.
``make()`` returns a compiled, untrained model and the keyword arguments the original program passes to
``model.fit``. Every builder also takes ``fixed=True``, the program with the published fix, so that anyone can check
that the bug is what keeps the run stuck; the comment above each builder gives the numbers measured that way
(2 CPU cores, TensorFlow 2.21, Keras 3.15, ``keras.utils.set_random_seed(0)``, the case's own ``fit_kwargs``
unless the comment says otherwise).

- ``real_cases(data)``: the broken programs, each with the cause a correct diagnosis names first (``planted``).
- ``healthy_shapes(data)``: pipelines of many shapes (nested frozen backbone, two branches, tf.data, PyDataset,
  ``image_dataset_from_directory``, a subclassed model, ...) that learn; a diagnosis should find nothing.
- ``split_of(case)``: a fixed tune/test half for each case, from a hash of its name (decided before any tuning).

Cases that write image folders do so under ``tempfile.mkdtemp()`` and remove them when Python exits.

Reports tried and left out because the bug does not reproduce in this port:

- geifmany/cifar-vgg issue #1 (SGD at 0.1 gives NaN loss): a three-block port of its VGG with BatchNormalization
  trains no worse at 0.1 than at 0.01 (val acc 0.29 and 0.28 after 5 epochs), no NaN; the full VGG-16 is beyond
  the CPU budget.
- Stack Overflow 44164749 (DeepFD: SGD 0.01 on batches of 2,000 learns too slowly): on CIFAR-10 the broken program
  learns (val acc 0.32 after 15 steps) and DeepFD's fix (0.05) diverges (0.12).
- keras-team/keras issue #7223 (l2(0.1) on three convolutions, a text CNN): on images with 32 filters it only
  slows learning (val acc 0.36 against 0.44 with l2(1e-4)) and takes 100 s a run.
- keras-team/keras issue #12689 read as "the validation pipeline skips the 1/255": a ReLU CNN's argmax barely
  notices a global scale (val acc 0.39 either way); the case keeps #13517's form (preprocess_input against 1/255).
- tensorflow/tensorflow issue #53284 (negative ``decay_steps`` from an unknown dataset cardinality): Keras 3 raises
  ValueError. Keras-2 programs with ``SGD(lr=...)`` raise too; ``decay=`` is now ignored with a warning, so bugs
  made of too much ``decay`` (keras-team/keras issue #8086) vanish.

Usage: python benchmarks/diagnose_real.py   (builds every case and prints its shape; trains nothing but the
small backbone the transfer-learning cases need)
"""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import partial
from typing import Callable

import keras
import numpy as np
from keras import layers

TRAIN_IMAGES = 3000  # training images per case unless the original's data size matters (at most 5,000)
VAL_IMAGES = 1000    # validation images, from CIFAR-10's test set
CLASS_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@dataclass(frozen=True)
class Case:
    name: str            # short, unique
    planted: str | None  # the code diagnose should put first; None for a healthy pipeline
    make: Callable[[], tuple[keras.Model, dict]]  # returns (compiled, untrained model, fit_kwargs)
    source: str          # citation: benchmark repo + path / Stack Overflow question id + title; "" for healthy


def split_of(case: Case) -> str:
    """"tune" or "test": fixed by the first byte of sha256(name), never by results."""
    return "tune" if hashlib.sha256(case.name.encode()).digest()[0] % 2 == 0 else "test"


# ----------------------------------------------------------------------------------------------------------------
# Shared builders
# ----------------------------------------------------------------------------------------------------------------

def _pick(x: np.ndarray, y: np.ndarray, n: int, seed: int, classes=None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images balanced over ``classes`` (all ten by default), drawn with a fixed Generator and shuffled;
    labels are renumbered 0..len(classes)-1 in the order of ``classes``."""
    rng = np.random.default_rng(seed)
    classes = tuple(range(10)) if classes is None else tuple(classes)
    per_class = n // len(classes)
    index = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes])
    rng.shuffle(index)
    relabel = np.zeros(10, dtype=np.int64)
    relabel[list(classes)] = np.arange(len(classes))
    return x[index], relabel[y[index]]


def _train(data, n=TRAIN_IMAGES, seed=0, classes=None):
    return _pick(data.x_train, data.y_train, n, seed, classes)


def _val(data, n=VAL_IMAGES, seed=0, classes=None):
    return _pick(data.x_test, data.y_test, n, seed + 1000, classes)


def _scaled(x: np.ndarray) -> np.ndarray:
    return x.astype("float32") / 255


def _one_hot(y: np.ndarray, num_classes: int = 10) -> np.ndarray:
    return keras.utils.to_categorical(y, num_classes)


def _compiled(model: keras.Model, optimizer="adam", loss="sparse_categorical_crossentropy", metrics=("accuracy",)):
    model.compile(optimizer=optimizer, loss=loss, metrics=list(metrics))
    return model


def _image_folder(x: np.ndarray, y: np.ndarray, class_names) -> str:
    """Write ``x`` as PNGs into ``<tmp>/<class name>/``, as a folder of photos on disk; removed at exit."""
    from PIL import Image

    root = tempfile.mkdtemp(prefix="diagnose_real_")
    atexit.register(shutil.rmtree, root, True)
    for name in class_names:
        os.makedirs(os.path.join(root, name), exist_ok=True)
    for i, (image, label) in enumerate(zip(x, y)):
        Image.fromarray(image).save(os.path.join(root, class_names[label], f"{i:05d}.png"))
    return root


# ImageNet statistics, as in keras.applications.EfficientNetB0's built-in preprocessing.
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_VARIANCE = (0.229 ** 2, 0.224 ** 2, 0.225 ** 2)
_BACKBONE_WEIGHTS: dict[int, list] = {}


def _backbone(name: str = "backbone") -> keras.Sequential:
    """A small CNN feature extractor that, like keras.applications.EfficientNetB0 (include_preprocessing=True),
    takes raw 0-255 pixels and scales and normalizes them itself."""
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Rescaling(1 / 255),
        layers.Normalization(mean=_IMAGENET_MEAN, variance=_IMAGENET_VARIANCE),
        layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, padding="same", activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(128, 3, padding="same", activation="relu"),
    ], name=name)


def _pretrained_backbone(data) -> keras.Sequential:
    """``_backbone()`` trained briefly (2 epochs, 2,500 images) on CIFAR-10 classes 0-4, standing in for an
    ImageNet-pretrained network (no download here); trained once per process, then copied."""
    key = id(data)
    if key not in _BACKBONE_WEIGHTS:
        x, y = _train(data, 2500, seed=99, classes=range(5))
        backbone = _backbone()
        pretrain = keras.Sequential([backbone, layers.GlobalAveragePooling2D(), layers.Dense(5, activation="softmax")])
        _compiled(pretrain).fit(x.astype("float32"), y, batch_size=64, epochs=2, verbose=0)
        _BACKBONE_WEIGHTS[key] = backbone.get_weights()
    backbone = _backbone()
    backbone.set_weights(_BACKBONE_WEIGHTS[key])
    return backbone


def _plain_cnn(num_classes=10, output="softmax", scale=False) -> keras.Sequential:
    """The TensorFlow CNN tutorial's network: three 3x3 convolutions, two poolings, a 64-unit dense layer."""
    return keras.Sequential([
        keras.Input((32, 32, 3)), *([layers.Rescaling(1 / 255)] if scale else []),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, activation="relu"), layers.Flatten(),
        layers.Dense(64, activation="relu"), layers.Dense(num_classes, activation=output),
    ])


# ----------------------------------------------------------------------------------------------------------------
# Real cases. Comment above each: source, what the bug is, and "broken: ...; fixed: ..." as measured.
# ----------------------------------------------------------------------------------------------------------------

# Stack Overflow 48594888 (DeepLocalize benchmark, Wardat-ISU/DeepLocalize Benchmark/StackOverflow/48594888,
# Buggy Code/untitled41.py vs Correct Code/untitled42.py): a CIFAR-10 CNN (64 and 256 he_normal filters,
# Dense 512, dropout 0.3, Adam, batch 500, 5 epochs) fed the raw 0-255 pixels; the fix divides by 255.
# Port: 5,000 images instead of 50,000.
# measured: broken: first-epoch loss 1036, val acc 0.18 after 5 epochs (train 0.24); fixed: 0.46
def so48594888_cifar_raw_pixels(data, fixed=False):
    x, y = _train(data, 5000, seed=1)
    x_val, y_val = _val(data)
    x, x_val = (_scaled(x), _scaled(x_val)) if fixed else (x.astype("float32"), x_val.astype("float32"))
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(64, 3, activation="relu", kernel_initializer="he_normal"), layers.MaxPooling2D(),
        layers.Conv2D(256, 3, activation="relu", kernel_initializer="he_normal"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(512, activation="relu"), layers.Dropout(0.3),
        layers.Dense(10, activation="softmax"),
    ])
    _compiled(model, "adam", "categorical_crossentropy")
    return model, {"x": x, "y": _one_hot(y), "batch_size": 500, "epochs": 5, "verbose": 1,
                   "validation_data": (x_val, _one_hot(y_val))}


# Stack Overflow 55328966 (DeepLocalize Benchmark/StackOverflow/55328966; defects4ml bugs/100, "missing
# preprocessing (data normalization), after some epochs nan value is shown as loss"): an MLP on MNIST CSV rows
# (Dense 784 linear, Dense 50 relu, Dense 10 sigmoid, categorical cross-entropy, plain gradient descent at 1e-4,
# batch 32, 10 epochs) on the raw 0-255 pixel columns. The fix divides by 255 (and puts softmax on the output).
# Port: flattened CIFAR-10 rows (3,072 columns), 3,000 of them.
# measured: broken: loss 70 -> 2.30, val acc 0.10 in all 10 epochs; fixed (DeepLocalize's Correct Code, still
# gradient descent at 1e-4): 0.165 after 10 epochs, rising every epoch from 0.115
def so55328966_mlp_raw_pixel_columns(data, fixed=False):
    x, y = _train(data, seed=2)
    x_val, y_val = _val(data, seed=2)
    x, x_val = (x.reshape(len(x), -1).astype("float32"), x_val.reshape(len(x_val), -1).astype("float32"))
    if fixed:
        x, x_val = x / 255, x_val / 255
    model = keras.Sequential([
        keras.Input((3072,)), layers.Dense(784),
        layers.Dense(50, kernel_regularizer=keras.regularizers.L2(0.0)), layers.Activation("relu"),
        layers.Dense(10, kernel_regularizer=keras.regularizers.L2(0.0)),
        layers.Activation("softmax" if fixed else "sigmoid"),
    ])
    _compiled(model, keras.optimizers.SGD(1e-4), "categorical_crossentropy")
    return model, {"x": x, "y": _one_hot(y), "epochs": 10, "batch_size": 32,
                   "validation_data": (x_val, _one_hot(y_val))}


# Stack Overflow 59325381 (DeepLocalize Benchmark/StackOverflow/59325381; defects4ml bugs/098): an MNIST CNN
# (two linear convolutions with pooling, Dense 128 relu, softmax, Adam, sparse categorical cross-entropy,
# 2 epochs) where the labels were divided by 255 along with the images (``y_train = y_train/255``), so every label
# becomes 0.0-0.035, which the loss casts to class 0. The fix scales x, not y.
# measured: broken: loss 0.0, test acc 0.10 (always class 0) after 2 epochs; fixed: 0.41
def so59325381_labels_divided_by_255(data, fixed=False):
    x, y = _train(data, seed=3)
    x = _scaled(x)
    y = y.reshape(-1, 1) if fixed else y.reshape(-1, 1) / 255
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(64, 3, padding="same"), layers.MaxPooling2D(),
        layers.Conv2D(32, 3, padding="same"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(128), layers.Activation("relu"),
        layers.Dense(10), layers.Activation("softmax"),
    ])
    _compiled(model)
    return model, {"x": x, "y": y, "epochs": 2}


# Stack Overflow 50079585 (DeepLocalize Benchmark/StackOverflow/50079585; DeepFD benchmark row 21): the Keras
# blog's small cat/dog CNN reused on a folder of THREE classes with ``class_mode='binary'``, i.e. Dense(1) +
# sigmoid + binary cross-entropy on labels 0, 1, 2 (RMSprop, batch 16, rescale 1/255, shear/zoom/flip
# augmentation, 10 epochs). The fix: Dense(3) + softmax + categorical cross-entropy, class_mode='categorical'.
# Port: 3 CIFAR-10 classes written as PNGs (300 train, 60 validation per class) read with
# keras.utils.image_dataset_from_directory; ImageDataGenerator's rescale/shear/zoom/flip become a dataset map.
# measured: broken: loss -943, val acc 0.35 (chance 0.33) after 10 epochs; fixed: 0.51
def so50079585_sigmoid_on_three_classes(data, fixed=False):
    classes = (3, 5, 7)  # cat, dog, horse
    names = [CLASS_NAMES[c] for c in classes]
    x, y = _train(data, 900, seed=4, classes=classes)
    x_val, y_val = _val(data, 180, seed=4, classes=classes)
    label_mode = "categorical" if fixed else "int"  # flow_from_directory(class_mode='binary') gave 0., 1., 2.
    batch_size = 16

    def folder(images, labels):
        return keras.utils.image_dataset_from_directory(
            _image_folder(images, labels, names), labels="inferred", label_mode=label_mode, class_names=names,
            image_size=(32, 32), batch_size=batch_size, seed=0)

    augment = keras.Sequential([layers.RandomShear(0.2, 0.2), layers.RandomZoom(0.2), layers.RandomFlip("horizontal")])
    # .repeat(): flow_from_directory iterators never end, and fit's steps_per_epoch counts on that.
    train = folder(x, y).map(lambda images, labels: (augment(images / 255, training=True), labels)).repeat()
    validation = folder(x_val, y_val).map(lambda images, labels: (images / 255, labels)).repeat()
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(32, 3), layers.Activation("relu"), layers.MaxPooling2D(),
        layers.Conv2D(32, 3), layers.Activation("relu"), layers.MaxPooling2D(),
        layers.Conv2D(64, 3, padding="same"), layers.Activation("relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(64), layers.Activation("relu"), layers.Dropout(0.5),
        layers.Dense(3 if fixed else 1), layers.Activation("softmax" if fixed else "sigmoid"),
    ])
    _compiled(model, "rmsprop", "categorical_crossentropy" if fixed else "binary_crossentropy")
    return model, {"x": train, "steps_per_epoch": len(x) // batch_size, "epochs": 10, "validation_data": validation,
                   "validation_steps": len(x_val) // batch_size}


# Stack Overflow 31880720 (DeepLocalize Benchmark/StackOverflow/31880720; the motivating example of AUTOTRAINER,
# DeepDiagnosis/ICSE2022 "MOTIVATING EXAMPLE/31880720"): a binary MLP (Dense 50 relu + a second relu, dropout 0.2,
# twice) ending in Dense(1) + **softmax**, binary cross-entropy, RMSprop, batch size 1, 3 epochs. A softmax over one
# unit is always 1.0, so the model cannot learn. The fix: sigmoid.
# Port: CIFAR-10 airplane vs automobile, flattened scaled pixels, 1,000 images.
# measured: broken: val acc 0.50 (always 1) after 3 epochs; fixed: 0.64
def so31880720_one_unit_softmax(data, fixed=False):
    x, y = _train(data, 1000, seed=5, classes=(0, 1))
    x_val, y_val = _val(data, 400, seed=5, classes=(0, 1))
    x, x_val = _scaled(x).reshape(len(x), -1), _scaled(x_val).reshape(len(x_val), -1)
    model = keras.Sequential([
        keras.Input((3072,)),
        layers.Dense(50, activation="relu"), layers.Activation("relu"), layers.Dropout(0.2),
        layers.Dense(50), layers.Activation("relu"), layers.Dropout(0.2),
        layers.Dense(1), layers.Activation("sigmoid" if fixed else "softmax"),
    ])
    _compiled(model, keras.optimizers.RMSprop(), "binary_crossentropy")
    return model, {"x": x, "y": y.astype(bool), "batch_size": 1, "epochs": 3, "verbose": 1,
                   "validation_data": (x_val, y_val.astype(bool))}


class _FeaturewiseCenteredFlow:
    """What ``ImageDataGenerator(featurewise_center=True, rotation_range=90).flow(x, y, batch_size)`` yields: an
    endless generator of shuffled batches, the dataset's mean image subtracted (pixels stay on the 0-255 scale),
    randomly rotated."""

    def __init__(self, x, y, batch_size, seed=0):
        self.x, self.y, self.batch_size = x.astype("float32"), y, batch_size
        self.mean = self.x.mean(axis=(0, 1, 2))
        self.rotate = layers.RandomRotation(0.25, fill_mode="nearest", seed=seed)
        self.rng = np.random.default_rng(seed)

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __iter__(self):
        while True:
            order = self.rng.permutation(len(self.x))
            for start in range(0, len(order), self.batch_size):
                batch = order[start:start + self.batch_size]
                images = keras.ops.convert_to_numpy(self.rotate(self.x[batch] - self.mean, training=True))
                yield images, self.y[batch]


# Stack Overflow 58844149 (defects4ml bugs/092): an AlexNet-style CNN (96 11x11 filters, 128, 128, Dense 300,
# dropout 0.2) ending in Dense(1) + **softmax** with binary cross-entropy and Adam, trained with
# ``fit_generator`` on ``ImageDataGenerator(featurewise_center=True, rotation_range=90).flow(..., batch_size=8)``
# and ``steps_per_epoch = len(generator) / 8``, 5 epochs. The fix: sigmoid.
# Port: CIFAR-10 airplane vs automobile, 2,000 images; the generator is a plain Python generator.
# measured: broken: training acc 0.54 (the share of class 1; no validation in the original) after
# 5 epochs; fixed: 0.71
def so58844149_one_unit_softmax_generator(data, fixed=False):
    x, y = _train(data, 2000, seed=6, classes=(0, 1))
    flow = _FeaturewiseCenteredFlow(x, y.astype("float32"), batch_size=8)
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(96, 11, padding="same", activation="relu"), layers.MaxPooling2D(3, strides=2),
        layers.Conv2D(128, 3, padding="same", activation="relu"), layers.MaxPooling2D(2, strides=2),
        layers.Conv2D(128, 3, padding="same", activation="relu"), layers.MaxPooling2D(2, strides=2),
        layers.Flatten(), layers.Dense(300, activation="relu"), layers.Dropout(0.2),
        layers.Dense(1), layers.Activation("sigmoid" if fixed else "softmax"),
    ])
    _compiled(model, "adam", "binary_crossentropy")
    return model, {"x": iter(flow), "steps_per_epoch": len(flow) // 8, "epochs": 5}


# Stack Overflow 47352366 (DeepLocalize Benchmark/StackOverflow/47352366; DeepFD benchmark row 25): the TensorFlow
# "Deep MNIST" CNN rewritten in Keras (Reshape of 784-vectors, 5x5 convolutions of 32 and 64 filters with bias 0.1,
# Dense 1024, dropout 0.5, Adam, batch 50) whose last layer is Dense(10, activation="relu") under categorical
# cross-entropy. The fix: softmax.
# Port: flattened CIFAR-10 rows reshaped to 32x32x3 in the model, as the original reshaped 784-vectors.
# measured: broken: val acc 0.27 after 5 epochs; fixed: 0.41
def so47352366_relu_output_layer(data, fixed=False):
    x, y = _train(data, seed=7)
    x_val, y_val = _val(data, seed=7)
    x, x_val = _scaled(x).reshape(len(x), -1), _scaled(x_val).reshape(len(x_val), -1)
    bias = keras.initializers.Constant(0.1)
    model = keras.Sequential([
        keras.Input((3072,)), layers.Reshape((32, 32, 3)),
        layers.Conv2D(32, 5, padding="same", activation="relu", bias_initializer=bias),
        layers.MaxPooling2D(padding="same"),
        layers.Conv2D(64, 5, padding="same", activation="relu", bias_initializer=bias),
        layers.MaxPooling2D(padding="same"),
        layers.Reshape((1, 8 * 8 * 64)), layers.Dense(1024, activation="relu", bias_initializer=bias),
        layers.Dropout(0.5), layers.Flatten(),
        layers.Dense(10, activation="softmax" if fixed else "relu"),
    ])
    _compiled(model, "adam", keras.losses.categorical_crossentropy)
    return model, {"x": x, "y": _one_hot(y), "batch_size": 50, "epochs": 5, "validation_data": (x_val, _one_hot(y_val))}


# Stack Overflow 48385830 (DeepLocalize Benchmark/StackOverflow/48385830; DeepFD benchmark row 1): Nielsen's
# 784-30-10 MNIST network in Keras with N(0, 1) weights and biases but no activations at all, mean squared error on
# one-hot labels, SGD at 3.0, batch 10 (30 epochs); the loss goes to inf in the first batches. The published fix:
# sigmoid hidden layer, softmax output, categorical cross-entropy (same learning rate, 3.0).
# Port: flattened scaled CIFAR-10 rows; 10 epochs instead of 30. The linear/MSE network diverges at any learning rate
# on these dense 3,072-pixel inputs (NaN at 3.0, 0.01 and 0.001 alike); the published fix at 3.0 stays at chance on
# CIFAR-10 without diverging, so ``fixed=True`` uses it with SGD at 0.3.
# measured: broken: loss NaN in the first epoch, val acc 0.10 for 10 epochs; fixed (SGD 0.3): 0.19 after 10
# epochs (the published fix at 3.0: 0.10)
def so48385830_linear_mse_output(data, fixed=False):
    x, y = _train(data, seed=8)
    x_val, y_val = _val(data, seed=8)
    x, x_val = _scaled(x).reshape(len(x), -1), _scaled(x_val).reshape(len(x_val), -1)
    normal = keras.initializers.RandomNormal(stddev=1.0)
    model = keras.Sequential([
        keras.Input((3072,)),
        layers.Dense(30, activation="sigmoid" if fixed else None, kernel_initializer=normal, bias_initializer=normal),
        layers.Dense(10, activation="softmax" if fixed else None, kernel_initializer=normal, bias_initializer=normal),
    ])
    _compiled(model, keras.optimizers.SGD(0.3 if fixed else 3.0),
              "categorical_crossentropy" if fixed else "mean_squared_error")
    return model, {"x": x, "y": _one_hot(y), "batch_size": 10, "epochs": 10,
                   "validation_data": (x_val, _one_hot(y_val))}


# Stack Overflow 56103207 (defects4ml bugs/091, "skipping necessary preprocessing step (data shuffling), accuracy
# of the model stays at near 0"): a 5-class CNN (32 5x5, 16 3x3, Dense 128, 64, softmax, Adam, categorical
# cross-entropy, batch 100) on arrays sorted by class, fit with ``validation_split=0.2``: Keras takes the LAST 20 %
# as validation, i.e. one class the model never trains on. The fix permutes x and y together first.
# Port: 2,500 CIFAR-10 images of 5 classes, sorted by class; 10 epochs instead of 20.
# measured: broken: val acc 0.00 in all 10 epochs (training acc 0.75); fixed: 0.59
def so56103207_sorted_validation_split(data, fixed=False):
    x, y = _train(data, 2500, seed=9, classes=range(5))
    order = np.random.default_rng(9).permutation(len(x)) if fixed else np.argsort(y, kind="stable")
    x, y = _scaled(x[order]), _one_hot(y[order], 5)
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(32, 5, activation="relu"), layers.MaxPooling2D(),
        layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(),
        layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(64, activation="relu"),
        layers.Dense(5, activation="softmax"),
    ])
    _compiled(model, "adam", "categorical_crossentropy")
    return model, {"x": x, "y": y, "batch_size": 100, "epochs": 10, "validation_split": 0.2}


def _autotrainer_lenet(activation: str, dense_84: int) -> keras.Sequential:
    """AUTOTRAINER's CIFAR-10 LeNet variants: 5x5 convolutions of 32 and 64 filters, Dense 120, ``dense_84``
    Dense(84) layers, He-normal (VarianceScaling(2, fan_in)) kernels, L2 0.01 on every kernel."""
    def kw():
        return {"kernel_initializer": keras.initializers.VarianceScaling(2.0, "fan_in", "normal"),
                "kernel_regularizer": keras.regularizers.L1L2(0.0, 0.01)}
    model = keras.Sequential([keras.Input((32, 32, 3))])
    for filters in (32, 64):
        model.add(layers.Conv2D(filters, 5, **kw()))
        model.add(layers.Activation(activation))
        model.add(layers.MaxPooling2D())
    model.add(layers.Flatten())
    for units in (120,) + (84,) * dense_84:
        model.add(layers.Dense(units, **kw()))
        model.add(layers.Activation(activation))
    model.add(layers.Dense(10, **kw()))
    model.add(layers.Activation("softmax"))
    return model


# AUTOTRAINER benchmark, CIFAR-10 model_1d575a45 (DeepDiagnosis/ICSE2022 "AUTOTRAINER Model Code/
# Models_CIFAR_10.py"; DeepDiagnosis reports "Vanishing Gradient Problem in delta Weights" at batch 0): LeNet with
# sigmoid after both convolutions and after Dense 120 and seven Dense 84 layers. The repository does not publish
# its training configuration: SGD 0.01 (Keras' default), batch 32, 5 epochs here. The fix (AUTOTRAINER's repair):
# ReLU activations.
# measured: broken: val acc 0.10 in all 5 epochs; fixed: 0.20 (rising 0.14, 0.17, 0.18, 0.21, 0.20)
def autotrainer_1d575a45_sigmoid_lenet(data, fixed=False):
    x, y = _train(data, seed=10)
    x_val, y_val = _val(data, seed=10)
    model = _autotrainer_lenet("relu" if fixed else "sigmoid", dense_84=7)
    _compiled(model, keras.optimizers.SGD(0.01), "categorical_crossentropy")
    return model, {"x": _scaled(x), "y": _one_hot(y), "batch_size": 32, "epochs": 5,
                   "validation_data": (_scaled(x_val), _one_hot(y_val))}


# AUTOTRAINER benchmark, CIFAR-10 model_4bc5fb07 (DeepDiagnosis/ICSE2022 "AUTOTRAINER Model Code/
# Models_CIFAR_10.py"; DeepDiagnosis reports "Numerical Problem Forward" at batch 0, layer 0): the same LeNet with
# the *exponential* activation after every layer (Dense 120 and four Dense 84). Inputs are scaled to 0-1 here, so
# the blow-up comes from exp alone. Training configuration as above. The fix: ReLU.
# measured: broken: loss NaN from the first epoch, val acc 0.10; fixed: 0.22
def autotrainer_4bc5fb07_exponential_lenet(data, fixed=False):
    x, y = _train(data, seed=11)
    x_val, y_val = _val(data, seed=11)
    model = _autotrainer_lenet("relu" if fixed else "exponential", dense_84=4)
    _compiled(model, keras.optimizers.SGD(0.01), "categorical_crossentropy")
    return model, {"x": _scaled(x), "y": _one_hot(y), "batch_size": 32, "epochs": 5,
                   "validation_data": (_scaled(x_val), _one_hot(y_val))}


# keras-team/keras issue #6014 "model.fit() accuracy is different from model.evaluate()": 32 chairs and 32 lamps,
# two 4x4 stride-2 convolutions with LeakyReLU(0.2), BatchNormalization after the second, Dense(1) sigmoid, Adam,
# batch 8, 5 epochs: fit reports ~1.0, evaluate on the same training images ~0.5. Forty steps leave the moving
# mean/variance (momentum 0.99) mostly at their initial 0/1, so inference mode sees different activations. The fix
# used here: BatchNormalization(momentum=0.9), whose statistics catch up within the run.
# Port: 32 airplanes + 32 automobiles, 32x32 instead of 225x225, scaled to 0-1.
# measured: broken: fit accuracy 0.84, model.evaluate on the same 64 images 0.53; fixed: 0.84 and 0.81
def keras6014_batchnorm_statistics_lag(data, fixed=False):
    x, y = _train(data, 64, seed=12, classes=(0, 1))
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(5, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
        layers.Conv2D(10, 4, strides=2, padding="same"),
        layers.BatchNormalization(axis=3, momentum=0.9 if fixed else 0.99), layers.LeakyReLU(0.2),
        layers.Flatten(), layers.Dense(1, activation="sigmoid"),
    ])
    _compiled(model, "adam", "binary_crossentropy")
    return model, {"x": _scaled(x), "y": y.astype("float32"), "batch_size": 8, "epochs": 5, "shuffle": True}


# keras-team/keras-io issue #1549 "Problem training EfficientNetB0 on CIFAR-10 with a minimal code (same code works
# with MobileNet)" (also tensorflow/tensorflow #43938, mrdbourke/tensorflow-deep-learning #14): x_train / 255 fed to
# keras.applications.EfficientNetB0, which rescales by 1/255 itself, so the backbone sees pixels of ~0.004.
# Sequential [backbone, GlobalAveragePooling2D, Dense(10) softmax], Adam, categorical cross-entropy, batch 64,
# 3 epochs, validation_split=0.1, everything trainable. The fix: pass raw 0-255 pixels.
# Port: the backbone is a small CNN with EfficientNet's built-in Rescaling + ImageNet Normalization, pre-trained
# here on classes 0-4 (no ImageNet weights offline); no resizing to 224.
# measured: broken: val acc 0.06 after 3 epochs (training 0.10); fixed: 0.34
def kerasio1549_backbone_rescales_again(data, fixed=False):
    x, y = _train(data, seed=13)
    model = keras.Sequential([keras.Input((32, 32, 3)), _pretrained_backbone(data),
                              layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])
    _compiled(model, "adam", "categorical_crossentropy")
    return model, {"x": x.astype("float32") if fixed else _scaled(x), "y": _one_hot(y), "batch_size": 64,
                   "epochs": 3, "validation_split": 0.1}


# keras-team/keras issue #12689 "Incorrect validation accuracy": training accuracy 0.96, validation accuracy
# ~1/number of classes throughout, "Issue was using two different ways of preprocessing for my imageGenerators";
# keras-team/keras #13517 (val_acc and evaluate disagree): one pipeline applied a network's preprocess_input, the
# other only rescale=1./255. Port: the training pipeline maps pixels to [-1, 1] as MobileNet's preprocess_input does
# (plus horizontal flips), the validation pipeline rescales to [0, 1]; tf.data maps instead of ImageDataGenerators;
# the TensorFlow CNN tutorial's model, Adam, categorical cross-entropy, 5 epochs. The fix: one preprocessing for both.
# measured: broken: val acc 0.20 after 5 epochs while training acc is 0.48; fixed: 0.47
def keras12689_validation_preprocessed_differently(data, fixed=False):
    import tensorflow as tf

    x, y = _train(data, seed=14)
    x_val, y_val = _val(data, seed=14)
    flip = layers.RandomFlip("horizontal")

    def preprocess_input(images):  # keras.applications.mobilenet_v2.preprocess_input
        return tf.cast(images, "float32") / 127.5 - 1

    def rescale(images):  # ImageDataGenerator(rescale=1./255)
        return tf.cast(images, "float32") / 255

    train = (tf.data.Dataset.from_tensor_slices((x, _one_hot(y))).shuffle(len(x), seed=0).batch(32)
             .map(lambda images, labels: (flip(preprocess_input(images), training=True), labels)))
    validation = tf.data.Dataset.from_tensor_slices((x_val, _one_hot(y_val))).batch(32)
    validation = validation.map(lambda images, labels: ((preprocess_input if fixed else rescale)(images), labels))
    model = _compiled(_plain_cnn(), "adam", "categorical_crossentropy")
    return model, {"x": train, "validation_data": validation, "epochs": 5}


# zalandoresearch/fashion-mnist pull request #5 "shuffling the dataset" (answering issue #3): the files were sorted
# by label, "if people forget to shuffle the data by themselves, then learning algorithms may fail especially when
# using mini-batch". Port: CIFAR-10 arrays sorted by class into tf.data.Dataset.from_tensor_slices(...).batch(32)
# with no .shuffle(), so every batch holds one class and each epoch ends on class 9; the TensorFlow CNN tutorial's
# model with Rescaling inside, Adam, 5 epochs. The fix: .shuffle(len(x)) before .batch.
# measured: broken: val acc 0.10 after 5 epochs (training acc 0.01); fixed: 0.43
def fashion_mnist_pr5_sorted_batches(data, fixed=False):
    import tensorflow as tf

    x, y = _train(data, seed=15)
    order = np.argsort(y, kind="stable")
    x_val, y_val = _val(data, seed=15)
    train = tf.data.Dataset.from_tensor_slices((x[order], y[order]))
    if fixed:
        train = train.shuffle(len(x), seed=0)
    validation = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(32)
    model = _compiled(_plain_cnn(scale=True))
    return model, {"x": train.batch(32), "validation_data": validation, "epochs": 5}


# Trusted-AI/adversarial-robustness-toolbox issue #2101 "Incorrect image format for default test subsets" and
# clementchadebec/benchmark_VAE issue #52 ("why it's not an image from the CIFAR10 dataset"): CIFAR-10 images that
# are already channels-last (N, 32, 32, 3) put through ``np.reshape(x, (N, 3, 32, 32))``, as if they were the python
# pickle's channel planes, which scrambles every image. Port: that reshape followed by the ``transpose(0, 2, 3, 1)``
# a channels-last loader of the pickle does, on training and validation images alike; the TensorFlow CNN
# tutorial's model, Adam, 5 epochs. The fix: no reshape (the images were channels-last already).
# measured: broken: val acc 0.31 after 5 epochs; fixed: 0.44
def art2101_reshape_instead_of_transpose(data, fixed=False):
    x, y = _train(data, seed=16)
    x_val, y_val = _val(data, seed=16)

    def load(images):
        if fixed:
            return images
        return images.reshape(len(images), 3, 32, 32).transpose(0, 2, 3, 1)

    model = _compiled(_plain_cnn(scale=True))
    return model, {"x": load(x), "y": y, "epochs": 5, "validation_data": (load(x_val), y_val)}


# GantMan/nsfw_model issue #33 "fine tune do not change model output": the fine-tuning script sets
# ``model.trainable = False`` and then ``layer.trainable = True`` for the layers from 'conv2d_56' on. A model whose
# own ``trainable`` is False has no trainable weights whatever its layers say (in tf.keras 2 and Keras 3), so
# "fine-tuning" changes nothing. Port: a CNN (conv, conv, conv, Dense 64, softmax) unfrozen from its third
# convolution in the same way, Adam, 5 epochs; it starts untrained (the original loaded a trained model), so a frozen
# copy stays at chance. The fix: leave ``model.trainable`` alone and freeze layers one by one.
# measured: broken: 0 trainable weights (Keras 3 only warns), val acc 0.11 for 5 epochs; fixed: 0.36
def nsfw33_model_trainable_false(data, fixed=False):
    x, y = _train(data, seed=17)
    x_val, y_val = _val(data, seed=17)
    model = _plain_cnn(scale=True)
    if not fixed:
        model.trainable = False
    unfreeze = False
    for layer in model.layers:
        if layer.name == model.layers[5].name:  # the third convolution, 'conv2d_56' in the original
            unfreeze = True
        layer.trainable = unfreeze
    _compiled(model)
    return model, {"x": x, "y": y, "epochs": 5, "validation_data": (x_val, y_val)}


# tensorflow/tensorflow issue #50124 "Keras `image_dataset_from_directory` shuffles labels": images and labels
# collected in two separate passes over a shuffled image_dataset_from_directory, which reshuffles on every pass, so
# the label array no longer belongs to the image array. Port: a folder of 10 classes x 200 PNGs read with
# shuffle=True; x from one pass, y from a second; then model.fit(x, y) with a CNN, Adam, 5 epochs, and a
# validation folder read with shuffle=False. The fix: collect images and labels in the same pass.
# measured: broken: val acc 0.10 after 5 epochs; fixed: 0.40
def tf50124_labels_from_a_second_pass(data, fixed=False):
    x, y = _train(data, 2000, seed=19)
    x_val, y_val = _val(data, seed=19)
    dataset = keras.utils.image_dataset_from_directory(
        _image_folder(x, y, CLASS_NAMES), class_names=list(CLASS_NAMES), image_size=(32, 32), batch_size=32,
        shuffle=True, seed=0)
    if fixed:
        pairs = [(images.numpy(), labels.numpy()) for images, labels in dataset]
        images, labels = np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])
    else:
        images = np.concatenate([batch.numpy() for batch, _ in dataset])
        labels = np.concatenate([batch.numpy() for _, batch in dataset])
    model = _compiled(_plain_cnn(scale=True))
    return model, {"x": images, "y": labels, "epochs": 5, "validation_data": (x_val.astype("float32"), y_val)}


# keras-team/keras issue #4066 "Cifar10 example sometimes only predicts 1 class and does not improve": running Keras'
# examples/cifar10_cnn.py, accuracy fixed at 0.1; one user switched to Adam "but the loss still get stucked at 2.304,
# and accu=0.1" with Adam at lr 0.01; the default Adam (0.001) trained. The example's network: 32, 32, 64, 64 3x3
# convolutions (two with padding 'same'), max pooling and dropout 0.25 after each pair, Dense 512, dropout 0.5,
# softmax, categorical cross-entropy, batch 32, inputs / 255. Port: 3,000 images, 5 epochs. The fix: Adam at 0.001.
# measured: broken: loss 2.305, val acc 0.10 in all 5 epochs; fixed: 0.46
def keras4066_adam_learning_rate_0_01(data, fixed=False):
    x, y = _train(data, seed=20)
    x_val, y_val = _val(data, seed=20)
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(32, 3, padding="same"), layers.Activation("relu"),
        layers.Conv2D(32, 3), layers.Activation("relu"), layers.MaxPooling2D(), layers.Dropout(0.25),
        layers.Conv2D(64, 3, padding="same"), layers.Activation("relu"),
        layers.Conv2D(64, 3), layers.Activation("relu"), layers.MaxPooling2D(), layers.Dropout(0.25),
        layers.Flatten(), layers.Dense(512), layers.Activation("relu"), layers.Dropout(0.5),
        layers.Dense(10), layers.Activation("softmax"),
    ])
    _compiled(model, keras.optimizers.Adam(0.001 if fixed else 0.01), "categorical_crossentropy")
    return model, {"x": _scaled(x), "y": _one_hot(y), "batch_size": 32, "epochs": 5,
                   "validation_data": (_scaled(x_val), _one_hot(y_val))}


REAL = [
    # (name, planted, builder, source)
    ("so48594888 CIFAR CNN on raw pixels", "unscaled_inputs", so48594888_cifar_raw_pixels,
     "Wardat-ISU/DeepLocalize Benchmark/StackOverflow/48594888 (Buggy Code/untitled41.py); Stack Overflow 48594888"),
    ("so55328966 MLP on raw pixel columns", "unscaled_inputs", so55328966_mlp_raw_pixel_columns,
     "Wardat-ISU/DeepLocalize Benchmark/StackOverflow/55328966; mohmehmo/defects4ml bugs/100; Stack Overflow "
     "55328966"),
    ("so59325381 labels divided by 255", "labels_not_class_indices", so59325381_labels_divided_by_255,
     "Wardat-ISU/DeepLocalize Benchmark/StackOverflow/59325381; mohmehmo/defects4ml bugs/098; Stack Overflow "
     "59325381"),
    ("so50079585 sigmoid unit on three classes", "loss_output_mismatch", so50079585_sigmoid_on_three_classes,
     "Wardat-ISU/DeepLocalize Benchmark/StackOverflow/50079585 (Buggy Code/untitled28.py); Stack Overflow 50079585"),
    ("so31880720 one-unit softmax", "loss_output_mismatch", so31880720_one_unit_softmax,
     "Wardat-ISU/DeepLocalize Benchmark/StackOverflow/31880720; DeepDiagnosis/ICSE2022 MOTIVATING EXAMPLE/31880720 "
     "(AUTOTRAINER's motivating example); Stack Overflow 31880720"),
    ("so58844149 one-unit softmax from a generator", "loss_output_mismatch", so58844149_one_unit_softmax_generator,
     "mohmehmo/defects4ml bugs/092 (buggy/script.py); Stack Overflow 58844149"),
    ("so47352366 relu output layer", "loss_output_mismatch", so47352366_relu_output_layer,
     "Wardat-ISU/DeepLocalize Benchmark/StackOverflow/47352366 (Buggy Code/update.py); Stack Overflow 47352366"),
    ("so48385830 linear outputs under MSE", "loss_output_mismatch", so48385830_linear_mse_output,
     "Wardat-ISU/DeepLocalize Benchmark/StackOverflow/48385830; ArabelaTso/DeepFD Benchmark (row 1); Stack "
     "Overflow 48385830"),
    ("so56103207 validation_split of sorted data", "validation_mismatch", so56103207_sorted_validation_split,
     "mohmehmo/defects4ml bugs/091 (buggy/script.py); Stack Overflow 56103207"),
    ("autotrainer 1d575a45 sigmoid LeNet", "vanishing_gradients", autotrainer_1d575a45_sigmoid_lenet,
     "DeepDiagnosis/ICSE2022 AUTOTRAINER Model Code/Models_CIFAR_10.py (model_1d575a45)"),
    ("autotrainer 4bc5fb07 exponential LeNet", "nonfinite_loss", autotrainer_4bc5fb07_exponential_lenet,
     "DeepDiagnosis/ICSE2022 AUTOTRAINER Model Code/Models_CIFAR_10.py (model_4bc5fb07)"),
    ("keras6014 batchnorm statistics lag", "batchnorm_inference_gap", keras6014_batchnorm_statistics_lag,
     "keras-team/keras issue #6014 'model.fit() accuracy is different from model.evaluate()'"),
    ("kerasio1549 backbone rescales again", "inputs_scaled_twice", kerasio1549_backbone_rescales_again,
     "keras-team/keras-io issue #1549 'Problem training EfficientNetB0 on CIFAR-10 with a minimal code'; "
     "tensorflow/tensorflow #43938; mrdbourke/tensorflow-deep-learning #14"),
    ("keras12689 validation preprocessed differently", "preprocessing_mismatch",
     keras12689_validation_preprocessed_differently,
     "keras-team/keras issue #12689 'Incorrect validation accuracy'; keras-team/keras #13517"),
    ("fashion-mnist pr5 sorted batches", "unshuffled_data", fashion_mnist_pr5_sorted_batches,
     "zalandoresearch/fashion-mnist pull request #5 'shuffling the dataset' (issue #3)"),
    ("art2101 reshape instead of transpose", "scrambled_images", art2101_reshape_instead_of_transpose,
     "Trusted-AI/adversarial-robustness-toolbox issue #2101 'Incorrect image format for default test subsets'; "
     "clementchadebec/benchmark_VAE issue #52"),
    ("nsfw33 model.trainable False", "frozen_model", nsfw33_model_trainable_false,
     "GantMan/nsfw_model issue #33 'fine tune do not change model output'"),
    ("tf50124 labels from a second pass", "labels_misaligned", tf50124_labels_from_a_second_pass,
     "tensorflow/tensorflow issue #50124 'Keras image_dataset_from_directory shuffles labels'"),
    ("keras4066 Adam at 0.01", "learning_rate_too_high", keras4066_adam_learning_rate_0_01,
     "keras-team/keras issue #4066 'Cifar10 example sometimes only predicts 1 class and does not improve'"),
]


def real_cases(data) -> list[Case]:
    """The reproductions of real bug reports, each with the cause a correct diagnosis names first."""
    return [Case(name, planted, partial(builder, data), source) for name, planted, builder, source in REAL]


# ----------------------------------------------------------------------------------------------------------------
# Healthy pipelines of different shapes (each measured to learn well above chance in its own fit).
# ----------------------------------------------------------------------------------------------------------------

# Transfer learning: a backbone pre-trained on classes 0-4, frozen and nested as one layer, a new head on
# classes 5-9.
# measured: val acc 0.58 after 5 epochs (5 classes, chance 0.20)
def healthy_frozen_backbone_transfer(data):
    x, y = _train(data, 2500, seed=30, classes=range(5, 10))
    x_val, y_val = _val(data, 500, seed=30, classes=range(5, 10))
    backbone = _pretrained_backbone(data)
    backbone.trainable = False
    model = keras.Sequential([keras.Input((32, 32, 3)), backbone, layers.GlobalAveragePooling2D(),
                              layers.Dense(64, activation="relu"), layers.Dense(5, activation="softmax")])
    _compiled(model, keras.optimizers.Adam(1e-3))
    return model, {"x": x.astype("float32"), "y": y, "batch_size": 32, "epochs": 5,
                   "validation_data": (x_val.astype("float32"), y_val)}


# A functional model with two branches (3x3 and 5x5 convolutions) concatenated.
# measured: val acc 0.47 after 4 epochs
def healthy_two_branch_functional(data):
    x, y = _train(data, seed=31)
    x_val, y_val = _val(data, seed=31)
    inputs = keras.Input((32, 32, 3))
    scaled = layers.Rescaling(1 / 255)(inputs)
    small = layers.MaxPooling2D()(layers.Conv2D(32, 3, padding="same", activation="relu")(scaled))
    large = layers.MaxPooling2D()(layers.Conv2D(32, 5, padding="same", activation="relu")(scaled))
    h = layers.Concatenate()([small, large])
    h = layers.MaxPooling2D()(layers.Conv2D(64, 3, padding="same", activation="relu")(h))
    h = layers.Dense(64, activation="relu")(layers.Flatten()(h))
    model = _compiled(keras.Model(inputs, layers.Dense(10, activation="softmax")(h)))
    return model, {"x": x, "y": y, "batch_size": 32, "epochs": 4, "validation_data": (x_val, y_val)}


# tf.data with shuffle and augmentation layers in the pipeline.
# measured: val acc 0.39 after 5 epochs
def healthy_tf_data_augmented(data):
    import tensorflow as tf

    x, y = _train(data, seed=32)
    x_val, y_val = _val(data, seed=32)
    augment = keras.Sequential([layers.RandomFlip("horizontal"), layers.RandomTranslation(0.1, 0.1)])
    train = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0).batch(32)
             .map(lambda images, labels: (augment(tf.cast(images, "float32"), training=True), labels))
             .prefetch(2))
    validation = tf.data.Dataset.from_tensor_slices((x_val, y_val)).batch(64)
    model = _compiled(_plain_cnn(scale=True))
    return model, {"x": train, "validation_data": validation, "epochs": 5}


# SGD with momentum 0.9.
# measured: val acc 0.37 after 5 epochs
def healthy_sgd_momentum(data):
    x, y = _train(data, seed=33)
    x_val, y_val = _val(data, seed=33)
    model = _compiled(_plain_cnn(scale=True), keras.optimizers.SGD(0.01, momentum=0.9))
    return model, {"x": x, "y": y, "batch_size": 32, "epochs": 5, "validation_data": (x_val, y_val)}


# An MLP: Rescaling, Flatten, three Dense relu layers.
# measured: val acc 0.29 after 5 epochs
def healthy_mlp(data):
    x, y = _train(data, seed=34)
    x_val, y_val = _val(data, seed=34)
    model = keras.Sequential([keras.Input((32, 32, 3)), layers.Rescaling(1 / 255), layers.Flatten(),
                              layers.Dense(256, activation="relu"), layers.Dense(128, activation="relu"),
                              layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
    _compiled(model, keras.optimizers.Adam(5e-4))
    return model, {"x": x, "y": y, "batch_size": 32, "epochs": 5, "validation_data": (x_val, y_val)}


class _SmallNet(keras.Model):
    """A subclassed model: layers made in __init__, wired in call()."""

    def __init__(self, num_classes=10, name="small_net", **kwargs):
        super().__init__(name=name, **kwargs)
        self.scale = layers.Rescaling(1 / 255)
        self.conv1 = layers.Conv2D(32, 3, padding="same", activation="relu")
        self.conv2 = layers.Conv2D(64, 3, padding="same", activation="relu")
        self.pool = layers.MaxPooling2D()
        self.flatten = layers.Flatten()
        self.hidden = layers.Dense(64, activation="relu")
        self.out = layers.Dense(num_classes, activation="softmax")

    def call(self, inputs, training=False):
        h = self.pool(self.conv1(self.scale(inputs)))
        h = self.pool(self.conv2(h))
        return self.out(self.hidden(self.flatten(self.pool(h))))


# measured: val acc 0.46 after 5 epochs
def healthy_subclassed_model(data):
    x, y = _train(data, seed=35)
    x_val, y_val = _val(data, seed=35)
    model = _compiled(_SmallNet())
    return model, {"x": x, "y": y, "batch_size": 32, "epochs": 5, "validation_data": (x_val, y_val)}


# BatchNormalization and Dropout (Keras' default BN momentum; enough steps for the moving statistics).
# measured: val acc 0.46 after 5 epochs (0.11 after the first: the moving statistics lag early on)
def healthy_batchnorm_dropout(data):
    x, y = _train(data, 4000, seed=36)
    x_val, y_val = _val(data, seed=36)
    model = keras.Sequential([keras.Input((32, 32, 3)), layers.Rescaling(1 / 255)])
    for filters in (32, 64):
        model.add(layers.Conv2D(filters, 3, padding="same", use_bias=False))
        model.add(layers.BatchNormalization())
        model.add(layers.ReLU())
        model.add(layers.MaxPooling2D())
    model.add(layers.Flatten())
    model.add(layers.Dropout(0.3))
    model.add(layers.Dense(10, activation="softmax"))
    _compiled(model)
    return model, {"x": x, "y": y, "batch_size": 32, "epochs": 5, "validation_data": (x_val, y_val)}


# One-hot labels with categorical cross-entropy.
# measured: val acc 0.41 after 5 epochs
def healthy_one_hot_categorical(data):
    x, y = _train(data, seed=37)
    x_val, y_val = _val(data, seed=37)
    model = _compiled(_plain_cnn(scale=True), "adam", "categorical_crossentropy")
    return model, {"x": x, "y": _one_hot(y), "batch_size": 32, "epochs": 5,
                   "validation_data": (x_val, _one_hot(y_val))}


# keras.utils.image_dataset_from_directory over a folder of PNGs (200 per class), validation_split="both".
# measured: val acc 0.38 after 6 epochs
def healthy_image_folder(data):
    x, y = _train(data, 2000, seed=38)
    train, validation = keras.utils.image_dataset_from_directory(
        _image_folder(x, y, CLASS_NAMES), class_names=list(CLASS_NAMES), image_size=(32, 32), batch_size=32,
        validation_split=0.2, subset="both", seed=0)
    model = _compiled(_plain_cnn(scale=True))
    return model, {"x": train, "validation_data": validation, "epochs": 6}


class _AugmentedBatches(keras.utils.PyDataset):
    """``ImageDataGenerator(horizontal_flip=True, width/height_shift_range=0.1).flow(x, y, batch_size)``."""

    def __init__(self, x, y, batch_size, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(x))

    def __len__(self):
        return int(np.ceil(len(self.x) / self.batch_size))

    def __getitem__(self, index):
        batch = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        images = self.x[batch].copy()
        flip = self.rng.random(len(batch)) < 0.5
        images[flip] = images[flip, :, ::-1]
        dy, dx = self.rng.integers(-3, 4, size=2)
        images = np.roll(images, (dy, dx), axis=(1, 2))
        return images, self.y[batch]

    def on_epoch_end(self):
        self.order = self.rng.permutation(len(self.x))


# A keras.utils.PyDataset with flips and shifts, scaled in the model.
# measured: val acc 0.40 after 5 epochs
def healthy_py_dataset(data):
    x, y = _train(data, seed=39)
    x_val, y_val = _val(data, seed=39)
    model = _compiled(_plain_cnn(scale=True))
    return model, {"x": _AugmentedBatches(x.astype("float32"), y, batch_size=32), "epochs": 5,
                   "validation_data": (x_val.astype("float32"), y_val)}


# Logits output (no activation) with from_logits=True.
# measured: val acc 0.41 after 5 epochs
def healthy_logits(data):
    x, y = _train(data, seed=40)
    x_val, y_val = _val(data, seed=40)
    model = _compiled(_plain_cnn(scale=True, output=None), "adam",
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model, {"x": x, "y": y, "batch_size": 32, "epochs": 5, "validation_data": (x_val, y_val)}


HEALTHY = [
    ("healthy frozen nested backbone, new head", healthy_frozen_backbone_transfer),
    ("healthy two-branch functional model", healthy_two_branch_functional),
    ("healthy tf.data with augmentation and shuffle", healthy_tf_data_augmented),
    ("healthy SGD momentum 0.9", healthy_sgd_momentum),
    ("healthy MLP", healthy_mlp),
    ("healthy subclassed keras.Model", healthy_subclassed_model),
    ("healthy batch norm and dropout", healthy_batchnorm_dropout),
    ("healthy one-hot labels, categorical cross-entropy", healthy_one_hot_categorical),
    ("healthy image_dataset_from_directory", healthy_image_folder),
    ("healthy PyDataset", healthy_py_dataset),
    ("healthy logits with from_logits=True", healthy_logits),
]


def healthy_shapes(data) -> list[Case]:
    """Pipelines that learn; a correct diagnosis finds nothing."""
    return [Case(name, None, partial(builder, data), "") for name, builder in HEALTHY]


def _kind(x) -> str:
    import tensorflow as tf

    if isinstance(x, np.ndarray):
        return f"array {x.shape} {x.dtype}"
    if isinstance(x, tf.data.Dataset):
        return "tf.data.Dataset"
    if isinstance(x, keras.utils.PyDataset):
        return f"PyDataset ({type(x).__name__})"
    if hasattr(x, "__next__"):
        return "Python generator"
    return type(x).__name__


if __name__ == "__main__":
    from collections import Counter

    from cnncourse.data import load_cifar10

    data = load_cifar10()
    cases = real_cases(data) + healthy_shapes(data)
    names = [case.name for case in cases]
    assert len(set(names)) == len(names), "case names must be unique"
    for case in cases:
        keras.utils.set_random_seed(0)
        model, fit_kwargs = case.make()
        assert model.compiled, case.name
        extra = sorted(set(fit_kwargs) - {"x", "y"})
        print(f"{split_of(case):4s}  {case.planted or 'healthy':24s}  {case.name:48s}  x: {_kind(fit_kwargs['x'])}"
              f"  {', '.join(extra)}", flush=True)
    halves = Counter((case.planted or "healthy", split_of(case)) for case in cases)
    print("\n| planted | tune | test |\n|---|---|---|")
    for code in sorted({planted for planted, _ in halves}):
        print(f"| {code} | {halves[code, 'tune']} | {halves[code, 'test']} |")
