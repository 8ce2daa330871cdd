"""The exercise markers of a solution notebook, and the nbgrader metadata derived from them.

Markers (nbgrader's, matched on the whole stripped line, in code cells only):

* ``### BEGIN SOLUTION`` ... ``### END SOLUTION``: the answer. In the student copy the block,
  markers included, becomes one ``# YOUR CODE HERE`` line at the indentation of the BEGIN line.
  Put a stub such as ``counts = None  # replace None with your answer`` just before the block so
  later cells still run in the student copy.
* ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``: grading checks, removed from the
  student copy. A cell left empty by the removal is dropped.

nbgrader metadata is derived from the markers, so no lesson needs any of its own: a code cell
holding a solution block is an *answer* cell of the next exercise (``solution: true``, grade_id
``ex<N>-answer``), a code cell holding hidden tests is a *check* cell of the current exercise
(autograder tests, ``grade: true``, 1 point unless the author set other points, grade_id
``ex<N>-check``, ``ex<N>-check-2`` for a second one). The student-copy generator stamps it into
``solutions/``; the grader and nbgrader both find the exercises through it.
"""
from __future__ import annotations

import copy
import re

import nbformat

STUB = "# YOUR CODE HERE"
MARKERS = {
    "### BEGIN SOLUTION": ("solution", True), "### END SOLUTION": ("solution", False),
    "### BEGIN HIDDEN TESTS": ("hidden tests", True), "### END HIDDEN TESTS": ("hidden tests", False),
}
NBGRADER_SCHEMA = 3
OUR_GRADE_ID = re.compile(r"^ex\d+-(answer|check(-\d+)?)$")


def block_kinds(source: str) -> set[str]:
    """The kinds of marker blocks (``"solution"``, ``"hidden tests"``) begun in ``source``."""
    return {MARKERS[line.strip()][0] for line in source.split("\n")
            if MARKERS.get(line.strip(), (None, False))[1]}


def _points(metadata):
    points = metadata.get("nbgrader", {}).get("points")
    ok = isinstance(points, (int, float)) and not isinstance(points, bool) and points >= 0
    return points if ok else 1


def add_grading_metadata(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a copy of ``nb`` whose answer and check cells carry nbgrader metadata derived from
    the markers (see the module docstring); idempotent. Stale metadata of ours on a cell that no
    longer holds markers is removed; nbgrader metadata an author set by hand on other cells is kept.
    """
    nb = copy.deepcopy(nb)
    exercise, checks = 0, 0
    for index, cell in enumerate(nb.cells):
        kinds = set()
        if cell.cell_type == "code":
            strip_markers(cell.source, index)  # unbalanced or nested markers: say so first
            kinds = block_kinds(cell.source)
        meta = {"schema_version": NBGRADER_SCHEMA, "locked": False, "task": False}
        if kinds == {"solution", "hidden tests"}:
            raise ValueError(f"cell {index}: holds an answer (SOLUTION block) and hidden tests; "
                             "put the hidden tests in a check cell of their own below the answer")
        if "solution" in kinds:
            exercise, checks = exercise + 1, 0
            meta.update(grade_id=f"ex{exercise}-answer", solution=True, grade=False)
        elif "hidden tests" in kinds:
            checks += 1
            meta.update(grade_id=f"ex{exercise}-check" + (f"-{checks}" if checks > 1 else ""),
                        solution=False, grade=True, locked=True, points=_points(cell.metadata))
        else:
            if OUR_GRADE_ID.match(str(cell.metadata.get("nbgrader", {}).get("grade_id", ""))):
                del cell.metadata["nbgrader"]
            continue
        cell.metadata["nbgrader"] = nbformat.from_dict(meta)
    return nb


def strip_markers(source: str, cell_index: int) -> str:
    """Replace solution blocks by the stub and drop hidden-test blocks in one cell's source."""
    kept, open_block = [], None  # open_block: (kind, line number) of the unclosed BEGIN
    for number, line in enumerate(source.split("\n"), start=1):
        kind, begins = MARKERS.get(line.strip(), (None, None))
        if kind is None:
            if open_block is None:
                kept.append(line)
        elif begins:
            if open_block is not None:
                raise ValueError(f"cell {cell_index}: line {number} begins a {kind} block inside the "
                                 f"{open_block[0]} block opened on line {open_block[1]} (nesting is not allowed)")
            open_block = (kind, number)
            if kind == "solution":
                kept.append(line[: len(line) - len(line.lstrip())] + STUB)
        elif open_block is None or open_block[0] != kind:
            raise ValueError(f"cell {cell_index}: line {number} ends a {kind} block that was never begun")
        else:
            open_block = None
    if open_block is not None:
        raise ValueError(f"cell {cell_index}: the {open_block[0]} block begun on line {open_block[1]} is never ended")
    return "\n".join(kept)
