from collections import Counter

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score, recall_score
from sklearn.utils.class_weight import compute_class_weight

from cnncourse import checks
from cnncourse.exercises import lesson02
from cnncourse.subsets import long_tailed_counts

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


# Property tests on the lesson's own kind of data: a long tail with weights and accuracies of many decimals.
LT = np.repeat(np.arange(10), long_tailed_counts(1000, 50))
LT_WEIGHTS = compute_class_weight("balanced", classes=np.arange(10), y=LT)
NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def test_the_weights_need_more_than_2_decimals():
    assert np.abs(LT_WEIGHTS.round(2) - LT_WEIGHTS).max() > 1e-3
    assert np.abs(LT_WEIGHTS.round(1) - LT_WEIGHTS).max() > lesson02.WEIGHTS_PRINTED


@pytest.mark.parametrize("answer", [
    LT_WEIGHTS, balanced_weights(LT), list(LT_WEIGHTS), tuple(LT_WEIGHTS), LT_WEIGHTS.astype(np.float32),
    LT_WEIGHTS.round(2), [round(float(w), 2) for w in LT_WEIGHTS],
    dict(enumerate(LT_WEIGHTS)), dict(zip(np.unique(LT), LT_WEIGHTS)),
    {c: len(LT) / (10 * n) for c, n in Counter(LT).items()},
    {int(c): round(float(w), 2) for c, w in enumerate(LT_WEIGHTS)},
    pd.Series(LT_WEIGHTS), len(LT) / (10 * pd.Series(LT).value_counts()),
], ids=["sklearn", "formula", "list", "tuple", "float32", "rounded", "as printed", "dict", "numpy keys",
        "from a Counter", "dict as printed", "Series", "Series from value_counts"])
def test_class_weights_accepts_every_right_spelling(answer):
    verdict = lesson02.check_class_weights(answer, LT)
    assert verdict.passed, verdict


@pytest.mark.parametrize("answer, says", [
    (None, "Not attempted"),
    (np.bincount(LT) / len(LT), "shares"),
    (np.bincount(LT), "shares"),
    (np.bincount(LT).max() / np.bincount(LT), "wrong scale"),
    (LT_WEIGHTS / LT_WEIGHTS.sum(), "wrong scale"),
    (LT_WEIGHTS.round(1), "differ"),
    (LT_WEIGHTS[::-1], "differ"),
    (np.ones(10), "differ"),
    (LT_WEIGHTS.reshape(10, 1), "shape (10, 1)"),
    (LT_WEIGHTS[:, None] * np.eye(10), "shape (10, 10)"),
    ([f"{w:.2f}" for w in LT_WEIGHTS], "array of numbers"),
    ({c: f"{w:.2f}" for c, w in enumerate(LT_WEIGHTS)}, "array of numbers"),
    ([[1, 2], [3]], "array of numbers"),
    (dict(zip(NAMES, LT_WEIGHTS)), "keys"),
    ({str(c): w for c, w in enumerate(LT_WEIGHTS)}, "keys"),
    ({0: 1.0, "1": 2.0}, "keys"),
    ({None: 1.0, 0: 2.0}, "keys"),
    ({float(c): w for c, w in enumerate(LT_WEIGHTS)}, "keys"),
    (pd.Series(LT_WEIGHTS, index=NAMES), "keys"),
], ids=["none", "shares", "counts", "max / count", "sum to 1", "1 decimal", "reversed", "ones", "column",
        "diagonal", "texts", "text values", "ragged", "names as keys", "text keys", "mixed keys", "None key",
        "float keys", "named Series"])
def test_class_weights_rejects_wrong_weights_with_a_reason(answer, says):
    verdict = lesson02.check_class_weights(answer, LT)
    assert not verdict.passed and says in verdict.message, verdict
    assert verdict.status == "not attempted" or verdict.hint


TAIL = np.repeat(np.arange(10), long_tailed_counts(100, 50))
TAIL_PRED = np.where(np.random.default_rng(1).random(len(TAIL)) < 0.8 - 0.07 * TAIL, TAIL, 0) % 9  # no truck
BALANCED = balanced_accuracy_score(TAIL, TAIL_PRED)
PLAIN = np.mean(TAIL == TAIL_PRED)


def test_the_balanced_accuracy_needs_all_3_decimals():
    assert abs(round(BALANCED, 2) - BALANCED) > lesson02.ACCURACY_PRINTED and abs(BALANCED - PLAIN) > 0.05


def recalls(y_true, y_pred):
    return np.array([np.mean(y_pred[y_true == c] == c) for c in range(10)])


@pytest.mark.parametrize("answer", [
    BALANCED, recalls(TAIL, TAIL_PRED).mean(), recall_score(TAIL, TAIL_PRED, average="macro"),
    np.mean(np.diag(confusion_matrix(TAIL, TAIL_PRED)) / np.bincount(TAIL)),
    round(BALANCED, 3), float(f"{BALANCED:.3f}"), np.float32(BALANCED),
], ids=["sklearn", "by hand", "macro recall", "confusion matrix", "rounded", "as printed", "float32"])
def test_balanced_accuracy_accepts_every_right_spelling(answer):
    verdict = lesson02.check_balanced_accuracy(answer, TAIL, TAIL_PRED)
    assert verdict.passed, verdict


@pytest.mark.parametrize("answer, says", [
    (None, "Not attempted"),
    (PLAIN, "plain accuracy"),
    (round(PLAIN, 3), "plain accuracy"),
    (100 * BALANCED, "fraction"),
    (round(100 * BALANCED, 1), "fraction"),
    (round(BALANCED, 2), "not right yet"),
    (round(BALANCED, 3) + 0.001, "not right yet"),
    (f1_score(TAIL, TAIL_PRED, average="macro"), "not right yet"),
    (recalls(TAIL, TAIL_PRED)[np.unique(TAIL_PRED)].mean(), "not right yet"),
    (recalls(TAIL, TAIL_PRED), "single number"),
    (f"{BALANCED:.3f}", "single number"),
    ([[1, 2], [3]], "single number"),
], ids=["none", "plain", "plain as printed", "percent", "percent as printed", "2 decimals", "next value",
        "macro F1", "predicted classes only", "recalls", "text", "ragged"])
def test_balanced_accuracy_rejects_wrong_answers_with_a_reason(answer, says):
    verdict = lesson02.check_balanced_accuracy(answer, TAIL, TAIL_PRED)
    assert not verdict.passed and says in verdict.message, verdict


def solution_choice(report):
    allowed = report[report["balanced accuracy"] >= report.loc["plain", "balanced accuracy"]]
    return allowed["rare-class recall"].idxmax()


@pytest.mark.parametrize("choice", [
    solution_choice, lambda report: "weights", lambda report: " Weights ", lambda report: np.str_("weights"),
    lambda report: report[report["balanced accuracy"] >= 0.30].sort_values("rare-class recall").index[-1],
], ids=["solution", "typed", "capitals and spaces", "numpy str", "sorted, last"])
def test_best_fix_accepts_the_run_however_picked(report, choice):
    verdict = lesson02.check_best_fix(choice(report), report)
    assert verdict.passed, verdict


@pytest.mark.parametrize("choice, says", [
    (lambda report: None, "Not attempted"),
    (lambda report: report.index[[1]], "one run name"),
    (lambda report: report["rare-class recall"].nlargest(1), "one run name"),
    (lambda report: ["weights"], "one run name"),
    (lambda report: np.array(["weights"]), "one run name"),
    (lambda report: 1, "one run name"),
    (lambda report: {"weights"}, "one run name"),
    (lambda report: {"weights": 1}, "one run name"),
    (lambda report: "weight", "one of the runs"),
], ids=["none", "Index", "Series", "list", "array", "position", "set", "dict", "misspelt"])
def test_best_fix_rejects_anything_but_one_run_name_with_a_reason(report, choice, says):
    verdict = lesson02.check_best_fix(choice(report), report)
    assert not verdict.passed and says in verdict.message, verdict
    assert verdict.status == "not attempted" or verdict.hint


CHECKS = {"weights": lambda answer, report: lesson02.check_class_weights(answer, LT),
          "balanced": lambda answer, report: lesson02.check_balanced_accuracy(answer, TAIL, TAIL_PRED),
          "choice": lambda answer, report: lesson02.check_best_fix(answer, report)}


@pytest.mark.parametrize("name", CHECKS)
def test_a_helper_that_prints_instead_of_returning_is_told_so(monkeypatch, report, name):
    cells = ["def pick(table):\n    print(table.index[0])", f"{name} = None  # replace None\n{name} = pick(report)"]
    monkeypatch.setattr(checks, "_input_history", lambda: cells)
    verdict = CHECKS[name](None, report)
    assert verdict.status == "wrong" and "`pick` returned None" in verdict.message, verdict
    cells[1] = f"{name} = None  # replace None with your answer"
    assert CHECKS[name](None, report).status == "not attempted"
