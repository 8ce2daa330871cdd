"""Tests of cnncourse.authoring.grading (`cnncourse-grade`).

Three kinds, from cheap to dear:
- files that cannot be graded, and the matching of submissions to solutions: no kernel;
- a tiny synthetic lesson (no TensorFlow) in tmp_path: a kernel, a few seconds per grading;
- lesson 00 for real, once: the half-wrong hand-in in tests/fixtures/ scores exactly 1 of 3, with the
  reasons. (Full marks and zero are graded on the tiny lesson; nbval runs the real lessons' checks, answered in
  solutions/ and unanswered in lessons/, so grading those two again would only execute lesson 00 twice more.)
"""
import csv
import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cnncourse.authoring.grading import (
    ROLE,
    SOLUTIONS_ENV,
    GradingError,
    exercises_of,
    find_solution,
    grade,
    graded_copy,
    main,
    read_submission,
    solutions_dir_from,
    write_csv,
)
from cnncourse.authoring.student_copy import clean_source, dumps, student_version

pytestmark = pytest.mark.slow  # most tests start a kernel; one grades lesson 00

REPO = Path(__file__).resolve().parent.parent
LESSON00 = "00_meet_cifar10.ipynb"
HALF_WRONG = REPO / "tests" / "fixtures" / "00_half_wrong_submission.ipynb"


# --- a tiny lesson -----------------------------------------------------------------------------

def tiny_solution():
    nb = new_notebook(cells=[
        new_markdown_cell("# 07 · Tiny"),
        new_code_cell("from cnncourse.checks import check_number\nx = 2"),
        new_markdown_cell("### Exercise 1: double it"),
        new_code_cell("answer = None  # your answer\n### BEGIN SOLUTION\nanswer = x * 21\n### END SOLUTION"),
        new_code_cell("verdict = check_number(answer, 42, name='answer', hint='double x')\n"
                      "### BEGIN HIDDEN TESTS\nverdict.assert_passed()\n### END HIDDEN TESTS\nverdict"),
        new_markdown_cell("### Exercise 2: a word"),
        new_code_cell("word = None  # your answer\n### BEGIN SOLUTION\nword = 'cat'\n### END SOLUTION"),
        new_code_cell("### BEGIN HIDDEN TESTS\nassert word == 'cat'\n### END HIDDEN TESTS\nprint('word is', word)"),
        new_markdown_cell("### Exercise 3: worth two points"),
        new_code_cell("total = None  # your answer\n### BEGIN SOLUTION\ntotal = x + 40\n### END SOLUTION"),
        new_code_cell("### BEGIN HIDDEN TESTS\nassert total is not None\n### END HIDDEN TESTS\ntotal",
                      metadata={"nbgrader": {"grade": True, "points": 2}}),
        new_code_cell("### BEGIN HIDDEN TESTS\nassert total == 42, 'total should be 42'\n### END HIDDEN TESTS"),
    ])
    for index, cell in enumerate(nb.cells):
        cell.id = f"tiny-{index}"
    return nb


@pytest.fixture
def tiny(tmp_path):
    """(solutions dir, function writing a submission with the given answers, lesson name)."""
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    name = "07_tiny.ipynb"
    (solutions / name).write_text(dumps(clean_source(tiny_solution())), encoding="utf-8")

    def submit(answers=None, edit=None, filename=name):
        nb = student_version(tiny_solution())
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if answers and grade_id in answers:
                cell.source = answers[grade_id]
        if edit:
            edit(nb)
        path = tmp_path / "handed_in" / filename
        path.parent.mkdir(exist_ok=True)
        path.write_text(dumps(nb), encoding="utf-8")
        return path

    return solutions, submit, name


def results(report):
    return {r.exercise: (r.points, r.max_points, r.status, r.reason) for r in report.exercises}


RIGHT = {"ex1-answer": "answer = x * 21", "ex2-answer": "word = 'cat'", "ex3-answer": "total = 42"}


def test_tiny_right_answers_get_full_marks(tiny):
    solutions, submit, name = tiny
    report = grade(submit(RIGHT), solutions)
    assert report.error == "" and report.problems == []
    assert results(report) == {"ex1": (1, 1, "passed", ""), "ex2": (1, 1, "passed", ""), "ex3": (3, 3, "passed", "")}
    assert [r.title for r in report.exercises] == ["Exercise 1: double it", "Exercise 2: a word",
                                                   "Exercise 3: worth two points"]
    assert report.solution == str(solutions / name)


def test_tiny_unanswered_lesson_gets_zero_with_the_verdicts(tiny):
    solutions, submit, _ = tiny
    report = grade(submit(), solutions)
    assert (report.score, report.max_score) == (0, 5)
    assert results(report) == {
        "ex1": (0, 1, "failed", "Not attempted yet: set `answer` in the cell above, run it, then run this check."),
        "ex2": (0, 1, "failed", "AssertionError"),  # no verdict shown: the check's error
        "ex3": (0, 3, "failed", "AssertionError"),
    }


def test_tiny_partial_credit_and_an_error_in_one_answer_cost_only_that_exercise(tiny):
    solutions, submit, _ = tiny
    report = grade(submit({"ex1-answer": "answer = x * 21", "ex2-answer": "word = cat",
                           "ex3-answer": "total = 41"}), solutions)
    assert results(report) == {
        "ex1": (1, 1, "passed", ""),
        "ex2": (0, 1, "failed", "the answer cell raised NameError: name 'cat' is not defined"),
        "ex3": (2, 3, "failed", "AssertionError: total should be 42"),
    }
    assert report.problems == [] and report.notes == []


def test_tiny_edited_check_cells_are_replaced_and_deleted_ones_restored(tiny):
    solutions, submit, _ = tiny

    def tamper(nb):
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex1-check":
                cell.source = "print('all good!')"
                del cell.metadata["nbgrader"]  # even without metadata, its cell id finds it
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "ex2-check"]

    report = grade(submit({"ex1-answer": "answer = 1", "ex2-answer": "word = 'cat'"}, edit=tamper), solutions)
    assert results(report)["ex1"] == (0, 1, "failed", "`answer` is 1, which is not right yet. Hint: double x")
    assert results(report)["ex2"] == (1, 1, "passed", "")
    assert report.notes == ["ex2: its check cell was missing and has been restored"]


def test_tiny_renamed_submission_matched_by_cell_ids(tiny):
    solutions, submit, name = tiny
    report = grade(submit(RIGHT, filename="07_tiny (1).ipynb"), solutions)
    assert report.solution == str(solutions / name) and report.score == 5


def test_tiny_errors_outside_exercises_are_noted(tiny):
    solutions, submit, _ = tiny

    def break_setup(nb):
        nb.cells[1].source = "x = undefined_name"

    report = grade(submit(RIGHT, edit=break_setup), solutions)
    assert report.notes == ["cell 2 ('x = undefined_name') raised NameError: name 'undefined_name' is not defined"]
    assert results(report)["ex1"][2] == "failed"  # x is missing, so 'answer = x * 21' fails
    assert results(report)["ex2"] == (1, 1, "passed", "")


def test_tiny_cell_timeout_interrupts_that_cell_and_grading_goes_on(tiny):
    solutions, submit, _ = tiny
    slow = {**RIGHT, "ex1-answer": "import time\nanswer = 42\ntime.sleep(60)"}
    report = grade(submit(slow), solutions, cell_timeout=3)
    assert len(report.problems) == 1 and "did not finish within 3 s and was interrupted" in report.problems[0]
    assert results(report)["ex2"] == (1, 1, "passed", "")
    assert results(report)["ex3"] == (3, 3, "passed", "")


def test_tiny_interrupted_setup_cell_is_blamed_not_the_later_answers(tiny, tmp_path):
    solutions, submit, _ = tiny

    def slow_setup(nb):
        nb.cells[1].source = "import time\ntime.sleep(60)\nfrom cnncourse.checks import check_number\nx = 2"

    report = grade(submit(RIGHT, edit=slow_setup), solutions, cell_timeout=3)
    points, _, status, reason = results(report)["ex1"]  # 'answer = x * 21' needs the interrupted cell's x
    assert (points, status) == (0, "not run") and "cell 2 ('import time') was interrupted" in reason
    assert "NameError" in reason and "--cell-timeout" in reason
    assert results(report)["ex2"] == (1, 1, "passed", "")  # needs nothing from that cell
    out_csv = tmp_path / "grades.csv"
    write_csv([report], out_csv)
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert all("did not finish within 3 s and was interrupted" in row["problems"] for row in rows)


def test_tiny_overall_time_limit_scores_what_ran(tiny):
    solutions, submit, _ = tiny
    slow = {**RIGHT, "ex2-answer": "import time\nword = 'cat'\ntime.sleep(60)"}
    report = grade(submit(slow), solutions, timeout=15)
    assert results(report)["ex1"] == (1, 1, "passed", "")
    assert results(report)["ex3"][:3] == (0, 3, "not run")
    assert "not run: " in results(report)["ex3"][3]
    assert any("time limit (15 s)" in problem for problem in report.problems)


def test_tiny_dead_kernel_keeps_the_scores_before_it(tiny, capsys):
    solutions, submit, _ = tiny
    dying = {**RIGHT, "ex2-answer": "import os\nos._exit(1)"}
    path = submit(dying)
    assert main([str(path), "--solutions", str(solutions)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^ex1 +1/1 +passed", out, re.M) and "not run" in out and "kernel died" in out
    assert "Traceback" not in out


def test_tiny_environment_reaches_the_kernel(tiny, tmp_path, monkeypatch):
    solutions, submit, name = tiny
    nb = tiny_solution()
    nb.cells[10].source = ("### BEGIN HIDDEN TESTS\nimport os\nassert os.environ.get('CNNCOURSE_DATA_DIR') == "
                           f"{str(tmp_path)!r}\n### END HIDDEN TESTS\ntotal")
    (solutions / name).write_text(dumps(clean_source(nb)), encoding="utf-8")
    monkeypatch.setenv("CNNCOURSE_DATA_DIR", str(tmp_path))
    assert results(grade(submit(RIGHT), solutions))["ex3"][2] == "passed"
    monkeypatch.setenv("CNNCOURSE_DATA_DIR", "elsewhere")
    assert results(grade(submit(RIGHT), solutions))["ex3"][2] == "failed"


def test_tiny_csv_and_json_written_for_a_batch_with_a_bad_file(tiny, tmp_path, capsys):
    solutions, submit, _ = tiny
    good, bad = submit(RIGHT), tmp_path / "handed_in" / "07_tiny_broken.ipynb"
    bad.write_text('{"cells": [', encoding="utf-8")
    out_csv, out_json = tmp_path / "grades.csv", tmp_path / "grades.json"
    code = main([str(bad), str(good), "--solutions", str(solutions), "--csv", str(out_csv), "--json", str(out_json)])
    assert code == 2  # one file could not be graded ...
    printed = capsys.readouterr().out
    assert "cannot grade: " in printed and "not valid JSON" in printed  # ... the other was:
    assert re.search(r"^total +5/5", printed, re.M)
    rows = list(csv.DictReader(out_csv.open(encoding="utf-8")))
    assert [(r["submission"], r["exercise"], r["points"], r["status"]) for r in rows] == [
        (str(bad), "", "", "error"), (str(good), "ex1", "1", "passed"), (str(good), "ex2", "1", "passed"),
        (str(good), "ex3", "3", "passed")]
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert [(d["score"], d["max_score"], bool(d["error"])) for d in data] == [(0, 0, True), (5, 5, False)]
    assert data[1]["exercises"][2] == {"exercise": "ex3", "title": "Exercise 3: worth two points", "points": 3,
                                       "max_points": 3, "status": "passed", "reason": ""}


# --- files that cannot be graded (no kernel) ---------------------------------------------------

BAD_FILES = {
    "missing": (None, "no such file"),
    "zero_bytes": (b"", "the file is empty"),
    "whitespace": (b"  \n", "the file is empty"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\xff", "the file is binary"),
    "truncated": (dumps(new_notebook(cells=[new_code_cell("x = 1")]))[:40].encode(), "not valid JSON"),
    "script": (b"import numpy as np\nprint(np.pi)\n", "not valid JSON"),
    "json_list": (b"[1, 2, 3]", "no notebook structure"),
    "json_other": (b'{"name": "not a notebook"}', "no notebook structure"),
    "bad_cell": (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "picture"}]}',
                 "cell 0 is not a valid cell"),
    "no_cells": (dumps(new_notebook()).encode(), "has no cells"),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_files_get_a_clear_message_and_exit_code_2(kind, tmp_path, capsys):
    content, message = BAD_FILES[kind]
    path = tmp_path / f"{LESSON00}"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(GradingError, match=message):
        read_submission(path)
    report = grade(path, REPO / "solutions")
    assert message in report.error and report.exercises == []
    assert main([str(path)]) == 2
    captured = capsys.readouterr()
    assert f"cannot grade: {path}" in captured.out and message in captured.out
    assert "Traceback" not in captured.out + captured.err


def test_solutions_folder_is_named_not_guessed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SOLUTIONS_ENV, raising=False)
    with pytest.raises(GradingError, match="no solutions folder at solutions .*pass --solutions DIR"):
        solutions_dir_from()
    (tmp_path / "mine").mkdir()
    monkeypatch.setenv(SOLUTIONS_ENV, str(tmp_path / "mine"))
    assert solutions_dir_from() == tmp_path / "mine"
    assert solutions_dir_from(REPO / "solutions") == REPO / "solutions"  # --solutions wins
    monkeypatch.setenv(SOLUTIONS_ENV, str(tmp_path / "gone"))
    with pytest.raises(GradingError, match=f"from \\${SOLUTIONS_ENV}"):
        solutions_dir_from()


def test_folder_is_not_a_notebook(tmp_path):
    assert "is a folder" in grade(tmp_path, REPO / "solutions").error


def test_unknown_lesson_is_named_not_guessed(tmp_path):
    path = tmp_path / "my_homework.ipynb"
    path.write_text(dumps(new_notebook(cells=[new_code_cell("x = 1")])), encoding="utf-8")
    error = grade(path, REPO / "solutions").error
    assert "no matching lesson" in error and LESSON00 in error
    assert "no solutions folder" in grade(path, tmp_path / "nowhere").error


def test_half_wrong_fixture_matched_by_cell_ids_and_its_checks_put_back():
    nb = read_submission(HALF_WRONG)
    solution_path = find_solution(HALF_WRONG, nb, REPO / "solutions")
    assert solution_path == REPO / "solutions" / LESSON00
    solution = nbformat.read(solution_path, as_version=4)
    graded, exercises, notes = graded_copy(nb, solution)
    assert notes == ["ex3: its check cell was missing and has been restored"]
    roles = [(c.metadata[ROLE]["role"], c.metadata[ROLE]["exercise"]) for c in graded.cells if ROLE in c.metadata]
    assert roles == [(role, f"ex{n}") for n in (1, 2, 3) for role in ("answer", "check")]
    checks = [c.source for c in graded.cells if c.metadata.get(ROLE, {}).get("role") == "check"]
    official = [c.source for c in solution.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert checks == official and all("### BEGIN HIDDEN TESTS" in source for source in checks)
    assert "looks fine to me" not in json.dumps(graded)
    assert len(graded.cells) == len(nb.cells) + 1  # the restored check


@pytest.mark.parametrize("path", sorted((REPO / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_every_solution_has_graded_exercises(path):
    exercises = exercises_of(nbformat.read(path, as_version=4))
    assert exercises, f"{path.name} has no check cell with hidden tests"
    assert [e.name for e in exercises] == [f"ex{n}" for n in range(1, len(exercises) + 1)]
    assert all(e.answer_grade_id and e.title for e in exercises)


# --- lesson 00 for real -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def lesson00(tmp_path_factory):
    """One `cnncourse-grade` run over a real hand-in of lesson 00 (one full execution)."""
    if "CNNCOURSE_DATA_DIR" not in os.environ and not (REPO / ".cache" / "cifar10").is_dir():
        pytest.skip("no offline CIFAR-10: set CNNCOURSE_DATA_DIR")
    os.environ.setdefault("CNNCOURSE_DATA_DIR", str(REPO / ".cache" / "cifar10"))
    out = tmp_path_factory.mktemp("grades") / "grades.json"
    code = main([str(HALF_WRONG), "--solutions", str(REPO / "solutions"), "--json", str(out)])
    reports = json.loads(out.read_text(encoding="utf-8"))
    return code, {Path(r["submission"]).parent.name: r for r in reports}


def summary(report):
    return [(e["exercise"], e["points"], e["status"]) for e in report["exercises"]]


def test_lesson00_graded_in_full(lesson00):
    code, reports = lesson00
    assert code == 0
    assert all(r["problems"] == [] and r["error"] == "" for r in reports.values())


def test_lesson00_half_wrong_submission_gets_one_of_three(lesson00):
    report = lesson00[1]["fixtures"]
    assert (report["score"], report["max_score"]) == (1, 3)
    assert summary(report) == [("ex1", 0, "failed"), ("ex2", 0, "failed"), ("ex3", 1, "passed")]
    reasons = [e["reason"] for e in report["exercises"]]
    assert reasons[0].startswith("`counts` has one entry per image")
    assert reasons[1] == "the answer cell raised NameError: name 'y_true' is not defined"
    assert report["notes"] == ["ex3: its check cell was missing and has been restored"]
