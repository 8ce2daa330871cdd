import numpy as np
import pytest

from cnncourse.checks import Verdict, check_array, check_number
from cnncourse.exercises import lesson00


def test_verdict_renders_text_and_html():
    v = Verdict("wrong", "a < b", "look again")
    assert not v.passed
    assert str(v) == "❌ a < b\nHint: look again"
    assert "a &lt; b" in v._repr_html_() and "Hint" in v._repr_html_()
    assert Verdict("correct", "yes").passed


@pytest.mark.parametrize("answer, status, says", [
    (None, "not attempted", "Not attempted yet: set `c`"),
    ("abc", "wrong", "array of numbers, but it is a str"),
    ([1, 2, 3], "wrong", "shape (3,), expected (2,)"),
    ([1, 3], "wrong", "1 of 2 values of `c` differ; e.g. at index 1 you have 3, expected 2"),
    ([[1, 2], [3]], "wrong", "array of numbers"),
    (np.array([1, 2]), "correct", "Correct"),
    ((1.0, 2.0), "correct", "Correct"),
])
def test_check_array(answer, status, says):
    v = check_array(answer, [1, 2], name="c", hint="h")
    assert v.status == status
    assert says in v.message


@pytest.mark.parametrize("answer, status", [
    (None, "not attempted"), ("2", "wrong"), ([2], "wrong"), (True, "wrong"), (2.5, "wrong"),
    (2, "correct"), (np.float32(2.0), "correct"), (np.array(2.0), "correct"),
])
def test_check_number(answer, status):
    assert check_number(answer, 2, name="n").status == status


def test_lesson00_class_counts():
    y = np.array([0, 0, 1, 9])
    assert lesson00.check_class_counts(np.bincount(y, minlength=10), y).passed
    assert lesson00.check_class_counts(None, y).status == "not attempted"
    assert "one entry per class" in lesson00.check_class_counts(y, y).message
    assert "shape (2,)" in lesson00.check_class_counts(np.bincount(y)[:2], y).message


def test_lesson00_accuracy_names_common_mistakes():
    pred, y = np.array([0, 1, 1, 1]), np.array([0, 1, 2, 1])
    assert lesson00.check_accuracy(0.75, pred, y).passed
    assert "percentage" in lesson00.check_accuracy(75.0, pred, y).message
    assert "number of correct" in lesson00.check_accuracy(3, pred, y).message
    assert lesson00.check_accuracy(0.5, pred, y).status == "wrong"
    assert lesson00.check_accuracy("0.75", pred, y).status == "wrong"
    assert lesson00.check_accuracy(None, pred, y).status == "not attempted"


def test_lesson00_best_epoch_names_common_mistakes():
    history = {"accuracy": [0.3, 0.5, 0.6, 0.7], "val_accuracy": [0.3, 0.45, 0.44, 0.40]}
    assert lesson00.check_best_epoch(2, history).passed
    assert "Off by one" in lesson00.check_best_epoch(1, history).message
    assert "training" in lesson00.check_best_epoch(4, history).message
    assert lesson00.check_best_epoch(3, history).status == "wrong"
    assert lesson00.check_best_epoch([2], history).status == "wrong"
