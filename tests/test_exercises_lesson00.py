"""Lesson 00's checks judge what an answer does: every correct spelling passes (rounded as the notebook
prints it too), plausible wrong answers fail with a reason, and no answer ends in a traceback."""
from collections import Counter

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score

from cnncourse import checks
from cnncourse.exercises import lesson00

Y = np.repeat(np.arange(10), [120, 110, 100, 100, 100, 100, 100, 90, 90, 90])
COUNTS = np.bincount(Y)
Y_VAL = np.tile(np.arange(10), 500)
PRED = np.where(np.arange(5000) < 2013, (Y_VAL + 1) % 10, Y_VAL)
ACC = np.mean(PRED == Y_VAL)  # 0.5974, printed as 0.597
HISTORY = {"accuracy": [0.30, 0.42, 0.50, 0.57, 0.66], "val_accuracy": [0.35, 0.45, 0.44, 0.45, 0.41]}
RAGGED = [[1, 2], [3]]


def test_the_accuracy_fixture_needs_all_3_decimals():
    assert abs(round(ACC, 2) - ACC) > lesson00.PRINTED and abs(round(ACC, 3) - ACC) > 1e-6


@pytest.mark.parametrize("answer", [
    COUNTS, np.bincount(Y, minlength=10), COUNTS.tolist(), tuple(COUNTS), COUNTS.astype(float),
    np.unique(Y, return_counts=True)[1], np.array([np.sum(Y == c) for c in range(10)]),
    Counter(Y), Counter(Y.tolist()), dict(zip(*np.unique(Y, return_counts=True))),
    pd.Series(Y).value_counts(), pd.Series(Y).value_counts().sort_index(),
    keras.ops.convert_to_tensor(COUNTS),
], ids=["bincount", "minlength", "list", "tuple", "floats", "unique", "loop", "Counter", "Counter of ints", "dict",
        "value_counts", "sorted value_counts", "tensor"])
def test_class_counts_accepts_every_right_spelling(answer):
    verdict = lesson00.check_class_counts(answer, Y)
    assert verdict.passed, verdict


@pytest.mark.parametrize("answer, says", [
    (None, "Not attempted"),
    (Y, "one entry per class"),
    (np.eye(10)[Y].sum(axis=1), "one entry per class"),
    (np.unique(Y, return_counts=True), "two rows"),
    (np.unique(Y), "differ"),
    (COUNTS / len(Y), "differ"),
    (COUNTS[::-1], "differ"),
    (COUNTS[:9], "shape (9,)"),
    (COUNTS.reshape(10, 1), "shape (10, 1)"),
    (np.eye(10)[Y], "shape (1000, 10)"),
    ([str(n) for n in COUNTS], "array of numbers"),
    ("120", "array of numbers"),
    (RAGGED, "array of numbers"),
    (True, "array of numbers"),
    ({str(c): n for c, n in enumerate(COUNTS)}, "keys"),
    ({0: 120, "1": 110}, "keys"),
    ({None: 1, 0: 2}, "keys"),
    (pd.Series(COUNTS, index=[f"class {c}" for c in range(10)]), "keys"),
    (Counter(Y[Y < 9]), "keys"),
], ids=["none", "labels", "one-hot rows", "unique pair", "classes", "shares", "reversed", "9 classes", "column",
        "one-hot", "text list", "text", "ragged", "bool", "text keys", "mixed keys", "None key", "named Series",
        "class missing"])
def test_class_counts_rejects_wrong_answers_with_a_reason(answer, says):
    verdict = lesson00.check_class_counts(answer, Y)
    assert not verdict.passed and says in verdict.message, verdict
    assert verdict.status == "not attempted" or verdict.hint


@pytest.mark.parametrize("answer", [
    ACC, accuracy_score(Y_VAL, PRED), (PRED == Y_VAL).sum() / len(Y_VAL), 1 - np.mean(PRED != Y_VAL),
    np.float32(ACC), np.array(ACC), round(ACC, 3), float(f"{ACC:.3f}"),
    keras.ops.mean(keras.ops.cast(keras.ops.equal(PRED, Y_VAL), "float32")),
], ids=["mean", "sklearn", "sum / len", "1 - error", "float32", "0-d array", "rounded", "as printed", "keras.ops"])
def test_accuracy_accepts_every_right_spelling(answer):
    verdict = lesson00.check_accuracy(answer, PRED, Y_VAL)
    assert verdict.passed, verdict


@pytest.mark.parametrize("answer, says", [
    (None, "Not attempted"),
    (100 * ACC, "percentage"),
    (round(100 * ACC, 1), "percentage"),
    ((PRED == Y_VAL).sum(), "number of correct"),
    (np.mean(PRED != Y_VAL), "error rate"),
    (round(ACC, 2), "not right yet"),
    (round(ACC, 3) + 0.001, "not right yet"),
    (np.mean(PRED[:100] == Y_VAL[:100]), "not right yet"),
    (PRED == Y_VAL, "single number"),
    (str(round(ACC, 3)), "single number"),
    ([ACC], "single number"),
    (RAGGED, "single number"),
    (True, "single number"),
], ids=["none", "percent", "percent as printed", "count", "error rate", "2 decimals", "next value", "first 100",
        "bool array", "text", "list", "ragged", "bool"])
def test_accuracy_rejects_wrong_answers_with_a_reason(answer, says):
    verdict = lesson00.check_accuracy(answer, PRED, Y_VAL)
    assert not verdict.passed and says in verdict.message, verdict


@pytest.mark.parametrize("answer", [
    2, 4, np.int64(2), 2.0, int(np.argmax(HISTORY["val_accuracy"])) + 1,
    HISTORY["val_accuracy"].index(max(HISTORY["val_accuracy"])) + 1,
    len(HISTORY["val_accuracy"]) - int(np.argmax(HISTORY["val_accuracy"][::-1])),
], ids=["first best", "tied best", "numpy int", "float", "argmax", "list.index", "last best"])
def test_best_epoch_accepts_every_best_epoch_however_written(answer):
    verdict = lesson00.check_best_epoch(answer, HISTORY)
    assert verdict.passed, verdict


@pytest.mark.parametrize("answer, says", [
    (None, "Not attempted"),
    (1, "Off by one"),
    (5, "training"),
    (0.45, "not right yet"),
    ([2], "single number"),
    (np.flatnonzero(np.array(HISTORY["val_accuracy"]) == 0.45) + 1, "single number"),
    ("2", "single number"),
    (RAGGED, "single number"),
], ids=["none", "0-based", "training", "the accuracy", "list", "all tied epochs", "text", "ragged"])
def test_best_epoch_rejects_wrong_answers_with_a_reason(answer, says):
    verdict = lesson00.check_best_epoch(answer, HISTORY)
    assert not verdict.passed and says in verdict.message, verdict


CHECKS = {"counts": lambda answer: lesson00.check_class_counts(answer, Y),
          "accuracy": lambda answer: lesson00.check_accuracy(answer, PRED, Y_VAL),
          "best_epoch": lambda answer: lesson00.check_best_epoch(answer, HISTORY)}


@pytest.mark.parametrize("name", CHECKS)
def test_a_helper_that_prints_instead_of_returning_is_told_so(monkeypatch, name):
    cells = ["import numpy as np",
             f"def compute():\n    {name} = 3  # a local, not the answer\n    print({name})\n{name} = compute()",
             f"verdict = ex.check({name})"]
    monkeypatch.setattr(checks, "_input_history", lambda: cells)
    verdict = CHECKS[name](None)
    assert verdict.status == "wrong" and "`compute` returned None" in verdict.message, verdict
    assert "return" in verdict.hint
    cells[1] = f"{name} = None  # replace None with your answer\n# YOUR CODE HERE"
    assert CHECKS[name](None).status == "not attempted"
