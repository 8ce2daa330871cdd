"""Rerun notebooks on several seeds: do their claims hold on seeds nobody tuned on?

Each notebook runs top to bottom in a fresh kernel once per seed, with ``CNNCOURSE_SEED`` set
(every lesson reads its seed from it). For each run it prints whether every cell passed, the
first failing cell's error (a claim that did not hold is an ``AssertionError`` with its
message), and what the claim cells (code cells holding ``assert``) printed, so the measured
values behind each margin can be read side by side.

With ``--keep-going``, the claim cells report every claim instead of stopping at the first that
fails: each ``assert test, message`` prints ``claim held: test`` or ``claim FAILED: test - message``,
and the rest of the notebook (its exercises too) still runs.

Usage: python benchmarks/seeds.py NOTEBOOK [NOTEBOOK ...] [--seeds 0 1 2 3 4] [--timeout S] [--keep-going]
"""
import argparse
import ast
import os
import sys
import time
from pathlib import Path

import nbformat

from cnncourse.authoring.runner import NotebookRun, error_summary


def is_claim_cell(cell) -> bool:
    return cell.cell_type == "code" and "\nassert " in f"\n{cell.source}"


class _ReportClaims(ast.NodeTransformer):
    def visit_Assert(self, node: ast.Assert) -> ast.stmt:
        # A held claim shows its test (messages often describe the failure); a failed one its message too.
        test = ast.unparse(node.test)
        message = ast.unparse(node.msg) if node.msg is not None else "''"
        report = f'print("claim held:", {test!r}) if ({test}) else print("claim FAILED:", {test!r}, "-", {message})'
        return ast.copy_location(ast.parse(report).body[0], node)


def report_claims(source: str) -> str:
    """``source`` with every ``assert test, message`` turned into a line that reports it and goes on."""
    return ast.unparse(ast.fix_missing_locations(_ReportClaims().visit(ast.parse(source))))


def run_with_seed(path: Path, seed: int, timeout: float, keep_going: bool = False):
    """Execute ``path`` with ``CNNCOURSE_SEED=seed``; return (seconds, error or None, claim outputs)."""
    nb = nbformat.read(path, as_version=4)
    claim_cells = [cell for cell in nb.cells if is_claim_cell(cell)]
    if keep_going:
        for cell in claim_cells:
            cell.source = report_claims(cell.source)
    run = NotebookRun(nb, cwd=path.parent)
    start, error = time.perf_counter(), None
    with run.kernel(env={**os.environ, "CNNCOURSE_SEED": str(seed)}, quiet=True):
        try:
            run.run_all(timeout)
        except Exception as exc:  # a claim that failed, or any other error
            error = error_summary(exc)
    claims = ["".join(output.get("text", "") for output in cell.outputs if output.get("output_type") == "stream"
                      and output.get("name") == "stdout")
              for cell in claim_cells]
    return time.perf_counter() - start, error, claims


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--timeout", type=float, default=600, help="per-cell time limit in seconds")
    parser.add_argument("--keep-going", action="store_true",
                        help="report every claim (held or FAILED) instead of stopping at the first that fails")
    args = parser.parse_args()
    failed = 0
    for path in args.notebooks:
        for seed in args.seeds:
            seconds, error, claims = run_with_seed(path.resolve(), seed, args.timeout, args.keep_going)
            broken = sum(text.count("claim FAILED:") for text in claims)
            failed += error is not None or broken > 0
            verdict = (f"FAILED {error}" if error else f"{broken} claims FAILED" if broken else "all claims hold")
            print(f"== {path} seed {seed}: {verdict} ({seconds:.0f} s)")
            for text in claims:
                print(text.rstrip())
            sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
