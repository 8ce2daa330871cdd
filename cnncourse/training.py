"""Train a model with a seed and keep everything a lesson wants to look at afterwards."""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
from tqdm.auto import tqdm


@dataclass
class TrainingResult:
    """One training run: its learning curves, how long it took, and the trained model.

    ``history`` maps each Keras metric name (``loss``, ``accuracy``, ``val_loss``,
    ``val_accuracy``, ...) to one value per epoch. ``val_images_trained_on`` is how many of the
    validation images were also training images (pixel for pixel; see :func:`shared_images`): above 0,
    the validation scores are not scores on unseen images. ``steps_per_epoch`` and ``images_per_epoch`` are
    how many batches, and how many images in them, each epoch trained on (runs with different batch sizes are
    compared per step or per image). Each is None where nobody counted (a result built by hand).
    """
    name: str
    history: dict
    seconds: float
    model: keras.Model = field(repr=False)
    seed: int = 0
    val_images_trained_on: int | None = None
    steps_per_epoch: int | None = None
    images_per_epoch: int | None = None

    @property
    def epochs(self) -> int:
        return len(self.history["loss"])

    def final(self, metric: str) -> float:
        """The metric's value after the last epoch (NaN if training diverged)."""
        return float(self.history[metric][-1])

    @property
    def train_accuracy(self) -> float:
        return self.final("accuracy")

    @property
    def val_accuracy(self) -> float:
        return self.final("val_accuracy")

    @property
    def best_val_accuracy(self) -> float:
        return float(np.nanmax(self.history["val_accuracy"]))

    @property
    def best_epoch(self) -> int:
        """The epoch (counting from 1) with the lowest validation loss: where early stopping
        with ``restore_best_weights`` would take the weights from."""
        return int(np.nanargmin(self.history["val_loss"])) + 1

    @property
    def gap(self) -> float:
        """Training minus validation accuracy after the last epoch: large means overfitting."""
        return self.train_accuracy - self.val_accuracy

    def mean_gap(self, epochs: int = 5) -> float:
        """Training minus validation accuracy, averaged over the last ``epochs`` epochs. Steadier than
        :attr:`gap` for comparing runs: one epoch's gap moves by several points from the next."""
        if epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {epochs}.")
        train, val = (np.asarray(self.history[key][-epochs:], dtype=float) for key in ("accuracy", "val_accuracy"))
        return float(np.mean(train - val))

    def summary(self) -> dict:
        """The numbers a comparison table shows, as a plain dict."""
        return {"run": self.name, "epochs": self.epochs,
                "train accuracy": round(self.train_accuracy, 3),
                "val accuracy": round(self.val_accuracy, 3),
                "best val accuracy": round(self.best_val_accuracy, 3),
                "gap": round(self.gap, 3), "seconds": round(self.seconds, 1)}


class EpochProgress(keras.callbacks.Callback):
    """One progress bar per run, one step per epoch, showing the latest metrics."""

    def __init__(self, name: str, epochs: int):
        super().__init__()
        self.bar = tqdm(total=epochs, desc=name, unit="epoch")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        shown = {k: f"{v:.3f}" for k, v in (logs or {}).items() if "accuracy" in k or "loss" in k}
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update(1)

    def on_train_end(self, logs: dict | None = None) -> None:
        self.bar.close()


class BatchLosses(keras.callbacks.Callback):
    """Records the loss of every training batch in ``losses``.

    Keras reports, after each batch, the mean loss of the epoch so far (weighted by batch size); the loss of
    batch k is recovered from two such means: ``k * mean_k - (k - 1) * mean_(k-1)`` (exact for batches of
    one size, the last batch of an epoch off by its share)."""

    def __init__(self):
        super().__init__()
        self.losses: list[float] = []
        self._previous = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._previous = 0.0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        mean = (logs or {}).get("loss")
        if mean is None:
            return
        mean = float(mean)
        self.losses.append((batch + 1) * mean - batch * self._previous)
        self._previous = mean


class LastWeights(keras.callbacks.Callback):
    """Keeps a copy of the weights as training ends (``weights``), before ``EarlyStopping(...,
    restore_best_weights=True)`` puts the best epoch's back: list it *before* the ``EarlyStopping`` callback. Then
    the last epoch and the best one can both be scored on images that chose neither (a test set)."""

    def __init__(self):
        super().__init__()
        self.weights: list[np.ndarray] | None = None

    def on_train_end(self, logs: dict | None = None) -> None:
        self.weights = [np.array(w) for w in self.model.get_weights()]


def seeded_build(model: Callable[[], keras.Model], seed: int) -> keras.Model:
    """Seed Python, NumPy and the backend, then build ``model()``: the initial weights, the
    shuffling and the dropout masks all follow ``seed``."""
    if isinstance(model, keras.Model) or not callable(model):
        raise TypeError("pass a function that builds the model, e.g. reference_cnn or "
                        "lambda: reference_cnn(dropout=0.3), not a built model, so that the seed also fixes "
                        f"the initial weights; got {type(model).__name__}.")
    keras.utils.set_random_seed(seed)
    return model()


def make_optimizer(optimizer: str | keras.optimizers.Optimizer,
                   learning_rate: float) -> keras.optimizers.Optimizer:
    """A Keras optimizer: a name (e.g. ``"adam"``) gets ``learning_rate``; an instance is used as is."""
    if isinstance(optimizer, str):
        return keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    return optimizer


def train(model: Callable[[], keras.Model], x: np.ndarray, y: np.ndarray, *,
          validation_data: tuple[np.ndarray, np.ndarray], epochs: int = 5, batch_size: int = 64,
          optimizer: str | keras.optimizers.Optimizer = "adam", learning_rate: float = 1e-3, seed: int = 0,
          name: str | None = None, callbacks: Sequence[keras.callbacks.Callback] = (), progress: bool = True,
          validation_batch_size: int = 500, **fit_kwargs) -> TrainingResult:
    """Compile and fit ``model`` and return a :class:`TrainingResult`.

    ``model`` is a function that builds a fresh model (e.g. ``reference_cnn`` or
    ``lambda: reference_cnn(dropout=0.3)``): it is called *after* seeding, so the initial
    weights, the shuffling and the dropout masks all follow ``seed`` and a rerun gives the
    same curves. ``optimizer`` is a Keras optimizer name (used with ``learning_rate``) or
    an optimizer instance. Validation runs in batches of ``validation_batch_size`` (larger
    batches than training's are faster and give the same numbers). Extra keyword arguments
    (``class_weight``, ...) go to ``fit``.
    """
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} labels.")
    built = seeded_build(model, seed)
    built.compile(optimizer=make_optimizer(optimizer, learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    name = name or built.name
    callbacks = list(callbacks) + ([EpochProgress(name, epochs)] if progress else [])
    start = time.perf_counter()
    history = built.fit(x, y, validation_data=validation_data, epochs=epochs, batch_size=batch_size,
                        callbacks=callbacks, verbose=0, validation_batch_size=validation_batch_size, **fit_kwargs)
    seconds = time.perf_counter() - start
    # The traced training and validation steps hold about 13 MB per run (TensorFlow, measured), and a lesson keeps a
    # dozen runs; Keras traces them again if this model trains or evaluates later.
    built.train_function = built.test_function = None
    steps = fit_kwargs.get("steps_per_epoch") or int(np.ceil(len(x) / batch_size))
    return TrainingResult(name=name, history={k: [float(v) for v in vals] for k, vals in history.history.items()},
                          seconds=seconds, model=built, seed=seed,
                          val_images_trained_on=shared_images(x, _images_of(validation_data)),
                          steps_per_epoch=steps, images_per_epoch=min(steps * batch_size, len(x)))


def _fingerprints(images: np.ndarray, dtype: np.dtype, chunk: int = 2048) -> list[bytes]:
    """One hash per image, of its pixels as ``dtype``."""
    hashes = []
    for start in range(0, len(images), chunk):
        block = np.ascontiguousarray(images[start:start + chunk], dtype=dtype)
        hashes.extend(hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in block.reshape(len(block), -1))
    return hashes


def _images_of(validation_data: object) -> np.ndarray | None:
    """The images of ``fit``'s ``validation_data`` where it is an ``(x, y)`` tuple of arrays, else None."""
    return validation_data[0] if isinstance(validation_data, (tuple, list)) and len(validation_data) >= 2 else None


def shared_images(x: np.ndarray, other: np.ndarray | None) -> int | None:
    """How many images of ``other`` also occur in ``x``, pixel for pixel (as float32 where their types differ, so
    that a uint8 image and its float copy match); about 0.3 s for 45,000 CIFAR-10 images. None where either is not
    an array of images."""
    if other is None:
        return None
    try:
        x, other = np.asarray(x), np.asarray(other)
        dtype = x.dtype if x.dtype == other.dtype else np.dtype("float32")
        seen = set(_fingerprints(x, dtype))
        return sum(fingerprint in seen for fingerprint in _fingerprints(other, dtype))
    except Exception:  # not arrays (e.g. a tf.data pipeline): nothing to count
        return None


def predict_classes(model: keras.Model, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The most likely class of each image (integer labels, like ``y``). A model with a single output is a
    binary classifier: class 1 where that output is above 0.5 after a sigmoid, above 0 for a logit."""
    scores = model.predict(x, batch_size=batch_size, verbose=0)
    if scores.shape[-1] == 1:
        activation = getattr(getattr(model.layers[-1], "activation", None), "__name__", None)
        return (scores[:, 0] > (0.5 if activation == "sigmoid" else 0.0)).astype(int)
    return np.argmax(scores, axis=1)
