"""Run a graded copy top to bottom in a fresh kernel, in a scratch folder, with a time limit per cell and for
the whole run; errors do not stop it."""
from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping

import nbformat
from nbclient.exceptions import DeadKernelError

from cnncourse.authoring.grading.scoring import describe_cell
from cnncourse.authoring.grading.submissions import GradingError
from cnncourse.authoring.runner import NotebookRun

DEFAULT_TIMEOUT = 1200      # seconds for the whole notebook (lessons take 1-3 min on 2 CPU cores)
DEFAULT_CELL_TIMEOUT = 600  # seconds for any one cell


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
