"""Score an executed graded copy, exercise by exercise, and report the scores: a table, CSV, JSON, and the
exit status."""
from __future__ import annotations

import csv
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from cnncourse.authoring.grading.submissions import ROLE, Exercise
from cnncourse.checks import verdict_from_output

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class ExerciseResult:
    """The score of one exercise of one submission."""
    exercise: str          # "ex1", "ex2", ...
    title: str             # the heading above the exercise in the solution notebook
    points: float
    max_points: float
    status: str            # "passed", "failed" or "not run"
    reason: str = ""       # why it failed or did not run (first line of the verdict or error)


@dataclass
class Report:
    """What grading one submission found: its solution, a result per exercise, and what went wrong."""
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


def score(nb: nbformat.NotebookNode, exercises: list[Exercise], replies: dict[int, dict],
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


def notes_on_errors(nb, replies, limit=3):
    """Errors in cells outside the exercises (e.g. the learner broke an earlier cell)."""
    notes = []
    for index, cell in enumerate(nb.cells):
        if ROLE not in cell.metadata and replies.get(index, {}).get("status") == "error":
            notes.append(f"{describe_cell(nb, index)} raised {_error_text(replies[index])}")
    return notes[:limit] + ([f"... and {len(notes) - limit} more cells raised errors"] if len(notes) > limit else [])


# --- output ----------------------------------------------------------------------------------

def _clip(text, width):
    return text if len(text) <= width else text[: width - 1] + "…"


def format_report(report: Report) -> str:
    """The report as the table ``cnncourse-grade`` prints: one row per exercise, then problems and notes."""
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
    """Every report in full (:meth:`Report.as_dict`), as one JSON list."""
    Path(path).write_text(json.dumps([report.as_dict() for report in reports], indent=2, ensure_ascii=False) + "\n",
                          encoding="utf-8")


def exit_code(reports: list[Report]) -> int:
    """2 when a file could not be graded, else 1 when a run stopped early, else 0."""
    if any(report.error for report in reports):
        return 2
    return 1 if any(report.problems for report in reports) else 0
