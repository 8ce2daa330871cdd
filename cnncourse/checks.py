"""Verdicts for the exercises: what a check cell prints after the learner's answer.

A check never ends in a traceback. It says one of three things:
- correct (and why that matters),
- not attempted yet (the answer is still ``None``), or
- not yet right: what is wrong, and a hint.
The returned :class:`Verdict` has ``.passed``, so hidden grading tests can assert on it.
"""
import html
from dataclasses import dataclass

import numpy as np

_STYLE = {"correct": ("✅", "#e6f4ea"), "not attempted": ("✏️", "#f1f3f4"), "wrong": ("❌", "#fce8e6")}


@dataclass(frozen=True)
class Verdict:
    status: str          # "correct", "not attempted" or "wrong"
    message: str
    hint: str = ""

    @property
    def passed(self):
        return self.status == "correct"

    def __str__(self):
        icon = _STYLE[self.status][0]
        text = f"{icon} {self.message}"
        return text + (f"\nHint: {self.hint}" if self.hint else "")

    def _repr_html_(self):
        icon, colour = _STYLE[self.status]
        hint = f"<br><b>Hint:</b> {html.escape(self.hint)}" if self.hint else ""
        return (f'<div style="background:{colour};color:#202124;padding:8px 12px;border-radius:6px">'
                f"{icon} {html.escape(self.message)}{hint}</div>")

    def __repr__(self):
        return str(self)


def correct(message):
    return Verdict("correct", message)


def wrong(message, hint=""):
    return Verdict("wrong", message, hint)


def not_attempted(name):
    return Verdict("not attempted", f"Not attempted yet: set `{name}` in the cell above, run it, then run this check.")


def check_array(answer, expected, *, name, hint="", atol=1e-6, success="Correct."):
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


def is_single_number(answer):
    """True for one int or float (NumPy scalars and 0-d arrays too); False for None, text,
    booleans and anything with more than one value."""
    if answer is None or isinstance(answer, (str, bytes, bool, np.bool_)) or np.ndim(answer) != 0:
        return False
    try:
        float(answer)
    except (TypeError, ValueError):
        return False
    return True


def check_number(answer, expected, *, name, hint="", atol=1e-6, success="Correct."):
    """Compare a single number with the expected value (within ``atol``)."""
    if answer is None:
        return not_attempted(name)
    if not is_single_number(answer):
        return wrong(f"`{name}` should be a single number, but it is a {type(answer).__name__}.", hint)
    value = float(answer)
    if not np.isclose(value, expected, atol=atol, rtol=0):
        return wrong(f"`{name}` is {value:g}, which is not right yet.", hint)
    return correct(success)


def check_choice(answer, correct_choice, *, name, explanations, success):
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
