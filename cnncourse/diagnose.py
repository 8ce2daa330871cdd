"""Name what is wrong with a learner's own training run.

- :func:`diagnose` looks at a compiled model and the arrays you would pass to ``fit``, before
  training, and reports what it finds, most likely cause first, with the evidence and the lesson
  to read: first the probes that need no training, then a learning-rate range test and a short run
  on copies of the model. ``benchmarks/diagnose.py`` measures how often its top finding is right.
- :class:`Monitor` is a Keras callback for your own ``model.fit``: it watches the run and warns,
  once per problem, with the lesson that explains it.

Neither changes your model or your arrays.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import keras
import numpy as np
from tqdm.auto import tqdm

from cnncourse.depth import gradient_rms
from cnncourse.lr_range import lr_range_test
from cnncourse.probes import _call_in_batches, first_conv_input
from cnncourse.sanity import _require_compiled, check_pair, class_indices, expected_initial_loss


@dataclass(frozen=True)
class Finding:
    code: str       # one of DIAGNOSE_CODES or MONITOR_CODES
    message: str    # what was seen, with the numbers
    lesson: str     # where to read about it
    evidence: dict = field(default_factory=dict)  # the numbers that led to it

    def __str__(self) -> str:
        return f"⚠️ [{self.code}] {self.message} Read: {self.lesson}."


DIAGNOSE_CODES = {
    "loss_output_mismatch": "lesson 06 (stuck at chance: the loss, the labels and the pipeline)",
    "unscaled_inputs": "lesson 03 (unnormalized pixels)",
    "validation_mismatch": "lesson 06 (a validation set unlike the training set)",
    "class_imbalance": "lesson 02 (class imbalance)",
    "vanishing_gradients": "lesson 08 (too deep to train)",
    "too_little_data": "lesson 01 (too little data)",
    "learning_rate_too_high": "lesson 04 (a bad learning rate)",
    "learning_rate_too_low": "lesson 04 (a bad learning rate)",
    "labels_misaligned": "lesson 06 (labels that do not belong to their images)",
    "label_noise": "lesson 07 (noisy labels)",
}
# Most likely cause of a stuck run first; the first three make the probes that train meaningless.
PRIORITY = ["loss_output_mismatch", "unscaled_inputs", "vanishing_gradients", "labels_misaligned",
            "learning_rate_too_high", "learning_rate_too_low", "validation_mismatch", "label_noise",
            "class_imbalance", "too_little_data"]
BLOCKING = PRIORITY[:3]
TRAINING_PROBES = ("gradient per layer", "learning-rate range test", "a short run")
MIN_PER_CLASS = 100          # fewer training images per class than this: too little data (lesson 01)
IMBALANCE_RATIO = 5          # largest class this many times the smallest: imbalance (lesson 02)
VANISHING_RATIO = 1e-4       # first layer's gradient below this share of the last layer's (lesson 08)
UNSCALED_MAX = 10            # values above this reach the first convolution: unscaled pixels (lesson 03)
TOO_HIGH = 3                 # learning rate this many times above the range test's lowest point (lesson 04)
TOO_LOW = 100                # ... or this many times below it
CHANCE_MARGIN = 0.05         # a short run within this of chance has learned nothing
NOISE_GAP = 0.08             # held-out training labels matched this much less often than validation labels
NOISE_SHARE = 0.2            # ... or half as much less, and less than (1 - this) times as often
MIN_HELD_OUT = 500           # fewer held-out training images than this cannot show noise or a mismatch
MIN_STEPS = 150              # the short run trains for at least this many batches, however few the images


@dataclass
class Report:
    """What :func:`diagnose` found, most likely cause first. ``codes`` is ``[]`` when nothing was found."""
    findings: list[Finding]
    probed: list[str]  # what was looked at

    @property
    def codes(self) -> list[str]:
        return [finding.code for finding in self.findings]

    def __str__(self) -> str:
        if not self.findings:
            return f"No problem found. Checked: {', '.join(self.probed)}."
        return "\n".join(str(finding) for finding in self.findings)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        if not self.findings:
            return f"<p>✅ No problem found. Checked: {html.escape(', '.join(self.probed))}.</p>"
        rows = "".join(f"<tr><td><code>{html.escape(f.code)}</code></td><td>{html.escape(f.message)}</td>"
                       f"<td>{html.escape(f.lesson)}</td></tr>" for f in self.findings)
        return ("<table><thead><tr><th>finding</th><th>evidence</th><th>read</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>")


def _loss_kind(loss) -> tuple[str, bool]:
    """("sparse", "categorical", "binary" or "other"; from_logits) of a compiled Keras loss."""
    config = loss.get_config() if hasattr(loss, "get_config") else {}
    name = (loss if isinstance(loss, str) else getattr(loss, "name", None) or type(loss).__name__).lower()
    if "sparse" in name:
        kind = "sparse"
    elif "binary" in name:
        kind = "binary"
    elif "categorical" in name:
        kind = "categorical"
    else:
        kind = "other"
    return kind, bool(config.get("from_logits", False))


def _output_activation(model: keras.Model) -> str:
    activation = getattr(model.layers[-1], "activation", None)
    return getattr(activation, "__name__", "unknown")


def _check_inputs(model, x, y, validation_data) -> tuple[np.ndarray, int]:
    _require_compiled(model)
    check_pair(x, y)
    if np.ndim(x) != 4:
        raise ValueError(f"diagnose() is for image classifiers: x should have shape (images, height, width, "
                         f"channels), got {np.shape(x)}.")
    num_classes = int(model.outputs[0].shape[-1])
    labels = class_indices(y)
    if labels.min() < 0 or labels.max() >= max(num_classes, 2):
        raise ValueError(f"labels run from {labels.min()} to {labels.max()}, but the model has {num_classes} "
                         f"outputs: labels must be class indices 0..{num_classes - 1}.")
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ValueError("validation_data should be a pair (x_val, y_val), as for fit().")
        check_pair(*validation_data)
    return labels, num_classes


def _loss_output_findings(model, x, y, labels, num_classes) -> list[Finding]:
    kind, from_logits = _loss_kind(model.loss)
    activation = _output_activation(model)
    one_hot = np.ndim(y) == 2 and np.shape(y)[1] > 1
    problems = []
    if from_logits and activation == "softmax":
        problems.append("the last layer applies softmax, but the loss expects logits (from_logits=True)")
    if not from_logits and activation == "linear" and kind in ("sparse", "categorical"):
        problems.append("the last layer has no activation (logits), but the loss expects probabilities "
                        "(from_logits=False)")
    if kind == "categorical" and not one_hot:
        problems.append("categorical_crossentropy expects one-hot labels, but the labels are class indices "
                        "(use sparse_categorical_crossentropy)")
    if kind == "sparse" and one_hot:
        problems.append("sparse_categorical_crossentropy expects class indices, but the labels are one-hot")
    if kind == "binary" and num_classes > 2:
        problems.append(f"binary_crossentropy on {num_classes} classes treats each output as a yes/no question")
    if not problems:
        return []
    sample = slice(0, min(len(x), 256))
    expected = expected_initial_loss(max(num_classes, 2))
    try:
        loss = float(model.compute_loss(x=None, y=np.asarray(y[sample]),
                                        y_pred=model(np.asarray(x[sample], dtype="float32"), training=False)))
        seen = f"Loss before training: {loss:.3g} (a uniform guess: ln {num_classes} = {expected:.2f})."
    except ValueError as error:  # e.g. one-hot loss, integer labels: Keras refuses the shapes
        first_line = str(error).splitlines()[0][:160].rstrip(".")
        loss, seen = float("nan"), f"Keras cannot even compute the loss: {first_line}."
    return [Finding("loss_output_mismatch", "; ".join(problems) + ". " + seen, DIAGNOSE_CODES["loss_output_mismatch"],
                    {"activation": activation, "loss": kind, "from_logits": from_logits,
                     "initial_loss": loss, "ln_k": expected})]


def _input_findings(model, x) -> list[Finding]:
    try:
        reaching = first_conv_input(model, np.asarray(x[:256]))
    except ValueError:  # no convolution: look at the input itself
        reaching = np.asarray(x[:256], dtype="float32")
    largest = float(np.max(np.abs(reaching)))
    if largest <= UNSCALED_MAX:
        return []
    return [Finding("unscaled_inputs", f"values up to {largest:.0f} reach the first convolution: the pixels are "
                    "not scaled (add layers.Rescaling(1 / 255) or a Normalization layer to the model).",
                    DIAGNOSE_CODES["unscaled_inputs"], {"largest_input": largest})]


def _label_findings(labels, num_classes, validation_data) -> list[Finding]:
    findings = []
    counts = np.bincount(labels, minlength=num_classes)
    present = counts[counts > 0]
    if validation_data is not None:
        val_labels = class_indices(validation_data[1])
        val_counts = np.bincount(val_labels, minlength=num_classes)
        train_share, val_share = counts / counts.sum(), val_counts / val_counts.sum()
        distance = 0.5 * float(np.abs(train_share - val_share).sum())
        missing = [int(c) for c in np.flatnonzero((val_counts == 0) & (train_share >= 0.02))]
        unseen = [int(c) for c in np.flatnonzero((val_counts > 0) & (counts == 0))]
        if missing or unseen:  # an imbalanced training set with a balanced validation set is no mismatch
            findings.append(Finding(
                "validation_mismatch", f"classes {missing} are in the training labels but not in validation, "
                f"classes {unseen} in validation but never in training (total variation distance {distance:.2f}). A "
                "validation_split of data sorted by class does this: shuffle first, or split stratified.",
                DIAGNOSE_CODES["validation_mismatch"], {"distance": distance, "missing": missing, "unseen": unseen}))
    if len(present) >= 2 and present.max() >= IMBALANCE_RATIO * present.min():
        findings.append(Finding(
            "class_imbalance", f"the largest class has {present.max()} training images, the smallest "
            f"{present.min()} ({present.max() / present.min():.0f} times fewer).", DIAGNOSE_CODES["class_imbalance"],
            {"largest": int(present.max()), "smallest": int(present.min())}))
    if counts.max() and np.median(present) < MIN_PER_CLASS:
        findings.append(Finding(
            "too_little_data", f"about {int(np.median(present))} training images per class (median): expect "
            "overfitting; see how accuracy grows with the data.", DIAGNOSE_CODES["too_little_data"],
            {"median_per_class": float(np.median(present))}))
    return findings


def _gradient_findings(model, x, y, batch_size) -> list[Finding]:
    n = min(len(x), max(batch_size, 64))
    rms = gradient_rms(model, x[:n], y[:n])
    ratio = float(rms.iloc[0] / rms.iloc[-1]) if rms.iloc[-1] > 0 else float("nan")
    if not ratio < VANISHING_RATIO:
        return []
    return [Finding("vanishing_gradients", f"the first layer ({rms.index[0]}) gets {ratio:.0e} of the last layer's "
                    "gradient: it cannot learn.", DIAGNOSE_CODES["vanishing_gradients"], {"first_to_last": ratio})]


def _copy(model: keras.Model, learning_rate: float | None = None) -> keras.Model:
    """A compiled copy of ``model`` with the same weights, loss and kind of optimizer (a fresh one)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    config = model.optimizer.get_config()
    if learning_rate is not None or isinstance(config.get("learning_rate"), dict):
        config["learning_rate"] = learning_rate if learning_rate is not None else _learning_rate(model)
    copy.compile(optimizer=type(model.optimizer).from_config(config), loss=model.loss)
    return copy


def _learning_rate(model: keras.Model) -> float:
    """The learner's learning rate (a schedule's rate at step 0)."""
    rate = model.optimizer.learning_rate
    if callable(rate) and not hasattr(rate, "numpy"):
        rate = rate(0)
    return float(keras.ops.convert_to_numpy(rate))


def _learning_rate_findings(model, x, y, batch_size, found: dict) -> list[Finding]:
    """Compare the learner's rate with a range test's; leave its suggested rate in ``found["rate"]``."""
    rate = _learning_rate(model)
    optimizer = type(model.optimizer).from_config({**model.optimizer.get_config(), "learning_rate": 1e-6})
    result = lr_range_test(lambda: _copy(model), x, y, start=1e-6, stop=10.0, steps=100, batch_size=batch_size,
                           optimizer=optimizer, loss=model.loss, progress=False)
    lowest = result.lowest_loss_rate
    found["rate"] = rate if lowest / TOO_LOW <= rate <= TOO_HIGH * lowest else result.suggestion()
    found["suggestion"] = result.suggestion()
    evidence = {"learning_rate": rate, "lowest_loss_rate": lowest}
    if rate > TOO_HIGH * lowest:
        return [Finding("learning_rate_too_high", f"the learning rate {rate:.2g} is {rate / lowest:.0f} times the "
                        f"rate at the lowest point of a range test ({lowest:.2g}); start 3 to 10 times below that "
                        "point.", DIAGNOSE_CODES["learning_rate_too_high"], evidence)]
    if rate < lowest / TOO_LOW:
        return [Finding("learning_rate_too_low", f"the learning rate {rate:.2g} is {lowest / rate:.0f} times below the "
                        f"rate at the lowest point of a range test ({lowest:.2g}): the steps are too small to "
                        "learn; start 3 to 10 times below that point.", DIAGNOSE_CODES["learning_rate_too_low"],
                        evidence)]
    return []


def _balanced_match(model, images, given) -> float:
    """How often ``model`` predicts the ``given`` labels, balanced (the mean over classes of the share matched), so
    that an imbalanced training set, whose majority classes a model favours, compares fairly with a balanced
    validation set."""
    predicted = np.argmax(_call_in_batches(model, images, 500), axis=1)
    return float(np.mean([np.mean(predicted[given == c] == c) for c in np.unique(given)]))


def _short_run_findings(model, x, y, labels, num_classes, validation_data, batch_size, epochs,
                        rate, suggestion=None) -> list[Finding]:
    """Train a copy briefly (at ``rate``, a learning rate that learns) on 80 % of the training images;
    compare how often (class-balanced) its predictions match the held-out 20 %'s labels and the validation
    labels. A copy that learns nothing at ``rate`` is trained again at the range test's ``suggestion``:
    if that one learns, ``rate`` was too high after all."""
    order = np.random.default_rng(0).permutation(len(x))
    cut = int(0.8 * len(x))
    fit_on, held_out = order[:cut], order[cut:]
    epochs = max(epochs, math.ceil(MIN_STEPS / math.ceil(len(fit_on) / batch_size)))
    x_val, y_val = validation_data
    chance = 1 / num_classes

    def matches(learning_rate):
        copy = _copy(model, learning_rate)
        copy.fit(x[fit_on], y[fit_on], epochs=epochs, batch_size=batch_size, verbose=0)
        return _balanced_match(copy, x[held_out], labels[held_out]), _balanced_match(copy, x_val, class_indices(y_val))

    def at_chance(held, val):
        return held <= chance + CHANCE_MARGIN and val <= chance + CHANCE_MARGIN

    held, val = matches(rate)
    if at_chance(held, val) and suggestion is not None and suggestion < rate / 2:
        retried = matches(suggestion)
        if not at_chance(*retried):
            return [Finding("learning_rate_too_high", f"a copy trained at your learning rate {rate:.2g} for {epochs} "
                            f"epochs learned nothing (it matches held-out training labels {held:.0%} of the time, "
                            f"chance is {chance:.0%}); at {suggestion:.2g} it matches {retried[0]:.0%}. Lower the "
                            "learning rate.", DIAGNOSE_CODES["learning_rate_too_high"],
                            {"learning_rate": rate, "held_out_training_labels": held, "lower_rate": suggestion,
                             "held_out_at_lower_rate": retried[0]})]
        held, val = retried
    evidence = {"held_out_training_labels": held, "validation_labels": val, "chance": chance, "epochs": epochs}
    if at_chance(held, val):
        return [Finding("labels_misaligned", f"after {epochs} epochs a copy of the model matches the labels of "
                        f"held-out training images {held:.0%} of the time and validation labels {val:.0%}: chance "
                        f"is {chance:.0%}. Nothing learnable connects these images to these labels: check that "
                        "images and labels were shuffled or filtered together.", DIAGNOSE_CODES["labels_misaligned"],
                        evidence)]
    if len(held_out) < MIN_HELD_OUT:
        return []  # too few held-out images to tell a few points of difference from chance
    if val - held >= NOISE_GAP or (val - held >= NOISE_GAP / 2 and held < (1 - NOISE_SHARE) * val):
        estimate = 1 - held / val if val > 0 else float("nan")
        return [Finding("label_noise", f"a copy of the model trained briefly matches the validation labels {val:.0%} "
                        f"of the time but held-out training labels only {held:.0%}: about {estimate:.0%} of the "
                        "training labels look wrong (if the validation labels are right).",
                        DIAGNOSE_CODES["label_noise"], {**evidence, "noise_estimate": estimate})]
    if held - val >= 2 * NOISE_GAP:
        return [Finding("validation_mismatch", f"a copy of the model trained briefly matches held-out training labels "
                        f"{held:.0%} of the time but validation labels only {val:.0%}: the validation set is unlike "
                        "the training set (other classes, other scaling, or labels that do not match).",
                        DIAGNOSE_CODES["validation_mismatch"], evidence)]
    return []


def diagnose(model: keras.Model, x: np.ndarray, y: np.ndarray, validation_data: tuple | None = None,
             batch_size: int = 64, max_images: int = 5000, epochs: int = 2, progress: bool = True) -> Report:
    """Look for what would keep ``model`` from learning on ``(x, y)``, before training.

    ``model`` is your compiled model (your loss, output activation, optimizer); ``x``, ``y`` and
    ``validation_data`` are what you would pass to ``fit``: uint8 or float images, integer or one-hot
    labels. Returns a :class:`Report`: ``report.codes`` (most likely cause first; ``[]`` when nothing is
    found) and ``report.findings`` (each with ``.code``, ``.message``, ``.evidence`` and ``.lesson``).
    It shows as a table in a notebook.

    Besides probes that need no training, it trains copies of your model briefly: a learning-rate range
    test (100 batches) and, with ``validation_data``, ``epochs`` epochs on 80 % of at most ``max_images``
    training images, whose predictions on the other 20 % and on the validation images reveal labels that do
    not belong to their images or noisy labels. Your model, its optimizer and your arrays stay as they are.
    """
    labels, num_classes = _check_inputs(model, x, y, validation_data)
    if len(x) > max_images:  # a random subset keeps the time bounded
        keep = np.sort(np.random.default_rng(0).choice(len(x), max_images, replace=False))
        x_probe, y_probe, labels_probe = x[keep], y[keep], labels[keep]
    else:
        x_probe, y_probe, labels_probe = x, y, labels
    found: dict = {}  # what one probe leaves for the next: the learning rate the short run trains with
    probes = [("loss and output layer", lambda: _loss_output_findings(model, x, y, labels, num_classes)),
              ("input scaling", lambda: _input_findings(model, x)),
              ("labels of training and validation", lambda: _label_findings(labels, num_classes, validation_data)),
              ("gradient per layer", lambda: _gradient_findings(model, x, y, batch_size)),
              ("learning-rate range test",
               lambda: _learning_rate_findings(model, x_probe, y_probe, batch_size, found))]
    if validation_data is not None:
        probes.append(("a short run", lambda: _short_run_findings(model, x_probe, y_probe, labels_probe, num_classes,
                                                                 validation_data, batch_size, epochs,
                                                                 found.get("rate"), found.get("suggestion"))))
    findings, probed = [], []
    for name, probe in tqdm(probes, desc="diagnose", unit="probe", disable=not progress, leave=False):
        if name in TRAINING_PROBES and any(f.code in BLOCKING for f in findings):
            continue  # a broken pipeline makes these probes' signals meaningless: fix what was found first
        findings.extend(probe())
        probed.append(name)
    first_of_each = list({f.code: f for f in reversed(findings)}.values())[::-1]  # one finding per code
    return Report(sorted(first_of_each, key=lambda f: PRIORITY.index(f.code)), probed)


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
