"""What a trained model predicts: the confusion matrix, recall per class, and answering only when sure."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay

from cnncourse.metrics import per_class_recall
from cnncourse.plots.figures import axes_or_new, new_figure


def plot_confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str], ax: Axes | None = None,
                          title: str = "confusion matrix (rows: true class)") -> Figure:
    """Confusion matrix normalized per true class: row ``i`` says where images of class ``i`` went."""
    ax = axes_or_new(ax, (6.5, 5.5))
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
    ax = axes_or_new(ax, (8, 3.5))
    width = 0.8 / len(y_pred)
    positions = np.arange(len(class_names))
    for i, (name, predicted) in enumerate(y_pred.items()):
        recall = per_class_recall(y_true, predicted, len(class_names))
        ax.bar(positions + (i - (len(y_pred) - 1) / 2) * width, recall, width, label=name)
    ax.set_xticks(positions, class_names, rotation=45)
    ax.set(ylim=(0, 1), ylabel="recall", title=title)
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
