"""Interactive controls that explore results a notebook already computed.

A control must answer within about a second, so nothing here trains: the lesson computes
the results first, and the control only chooses which of them to draw.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as widgets
import keras
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from matplotlib.figure import Figure

from cnncourse.models import augmentation_layers
from cnncourse.plots import show_augmented


def _redraw_into(output: widgets.Output, draw: Callable[[], Any]) -> None:
    """Replace what ``output`` shows by what ``draw()`` makes: the figure or figures it returns
    (what :mod:`cnncourse.plots` returns), or whatever it drew with pyplot or displayed."""
    with output:
        output.clear_output(wait=True)
        shown = draw()
        figures = [shown] if isinstance(shown, Figure) else shown if isinstance(shown, (list, tuple)) else []
        for figure in figures:
            display(figure)
        plt.show()


def explore(render: Callable[[Any], Any], options: Iterable, description: str, value: Any = None) -> widgets.VBox:
    """A slider over ``options`` that redraws ``render(option)`` below it.

    ``options`` is a list of values or of ``(label, value)`` pairs; ``render`` returns a figure
    or a tuple of figures (e.g. ``return plots.plot_history(run)``), or draws with pyplot or
    ``display``. Returns the widget (the slider above its output): end a cell with it to show
    it. ``widget.slider`` is the slider.
    """
    options = list(options)
    if not options:
        raise ValueError("explore() needs at least one option to show.")
    if not callable(render):
        raise TypeError(f"render must be a function of one option, got {type(render).__name__}.")
    slider = widgets.SelectionSlider(options=options, description=description, continuous_update=False,
                                     style={"description_width": "initial"}, layout=widgets.Layout(width="60%"))
    if value is not None:
        slider.value = value
    output = widgets.Output()

    slider.observe(lambda _: _redraw_into(output, lambda: render(slider.value)), names="value")
    _redraw_into(output, lambda: render(slider.value))
    box = widgets.VBox([slider, output])
    box.slider = slider
    return box


def augmentation_preview(images: np.ndarray, n: int = 6, seed: int = 0) -> widgets.VBox:
    """Strength controls for ``models.augmentation_layers`` above a grid of ``images`` (``uint8``,
    one row each) as the model would see them: the original, then ``n - 1`` random draws.

    The draws are seeded, so moving a slider shows the same random moves made stronger or weaker.
    Nothing trains: a change augments a few images (well under a second). ``widget.controls``
    maps each argument of ``augmentation_layers`` to its control.
    """
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or len(images) == 0:
        raise ValueError(f"images should be a batch of colour images (count, height, width, 3), "
                         f"got shape {images.shape}: e.g. x_train[:4].")
    style = {"description_width": "initial"}
    controls = {"flip": widgets.Checkbox(value=True, description="flip left-right", style=style)}
    for name, label in (("shift", "shift (fraction of size)"), ("zoom", "zoom in/out (fraction)"),
                        ("rotation", "rotation (fraction of a turn)")):
        controls[name] = widgets.FloatSlider(value=0.1 if name != "rotation" else 0.0, min=0, max=0.5, step=0.05,
                                             description=label, continuous_update=False, style=style)
    output = widgets.Output()

    def draw():
        strengths = {name: control.value for name, control in controls.items()}
        augment = keras.Sequential(augmentation_layers(seed=seed, **strengths))
        shown = ", ".join(f"{name} {value:g}" for name, value in strengths.items() if name != "flip" and value)
        return show_augmented(augment, images, n=n, title=f"flip {'on' if strengths['flip'] else 'off'}; "
                                                   f"{shown or 'no shift, zoom or rotation'}")

    for control in controls.values():
        control.observe(lambda _: _redraw_into(output, draw), names="value")
    _redraw_into(output, draw)
    box = widgets.VBox([widgets.HBox(list(controls.values())[:2]), widgets.HBox(list(controls.values())[2:]), output])
    box.controls = controls
    return box

