"""Tests of cnncourse.authoring.student_copy and .markers, and the check that lessons/ is regenerated
from solutions/."""
import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from cnncourse.authoring.markers import STUB, add_grading_metadata, strip_markers
from cnncourse.authoring.student_copy import (
    clean_source,
    dumps,
    main,
    stamp_solutions,
    student_version,
    write_lessons,
)

REPO = Path(__file__).resolve().parent.parent

EXERCISE = """counts = None  # replace None with your answer
### BEGIN SOLUTION
counts = np.bincount(y_train, minlength=10)
### END SOLUTION"""

CHECK = """ex.check_class_counts(counts, y_train)
### BEGIN HIDDEN TESTS
assert ex.check_class_counts(counts, y_train, quiet=True).passed
### END HIDDEN TESTS"""

HIDDEN_ONLY = """### BEGIN HIDDEN TESTS
assert counts.sum() == 50000
### END HIDDEN TESTS
"""


def solution_notebook():
    nb = new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python", "version": "3.11.9"},
        "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}},
    })
    nb.cells = [
        new_markdown_cell("## Count the classes", metadata={"tags": ["intro"], "jp-MarkdownHeadingCollapsed": True}),
        new_code_cell(EXERCISE, execution_count=3, metadata={"tags": ["exercise"], "scrolled": True,
                                                              "execution": {"iopub.status.busy": "2024"}},
                      outputs=[new_output("stream", name="stdout", text="secret answer\n")]),
        new_code_cell(CHECK, metadata={"nbgrader": {"grade": True, "points": 1}, "collapsed": False}),
        new_code_cell(HIDDEN_ONLY),
    ]
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index}"  # fixed ids, as in a saved notebook
    return nb


def test_solution_replaced_by_stub_and_stub_line_kept():
    cells = student_version(solution_notebook()).cells
    assert cells[1].source == "counts = None  # replace None with your answer\n" + STUB
    assert "bincount" not in dumps(student_version(solution_notebook()))


def test_stub_keeps_indentation_of_begin_line():
    source = "def f(x):\n    y = None\n    ### BEGIN SOLUTION\n    y = 2 * x\n    ### END SOLUTION\n    return y\n"
    assert strip_markers(source, 0) == "def f(x):\n    y = None\n    # YOUR CODE HERE\n    return y\n"


def test_hidden_tests_removed_and_hidden_only_cell_dropped():
    nb = student_version(solution_notebook())
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code"]
    assert nb.cells[2].source == "ex.check_class_counts(counts, y_train)"
    assert "HIDDEN" not in dumps(nb) and "assert" not in dumps(nb)


def test_several_blocks_in_one_cell():
    source = "a = None\n### BEGIN SOLUTION\na = 1\n### END SOLUTION\nprint(a)\n" \
             "### BEGIN HIDDEN TESTS\nassert a == 1\n### END HIDDEN TESTS\n" \
             "b = None\n  ### BEGIN SOLUTION  \nb = 2\n### END SOLUTION\n"
    assert strip_markers(source, 0) == "a = None\n# YOUR CODE HERE\nprint(a)\nb = None\n  # YOUR CODE HERE\n"


def test_cells_without_markers_and_empty_cells_pass_through():
    nb = new_notebook(cells=[new_code_cell("x = 1  # ### BEGIN SOLUTION is only a marker alone"), new_code_cell(""),
                             new_markdown_cell("### BEGIN SOLUTION\nmarkdown is left alone")])
    out = student_version(nb)
    assert [c.source for c in out.cells] == [c.source for c in nb.cells]


def test_outputs_execution_counts_and_metadata_reduced():
    nb = student_version(solution_notebook())
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert nb.cells[0].metadata == {"tags": ["intro"]}
    assert nb.cells[1].metadata == {"tags": ["exercise"], "deletable": False, "nbgrader": ANSWER_META}
    assert nb.cells[2].metadata == {"deletable": False, "editable": False, "nbgrader": CHECK_META}
    assert set(nb.metadata) == {"kernelspec", "language_info"}
    assert nb.metadata.kernelspec.display_name == "Python 3"


ANSWER_META = {"grade": False, "grade_id": "ex1-answer", "locked": False, "schema_version": 3,
               "solution": True, "task": False}
CHECK_META = {"grade": True, "grade_id": "ex1-check", "locked": True, "points": 1, "schema_version": 3,
              "solution": False, "task": False}


def test_grading_metadata_derived_from_markers():
    nb = add_grading_metadata(solution_notebook())
    assert "nbgrader" not in nb.cells[0].metadata  # markdown
    assert nb.cells[1].metadata.nbgrader == ANSWER_META
    assert nb.cells[1].metadata.tags == ["exercise"]  # other metadata untouched
    assert nb.cells[2].metadata.nbgrader == CHECK_META
    assert nb.cells[3].metadata.nbgrader == {**CHECK_META, "grade_id": "ex1-check-2"}  # second check of ex1
    assert add_grading_metadata(nb) == nb  # idempotent
    assert "nbgrader" not in solution_notebook().cells[1].metadata  # input not modified


def test_grading_metadata_numbers_exercises_and_keeps_points_and_foreign_metadata():
    nb = new_notebook(cells=[
        new_code_cell(EXERCISE), new_code_cell(CHECK, metadata={"nbgrader": {"grade": True, "points": 3}}),
        new_code_cell("x = 1", metadata={"nbgrader": {"grade_id": "ex7-check", "grade": True}}),  # stale: ours
        new_code_cell("y = 2", metadata={"nbgrader": {"grade_id": "readonly", "locked": True}}),   # the author's
        new_code_cell(EXERCISE.replace("counts", "total")), new_code_cell(CHECK.replace("counts", "total")),
    ])
    out = add_grading_metadata(nb)
    assert [c.metadata.get("nbgrader", {}).get("grade_id") for c in out.cells] == [
        "ex1-answer", "ex1-check", None, "readonly", "ex2-answer", "ex2-check"]
    assert out.cells[1].metadata.nbgrader.points == 3 and out.cells[5].metadata.nbgrader.points == 1


def test_answer_and_hidden_tests_in_one_cell_is_an_error():
    nb = new_notebook(cells=[new_code_cell(EXERCISE + "\n" + HIDDEN_ONLY)])
    with pytest.raises(ValueError, match="cell 0: holds an answer"):
        add_grading_metadata(nb)


def test_missing_kernelspec_is_filled_in():
    nb = clean_source(new_notebook(cells=[new_code_cell("1")]))
    assert nb.metadata.kernelspec == {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def test_cell_ids_kept():
    out = student_version(solution_notebook())
    assert [c.id for c in out.cells] == ["cell-0", "cell-1", "cell-2"]


def test_input_not_mutated():
    nb = solution_notebook()
    before = copy.deepcopy(nb)
    student_version(nb)
    clean_source(nb)
    assert nb == before


def test_clean_source_keeps_solutions():
    nb = clean_source(solution_notebook())
    assert [c.source for c in nb.cells] == [c.source for c in solution_notebook().cells]
    assert nb.cells[1].outputs == [] and nb.cells[1].execution_count is None
    assert "widgets" not in nb.metadata


@pytest.mark.parametrize("source, problem", [
    ("### BEGIN SOLUTION\nx = 1\n", "never ended"),
    ("x = 1\n### END SOLUTION\n", "never begun"),
    ("### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n### END SOLUTION\n", "inside"),
    ("### BEGIN SOLUTION\nx = 1\n### END HIDDEN TESTS\n", "never begun"),
])
def test_unbalanced_or_nested_markers_raise_with_cell_index(source, problem):
    nb = new_notebook(cells=[new_markdown_cell("intro"), new_code_cell("ok = 1"), new_code_cell(source)])
    with pytest.raises(ValueError, match=f"cell 2: .*{problem}"):
        student_version(nb)


def make_dirs(tmp_path, notebooks):
    solutions, lessons = tmp_path / "solutions", tmp_path / "lessons"
    solutions.mkdir()
    for name, nb in notebooks.items():
        (solutions / name).write_text(dumps(clean_source(nb)), encoding="utf-8")
    return solutions, lessons


def test_write_lessons_then_check_is_clean(tmp_path):
    solutions, lessons = make_dirs(tmp_path, {"01_counts.ipynb": solution_notebook(),
                                              "00_intro.ipynb": new_notebook(cells=[new_markdown_cell("hi")])})
    done = write_lessons(solutions, lessons)
    assert done == [f"stamped nbgrader metadata into {(solutions / '01_counts.ipynb').as_posix()}"] + [
        f"wrote {(lessons / n).as_posix()}" for n in ("00_intro.ipynb", "01_counts.ipynb")]
    stamped = nbformat.read(solutions / "01_counts.ipynb", as_version=4)
    assert stamped.cells[1].metadata.nbgrader == ANSWER_META and "bincount" in stamped.cells[1].source
    written = (lessons / "01_counts.ipynb").read_text(encoding="utf-8")
    assert written == dumps(student_version(solution_notebook())) and written.endswith("}\n")
    assert "bincount" not in written
    assert write_lessons(solutions, lessons, check=True) == []
    assert write_lessons(solutions, lessons) == []  # nothing rewritten when nothing changed


def test_edited_solution_makes_lesson_stale(tmp_path):
    solutions, lessons = make_dirs(tmp_path, {"01_counts.ipynb": solution_notebook()})
    write_lessons(solutions, lessons)
    nb = nbformat.read(solutions / "01_counts.ipynb", as_version=4)
    nb.cells[1].source = nb.cells[1].source.replace("counts = None", "counts = []")
    (solutions / "01_counts.ipynb").write_text(dumps(nb), encoding="utf-8")
    problems = write_lessons(solutions, lessons, check=True)
    assert problems == [f"{(lessons / '01_counts.ipynb').as_posix()} is stale: run `cnncourse-make-lessons`"]


def test_missing_and_orphan_lessons_reported_then_fixed(tmp_path):
    solutions, lessons = make_dirs(tmp_path, {"01_counts.ipynb": solution_notebook()})
    lessons.mkdir()
    (lessons / "99_old.ipynb").write_text(dumps(new_notebook()), encoding="utf-8")
    problems = write_lessons(solutions, lessons, check=True)
    assert len(problems) == 3
    assert "01_counts.ipynb lacks the nbgrader metadata of its exercises" in problems[0]
    assert "01_counts.ipynb is missing" in problems[1]
    assert "99_old.ipynb has no source in" in problems[2]
    write_lessons(solutions, lessons)
    assert sorted(p.name for p in lessons.iterdir()) == ["01_counts.ipynb"]
    assert write_lessons(solutions, lessons, check=True) == []


def test_solution_with_outputs_reported_and_cleaned(tmp_path):
    solutions, lessons = make_dirs(tmp_path, {})
    nbformat.write(solution_notebook(), solutions / "00_x.ipynb")  # as saved by Jupyter, outputs included
    write_lessons(solutions, lessons)
    problems = write_lessons(solutions, lessons, check=True)
    assert problems == [f"{(solutions / '00_x.ipynb').as_posix()} has outputs saved: "
                        "run `cnncourse-make-lessons --clean-solutions`"]
    assert main(["--clean-solutions", "--solutions", str(solutions), "--lessons", str(lessons)]) == 0
    assert write_lessons(solutions, lessons, check=True) == []
    assert "bincount" in (solutions / "00_x.ipynb").read_text(encoding="utf-8")  # answers kept


def test_stale_grading_metadata_reported_then_restamped(tmp_path):
    solutions, lessons = make_dirs(tmp_path, {"01_counts.ipynb": solution_notebook()})
    write_lessons(solutions, lessons)
    assert stamp_solutions(solutions, check=True) == []
    nb = nbformat.read(solutions / "01_counts.ipynb", as_version=4)
    nb.cells[2].metadata.nbgrader.grade_id = "renamed"
    (solutions / "01_counts.ipynb").write_text(dumps(nb), encoding="utf-8")
    assert write_lessons(solutions, lessons, check=True) == [
        f"{(solutions / '01_counts.ipynb').as_posix()} lacks the nbgrader metadata of its exercises "
        "(or it is stale): run `cnncourse-make-lessons`"]
    write_lessons(solutions, lessons)
    assert write_lessons(solutions, lessons, check=True) == []


def test_cli_check_exit_code(tmp_path, capsys):
    solutions, lessons = make_dirs(tmp_path, {"01_counts.ipynb": solution_notebook()})
    args = ["--solutions", str(solutions), "--lessons", str(lessons)]
    assert main(["--check", *args]) == 1
    assert "is missing" in capsys.readouterr().out
    assert main(args) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["--check", *args]) == 0
    (solutions / "01_counts.ipynb").write_text(dumps(clean_source(new_notebook())), encoding="utf-8")
    assert main(["--check", *args]) == 1
    assert "is stale" in capsys.readouterr().out


def test_cli_reports_marker_errors_with_file_name(tmp_path, capsys):
    solutions, lessons = make_dirs(tmp_path, {"01_bad.ipynb": new_notebook(cells=[new_code_cell("### END SOLUTION")])})
    assert main(["--solutions", str(solutions), "--lessons", str(lessons)]) == 2
    assert "01_bad.ipynb: cell 0" in capsys.readouterr().err


def test_python_dash_m_uses_current_directory(tmp_path):
    solutions, lessons = make_dirs(tmp_path, {"01_counts.ipynb": solution_notebook()})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    run = [sys.executable, "-m", "cnncourse.authoring.student_copy", "--check"]
    stale = subprocess.run(run, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert stale.returncode == 1 and "lessons/01_counts.ipynb is missing" in stale.stdout
    subprocess.run(run[:-1], cwd=tmp_path, env=env, check=True, capture_output=True)
    assert subprocess.run(run, cwd=tmp_path, env=env, capture_output=True).returncode == 0


def test_repository_lessons_are_generated_from_solutions():
    """Fails when solutions/ was edited and lessons/ not regenerated: run `cnncourse-make-lessons`."""
    solutions, lessons = REPO / "solutions", REPO / "lessons"
    orphans = [p.name for p in sorted(lessons.glob("*.ipynb")) if not (solutions / p.name).is_file()]
    assert orphans == [], f"lessons without a source in solutions/: {orphans}"
    assert write_lessons(solutions, lessons, check=True) == []


def test_nbgrader_generate_assignment_accepts_solutions_and_agrees_with_lessons(tmp_path):
    """The real `nbgrader generate_assignment` takes every solutions/ notebook (our derived
    metadata passes its checks) and, with our one-line stub, makes exactly the sources of lessons/."""
    pytest.importorskip("nbgrader")
    source = tmp_path / "source" / "lessons"
    source.mkdir(parents=True)
    names = sorted(p.name for p in (REPO / "solutions").glob("*.ipynb"))
    for name in names:
        (source / name).write_bytes((REPO / "solutions" / name).read_bytes())
    (tmp_path / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "cnncourse"\n'
        'c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE"}\n', encoding="utf-8")
    bin_dir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` from PATH
    env = {**os.environ, "PATH": os.pathsep.join([bin_dir, os.environ.get("PATH", "")])}
    run = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "lessons", "--create"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    for name in names:
        released = nbformat.read(tmp_path / "release" / "lessons" / name, as_version=4)
        ours = nbformat.read(REPO / "lessons" / name, as_version=4)
        # nbgrader keeps a cell emptied of its hidden tests where we drop it: compare non-empty cells
        assert [c.source for c in released.cells if c.source.strip()] == \
            [c.source for c in ours.cells if c.source.strip()], name
        assert "HIDDEN TESTS" not in json.dumps(released) and "BEGIN SOLUTION" not in json.dumps(released)
