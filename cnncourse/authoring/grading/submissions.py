"""Read a submission, find the solution it answers, and make the graded copy: the submission with the
solution's check cells (hidden tests included) in place."""
from __future__ import annotations

import copy
import json
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

from cnncourse.authoring.markers import add_grading_metadata, strip_markers

ROLE = "cnncourse_grading"  # cell metadata key used inside the graded copy only
SOLUTIONS_ENV = "CNNCOURSE_SOLUTIONS"  # where the solution notebooks are, when --solutions is not given


class GradingError(Exception):
    """A submission that cannot be graded at all; the message says why, in one line."""


def read_submission(path: str | Path) -> nbformat.NotebookNode:
    """Return the notebook at ``path``, or raise :class:`GradingError` saying what is wrong."""
    path = Path(path)
    if not path.exists():
        raise GradingError(f"{path}: no such file")
    if path.is_dir():
        raise GradingError(f"{path}: is a folder, not a notebook file")
    raw = path.read_bytes()
    if not raw.strip():
        raise GradingError(f"{path}: the file is empty (0 bytes of notebook): was it saved and uploaded completely?")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise GradingError(f"{path}: not a notebook: the file is binary, not text "
                           "(a .ipynb file is JSON text)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise GradingError(f"{path}: not a notebook: the file is not valid JSON ({error.msg} at line {error.lineno}); "
                           "was it saved completely, or is it a script renamed to .ipynb?") from None
    if not isinstance(data, dict) or "nbformat" not in data or not ("cells" in data or "worksheets" in data):
        raise GradingError(f"{path}: not a notebook: the file is JSON, but has no notebook structure "
                           "('nbformat' and 'cells')")
    cells = data.get("cells", [])
    if not isinstance(cells, list):
        raise GradingError(f"{path}: malformed notebook: 'cells' is not a list")
    for index, cell in enumerate(cells):
        source = cell.get("source", "") if isinstance(cell, dict) else None
        text_source = isinstance(source, str) or isinstance(source, list) and all(isinstance(s, str) for s in source)
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw") or not text_source:
            raise GradingError(f"{path}: malformed notebook: cell {index} is not a valid cell")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4, capture_validation_error={})
    except Exception as error:  # nbformat raises many kinds for broken files
        raise GradingError(f"{path}: not a readable notebook: {type(error).__name__}: {error}") from None
    for cell in nb.cells:
        cell.setdefault("metadata", nbformat.NotebookNode())
        if cell["cell_type"] == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    if not nb.get("cells"):
        raise GradingError(f"{path}: the notebook has no cells: nothing to grade")
    return nb


def solutions_dir_from(given: str | Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The folder of solution notebooks: ``given`` (``--solutions``), else ``$CNNCOURSE_SOLUTIONS``,
    else ``./solutions``. There is no guess from the installed package: a non-editable install
    (Binder, pip from GitHub) has no ``solutions/`` beside it, and instructors keep theirs private."""
    env = os.environ if env is None else env
    chosen = Path(given or env.get(SOLUTIONS_ENV) or "solutions")
    if not chosen.is_dir():
        how = ("--solutions" if given else f"${SOLUTIONS_ENV}" if env.get(SOLUTIONS_ENV)
               else "the default (./solutions)")
        raise GradingError(f"no solutions folder at {chosen} (from {how}): pass --solutions DIR, the course's "
                           f"solutions/ folder, or set {SOLUTIONS_ENV}")
    return chosen


def find_solution(submission_path: str | Path, nb: nbformat.NotebookNode, solutions_dir: str | Path) -> Path:
    """The solution notebook a submission answers: same file name, else most shared cell ids."""
    solutions_dir = Path(solutions_dir)
    same_name = solutions_dir / Path(submission_path).name
    if same_name.is_file():
        return same_name
    ids = {cell.get("id") for cell in nb.cells} - {None}
    best, best_shared = None, 0
    for candidate in sorted(solutions_dir.glob("*.ipynb")):
        cells = nbformat.read(candidate, as_version=4).cells
        shared = sum(cell.get("id") in ids for cell in cells)
        if shared > best_shared and shared >= len(cells) / 2:
            best, best_shared = candidate, shared
    if best is None:
        names = ", ".join(p.name for p in sorted(solutions_dir.glob("*.ipynb"))) or "none"
        raise GradingError(f"{submission_path}: no matching lesson in {solutions_dir}/ (it has: {names}): "
                           "no notebook of the same file name, and none shares its cells; "
                           "rename the file to its lesson's name")
    return best


# --- the graded copy -------------------------------------------------------------------------

@dataclass
class Check:
    """One check cell of a solution notebook: the cell that replaces the learner's in the graded copy."""
    grade_id: str
    cell_id: str
    source: str      # with the hidden tests
    visible: str     # what the learner sees (the student copy of the cell)
    points: float


@dataclass
class Exercise:
    """One graded exercise of a solution notebook: its answer cell and its check cells."""
    name: str
    title: str
    answer_grade_id: str = ""
    answer_cell_id: str = ""
    checks: list = field(default_factory=list)


def _title_before(cells, index):
    for cell in reversed(cells[:index]):
        if cell.cell_type == "markdown":
            headings = [line.lstrip("#").strip() for line in cell.source.split("\n") if line.startswith("#")]
            if headings:
                return headings[-1]
    return ""


def exercises_of(solution_nb: nbformat.NotebookNode) -> list[Exercise]:
    """The graded exercises of a solution notebook, from its (derived) nbgrader metadata."""
    nb = add_grading_metadata(solution_nb)
    exercises = {}
    for index, cell in enumerate(nb.cells):
        grading = cell.metadata.get("nbgrader", {})
        match = re.match(r"^(ex\d+)-(answer|check)", grading.get("grade_id", ""))
        if not match:
            continue
        name = match.group(1)
        exercise = exercises.setdefault(name, Exercise(name, _title_before(nb.cells, index)))
        if match.group(2) == "answer":
            exercise.answer_grade_id, exercise.answer_cell_id = grading["grade_id"], cell.get("id", "")
        else:
            exercise.checks.append(Check(grading["grade_id"], cell.get("id", ""), cell.source,
                                          strip_markers(cell.source, index), float(grading.get("points", 1))))
    return [exercise for exercise in exercises.values() if exercise.checks]


def _find(cells, used, *tests):
    """The first code cell not in ``used`` passing the first test that any such cell passes."""
    for test in tests:
        for cell in cells:
            if id(cell) not in used and cell.cell_type == "code" and test(cell):
                return cell
    return None


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _position(cells, cell):
    return next(index for index, candidate in enumerate(cells) if candidate is cell)


def graded_copy(submission_nb: nbformat.NotebookNode,
                solution_nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[Exercise], list[str]]:
    """The submission with outputs cleared and the official check cells (hidden tests included)
    in place. Returns the notebook, the exercises, and notes on cells that were restored."""
    exercises = exercises_of(solution_nb)
    if not exercises:
        raise GradingError("the solution notebook has no check cells with hidden tests: nothing to grade")
    nb = copy.deepcopy(submission_nb)
    for cell in nb.cells:
        cell.metadata.pop(ROLE, None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    cells, notes, used = list(nb.cells), [], set()
    for exercise in exercises:
        answer = _find(cells, used, lambda c: _grade_id(c) == exercise.answer_grade_id,
                       lambda c: bool(exercise.answer_cell_id) and c.get("id") == exercise.answer_cell_id)
        if answer is not None:
            used.add(id(answer))
            answer.metadata[ROLE] = {"role": "answer", "exercise": exercise.name}
        after = answer
        for check in exercise.checks:
            visible = check.visible.strip()
            cell = _find(cells, used, lambda c: _grade_id(c) == check.grade_id,
                         lambda c: bool(check.cell_id) and c.get("id") == check.cell_id,
                         lambda c: bool(visible) and c.source.strip() == visible)
            inserted = cell is None
            if inserted:  # deleted by the learner, or a hidden-tests-only cell: put it back
                cell = new_code_cell("")
                cells.insert(len(cells) if after is None else _position(cells, after) + 1, cell)
                if visible:
                    notes.append(f"{exercise.name}: its check cell was missing and has been restored")
            used.add(id(cell))
            cell.source = check.source
            cell.metadata[ROLE] = {"role": "check", "exercise": exercise.name, "grade_id": check.grade_id,
                                   "inserted": inserted}
            after = cell
    nb.cells = cells
    return nb, exercises, notes
