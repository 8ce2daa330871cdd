"""Name what is wrong with a learner's own training run.

``Monitor`` is a Keras callback for your own ``model.fit``: it watches the run and warns, once per
problem, with the lesson that explains it. (``diagnose``, which probes a compiled model before
training, is still to come: issue #18.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np

from cnncourse.depth import gradient_rms
from cnncourse.sanity import check_pair, class_indices


@dataclass(frozen=True)
class Finding:
    code: str       # one of MONITOR_CODES
    message: str    # what was seen, with the numbers
    lesson: str     # where to read about it

    def __str__(self) -> str:
        return f"⚠️ [{self.code}] {self.message} Read: {self.lesson}."


MONITOR_CODES = {
    "nonfinite_loss": "lesson 04 (a learning rate too high) or 03 (unscaled inputs)",
    "initial_loss": "lesson 06 (loss and output do not match) or 03 (unscaled inputs)",
    "at_chance": "lesson 06 (stuck at chance), 08 (vanishing gradients) or 04 (learning rate)",
    "one_class": "lesson 03 (unscaled inputs), 02 (class imbalance) or 06",
    "overfitting": "lesson 05 (overfitting), 01 (too little data) or 07 (noisy labels)",
    "vanishing_gradients": "lesson 08 (too deep to train)",
    "exploding_gradients": "lesson 04 (a bad learning rate)",
}


class Monitor(keras.callbacks.Callback):
    """Warn during ``fit``, once per problem, with the lesson to read::

        monitor = Monitor(x_probe=x_val[:256], y_probe=y_val[:256])
        model.fit(x, y, validation_data=(x_val, y_val), epochs=10, callbacks=[monitor])
        monitor.findings  # what it warned about

    After every epoch it reads the loss and accuracy Keras reports: a NaN or infinite loss, accuracy at
    chance for ``chance_epochs`` epochs, validation loss rising for ``rising_epochs`` epochs while training
    loss falls. With ``x_probe`` (a few hundred images) it also checks that the model does not predict one
    class for nearly all of them; with ``y_probe`` too, the loss before training (it should be near ln K,
    a uniform guess over K classes) and, after the first epoch, how much gradient reaches the first layer
    compared with the last (``depth.gradient_rms``).
    """

    def __init__(self, x_probe: np.ndarray | None = None, y_probe: np.ndarray | None = None, *,
                 chance_epochs: int = 2, rising_epochs: int = 2, verbose: bool = True):
        super().__init__()
        if y_probe is not None and x_probe is None:
            raise ValueError("y_probe needs x_probe: give the images and their labels.")
        if x_probe is not None and y_probe is not None:
            check_pair(x_probe, y_probe)
        if chance_epochs < 1 or rising_epochs < 1:
            raise ValueError(f"chance_epochs and rising_epochs must be at least 1, got {chance_epochs} and "
                             f"{rising_epochs}.")
        self.x_probe = None if x_probe is None else np.asarray(x_probe)
        self.y_probe = None if y_probe is None else class_indices(y_probe) if np.ndim(y_probe) == 1 else y_probe
        self.chance_epochs, self.rising_epochs, self.verbose = chance_epochs, rising_epochs, verbose
        self.findings: list[Finding] = []
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

    def _num_classes(self) -> int:
        return int(self.model.outputs[0].shape[-1])

    def on_train_begin(self, logs=None):
        self.findings, self._epoch_logs = [], []
        if self.y_probe is not None:
            self._check_initial_loss()

    def _check_initial_loss(self) -> None:
        # Before the first update, on the probe; not from the batch logs, because a callback with a batch hook
        # makes Keras wait for every batch's logs, which slows fit by several per cent.
        loss_fn = keras.losses.get(getattr(self.model, "loss", None) or "sparse_categorical_crossentropy")
        loss = float(keras.ops.mean(loss_fn(self.y_probe, self.model(self.x_probe, training=False))))
        expected = math.log(self._num_classes())
        if math.isfinite(loss) and not 0.5 * expected <= loss <= 2 * expected:
            self._warn("initial_loss", f"before training, the loss on the probe images is {loss:.3g}; a model that "
                                       f"guesses uniformly starts near ln {self._num_classes()} = {expected:.2f}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = dict(logs or {})
        self._epoch_logs.append(logs)
        if "loss" in logs and not math.isfinite(logs["loss"]):
            self._warn("nonfinite_loss", f"the training loss is {logs['loss']} after epoch {epoch + 1}: training blew "
                                         "up, and the weights are lost.")
            return
        chance = 1 / self._num_classes()
        recent = self._epoch_logs[-self.chance_epochs:]
        if len(recent) == self.chance_epochs and all("accuracy" in entry and abs(entry["accuracy"] - chance) < 0.02
                                                     for entry in recent):
            self._warn("at_chance", f"training accuracy has stayed at chance ({chance:.0%}) for {self.chance_epochs} "
                                    "epochs: the model learns nothing.")
        window = self._epoch_logs[-(self.rising_epochs + 1):]
        if len(window) == self.rising_epochs + 1 and all("val_loss" in entry for entry in window):
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
        outputs = keras.ops.convert_to_numpy(self.model(self.x_probe, training=False))
        if outputs.ndim != 2 or outputs.shape[1] < 2:
            return
        counts = np.bincount(np.argmax(outputs, axis=1), minlength=outputs.shape[1])
        if counts.max() >= 0.9 * len(outputs):
            self._warn("one_class", f"the model predicts class {int(np.argmax(counts))} for {counts.max()} of "
                                    f"{len(outputs)} probe images.")

    def _check_gradients(self) -> None:
        rms = gradient_rms(self.model, self.x_probe, self.y_probe, loss=self.model.loss)
        if not np.all(np.isfinite(rms.values)):
            self._warn("exploding_gradients", "some gradients are NaN or infinite after the first epoch.")
        elif rms.iloc[-1] > 0 and rms.iloc[0] / rms.iloc[-1] < 1e-4:
            self._warn("vanishing_gradients", f"the first layer ({rms.index[0]}) gets {rms.iloc[0] / rms.iloc[-1]:.0e} "
                                              f"of the last layer's gradient: it cannot learn.")
