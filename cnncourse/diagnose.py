"""Name what is wrong with a learner's own training run.

:func:`diagnose` takes a compiled, untrained model and exactly what you would pass to ``fit``
(arrays, a ``tf.data.Dataset``, ``image_dataset_from_directory``'s output, a ``PyDataset``, a
generator; ``validation_split=``, ``shuffle=`` ...) and reports what would keep it from learning, most
likely cause first, each with its evidence and the lesson to read. It reads a bounded sample of the data
(``cnncourse.fit_data``), looks at the model and the data without training, then trains copies of the
model briefly: a learning-rate range test and a short run. ``benchmarks/diagnose.py`` measures how
often its top finding is right. :class:`Monitor` (``cnncourse.monitor``) warns during your own ``fit``.

Neither changes your model, its optimizer, your data or the global random state, and neither stops
with an error from inside Keras: a probe that cannot run on your model says so in the report
(``report.notes``) and the others still run.

The codes, what each means and where to read about it: :data:`DIAGNOSE_CODES`.
"""
from __future__ import annotations

import html
import math
import random
from contextlib import contextmanager
from dataclasses import dataclass, field

import keras
import numpy as np
from tqdm.auto import tqdm

from cnncourse.depth import trainable_gradients
from cnncourse.findings import Finding
from cnncourse.fit_data import Sample, read_fit_data
from cnncourse.lr_range import lr_range_test
from cnncourse.monitor import MONITOR_CODES, Monitor  # noqa: F401 - imported from here since lesson 08
from cnncourse.probes import (
    EAGER_BATCH,
    call_in_batches,
    copy_model,
    first_called,
    first_layer_input,
    inputs_recorded,
    layer_input,
    statistics_kept,
    weight_layers,
)
from cnncourse.sanity import expected_initial_loss, require_compiled
from cnncourse.signatures import (
    batch_purity,
    input_shift,
    output_kind,
    pixel_order_correlations,
    shuffled_purity,
)

# The vocabulary: code -> where to read about it. Most likely cause of a stuck run first (PRIORITY).
DIAGNOSE_CODES = {
    "frozen_model": "lesson 11 (reusing a trained network: what is trainable)",
    "labels_not_class_indices": "lesson 06 (stuck at chance: the loss, the labels and the pipeline)",
    "loss_output_mismatch": "lesson 06 (stuck at chance: the loss, the labels and the pipeline)",
    "nonfinite_loss": "lesson 04 (a bad learning rate) and 03 (unnormalized pixels)",
    "unscaled_inputs": "lesson 03 (unnormalized pixels)",
    "inputs_scaled_twice": "lesson 03 (unnormalized pixels: the normalized-twice trap)",
    "preprocessing_mismatch": "lesson 10 (your own images: preprocessing that differs) and 11 (the backbone's "
                              "own preprocessing)",
    "scrambled_images": "lesson 10 (your own images: scrambled pixels)",
    "vanishing_gradients": "lesson 08 (too deep to train)",
    "over_regularization": "lesson 05 (overfitting: how much regularization)",
    "batchnorm_inference_gap": "lesson 08 (batch-norm statistics in training and inference)",
    "learning_rate_too_high": "lesson 04 (a bad learning rate)",
    "learning_rate_too_low": "lesson 04 (a bad learning rate)",
    "labels_misaligned": "lesson 06 (labels that do not belong to their images)",
    "unshuffled_data": "lesson 10 (your own images: unshuffled files)",
    "validation_mismatch": "lesson 06 (a validation set unlike the training set)",
    "label_noise": "lesson 07 (noisy labels)",
    "class_imbalance": "lesson 02 (class imbalance)",
    "too_little_data": "lesson 01 (too little data)",
}
PRIORITY = list(DIAGNOSE_CODES)
# With one of these, the probes that train measure nothing useful: fix it first.
BLOCKING = {"frozen_model", "labels_not_class_indices", "loss_output_mismatch", "nonfinite_loss", "unscaled_inputs",
            "inputs_scaled_twice", "vanishing_gradients"}
TRAINING_PROBES = ("gradient per layer", "learning-rate range test", "a short run")
PROBABILITY_LOSSES = ("sparse", "categorical", "binary")

MIN_PER_CLASS = 100          # fewer training images per class than this: too little data (lesson 01)
IMBALANCE_RATIO = 5          # largest class this many times the smallest: imbalance (lesson 02)
VANISHING_RATIO = 1e-4       # first layer's gradient below this share of the last layer's (lesson 08)
UNSCALED_MAX = 10            # values above this reach the first layer with weights: unscaled pixels (lesson 03)
SCALED_TWICE_STD = 0.03      # ... values that vary by less than this within a channel: scaled twice (pixels / 255:
                             # 0.25)
SHIFT_SCALE = 2.5            # validation inputs this many times wider or narrower than training's: mismatch
SHIFT_OFFSET = 1.0           # ... or their mean this many training standard deviations away
PRETRAINED_SHIFT = 3.0       # a trained BatchNormalization's input this many stored deviations off its stored mean
PRETRAINED_SPREAD = 1.8      # ... or this many times more (or less) spread than its stored deviation
SCRAMBLED = 0.5              # neighbouring pixels correlated less than this: not a photograph (photos: ~0.9)
UNSCRAMBLE_GAIN = 0.1        # ... or this much more once read as channels-first memory
PURE_BATCHES = 0.5           # batches whose most common class takes this share on average ...
PURITY_RATIO = 2             # ... this many times a shuffled pipeline's share: unshuffled
MIN_DIP = 0.01               # a range test whose smoothed loss never falls this share below its start judges no rate
REFERENCE_RATE = 1e-3        # Adam at this rate learns on most image classifiers: the short run's control
MOVED = 0.01                 # weights that moved less than this share of their size in the short run: steps too small
CHANCE_MARGIN = 0.05         # a short run within this of chance has learned nothing
REGULARIZATION_GAIN = 0.15   # a copy without dropout and L2 matches this much more of its own training labels
BATCHNORM_GAP = 0.1          # training mode matches this much more than inference mode: statistics not settled
NOISE_GAP = 0.08             # held-out training labels matched this much less often than validation labels
NOISE_SHARE = 0.2            # ... or half as much less, and less than (1 - this) times as often
MIN_HELD_OUT = 500           # fewer held-out training images than this cannot show noise or a mismatch
MIN_STEPS = 150              # the short run trains for at least this many batches, however few the images
PROBE_IMAGES = 256           # images for the probes that need no training


@dataclass
class Report:
    """What :func:`diagnose` found, most likely cause first. ``codes`` is ``[]`` when nothing was found;
    ``notes`` are what the probes could not do or only warn about."""
    findings: list[Finding]
    probed: list[str]                               # what was looked at
    notes: list[str] = field(default_factory=list)

    @property
    def codes(self) -> list[str]:
        return [finding.code for finding in self.findings]

    def __str__(self) -> str:
        lines = [str(f) for f in self.findings] or [f"No problem found. Checked: {', '.join(self.probed)}."]
        return "\n".join(lines + [f"ℹ️ {note}" for note in self.notes])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in self.notes)
        notes = f"<p>Notes:</p><ul>{notes}</ul>" if notes else ""
        if not self.findings:
            return f"<p>✅ No problem found. Checked: {html.escape(', '.join(self.probed))}.</p>{notes}"
        rows = "".join(f"<tr><td><code>{html.escape(f.code)}</code></td><td>{html.escape(f.message)}</td>"
                       f"<td>{html.escape(f.lesson)}</td></tr>" for f in self.findings)
        return ("<table><thead><tr><th>finding</th><th>evidence</th><th>read</th></tr></thead>"
                f"<tbody>{rows}</tbody></table>{notes}")


class Skipped(Exception):
    """A probe cannot run on this model or data; its message says why."""


def _finding(code: str, message: str, **evidence) -> Finding:
    return Finding(code, message, DIAGNOSE_CODES[code], evidence)


def loss_kind(loss) -> tuple[str, bool]:
    """("sparse", "categorical", "binary", "regression", "hinge" or "other"; from_logits) of a compiled Keras loss."""
    config = loss.get_config() if hasattr(loss, "get_config") else {}
    name = loss if isinstance(loss, str) else (getattr(loss, "name", None) or getattr(loss, "__name__", None)
                                               or type(loss).__name__)
    name = name.lower().replace("_", "")
    if "sparse" in name and "crossentropy" in name:
        kind = "sparse"
    elif "binary" in name and "crossentropy" in name or "binaryfocal" in name:
        kind = "binary"
    elif "categorical" in name and "crossentropy" in name or "categoricalfocal" in name:
        kind = "categorical"
    elif any(word in name for word in ("squared", "absolute", "mse", "mae", "huber", "logcosh", "poisson")):
        kind = "regression"
    elif "hinge" in name:
        kind = "hinge"
    else:
        kind = "other"
    return kind, bool(config.get("from_logits", False))


@dataclass
class _Run:
    """What the probes share: the model, the samples and what earlier probes left for later ones."""
    model: keras.Model
    train: Sample
    val: Sample | None
    batch_size: int
    epochs: int
    steps_per_epoch: int | None
    class_weight: dict | None
    outputs: np.ndarray = None                     # the model's outputs on the first training images
    num_outputs: int = 0
    labels: np.ndarray | None = None               # class indices of the training sample (None: not readable)
    val_labels: np.ndarray | None = None
    loss: str = "other"
    from_logits: bool = False
    notes: list[str] = field(default_factory=list)
    found: dict = field(default_factory=dict)      # e.g. the learning rate the short run trains with

    @property
    def num_classes(self) -> int:
        return max(self.num_outputs, 2)

    @property
    def chance(self) -> float:
        return 1 / self.num_classes


def _class_indices(y: np.ndarray) -> np.ndarray | None:
    """Class indices of labels, or None when they are not whole numbers."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    y = y.reshape(len(y))
    if y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y))):
        return None
    return y.astype("int64")


def _is_one_hot(y: np.ndarray) -> bool:
    return np.ndim(y) == 2 and np.shape(y)[1] > 1


def _prepare(run: _Run) -> list[Finding]:
    """Call the model on the sample, read the labels; bad input raises a clear error, the rest are findings."""
    try:
        run.outputs = call_in_batches(run.model, run.train.x[:PROBE_IMAGES])
    except Exception as error:  # noqa: BLE001 - whatever Keras raises, the learner needs one clear sentence
        raise ValueError(f"the model cannot take these images (shape {run.train.x.shape[1:]}, "
                         f"{run.train.x.dtype}): {str(error).splitlines()[0][:200]}") from None
    if run.outputs.ndim != 2:
        raise ValueError(f"diagnose is for classifiers whose output is one vector per image; this model outputs "
                         f"shape {run.outputs.shape[1:]} per image.")
    run.num_outputs = run.outputs.shape[1]
    run.loss, run.from_logits = loss_kind(run.model.loss)
    y = run.train.y
    labels = _class_indices(y)
    findings = []
    if labels is None:
        sample = ", ".join(f"{v:.4g}" for v in np.unique(np.asarray(y, dtype="float64"))[:4])
        findings.append(_finding("labels_not_class_indices", f"the labels are not whole numbers (e.g. {sample}): a "
                                 "classifier needs class indices 0..K-1 or one-hot rows. Were they scaled with "
                                 "the images (y / 255)?", values=sample))
    elif _is_one_hot(y) and run.loss == "sparse":
        findings.append(_finding("labels_not_class_indices", "the labels are one-hot rows, but "
                                 "sparse_categorical_crossentropy expects class indices: use "
                                 "categorical_crossentropy, or give the class indices (np.argmax(y, axis=1)).",
                                 label_shape=np.shape(y)))
    elif len(labels) >= 50 and len(np.unique(labels)) == 1:
        findings.append(_finding("labels_not_class_indices", f"every one of the {len(labels)} labels read is "
                                 f"{labels[0]}: the model can only learn to say {labels[0]}.", label=int(labels[0])))
    if labels is not None and run.num_outputs > 1 and (labels.min() < 0 or labels.max() >= run.num_outputs):
        raise ValueError(f"labels run from {labels.min()} to {labels.max()}, but the model has {run.num_outputs} "
                         f"outputs: labels must be class indices 0..{run.num_outputs - 1} (or the last layer needs "
                         f"{labels.max() + 1} units).")
    run.labels = None if findings else labels
    if run.val is not None:
        run.val_labels = _class_indices(run.val.y)
    return findings


def _model_findings(run: _Run) -> list[Finding]:
    kernels = weight_layers(run.model)
    trainable = {variable.path for variable in run.model.trainable_variables}
    learning = [layer for layer in kernels if layer.kernel.path in trainable]
    if kernels and learning:
        return []
    count = sum(int(np.prod(variable.shape)) for variable in run.model.trainable_variables)
    frozen = [layer.name for layer in kernels][:6]
    return [_finding("frozen_model", f"none of the layers with weights is trainable ({', '.join(frozen)} ...; "
                     f"{count} trainable numbers in all): training cannot change what the model computes. Set "
                     "trainable=True on the new head (and freeze only the pretrained backbone).",
                     trainable_parameters=count, frozen_layers=frozen)]


def _declared_output_activation(model: keras.Model) -> str | None:
    """The activation the model's last layer declares (a Dense's activation=, an Activation, Softmax or ReLU layer),
    or None when the last layer declares none (a Lambda, a custom layer)."""
    leaves = [layer for layer in model._flatten_layers(include_self=False, recursive=True)
              if not isinstance(layer, (keras.Model, keras.layers.InputLayer))]
    if not leaves:
        return None
    last = leaves[-1]
    if isinstance(last, keras.layers.Softmax):
        return "softmax"
    if isinstance(last, keras.layers.ReLU):
        return "relu"
    return getattr(getattr(last, "activation", None), "__name__", None)


def _loss_output_findings(run: _Run) -> list[Finding]:
    kind, from_logits, outputs = run.loss, run.from_logits, run.outputs
    shape = output_kind(outputs)
    if shape not in ("nonfinite", "constant"):  # what the last layer declares beats what its values suggest
        shape = {"softmax": "probabilities", "sigmoid": "sigmoid", "relu": "relu", "linear": "logits"}.get(
            _declared_output_activation(run.model), shape)
    one_hot = _is_one_hot(run.train.y)
    labels = run.labels
    problems = []
    if shape == "nonfinite":
        return [_finding("nonfinite_loss", "the model outputs NaN or infinite values before any training: look for "
                         "an exponential activation, a division, a log, or weights initialized too large.",
                         output_kind=shape)]
    if shape == "constant":
        problems.append("the model has one output and it never changes (a softmax over one unit is always 1): use "
                        "Dense(1, activation='sigmoid') with binary_crossentropy, or Dense(K, activation='softmax')")
    elif shape == "probabilities" and from_logits and kind in PROBABILITY_LOSSES:
        if keras.backend.backend() == "tensorflow":
            run.notes.append("the last layer applies softmax and the loss is told from_logits=True: TensorFlow "
                             "notices and repairs this, other backends do not. Use from_logits=False (lesson 06).")
        else:
            problems.append("the last layer applies softmax, but the loss expects logits (from_logits=True), so "
                            "softmax is applied twice and the loss barely moves")
    elif shape in ("logits", "relu") and not from_logits and kind in PROBABILITY_LOSSES:
        what = "is a relu: never negative, often exactly 0" if shape == "relu" else "has no softmax: any real number"
        problems.append(f"the loss expects probabilities (from_logits=False), but the last layer {what}. Give it "
                        "activation='softmax' (or 'sigmoid' for one unit), or use from_logits=True with no activation")
    if kind == "categorical" and not one_hot and run.num_outputs > 1:
        problems.append("categorical_crossentropy expects one-hot labels, but the labels are class indices "
                        "(use sparse_categorical_crossentropy)")
    if kind == "binary" and run.num_outputs > 2 and not one_hot:
        problems.append(f"binary_crossentropy on {run.num_outputs} classes treats each output as a yes/no question "
                        "(use sparse_categorical_crossentropy)")
    if kind in ("regression", "hinge") and labels is not None and not one_hot and labels.max() > 1:
        problems.append("a regression loss (squared or absolute error, hinge) compares class numbers as if class 9 "
                        "were nine times class 1: use sparse_categorical_crossentropy with a softmax output")
    elif kind == "regression" and labels is not None and shape in ("logits", "relu"):
        problems.append("a squared or absolute error pulls unbounded outputs towards the labels' 0s and 1s, as a "
                        "regression: the outputs of an untrained network can be far larger, and the steps explode. "
                        "A classifier ends in softmax, with categorical_crossentropy")
    elif kind == "regression" and labels is not None:
        run.notes.append("a squared or absolute error on class labels learns, but slowly: cross-entropy is the loss "
                         "made for probabilities (lesson 06).")
    if run.num_outputs == 1 and labels is not None and labels.max() > 1:
        problems.append(f"the labels name {labels.max() + 1} classes but the model has one output: the last layer "
                        f"needs {labels.max() + 1} units")
    if not problems:
        return []
    expected = expected_initial_loss(run.num_classes)
    try:
        count = len(outputs)
        loss = float(run.model.compute_loss(x=None, y=np.asarray(run.train.y[:count]), y_pred=outputs))
        seen = f"Loss before training: {loss:.3g} (a uniform guess: ln {run.num_classes} = {expected:.2f})."
    except Exception as error:  # noqa: BLE001 - e.g. one-hot loss, integer labels: Keras refuses the shapes
        loss, seen = float("nan"), f"Keras cannot even compute the loss: {str(error).splitlines()[0][:160]}."
    return [_finding("loss_output_mismatch", "; ".join(problems) + ". " + seen, output_kind=shape, loss=kind,
                     from_logits=from_logits, initial_loss=loss, ln_k=expected)]


def _nonfinite_loss_findings(run: _Run) -> list[Finding]:
    count = len(run.outputs)
    loss = float(keras.ops.convert_to_numpy(run.model.compute_loss(
        x=None, y=np.asarray(run.train.y[:count]), y_pred=run.outputs)))
    if math.isfinite(loss):
        run.found["initial_loss"] = loss
        return []
    return [_finding("nonfinite_loss", f"the loss is {loss} before any training, on outputs that are finite: the "
                     "loss function itself breaks (a log of 0, a division by 0 in a custom loss?).", initial_loss=loss)]


def _input_findings(run: _Run) -> list[Finding]:
    seen, layer = first_layer_input(run.model, run.train.x[:PROBE_IMAGES])
    where = f"the first layer with weights ({layer.name})" if layer is not None else "the model"
    # The variation within each channel (or input feature) carries the image; a constant offset per channel,
    # as a normalization after scaling twice leaves, does not.
    largest = float(np.max(np.abs(seen)))
    spread = float(np.mean(np.std(seen.reshape(-1, seen.shape[-1]), axis=0))) if seen.ndim > 1 else float(np.std(seen))
    run.found["first_input"] = seen
    if largest > UNSCALED_MAX:
        return [_finding("unscaled_inputs", f"values up to {largest:.0f} reach {where}: the pixels are not scaled "
                         "(add layers.Rescaling(1 / 255) or a Normalization layer to the model).",
                         largest_input=largest, layer=getattr(layer, "name", None))]
    if 0 < spread < SCALED_TWICE_STD or (spread == 0 and largest > 0):
        return [_finding("inputs_scaled_twice", f"the values that reach {where} vary by only ±{spread:.3g} within a "
                         f"channel (largest "
                         f"{largest:.3g}): the pixels were scaled twice (e.g. / 255 in the pipeline and "
                         "Rescaling(1 / 255) in the model). Scale once, inside the model.", std=spread,
                         largest_input=largest)]
    return []


def _preprocessing_findings(run: _Run) -> list[Finding]:
    findings = []
    if run.val is not None and "first_input" in run.found:
        val_seen, _ = first_layer_input(run.model, run.val.x[:PROBE_IMAGES])
        scale, offset = input_shift(run.found["first_input"], val_seen)
        if not 1 / SHIFT_SCALE <= scale <= SHIFT_SCALE or abs(offset) > SHIFT_OFFSET:
            train_seen = run.found["first_input"]
            findings.append(_finding(
                "preprocessing_mismatch", f"validation images reach the model on another scale than training images: "
                f"mean {np.mean(val_seen):.3g} ± {np.std(val_seen):.3g} against {np.mean(train_seen):.3g} ± "
                f"{np.std(train_seen):.3g} for training. One pipeline is preprocessed differently (scaled in one "
                "only, or twice): put the preprocessing inside the model, so both get the same.",
                scale_ratio=scale, offset=offset))
    findings.extend(_pretrained_input_findings(run))
    return findings


def _pretrained_input_findings(run: _Run) -> list[Finding]:
    """A pretrained backbone remembers what its inputs looked like: the moving statistics of its first
    trained BatchNormalization. Inputs far from them were not preprocessed the backbone's way."""
    norms = [layer for layer in run.model._flatten_layers(include_self=False, recursive=True)
             if isinstance(layer, keras.layers.BatchNormalization) and layer.built]
    trained = [layer for layer in norms if not np.allclose(layer.moving_variance.numpy(), 1)
               or not np.allclose(layer.moving_mean.numpy(), 0)]
    if not trained:
        return []
    layer = first_called(run.model, trained, run.train.x)
    if layer is None:
        return []
    values = layer_input(run.model, layer, run.train.x[:PROBE_IMAGES])
    axes = tuple(range(values.ndim - 1))
    mean, std = values.mean(axis=axes), values.std(axis=axes)
    stored_std = np.sqrt(layer.moving_variance.numpy() + layer.epsilon)
    shift = float(np.median(np.abs(mean - layer.moving_mean.numpy()) / stored_std))
    spread = float(np.median(std / stored_std))
    if shift <= PRETRAINED_SHIFT and 1 / PRETRAINED_SPREAD <= spread <= PRETRAINED_SPREAD:
        return []
    return [_finding("preprocessing_mismatch", f"the trained BatchNormalization {layer.name} receives values "
                     f"{shift:.1f} of its stored standard deviations away from the mean it learned in training, and "
                     f"{spread:.2g} times as spread: the network was trained on inputs preprocessed another way. "
                     "Apply the backbone's own preprocessing (once).", shift=shift, spread=spread, layer=layer.name)]


def _scrambled_findings(run: _Run) -> list[Finding]:
    x = run.train.x[:512]
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4) or min(x.shape[1:3]) < 8:
        raise Skipped("needs images of shape (height, width, 1, 3 or 4 channels)")
    correlation, repaired = pixel_order_correlations(x)
    if repaired >= correlation + UNSCRAMBLE_GAIN and repaired > SCRAMBLED:
        return [_finding("scrambled_images", f"neighbouring pixels are correlated {correlation:.2f} (photographs: "
                         f"about 0.9), but {repaired:.2f} once the same memory is read in the other channel order: "
                         "the images were reshaped where they needed a transpose (e.g. CIFAR-10's rows with "
                         "reshape(-1, 32, 32, 3) instead of reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)), or "
                         "reshaped to channels first when they were channels last already.",
                         correlation=correlation, reordered=repaired)]
    if correlation < SCRAMBLED:
        return [_finding("scrambled_images", f"neighbouring pixels are correlated only {correlation:.2f} (photographs: "
                         "about 0.9): the pixels were reordered at load, or these are not images. Look at a few.",
                         correlation=correlation)]
    return []


def _representative(run: _Run) -> bool:
    return run.train.complete or batch_purity(_batch_classes(run.train)) < PURE_BATCHES


def _batch_classes(sample: Sample) -> list[np.ndarray]:
    return [labels for labels in map(_class_indices, sample.batch_labels) if labels is not None]


def _order_findings(run: _Run) -> list[Finding]:
    batches = [labels for labels in _batch_classes(run.train) if len(labels) >= 8]
    if len(batches) < 4:
        raise Skipped("too few batches of 8 or more images to judge the order")
    seen, shuffled = batch_purity(batches), shuffled_purity(batches)
    if seen >= PURE_BATCHES and seen >= min(PURITY_RATIO * shuffled, 0.9):
        return [_finding("unshuffled_data", f"the most common class fills {seen:.0%} of each batch on average (a "
                         f"shuffled pipeline: {shuffled:.0%}): batches come sorted by class, so each step pulls the "
                         "model towards one class. Shuffle before batching, with a buffer as large as the data set "
                         "(dataset.shuffle(n_images).batch(...)), or fit(..., shuffle=True).",
                         purity=seen, shuffled_purity=shuffled)]
    return []


def _label_findings(run: _Run) -> list[Finding]:
    if run.labels is None:
        raise Skipped("the labels are not class indices")
    if not _representative(run):
        raise Skipped("the sample read is the start of data sorted by class, so class counts cannot be judged")
    findings, labels, num_classes = [], run.labels, run.num_classes
    counts = np.bincount(labels, minlength=num_classes)
    if run.val_labels is not None:
        val_counts = np.bincount(run.val_labels, minlength=num_classes)
        train_share, val_share = counts / counts.sum(), val_counts / val_counts.sum()
        distance = 0.5 * float(np.abs(train_share - val_share).sum())
        missing = [int(c) for c in np.flatnonzero((val_counts == 0) & (train_share >= 0.02))]
        unseen = [int(c) for c in np.flatnonzero((val_counts > 0) & (counts == 0))]
        if (missing and run.val.complete) or unseen:  # imbalanced training, balanced validation is no mismatch
            findings.append(_finding(
                "validation_mismatch", f"classes {missing} are in the training labels but not in validation, "
                f"classes {unseen} in validation but never in training (total variation distance {distance:.2f}). A "
                "validation_split of data sorted by class does this: shuffle first, or split stratified.",
                distance=distance, missing=missing, unseen=unseen))
    scale = 1 if run.train.complete or not run.train.total else run.train.total / len(labels)
    present = counts[counts > 0] * scale
    if len(present) >= 2 and present.max() >= IMBALANCE_RATIO * present.min():
        if run.class_weight:
            run.notes.append("the classes are imbalanced, and you pass class_weight: lesson 02 shows how to check "
                             "that it helps (per-class recall).")
        else:
            findings.append(_finding(
                "class_imbalance", f"the largest class has {present.max():.0f} training images, the smallest "
                f"{present.min():.0f} ({present.max() / present.min():.0f} times fewer).",
                largest=float(present.max()), smallest=float(present.min())))
    if run.train.complete or run.train.total:
        if np.median(present) < MIN_PER_CLASS:
            findings.append(_finding(
                "too_little_data", f"about {np.median(present):.0f} training images per class (median): expect "
                "overfitting; see how accuracy grows with the data.", median_per_class=float(np.median(present))))
    else:
        run.notes.append("the data set's size is unknown (a generator or a dataset of unknown length): images per "
                         "class not judged.")
    return findings


def _gradient_findings(run: _Run) -> list[Finding]:
    model = run.model
    n = min(len(run.train), max(run.batch_size, 64))
    x = keras.ops.convert_to_tensor(np.asarray(run.train.x[:n], dtype="float32"))
    loss_fn = keras.losses.get(model.loss) if isinstance(model.loss, str) else model.loss
    with inputs_recorded(weight_layers(model)) as order, statistics_kept(model):
        y = np.asarray(run.train.y[:n])
        if y.ndim == 1 and run.num_outputs == 1:
            y = y[:, None]  # as fit does for a one-output model's labels
        grads = trainable_gradients(model, lambda yt, yp: keras.ops.mean(loss_fn(yt, yp)), x, y)
    by_path = {variable.path: grad for variable, grad in zip(model.trainable_variables, grads)}
    called = list(dict.fromkeys(layer for layer, _ in order))
    rms = [(layer.name, float(np.sqrt(np.mean(np.square(keras.ops.convert_to_numpy(by_path[layer.kernel.path]))))))
           for layer in called if layer.kernel.path in by_path and by_path[layer.kernel.path] is not None]
    if len(rms) < 2:
        raise Skipped("fewer than two trainable layers with weights")
    (first, first_rms), (_, last_rms) = rms[0], rms[-1]
    if not math.isfinite(first_rms) or not math.isfinite(last_rms):
        return [_finding("nonfinite_loss", "the gradient is NaN or infinite before any training.")]
    ratio = first_rms / last_rms if last_rms > 0 else float("nan")
    if not ratio < VANISHING_RATIO:
        return []
    return [_finding("vanishing_gradients", f"the first layer ({first}) gets {ratio:.0e} of the last layer's "
                     "gradient: it cannot learn.", first_to_last=ratio)]


def _faithful_copy(run: _Run, learning_rate: float | None = None, optimizer=None) -> keras.Model:
    """A copy of the learner's model (a fresh optimizer of the same kind, at ``learning_rate`` if given, or
    ``optimizer``) that computes exactly what the model computes; Skipped when Keras cannot make one."""
    if learning_rate is not None:
        config = run.model.optimizer.get_config()
        optimizer = type(run.model.optimizer).from_config({**config, "learning_rate": learning_rate})
    try:
        copy = copy_model(run.model, optimizer)
    except ValueError as error:
        raise Skipped(str(error)) from None
    probe = run.train.x[:8]
    if not np.allclose(call_in_batches(copy, probe), call_in_batches(run.model, probe), rtol=1e-4, atol=1e-5):
        raise Skipped("a copy of the model does not compute what the model computes (a custom layer that "
                      "does not save its state?)")
    return copy


def _rates_over_run(run: _Run) -> np.ndarray:
    """The learning rate the learner's optimizer reaches at each step of the run it is compiled for."""
    rate = run.model.optimizer.learning_rate
    schedule = getattr(run.model.optimizer, "_learning_rate", None)
    if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        steps_per_epoch = run.steps_per_epoch or math.ceil((run.train.total or len(run.train)) / run.batch_size)
        steps = np.unique(np.linspace(0, max(steps_per_epoch * run.epochs - 1, 0), 50).astype(int))
        return np.array([float(keras.ops.convert_to_numpy(schedule(int(step)))) for step in steps])
    return np.array([float(keras.ops.convert_to_numpy(rate))])


def _learning_rate_findings(run: _Run) -> list[Finding]:
    """A range test on a copy: a loss that is NaN from the first steps, and a rate to suggest (ten times below
    the lowest point of a curve that clearly falls). Whether the learner's own rate learns, the short run says."""
    rates = _rates_over_run(run)
    typical = float(np.median(rates))
    x, y = run.train.x, run.train.y
    batch_size = min(run.batch_size, len(x))
    config = run.model.optimizer.get_config()
    optimizer = type(run.model.optimizer).from_config({**config, "learning_rate": 1e-6})
    result = lr_range_test(lambda: _faithful_copy(run), x, y, start=1e-6, stop=10.0, steps=100,
                           batch_size=batch_size, optimizer=optimizer, loss=run.model.loss, progress=False, seed=None)
    if len(result.losses) < 3:
        return [_finding("nonfinite_loss", "the loss turned NaN or infinite within the first steps of training, at a "
                         "learning rate of 1e-6: look for an exponential activation, a log of 0 or a custom loss that "
                         "divides by 0.", steps=len(result.losses))]
    smooth = result.smoothed()
    # Guessing each class's share gives the labels' entropy: a loss that starts above it and falls to it has
    # learned nothing from the images. The dip counts from the lower of the two.
    start = float(smooth[0])
    if run.labels is not None:
        shares = np.bincount(run.labels) / len(run.labels)
        start = min(start, float(-np.sum(shares[shares > 0] * np.log(shares[shares > 0]))))
    dip = float((start - np.nanmin(smooth)) / start) if start > 0 else 0.0
    lowest_index = int(np.nanargmin(smooth))
    lowest = float(result.learning_rates[lowest_index])
    run.found.update(rate=typical, schedule=len(rates) > 1)
    # A curve that hardly falls, or whose lowest point is an end of the sweep, has no lowest point to trust.
    if dip < MIN_DIP or not 2 < lowest_index < len(smooth) - 3:
        why = "too flat" if dip < MIN_DIP else "lowest at an end of the sweep"
        run.notes.append(f"the learning-rate range test's loss fell by {dip:.1%} at most, lowest at {lowest:.2g}: "
                         f"{why} to suggest a learning rate; the short run judges yours instead.")
        return []
    run.found["suggestion"] = lowest / 10
    return []  # a rate far from the lowest point can still learn: the short run judges it, this names a better one


def predicted_classes(outputs: np.ndarray, from_logits: bool = False) -> np.ndarray:
    """The class each row of outputs stands for: the largest output, or for one output (a yes/no classifier)
    whether it is above 0.5 (0 for logits)."""
    if outputs.shape[-1] == 1:
        return (outputs[:, 0] > (0 if from_logits else 0.5)).astype("int64")
    return np.argmax(outputs, axis=1)


def _balanced_match(model, images, given, training: bool = False, batch_size: int = EAGER_BATCH,
                    from_logits: bool = False) -> float:
    """How often ``model`` predicts the ``given`` labels, balanced (the mean over classes of the share matched), so
    that an imbalanced training set, whose majority classes a model favours, compares fairly with a balanced
    validation set."""
    with statistics_kept(model):
        predicted = predicted_classes(call_in_batches(model, images, batch_size, training=training), from_logits)
    return float(np.mean([np.mean(predicted[given == c] == c) for c in np.unique(given)]))


def _without_regularization(model: keras.Model) -> keras.Model:
    """A copy of ``model`` (same weights) without dropout and weight penalties."""
    def plain(layer):
        if isinstance(layer, keras.Model):
            return keras.models.clone_model(layer, clone_function=plain)
        config = layer.get_config()
        for key in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
            config.pop(key, None)
        if isinstance(layer, (keras.layers.Dropout, keras.layers.GaussianNoise, keras.layers.GaussianDropout)):
            config.update({key: 0.0 for key in ("rate", "stddev") if key in config})
        return type(layer).from_config(config)
    copy = keras.models.clone_model(model, clone_function=plain)
    copy.set_weights(model.get_weights())
    return copy


def _weights_moved(before: keras.Model, after: keras.Model) -> float:
    """How far the trained copy's kernels moved from the model's: ||after - before|| / ||before||, over all."""
    pairs = [(a.kernel.numpy(), b.kernel.numpy()) for a, b in zip(weight_layers(before), weight_layers(after))]
    change = sum(float(np.sum((b - a) ** 2)) for a, b in pairs)
    size = sum(float(np.sum(a ** 2)) for a, _ in pairs)
    return math.sqrt(change / size) if size > 0 else float("inf")


def _regularizers(model: keras.Model) -> list[str]:
    found = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        rate = getattr(layer, "rate", 0) if isinstance(layer, (keras.layers.Dropout, keras.layers.GaussianDropout)) \
            else 0
        if rate >= 0.3:
            found.append(f"{layer.name} (rate {rate:g})")
        for key in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
            penalty = getattr(layer, key, None)
            config = penalty.get_config() if hasattr(penalty, "get_config") else {}
            strength = max([float(value) for value in config.values() if isinstance(value, (int, float))] or [0])
            if strength >= 1e-3:
                found.append(f"{layer.name} ({key.split('_')[0]} penalty {strength:g})")
    return found


def _short_run_findings(run: _Run) -> list[Finding]:
    """Train a copy briefly (at a learning rate that learns) on 80 % of the training sample; compare how often
    (class-balanced) its predictions match the held-out 20 %'s labels and the validation labels."""
    if run.labels is None:
        raise Skipped("the labels are not class indices")
    x, y, labels = run.train.x, run.train.y, run.labels
    order = np.random.default_rng(0).permutation(len(x))
    cut = int(0.8 * len(x))
    fit_on, held_out = order[:cut], order[cut:]
    if len(held_out) < 2 * run.num_classes:
        raise Skipped(f"too few images ({len(x)}) to hold some out")
    batch_size = min(run.batch_size, len(fit_on))
    epochs = max(1, math.ceil(MIN_STEPS / math.ceil(len(fit_on) / batch_size)))
    chance, rate = run.chance, run.found.get("rate") or float(np.median(_rates_over_run(run)))

    def trained(learning_rate=None, build=None, optimizer=None):
        copy = _faithful_copy(run, learning_rate, optimizer)
        if build is not None:
            copy = build(copy)
        copy.fit(x[fit_on], y[fit_on], epochs=epochs, batch_size=batch_size, verbose=0)
        return copy

    def matches(copy):
        val = (None if run.val_labels is None
               else _balanced_match(copy, run.val.x, run.val_labels, from_logits=run.from_logits))
        return _balanced_match(copy, x[held_out], labels[held_out], from_logits=run.from_logits), val

    def at_chance(held, val):
        return held <= chance + CHANCE_MARGIN and (val is None or val <= chance + CHANCE_MARGIN)

    # Batch norm's moving statistics are judged where your planned run would end, if that comes before the
    # short run's: the copy trains that far, is checked, and trains on.
    copy = _faithful_copy(run, rate)
    per_epoch = math.ceil(len(fit_on) / batch_size)
    planned = run.epochs * (run.steps_per_epoch or math.ceil((run.train.total or len(x)) / run.batch_size))
    stage = min(epochs, max(1, math.ceil(planned / per_epoch)))
    copy.fit(x[fit_on], y[fit_on], epochs=stage, batch_size=batch_size, verbose=0)
    batchnorm = _batchnorm_findings(run, copy, fit_on[:500], batch_size)
    if stage < epochs:
        copy.fit(x[fit_on], y[fit_on], initial_epoch=stage, epochs=epochs, batch_size=batch_size, verbose=0)
    held, val = matches(copy)
    moved = _weights_moved(run.model, copy)
    if at_chance(held, val) or moved < MOVED:
        # The learner's optimizer learned nothing, or hardly moved the weights. A control: Adam at a rate that
        # learns on most image classifiers.
        control = trained(optimizer=keras.optimizers.Adam(REFERENCE_RATE))
        control_held, control_val = matches(control)
        if not at_chance(control_held, control_val) and control_held >= held + 2 * CHANCE_MARGIN:
            code = "learning_rate_too_low" if moved < MOVED else "learning_rate_too_high"
            if moved < MOVED:
                what = f"its weights moved only {moved:.2%} of their size: the steps are too small"
            elif math.isfinite(moved):
                what = (f"its weights moved {moved:.0%} of their size and it still learned nothing: the steps are too "
                        "large")
            else:
                what = "its weights became NaN or infinite: the steps are too large"
            schedule = " (the median of your schedule over the run)" if run.found.get("schedule") else ""
            return [_finding(code, f"a copy trained with your optimizer at {rate:.2g}{schedule} for {epochs} epochs "
                             "matches "
                             f"held-out training labels {held:.0%} of the time (chance: {chance:.0%}); {what}. With "
                             f"Adam at {REFERENCE_RATE:g} the same copy matches {control_held:.0%}. "
                             + (f"A range test suggests {run.found['suggestion']:.2g}." if "suggestion" in run.found
                                else "Run a learning-rate range test (lesson 04) and start 3 to 10 times below its "
                                     "lowest point."),
                             learning_rate=rate, held_out_training_labels=held, weights_moved=moved,
                             held_out_with_adam=control_held)]
        if at_chance(held, val):
            copy, held, val = control, control_held, control_val
    evidence = {"held_out_training_labels": held, "validation_labels": val, "chance": chance, "epochs": epochs}
    findings = _regularization_findings(run, copy, trained, rate, fit_on)
    findings += batchnorm
    if findings:
        return findings
    if len(held_out) < 10 * run.num_classes:
        run.notes.append(f"only {len(held_out)} images held out in the short run: too few to judge whether the "
                         "labels belong to their images.")
        return []
    if at_chance(held, val):
        validation = "" if val is None else f" and validation labels {val:.0%}"
        return [_finding("labels_misaligned", f"after {epochs} epochs a copy of the model matches the labels of "
                         f"held-out training images {held:.0%} of the time{validation}: chance is "
                         f"{chance:.0%}, at "
                         f"your learning rate and with Adam at {REFERENCE_RATE:g}. Nothing learnable connects these "
                         "images to these labels: check that images and labels were shuffled or filtered together.",
                         **evidence)]
    if val is None or len(held_out) < min(MIN_HELD_OUT, len(run.val)):
        return []  # too few held-out images to tell a few points of difference from chance
    if val - held >= NOISE_GAP or (val - held >= NOISE_GAP / 2 and held < (1 - NOISE_SHARE) * val):
        estimate = 1 - held / val if val > 0 else float("nan")
        return [_finding("label_noise", f"a copy of the model trained briefly matches the validation labels {val:.0%} "
                         f"of the time but held-out training labels only {held:.0%}: about {estimate:.0%} of the "
                         "training labels look wrong (if the validation labels are right).", **evidence,
                         noise_estimate=estimate)]
    if held - val >= 2 * NOISE_GAP:
        return [_finding("validation_mismatch", f"a copy of the model trained briefly matches held-out training labels "
                         f"{held:.0%} of the time but validation labels only {val:.0%}: the validation set is unlike "
                         "the training set (other classes, other scaling, or labels that do not match).", **evidence)]
    return []


def _regularization_findings(run: _Run, copy, trained, rate, fit_on) -> list[Finding]:
    """Strong dropout or weight penalties and a copy that cannot even match its own training labels: train
    one without them; if it does much better, the regularization is what holds the model back."""
    regularizers = _regularizers(run.model)
    if not regularizers:
        return []
    fitted = _balanced_match(copy, run.train.x[fit_on], run.labels[fit_on], from_logits=run.from_logits)
    if fitted >= 0.5:
        return []
    try:
        plain = trained(rate, _plain_compiled(run))
    except Exception as error:  # noqa: BLE001 - a layer Keras cannot rebuild without its penalty
        run.notes.append(f"could not try the model without regularization: {str(error)[:120]}")
        return []
    without = _balanced_match(plain, run.train.x[fit_on], run.labels[fit_on], from_logits=run.from_logits)
    if without - fitted < REGULARIZATION_GAIN:
        return []
    return [_finding("over_regularization", f"a copy trained briefly matches only {fitted:.0%} of its own training "
                     f"labels, and {without:.0%} without its dropout and weight penalties ({', '.join(regularizers)}): "
                     "the regularization is so strong that the model cannot even fit its training images. Weaken "
                     "it (dropout 0.2-0.5, L2 1e-4) and add it back only against overfitting.",
                     with_regularization=fitted, without_regularization=without, regularizers=regularizers)]


def _plain_compiled(run: _Run):
    def build(copy):
        plain = _without_regularization(copy)
        plain.compile(optimizer=type(copy.optimizer).from_config(copy.optimizer.get_config()), loss=run.model.loss)
        return plain
    return build


def _batchnorm_findings(run: _Run, copy, trained_on, batch_size) -> list[Finding]:
    """The copy in inference mode (moving statistics) against training mode (each batch's statistics), on images
    it trained on: what fit reports against what evaluate says on the same images."""
    if not any(isinstance(layer, keras.layers.BatchNormalization)
               for layer in copy._flatten_layers(include_self=False, recursive=True)):
        return []
    images, labels = run.train.x[trained_on], run.labels[trained_on]
    inference = _balanced_match(copy, images, labels, from_logits=run.from_logits)
    training = _balanced_match(copy, images, labels, training=True, batch_size=max(batch_size, 2),
                               from_logits=run.from_logits)
    # a gap, and inference mode keeps less than half of what training mode learned above chance
    if training - inference < BATCHNORM_GAP or inference - run.chance > (training - run.chance) / 2:
        return []
    steps = run.epochs * (run.steps_per_epoch or math.ceil((run.train.total or len(run.train)) / run.batch_size))
    momenta = [layer.momentum for layer in copy._flatten_layers(include_self=False, recursive=True)
               if isinstance(layer, keras.layers.BatchNormalization)]
    if max(momenta) ** steps < 0.05:
        return []  # over the whole run you plan, the moving statistics forget their start: they will settle
    return [_finding("batchnorm_inference_gap", f"a copy trained briefly matches the labels of its own training "
                     f"images {training:.0%} of the time in training mode but only {inference:.0%} in inference mode "
                     "(as evaluate and predict run it): batch normalization's moving statistics have not settled. Use "
                     "larger batches, a lower momentum (e.g. BatchNormalization(momentum=0.9)) or more steps.",
                     training_mode=training, inference_mode=inference)]


@contextmanager
def _random_state_kept():
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def diagnose(model: keras.Model, x=None, y=None, *, batch_size: int | None = None, epochs: int = 1,
             validation_data=None, validation_split: float = 0.0, shuffle=True, sample_weight=None,
             class_weight: dict | None = None, steps_per_epoch: int | None = None, max_images: int = 5000,
             progress: bool = True, **fit_kwargs) -> Report:
    """Look for what would keep ``model`` from learning, before training: call it with exactly the
    arguments you would give ``fit``.

    ``model`` is your compiled model (your loss, output activation, optimizer). ``x``, ``y``,
    ``validation_data``, ``validation_split``, ``batch_size``, ``shuffle`` ... are what you pass to
    ``fit``: arrays (uint8 or float images, integer or one-hot labels), a ``tf.data.Dataset`` of batches
    (``image_dataset_from_directory``'s output too), a ``keras.utils.PyDataset`` or a generator. Other
    ``fit`` arguments (``callbacks``, ``verbose`` ...) are accepted and ignored. ``epochs`` is the length of
    the run you plan (a learning-rate schedule is judged over it). At most ``max_images`` images are read
    (a generator loses the batches read: the report says so).

    Returns a :class:`Report`: ``report.codes`` (most likely cause first; ``[]`` when nothing is found),
    ``report.findings`` (each with ``.code``, ``.message``, ``.evidence`` and ``.lesson``) and
    ``report.notes``. It shows as a table in a notebook.

    Besides the probes that need no training, it trains copies of your model briefly: a learning-rate range
    test (100 batches) and a short run (at least 150 batches) on 80 % of the images read, whose predictions
    on the other 20 % and on the validation images reveal labels that do not belong to their images, noisy
    labels, too much regularization or unsettled batch-norm statistics. Your model, its optimizer, your data
    and the global random state stay as they are.
    """
    require_compiled(model)
    unknown = set(fit_kwargs) - {"callbacks", "verbose", "initial_epoch", "validation_steps", "validation_batch_size",
                                 "validation_freq"}
    if unknown:
        raise TypeError(f"diagnose() got arguments fit does not take: {', '.join(sorted(unknown))}.")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive whole number, got {epochs!r}.")
    train, val = read_fit_data(x, y, batch_size=batch_size, validation_data=validation_data,
                               validation_split=validation_split, shuffle=shuffle, sample_weight=sample_weight,
                               max_images=max_images)
    batch_size = batch_size or (len(train.batch_labels[0]) if train.source != "arrays" else 32)
    run = _Run(model, train, val, batch_size, epochs, steps_per_epoch, class_weight)
    run.notes.extend(train.notes + (val.notes if val is not None else []))
    with _random_state_kept():
        findings = _prepare(run)
        probed = ["labels"]
        probes = [("trainable layers", _model_findings), ("loss and output layer", _loss_output_findings),
                  ("loss before training", _nonfinite_loss_findings), ("input scaling", _input_findings),
                  ("training and validation preprocessing", _preprocessing_findings),
                  ("pixel order", _scrambled_findings), ("batch order", _order_findings),
                  ("labels of training and validation", _label_findings), ("gradient per layer", _gradient_findings),
                  ("learning-rate range test", _learning_rate_findings), ("a short run", _short_run_findings)]
        for name, probe in tqdm(probes, desc="diagnose", unit="probe", disable=not progress, leave=False):
            if name in TRAINING_PROBES and any(f.code in BLOCKING for f in findings):
                continue  # a broken pipeline makes these probes' signals meaningless: fix what was found first
            try:
                findings.extend(probe(run))
                probed.append(name)
            except Skipped as reason:
                run.notes.append(f"skipped {name}: {reason}.")
            except Exception as error:  # noqa: BLE001 - a probe's failure must not hide what the others find
                run.notes.append(f"skipped {name}: it failed on this model ({type(error).__name__}: "
                                 f"{str(error).splitlines()[0][:160] if str(error) else ''}).")
    first_of_each = list({f.code: f for f in reversed(findings)}.values())[::-1]  # one finding per code
    return Report(sorted(first_of_each, key=lambda f: PRIORITY.index(f.code)), probed, run.notes)
