"""Lesson 07's checks judge what an answer does: every correct spelling passes, plausible wrong answers
fail with a reason."""
import numpy as np
import pandas as pd
import pytest

from cnncourse.exercises import lesson07
from cnncourse.noise import given_label_confidence

K = 100


@pytest.fixture(scope="module")
def planted():
    """Out-of-fold probabilities of a model that knows each image's true class to a varying degree
    (some images are hard for it), and labels of which 40 % were flipped to another class."""
    rng = np.random.default_rng(0)
    n, classes = 1000, 10
    y_true = rng.integers(0, classes, n)
    flipped = np.zeros(n, bool)
    flipped[rng.choice(n, 400, replace=False)] = True
    y_given = np.where(flipped, (y_true + rng.integers(1, classes, n)) % classes, y_true)
    logits = rng.normal(0, 1, (n, classes))
    logits[np.arange(n), y_true] += rng.uniform(0, 4, n)  # how sure the model is of the true class
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probabilities, y_given, flipped


def check(answer, planted):
    probabilities, y_given, flipped = planted
    return lesson07.check_suspects(answer, probabilities, y_given, flipped, K)


def _mask(indices, n):
    mask = np.zeros(n, bool)
    mask[indices] = True
    return mask


def given(p, y):
    return p[np.arange(len(y)), y]


RIGHT_SUSPECTS = {
    "argsort of the given label's probability": lambda p, y, k: np.argsort(given(p, y))[:k],
    "as a list": lambda p, y, k: list(np.argsort(given(p, y))[:k]),
    "as a pandas Index": lambda p, y, k: pd.Index(np.argsort(given(p, y))[:k]),
    "as a True/False mask": lambda p, y, k: _mask(np.argsort(given(p, y))[:k], len(y)),
    "as whole floats": lambda p, y, k: np.argsort(given(p, y))[:k].astype(float),
    "largest out-of-fold loss": lambda p, y, k: np.argsort(-np.log(given(p, y)))[::-1][:k],
    "margin to the best other class": lambda p, y, k: np.argsort(
        given(p, y) - np.where(np.eye(p.shape[1], dtype=bool)[y], -1, p).max(axis=1))[:k],
    "pandas nsmallest": lambda p, y, k: pd.Series(given(p, y)).nsmallest(k).index,
    "the course's helper": lambda p, y, k: np.argsort(given_label_confidence(p, y))[:k],
}


@pytest.mark.parametrize("make", RIGHT_SUSPECTS.values(), ids=RIGHT_SUSPECTS.keys())
def test_every_sound_ranking_passes(make, planted):
    verdict = check(make, planted)
    assert verdict.passed, verdict


def test_the_function_is_judged_on_the_checks_own_images_too(planted):
    calls = []

    def spy(p, y, k):
        calls.append((p.shape, len(y), k))
        return np.argsort(given(p, y))[:k]

    assert check(spy, planted).passed
    hidden = lesson07.HIDDEN_SUSPECTS
    assert calls == [((1000, 10), 1000, K), ((hidden["n"], 10), hidden["n"], hidden["k"])]


WRONG_SUSPECTS = {
    "the most confident instead": (lambda p, y, k: np.argsort(given(p, y))[-k:], "precision"),
    "least confident prediction, whatever the label": (lambda p, y, k: np.argsort(p.max(axis=1))[:k], "random"),
    "the first k images": (lambda p, y, k: np.arange(k), "precision"),
    "one too many": (lambda p, y, k: np.argsort(given(p, y))[:k + 1], "asked for k = 100"),
    "repeated indices": (lambda p, y, k: np.repeat(np.argsort(given(p, y))[:k // 2], 2), "more than once"),
    "predicted classes, not indices": (lambda p, y, k: np.argmax(p, axis=1)[:k], "class labels"),
    "the scores themselves": (lambda p, y, k: np.sort(given(p, y))[:k], "whole numbers"),
    "a mask of the wrong length": (lambda p, y, k: np.ones(10, bool), "mask of length 10"),
    "a 2-D array": (lambda p, y, k: np.argsort(p, axis=0)[:k], "flat list"),
    "text": (lambda p, y, k: "the low ones", "list or array"),
    "one number": (lambda p, y, k: 3, "list or array"),
    "a dict": (lambda p, y, k: {1: 2}, "list or array"),
    "raises": (lambda p, y, k: p[len(y) + k], "raised IndexError"),
}


@pytest.mark.parametrize("make, says", WRONG_SUSPECTS.values(), ids=WRONG_SUSPECTS.keys())
def test_wrong_suspects_fail_with_a_reason(make, says, planted):
    verdict = check(make, planted)
    assert verdict.status == "wrong" and says in str(verdict), verdict


def copies_from_the_notebook(planted):
    """Values already in the lesson's namespace: its own list of flagged images, the planted flips themselves,
    and functions that return them instead of ranking what they are given."""
    probabilities, y_given, flipped = planted
    suspicious = np.argsort(given_label_confidence(probabilities, y_given))  # the lesson's own cell
    truth = np.flatnonzero(flipped)
    return {
        "suspicious[:300]": (suspicious[:K], "should be a function"),
        "the flipped labels' indices": (truth[:K], "should be a function"),
        "the flipped mask": (flipped, "should be a function"),
        "a function returning suspicious[:k]": (lambda p, y, k: suspicious[:k], "check's own"),
        "a function returning the flips": (lambda p, y, k: truth[:k], "check's own"),
        "a function ranking the notebook's arrays": (
            lambda p, y, k: np.argsort(given(probabilities, y_given))[:k], "check's own"),
        "a function reading the notebook's labels": (
            lambda p, y, k: np.argsort(given(p, y_given))[:k], "use only its arguments"),
        "a function reading the notebook's probabilities": (
            lambda p, y, k: np.argsort(given(probabilities, y))[:k], "Does it use the notebook's variables"),
        "a fixed k": (lambda p, y, k: np.argsort(given(p, y))[:K], "names 100 images; it was asked for k = 200"),
    }


@pytest.mark.parametrize("copy", ["suspicious[:300]", "the flipped labels' indices", "the flipped mask",
                                  "a function returning suspicious[:k]", "a function returning the flips",
                                  "a function ranking the notebook's arrays",
                                  "a function reading the notebook's labels",
                                  "a function reading the notebook's probabilities", "a fixed k"])
def test_what_sits_in_the_notebook_cannot_pass(copy, planted):
    answer, says = copies_from_the_notebook(planted)[copy]
    verdict = check(answer, planted)
    assert verdict.status == "wrong" and says in str(verdict), verdict


def placeholder(probabilities, labels, k):
    """The student copy: a docstring, and where the code goes."""
    # YOUR CODE HERE


def prints(probabilities, labels, k):
    print(np.argsort(given(probabilities, labels))[:k])


def test_suspects_not_attempted_or_printed(planted):
    assert check(None, planted).status == "not attempted"
    assert check(placeholder, planted).status == "not attempted"
    verdict = check(prints, planted)
    assert verdict.status == "wrong" and "did `find_suspects` print its result" in verdict.message


def test_the_reference_ranking_finds_far_more_flips_than_chance(planted):
    """The fixture must make the check meaningful: the reference ranking is good, random is not."""
    probabilities, y_given, flipped = planted
    top = np.argsort(given_label_confidence(probabilities, y_given))[:K]
    assert np.mean(flipped[top]) >= 0.9 and np.mean(flipped) == 0.4


def test_the_checks_own_images_are_other_images_with_another_noise_rate(planted):
    hidden = lesson07.HIDDEN_SUSPECTS
    probabilities, y_given, flipped = lesson07.planted_labels(hidden["n"], hidden["rate"], seed=hidden["seed"])
    assert probabilities.shape == (hidden["n"], 10) and np.mean(flipped) == pytest.approx(hidden["rate"])
    assert np.mean(flipped[np.argsort(given(probabilities, y_given))[:hidden["k"]]]) >= 0.8
    assert hidden["n"] != len(planted[1]) and hidden["k"] != K


AGREEMENT, CLEAN = 0.30, 0.45
CONFUSION = np.diag(np.full(10, AGREEMENT * 100)) + (1 - AGREEMENT) * 100 / 9 * (1 - np.eye(10))
FIRST_ORDER, EXACT = lesson07.noise_rate_estimates(AGREEMENT, CLEAN, 10)
PLANTED_RATE = 0.4  # what the lesson planted: a number the learner has seen


def test_the_two_estimates_of_the_noise_rate():
    assert FIRST_ORDER == pytest.approx(1 - 0.30 / 0.45)
    # exact: with r = EXACT, the expected agreement is the one given
    assert (1 - EXACT) * CLEAN + EXACT * (1 - CLEAN) / 9 == pytest.approx(AGREEMENT)


@pytest.mark.parametrize("rate, accuracy", [(0.1, 0.6), (0.3, 0.5), (0.4, 0.45)])
def test_confusion_for_has_the_agreement_of_its_noise_rate(rate, accuracy):
    confusion = lesson07.confusion_for(rate, accuracy)
    agreement = np.trace(confusion) / confusion.sum()
    assert lesson07.noise_rate_estimates(agreement, accuracy, 10)[1] == pytest.approx(rate)


def agreement_of(confusion):
    return np.trace(confusion) / np.sum(confusion)


def exact(confusion, accuracy):
    return lesson07.noise_rate_estimates(agreement_of(confusion), accuracy, len(confusion))[1]


RIGHT_RATES = {
    "first order": lambda c, a: 1 - agreement_of(c) / a,
    "exact": exact,
    "between the two": lambda c, a: (1 - agreement_of(c) / a + exact(c, a)) / 2,
    "rounded": lambda c, a: round(1 - agreement_of(c) / a, 2),
    "float32": lambda c, a: np.float32(exact(c, a)),
    "0-d array": lambda c, a: np.array(exact(c, a)),
    "diagonal with numpy": lambda c, a: 1 - np.diag(c).sum() / c.sum() / a,
}


@pytest.mark.parametrize("estimate", RIGHT_RATES.values(), ids=RIGHT_RATES.keys())
def test_noise_rate_passes_either_estimate(estimate):
    verdict = lesson07.check_noise_rate(estimate, CONFUSION, CLEAN)
    assert verdict.passed, verdict


@pytest.mark.parametrize("estimate, says", [
    (lambda c, a: 1 - agreement_of(c), "counts every disagreement"),
    (lambda c, a: 1 - a, "how often the models are wrong"),
    (lambda c, a: agreement_of(c), "how often prediction and label match"),
    (lambda c, a: 100 * exact(c, a), "fraction"),
    (lambda c, a: 0.1, "not what these numbers give"),
    (lambda c, a: "0.4", "give a number, not the text '0.4'"),
    (lambda c, a: str(round(exact(c, a), 3)), "not the text"),
    (lambda c, a: [exact(c, a)], "single number"),
    (lambda c, a: True, "single number"),
    (lambda c, a: c / a, "single number"),  # an array
    (lambda c, a: float("nan"), "not what these numbers give"),
    (lambda c: 0.4, "raised TypeError"),
])
def test_noise_rate_wrong_answers_fail_with_a_reason(estimate, says):
    verdict = lesson07.check_noise_rate(estimate, CONFUSION, CLEAN)
    assert verdict.status == "wrong" and says in str(verdict), verdict


@pytest.mark.parametrize("answer, says", [
    (PLANTED_RATE, "should be a function"),  # the rate the lesson set, typed in
    (EXACT, "should be a function"),  # the right number for these data, typed in
    (lambda c, a: PLANTED_RATE, "on the check's own"),
    (lambda c, a: EXACT, "on the check's own"),
    (lambda c, a: 1 - AGREEMENT / CLEAN, "on the check's own"),  # computed from the notebook's numbers
    (lambda c, a: 1 - agreement_of(CONFUSION) / a, "on the check's own"),
    (lambda c, a: 1 - agreement_of(c) / CLEAN, "on the check's own"),
], ids=["planted-rate", "right-number", "function-of-the-planted-rate", "function-of-the-right-number",
        "notebook-numbers", "notebook-confusion", "notebook-accuracy"])
def test_noise_rate_cannot_pass_with_what_sits_in_the_notebook(answer, says):
    verdict = lesson07.check_noise_rate(answer, CONFUSION, CLEAN)
    assert verdict.status == "wrong" and says in str(verdict), verdict


def test_a_planted_rate_typed_in_would_have_been_right_on_these_numbers():
    """Why a number cannot be the answer: on the lesson's numbers the planted rate is within the estimates."""
    confusion = lesson07.confusion_for(PLANTED_RATE, CLEAN)
    assert lesson07.check_noise_rate(lambda c, a: exact(c, a), confusion, CLEAN).passed
    assert not lesson07.check_noise_rate(lambda c, a: PLANTED_RATE, confusion, CLEAN).passed


def placeholder_rate(given_vs_predicted, clean_accuracy):
    """The student copy."""
    # YOUR CODE HERE


def prints_rate(given_vs_predicted, clean_accuracy):
    print(1 - agreement_of(given_vs_predicted) / clean_accuracy)


def test_noise_rate_not_attempted_or_printed():
    assert lesson07.check_noise_rate(None, CONFUSION, CLEAN).status == "not attempted"
    assert lesson07.check_noise_rate(placeholder_rate, CONFUSION, CLEAN).status == "not attempted"
    verdict = lesson07.check_noise_rate(prints_rate, CONFUSION, CLEAN)
    assert verdict.status == "wrong" and "did `estimate_noise_rate` print its result" in verdict.message


VAL = [0.30, 0.35, 0.38, 0.375, 0.36, 0.33, 0.32]


@pytest.mark.parametrize("answer", [3, np.int64(3), 3.0, 4])
def test_stop_epoch_passes_the_peak_and_epochs_as_good(answer):
    verdict = lesson07.check_stop_epoch(answer, VAL)
    assert verdict.passed, verdict


@pytest.mark.parametrize("answer, says", [
    (7, "learning the wrong labels"),  # the last epoch
    (2, "still learning"),  # np.argmax(VAL), counted from 0
    (0, "count from 1"),
    (8, "epochs 1 to 7"),
    (3.5, "whole number"),
    (3.7, "is 3.7; it should be a whole number of epochs"),  # int() would truncate it to the peak
    ("3", "give a number, not the text '3'"),
    (True, "whole number of epochs"),
    (None, "Not attempted"),
])
def test_stop_epoch_wrong_answers_fail_with_a_reason(answer, says):
    verdict = lesson07.check_stop_epoch(answer, VAL)
    assert not verdict.passed and says in str(verdict), verdict
