"""Figures made outside pyplot, and the styling the course's plots share.

Importing this module (``cnncourse.plots`` does) loads Matplotlib's display backend in a Jupyter kernel,
so that a returned figure shows as a picture from the first one on.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure


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


def figure_grid(rows: int = 1, cols: int = 1, figsize: tuple[float, float] = (6, 4),
                **subplots) -> tuple[Figure, np.ndarray]:
    """:func:`new_figure` with the axes always as a 2-D array (``axes[row][col]``)."""
    return new_figure(rows, cols, figsize, squeeze=False, **subplots)


def axes_or_new(ax: Axes | None, figsize: tuple[float, float] = (6, 4)) -> Axes:
    """``ax`` itself, or the axes of a new figure of ``figsize`` when ``ax`` is None: for the plots that
    take ``ax=``."""
    return figure_grid(figsize=figsize)[1][0][0] if ax is None else ax


def epoch_axis(ax: Axes) -> None:
    """Label the x-axis of ``ax`` as epochs, with whole-number ticks, and draw a light grid."""
    ax.set_xlabel("epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
