"""Grade a learner's lesson notebook with the hidden checks of ``solutions/``.

    cnncourse-grade SUBMISSION.ipynb [MORE.ipynb ...] [--solutions DIR] [--timeout S]
                    [--cell-timeout S] [--csv FILE] [--json FILE]

For each submission this module

1. reads it, and refuses with a one-line message anything that is not a notebook with cells
   (missing, empty, not JSON, JSON of another kind, malformed cells);
2. finds its solution: ``solutions/<same file name>``, else the notebook in ``solutions/`` that
   shares most of its cell ids (Jupyter keeps them, and the student copies inherit them);
3. puts the official check cells back, hidden tests included: each check cell of the solution
   (nbgrader metadata, see :mod:`cnncourse.authoring.markers`) replaces the submission's cell with
   the same grade_id, else the same cell id, else the same visible code; a check cell the
   learner deleted is restored after their answer. A learner's edits to a check cell are
   therefore overwritten, as nbgrader's ``autograde`` does;
4. runs the notebook top to bottom in a fresh kernel of this Python environment (so
   ``CNNCOURSE_DATA_DIR`` and the installed ``cnncourse`` reach it), in a scratch folder, with a
   time limit per cell and for the whole run. Errors do not stop the run: an exercise that
   fails, or a cell that times out (it is interrupted), costs that exercise only;
5. scores each exercise: the points of its check cells that ran without error. A failed check
   shows its verdict (:meth:`cnncourse.checks.Verdict.assert_passed`), whose output carries it as
   data, so the table says *why* in the words the learner would have seen ("`accuracy` is 57.3,
   which is not right yet"); a check that failed some other way is reported by its error.

Exit status: 0 when every submission was graded in full, 1 when a run stopped early (time
limit, kernel died: the exercises it did not reach score 0 and the table says so), 2 when a
file could not be graded at all (the message says why; the other files are still graded).

The steps live in submodules: :mod:`~cnncourse.authoring.grading.submissions` (1-3: reading a
submission, finding its solution, the graded copy), :mod:`~cnncourse.authoring.grading.running` (4)
and :mod:`~cnncourse.authoring.grading.scoring` (5, and the table, CSV and JSON reports); this module
runs them for each submission (:func:`grade`) and is the command line (:func:`main`).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import nbformat

from cnncourse.authoring.grading.running import DEFAULT_CELL_TIMEOUT, DEFAULT_TIMEOUT, run_notebook
from cnncourse.authoring.grading.scoring import (
    CSV_FIELDS,
    ExerciseResult,
    Report,
    describe_cell,
    exit_code,
    format_report,
    notes_on_errors,
    score,
    write_csv,
    write_json,
)
from cnncourse.authoring.grading.submissions import (
    ROLE,
    SOLUTIONS_ENV,
    Check,
    Exercise,
    GradingError,
    exercises_of,
    find_solution,
    graded_copy,
    read_submission,
    solutions_dir_from,
)

__all__ = [
    "CSV_FIELDS", "DEFAULT_CELL_TIMEOUT", "DEFAULT_TIMEOUT", "PROG", "ROLE", "SOLUTIONS_ENV", "Check", "Exercise",
    "ExerciseResult", "GradingError", "Report", "describe_cell", "exercises_of", "exit_code", "find_solution",
    "format_report", "grade", "graded_copy", "main", "notes_on_errors", "read_submission", "run_notebook", "score",
    "solutions_dir_from", "write_csv", "write_json",
]

PROG = "cnncourse-grade"


def grade(submission: str | Path, solutions_dir: str | Path | None = None, timeout: float = DEFAULT_TIMEOUT,
          cell_timeout: float = DEFAULT_CELL_TIMEOUT, env: Mapping[str, str] | None = None) -> Report:
    """Grade one submission; never raises for a bad submission (see ``Report.error``)."""
    report, started = Report(str(submission)), time.monotonic()
    try:
        nb = read_submission(submission)
        solution_path = find_solution(submission, nb, solutions_dir_from(solutions_dir))
        report.solution = str(solution_path)
        graded, exercises, report.notes = graded_copy(nb, nbformat.read(solution_path, as_version=4))
        replies, report.problems = run_notebook(graded, timeout, cell_timeout, env)
        report.exercises = score(graded, exercises, replies, report.problems)
        report.notes += notes_on_errors(graded, replies)
    except GradingError as error:
        report.error = str(error)
    except Exception as error:  # a bug or an odd file must not cost the other submissions their grades
        report.error = f"{submission}: could not grade: {type(error).__name__}: {error}"
    report.seconds = time.monotonic() - started
    return report


def main(argv: list[str] | None = None) -> int:
    """The command line ``cnncourse-grade`` (``argv`` defaults to ``sys.argv[1:]``); returns the exit status."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Run learners' lesson notebooks with the hidden checks of solutions/ and score "
                               "each exercise. Exit status: 0 graded, 1 a run stopped early, "
                               "2 a file could not be graded.")
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION.ipynb", help="filled-in lesson notebook(s)")
    parser.add_argument("--solutions", metavar="DIR", help=f"the course's solution notebooks (default: "
                                                           f"${SOLUTIONS_ENV}, else ./solutions)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                        help="time limit for a whole notebook in seconds (default: %(default)s)")
    parser.add_argument("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT, metavar="S",
                        help="time limit for one cell in seconds (default: %(default)s)")
    parser.add_argument("--csv", metavar="FILE", help="also write one row per exercise to FILE")
    parser.add_argument("--json", metavar="FILE", help="also write the full reports to FILE")
    args = parser.parse_args(argv)
    if args.timeout <= 0 or args.cell_timeout <= 0:
        parser.error("time limits must be positive")
    reports = []
    for submission in args.submissions:
        report = grade(submission, args.solutions, args.timeout, args.cell_timeout)
        print(format_report(report), flush=True)
        reports.append(report)
    try:
        if args.csv:
            write_csv(reports, args.csv)
        if args.json:
            write_json(reports, args.json)
    except OSError as error:
        print(f"error: could not write the results: {error}", file=sys.stderr)
        return 2
    return exit_code(reports)
