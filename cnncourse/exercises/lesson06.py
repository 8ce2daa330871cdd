"""Checks for lesson 06, "Stuck at chance: the loss, the labels and the pipeline"."""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from cnncourse.checks import Verdict, check_number, correct, is_single_number, not_attempted, wrong
from cnncourse.exercises.judging import (
    DOUBLE_SOFTMAX,
    as_probabilities,
    cross_entropy,
    first_line,
    looks_sigmoid,
    mismatch_hint,
    sigmoid_problem,
    uses_logits,
)
from cnncourse.sanity import class_indices


def check_repaired_compile(model: Any, x: np.ndarray, y: np.ndarray) -> Verdict:
    """Exercise 1: ``model`` compiled so that its loss is the cross-entropy of the distribution it
    predicts, for the integer labels ``y``, and its accuracy metric is the multi-class accuracy.
    Judged by what the compiled model reports on ``(x, y)``, not by how the loss is spelled."""
    if model is None:
        return not_attempted("model")
    if not isinstance(model, keras.Model):
        return wrong(f"`model` should be a Keras model, not a {type(model).__name__}.")
    if not getattr(model, "compiled", False) or getattr(model, "loss", None) is None:
        return wrong("`model` is not compiled yet.", "Call model.compile(optimizer=..., loss=..., metrics=[...]).")
    try:
        reported = model.evaluate(x, y, verbose=0, return_dict=True, batch_size=len(x))
        outputs = keras.ops.convert_to_numpy(model(x, training=False))
    except Exception as error:  # the learner's pairing may not even run: say what Keras said
        return wrong(f"Keras could not evaluate the compiled model on the integer labels: {first_line(error)}",
                     "The labels are integers (0-9), one per image: the loss for them is the *sparse* "
                     "categorical cross-entropy, and metrics=['accuracy'] picks the accuracy that fits them.")
    _, were_probabilities = as_probabilities(outputs)
    labels = class_indices(y)
    told_logits = uses_logits(model.loss)
    if were_probabilities and told_logits:
        return wrong(*DOUBLE_SOFTMAX)
    if looks_sigmoid(model, outputs):
        return wrong(*sigmoid_problem(model, told_logits, build="the model the exercise asks for, "
                                                                "build_model(output=None),"))
    expected = cross_entropy(outputs, labels)
    if not math.isclose(reported["loss"], expected, rel_tol=1e-3, abs_tol=1e-3):
        return wrong(f"The loss Keras reports ({reported['loss']:.3f}) is not the cross-entropy of the classes the "
                     f"model predicts ({expected:.3f}): loss and output do not fit.",
                     mismatch_hint(were_probabilities, told_logits))
    true_accuracy = float(np.mean(np.argmax(outputs, axis=1) == labels))
    accuracies = {name: value for name, value in reported.items() if "acc" in name}
    if not accuracies:
        return wrong("The loss is right, but the model reports no accuracy.", "Add metrics=['accuracy'].")
    if not any(math.isclose(value, true_accuracy, abs_tol=1e-4) for value in accuracies.values()):
        shown = ", ".join(f"{name} {value:.3f}" for name, value in accuracies.items())
        return wrong(f"The loss is right, but the accuracy reported ({shown}) is not the share of images whose "
                     f"most likely class is their label ({true_accuracy:.3f}).",
                     "metrics=['accuracy'] lets Keras pick the multi-class accuracy for these labels.")
    return correct(f"Correct: the loss Keras reports ({reported['loss']:.3f}) is the cross-entropy of the model's "
                   f"predictions, near ln 10 = 2.30 before training, and the accuracy is the real one.")


def _healthy_and_broken(build_model: Callable[..., keras.Model]) -> tuple[keras.Model, keras.Model]:
    keras.utils.set_random_seed(0)
    healthy = build_model()
    healthy.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    keras.utils.set_random_seed(0)
    broken = build_model(output=None)  # logits, read as probabilities by the loss
    broken.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return healthy, broken


CONTRADICTIONS = 2  # images of the batch shown twice, with two different labels


def contradictory_batch(x: np.ndarray, y: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` with its last ``CONTRADICTIONS`` images replaced by copies of its first ones under another label:
    no model labels both copies right, so at most ``len(x) - CONTRADICTIONS`` of its images (94 % of 32) can be
    right, and no model learns the batch by heart, however well it trains."""
    x, y = np.array(x, copy=True), class_indices(y).copy()
    x[-CONTRADICTIONS:], y[-CONTRADICTIONS:] = x[:CONTRADICTIONS], (y[:CONTRADICTIONS] + 1) % num_classes
    return x, y


def check_fits_one_batch(fits_one_batch: Any, build_model: Callable[..., keras.Model], x: np.ndarray,
                         y: np.ndarray) -> Verdict:
    """Exercise 2: ``fits_one_batch(model, x, y)`` trains a copy of a compiled model on one batch for 100 steps
    and returns True when the copy then labels (nearly) every image of the batch right: the lesson's own test
    (``sanity.overfit_one_batch``, 99 %). Tried on a healthy pipeline (must say True), on logits read as
    probabilities (must say False) and on the healthy pipeline with a batch that no model can learn by heart,
    two of its images shown twice under different labels (must say False: a function that judges without
    training, or is content with less than nearly every image, says True). The model it is given must come
    back untouched."""
    if fits_one_batch is None:
        return not_attempted("fits_one_batch")
    if not callable(fits_one_batch):
        return wrong(f"`fits_one_batch` should be a function, not a {type(fits_one_batch).__name__}.")
    try:
        healthy, broken = _healthy_and_broken(build_model)
        keras.utils.set_random_seed(0)
        unlearnable = build_model()
        unlearnable.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    except Exception as error:  # the lesson's builder, redefined by the learner into something else
        return wrong(f"The check could not build the lesson's models with `build_model`: {first_line(error)}",
                     "Run the lesson's cell that defines build_model again, then this check.")
    x_contradictory, y_contradictory = contradictory_batch(x, y, unlearnable.output_shape[-1])
    cases = (("healthy", healthy, x, y), ("broken", broken, x, y),
             ("unlearnable", unlearnable, x_contradictory, y_contradictory))
    answers = {}
    for name, model, images, labels in cases:
        before = [weights.copy() for weights in model.get_weights()]
        try:
            answer = fits_one_batch(model, images, labels)
        except Exception as error:
            return wrong(f"fits_one_batch raised {first_line(error)} on a compiled model.",
                         "Train a copy: keras.models.clone_model(model), copy.set_weights(model.get_weights()), "
                         "copy.compile(optimizer='adam', loss=model.loss).")
        if not isinstance(answer, (bool, np.bool_)):
            return wrong(f"fits_one_batch should return True or False, but returned {answer!r}.",
                         "Return whether the accuracy on the batch reached (nearly) 100 %.")
        if any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights())):
            return wrong("fits_one_batch changed the weights of the model it was given: after the check, that "
                         "model has been trained on one batch.",
                         "Train a copy: keras.models.clone_model(model), then copy.set_weights(model.get_weights()).")
        answers[name] = bool(answer)
    if not answers["healthy"]:
        return wrong("On a healthy model (softmax output, sparse cross-entropy), fits_one_batch said False: "
                     "it should learn one batch by heart.",
                     "Give it about 100 steps with Adam, and measure the accuracy on the batch itself "
                     "from the predicted classes (argmax).")
    if answers["broken"]:
        return wrong("On a broken model (logits read as probabilities by the loss), fits_one_batch said True. "
                     "Its loss does fall a little, but it never learns the batch.",
                     "Judge by the accuracy on the batch (argmax of the outputs against the labels), not by "
                     "whether the loss went down.")
    if answers["unlearnable"]:
        most = len(x) - CONTRADICTIONS
        return wrong(f"On the healthy model and a batch that no model can learn by heart ({CONTRADICTIONS} of its "
                     f"images appear twice, under two different labels, so at most {most} of {len(x)} = "
                     f"{most / len(x):.0%} can be right), fits_one_batch said True: it judges without training "
                     "a copy, or it is content with less than (nearly) every image of the batch.",
                     "Train a copy on the batch for 100 steps, then return True only when at least 99 % of the "
                     "batch's images get their own label (argmax of the copy's outputs), as "
                     "sanity.overfit_one_batch does.")
    return correct("Correct: it passes the healthy pipeline, fails the broken one and a batch no model can learn by "
                   "heart, and touches none of them.")


LN_WRONG = {
    "log10": (math.log10(6), "That is the base-10 logarithm; Keras' cross-entropy uses the natural log (np.log)."),
    "log2": (math.log2(6), "That is the base-2 logarithm; Keras' cross-entropy uses the natural log (np.log)."),
    "chance": (1 / 6, "1/6 is the accuracy of guessing, not the loss: the loss is -ln(1/6)."),
    "negative": (-math.log(6), "A cross-entropy is never negative: -ln(1/6) = ln 6."),
    "ten": (math.log(10), "ln 10 is the loss for 10 classes; this data set has 6."),
}


def check_loss_at_init(answer: Any) -> Verdict:
    """Exercise 3: the cross-entropy of an even guess over 6 classes, ln 6 ≈ 1.79."""
    if answer is None:
        return not_attempted("expected_loss")
    if is_single_number(answer):
        for value, explanation in LN_WRONG.values():
            if math.isclose(float(answer), value, abs_tol=0.006):
                return wrong(f"`expected_loss` is {float(answer):.3g}. {explanation}")
    return check_number(answer, math.log(6), name="expected_loss", atol=0.006,
                        hint="An even guess gives each class probability 1/6; the loss is -ln(1/6).",
                        success=f"Correct: ln 6 = {math.log(6):.3f}. A 6-class model whose loss starts far from "
                                "1.79 has outputs and loss that do not fit.")
