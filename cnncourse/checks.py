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

import html
from collections.abc import Mapping
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
    """Compare an array answer with the expected array: type, shape, then values."""
    if answer is None:
        return not_attempted(name)
    expected = np.asarray(expected)
    try:
        got = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return wrong(f"`{name}` should be an array of numbers, but it is a {type(answer).__name__}.", hint)
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


def is_single_number(answer: object) -> bool:
    """True for one int or float (NumPy scalars and 0-d arrays too); False for None, text,
    booleans and anything with more than one value."""
    if answer is None or isinstance(answer, (str, bytes, bool, np.bool_)) or np.ndim(answer) != 0:
        return False
    try:
        float(answer)
    except (TypeError, ValueError):
        return False
    return True


def check_number(answer: object, expected: float, *, name: str, hint: str = "", atol: float = 1e-6,
                 success: str = "Correct.") -> Verdict:
    """Compare a single number with the expected value (within ``atol``)."""
    if answer is None:
        return not_attempted(name)
    if not is_single_number(answer):
        return wrong(f"`{name}` should be a single number, but it is a {type(answer).__name__}.", hint)
    value = float(answer)
    if not np.isclose(value, expected, atol=atol, rtol=0):
        return wrong(f"`{name}` is {value:g}, which is not right yet.", hint)
    return correct(success)


def check_choice(answer: object, correct_choice: str, *, name: str, explanations: Mapping[str, str],
                 success: str) -> Verdict:
    """A multiple-choice answer (a letter); ``explanations`` says why each wrong choice is wrong."""
    if answer is None:
        return not_attempted(name)
    choice = str(answer).strip().upper()
    if choice == correct_choice:
        return correct(success)
    if choice in explanations:
        return wrong(f"Not {choice}: {explanations[choice]}")
    options = ", ".join(sorted([*explanations, correct_choice]))
    return wrong(f"`{name}` should be one of {options}, got {answer!r}.")
