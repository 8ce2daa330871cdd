"""Whole pipelines at a glance: the sanity checks of one pipeline, the signature of noisy labels, and what
each fix of a broken pipeline gained."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cnncourse.plots.figures import axes_or_new, epoch_axis, figure_grid
from cnncourse.plots.images import plot_class_counts

if TYPE_CHECKING:
    from cnncourse.sanity import Fingerprint


def plot_fingerprint(fingerprint: Fingerprint, class_names: Sequence[str]) -> Figure:
    """The sanity checks of one pipeline together: its loss before training against ln K, a copy of
    it training on one small batch, its learning curves, and the classes it predicts after training."""
    from cnncourse.sanity import Fingerprint  # here, not at the top: sanity imports Keras

    if not isinstance(fingerprint, Fingerprint):
        raise TypeError(f"expected a sanity.Fingerprint, got {type(fingerprint).__name__}.")
    fig, axes = figure_grid(2, 2, figsize=(11, 6.6))
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
    epoch_axis(curves_ax)
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
    from cnncourse.noise import MEMORIZATION_KEYS  # here, not at the top: noise imports Keras

    missing = [key for key in ("val_accuracy",) if key not in history]
    missing += [key for key in MEMORIZATION_KEYS if key not in memorization]
    if missing:
        raise ValueError(f"need a fit history with val_accuracy and a LabelFitTracker's history; missing: {missing}.")
    fig, axes = figure_grid(1, 2, figsize=(11, 3.8), sharey=True)
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
    epoch_axis(curves_ax)
    if np.all(np.isnan(memorization["flipped_given"])):
        flipped_ax.text(0.5, 0.5, "no wrong labels in this run", ha="center", va="center",
                        transform=flipped_ax.transAxes)
    else:
        flipped_ax.plot(epochs, memorization["flipped_true"], color="C2", label="predicted as their true class")
        flipped_ax.plot(epochs, memorization["flipped_given"], color="C3", label="predicted as the wrong label")
        flipped_ax.legend(fontsize="small", loc="upper left")
    flipped_ax.set(title="training images with a wrong label")
    epoch_axis(flipped_ax)
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
    ax = axes_or_new(ax, (1.5 + 1.3 * len(names), 4))
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
