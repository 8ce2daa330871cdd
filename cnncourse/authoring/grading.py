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
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbclient.exceptions import DeadKernelError
from nbformat.v4 import new_code_cell

from cnncourse.authoring.markers import add_grading_metadata, strip_markers
from cnncourse.authoring.runner import NotebookRun
from cnncourse.checks import verdict_from_output

PROG = "cnncourse-grade"
ROLE = "cnncourse_grading"  # cell metadata key used inside the graded copy only
DEFAULT_TIMEOUT = 1200      # seconds for the whole notebook (lessons take 1-3 min on 2 CPU cores)
DEFAULT_CELL_TIMEOUT = 600  # seconds for any one cell
SOLUTIONS_ENV = "CNNCOURSE_SOLUTIONS"  # where the solution notebooks are, when --solutions is not given
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class GradingError(Exception):
    """A submission that cannot be graded at all; the message says why, in one line."""


@dataclass
class ExerciseResult:
    exercise: str          # "ex1", "ex2", ...
    title: str             # the heading above the exercise in the solution notebook
    points: float
    max_points: float
    status: str            # "passed", "failed" or "not run"
    reason: str = ""       # why it failed or did not run (first line of the verdict or error)


@dataclass
class Report:
    submission: str
    solution: str = ""
    exercises: list = field(default_factory=list)
    error: str = ""                               # set when the file could not be graded at all
    problems: list = field(default_factory=list)  # the run stopped early (time limit, dead kernel)
    notes: list = field(default_factory=list)     # worth knowing, no effect on the score
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(result.points for result in self.exercises)

    @property
    def max_score(self) -> float:
        return sum(result.max_points for result in self.exercises)

    def as_dict(self) -> dict:
        return {"submission": self.submission, "solution": self.solution, "score": self.score,
                "max_score": self.max_score, "error": self.error, "problems": self.problems,
                "notes": self.notes, "seconds": round(self.seconds, 1),
                "exercises": [asdict(result) for result in self.exercises]}


# --- reading ---------------------------------------------------------------------------------

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
class _Check:
    grade_id: str
    cell_id: str
    source: str      # with the hidden tests
    visible: str     # what the learner sees (the student copy of the cell)
    points: float


@dataclass
class _Exercise:
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


def exercises_of(solution_nb: nbformat.NotebookNode) -> list[_Exercise]:
    """The graded exercises of a solution notebook, from its (derived) nbgrader metadata."""
    nb = add_grading_metadata(solution_nb)
    exercises = {}
    for index, cell in enumerate(nb.cells):
        grading = cell.metadata.get("nbgrader", {})
        match = re.match(r"^(ex\d+)-(answer|check)", grading.get("grade_id", ""))
        if not match:
            continue
        name = match.group(1)
        exercise = exercises.setdefault(name, _Exercise(name, _title_before(nb.cells, index)))
        if match.group(2) == "answer":
            exercise.answer_grade_id, exercise.answer_cell_id = grading["grade_id"], cell.get("id", "")
        else:
            exercise.checks.append(_Check(grading["grade_id"], cell.get("id", ""), cell.source,
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
                solution_nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[_Exercise], list[str]]:
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


# --- running ---------------------------------------------------------------------------------

def run_notebook(nb: nbformat.NotebookNode, timeout: float = DEFAULT_TIMEOUT,
                 cell_timeout: float = DEFAULT_CELL_TIMEOUT,
                 env: Mapping[str, str] | None = None) -> tuple[dict[int, dict], list[str]]:
    """Execute ``nb`` in place, cell by cell, errors allowed, in a scratch folder. Returns
    ({cell index: execute reply content}, problems)."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="cnncourse-grade-") as scratch:
        run = NotebookRun(nb, cwd=scratch, allow_errors=True, interrupt_on_timeout=True)
        deadline = time.monotonic() + timeout
        try:
            with run.kernel(env=env, quiet=True):
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type != "code" or not cell.source.strip():
                        continue
                    left = deadline - time.monotonic()
                    if left < 1:
                        problems.append(f"the notebook did not finish within the time limit ({timeout:g} s)")
                        break
                    limit = min(cell_timeout, left)
                    try:
                        reply = run.run_cell(index, limit)
                    except DeadKernelError:
                        problems.append(f"the kernel died while running {describe_cell(nb, index)} "
                                        "(out of memory, or the code ended Python)")
                        break
                    if reply.get("ename") == "Timeout":
                        problems.append(f"{describe_cell(nb, index)} did not finish within "
                                        f"{max(1, int(limit))} s and was interrupted")
        except Exception as error:  # the kernel could not be started or talked to
            if not run.replies:
                raise GradingError(f"could not start a Python kernel: {type(error).__name__}: {error}") from None
            problems.append(f"the run stopped: {type(error).__name__}: {error}")
    return run.replies, problems


# --- scoring ---------------------------------------------------------------------------------

def _first_line(text):
    text = _ANSI.sub("", str(text)).strip()
    line = text.split("\n", 1)[0].strip() if text else ""
    return re.sub(r"^[^\w`'\"(\[]+", "", line)  # drop the verdict's icon (✅ ✏️ ❌)


def _error_text(reply):
    name, value = reply.get("ename", "Error"), _first_line(reply.get("evalue", ""))
    return f"{name}: {value}" if value else name


def _verdict_shown(cell):
    """The verdict a check cell showed (see ``Verdict.assert_passed``), or None."""
    for output in cell.get("outputs", []):
        verdict = verdict_from_output(output.get("data", {}))
        if verdict is not None:
            return verdict
    return None


def score(nb: nbformat.NotebookNode, exercises: list[_Exercise], replies: dict[int, dict],
          problems: list[str]) -> list[ExerciseResult]:
    """One :class:`ExerciseResult` per exercise of the executed graded copy."""
    answers, checks = {}, {}
    for index, cell in enumerate(nb.cells):
        role = cell.metadata.get(ROLE, {})
        if role.get("role") == "answer":
            answers[role["exercise"]] = index
        elif role.get("role") == "check":
            checks[role["grade_id"]] = index
    stopped = problems[0] if problems else "the notebook stopped before it"
    interrupted = sorted(index for index, reply in replies.items() if reply.get("ename") == "Timeout")
    results = []
    for exercise in exercises:
        start = answers.get(exercise.name, min(checks[check.grade_id] for check in exercise.checks))
        answer_reply = replies.get(answers.get(exercise.name), {})
        points, ran, reason, unfair = 0.0, 0, "", False
        for check in exercise.checks:
            reply = replies.get(checks[check.grade_id])
            if reply is None:
                reason = reason or f"not run: {stopped}"
                continue
            ran += 1
            if reply.get("status") == "ok":
                points += check.points
            elif not reason:
                reason = _failure_reason(nb.cells[checks[check.grade_id]], reply, answer_reply)
                earlier = [index for index in interrupted if index < start]
                if earlier and "NameError" in (reply.get("ename"), answer_reply.get("ename")):
                    # the interrupted cell never defined what this exercise uses: not the learner's answer
                    unfair = True
                    reason = (f"not graded: {describe_cell(nb, earlier[-1])} was interrupted at the time limit "
                              f"before this exercise, so a name it defines is missing ({reason}); grade again "
                              "with a larger --cell-timeout")
        max_points = sum(check.points for check in exercise.checks)
        status = ("not run" if not ran or unfair else "passed" if points == max_points and not reason
                  else "failed")
        results.append(ExerciseResult(exercise.name, exercise.title, points, max_points, status, reason))
    return results


def _failure_reason(check_cell, check_reply, answer_reply):
    if check_reply.get("ename") == "Timeout":
        return "the check did not finish in time and was interrupted"
    if answer_reply.get("status") == "error":
        return f"the answer cell raised {_error_text(answer_reply)}"
    verdict = _verdict_shown(check_cell)
    if verdict is not None:
        return verdict.message + (f" Hint: {verdict.hint}" if verdict.hint else "")
    return _error_text(check_reply)


def describe_cell(nb: nbformat.NotebookNode, index: int) -> str:
    """How a learner finds cell ``index`` of the graded copy in their own notebook: its position
    there (counted from 1, cells the grader inserted skipped) and its first line."""
    position = sum(not c.metadata.get(ROLE, {}).get("inserted") for c in nb.cells[: index + 1])
    first = _clip(nb.cells[index].source.strip().split("\n", 1)[0], 40)
    return f"cell {position} ({first!r})"


def _notes_on_errors(nb, replies, limit=3):
    """Errors in cells outside the exercises (e.g. the learner broke an earlier cell)."""
    notes = []
    for index, cell in enumerate(nb.cells):
        if ROLE not in cell.metadata and replies.get(index, {}).get("status") == "error":
            notes.append(f"{describe_cell(nb, index)} raised {_error_text(replies[index])}")
    return notes[:limit] + ([f"... and {len(notes) - limit} more cells raised errors"] if len(notes) > limit else [])


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
        report.notes += _notes_on_errors(graded, replies)
    except GradingError as error:
        report.error = str(error)
    except Exception as error:  # a bug or an odd file must not cost the other submissions their grades
        report.error = f"{submission}: could not grade: {type(error).__name__}: {error}"
    report.seconds = time.monotonic() - started
    return report


# --- output ----------------------------------------------------------------------------------

def _clip(text, width):
    return text if len(text) <= width else text[: width - 1] + "…"


def format_report(report: Report) -> str:
    lines = [f"== {report.submission}"]
    if report.error:
        return "\n".join(lines + [f"cannot grade: {report.error}"])
    lines.append(f"graded with {report.solution} in {report.seconds:.0f} s")
    rows = [("exercise", "points", "result", "title", "reason")]
    rows += [(r.exercise, f"{r.points:g}/{r.max_points:g}", r.status, _clip(r.title, 40), _clip(r.reason, 90))
             for r in report.exercises]
    rows.append(("total", f"{report.score:g}/{report.max_score:g}", "", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])
    lines += [f"problem: {p}" for p in report.problems] + [f"note: {n}" for n in report.notes]
    return "\n".join(line.rstrip() for line in lines)


CSV_FIELDS = ("submission", "exercise", "title", "points", "max_points", "status", "reason", "problems")


def write_csv(reports: list[Report], path: str | Path) -> None:
    """One row per exercise (one row with the error for a file that could not be graded); ``problems``
    repeats on each row what stopped or interrupted that submission's run."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for report in reports:
            if report.error:
                writer.writerow({"submission": report.submission, "status": "error", "reason": report.error})
            for result in report.exercises:
                row = {**asdict(result), "points": f"{result.points:g}", "max_points": f"{result.max_points:g}",
                       "problems": "; ".join(report.problems)}
                writer.writerow({"submission": report.submission, **row})


def write_json(reports: list[Report], path: str | Path) -> None:
    Path(path).write_text(json.dumps([report.as_dict() for report in reports], indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")


def exit_code(reports: list[Report]) -> int:
    if any(report.error for report in reports):
        return 2
    return 1 if any(report.problems for report in reports) else 0


def main(argv: list[str] | None = None) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
