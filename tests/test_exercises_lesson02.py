import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score

from cnncourse.exercises import lesson02

Y = np.repeat(np.arange(10), [50, 40, 30, 20, 10, 10, 5, 5, 5, 5])


def balanced_weights(y):
    counts = np.bincount(y, minlength=10)
    return len(y) / (10 * counts)


@pytest.mark.parametrize("answer", [balanced_weights(Y), list(balanced_weights(Y)),
                                    dict(enumerate(balanced_weights(Y)))])
def test_class_weights_accepts_array_list_or_dict(answer):
    assert lesson02.check_class_weights(answer, Y).passed


@pytest.mark.parametrize("answer, says", [
    (np.bincount(Y) / len(Y), "shares"),
    (1 / np.bincount(Y), "wrong scale"),
    ({1: 1.0}, "keys"),
    (balanced_weights(Y)[:9], "shape (9,)"),
    ("heavy", "array of numbers"),
])
def test_class_weights_names_the_mistake(answer, says):
    verdict = lesson02.check_class_weights(answer, Y)
    assert not verdict.passed and says in verdict.message
    assert lesson02.check_class_weights(None, Y).status == "not attempted"


def test_balanced_accuracy_check():
    y_pred = np.where(Y < 5, Y, 0)  # the five rare classes are never predicted
    expected = balanced_accuracy_score(Y, y_pred)
    assert lesson02.check_balanced_accuracy(expected, Y, y_pred).passed
    assert "plain accuracy" in lesson02.check_balanced_accuracy(np.mean(Y == y_pred), Y, y_pred).message
    assert "percent" in lesson02.check_balanced_accuracy(100 * expected, Y, y_pred).hint
    assert not lesson02.check_balanced_accuracy(expected + 0.01, Y, y_pred).passed
    assert lesson02.check_balanced_accuracy(None, Y, y_pred).status == "not attempted"


@pytest.fixture
def report():
    return pd.DataFrame({"balanced accuracy": [0.30, 0.33, 0.29, 0.34],
                         "rare-class recall": [0.02, 0.15, 0.40, 0.10]},
                        index=["plain", "weights", "greedy", "oversampled"])


@pytest.mark.parametrize("choice, passed, says", [
    ("weights", True, "Correct"),
    ("greedy", False, "not allowed"),      # most rare recall, but below plain's balanced accuracy
    ("oversampled", False, "finds more"),
    ("plain", False, "finds more"),
    ("class weights", False, "one of the runs"),
])
def test_best_fix_applies_the_floor_then_maximizes_rare_recall(report, choice, passed, says):
    verdict = lesson02.check_best_fix(choice, report)
    assert verdict.passed == passed and says in verdict.message
