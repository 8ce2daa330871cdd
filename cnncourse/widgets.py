"""Interactive controls that explore results a notebook already computed.

A control must answer within about a second, so nothing here trains: the lesson computes
the results first, and the control only chooses which of them to draw.
"""
import ipywidgets as widgets
import matplotlib.pyplot as plt


def explore(render, options, description, value=None):
    """A slider over ``options`` that redraws ``render(option)`` below it.

    ``options`` is a list of values or of ``(label, value)`` pairs; ``render`` draws with
    Matplotlib (or displays anything). Returns the widget (the slider above its output):
    end a cell with it to show it. ``widget.slider`` is the slider.
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

    def redraw(_=None):
        with output:
            output.clear_output(wait=True)
            render(slider.value)
            plt.show()

    slider.observe(redraw, names="value")
    redraw()
    box = widgets.VBox([slider, output])
    box.slider = slider
    return box
