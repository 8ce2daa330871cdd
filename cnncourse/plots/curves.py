"""Curves over training: learning curves per epoch, runs compared, the gap, the learning-rate range test,
accuracy against training time or per batch, and accuracy against training-set size."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cnncourse.metrics import wilson_interval
from cnncourse.plots.figures import axes_or_new, epoch_axis, figure_grid

if TYPE_CHECKING:  # both modules import Keras; the plots need only their results
    from cnncourse.lr_range import RangeTestResult
    from cnncourse.training import TrainingResult


_TITLES = {"loss": "loss (lower is better)", "accuracy": "accuracy"}


def _check_results(results: Sequence[TrainingResult]) -> None:
    from cnncourse.training import TrainingResult  # here, not at the top: it imports Keras

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
    fig, axes = figure_grid(1, len(metrics), figsize=(5.5 * len(metrics), 3.8))
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
        epoch_axis(ax)
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
    ax = axes_or_new(ax, (6.5, 4))
    for name, history in histories.items():
        ax.plot(np.arange(1, len(history[metric]) + 1), history[metric], marker=".", label=name)
    ax.set(title=title or metric, ylabel=metric.replace("val_", "validation "))
    epoch_axis(ax)
    ax.legend(fontsize="small")
    return ax.figure


def plot_comparison(*results: TrainingResult, metric: str = "accuracy", cols: int = 4,
                    title: str | None = None) -> Figure:
    """Runs side by side: one panel of training and validation curves each, on the same y-axis,
    ``cols`` panels per row. :func:`comparison_table` gives the same runs' numbers."""
    _check_results(results)
    rows = -(-len(results) // cols)
    fig, axes = figure_grid(rows, min(cols, len(results)), figsize=(4.5 * min(cols, len(results)), 3.5 * rows),
                        sharey=True)
    for ax, r in zip(axes.flat, results):
        epochs = np.arange(1, r.epochs + 1)
        ax.plot(epochs, r.history[metric], label="train")
        ax.plot(epochs, r.history[f"val_{metric}"], linestyle="--", label="validation")
        ax.set(title=r.name)
        epoch_axis(ax)
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
    fig, axes = figure_grid(1, 2, figsize=(11, 3.8))
    axes = axes[0]
    epochs, best = np.arange(1, result.epochs + 1), result.best_epoch
    for ax, metric in zip(axes, ("loss", "accuracy")):
        train, val = result.history[metric], result.history[f"val_{metric}"]
        ax.plot(epochs, train, color="C0", label="training")
        ax.plot(epochs, val, color="C1", linestyle="--", label="validation")
        ax.fill_between(epochs, train, val, color="C3", alpha=0.15, label="gap")
        ax.axvline(best, color="C2", linestyle=":", linewidth=2, label=f"lowest validation loss: epoch {best}")
        ax.set(title=_TITLES[metric])
        epoch_axis(ax)
    axes[1].annotate(f"gap {result.gap:.2f}", xy=(epochs[-1], (result.train_accuracy + result.val_accuracy) / 2),
                     xytext=(-6, 0), textcoords="offset points", ha="right", va="center", color="C3")
    axes[0].legend(fontsize="small")
    fig.suptitle(f"{result.name}: training against validation")
    return fig


def comparison_table(*results: TrainingResult) -> pd.DataFrame:
    """Final train/validation accuracy, their gap and the run time of each run, as a DataFrame."""
    _check_results(results)
    return pd.DataFrame([r.summary() for r in results]).set_index("run")


def plot_train_val(histories: Mapping[str, Mapping[str, Sequence[float]]], metric: str = "accuracy",
                   title: str | None = None) -> Figure:
    """One panel per run: the training (solid) and validation (dashed) curve of ``metric``, panels
    side by side on one scale. ``histories`` maps a run's name to its Keras history."""
    if not isinstance(histories, Mapping) or not histories:
        raise TypeError("histories must map a run's name to its history, e.g. {'small': model.fit(...).history}.")
    missing = [name for name, history in histories.items() if metric not in history or f"val_{metric}" not in history]
    if missing:
        raise ValueError(f"need {metric!r} and 'val_{metric}' in the history of {missing}.")
    fig, axes = figure_grid(1, len(histories), figsize=(4.2 * len(histories), 3.5), sharey=True)
    for ax, (name, history) in zip(axes[0], histories.items()):
        epochs = np.arange(1, len(history[metric]) + 1)
        ax.plot(epochs, history[metric], color="C0", label="training")
        ax.plot(epochs, history[f"val_{metric}"], color="C1", linestyle="--", label="validation")
        ax.set(title=name)
        epoch_axis(ax)
    axes[0][0].set(ylabel=metric, ylim=(0, 1) if metric == "accuracy" else None)
    axes[0][0].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def plot_accuracy_over_time(runs: Mapping[str, tuple[Sequence[float], Sequence[float]]], at: float | None = None,
                            ax: Axes | None = None, title: str = "validation accuracy against training time",
                            xlabel: str = "seconds of training") -> Figure:
    """Validation accuracy against what training has spent, one line per run: ``runs`` maps a run's name to
    ``(spent, val_accuracy)``, one value per epoch: seconds (``TimeBudget.seconds``) or compute (``xlabel`` says
    which), and the history's ``val_accuracy``. ``at`` marks a moment with a vertical line."""
    if not isinstance(runs, Mapping) or not runs:
        raise TypeError("runs must map a run's name to (seconds, val_accuracy), one value of each per epoch.")
    ax = axes_or_new(ax, (6.5, 4))
    for name, (seconds, accuracy) in runs.items():
        if len(seconds) != len(accuracy):
            raise ValueError(f"{name!r}: {len(seconds)} times but {len(accuracy)} accuracies; need one of each "
                             "per epoch.")
        ax.plot([0, *seconds], [np.nan, *accuracy], marker="o", label=name)
    if at is not None:
        ax.axvline(at, color="0.3", linestyle=":", linewidth=1)
    ax.set(xlabel=xlabel, ylabel="validation accuracy", ylim=(0, 1), title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax.figure


def plot_steps_and_images(*results: TrainingResult,
                          title: str | None = "the same runs, counted two ways") -> Figure:
    """Validation accuracy of runs that differ in batch size, against training steps (left) and against images
    trained on (right), from each run's ``steps_per_epoch`` and ``images_per_epoch`` (what ``train`` records): a
    bigger batch learns more per step, a smaller one more per image."""
    _check_results(results)
    uncounted = [r.name for r in results if not (r.steps_per_epoch and r.images_per_epoch)]
    if uncounted:
        raise ValueError(f"no steps or images per epoch recorded for {uncounted}: pass runs that train() returned.")
    fig, axes = figure_grid(1, 2, figsize=(11, 3.8))
    top = max(float(np.nanmax(r.history["val_accuracy"])) for r in results)
    for ax, per, xlabel, panel in zip(axes[0], ("steps_per_epoch", "images_per_epoch"),
                                      ("training steps (batches)", "images trained on"), ("per step", "per image")):
        plot_accuracy_over_time({r.name: (np.arange(1, r.epochs + 1) * getattr(r, per), r.history["val_accuracy"])
                                 for r in results}, ax=ax, xlabel=f"{xlabel}, log scale", title=panel)
        ax.set_xscale("log")  # runs a factor of 8 apart in steps or images stay readable side by side
        ax.set_ylim(0, min(1.0, top + 0.1))
    if title:
        fig.suptitle(title)
    return fig


def plot_batch_losses(losses: Mapping[str, Sequence[float]], ax: Axes | None = None,
                      title: str = "training loss of each batch") -> Figure:
    """The loss of every training batch, one line per run (``BatchLosses().losses``): a shuffled run's loss
    falls with some noise; one fed a class at a time saws up at every change of class."""
    if not isinstance(losses, Mapping) or not losses:
        raise TypeError("losses must map a run's name to its per-batch losses, e.g. {'shuffled': cb.losses}.")
    ax = axes_or_new(ax, (8, 3))
    for name, values in losses.items():
        ax.plot(np.arange(1, len(values) + 1), values, linewidth=0.9, label=name)
    ax.set(xlabel="training step (batch)", ylabel="loss", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax.figure


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
    ax = axes_or_new(ax, (7, 4))
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
    ax = axes_or_new(ax, (7, 4))
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

    ax = axes_or_new(ax, (7.5, 4.2))
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
