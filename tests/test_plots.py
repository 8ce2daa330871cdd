import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from cnncourse import metrics, plots  # noqa: E402
from cnncourse.training import TrainingResult  # noqa: E402

NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def result(name, acc, val_acc):
    history = {"loss": [2.0, 1.5, 1.2], "val_loss": [2.1, 1.7, 1.6], "accuracy": acc, "val_accuracy": val_acc}
    return TrainingResult(name=name, history=history, seconds=3.2, model=None)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_plot_history_overlays_runs_train_solid_validation_dashed():
    a = result("a", [0.3, 0.5, 0.7], [0.3, 0.4, 0.45])
    b = result("b", [0.2, 0.4, 0.5], [0.2, 0.35, 0.4])
    fig = plots.plot_history(a, b)
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in acc_ax.lines] == ["a (train)", "a (validation)", "b (train)", "b (validation)"]
    assert [line.get_linestyle() for line in acc_ax.lines] == ["-", "--", "-", "--"]
    assert list(acc_ax.lines[1].get_ydata()) == [0.3, 0.4, 0.45]
    assert list(acc_ax.lines[0].get_xdata()) == [1, 2, 3]
    assert "loss" in loss_ax.get_title()


def test_plot_history_rejects_other_things():
    with pytest.raises(ValueError, match="at least one"):
        plots.plot_history()
    with pytest.raises(TypeError, match="TrainingResult"):
        plots.plot_history({"loss": [1]})


def test_plot_comparison_draws_a_panel_per_run_and_comparison_table_has_their_numbers():
    before = result("before", [0.5, 0.9, 0.99], [0.3, 0.35, 0.36])
    after = result("after", [0.4, 0.5, 0.6], [0.4, 0.5, 0.55])
    fig = plots.plot_comparison(before, after)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["before", "after"]
    assert all(float(t).is_integer() for t in axes[0].get_xticks()), "epochs are whole numbers"
    table = plots.comparison_table(before, after)
    assert list(table.index) == ["before", "after"]
    assert table.loc["before", "gap"] == pytest.approx(0.63)
    assert table.loc["after", "val accuracy"] == pytest.approx(0.55)


def test_plot_comparison_wraps_panels_into_rows_and_hides_the_spare_ones():
    runs = [result(f"run {i}", [0.5, 0.7, 0.9], [0.4, 0.45, 0.42]) for i in range(5)]
    fig = plots.plot_comparison(*runs, cols=3)
    axes = fig.axes
    assert len(axes) == 6
    assert [ax.get_title() for ax in axes if ax.get_visible()] == [f"run {i}" for i in range(5)]
    assert not axes[5].get_visible()
    assert plots.comparison_table(*runs).loc["run 3", "best val accuracy"] == pytest.approx(0.45)


def test_plot_gap_shades_the_gap_and_marks_the_lowest_validation_loss():
    run = TrainingResult(name="plain", seconds=1.0, model=None, history={
        "loss": [2.0, 1.4, 1.0, 0.6], "val_loss": [2.1, 1.6, 1.7, 2.0],
        "accuracy": [0.3, 0.5, 0.7, 0.9], "val_accuracy": [0.3, 0.4, 0.42, 0.41]})
    assert run.best_epoch == 2
    fig = plots.plot_gap(run)
    loss_ax, acc_ax = fig.axes
    for ax in (loss_ax, acc_ax):
        assert len(ax.collections) == 1, "the shaded gap"
        marker = [line for line in ax.lines if line.get_linestyle() == ":"]
        assert list(marker[0].get_xdata()) == [2, 2]
        assert "epoch 2" in marker[0].get_label()
    assert "gap 0.49" in [t.get_text() for t in acc_ax.texts]
    assert "plain" in fig.get_suptitle()


def test_show_images_marks_wrong_predictions_in_red():
    x = np.zeros((3, 32, 32, 3), dtype=np.uint8)
    fig = plots.show_images(x, np.array([0, 1, 2]), NAMES, y_pred=np.array([0, 3, 2]), n=3, cols=3)
    titles = [(ax.get_title(), ax.title.get_color()) for ax in fig.axes]
    assert titles[0] == ("airplane", "black")
    assert titles[1] == ("cat\n(automobile)", "red")
    with pytest.raises(ValueError, match="empty"):
        plots.show_images(x[:0], np.array([]), NAMES)


def test_plot_class_counts_bars_are_the_counts():
    fig = plots.plot_class_counts(np.array([0, 0, 1, 9]), NAMES)
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    assert heights == [2, 1, 0, 0, 0, 0, 0, 0, 0, 1]


def test_plot_pixel_histogram_counts_every_value_per_channel():
    x = np.random.default_rng(0).integers(0, 256, size=(5, 4, 4, 3), dtype=np.uint8)
    fig = plots.plot_pixel_histogram(x)
    ax = fig.axes[0]
    assert len(ax.patches) == 3 * 64
    assert sum(p.get_height() for p in ax.patches) == x.size
    with pytest.raises(ValueError, match="N, height, width, 3"):
        plots.plot_pixel_histogram(np.zeros((4, 4)))


def test_per_class_recall_and_its_plot():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 0])
    np.testing.assert_allclose(metrics.per_class_recall(y_true, y_pred, 3), [0.5, 1.0, 0.0])
    fig = plots.plot_per_class_recall(y_true, {"m": y_pred}, NAMES[:3])
    assert [bar.get_height() for bar in fig.axes[0].patches] == [0.5, 1.0, 0.0]
    with pytest.raises(TypeError, match="map a run name"):
        plots.plot_per_class_recall(y_true, y_pred, NAMES[:3])


def test_confusion_matrix_rows_are_normalized_per_true_class():
    fig = plots.plot_confusion_matrix(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), ("a", "b"))
    image = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(image, [[0.5, 0.5], [0.0, 1.0]])


def test_learning_curve_plots_best_validation_per_size_on_a_log_axis():
    runs = {100: result("100", [0.5, 0.9], [0.3, 0.45]), 25: result("25", [0.6, 1.0], [0.2, 0.25])}
    fig = plots.plot_learning_curve(runs, references={"fix": 0.4})
    ax = fig.axes[0]
    train_line, val_line, ref_line = ax.lines
    assert list(val_line.get_xdata()) == [25, 100]
    assert list(val_line.get_ydata()) == [0.25, 0.45]
    assert list(train_line.get_ydata()) == [1.0, 0.9]
    assert list(ref_line.get_ydata()) == [0.4, 0.4]
    assert ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="empty"):
        plots.plot_learning_curve({})


def test_show_augmented_shows_the_original_then_augmented_copies():
    import keras
    image = np.random.default_rng(0).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    fig = plots.show_augmented(keras.layers.RandomFlip("horizontal", seed=1), image, n=6)
    axes = fig.axes
    assert len(axes) == 6 and axes[0].get_title() == "original"
    np.testing.assert_array_equal(axes[0].images[0].get_array(), image)
    shown = [ax.images[0].get_array() for ax in axes[1:]]
    assert all(np.array_equal(s, image) or np.array_equal(s, image[:, ::-1]) for s in shown)
    assert any(np.array_equal(s, image[:, ::-1]) for s in shown), "some copies should be flipped"


def test_show_augmented_draws_a_row_per_image():
    import keras
    images = np.random.default_rng(0).integers(0, 256, size=(3, 32, 32, 3), dtype=np.uint8)
    fig = plots.show_augmented(keras.layers.RandomTranslation(0.2, 0.2, seed=1), images, n=4)
    axes = fig.axes
    assert len(axes) == 12
    for row, image in enumerate(images):
        np.testing.assert_array_equal(axes[4 * row].images[0].get_array(), image)
        assert not np.array_equal(axes[4 * row + 1].images[0].get_array(), image), "shifted"


def test_plot_histograms_one_panel_per_array_with_its_range():
    fig = plots.plot_histograms({"a": np.array([0, 255, 10]), "b": np.array([0.0, 1.0, np.nan])})
    a, b = fig.axes
    assert "range 0 to 255" in a.get_title() and "range 0 to 1" in b.get_title()
    assert sum(p.get_height() for p in b.patches) == 2  # NaN left out
    with pytest.raises(TypeError, match="map a name"):
        plots.plot_histograms([1, 2])


def test_plot_history_switches_to_a_log_loss_axis_only_for_a_blown_up_run():
    calm = result("calm", [0.3, 0.5, 0.7], [0.3, 0.4, 0.45])
    fig = plots.plot_history(calm)
    assert fig.axes[0].get_yscale() == "linear"
    blown = TrainingResult(name="blown", history={"loss": [1e23, 2.3, 2.3], "val_loss": [2.3, 2.3, 2.3],
                                                  "accuracy": [0.1] * 3, "val_accuracy": [0.1] * 3},
                           seconds=1.0, model=None)
    fig = plots.plot_history(calm, blown)
    loss_ax = fig.axes[0]
    assert loss_ax.get_yscale() == "log" and "log scale" in loss_ax.get_title()


def test_plot_histograms_says_so_when_nothing_is_finite():
    fig = plots.plot_histograms({"blown up": np.full(10, np.nan), "fine": np.arange(3)})
    blown, fine = fig.axes
    assert "no finite values" in blown.get_title() and not blown.patches
    assert "range 0 to 2" in fine.get_title()


def test_plot_lr_range_marks_the_suggestion_and_the_given_rates():
    from cnncourse.lr_range import RangeTestResult
    result = RangeTestResult(np.geomspace(1e-5, 1, 6), np.array([2.3, 2.3, 2.0, 1.5, 3.0, 50.0]))
    fig = plots.plot_lr_range(result, marks={"my run": 1e-3})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert [line.get_xdata()[0] for line in ax.lines[2:]] == [result.suggestion(), 1e-3]
    assert ax.get_ylim()[1] < 50, "the explosion at the end must not squash the useful part"
    fig = plots.plot_lr_range(result, suggest=False)
    assert len(fig.axes[0].lines) == 2
    with pytest.raises(TypeError, match="lr_range_test"):
        plots.plot_lr_range([1, 2, 3])


def test_plot_lr_range_overlays_two_tests_on_one_axes():
    from cnncourse.lr_range import RangeTestResult
    rates = np.geomspace(1e-5, 1, 6)
    adam = RangeTestResult(rates, np.array([2.3, 2.0, 1.6, 3.0, 50.0, 90.0]))
    sgd = RangeTestResult(rates, np.array([2.3, 2.3, 2.3, 2.2, 1.2, 40.0]))
    ax = plots.plot_lr_range(adam, label="Adam").axes[0]
    plots.plot_lr_range(sgd, ax=ax, label="SGD", color="C1", title="two optimizers")
    labels = ax.get_legend_handles_labels()[1]
    assert {"Adam", "SGD"} <= set(labels) and any(label.startswith("SGD, suggested") for label in labels)
    assert ax.get_ylim()[0] <= sgd.smoothed().min(), "the second curve's low point must stay in view"
    assert ax.get_ylim()[1] >= 2.3 and ax.get_title() == "two optimizers"


def test_show_image_rows_draws_one_row_per_name():
    images = np.zeros((3, 4, 4, 3), dtype=np.uint8)
    fig = plots.show_image_rows({"a": images, "b": images[:2]}, title="t")
    assert sum(1 for ax in fig.axes if ax.images) == 5
    assert fig.axes[0].get_title(loc="left") == "a" and fig.axes[3].get_title(loc="left") == "b"
    with pytest.raises(TypeError, match="map a row name"):
        plots.show_image_rows([images])


def test_every_plot_returns_its_own_figure_outside_pyplot_or_the_figure_of_the_given_axes():
    run = result("a", [0.3, 0.5, 0.7], [0.3, 0.4, 0.45])
    y = np.array([0, 1, 2, 2])
    fig = plots.plot_history(run)
    assert isinstance(fig, Figure) and fig.axes and plt.get_fignums() == []
    assert isinstance(plots.plot_comparison(run, run), Figure) and isinstance(plots.plot_gap(run), Figure)
    own, (left, right) = plt.subplots(1, 2)
    assert plots.plot_class_counts(y, NAMES, ax=left) is own
    assert plots.plot_per_class_recall(y, {"run": y}, NAMES, ax=right) is own
    assert left.patches and right.patches


def test_a_returned_figure_shows_once_as_a_picture_in_a_kernel(tmp_path):
    """In Jupyter, a plot call that ends a cell shows its figure exactly once, as PNG, from the
    first figure of the session on."""
    from nbformat.v4 import new_code_cell, new_notebook

    from cnncourse.authoring.runner import NotebookRun

    nb = new_notebook(cells=[
        new_code_cell("import numpy as np\nfrom cnncourse import plots"),
        new_code_cell("plots.plot_class_counts(np.array([0, 1, 1]), ['a', 'b'])"),
        new_code_cell("fig = plots.plot_class_counts(np.array([0, 1, 1]), ['a', 'b'])\nprint('drawn')"),
        new_code_cell("display(fig)"),
    ])
    run = NotebookRun(nb, cwd=tmp_path)
    with run.kernel(quiet=True):
        for index in range(len(nb.cells)):
            run.run_cell(index, timeout=120)
    pictures = [sum("image/png" in output.get("data", {}) for output in cell.outputs) for cell in nb.cells]
    assert pictures == [0, 1, 0, 1]


def test_plot_metric_draws_one_line_per_run_and_names_a_missing_metric():
    histories = {"clean": {"val_accuracy": [0.3, 0.4, 0.5]}, "noisy": {"val_accuracy": [0.3, 0.35, 0.3]}}
    fig = plots.plot_metric(histories, "val_accuracy", title="t")
    lines = fig.axes[0].lines
    assert [line.get_label() for line in lines] == ["clean", "noisy"] and list(lines[1].get_ydata()) == [0.3, 0.35, 0.3]
    with pytest.raises(ValueError, match="no 'loss' in the history of \\['clean', 'noisy'\\]"):
        plots.plot_metric(histories, "loss")
    with pytest.raises(TypeError, match="map a run's name"):
        plots.plot_metric([{"val_accuracy": [0.1]}])


def test_plot_layer_profiles_draws_one_line_per_model_numbered_from_the_input():
    profiles = {"sigmoid": pd.Series([1e-9, 1e-5, 1e-2], index=["c1", "c2", "d"]), "relu": [0.01, 0.02, 0.02]}
    fig = plots.plot_layer_profiles(profiles, "gradient RMS", log=True)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["sigmoid", "relu"] and ax.get_yscale() == "log"
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3] and list(ax.lines[1].get_ydata()) == [0.01, 0.02, 0.02]
    with pytest.raises(TypeError, match="map a model's name"):
        plots.plot_layer_profiles([[1, 2]], "x")


def test_plot_train_val_draws_one_panel_per_run_and_names_a_missing_curve():
    histories = {"small": {"accuracy": [0.2, 0.3], "val_accuracy": [0.2, 0.28]},
                 "roomy": {"accuracy": [0.5, 0.9], "val_accuracy": [0.45, 0.4]}}
    fig = plots.plot_train_val(histories, title="t")
    assert [ax.get_title() for ax in fig.axes] == ["small", "roomy"]
    assert [line.get_label() for line in fig.axes[1].lines] == ["training", "validation"]
    assert list(fig.axes[1].lines[1].get_ydata()) == [0.45, 0.4]
    with pytest.raises(ValueError, match="'val_accuracy' in the history of \\['small'\\]"):
        plots.plot_train_val({"small": {"accuracy": [0.2]}})


def test_plot_waterfall_draws_each_step_as_its_change_and_labels_the_gain():
    steps = {"as posted": 0.17, "fix A": 0.17, "fix B": 0.45, "worse": 0.40}
    fig = plots.plot_waterfall(steps, chance=1 / 6)
    ax = fig.axes[0]
    bars = ax.patches
    assert [round(b.get_y(), 2) for b in bars] == [0, 0.17, 0.17, 0.45]  # each bar starts where the last ended
    assert [round(b.get_height(), 2) for b in bars] == [0.17, 0, 0.28, -0.05]
    assert [t.get_text() for t in ax.texts] == ["17%", "+0 pts", "+28 pts", "-5 pts"]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(steps)
    with pytest.raises(ValueError, match="finite accuracy"):
        plots.plot_waterfall({"as posted": float("nan")})
    with pytest.raises(TypeError, match="map each stage"):
        plots.plot_waterfall([0.1, 0.2])


def test_plot_accuracy_over_time_puts_each_epoch_at_its_training_seconds():
    runs = {"tutorial": ([2.0, 4.0], [0.4, 0.5]), "course": ([3.0, 6.0, 9.0], [0.3, 0.5, 0.6])}
    ax = plots.plot_accuracy_over_time(runs, at=5).axes[0]
    assert list(ax.lines[1].get_xdata()) == [0, 3.0, 6.0, 9.0] and list(ax.lines[1].get_ydata())[1:] == [0.3, 0.5, 0.6]
    assert ax.lines[-1].get_xdata()[0] == 5  # the moment marked
    with pytest.raises(ValueError, match="2 times but 1 accuracies"):
        plots.plot_accuracy_over_time({"x": ([1, 2], [0.3])})


def test_plot_steps_and_images_counts_each_epoch_in_steps_and_in_images():
    small = result("batch 64", [0.3, 0.5, 0.7], [0.3, 0.4, 0.45])
    small.steps_per_epoch, small.images_per_epoch = 47, 3000
    big = result("batch 512", [0.2, 0.4, 0.5], [0.2, 0.35, 0.4])
    big.steps_per_epoch, big.images_per_epoch = 6, 3000
    fig = plots.plot_steps_and_images(small, big, title="two batch sizes")
    by_step, by_image = fig.axes
    assert fig._suptitle.get_text() == "two batch sizes" and [by_step.get_title(), by_image.get_title()] == [
        "per step", "per image"]
    assert list(by_step.lines[1].get_xdata()) == [0, 6, 12, 18] and list(by_step.lines[0].get_xdata())[-1] == 141
    assert list(by_image.lines[0].get_xdata()) == list(by_image.lines[1].get_xdata()) == [0, 3000, 6000, 9000]
    assert list(by_image.lines[1].get_ydata())[1:] == [0.2, 0.35, 0.4]
    with pytest.raises(ValueError, match="no steps or images per epoch recorded for \\['by hand'\\]"):
        plots.plot_steps_and_images(small, result("by hand", [0.1] * 3, [0.1] * 3))


def test_plot_confidence_threshold_computes_the_share_answered_and_its_accuracy():
    # Four images: sure and right, sure and wrong, unsure and right, unsure and wrong.
    probabilities = np.array([[0.95, 0.05], [0.05, 0.95], [0.6, 0.4], [0.4, 0.6]])
    y_true = np.array([0, 0, 0, 0])
    fig = plots.plot_confidence_threshold(y_true, probabilities, threshold=0.9)
    assert "answers for 50% of the images, right on 50% of those" in fig._suptitle.get_text()
    left, right = fig.axes
    curve, marker = right.lines[0], right.lines[-1]
    assert list(curve.get_xdata()) == [0.25, 0.5, 0.75, 1.0]  # most confident first: 0.95, 0.95, 0.6, 0.6
    assert curve.get_ydata()[-1] == 0.5 and list(marker.get_xdata()) == [0.5] and list(marker.get_ydata()) == [0.5]
    assert sum(patch.get_height() for patch in left.patches[:-1]) == 4  # every image in the histogram (+ shading)
    none = plots.plot_confidence_threshold(y_true, probabilities, threshold=0.99)
    assert "answers for none" in none._suptitle.get_text()
    with pytest.raises(ValueError, match="one row of class probabilities"):
        plots.plot_confidence_threshold(y_true, probabilities.argmax(axis=1), threshold=0.5)


def test_plot_learning_curve_fit_reads_the_log_line_and_says_when_it_extrapolates():
    sizes, accuracies = [25, 50, 100, 200], [0.30, 0.35, 0.40, 0.45]  # +5 points per doubling
    fig = plots.plot_learning_curve_fit(sizes, accuracies, at=400, val_size=1000)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "reads 50.0%" in ax.get_title()
    assert "EXTRAPOLATED 1.0 doublings" in ax.get_title()
    assert "+5.0 points per doubling" in ax.get_legend_handles_labels()[1][0]
    assert any("50% ± 3%" in label for label in ax.get_legend_handles_labels()[1])
    inside = plots.plot_learning_curve_fit(sizes, accuracies, at=70, val_size=1000).axes[0]
    assert "between measured sizes" in inside.get_title()
    own, axes = plt.subplots(1, 2)
    assert plots.plot_learning_curve_fit(sizes, accuracies, at=800, val_size=1000, upto=4900, ax=axes[1]) is own
    assert axes[1].get_xlim()[1] >= 4900
    with pytest.raises(ValueError, match="two or more positive sizes"):
        plots.plot_learning_curve_fit([200], [0.45], at=400, val_size=1000)
