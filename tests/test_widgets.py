import matplotlib

matplotlib.use("Agg")
import ipywidgets  # noqa: E402
import pytest  # noqa: E402

from cnncourse.widgets import explore  # noqa: E402


def test_explore_renders_first_option_then_each_new_value():
    seen = []
    box = explore(seen.append, [10, 100, 1000], "size")
    slider = box.slider
    assert isinstance(box, ipywidgets.VBox) and box.children[0] is slider
    assert isinstance(slider, ipywidgets.SelectionSlider)
    assert seen == [10]
    slider.value = 1000
    assert seen == [10, 1000]
    assert not slider.continuous_update  # redraw on release, not on every pixel of a drag


def test_explore_accepts_labelled_options_and_a_start_value():
    seen = []
    explore(seen.append, [("low", 1e-5), ("high", 1.0)], "lr", value=1.0)
    assert seen == [1.0]


def test_explore_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one option"):
        explore(print, [], "x")
    with pytest.raises(TypeError, match="render must be a function"):
        explore("not callable", [1], "x")
