"""Verdicts for the exercises: what a check cell prints after the learner's answer.

A check never ends in a traceback. It says one of three things:
- correct (and why that matters),
- not attempted yet (the answer is still ``None``), or
- not yet right: what is wrong, and a hint.
A check cell computes the verdict once, shows it, and its hidden grading test asserts on it::

    verdict = ex.check_accuracy(accuracy, val_pred, y_val)
    ### BEGIN HIDDEN TESTS
    verdict.assert_passed()
    ### END HIDDEN TESTS
    verdict

Jupyter shows a :class:`Verdict` as coloured HTML, or text; beside them its output carries the
verdict as data (``VERDICT_MIME``, a JSON object), which is what ``cnncourse-grade`` reads.
"""
from __future__ import annotations

import ast
import dis
import html
import math
import reprlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

VERDICT_MIME = "application/vnd.cnncourse.verdict+json"
_STYLE = {"correct": ("✅", "#e6f4ea"), "not attempted": ("✏️", "#f1f3f4"), "wrong": ("❌", "#fce8e6")}


@dataclass(frozen=True)
class Verdict:
    status: str          # "correct", "not attempted" or "wrong"
    message: str
    hint: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "correct"

    def assert_passed(self) -> None:
        """For a check cell's hidden test: unless the answer is correct, show the verdict (so a
        grader reads why) and raise ``AssertionError`` with its text."""
        if self.passed:
            return
        try:
            from IPython.display import display
        except ImportError:  # plain Python: the exception's message says it all
            pass
        else:
            display(self)
        raise AssertionError(str(self))

    def as_dict(self) -> dict:
        """The verdict as JSON-ready data: status, message, hint and passed."""
        return {**asdict(self), "passed": self.passed}

    def __str__(self) -> str:
        icon = _STYLE[self.status][0]
        text = f"{icon} {self.message}"
        return text + (f"\nHint: {self.hint}" if self.hint else "")

    def _repr_html_(self) -> str:
        icon, colour = _STYLE[self.status]
        hint = f"<br><b>Hint:</b> {html.escape(self.hint)}" if self.hint else ""
        return (f'<div style="background:{colour};color:#202124;padding:8px 12px;border-radius:6px">'
                f"{icon} {html.escape(self.message)}{hint}</div>")

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/plain": str(self), "text/html": self._repr_html_(), VERDICT_MIME: self.as_dict()}

    def __repr__(self) -> str:
        return str(self)


def verdict_from_output(data: Mapping) -> Verdict | None:
    """The verdict carried by a notebook output's ``data`` (its MIME bundle), or None."""
    fields = data.get(VERDICT_MIME)
    if not isinstance(fields, Mapping) or fields.get("status") not in _STYLE:
        return None
    return Verdict(fields["status"], str(fields.get("message", "")), str(fields.get("hint", "")))


def correct(message: str) -> Verdict:
    return Verdict("correct", message)


def wrong(message: str, hint: str = "") -> Verdict:
    return Verdict("wrong", message, hint)


def not_attempted(name: str) -> Verdict:
    return Verdict("not attempted", f"Not attempted yet: set `{name}` in the cell above, run it, then run this check.")


def check_array(answer: object, expected: np.ndarray, *, name: str, hint: str = "", atol: float = 1e-6,
                success: str = "Correct.") -> Verdict:
    """Compare an array answer with the expected array: type, shape, then values. Text is refused, never
    converted: ``["12", "5"]`` is not ``[12, 5]``."""
    if answer is None:
        return not_attempted(name)
    expected = np.asarray(expected)
    got = as_numbers(answer)
    if got is None:
        return not_a_number(answer, name, expected="an array of numbers", hint=hint)
    if got.shape != expected.shape:
        return wrong(f"`{name}` has shape {got.shape}, expected {expected.shape}.", hint)
    mismatched = ~np.isclose(got, expected, atol=atol, rtol=1e-6)
    if mismatched.any():
        first = np.argwhere(mismatched)[0]
        where = tuple(int(i) for i in first) if got.ndim > 1 else int(first[0])
        return wrong(f"{int(mismatched.sum())} of {expected.size} values of `{name}` differ; "
                     f"e.g. at index {where} you have {got[tuple(first)]:g}, expected {expected[tuple(first)]:g}.",
                     hint)
    return correct(success)


def rounded_tolerance(decimals: int) -> float:
    """How far an answer rounded to ``decimals`` places may be from the exact value (half a unit
    of the last place, plus a hair for floating point): the notebooks print numbers rounded, and
    an answer copied as printed is right."""
    return 0.5 * 10.0 ** -decimals + 1e-9


def is_single_number(answer: object) -> bool:
    """True for one int or float (NumPy scalars and 0-d arrays too); False for None, text,
    booleans and anything with more than one value."""
    if answer is None or isinstance(answer, (str, bytes, bool, np.bool_)):
        return False
    try:
        if np.ndim(answer) != 0:
            return False
        float(answer)
    except (TypeError, ValueError):  # ValueError also for nested lists of unequal length
        return False
    return True


_TEXT_HINT = ("Leave out the quotes: 12, not '12'. (Text read from a file or a widget becomes a number with "
              "float(text).)")


def _who(name: str) -> str:
    """How a message names an answer: a variable in backticks (`mean`), a description as it is (capitalized: it
    starts the message)."""
    return f"`{name}`" if name.isidentifier() else name[:1].upper() + name[1:]


def _text_in(answer: object, limit: int = 1000) -> str | bytes | None:
    """The answer itself where it is text, else the first text among its items (a list, tuple, array or
    pandas object, looked at to ``limit`` items), else None."""
    if isinstance(answer, (str, bytes)):
        return answer
    if hasattr(answer, "to_numpy") and not isinstance(answer, np.ndarray):  # pandas
        try:
            answer = answer.to_numpy()
        except Exception:  # an object that only looks like pandas
            return None
    if isinstance(answer, np.ndarray):
        if answer.dtype.kind not in "USO":
            return None
        items = answer.flat
    elif isinstance(answer, (list, tuple)):
        items = answer
    else:
        return None
    for count, item in enumerate(items):
        if count >= limit:
            break
        found = _text_in(item, limit)
        if found is not None:
            return found
    return None


def not_a_number(answer: object, name: str, *, expected: str = "a single number", hint: str = "") -> Verdict:
    """The wrong verdict for an answer that a number check cannot take, saying what it is instead: text
    (``'12'`` is not 12, and is never converted), True/False, or anything else. ``expected`` says what it
    should be, e.g. "a single number" or "an array of 3 numbers"; ``hint`` is given unless the answer is text."""
    who, text = _who(name), _text_in(answer)
    if text is not None:
        quoted = reprlib.repr(text.decode(errors="replace") if isinstance(text, bytes) else str(text))
        if text is answer:
            return wrong(f"{who} is the text {quoted}; it should be {expected}: give a number, not the text {quoted}.",
                         _TEXT_HINT)
        return wrong(f"{who} holds text, such as {quoted}; it should be {expected}: give numbers, not text.",
                     _TEXT_HINT)
    if isinstance(answer, (bool, np.bool_)):
        return wrong(f"{who} should be {expected}, not {answer} (True and False are not numbers here).", hint)
    return wrong(f"{who} should be {expected}, but it is {shown(answer)}.", hint)


def read_number(answer: object, name: str, *, whole: bool = False, expected: str = "", hint: str = "",
                ) -> float | int | Verdict:
    """One number from a learner's answer: a float, or an int where ``whole``; else the Verdict to show.

    Not attempted for None; wrong for text (``"12"`` stays text: say so, rather than convert it), booleans and
    anything with more than one value (:func:`not_a_number`); and, where ``whole``, wrong for a number with a
    fractional part, which ``int()`` would silently truncate into what may be the right answer (12.0 is whole
    and passes as 12). ``expected`` describes what the answer should be; ``hint`` helps with a wrong one."""
    expected = expected or ("a whole number" if whole else "a single number")
    if answer is None:
        return not_attempted(name)
    if not is_single_number(answer):
        return not_a_number(answer, name, expected=expected, hint=hint)
    value = float(answer)
    if not whole:
        return value
    if not math.isfinite(value):
        return wrong(f"{_who(name)} is {value:g}; it should be {expected}.", hint)
    if not value.is_integer():
        return wrong(f"{_who(name)} is {value:g}; it should be {expected}. A fraction means the computation went "
                     "wrong somewhere, and int() or round() would only hide that by cutting it off.", hint)
    return int(value)


def check_number(answer: object, expected: float, *, name: str, hint: str = "", atol: float = 1e-6,
                 success: str = "Correct.") -> Verdict:
    """Compare a single number with the expected value (within ``atol``). Text is refused, never converted."""
    value = read_number(answer, name, hint=hint)
    if isinstance(value, Verdict):
        return value
    if not np.isclose(value, expected, atol=atol, rtol=0):
        return wrong(f"`{name}` is {value:g}, which is not right yet.", hint)
    return correct(success)


def as_numbers(answer: object) -> np.ndarray | None:
    """The answer as an array of floats, or None where it holds anything but numbers: text, booleans,
    None, objects, nested lists of unequal length."""
    try:
        array = np.asarray(answer)
    except (TypeError, ValueError):
        return None
    return array.astype(float) if array.dtype.kind in "iuf" else None


def shown(answer: object) -> str:
    """An answer as a message shows it: a shortened repr and its type."""
    return f"{reprlib.repr(answer)}, of type {type(answer).__name__}"


def by_class(answer: object, num_classes: int, *, name: str) -> object:
    """A ``{class: value}`` answer (a dict, Counter or pandas Series) as a list in class order; any other
    answer as it is. A wrong Verdict when the keys are not the class numbers 0 to ``num_classes - 1``."""
    pandas = sys.modules.get("pandas")  # a learner's Series means pandas is imported already
    if pandas is not None and isinstance(answer, pandas.Series):
        answer = answer.to_dict()
    if not isinstance(answer, Mapping):
        return answer
    keys = list(answer)
    if not all(isinstance(key, (int, np.integer)) and not isinstance(key, bool) for key in keys) \
            or sorted(keys) != list(range(num_classes)):
        return wrong(f"The keys of `{name}` are {reprlib.repr(keys)}; they should be the class numbers 0 to "
                     f"{num_classes - 1}.", "dict(enumerate(values)) numbers a list of values by class.")
    return [answer[c] for c in range(num_classes)]


def _input_history() -> list[str]:
    """The code of the cells run so far, oldest first; empty outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    return list(shell.history_manager.input_hist_parsed) if shell is not None else []


def _assigned_values(node: ast.AST, name: str):
    """The values assigned to the global ``name`` in ``node``, in source order (not inside functions)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(child, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in child.targets):
            yield child.value
        yield from _assigned_values(child, name)


def _parsed(cells: Sequence[str]) -> list[ast.Module]:
    trees = []
    for cell in cells:
        try:
            trees.append(ast.parse(cell))
        except SyntaxError:  # e.g. a cell IPython could not transform either
            pass
    return trees


def _latest_value(trees: Sequence[ast.Module], name: str) -> ast.expr | None:
    """What the newest cell that sets the global ``name`` sets it to last, or None where no cell does."""
    for tree in reversed(trees):
        values = list(_assigned_values(tree, name))
        if values:
            return values[-1]
    return None


def unanswered(*names: str, history: Sequence[str] | None = None) -> Verdict:
    """The verdict for answers that are still None. The value alone cannot tell a placeholder left as it
    is from a helper that prints its result instead of returning it, so this reads the cells run so far
    (``history`` stands in for them in tests): not attempted where the latest cell that sets one of
    ``names`` sets it to ``None``, or where none does."""
    trees = _parsed(_input_history() if history is None else history)
    functions = {node.name for tree in trees for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))} | {"print"}
    for name in names:
        value = _latest_value(trees, name)
        if value is None or (isinstance(value, ast.Constant) and value.value is None):
            continue
        code = ast.unparse(value)
        code = code if len(code) <= 60 else code[:57] + "..."
        called = value.func.id if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) else None
        if called in functions:
            return wrong(f"`{name}` is None: your code sets `{name} = {code}`, and `{called}` returned None.",
                         "A function that prints its result instead of returning it gives None (print itself "
                         "too): end your function with `return` and the result, then rerun both cells.")
        return wrong(f"`{name}` is still None, although your code sets `{name} = {code}`: did that cell stop "
                     "with an error before it got there?", "Rerun that cell, fix the error it shows, then run "
                     "this check again.")
    return not_attempted(", ".join(names))


_NOTHING_OPS = {"RESUME", "NOP", "CACHE", "EXTENDED_ARG", "RETURN_VALUE"}


def does_nothing(function: object) -> bool:
    """True for a Python function whose body does nothing but return None: a placeholder left as it is
    (only a docstring, a comment, ``pass`` or ``...``), or ``lambda *args: None``. False for anything else,
    including a function that computes and then forgets to return (it prints, say)."""
    code = getattr(function, "__code__", None)
    if code is None:
        return False
    try:
        instructions = list(dis.get_instructions(code))
    except Exception:  # not a code object after all
        return False
    return all(i.opname in _NOTHING_OPS or (i.opname in ("LOAD_CONST", "RETURN_CONST") and i.argval is None)
               for i in instructions)


def returned_none(function: object, name: str, call: str, *, returns: str) -> Verdict:
    """The verdict for a learner's function ``name`` that returned None when the check called it (``call``
    shows the call): not attempted where its body is still the placeholder, else wrong: it computes
    something but does not return it (printing it instead, most often). ``returns`` shows the return
    statement it needs, e.g. ``return epochs_trained, restored_epoch``."""
    if does_nothing(function):
        return not_attempted(name)
    return wrong(f"`{call}` returned None: did `{name}` print its result instead of returning it?",
                 f"A function hands its result back with `{returns}` as its last line; print() only shows it, and "
                 "the function still returns None.")


def trained_run(run: object, name: str, *, made_by: str = "train()", example: str = "") -> Verdict | None:
    """For the check of a training run: None where ``run`` is a ``cnncourse.training.TrainingResult`` with at least
    one epoch recorded (training loss and validation accuracy); else the verdict to show: not attempted,
    something other than what ``made_by`` returns, or a run without epochs (its history is empty)."""
    from cnncourse.training import TrainingResult  # here: the checks that judge no run do not load Keras

    if run is None:
        return not_attempted(name)
    if not isinstance(run, TrainingResult):
        return wrong(f"`{name}` should be what {made_by} returns, not a {type(run).__name__}.", example)
    history = run.history if isinstance(run.history, Mapping) else {}
    missing = [key for key in ("loss", "val_accuracy") if history.get(key) is None or len(history[key]) == 0]
    if missing:
        return wrong(f"`{name}` holds no epoch to judge: its history has no {' and no '.join(missing)} values. "
                     "Did it train for 0 epochs, or without validation data?",
                     example or "Train it as the exercise says, with validation data, for the lesson's epochs.")
    return None


def build_answer(answer: object, name: str, *, seed: int, example: str) -> tuple[object, Verdict | None]:
    """Seed, then call ``answer``, a learner's function that builds a Keras model: ``(model, None)``, or
    ``(None, verdict)`` saying what is wrong (not attempted, a model or something else instead of a function,
    a function that raises or returns no model). ``example`` shows the expected shape of the answer."""
    import keras  # here, so that the checks that need no model do not load Keras

    if answer is None:
        return None, not_attempted(name)
    if isinstance(answer, keras.Model):
        return None, wrong(f"`{name}` is a model; the check needs the function that builds one, so that it can "
                           "train a fresh copy.", example)
    if not callable(answer):
        return None, wrong(f"`{name}` should be a function that builds a model, not a {type(answer).__name__}.",
                           example)
    keras.utils.set_random_seed(seed)
    try:
        model = answer()
    except Exception as error:  # a learner's function can fail in any way; say how
        return None, wrong(f"Calling `{name}()` failed: {type(error).__name__}: {error}")
    if not isinstance(model, keras.Model):
        return None, wrong(f"`{name}()` returned a {type(model).__name__}, not a Keras model.",
                           "End the function with `return model`.")
    return model, None


def check_named_cause(answer: object, cause: str, codes: Mapping[str, str], *, how_to_find: str,
                      then: str = "shows how to fix it.") -> Verdict:
    """A learner's ``cause``: one code of ``codes`` (e.g. ``diagnose``'s, mapping each code to where to read about
    it), judged against the planted ``cause``. Case, spaces and dashes are forgiven; ``how_to_find`` is the hint
    for a wrong code."""
    if answer is None:
        return not_attempted("cause")
    if isinstance(answer, (list, tuple, set)):
        return wrong("`cause` should be one code, the most likely cause, not a list or other collection.",
                     "report.codes lists the findings most likely first: take its first item.")
    if not isinstance(answer, str):
        return wrong(f"`cause` should be a string such as 'unscaled_inputs', not a {type(answer).__name__}.",
                     "A Report is not a code: use report.codes[0].")
    given = "_".join(answer.strip().lower().replace("-", " ").split())
    if given not in codes:
        return wrong(f"{answer!r} is not one of diagnose's codes.", "One of: " + ", ".join(codes) + ".")
    if given != cause:
        return wrong(f"{given!r} is not what breaks this pipeline.", how_to_find)
    return correct(f"Correct: {given}. {codes[given].capitalize()} {then}")
