"""Images and data sets: grids of images with their labels, rows of images, images per class, pixel values,
the class mix of each batch, and what augmentation makes of an image."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cnncourse.plots.figures import axes_or_new, figure_grid

if TYPE_CHECKING:
    import keras


def show_images(x: np.ndarray, y: np.ndarray, class_names: Sequence[str], y_pred: np.ndarray | None = None,
                n: int = 16, cols: int = 8, title: str | None = None) -> Figure:
    """A grid of the first ``n`` images with their labels ``y``; with ``y_pred``, wrong
    predictions are titled in red as "predicted (true)"."""
    n = min(n, len(x))
    if n == 0:
        raise ValueError("no images to show: x is empty.")
    rows = int(np.ceil(n / cols))
    fig, axes = figure_grid(rows, cols, figsize=(1.3 * cols, 1.45 * rows))
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
    fig, axes = figure_grid(len(rows), cols, figsize=(1.3 * cols, 1.5 * len(rows)))
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
    ax = axes_or_new(ax, (7, 3))
    counts = np.bincount(y, minlength=len(class_names))
    ax.bar(class_names, counts, color="C0")
    ax.set(title=title, ylabel="images")
    ax.tick_params(axis="x", rotation=45)
    return ax.figure


def plot_pixel_histogram(x: np.ndarray, ax: Axes | None = None, title: str = "pixel values") -> Figure:
    """Histograms of the red, green and blue values of the images ``x``."""
    ax = axes_or_new(ax, (6, 3))
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected images of shape (N, height, width, 3), got {x.shape}.")
    bins = np.linspace(x.min(), x.max(), 65)
    for channel, colour in enumerate(("red", "green", "blue")):
        ax.hist(x[..., channel].ravel(), bins=bins, color=colour, alpha=0.4, label=colour)
    ax.set(title=title, xlabel="value", ylabel="count")
    ax.legend()
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
    ax = axes_or_new(ax, (8, 3))
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


def show_augmented(augment: keras.Layer, images: np.ndarray, n: int = 8,
                   title: str = "as augmentation shows images to the model") -> Figure:
    """One row per ``uint8`` image (or a single image): the original, then ``n - 1`` random
    augmentations by ``augment`` (a Keras layer or ``keras.Sequential``)."""
    import keras  # here, not at the top: only this plot needs Keras

    images = np.asarray(images)
    images = images[None] if images.ndim == 3 else images
    fig, axes = figure_grid(len(images), n, figsize=(1.3 * n, 1.45 * len(images) + 0.3))
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
