"""Rerun notebooks on several seeds: do their claims hold on seeds nobody tuned on?

Each notebook runs top to bottom in a fresh kernel once per seed, with ``CNNCOURSE_SEED`` set
(every lesson reads its seed from it). For each run it prints whether every cell passed, the
first failing cell's error (a claim that did not hold is an ``AssertionError`` with its
message), and what the claim cells (code cells holding ``assert``) printed, so the measured
values behind each margin can be read side by side.

Usage: python benchmarks/seeds.py NOTEBOOK [NOTEBOOK ...] [--seeds 0 1 2 3 4] [--timeout S]
"""
import argparse
import os
import sys
import time
from pathlib import Path

import nbformat

from cnncourse.authoring.runner import NotebookRun, error_summary


def run_with_seed(path: Path, seed: int, timeout: float):
    """Execute ``path`` with ``CNNCOURSE_SEED=seed``; return (seconds, error or None, claim outputs)."""
    run = NotebookRun(nbformat.read(path, as_version=4), cwd=path.parent)
    start, error = time.perf_counter(), None
    with run.kernel(env={**os.environ, "CNNCOURSE_SEED": str(seed)}, quiet=True):
        try:
            run.run_all(timeout)
        except Exception as exc:  # a claim that failed, or any other error
            error = error_summary(exc)
    claims = ["".join(output.get("text", "") for output in cell.outputs if output.get("output_type") == "stream"
                      and output.get("name") == "stdout")
              for cell in run.nb.cells if cell.cell_type == "code" and "\nassert " in f"\n{cell.source}"]
    return time.perf_counter() - start, error, claims


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--timeout", type=float, default=600, help="per-cell time limit in seconds")
    args = parser.parse_args()
    failed = 0
    for path in args.notebooks:
        for seed in args.seeds:
            seconds, error, claims = run_with_seed(path.resolve(), seed, args.timeout)
            failed += error is not None
            print(f"== {path} seed {seed}: {'FAILED ' + error if error else 'all claims hold'} ({seconds:.0f} s)")
            for text in claims:
                print(text.rstrip())
            sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
