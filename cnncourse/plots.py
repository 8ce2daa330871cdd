"""The figures the lessons read: learning curves, data overviews, per-class diagnostics.

One contract for every function here:

- it **returns its figure**, a Matplotlib ``Figure``. Jupyter shows it when the call ends a cell,
  exactly once, like any other value (a DataFrame, a widget); elsewhere in a cell, pass it to
  ``display(...)``, or save it with ``fig.savefig(...)``. The figures are made without pyplot, so
  nothing else shows them a second time and nothing piles up in pyplot's list of open figures.
  ``new_figure`` makes such a figure for drawings of your own.
- a function that draws on **one set of axes** takes ``ax=`` to draw into a figure of your own
  (e.g. one panel of ``new_figure(1, 2)``) and then returns that axes' figure.
- the same thing has the same name everywhere: ``y`` for the labels of the images ``x``,
  ``y_true``/``y_pred`` for true and predicted labels, ``class_names``, ``title``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay

from cnncourse.lr_range import RangeTestResult
from cnncourse.metrics import per_class_recall, wilson_interval
from cnncourse.noise import MEMORIZATION_KEYS
from cnncourse.sanity import Fingerprint
from cnncourse.training import TrainingResult

_TITLES = {"loss": "loss (lower is better)", "accuracy": "accuracy"}


def _load_display_backend() -> None:
    # Jupyter shows a Figure as a picture once Matplotlib's backend module is loaded, which pyplot
    # does lazily, at its first figure: until then a returned figure would show as "<Figure ...>".
    try:
        from IPython import get_ipython
    except ImportError:
        return
    # Open pyplot figures mean the backend is loaded already (and switch_backend would close them).
    if get_ipython() is not None and not plt.get_fignums():
        plt.switch_backend(plt.get_backend())  # the configured backend (inline in Jupyter), loaded now


_load_display_backend()


def new_figure(rows: int = 1, cols: int = 1, figsize: tuple[float, float] = (6, 4),
               **subplots) -> tuple[Figure, Axes | np.ndarray]:
    """A figure made outside pyplot, with constrained layout, and its axes (``Figure.subplots``
    arguments, e.g. ``sharey=True``): like ``plt.subplots``, but the figure shows only where it is
    returned or displayed, once."""
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(rows, cols, **subplots)


def _figure(rows: int = 1, cols: int = 1, figsize: tuple[float, float] = (6, 4),
            **subplots) -> tuple[Figure, np.ndarray]:
    """``new_figure`` with the axes always as a 2-D array."""
    return new_figure(rows, cols, figsize, squeeze=False, **subplots)


def _new_axes(ax: Axes | None, figsize: tuple[float, float] = (6, 4)) -> Axes:
    return _figure(figsize=figsize)[1][0][0] if ax is None else ax


def _epoch_axis(ax):
    ax.set_xlabel("epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)


def _check_results(results: Sequence[TrainingResult]) -> None:
    if not results:
        raise ValueError("pass at least one TrainingResult, e.g. plot_history(baseline).")
    for r in results:
        if not isinstance(r, TrainingResult):
            raise TypeError(f"expected TrainingResult objects (what train() returns), got {type(r).__name__}.")


def _spans_orders_of_magnitude(values):
    values = np.asarray(values, dtype="float64")
    values = values[np.isfinite(values) & (values > 0)]
    return values.size > 0 and values.max() / values.min() > 100


def plot_history(*results: TrainingResult, metrics: Sequence[str] = ("loss", "accuracy"),
                 title: str | None = None) -> Figure:
    """Learning curves of one or several runs: training solid, validation dashed, one colour per run.

    A loss that spans more than a factor of 100 (a run that blew up) is drawn on a log axis,
    so the other runs stay readable."""
    _check_results(results)
    fig, axes = _figure(1, len(metrics), figsize=(5.5 * len(metrics), 3.8))
    for ax, metric in zip(axes[0], metrics):
        for i, r in enumerate(results):
            epochs = np.arange(1, r.epochs + 1)
            ax.plot(epochs, r.history[metric], color=f"C{i}", label=f"{r.name} (train)")
            if f"val_{metric}" in r.history:
                ax.plot(epochs, r.history[f"val_{metric}"], color=f"C{i}", linestyle="--",
                        label=f"{r.name} (validation)")
        ax.set(title=_TITLES.get(metric, metric))
        if metric == "loss" and _spans_orders_of_magnitude([v for line in ax.lines for v in line.get_ydata()]):
            ax.set_yscale("log")
            ax.set_title(f"{ax.get_title()}, log scale")
        _epoch_axis(ax)
    axes[0][-1].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def plot_metric(histories: Mapping[str, Mapping[str, Sequence[float]]], metric: str = "val_accuracy",
                ax: Axes | None = None, title: str | None = None) -> Figure:
    """One metric of several runs on one set of axes, one line per run: ``histories`` maps a run's
    name to its Keras history (``model.fit(...).history``)."""
    if not isinstance(histories, Mapping) or not histories:
        raise TypeError("histories must map a run's name to its history, e.g. {'clean': model.fit(...).history}.")
    missing = [name for name, history in histories.items() if metric not in history]
    if missing:
        raise ValueError(f"no {metric!r} in the history of {missing}; "
                         f"it has {sorted(next(iter(histories.values())))}.")
    ax = _new_axes(ax, (6.5, 4))
    for name, history in histories.items():
        ax.plot(np.arange(1, len(history[metric]) + 1), history[metric], marker=".", label=name)
    ax.set(title=title or metric, ylabel=metric.replace("val_", "validation "))
    _epoch_axis(ax)
    ax.legend(fontsize="small")
    return ax.figure


def plot_comparison(*results: TrainingResult, metric: str = "accuracy", cols: int = 4,
                    title: str | None = None) -> Figure:
    """Runs side by side: one panel of training and validation curves each, on the same y-axis,
    ``cols`` panels per row. :func:`comparison_table` gives the same runs' numbers."""
    _check_results(results)
    rows = -(-len(results) // cols)
    fig, axes = _figure(rows, min(cols, len(results)), figsize=(4.5 * min(cols, len(results)), 3.5 * rows),
                        sharey=True)
    for ax, r in zip(axes.flat, results):
        epochs = np.arange(1, r.epochs + 1)
        ax.plot(epochs, r.history[metric], label="train")
        ax.plot(epochs, r.history[f"val_{metric}"], linestyle="--", label="validation")
        ax.set(title=r.name)
        _epoch_axis(ax)
    for ax in axes.flat[len(results):]:
        ax.set_visible(False)
    for row in axes:
        row[0].set_ylabel(metric)
    axes[0][0].legend()
    if title:
        fig.suptitle(title)
    return fig


def plot_gap(result: TrainingResult) -> Figure:
    """Loss and accuracy of one run, training against validation, with the gap between them
    shaded and the epoch of the lowest validation loss marked (the one early stopping keeps)."""
    _check_results([result])
    fig, axes = _figure(1, 2, figsize=(11, 3.8))
    axes = axes[0]
    epochs, best = np.arange(1, result.epochs + 1), result.best_epoch
    for ax, metric in zip(axes, ("loss", "accuracy")):
        train, val = result.history[metric], result.history[f"val_{metric}"]
        ax.plot(epochs, train, color="C0", label="training")
        ax.plot(epochs, val, color="C1", linestyle="--", label="validation")
        ax.fill_between(epochs, train, val, color="C3", alpha=0.15, label="gap")
        ax.axvline(best, color="C2", linestyle=":", linewidth=2, label=f"lowest validation loss: epoch {best}")
        ax.set(title=_TITLES[metric])
        _epoch_axis(ax)
    axes[1].annotate(f"gap {result.gap:.2f}", xy=(epochs[-1], (result.train_accuracy + result.val_accuracy) / 2),
                     xytext=(-6, 0), textcoords="offset points", ha="right", va="center", color="C3")
    axes[0].legend(fontsize="small")
    fig.suptitle(f"{result.name}: training against validation")
    return fig


def comparison_table(*results: TrainingResult) -> pd.DataFrame:
    """Final train/validation accuracy, their gap and the run time of each run, as a DataFrame."""
    _check_results(results)
    return pd.DataFrame([r.summary() for r in results]).set_index("run")


def show_images(x: np.ndarray, y: np.ndarray, class_names: Sequence[str], y_pred: np.ndarray | None = None,
                n: int = 16, cols: int = 8, title: str | None = None) -> Figure:
    """A grid of the first ``n`` images with their labels ``y``; with ``y_pred``, wrong
    predictions are titled in red as "predicted (true)"."""
    n = min(n, len(x))
    if n == 0:
        raise ValueError("no images to show: x is empty.")
    rows = int(np.ceil(n / cols))
    fig, axes = _figure(rows, cols, figsize=(1.3 * cols, 1.45 * rows))
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        ax.imshow(x[i])
        if y_pred is None:
            ax.set_title(class_names[y[i]], fontsize=8)
        else:
            right = y_pred[i] == y[i]
            label = class_names[y_pred[i]] if right else f"{class_names[y_pred[i]]}\n({class_names[y[i]]})"
            ax.set_title(label, fontsize=8, color="black" if right else "red")
    if title:
        fig.suptitle(title)
    return fig


def show_image_rows(rows: Mapping[str, np.ndarray], title: str | None = None) -> Figure:
    """One row of images per name, e.g. ``{"image": a, "its neighbour": b, "blend": c}``."""
    if not isinstance(rows, dict) or not rows:
        raise TypeError("rows must map a row name to images, e.g. {'originals': x[:6]}.")
    cols = max(len(images) for images in rows.values())
    fig, axes = _figure(len(rows), cols, figsize=(1.3 * cols, 1.5 * len(rows)))
    for ax_row, (name, images) in zip(axes, rows.items()):
        for i, ax in enumerate(ax_row):
            ax.axis("off")
            if i < len(images):
                ax.imshow(images[i])
        ax_row[0].set_title(name, fontsize=9, loc="left")
    if title:
        fig.suptitle(title)
    return fig


def plot_class_counts(y: np.ndarray, class_names: Sequence[str], ax: Axes | None = None,
                      title: str = "images per class") -> Figure:
    """A bar chart of how many images each class has."""
    ax = _new_axes(ax, (7, 3))
    counts = np.bincount(y, minlength=len(class_names))
    ax.bar(class_names, counts, color="C0")
    ax.set(title=title, ylabel="images")
    ax.tick_params(axis="x", rotation=45)
    return ax.figure


def plot_pixel_histogram(x: np.ndarray, ax: Axes | None = None, title: str = "pixel values") -> Figure:
    """Histograms of the red, green and blue values of the images ``x``."""
    ax = _new_axes(ax, (6, 3))
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected images of shape (N, height, width, 3), got {x.shape}.")
    bins = np.linspace(x.min(), x.max(), 65)
    for channel, colour in enumerate(("red", "green", "blue")):
        ax.hist(x[..., channel].ravel(), bins=bins, color=colour, alpha=0.4, label=colour)
    ax.set(title=title, xlabel="value", ylabel="count")
    ax.legend()
    return ax.figure


def plot_confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str], ax: Axes | None = None,
                          title: str = "confusion matrix (rows: true class)") -> Figure:
    """Confusion matrix normalized per true class: row ``i`` says where images of class ``i`` went."""
    ax = _new_axes(ax, (6.5, 5.5))
    ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=range(len(class_names)), display_labels=class_names, normalize="true",
        values_format=".2f", cmap="Blues", colorbar=False, ax=ax, text_kw={"fontsize": 7})
    ax.tick_params(axis="x", rotation=45)
    ax.set_title(title)
    return ax.figure


def plot_per_class_recall(y_true: np.ndarray, y_pred: Mapping[str, np.ndarray], class_names: Sequence[str],
                          ax: Axes | None = None, title: str = "recall per class") -> Figure:
    """Grouped bars of per-class recall; ``y_pred`` maps a run name to its predicted labels."""
    if not isinstance(y_pred, Mapping):
        raise TypeError("y_pred must map a run name to predicted labels, e.g. {'baseline': val_pred}.")
    ax = _new_axes(ax, (8, 3.5))
    width = 0.8 / len(y_pred)
    positions = np.arange(len(class_names))
    for i, (name, predicted) in enumerate(y_pred.items()):
        recall = per_class_recall(y_true, predicted, len(class_names))
        ax.bar(positions + (i - (len(y_pred) - 1) / 2) * width, recall, width, label=name)
    ax.set_xticks(positions, class_names, rotation=45)
    ax.set(ylim=(0, 1), ylabel="recall", title=title)
    ax.legend(fontsize="small")
    return ax.figure


def plot_learning_curve(runs: Mapping[int, TrainingResult], references: Mapping[str, float] | None = None,
                        ax: Axes | None = None, title: str = "learning curve over training-set size") -> Figure:
    """Best validation and final training accuracy against images per class (log axis).

    ``runs`` maps images per class to the :class:`TrainingResult` of that size;
    ``references`` maps a label to an accuracy drawn as a horizontal line (e.g. a fix
    trained on one of the sizes), to read off what amount of data it is worth.
    """
    if not runs:
        raise ValueError("runs is empty: pass {images_per_class: TrainingResult, ...}.")
    _check_results(list(runs.values()))
    ax = _new_axes(ax, (7, 4))
    sizes = sorted(runs)
    val = [runs[n].best_val_accuracy for n in sizes]
    train_acc = [runs[n].train_accuracy for n in sizes]
    ax.plot(sizes, train_acc, "o-", color="C0", label="training (final)")
    ax.plot(sizes, val, "o--", color="C1", label="validation (best epoch)")
    ax.fill_between(sizes, val, train_acc, color="C0", alpha=0.1, label="gap")
    for i, (label, accuracy) in enumerate((references or {}).items()):
        ax.axhline(accuracy, color=f"C{i + 2}", linestyle=":", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()
    ax.set(xlabel="training images per class (log scale)", ylabel="accuracy", ylim=(0, 1.02), title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax.figure


def show_augmented(augment: keras.Layer, images: np.ndarray, n: int = 8,
                   title: str = "as augmentation shows images to the model") -> Figure:
    """One row per ``uint8`` image (or a single image): the original, then ``n - 1`` random
    augmentations by ``augment`` (a Keras layer or ``keras.Sequential``)."""
    images = np.asarray(images)
    images = images[None] if images.ndim == 3 else images
    fig, axes = _figure(len(images), n, figsize=(1.3 * n, 1.45 * len(images) + 0.3))
    for row, image in zip(axes, images):
        batch = np.repeat(image[None], n - 1, axis=0).astype("float32")
        augmented = np.clip(keras.ops.convert_to_numpy(augment(batch, training=True)), 0, 255).astype(np.uint8)
        for i, (ax, picture) in enumerate(zip(row, np.concatenate([image[None], augmented]))):
            ax.imshow(picture)
            ax.axis("off")
    for i, ax in enumerate(axes[0]):
        ax.set_title("original" if i == 0 else f"random #{i}", fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def plot_histograms(arrays: Mapping[str, np.ndarray], bins: int = 60, title: str | None = None) -> Figure:
    """One histogram per named array, side by side, each on its own x-range (log counts),
    with the range printed above: for comparing inputs or activations of several models."""
    if not isinstance(arrays, dict) or not arrays:
        raise TypeError("arrays must map a name to an array, e.g. {'raw input': x}.")
    fig, axes = _figure(1, len(arrays), figsize=(3.6 * len(arrays), 2.8))
    for i, (ax, (name, values)) in enumerate(zip(axes[0], arrays.items())):
        values = np.asarray(values, dtype="float64").ravel()
        values = values[np.isfinite(values)]
        if values.size == 0:
            ax.set_title(f"{name}\nno finite values: all NaN or infinite", fontsize=9, color="red")
            continue
        ax.hist(values, bins=bins, color=f"C{i}", log=True)
        ax.set_title(f"{name}\nrange {values.min():.3g} to {values.max():.3g}", fontsize=9)
        ax.set_xlabel("value")
    axes[0][0].set_ylabel("count (log)")
    if title:
        fig.suptitle(title)
    return fig


def plot_lr_range(result: RangeTestResult, marks: Mapping[str, float] | None = None, suggest: bool = True,
                  ax: Axes | None = None, title: str = "learning-rate range test", label: str | None = None,
                  color: str = "C0") -> Figure:
    """Loss against learning rate (log axis) from ``lr_range.lr_range_test``: each batch faintly,
    the smoothed curve boldly, the suggested rate dashed (unless ``suggest=False``), and ``marks``
    (a label mapped to a learning rate, e.g. your runs' rates) as dotted lines.

    To compare tests (e.g. two optimizers) on one plot, pass the first call's axes as ``ax`` to the
    next, each with its own ``label`` and ``color``: the vertical range then covers every curve."""
    if not hasattr(result, "smoothed"):
        raise TypeError(f"expected what lr_range_test() returns, got {type(result).__name__}.")
    earlier = ax.get_ylim() if ax is not None and ax.lines else None
    ax = _new_axes(ax, (7, 4))
    smooth = result.smoothed()
    ax.plot(result.learning_rates, result.losses, color=color, alpha=0.25, linewidth=1,
            label=None if label else "loss of each batch")
    ax.plot(result.learning_rates, smooth, color=color, linewidth=2, label=label or "smoothed")
    if suggest:
        ax.axvline(result.suggestion(), color="C2" if label is None else color, linestyle="--",
                   label=f"{label + ', ' if label else ''}suggested: {result.suggestion():.1e}")
    for i, (mark, rate) in enumerate((marks or {}).items()):
        ax.axvline(rate, color=f"C{(i + 3) % 10}", linestyle=":", linewidth=2, label=mark)
    finite = smooth[np.isfinite(smooth)]
    if finite.size:  # the last steps shoot up: keep the interesting part in view
        low, high = finite.min() * 0.95, max(min(finite.max(), finite[0] * 1.25), finite[0] * 1.02)
        if earlier is not None:
            low, high = min(low, earlier[0]), max(high, earlier[1])
        ax.set_ylim(low, high)
    ax.set_xscale("log")
    ax.set(xlabel="learning rate (log scale)", ylabel="training loss", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax.figure


def plot_fingerprint(fingerprint: Fingerprint, class_names: Sequence[str]) -> Figure:
    """The sanity checks of one pipeline together: its loss before training against ln K, a copy of
    it training on one small batch, its learning curves, and the classes it predicts after training."""
    if not isinstance(fingerprint, Fingerprint):
        raise TypeError(f"expected a sanity.Fingerprint, got {type(fingerprint).__name__}.")
    fig, axes = _figure(2, 2, figsize=(11, 6.6))
    (init_ax, overfit_ax), (curves_ax, counts_ax) = axes
    init_ax.bar(["before training"], [fingerprint.initial_loss], color="C0", width=0.5)
    init_ax.axhline(fingerprint.expected_loss, color="C2", linestyle="--",
                    label=f"ln {fingerprint.num_classes} = {fingerprint.expected_loss:.2f}: an even guess")
    init_ax.set(title=f"loss at init: {fingerprint.initial_loss:.2f}", ylabel="loss")
    init_ax.legend(fontsize="small", loc="lower right")
    overfit = fingerprint.overfit
    steps = np.arange(1, len(overfit.accuracies) + 1)
    overfit_ax.plot(steps, overfit.accuracies, color="C1")
    overfit_ax.axhline(overfit.target, color="C2", linestyle="--", label=f"learned: {overfit.target:.0%}")
    verdict = f"learned in {overfit.steps_to_fit} steps" if overfit.passed else "not learned"
    overfit_ax.set(title=f"one batch, again and again: {verdict}", xlabel="step", ylabel="accuracy on that batch",
                   ylim=(0, 1.05))
    overfit_ax.legend(fontsize="small", loc="lower right")
    overfit_ax.grid(alpha=0.3)
    history = fingerprint.history
    epochs = np.arange(1, len(history["loss"]) + 1)
    for key, style in (("accuracy", "-"), ("val_accuracy", "--")):
        if key in history:
            curves_ax.plot(epochs, history[key], "o" + style, color="C0",
                           label="validation" if key.startswith("val") else "training")
    curves_ax.axhline(1 / fingerprint.num_classes, color="C3", linestyle=":", label="chance: 1/K")
    curves_ax.set(title="accuracy during training", ylim=(0, 1), ylabel="accuracy")
    _epoch_axis(curves_ax)
    curves_ax.legend(fontsize="small")
    plot_class_counts(np.repeat(np.arange(len(fingerprint.predicted_counts)), fingerprint.predicted_counts),
                      class_names, ax=counts_ax, title="predicted classes after training (validation)")
    fig.suptitle(fingerprint.name)
    return fig


def plot_memorization(history: Mapping[str, Sequence[float]], memorization: Mapping[str, Sequence[float]],
                      title: str | None = None) -> Figure:
    """The signature of noisy labels, from one run's Keras ``history`` (with clean validation
    labels) and a :class:`cnncourse.noise.LabelFitTracker`'s ``history`` (``memorization``).

    Left: training accuracy on the given labels, on the true labels, and validation accuracy,
    with the best validation epoch marked. Right: the training images whose label is wrong:
    how many the model predicts as their true class, and how many as the wrong label it is taught."""
    missing = [key for key in ("val_accuracy",) if key not in history]
    missing += [key for key in MEMORIZATION_KEYS if key not in memorization]
    if missing:
        raise ValueError(f"need a fit history with val_accuracy and a LabelFitTracker's history; missing: {missing}.")
    fig, axes = _figure(1, 2, figsize=(11, 3.8), sharey=True)
    curves_ax, flipped_ax = axes[0]
    val = np.asarray(history["val_accuracy"])
    epochs = np.arange(1, len(val) + 1)
    curves_ax.plot(epochs, memorization["given"], color="C0", label="training, on the given labels")
    curves_ax.plot(epochs, memorization["true"], color="C0", linestyle=":", label="training, on the true labels")
    curves_ax.plot(epochs, val, color="C1", linestyle="--", label="validation (clean labels)")
    best = int(np.argmax(val))
    curves_ax.plot(epochs[best], val[best], "o", color="C1")
    curves_ax.annotate(f"best: epoch {best + 1}", (epochs[best], val[best]), textcoords="offset points",
                       xytext=(0, 8), ha="center", fontsize="small")
    curves_ax.set(title="accuracy", ylim=(0, 1), ylabel="accuracy")
    curves_ax.legend(fontsize="small", loc="upper left")
    _epoch_axis(curves_ax)
    if np.all(np.isnan(memorization["flipped_given"])):
        flipped_ax.text(0.5, 0.5, "no wrong labels in this run", ha="center", va="center",
                        transform=flipped_ax.transAxes)
    else:
        flipped_ax.plot(epochs, memorization["flipped_true"], color="C2", label="predicted as their true class")
        flipped_ax.plot(epochs, memorization["flipped_given"], color="C3", label="predicted as the wrong label")
        flipped_ax.legend(fontsize="small", loc="upper left")
    flipped_ax.set(title="training images with a wrong label")
    _epoch_axis(flipped_ax)
    if title:
        fig.suptitle(title)
    return fig


def plot_layer_profiles(profiles: Mapping[str, Sequence[float] | pd.Series], ylabel: str, log: bool = False,
                        ax: Axes | None = None, title: str | None = None) -> Figure:
    """One value per layer for several models, one line each, input side on the left: e.g. the
    gradient that reaches each layer (``depth.gradient_rms``) or a column of ``depth.activation_stats``.
    ``profiles`` maps a model's name to its values. Layers are numbered from 1, because models built
    separately name their layers differently. ``log=True`` for values spanning orders of magnitude."""
    if not isinstance(profiles, Mapping) or not profiles:
        raise TypeError("profiles must map a model's name to one value per layer, e.g. {'relu': gradient_rms(...)}.")
    ax = _new_axes(ax, (6.5, 4))
    for name, values in profiles.items():
        values = np.asarray(values, dtype=float)
        ax.plot(np.arange(1, len(values) + 1), values, marker=".", label=name)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel="layer (1 = next to the input)", ylabel=ylabel, title=title or ylabel)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize="small")
    return ax.figure


def plot_train_val(histories: Mapping[str, Mapping[str, Sequence[float]]], metric: str = "accuracy",
                   title: str | None = None) -> Figure:
    """One panel per run: the training (solid) and validation (dashed) curve of ``metric``, panels
    side by side on one scale. ``histories`` maps a run's name to its Keras history."""
    if not isinstance(histories, Mapping) or not histories:
        raise TypeError("histories must map a run's name to its history, e.g. {'small': model.fit(...).history}.")
    missing = [name for name, history in histories.items() if metric not in history or f"val_{metric}" not in history]
    if missing:
        raise ValueError(f"need {metric!r} and 'val_{metric}' in the history of {missing}.")
    fig, axes = _figure(1, len(histories), figsize=(4.2 * len(histories), 3.5), sharey=True)
    for ax, (name, history) in zip(axes[0], histories.items()):
        epochs = np.arange(1, len(history[metric]) + 1)
        ax.plot(epochs, history[metric], color="C0", label="training")
        ax.plot(epochs, history[f"val_{metric}"], color="C1", linestyle="--", label="validation")
        ax.set(title=name)
        _epoch_axis(ax)
    axes[0][0].set(ylabel=metric, ylim=(0, 1) if metric == "accuracy" else None)
    axes[0][0].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def plot_waterfall(steps: Mapping[str, float], chance: float | None = None, ax: Axes | None = None,
                   title: str = "what each fix gained") -> Figure:
    """A waterfall chart: ``steps`` maps each stage, in order (the first is where one starts), to the
    accuracy reached after it; each bar after the first spans the change that stage made, green up,
    red down, labelled with its gain in points. ``chance`` draws a dashed line at chance level."""
    if not isinstance(steps, Mapping) or not steps:
        raise TypeError("steps must map each stage to its accuracy, e.g. {'as posted': 0.17, 'fix the loss': 0.4}.")
    names, values = list(steps), np.asarray(list(steps.values()), dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"every stage needs a finite accuracy, got {dict(steps)}.")
    ax = _new_axes(ax, (1.5 + 1.3 * len(names), 4))
    previous = np.concatenate([[0.0], values[:-1]])
    for i, (name, value, before) in enumerate(zip(names, values, previous)):
        start, color = (0.0, "0.55") if i == 0 else (before, "tab:green" if value >= before else "tab:red")
        ax.bar(i, value - start, bottom=start, color=color, width=0.6)
        label = f"{value:.0%}" if i == 0 else f"{100 * (value - before):+.0f} pts"
        ax.text(i, max(value, start) + 0.01, label, ha="center", va="bottom", fontsize="small")
        if i:
            ax.plot([i - 1.3, i - 0.3], [before, before], color="0.4", linewidth=0.8)
    if chance is not None:
        ax.axhline(chance, color="0.3", linestyle="--", linewidth=1, label=f"chance ({chance:.0%})")
        ax.legend(fontsize="small", loc="upper left")
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize="small")
    ax.set(ylabel="validation accuracy", ylim=(0, min(1.0, values.max() + 0.12)), title=title)
    ax.grid(axis="y", alpha=0.3)
    return ax.figure


def plot_accuracy_over_time(runs: Mapping[str, tuple[Sequence[float], Sequence[float]]], at: float | None = None,
                            ax: Axes | None = None, title: str = "validation accuracy against training time"
                            ) -> Figure:
    """Validation accuracy against seconds of training, one line per run: ``runs`` maps a run's name to
    ``(seconds, val_accuracy)``, one value per epoch (``TimeBudget.seconds`` and the history's
    ``val_accuracy``). ``at`` marks a moment with a vertical line."""
    if not isinstance(runs, Mapping) or not runs:
        raise TypeError("runs must map a run's name to (seconds, val_accuracy), one value of each per epoch.")
    ax = _new_axes(ax, (6.5, 4))
    for name, (seconds, accuracy) in runs.items():
        if len(seconds) != len(accuracy):
            raise ValueError(f"{name!r}: {len(seconds)} times but {len(accuracy)} accuracies; need one of each "
                             "per epoch.")
        ax.plot([0, *seconds], [np.nan, *accuracy], marker="o", label=name)
    if at is not None:
        ax.axvline(at, color="0.3", linestyle=":", linewidth=1)
    ax.set(xlabel="seconds of training", ylabel="validation accuracy", ylim=(0, 1), title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax.figure


def plot_confidence_threshold(y_true: np.ndarray, probabilities: np.ndarray, threshold: float,
                              title: str | None = None) -> Figure:
    """A classifier that answers only where its top class has probability ``threshold`` or more, and
    abstains elsewhere. Left: how sure the model was on the images it got right and wrong, the abstained
    ones shaded. Right: accuracy on the answered images against the share it answers for, every threshold
    on one curve, this one marked. Computed from ``probabilities`` (one row of class probabilities per
    image, ``model.predict(x)``), so it takes well under a second."""
    probabilities, y_true = np.asarray(probabilities), np.asarray(y_true)
    if probabilities.ndim != 2 or len(probabilities) != len(y_true) or len(y_true) == 0:
        raise ValueError(f"need one row of class probabilities per label: got probabilities of shape "
                         f"{probabilities.shape} for {len(y_true)} labels (use model.predict(x), not the classes).")
    confidence = probabilities.max(axis=1)
    right = probabilities.argmax(axis=1) == y_true
    answered = confidence >= threshold
    share, accuracy = answered.mean(), right[answered].mean() if answered.any() else np.nan
    fig, (left, right_ax) = new_figure(1, 2, figsize=(11, 3.8))
    bins = np.linspace(1 / probabilities.shape[1], 1, 19)
    left.hist([confidence[right], confidence[~right]], bins=bins, stacked=True, color=["tab:green", "tab:red"],
              label=["right", "wrong"])
    left.axvspan(0, threshold, color="0.5", alpha=0.2, label="abstains")
    left.axvline(threshold, color="0.2", linewidth=1)
    left.set(xlim=(0, 1), xlabel="probability of the predicted class", ylabel="images",
             title="how sure it was")
    left.legend(fontsize="small", loc="upper left")
    # Every threshold at once: answer for the k most confident images, k = 1 ... all.
    order = np.argsort(-confidence, kind="stable")
    counts = np.unique(np.linspace(1, len(order), 400).astype(int))  # 400 points draw the curve as well as all
    right_ax.plot(counts / len(order), np.cumsum(right[order])[counts - 1] / counts, color="C0")
    right_ax.axhline(right.mean(), color="0.4", linestyle=":", label=f"answering for all: {right.mean():.0%}")
    if answered.any():
        right_ax.plot(share, accuracy, "o", color="0.1", label=f"threshold {threshold:g}")
    right_ax.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="share of images answered",
                 ylabel="accuracy on the answered images", title="the trade-off")
    right_ax.grid(alpha=0.3)
    right_ax.legend(fontsize="small", loc="lower left")
    share_text = f"{share:.{0 if share >= 0.1 else 1}%}"
    fig.suptitle(title or (f"threshold {threshold:g}: answers for {share_text} of the images, right on "
                           f"{accuracy:.0%} of those" if answered.any() else
                           f"threshold {threshold:g}: answers for none of the images"))
    return fig


def plot_learning_curve_fit(sizes: Sequence[int] | np.ndarray, accuracies: Sequence[float] | np.ndarray, at: float,
                            val_size: int, upto: float | None = None, ax: Axes | None = None,
                            title: str | None = None) -> Figure:
    """Measured accuracy per training-set size (images per class), the straight line fitted through it
    against log(size), and what the line reads at ``at`` images per class. Every point carries the 95 %
    interval of an accuracy measured on ``val_size`` images (:func:`cnncourse.metrics.wilson_interval`; the
    legend gives its half-width, about ±3 points on 1,000 images at 50 %). Outside the measured
    sizes the line is dashed and the title says the reading is an extrapolation. ``upto`` fixes the
    right end of the axis (e.g. the slider's largest size), so that the view stays still."""
    sizes, accuracies = np.asarray(sizes, dtype=float), np.asarray(accuracies, dtype=float)
    if sizes.ndim != 1 or sizes.shape != accuracies.shape or len(sizes) < 2 or np.any(sizes <= 0):
        raise ValueError(f"need two or more positive sizes with one accuracy each, got sizes {sizes.tolist()} and "
                         f"accuracies {accuracies.tolist()}.")
    if at <= 0:
        raise ValueError(f"at must be a positive number of images per class, got {at!r}.")
    slope, intercept = np.polyfit(np.log2(sizes), accuracies, 1)
    predicted = float(slope * np.log2(at) + intercept)

    def interval(p):
        """The distances from ``p`` down and up to the ends of its 95 % interval on ``val_size`` images."""
        bottom, top = wilson_interval(np.clip(p, 0, 1) * val_size, val_size)
        return np.clip([p - bottom, top - p], 0, None)  # beyond [0, 1]: the interval of 0 or 1, stretched to p

    ax = _new_axes(ax, (7.5, 4.2))
    low, high = sizes.min(), sizes.max()
    right_end = max(high, at, upto or 0)
    left_end = min(low, at)
    inside = np.geomspace(low, high, 50)
    ax.plot(inside, slope * np.log2(inside) + intercept, color="C1",
            label=f"fitted line: {100 * slope:+.1f} points per doubling")
    for a, b in ((left_end, low), (high, right_end)):
        if b > a:
            outside = np.geomspace(a, b, 50)
            ax.plot(outside, slope * np.log2(outside) + intercept, color="C1", linestyle="--")
    ax.errorbar(sizes, accuracies, yerr=interval(accuracies), fmt="o", color="C1", capsize=3,
                label=f"measured (±95 % on {val_size:,} images)")
    extrapolated = not low <= at <= high
    down, up = interval(predicted)
    ax.errorbar([at], [predicted], yerr=[[down], [up]], fmt="*", markersize=12, color="C3", capsize=3,
                label=f"line at {at:g} per class: {predicted:.0%} ± {(down + up) / 2:.0%}")
    if extrapolated:
        ax.axvspan(high if at > high else left_end / 1.2, right_end * 1.2 if at > high else low, color="C3",
                   alpha=0.06, label="beyond the measured sizes")
    ax.set_xscale("log", base=2)
    ticks = sorted({*sizes.tolist(), float(at)})
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks], fontsize="small")
    ax.minorticks_off()
    ax.set(xlim=(left_end / 1.2, right_end * 1.2), ylim=(0, 1), xlabel="training images per class (log scale)",
           ylabel="validation accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", loc="upper left")
    how = (f"EXTRAPOLATED {abs(np.log2(at / (high if at > high else low))):.1f} doublings beyond the data: real "
           "curves bend and flatten") if extrapolated else "between measured sizes"
    ax.set_title(title or f"at {at:g} images per class the line reads {predicted:.1%}\n{how}", fontsize="medium")
    return ax.figure


def plot_class_mix(mix: np.ndarray, class_names: Sequence[str], ax: Axes | None = None,
                   title: str | None = None) -> Figure:
    """The share of each class in each batch, as stacked bars, one bar per batch in the order ``fit`` sees
    them: ``mix`` is ``folders.class_mix(...)``. A shuffled pipeline shows every colour in every bar; files
    read in sorted order show one colour per bar. The title gives the mean share of a batch's commonest class."""
    mix = np.asarray(mix, dtype=float)
    if mix.ndim != 2 or mix.shape[1] != len(class_names):
        raise ValueError(f"mix must have one row per batch and one column per class ({len(class_names)}), "
                         f"got shape {mix.shape}.")
    ax = _new_axes(ax, (8, 3))
    colours = plt.get_cmap("tab10" if len(class_names) <= 10 else "tab20")
    bottom = np.zeros(len(mix))
    for k, name in enumerate(class_names):
        ax.bar(np.arange(1, len(mix) + 1), mix[:, k], bottom=bottom, width=1.0, color=colours(k), label=name)
        bottom += mix[:, k]
    purity = mix.max(axis=1).mean()
    ax.set(xlabel="batch, in the order fit sees them", ylabel="share of the batch", ylim=(0, 1),
           xlim=(0.5, len(mix) + 0.5),
           title=title or f"class mix per batch: the commonest class takes {purity:.0%} of a batch on average")
    ax.legend(fontsize="x-small", ncol=1, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return ax.figure


def plot_batch_losses(losses: Mapping[str, Sequence[float]], ax: Axes | None = None,
                      title: str = "training loss of each batch") -> Figure:
    """The loss of every training batch, one line per run (``BatchLosses().losses``): a shuffled run's loss
    falls with some noise; one fed a class at a time saws up at every change of class."""
    if not isinstance(losses, Mapping) or not losses:
        raise TypeError("losses must map a run's name to its per-batch losses, e.g. {'shuffled': cb.losses}.")
    ax = _new_axes(ax, (8, 3))
    for name, values in losses.items():
        ax.plot(np.arange(1, len(values) + 1), values, linewidth=0.9, label=name)
    ax.set(xlabel="training step (batch)", ylabel="loss", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax.figure
