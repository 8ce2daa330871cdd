import numpy as np
import pandas as pd
import pytest

from cnncourse.checks import (
    VERDICT_MIME,
    Verdict,
    as_numbers,
    by_class,
    check_array,
    check_number,
    does_nothing,
    is_single_number,
    not_a_number,
    read_number,
    returned_none,
    trained_run,
    unanswered,
    verdict_from_output,
)
from cnncourse.exercises import lesson00


def test_verdict_renders_text_and_html():
    v = Verdict("wrong", "a < b", "look again")
    assert not v.passed
    assert str(v) == "❌ a < b\nHint: look again"
    assert "a &lt; b" in v._repr_html_() and "Hint" in v._repr_html_()
    assert Verdict("correct", "yes").passed


def test_verdict_output_carries_the_verdict_as_data_for_the_grader():
    v = Verdict("wrong", "a < b", "look again")
    bundle = v._repr_mimebundle_()
    assert bundle["text/plain"] == str(v) and bundle["text/html"] == v._repr_html_()
    assert bundle[VERDICT_MIME] == {"status": "wrong", "message": "a < b", "hint": "look again", "passed": False}
    assert verdict_from_output(bundle) == v
    assert verdict_from_output({"text/plain": "❌ a < b"}) is None
    assert verdict_from_output({VERDICT_MIME: {"status": "maybe"}}) is None


def test_assert_passed_shows_a_failed_verdict_then_raises_with_its_text(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    Verdict("correct", "yes").assert_passed()
    assert shown == []
    wrong = Verdict("wrong", "not yet", "a hint")
    with pytest.raises(AssertionError, match="not yet\nHint: a hint"):
        wrong.assert_passed()
    assert shown == [wrong]


@pytest.mark.parametrize("answer, status, says", [
    (None, "not attempted", "Not attempted yet: set `c`"),
    ("abc", "wrong", "is the text 'abc'; it should be an array of numbers"),
    (["1", "2"], "wrong", "holds text, such as '1'"),  # the right values, as text: never converted into a pass
    (np.array(["1", "2"]), "wrong", "give numbers, not text"),
    ([True, False], "wrong", "should be an array of numbers"),
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


@pytest.mark.parametrize("answer", ["12", " 12 ", b"12", np.str_("12"), "1.2e1"])
def test_a_number_given_as_text_is_refused_with_what_to_do(answer):
    verdict = check_number(answer, 12, name="n")
    assert verdict.status == "wrong" and "give a number, not the text '" in verdict.message, verdict
    assert "single number" in verdict.message and "quotes" in verdict.hint


@pytest.mark.parametrize("answer, whole, expected", [
    (12, False, 12.0), (12.5, False, 12.5), (np.float32(0.5), False, 0.5), (np.array(3), False, 3.0),
    (12, True, 12), (12.0, True, 12), (np.int64(7), True, 7), (np.float64(7.0), True, 7),
])
def test_read_number_gives_the_number(answer, whole, expected):
    value = read_number(answer, "n", whole=whole)
    assert value == expected and type(value) is (int if whole else float)


@pytest.mark.parametrize("answer, whole, says", [
    ("12", False, "give a number, not the text '12'"),
    ("0.5", False, "give a number, not the text '0.5'"),
    ("12", True, "it should be a whole number: give a number, not the text '12'"),
    (["1", 2], False, "holds text, such as '1'"),
    (12.7, True, "is 12.7; it should be a whole number"),  # int() would truncate it to 12
    (11.999, True, "int() or round() would only hide"),
    (float("nan"), True, "is nan"),
    (float("inf"), True, "is inf"),
    (True, True, "not True"),
    ([12], False, "should be a single number, but it is [12], of type list"),
    (1 + 2j, False, "should be a single number"),
])
def test_read_number_refuses_with_a_reason(answer, whole, says):
    verdict = read_number(answer, "n", whole=whole)
    assert isinstance(verdict, Verdict) and verdict.status == "wrong" and says in verdict.message, verdict


def test_read_number_names_a_description_and_says_not_attempted():
    assert read_number(None, "n").status == "not attempted"
    verdict = read_number("3", "the epoch that f(x) returned", whole=True)
    assert verdict.message.startswith("The epoch that f(x) returned is the text '3'")
    assert "such as 'a'" in not_a_number(["a", "b", "c"], "mean", expected="3 numbers").message
    assert "3 numbers" in not_a_number({"r": 1}, "mean", expected="3 numbers").message


def _placeholder(x, y):
    """The student copy: a docstring, and a comment where the code goes."""
    # YOUR CODE HERE


def _passes(x, y):
    pass


def _prints(x, y):
    print(x + y)


def _forgets(x, y):
    x + y


def _raises(x, y):
    raise NotImplementedError


@pytest.mark.parametrize("function, nothing", [
    (_placeholder, True), (_passes, True), (lambda x, y: None, True),
    (_prints, False), (_forgets, False), (_raises, False), (lambda x, y: x, False), (print, False), ("text", False),
])
def test_does_nothing_tells_the_placeholder_from_a_function_that_computes(function, nothing):
    assert does_nothing(function) is nothing


def test_returned_none_asks_whether_it_printed():
    assert returned_none(_placeholder, "f", "f(1, 2)", returns="return y").status == "not attempted"
    verdict = returned_none(_prints, "f", "f(1, 2)", returns="return x + y")
    assert verdict.status == "wrong" and "`f(1, 2)` returned None: did `f` print its result" in verdict.message
    assert "`return x + y`" in verdict.hint


def test_trained_run_needs_epochs_to_judge():
    from cnncourse.training import TrainingResult

    def run(history):
        return TrainingResult(name="r", history=history, seconds=1.0, model=None)

    assert trained_run(None, "my_run").status == "not attempted"
    assert "what fit() returns, not a str" in trained_run("run", "my_run", made_by="fit()").message
    assert "no loss and no val_accuracy values" in trained_run(run({}), "my_run").message
    assert "no loss and no val_accuracy" in trained_run(run({"loss": [], "val_accuracy": []}), "my_run").message
    assert "no val_accuracy" in trained_run(run({"loss": [1.0], "accuracy": [0.5]}), "my_run").message
    assert trained_run(run({"loss": [1.0], "val_accuracy": [0.5]}), "my_run") is None


@pytest.mark.parametrize("answer, expected", [
    (2, True), (2.5, True), (np.float32(1), True), (np.array(3.0), True),
    (None, False), ("2", False), (b"2", False), (True, False), (np.bool_(False), False), ([2], False), ({}, False),
    ([[1, 2], [3]], False), (1 + 2j, False),
])
def test_is_single_number(answer, expected):
    assert is_single_number(answer) is expected


def test_booleans_get_the_type_hint_not_a_special_one():
    history = {"accuracy": [0.3, 0.5], "val_accuracy": [0.4, 0.35]}
    assert "single number" in lesson00.check_best_epoch(True, history).message  # True == 1 == expected
    assert "single number" in lesson00.check_accuracy(True, np.array([1]), np.array([1])).message


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


class TestLesson01:
    # check_subset: tests/test_exercises_lesson01.py
    @pytest.fixture
    def train_set(self):
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, size=(100, 32, 32, 3), dtype=np.uint8)
        return x, np.repeat(np.arange(10), 10)

    def test_more_data_decision_reads_the_line_with_its_noise(self):
        from cnncourse.exercises import lesson01
        sizes, accs = np.array([25, 50, 100, 200]), np.array([0.30, 0.35, 0.40, 0.45])  # 0.50 at 400
        assert lesson01.check_more_data_decision("can't tell", "no", sizes, accs).passed
        assert "noise" in lesson01.check_more_data_decision("no", "no", sizes, accs).message
        assert lesson01.check_more_data_decision(None, None, sizes, accs).status == "not attempted"

    def test_sign_augmentation_on_real_images(self, train_set):
        import keras

        from cnncourse.exercises import lesson01
        images = train_set[0][:4]
        shift = keras.layers.RandomTranslation(0.1, 0.1)
        assert lesson01.check_sign_augmentation(keras.Sequential([shift]), images).passed
        lessons_own = keras.Sequential([keras.layers.RandomFlip("horizontal"), shift])
        assert "mirrors" in lesson01.check_sign_augmentation(lessons_own, images).message
        assert "Nothing moves" in lesson01.check_sign_augmentation(keras.layers.RandomZoom(0.1), images).message
        resize = keras.Sequential([shift, keras.layers.Resizing(16, 16)])
        assert "shape" in lesson01.check_sign_augmentation(resize, images).message
        assert lesson01.check_sign_augmentation(None, images).status == "not attempted"


@pytest.mark.parametrize("answer, expected", [
    ([1, 2], [1.0, 2.0]), (np.array([[1], [2]], dtype=np.uint8), [[1.0], [2.0]]), (3, 3.0),
    (["1", "2"], None), ("1", None), ([True, False], None), ([1, None], None), ([[1, 2], [3]], None), ({0: 1}, None),
])
def test_as_numbers_takes_numbers_only(answer, expected):
    got = as_numbers(answer)
    assert (got is None) if expected is None else (got.dtype == float and np.array_equal(got, expected))


@pytest.mark.parametrize("answer, expected", [
    ({1: "b", 0: "a"}, ["a", "b"]), ({np.int64(0): 5, np.uint8(1): 6}, [5, 6]), (pd.Series([7, 8]), [7, 8]),
    (pd.Series([8, 7], index=[1, 0]), [7, 8]), ([8, 7], [8, 7]), ("text", "text"),
])
def test_by_class_puts_a_mapping_in_class_order_and_leaves_the_rest(answer, expected):
    assert by_class(answer, 2, name="w") == expected


@pytest.mark.parametrize("answer", [{0: 1}, {0: 1, 1: 2, 2: 3}, {"0": 1, "1": 2}, {0: 1, "1": 2}, {None: 1, 0: 2},
                                    {0.0: 1, 1.0: 2}, {False: 1, True: 2}, pd.Series([1, 2], index=["a", "b"])])
def test_by_class_refuses_keys_that_are_not_the_class_numbers(answer):
    verdict = by_class(answer, 2, name="w")
    assert isinstance(verdict, Verdict) and not verdict.passed and "keys of `w`" in verdict.message and verdict.hint


@pytest.mark.parametrize("cells, says", [
    ([], "Not attempted"),
    (["x = None  # replace None with your answer"], "Not attempted"),
    (["x = f()", "x = None"], "Not attempted"),  # the latest assignment counts
    (["x = None", "def f():\n    x = 1\n    print(x)"], "Not attempted"),  # a function's local is not the answer
    (["x = None", "%%time\nx = 1", "not python ("], "Not attempted"),
    (["def f():\n    print(1)", "x = None", "x = f()", "check(x)"], "`x = f()`, and `f` returned None"),
    (["def compute(a, b):\n    pass\nx = None\nif True:\n    x = compute(a, b)"], "`compute` returned None"),
    (["x = None\nx = print(0.5)"], "`print` returned None"),
    # the fixture of tests/test_grading.py: the cell raised NameError before it set `accuracy`
    (["x = None\nx = np.mean(val_pred == y_true)"], "did that cell stop with an error"),
    (["x = y"], "did that cell stop with an error"),
])
def test_unanswered_tells_a_none_result_from_the_placeholder(cells, says):
    verdict = unanswered("x", history=cells)
    assert says in verdict.message, verdict
    assert verdict.status == "not attempted" if says == "Not attempted" else verdict.status == "wrong" and verdict.hint


def test_unanswered_reads_the_cells_run_so_far_in_ipython(monkeypatch):
    import IPython

    class Shell:
        class history_manager:  # noqa: N801
            input_hist_parsed = ["", "def f():\n    print(2)\nanswer = f()", "check(answer)"]

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell)
    assert "`f` returned None" in unanswered("answer").message
    assert unanswered("other").status == "not attempted"
    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert unanswered("answer").status == "not attempted"
