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


def _mask(indices, n=1000):
    mask = np.zeros(n, bool)
    mask[indices] = True
    return mask


RIGHT_SUSPECTS = {
    "argsort of the given label's probability": lambda p, y: np.argsort(p[np.arange(len(y)), y])[:K],
    "as a list": lambda p, y: list(np.argsort(p[np.arange(len(y)), y])[:K]),
    "as a pandas Index": lambda p, y: pd.Index(np.argsort(p[np.arange(len(y)), y])[:K]),
    "as a True/False mask": lambda p, y: _mask(np.argsort(p[np.arange(len(y)), y])[:K]),
    "as whole floats": lambda p, y: np.argsort(p[np.arange(len(y)), y])[:K].astype(float),
    "largest out-of-fold loss": lambda p, y: np.argsort(-np.log(p[np.arange(len(y)), y]))[::-1][:K],
    "margin to the best other class": lambda p, y: np.argsort(
        p[np.arange(len(y)), y] - np.where(np.eye(10, dtype=bool)[y], -1, p).max(axis=1))[:K],
    "pandas nsmallest": lambda p, y: pd.Series(p[np.arange(len(y)), y]).nsmallest(K).index,
}


@pytest.mark.parametrize("make", RIGHT_SUSPECTS.values(), ids=RIGHT_SUSPECTS.keys())
def test_every_sound_ranking_passes(make, planted):
    probabilities, y_given, _ = planted
    verdict = check(make(probabilities, y_given), planted)
    assert verdict.passed, verdict


WRONG_SUSPECTS = {
    "the most confident instead": (lambda p, y: np.argsort(p[np.arange(len(y)), y])[-K:], "precision"),
    "least confident prediction, whatever the label": (lambda p, y: np.argsort(p.max(axis=1))[:K], "random"),
    "the first k images": (lambda p, y: np.arange(K), "precision"),
    "one too many": (lambda p, y: np.argsort(p[np.arange(len(y)), y])[:K + 1], "k = 100"),
    "repeated indices": (lambda p, y: np.repeat(np.argsort(p[np.arange(len(y)), y])[:K // 2], 2), "more than once"),
    "predicted classes, not indices": (lambda p, y: np.argmax(p, axis=1)[:K], "class labels"),
    "past the last image": (lambda p, y: np.arange(950, 950 + K), "numbered 0 to 999"),
    "the scores themselves": (lambda p, y: np.sort(p[np.arange(len(y)), y])[:K], "whole numbers"),
    "a mask of the wrong length": (lambda p, y: np.ones(10, bool), "mask of length 10"),
    "a 2-D array": (lambda p, y: np.argsort(p, axis=0)[:K], "flat list"),
    "text": (lambda p, y: "the low ones", "list or array"),
    "one number": (lambda p, y: 3, "list or array"),
    "a dict": (lambda p, y: {1: 2}, "list or array"),
}


@pytest.mark.parametrize("make, says", WRONG_SUSPECTS.values(), ids=WRONG_SUSPECTS.keys())
def test_wrong_suspects_fail_with_a_reason(make, says, planted):
    probabilities, y_given, _ = planted
    verdict = check(make(probabilities, y_given), planted)
    assert verdict.status == "wrong" and says in str(verdict), verdict


def test_suspects_not_attempted(planted):
    assert check(None, planted).status == "not attempted"


def test_the_reference_ranking_finds_far_more_flips_than_chance(planted):
    """The fixture must make the check meaningful: the reference ranking is good, random is not."""
    probabilities, y_given, flipped = planted
    top = np.argsort(given_label_confidence(probabilities, y_given))[:K]
    assert np.mean(flipped[top]) >= 0.9 and np.mean(flipped) == 0.4


AGREEMENT, CLEAN = 0.30, 0.45
CONFUSION = np.diag(np.full(10, AGREEMENT * 100)) + (1 - AGREEMENT) * 100 / 9 * (1 - np.eye(10))
FIRST_ORDER, EXACT = lesson07.noise_rate_estimates(AGREEMENT, CLEAN, 10)


def test_the_two_estimates_of_the_noise_rate():
    assert FIRST_ORDER == pytest.approx(1 - 0.30 / 0.45)
    # exact: with r = EXACT, the expected agreement is the one given
    assert (1 - EXACT) * CLEAN + EXACT * (1 - CLEAN) / 9 == pytest.approx(AGREEMENT)


@pytest.mark.parametrize("answer", [FIRST_ORDER, EXACT, (FIRST_ORDER + EXACT) / 2, round(EXACT, 2),
                                    round(FIRST_ORDER, 2), np.float32(EXACT), np.array(EXACT)])
def test_noise_rate_passes_either_estimate(answer):
    verdict = lesson07.check_noise_rate(answer, CONFUSION, CLEAN)
    assert verdict.passed, verdict


@pytest.mark.parametrize("answer, says", [
    (1 - AGREEMENT, "counts every disagreement"),
    (1 - CLEAN, "how often the models are wrong"),
    (AGREEMENT, "how often prediction and label match"),
    (100 * EXACT, "fraction"),
    (0.1, "not what these numbers give"),
    ("0.4", "single number"),
    ([EXACT], "single number"),
    (True, "single number"),
])
def test_noise_rate_wrong_answers_fail_with_a_reason(answer, says):
    verdict = lesson07.check_noise_rate(answer, CONFUSION, CLEAN)
    assert verdict.status == "wrong" and says in str(verdict), verdict


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
    ("3", "whole number"),
    (None, "Not attempted"),
])
def test_stop_epoch_wrong_answers_fail_with_a_reason(answer, says):
    verdict = lesson07.check_stop_epoch(answer, VAL)
    assert not verdict.passed and says in str(verdict), verdict
