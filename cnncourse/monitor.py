"""A Keras callback for your own ``fit`` that warns, once per problem, with the lesson to read.

It runs inside your training run, so it never stops it: if one of its own checks fails on your model,
it says so once and stops watching, and ``fit`` goes on.
"""
from __future__ import annotations

import math
import warnings

import keras
import numpy as np

from cnncourse.depth import gradient_rms
from cnncourse.findings import Finding
from cnncourse.fit_data import read_one

MONITOR_CODES = {
    "nonfinite_loss": "lesson 04 (a learning rate too high) or 03 (unscaled inputs)",
    "initial_loss": "lesson 06 (loss and output do not match) or 03 (unscaled inputs)",
    "at_chance": "lesson 06 (stuck at chance), 08 (vanishing gradients) or 04 (learning rate)",
    "one_class": "lesson 03 (unscaled inputs), 02 (class imbalance) or 06",
    "overfitting": "lesson 05 (overfitting), 01 (too little data) or 07 (noisy labels)",
    "vanishing_gradients": "lesson 08 (too deep to train)",
    "exploding_gradients": "lesson 04 (a bad learning rate)",
}
PROBE_IMAGES = 256


class Monitor(keras.callbacks.Callback):
    """Warn during ``fit``, once per problem, with the lesson to read::

        monitor = Monitor(x_val[:256], y_val[:256])      # or Monitor(val_ds): a dataset of (images, labels)
        model.fit(x, y, validation_data=(x_val, y_val), epochs=10, callbacks=[monitor])
        monitor.findings  # what it warned about

    After every epoch it reads the loss and accuracy Keras reports: a NaN or infinite loss, accuracy at
    chance for ``chance_epochs`` epochs, validation loss rising for ``rising_epochs`` epochs while training
    loss falls. With ``x_probe`` (a few hundred images, or a dataset, PyDataset or generator of batches: it
    reads at most 256 images) it also checks that the model does not predict one class for nearly all of
    them; with labels (``y_probe``, or the dataset's), the loss before training (it should be near ln K, a
    uniform guess over K classes) and, after the first epoch, how much gradient reaches the first layer
    compared with the last (``depth.gradient_rms``).
    """

    def __init__(self, x_probe=None, y_probe=None, *, chance_epochs: int = 2, rising_epochs: int = 2,
                 verbose: bool = True):
        super().__init__()
        if y_probe is not None and x_probe is None:
            raise ValueError("y_probe needs x_probe: give the images and their labels.")
        if chance_epochs < 1 or rising_epochs < 1:
            raise ValueError(f"chance_epochs and rising_epochs must be at least 1, got {chance_epochs} and "
                             f"{rising_epochs}.")
        self.x_probe = self.y_probe = None
        if x_probe is not None:
            labelled = y_probe is not None or not (hasattr(x_probe, "shape") or isinstance(x_probe, (list, tuple)))
            if labelled:
                sample = read_one(x_probe, y_probe, shuffle=False, max_images=PROBE_IMAGES, what="x_probe")
                for note in sample.notes:
                    warnings.warn(note, stacklevel=2)
                self.x_probe, self.y_probe = sample.x, sample.y
            else:
                self.x_probe = np.asarray(x_probe)
            if np.ndim(self.y_probe) == 2 and np.shape(self.y_probe)[1] == 1:
                self.y_probe = self.y_probe[:, 0]
        self.chance_epochs, self.rising_epochs, self.verbose = chance_epochs, rising_epochs, verbose
        self.findings: list[Finding] = []
        self.disabled = False
        self._epoch_logs: list[dict] = []

    @property
    def codes(self) -> list[str]:
        return [finding.code for finding in self.findings]

    def _warn(self, code: str, message: str) -> None:
        if code in self.codes:
            return
        finding = Finding(code, message, MONITOR_CODES[code])
        self.findings.append(finding)
        if self.verbose:
            print(finding, flush=True)

    def _guarded(self, check, *args) -> None:
        """Run one of the checks; if it fails on this model, say so once and stop watching (fit goes on)."""
        if self.disabled:
            return
        try:
            check(*args)
        except Exception as error:  # noqa: BLE001 - a callback must never end the learner's run
            self.disabled = True
            warnings.warn(f"Monitor stopped watching this run: its check {check.__name__.strip('_')} failed on this "
                          f"model ({type(error).__name__}: {str(error)[:160]}). Your training goes on.", stacklevel=2)

    def _num_classes(self) -> int | None:
        outputs = getattr(self.model, "outputs", None)
        units = outputs[0].shape[-1] if outputs else None
        return None if units is None else max(int(units), 2)

    def on_train_begin(self, logs=None):
        self.findings, self._epoch_logs, self.disabled = [], [], False
        if self.y_probe is not None:
            self._guarded(self._check_initial_loss)

    def _check_initial_loss(self) -> None:
        # Before the first update, on the probe; not from the batch logs, because a callback with a batch hook
        # makes Keras wait for every batch's logs, which slows fit by several per cent.
        loss_fn = keras.losses.get(getattr(self.model, "loss", None) or "sparse_categorical_crossentropy")
        outputs = self.model(np.asarray(self.x_probe, dtype="float32"), training=False)
        loss = float(keras.ops.mean(loss_fn(self.y_probe, outputs)))
        classes = max(int(outputs.shape[-1]), 2)
        expected = math.log(classes)
        if math.isfinite(loss) and not 0.5 * expected <= loss <= 2 * expected:
            self._warn("initial_loss", f"before training, the loss on the probe images is {loss:.3g}; a model that "
                                       f"guesses uniformly starts near ln {classes} = {expected:.2f}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._guarded(self._check_epoch, epoch, dict(logs or {}))

    def _check_epoch(self, epoch: int, logs: dict) -> None:
        self._epoch_logs.append(logs)
        if "loss" in logs and not math.isfinite(logs["loss"]):
            self._warn("nonfinite_loss", f"the training loss is {logs['loss']} after epoch {epoch + 1}: training blew "
                                         "up, and the weights are lost.")
            return
        classes = self._num_classes()
        recent = self._epoch_logs[-self.chance_epochs:]
        if classes and len(recent) == self.chance_epochs and all(
                "accuracy" in entry and abs(entry["accuracy"] - 1 / classes) < 0.02 for entry in recent):
            self._warn("at_chance", f"training accuracy has stayed at chance ({1 / classes:.0%}) for "
                                    f"{self.chance_epochs} epochs: the model learns nothing.")
        window = self._epoch_logs[-(self.rising_epochs + 1):]
        if len(window) == self.rising_epochs + 1 and all("val_loss" in entry and "loss" in entry for entry in window):
            val = [entry["val_loss"] for entry in window]
            train = [entry["loss"] for entry in window]
            if all(b > a for a, b in zip(val, val[1:])) and all(b < a for a, b in zip(train, train[1:])):
                self._warn("overfitting", f"validation loss has risen for {self.rising_epochs} epochs ({val[0]:.3f} → "
                                          f"{val[-1]:.3f}) while training loss fell: the model is learning its "
                                          "training images by heart.")
        if self.x_probe is not None:
            self._check_predictions()
        if self.y_probe is not None and epoch == 0:
            self._check_gradients()

    def _check_predictions(self) -> None:
        outputs = keras.ops.convert_to_numpy(self.model(np.asarray(self.x_probe, dtype="float32"), training=False))
        if outputs.ndim != 2 or outputs.shape[1] < 2:
            return
        counts = np.bincount(np.argmax(outputs, axis=1), minlength=outputs.shape[1])
        if counts.max() >= 0.9 * len(outputs):
            self._warn("one_class", f"the model predicts class {int(np.argmax(counts))} for {counts.max()} of "
                                    f"{len(outputs)} probe images.")

    def _check_gradients(self) -> None:
        # In batches of 64: the learner's run keeps its memory; a whole probe of hundreds of images in one
        # recorded pass would hold every layer's activations for all of them at once.
        rms = gradient_rms(self.model, self.x_probe, self.y_probe, loss=self.model.loss, batch_size=64)
        if not np.all(np.isfinite(rms.values)):
            self._warn("exploding_gradients", "some gradients are NaN or infinite after the first epoch.")
        elif rms.iloc[-1] > 0 and rms.iloc[0] / rms.iloc[-1] < 1e-4:
            self._warn("vanishing_gradients", f"the first layer ({rms.index[0]}) gets {rms.iloc[0] / rms.iloc[-1]:.0e} "
                                              f"of the last layer's gradient: it cannot learn.")
