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


def test_augmentation_preview_redraws_with_the_new_strength(monkeypatch):
    import numpy as np

    from cnncourse import widgets as course_widgets

    drawn = []
    def record(augment, images, n, title):
        drawn.append(([type(layer).__name__ for layer in augment.layers], title))

    monkeypatch.setattr(course_widgets, "show_augmented", record)
    images = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    box = course_widgets.augmentation_preview(images, n=4)
    assert drawn[-1] == (["RandomFlip", "RandomTranslation", "RandomZoom"], "flip on; shift 0.1, zoom 0.1")
    box.controls["rotation"].value = 0.2
    assert drawn[-1][0] == ["RandomFlip", "RandomTranslation", "RandomZoom", "RandomRotation"]
    box.controls["flip"].value = False
    box.controls["shift"].value = 0.0
    assert drawn[-1] == (["RandomZoom", "RandomRotation"], "flip off; zoom 0.1, rotation 0.2")


def test_augmentation_preview_draws_real_images_and_rejects_a_single_image():
    import numpy as np

    from cnncourse.widgets import augmentation_preview

    images = np.random.default_rng(0).integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    augmentation_preview(images, n=3)  # the real drawing path, end to end
    with pytest.raises(ValueError, match=r"x_train\[:4\]"):
        augmentation_preview(images[0])


def test_explore_displays_the_figures_render_returns(monkeypatch):
    from matplotlib.figure import Figure

    from cnncourse import widgets as course_widgets

    shown = []
    monkeypatch.setattr(course_widgets, "display", shown.append)
    one, two = Figure(), Figure()
    box = explore(lambda option: one if option == "one" else (one, two), ["one", "two"], "figures")
    assert shown == [one]
    box.slider.value = "two"
    assert shown == [one, one, two]
