"""Inside a model: histograms of the values entering or leaving layers, and one value per layer for several
models (the gradient reaching each layer, activation statistics)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from cnncourse.plots.figures import axes_or_new, figure_grid


def plot_histograms(arrays: Mapping[str, np.ndarray], bins: int = 60, title: str | None = None) -> Figure:
    """One histogram per named array, side by side, each on its own x-range (log counts),
    with the range printed above: for comparing inputs or activations of several models."""
    if not isinstance(arrays, dict) or not arrays:
        raise TypeError("arrays must map a name to an array, e.g. {'raw input': x}.")
    fig, axes = figure_grid(1, len(arrays), figsize=(3.6 * len(arrays), 2.8))
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


def plot_layer_profiles(profiles: Mapping[str, Sequence[float] | pd.Series], ylabel: str, log: bool = False,
                        ax: Axes | None = None, title: str | None = None) -> Figure:
    """One value per layer for several models, one line each, input side on the left: e.g. the
    gradient that reaches each layer (``depth.gradient_rms``) or a column of ``depth.activation_stats``.
    ``profiles`` maps a model's name to its values. Layers are numbered from 1, because models built
    separately name their layers differently. ``log=True`` for values spanning orders of magnitude."""
    if not isinstance(profiles, Mapping) or not profiles:
        raise TypeError("profiles must map a model's name to one value per layer, e.g. {'relu': gradient_rms(...)}.")
    ax = axes_or_new(ax, (6.5, 4))
    for name, values in profiles.items():
        values = np.asarray(values, dtype=float)
        ax.plot(np.arange(1, len(values) + 1), values, marker=".", label=name)
    if log:
        ax.set_yscale("log")
    ax.set(xlabel="layer (1 = next to the input)", ylabel=ylabel, title=title or ylabel)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize="small")
    return ax.figure
