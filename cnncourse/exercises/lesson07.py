"""Checks for lesson 07, "Noisy labels"."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cnncourse.checks import Verdict, correct, not_attempted, read_number, returned_none, shown, wrong
from cnncourse.noise import most_suspicious

SUSPECTS_MARGIN = 0.10  # a ranking this far below the self-confidence ranking's precision still passes


def _as_indices(answer: Any, n: int) -> tuple[np.ndarray | None, str]:
    """Image indices from a list, array or pandas object of whole numbers, or from a boolean mask
    of length ``n``; else None and what is wrong with the answer."""
    if isinstance(answer, (str, bytes, dict, set)) or np.ndim(answer) == 0:
        return None, f"should be a list or array of image indices, not a {type(answer).__name__}"
    try:
        values = np.asarray(answer)
    except (TypeError, ValueError):
        return None, f"should be a list or array of image indices, not a {type(answer).__name__}"
    if values.ndim != 1:
        return None, f"should be a flat list of image indices, but it has shape {values.shape}"
    if values.dtype == bool:
        if len(values) != n:
            return None, f"is a True/False mask of length {len(values)}, but there are {n} training images"
        return np.flatnonzero(values), ""
    if values.size and not np.issubdtype(values.dtype, np.number):
        return None, f"should hold whole numbers (image indices), but it holds {values.dtype} values"
    if values.size and not np.all(np.isfinite(values.astype(float)) & (values.astype(float) % 1 == 0)):
        return None, "should hold whole numbers (image indices), but some are not whole"
    indices = values.astype("int64")
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        return None, f"holds indices from {indices.min()} to {indices.max()}, but images are numbered 0 to {n - 1}"
    return indices, ""


SUSPECTS_RETURN = "return np.argsort(scores)[:k]"
SUSPECTS_EXAMPLE = ("def find_suspects(probabilities, labels, k):\n"
                    "    scores = ...  # one number per image: how likely its given label is\n"
                    f"    {SUSPECTS_RETURN}")


def planted_labels(n: int, rate: float, *, num_classes: int = 10, seed: int = 0,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Made-up out-of-fold ``probabilities`` of ``n`` images, their given labels and which of those were flipped
    (a share ``rate``, each to another class): a model that knows each image's true class to a varying degree,
    as the lesson's fold models do. The checks call a learner's function on these too, so that a value copied
    from the notebook cannot pass."""
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, num_classes, n)
    flipped = np.zeros(n, bool)
    flipped[rng.choice(n, int(round(rate * n)), replace=False)] = True
    y_given = np.where(flipped, (y_true + rng.integers(1, num_classes, n)) % num_classes, y_true)
    logits = rng.normal(0, 1, (n, num_classes))
    logits[np.arange(n), y_true] += rng.uniform(0, 4, n)  # how sure the model is of the true class
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probabilities.astype("float32"), y_given, flipped


# The second data set the check calls `find_suspects` on: other images, another noise rate, another k.
HIDDEN_SUSPECTS = {"n": 1500, "rate": 0.3, "k": 200, "seed": 7}


def _judge_suspects(answer: Any, probabilities: np.ndarray, y_given: np.ndarray, flipped: np.ndarray, k: int,
                    call: str) -> tuple[Verdict | None, int, float]:
    """What ``call`` returned, judged as the k suspects among these images: ``(a wrong verdict or None, how many
    of them are planted wrong labels, their precision)``."""
    indices, problem = _as_indices(answer, len(flipped))
    if indices is None:
        return wrong(f"`{call}` {problem}.", "np.argsort(scores)[:k] gives the indices of the k smallest "
                                              "scores."), 0, 0.0
    if len(indices) > probabilities.shape[1] and len(np.unique(indices)) <= probabilities.shape[1]:
        return wrong(f"`{call}` returns only the numbers {sorted(set(indices.tolist()))}: those look like class "
                     "labels, not image indices.",
                     "np.argsort(scores)[:k] gives the positions (indices) of the k smallest scores."), 0, 0.0
    if len(np.unique(indices)) != len(indices):
        return wrong(f"`{call}` names some images more than once: {len(np.unique(indices))} different images "
                     f"among {len(indices)}.", "Pick k different images."), 0, 0.0
    if len(indices) != k:
        return wrong(f"`{call}` names {len(indices)} images; it was asked for k = {k}.",
                     "Use the argument k rather than a number of your own: [:k]."), 0, 0.0
    precision, hits = float(np.mean(flipped[indices])), int(np.sum(flipped[indices]))
    reference = float(np.mean(flipped[most_suspicious(probabilities, y_given, k)]))
    if precision < reference - SUSPECTS_MARGIN:
        base_rate = float(np.mean(flipped))
        hint = ("Score each image by the probability its out-of-fold prediction gives to its *given* label "
                "(probabilities[np.arange(n), labels]); the suspects are the k *lowest* scores.")
        if precision <= base_rate + 0.05:
            hint = f"That is no better than picking at random ({base_rate:.0%} of all labels are wrong). " + hint
        return wrong(f"{hits} of the {k} suspects from `{call}` have a wrong label (precision {precision:.0%}); "
                     f"ranking by the probability of the given label finds {reference:.0%}.", hint), hits, precision
    return None, hits, precision


def check_suspects(find_suspects: Any, probabilities: np.ndarray, y_given: np.ndarray, flipped: np.ndarray,
                   k: int) -> Verdict:
    """Exercise 1: ``find_suspects(probabilities, labels, k)``, a function that returns the ``k`` images whose given
    label looks most wrong to the out-of-fold ``probabilities``. Called on the lesson's images and on a made-up
    set (:data:`HIDDEN_SUSPECTS`), and judged each time by how many of its picks are planted flips (``flipped``),
    against the ranking by the probability given to the given label; any order passes. A list of indices from
    the notebook (its own ``suspicious[:300]``, or the planted flips themselves) is no answer: the exercise is the
    ranking, and only a function can show it on images whose answer is not in the notebook."""
    if find_suspects is None:
        return not_attempted("find_suspects")
    if not callable(find_suspects):
        return wrong(f"`find_suspects` should be a function, not {shown(find_suspects)}: the check calls it on the "
                     "lesson's out-of-fold predictions and on a second set of images whose wrong labels are not in "
                     "this notebook, so a list of indices (such as the lesson's suspicious[:300]) cannot pass.",
                     SUSPECTS_EXAMPLE)
    flipped, probabilities, y_given = np.asarray(flipped, dtype=bool), np.asarray(probabilities), np.asarray(y_given)
    hidden = planted_labels(HIDDEN_SUSPECTS["n"], HIDDEN_SUSPECTS["rate"], seed=HIDDEN_SUSPECTS["seed"])
    results = []
    for (probs, labels, truth, wanted), which in [((probabilities, y_given, flipped, k), "lesson"),
                                                  ((*hidden, HIDDEN_SUSPECTS["k"]), "hidden")]:
        call = f"find_suspects(probabilities, labels, {wanted})"
        try:
            answer = find_suspects(probs.copy(), labels.copy(), wanted)
        except Exception as error:  # a learner's function can fail in any way; say how
            used = (" Does it use the notebook's variables (out_of_fold, y_noisy) instead of its arguments? They "
                    f"hold {len(y_given)} images, the check's {len(labels)}.") if which == "hidden" else ""
            return wrong(f"`{call}` raised {type(error).__name__}: {error}.{used}", SUSPECTS_EXAMPLE)
        if answer is None:
            return returned_none(find_suspects, "find_suspects", call, returns=SUSPECTS_RETURN)
        verdict, hits, precision = _judge_suspects(answer, probs, labels, truth, wanted, call)
        if verdict is not None:
            if which == "hidden":
                return wrong(f"On the lesson's images your function works, but on the check's own ({len(labels)} "
                             f"images, {truth.mean():.0%} of their labels wrong, k = {wanted}): {verdict.message}",
                             "It must rank the images it is given: use only its arguments probabilities, labels "
                             "and k, not the notebook's out_of_fold, y_noisy, suspicious or flipped.")
            return verdict
        results.append((hits, precision))
    (hits, precision), (hidden_hits, hidden_precision) = results
    return correct(f"Correct: {hits} of your {k} suspects have a planted wrong label (precision {precision:.0%}; "
                   f"{np.mean(flipped):.0%} of all labels are wrong, so a random pick would find that many). On the "
                   f"check's own images it finds {hidden_precision:.0%}.")


def noise_rate_estimates(agreement: float, clean_accuracy: float, num_classes: int) -> tuple[float, float]:
    """Two estimates of a symmetric noise rate r from how often the predictions agree with the given
    labels (``agreement``) and how often the same models are right on clean labels (``clean_accuracy``):

    - first order, ignoring the chance that a wrong label happens to be predicted:
      agreement ≈ (1 - r) * accuracy, so r ≈ 1 - agreement / accuracy;
    - exact for symmetric noise, with that chance, (1 - accuracy) / (K - 1):
      agreement = (1 - r) * accuracy + r * (1 - accuracy) / (K - 1).
    """
    lucky = (1 - clean_accuracy) / (num_classes - 1)
    return 1 - agreement / clean_accuracy, (clean_accuracy - agreement) / (clean_accuracy - lucky)


def confusion_for(rate: float, clean_accuracy: float, *, num_classes: int = 10, per_class: int = 400) -> np.ndarray:
    """Given labels (rows) against predictions (columns) as a model right on ``clean_accuracy`` of clean images
    makes them where a share ``rate`` of the labels was flipped symmetrically: what the check's own cases are."""
    lucky = (1 - clean_accuracy) / (num_classes - 1)
    agreement = (1 - rate) * clean_accuracy + rate * lucky
    off = (1 - agreement) / (num_classes - 1)
    return per_class * (np.full((num_classes, num_classes), off) + (agreement - off) * np.eye(num_classes))


# The other numbers the check calls `estimate_noise_rate` on: (noise rate, clean accuracy).
HIDDEN_RATES = ((0.1, 0.6), (0.3, 0.5))
NOISE_RETURN = "return 1 - agreement / clean_accuracy"
NOISE_EXAMPLE = ("def estimate_noise_rate(given_vs_predicted, clean_accuracy):\n"
                 "    agreement = ...  # how often prediction and given label match\n"
                 f"    {NOISE_RETURN}")


def _noise_range(confusion: np.ndarray, clean_accuracy: float) -> tuple[float, float, float, float]:
    """``(agreement, first-order estimate, exact estimate, low, high)``: from low to high passes."""
    agreement = float(np.trace(confusion) / confusion.sum())
    first_order, exact = noise_rate_estimates(agreement, clean_accuracy, len(confusion))
    return agreement, first_order, exact, min(first_order, exact) - 0.02, max(first_order, exact) + 0.02


def _noise_value(estimate: Any, confusion: np.ndarray, clean_accuracy: float, call: str) -> float | Verdict:
    try:
        answer = estimate(confusion.copy(), clean_accuracy)
    except Exception as error:  # a learner's function can fail in any way; say how
        return wrong(f"`{call}` raised {type(error).__name__}: {error}", NOISE_EXAMPLE)
    if answer is None:
        return returned_none(estimate, "estimate_noise_rate", call, returns=NOISE_RETURN)
    return read_number(answer, f"what `{call}` returned", expected="a single number (a fraction such as 0.25)")


def check_noise_rate(estimate_noise_rate: Any, given_vs_predicted: np.ndarray, clean_accuracy: float) -> Verdict:
    """Exercise 2: ``estimate_noise_rate(given_vs_predicted, clean_accuracy)``, a function that estimates the share
    of wrong labels from the confusion of given labels (rows) against out-of-fold predictions (columns) and the
    models' accuracy on clean validation labels. Either estimate of :func:`noise_rate_estimates` passes, or
    anything between them, ± 0.02: on the lesson's numbers, then on :data:`HIDDEN_RATES`, made-up numbers whose
    noise rate is not the lesson's. A number typed in (such as the 40 % the lesson planted) is no answer: the
    exercise is the estimate, and only a function can show it on numbers whose answer is not in the notebook."""
    if estimate_noise_rate is None:
        return not_attempted("estimate_noise_rate")
    if not callable(estimate_noise_rate):
        return wrong(f"`estimate_noise_rate` should be a function, not {shown(estimate_noise_rate)}: the check calls "
                     "it on the lesson's numbers and on others whose noise rate is not the lesson's, so a number "
                     "typed in (such as the 40 % this lesson planted) cannot pass.", NOISE_EXAMPLE)
    confusion = np.asarray(given_vs_predicted, dtype=float)
    value = _noise_value(estimate_noise_rate, confusion, clean_accuracy,
                         "estimate_noise_rate(given_vs_predicted, clean_accuracy)")
    if isinstance(value, Verdict):
        return value
    agreement, first_order, exact, low, high = _noise_range(confusion, clean_accuracy)
    if value > 1:
        return wrong(f"Your estimate is {value:g}: give it as a fraction (0.25), not a percentage.")
    if not low <= value <= high:
        explanations = [
            (1 - agreement, f"1 - agreement ({1 - agreement:.2f}) counts every disagreement as a wrong label, "
                            f"but the models are wrong on {1 - clean_accuracy:.0%} of images even when the label is "
                            "right."),
            (1 - clean_accuracy, "1 - clean accuracy is how often the models are wrong, not how often labels are."),
            (agreement, "The agreement is how often prediction and label match, not how often the label is wrong."),
        ]
        for candidate, explanation in explanations:
            if abs(value - candidate) <= 0.01:
                return wrong(f"Your estimate is {value:.3f}. {explanation}",
                             "A right label is matched about as often as the models are right (clean accuracy); a "
                             "wrong label is almost never matched. So agreement ≈ (1 - noise rate) × clean accuracy.")
        return wrong(f"Your estimate is {value:.3f}, which is not what these numbers give.",
                     "Agreement = trace / total of the confusion matrix. A right label is matched about as often as "
                     "the models are right (clean accuracy); a wrong label is almost never matched. So agreement ≈ "
                     "(1 - noise rate) × clean accuracy.")
    for rate, accuracy in HIDDEN_RATES:
        other = confusion_for(rate, accuracy, num_classes=len(confusion))
        got = _noise_value(estimate_noise_rate, other, accuracy, f"estimate_noise_rate(other_confusion, {accuracy})")
        if isinstance(got, Verdict):
            return got
        _, _, _, other_low, other_high = _noise_range(other, accuracy)
        if not other_low <= got <= other_high:
            return wrong(f"On the lesson's numbers your function gives {value:.3f}, but on the check's own (models "
                         f"right on {accuracy:.0%} of clean labels, {rate:.0%} of the labels wrong) it gives "
                         f"{got:.3f}.",
                         "It must compute the estimate from its two arguments, given_vs_predicted and clean_accuracy, "
                         "not from the notebook's variables or a number of your own.")
    return correct(f"Correct: about {value:.0%} of the labels are wrong. The models agree with the given labels "
                   f"on {agreement:.0%} of the images, but they are right on only {clean_accuracy:.0%} of clean "
                   "labels: most of the disagreement is the models' own error, not the labels'. (Counting the "
                   f"wrong labels that the models match by chance too, (1 - {clean_accuracy:.2f}) / "
                   f"{len(confusion) - 1} of them, gives {exact:.0%}.) Your function also finds the noise rate of "
                   f"{len(HIDDEN_RATES)} other sets of numbers.")


def check_stop_epoch(answer: Any, val_accuracy: Sequence[float], tolerance: float = 0.01) -> Verdict:
    """Exercise 3: the epoch (counted from 1, as Keras prints them) to stop a noisy run at: any
    epoch whose validation accuracy is within ``tolerance`` of the best passes."""
    epoch = read_number(answer, "stop_epoch", whole=True, expected="a whole number of epochs")
    if isinstance(epoch, Verdict):
        return epoch
    val_accuracy = np.asarray(val_accuracy, dtype=float)
    best = int(np.argmax(val_accuracy)) + 1
    if not 1 <= epoch <= len(val_accuracy):
        zero_based = " Epochs count from 1, as Keras prints them." if epoch == 0 else ""
        return wrong(f"The run has epochs 1 to {len(val_accuracy)}; `stop_epoch` is {epoch}.{zero_based}")
    reached = val_accuracy[epoch - 1]
    if reached < val_accuracy.max() - tolerance:
        later = epoch > best
        return wrong(f"At epoch {epoch} validation accuracy is {reached:.3f}; the best epoch reaches "
                     f"{val_accuracy.max():.3f}.",
                     "By then the model is learning the wrong labels by heart: training accuracy on the given "
                     "labels still rises, validation accuracy falls. Stop where validation accuracy peaks."
                     if later else "The model is still learning then: validation accuracy rises after it.")
    return correct(f"Correct: at epoch {epoch} validation accuracy is {reached:.3f} (best {val_accuracy.max():.3f}, "
                   f"at epoch {best}, last {val_accuracy[-1]:.3f}). EarlyStopping(monitor='val_accuracy', "
                   "restore_best_weights=True) makes that choice for you.")

