"""Point every test, and every notebook kernel nbval starts, at an offline CIFAR-10 copy, and have the course's
pretrained backbone (lesson 11) ready before any test needs it; mark the notebooks' cells ``slow``.

When ``CNNCOURSE_DATA_DIR`` is unset and the course's offline copy sits beside the
repository (``../shared/cifar10``, as on CI), it is materialized once into
``.cache/cifar10`` (instant when already there). Kernels inherit the environment
variable, so notebooks never download during tests.

With an offline copy, the backbone is trained once into the course's cache (about 2.5 minutes on 2 CPU cores,
the first time only): lesson 11 and the Binder test then read it instead of each training their own.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
OFFLINE_COPY = ROOT.parent / "shared" / "cifar10" / "materialize.py"


def pytest_configure(config):
    if not os.environ.get("CNNCOURSE_DATA_DIR") and OFFLINE_COPY.exists():
        target = ROOT / ".cache" / "cifar10"
        subprocess.run([sys.executable, str(OFFLINE_COPY), str(target)], check=True, stdout=subprocess.DEVNULL)
        os.environ["CNNCOURSE_DATA_DIR"] = str(target)
    if os.environ.get("CNNCOURSE_DATA_DIR"):  # never a download: only from the offline copy
        from cnncourse.backbone import is_cached, load_backbone

        if not is_cached():
            print("conftest.py: training the course's backbone once (about 2.5 minutes on 2 cores)...", flush=True)
            load_backbone(progress=False)


# The longest files first: with two workers taking a file at a time in this order, the many short unit tests fill
# in at the end instead of one worker running the lessons alone after the other has finished.
LONGEST_FIRST = ("tests/test_site.py", "tests/test_jax_backend.py", "solutions/")


def _start_order(item) -> int:
    path = item.path.relative_to(ROOT).as_posix() if item.path.is_relative_to(ROOT) else ""
    return next((rank for rank, start in enumerate(LONGEST_FIRST) if path.startswith(start)), len(LONGEST_FIRST))


def pytest_collection_modifyitems(items):
    for item in items:  # nbval's cells of solutions/*.ipynb
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)
    items.sort(key=_start_order)  # stable: each file's items keep their order


def pytest_terminal_summary(terminalreporter):
    """The slowest cells of the lessons tests/test_site.py executed, and each lesson's time outside its cells
    (kernel start, waiting): where a slow run of the suite spent its time."""
    rows = []
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        cells = dict(report.user_properties).get("cell_seconds") if report.when == "call" else None
        if cells:
            lesson = report.nodeid.rpartition("[")[2].rstrip("]")
            rows += [(seconds, f"{lesson} cell {index}") for index, seconds in cells.items()]
            rows.append((report.duration - sum(cells.values()), f"{lesson} outside its cells"))
    if rows:
        terminalreporter.section("slowest lesson cells (tests/test_site.py)")
        for seconds, where in sorted(rows, reverse=True)[:15]:
            terminalreporter.write_line(f"{seconds:8.1f}s  {where}")
