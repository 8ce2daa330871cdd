"""Generate the student notebooks in ``lessons/`` from the answer notebooks in ``solutions/``.

Single-source rule: only ``solutions/*.ipynb`` is edited by hand. Each one holds the full
answers and the hidden grading checks; ``lessons/<same name>`` is generated from it by this
module and committed. Never edit ``lessons/`` by hand: run ``cnncourse-make-lessons`` (or
``python -m cnncourse.authoring.student_copy``) after changing ``solutions/``, and the test suite runs
``--check`` to catch a forgotten regeneration.

The markers and the nbgrader metadata derived from them are described in
:mod:`cnncourse.authoring.markers`. ``cnncourse-make-lessons`` stamps that metadata into
``solutions/`` and the student copies carry it, with answer and check cells locked against
deletion (check cells also against editing) as ``nbgrader generate_assignment`` does.

Both copies are saved without outputs, execution counts or editor metadata, with the same
deterministic serialization, so that the generated files only change when the source does.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

from cnncourse.authoring.markers import add_grading_metadata, strip_markers

CELL_METADATA_KEEP = ("tags", "nbgrader")
NOTEBOOK_METADATA_KEEP = ("kernelspec", "language_info")
DEFAULT_KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
MAKE = "cnncourse-make-lessons"


def _lock(cell):
    """Protect answer and check cells in the student copy the way nbgrader's LockCells does."""
    grading = cell.metadata.get("nbgrader", {})
    if grading.get("solution") or grading.get("grade"):
        cell.metadata["deletable"] = False
    if grading.get("grade") and not grading.get("solution"):
        cell.metadata["editable"] = False


def clean_source(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a copy of ``nb`` without outputs, execution counts and editor metadata."""
    nb = copy.deepcopy(nb)
    nb.metadata = nbformat.from_dict({k: nb.metadata[k] for k in NOTEBOOK_METADATA_KEEP if k in nb.metadata})
    nb.metadata.setdefault("kernelspec", nbformat.from_dict(DEFAULT_KERNELSPEC))
    for cell in nb.cells:
        cell.metadata = nbformat.from_dict({k: cell.metadata[k] for k in CELL_METADATA_KEEP if k in cell.metadata})
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def student_version(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the student copy of a solution notebook (the input is not modified)."""
    nb = clean_source(add_grading_metadata(nb))
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            source = strip_markers(cell.source, index)
            if source != cell.source and not source.strip():
                continue  # the cell only held hidden tests
            cell.source = source
            _lock(cell)
        cells.append(cell)
    nb.cells = cells
    return nb


def dumps(nb: nbformat.NotebookNode) -> str:
    """Deterministic serialization used for every generated file."""
    return nbformat.writes(nb, version=4) + "\n"


def _read(path):
    return nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def _is_current(path, text):
    return path.is_file() and path.read_bytes() == text.encode("utf-8")


def clean_solutions(solutions_dir: str | Path = "solutions", check: bool = False) -> list[str]:
    """Rewrite ``solutions/*.ipynb`` through :func:`clean_source` where that changes them.

    Returns the files rewritten, or with ``check=True`` the problems found (nothing written).
    """
    messages = []
    for path in sorted(Path(solutions_dir).glob("*.ipynb")):
        nb = _read(path)
        text = dumps(clean_source(nb))
        if _is_current(path, text):
            continue
        if not check:
            _write(path, text)
            messages.append(f"cleaned {path.as_posix()}")
        elif any(c.get("outputs") or c.get("execution_count") is not None for c in nb.cells if c.cell_type == "code"):
            messages.append(f"{path.as_posix()} has outputs saved: run `{MAKE} --clean-solutions`")
        else:
            messages.append(f"{path.as_posix()} has editor metadata or missing cell ids: "
                            f"run `{MAKE} --clean-solutions`")
    return messages


def stamp_solutions(solutions_dir: str | Path = "solutions", check: bool = False) -> list[str]:
    """Write the nbgrader metadata of :func:`add_grading_metadata` into ``solutions/*.ipynb``
    where it is missing or stale (nothing else in the file changes).

    Returns the files rewritten, or with ``check=True`` the problems found (nothing written).
    """
    messages = []
    for path in sorted(Path(solutions_dir).glob("*.ipynb")):
        nb = _read(path)
        try:
            stamped = add_grading_metadata(nb)
        except ValueError as error:
            raise ValueError(f"{path.as_posix()}: {error}") from error
        if stamped == nb:
            continue
        if check:
            messages.append(f"{path.as_posix()} lacks the nbgrader metadata of its exercises "
                            f"(or it is stale): run `{MAKE}`")
        else:
            _write(path, dumps(stamped))
            messages.append(f"stamped nbgrader metadata into {path.as_posix()}")
    return messages


def write_lessons(solutions_dir: str | Path = "solutions", lessons_dir: str | Path = "lessons",
                  check: bool = False) -> list[str]:
    """Generate ``lessons/`` from ``solutions/``.

    With ``check=False`` first stamp the nbgrader metadata into ``solutions/`` where needed,
    then write the lessons that changed, remove the ones whose source is gone, and return what
    was done; with ``check=True`` write nothing and return the problems (stale, missing or
    orphan lessons, solutions saved with outputs or without current nbgrader metadata).
    """
    solutions, lessons = Path(solutions_dir), Path(lessons_dir)
    sources = sorted(solutions.glob("*.ipynb"))
    messages = stamp_solutions(solutions, check=check)
    if check:
        messages = clean_solutions(solutions, check=True) + messages
    for source in sources:
        target = lessons / source.name
        try:
            text = dumps(student_version(_read(source)))
        except ValueError as error:
            raise ValueError(f"{source.as_posix()}: {error}") from error
        if _is_current(target, text):
            continue
        if check:
            state = "stale" if target.exists() else "missing"
            messages.append(f"{target.as_posix()} is {state}: run `{MAKE}`")
        else:
            _write(target, text)
            messages.append(f"wrote {target.as_posix()}")
    names = {source.name for source in sources}
    for orphan in sorted(lessons.glob("*.ipynb")):
        if orphan.name in names:
            continue
        if check:
            messages.append(f"{orphan.as_posix()} has no source in {solutions.as_posix()}/: "
                            f"add one or run `{MAKE}` to remove it")
        else:
            orphan.unlink()
            messages.append(f"removed {orphan.as_posix()}")
    return messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=MAKE, description="Generate lessons/ (student notebooks) from solutions/.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything is stale")
    mode.add_argument("--clean-solutions", action="store_true",
                      help="also strip outputs and editor metadata from solutions/ in place")
    parser.add_argument("--solutions", default="solutions", metavar="DIR",
                        help="source notebooks (default: %(default)s)")
    parser.add_argument("--lessons", default="lessons", metavar="DIR",
                        help="generated notebooks (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except ValueError as error:  # a marker problem in a solution notebook
        print(f"error: {error}", file=sys.stderr)
        return 2


def _run(args):
    if args.check:
        problems = write_lessons(args.solutions, args.lessons, check=True)
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem(s) found" if problems else "lessons are up to date")
        return 1 if problems else 0
    done = clean_solutions(args.solutions) if args.clean_solutions else []
    done += write_lessons(args.solutions, args.lessons)
    for line in done:
        print(line)
    print(f"{len(done)} file(s) changed" if done else "nothing to do: lessons are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
