"""The figures the lessons read: learning curves, data overviews, per-class diagnostics.

One contract for every function here:

- it **returns its figure**, a Matplotlib ``Figure``. Jupyter shows it when the call ends a cell,
  exactly once, like any other value (a DataFrame, a widget); elsewhere in a cell, pass it to
  ``display(...)``, or save it with ``fig.savefig(...)``. The figures are made without pyplot, so
  nothing else shows them a second time and nothing piles up in pyplot's list of open figures.
  ``new_figure`` makes such a figure for drawings of your own.
- a function that draws on **one set of axes** takes ``ax=`` to draw into a figure of your own
  (e.g. one panel of ``new_figure(1, 2)``) and then returns that axes' figure.
- the same thing has the same name everywhere: ``y`` for the labels of the images ``x``,
  ``y_true``/``y_pred`` for true and predicted labels, ``class_names``, ``title``.

Every function is imported from here (``plots.plot_history``); they live in submodules by subject:
:mod:`~cnncourse.plots.curves` (over training and over training-set size),
:mod:`~cnncourse.plots.images` (images and data sets), :mod:`~cnncourse.plots.predictions`
(what a model predicts), :mod:`~cnncourse.plots.internals` (values inside a model),
:mod:`~cnncourse.plots.pipelines` (whole pipelines at a glance) and :mod:`~cnncourse.plots.figures`
(``new_figure`` and the shared styling). Importing them does not import Keras.
"""
from cnncourse.plots.curves import (
    comparison_table,
    plot_accuracy_over_time,
    plot_batch_losses,
    plot_comparison,
    plot_gap,
    plot_history,
    plot_learning_curve,
    plot_learning_curve_fit,
    plot_lr_range,
    plot_metric,
    plot_steps_and_images,
    plot_train_val,
)
from cnncourse.plots.figures import new_figure
from cnncourse.plots.images import (
    plot_class_counts,
    plot_class_mix,
    plot_pixel_histogram,
    show_augmented,
    show_image_rows,
    show_images,
)
from cnncourse.plots.internals import plot_histograms, plot_layer_profiles
from cnncourse.plots.pipelines import plot_fingerprint, plot_memorization, plot_waterfall
from cnncourse.plots.predictions import plot_confidence_threshold, plot_confusion_matrix, plot_per_class_recall

__all__ = [
    "comparison_table",
    "new_figure",
    "plot_accuracy_over_time",
    "plot_batch_losses",
    "plot_class_counts",
    "plot_class_mix",
    "plot_comparison",
    "plot_confidence_threshold",
    "plot_confusion_matrix",
    "plot_fingerprint",
    "plot_gap",
    "plot_histograms",
    "plot_history",
    "plot_layer_profiles",
    "plot_learning_curve",
    "plot_learning_curve_fit",
    "plot_lr_range",
    "plot_memorization",
    "plot_metric",
    "plot_per_class_recall",
    "plot_pixel_histogram",
    "plot_steps_and_images",
    "plot_train_val",
    "plot_waterfall",
    "show_augmented",
    "show_image_rows",
    "show_images",
]
