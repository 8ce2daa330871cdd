"""The learning-rate range test: one short run in which the learning rate grows by the same
factor at every step, recording the loss of each batch (Smith, 2017, "Cyclical learning rates
for training neural networks"; fastai calls it ``lr_find``).

Read its curve from left to right: flat (too small to learn), falling (useful rates), lowest
point, then rising steeply (too large). A good constant learning rate sits on the falling part,
3 to 10 times below the lowest point (``suggestion()`` is the safe end, 10 times).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from cnncourse.training import make_optimizer, seeded_build

if TYPE_CHECKING:
    import keras


@dataclass(frozen=True)
class RangeTestResult:
    """The learning rate and the loss of every batch of a range test."""
    learning_rates: np.ndarray
    losses: np.ndarray

    def smoothed(self, beta: float = 0.9) -> np.ndarray:
        """The losses as an exponential moving average (bias-corrected), which is far easier to read."""
        average, out = 0.0, []
        for step, loss in enumerate(self.losses, start=1):
            average = beta * average + (1 - beta) * loss
            out.append(average / (1 - beta ** step))
        return np.array(out)

    @property
    def lowest_loss_rate(self) -> float:
        """The learning rate at the lowest point of the smoothed curve."""
        smooth = self.smoothed()
        return float(self.learning_rates[np.nanargmin(np.where(np.isfinite(smooth), smooth, np.nan))])

    def halfway_rate(self) -> float:
        """The first learning rate at which the smoothed loss has fallen halfway from its start (the median of
        the first 10 batches) to its lowest point: the middle of the falling part. Steadier from seed to seed
        than the lowest point, which sits on a flat bottom: use it to compare two curves."""
        smooth = self.smoothed()
        start, lowest = float(np.median(self.losses[:10])), float(np.nanmin(smooth))
        return float(self.learning_rates[np.argmax(smooth <= (start + lowest) / 2)])

    def suggestion(self) -> float:
        """A constant learning rate to start from: ten times below the lowest point."""
        return self.lowest_loss_rate / 10


def lr_range_test(model: Callable[[], keras.Model], x: np.ndarray, y: np.ndarray, *, start: float = 1e-6,
                  stop: float = 1.0, steps: int = 100, batch_size: int = 64,
                  optimizer: str | keras.optimizers.Optimizer = "adam", seed: int | None = 0, stop_factor: float = 4.0,
                  loss: str | keras.losses.Loss = "sparse_categorical_crossentropy",
                  progress: bool = True) -> RangeTestResult:
    """Train a fresh ``model()`` for up to ``steps`` batches while the learning rate grows
    exponentially from ``start`` to ``stop``. Stops early once the smoothed loss exceeds
    ``stop_factor`` times its lowest value (or is no longer finite): the rates beyond are useless.

    ``model`` builds the model (as in ``train``); ``optimizer`` is a Keras optimizer name or a fresh
    optimizer instance (e.g. ``keras.optimizers.SGD(momentum=0.9)``), whose rate the test sets;
    ``loss`` the loss to train with (for one-hot labels, ``"categorical_crossentropy"``).
    The model is thrown away afterwards: the test only measures. ``seed`` seeds Python, NumPy and the
    backend before building (as ``train`` does); ``None`` builds without touching the global random state.
    """
    if not 0 < start < stop:
        raise ValueError(f"need 0 < start < stop, got start={start}, stop={stop}.")
    if steps < 10:
        raise ValueError(f"steps={steps} is too few to draw a curve; use at least 10 (100 is typical).")
    if len(x) != len(y) or len(x) < batch_size:
        raise ValueError(f"need matching x and y with at least batch_size={batch_size} images, "
                         f"got {len(x)} images and {len(y)} labels.")
    built = model() if seed is None else seeded_build(model, seed)
    built.compile(optimizer=make_optimizer(optimizer, start), loss=loss)
    rates = np.geomspace(start, stop, steps)
    rng = np.random.default_rng(0 if seed is None else seed)
    order = rng.permutation(len(x))
    batches_per_pass = len(x) // batch_size
    losses = []
    for step, rate in enumerate(tqdm(rates, desc="range test", unit="batch", disable=not progress,
                                     leave=False)):
        if step and step % batches_per_pass == 0:
            order = rng.permutation(len(x))
        batch = order[(step % batches_per_pass) * batch_size:][:batch_size]
        built.optimizer.learning_rate.assign(rate)
        losses.append(float(built.train_on_batch(x[batch], y[batch], return_dict=True)["loss"]))
        smooth = RangeTestResult(rates[:step + 1], np.array(losses)).smoothed()
        if not np.isfinite(smooth[-1]) or (step >= 10 and smooth[-1] > stop_factor * smooth.min()):
            break
    # The batch that blew up (a NaN or infinite loss) measures nothing and would make the smoothed
    # curve end in NaN, where np.argmin would pick it as the "lowest" point: keep the finite part.
    kept = len(losses) if np.isfinite(losses[-1]) else len(losses) - 1
    return RangeTestResult(rates[:kept], np.array(losses[:kept]))
