"""Measure wall time and peak memory of the course notebooks.

Each notebook is executed top to bottom in a fresh kernel of this Python
(``cnncourse.authoring.runner``, the grader's runner; working directory = the
notebook's folder); executed notebooks are not written back (unless ``--executed DIR``). The Keras
backend is the environment's: ``KERAS_BACKEND=jax python benchmarks/run_notebooks.py``
measures JAX.

* Wall time: from kernel start until the last cell is done.
* Peak memory: the larger of (a) the kernel's own high-water mark ``VmHWM``
  from /proc/<pid>/status, read just before the kernel is shut down (Linux
  only), and (b) the largest RSS of the kernel plus its child processes,
  sampled with psutil every 0.2 s.  MB means MiB (2**20 bytes).
  If the kernel dies (e.g. killed for memory), only (b) is left: a lower bound.

The budgets (3 min on a 2-core CPU, 1.5 GB; Binder kills kernels at 2 GB) are
only reported, not enforced: the exit code is 0 even when over budget and 1
only if a notebook failed to run (cell error, timeout, dead kernel).

``--per-cell`` also prints, after each code cell, its seconds, the kernel's RSS and the peak so far:
where the memory goes, not only how much.

Usage: python benchmarks/run_notebooks.py [PATHS...] [--timeout S] [--json FILE] [--executed DIR]
                                          [--budget-seconds 180] [--budget-mb 1536] [--per-cell]
"""
import argparse
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil

from cnncourse.authoring.runner import NotebookRun, error_summary

REPO_ROOT = Path(__file__).resolve().parent.parent
MB = 2**20


class RssSampler(threading.Thread):
    """Background thread recording the peak memory of a process and its children: the kernel's RSS plus each
    child's unique set size (USS). A child forked by the kernel (cleanlab's workers in lesson 07) shares the kernel's
    pages, and adding its RSS counted them twice (2,649 MB for a lesson whose kernel peaked at 1,289 MB)."""

    def __init__(self, pid, interval=0.2):
        super().__init__(daemon=True)
        self.proc, self.interval, self.peak = psutil.Process(pid), interval, 0
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            try:
                rss = self.proc.memory_info().rss
                for child in self.proc.children(recursive=True):
                    try:
                        rss += child.memory_full_info().uss
                    except (psutil.NoSuchProcess, psutil.AccessDenied):  # a child that just exited
                        pass
                self.peak = max(self.peak, rss)
            except psutil.NoSuchProcess:  # the kernel itself is gone
                return
            self.stopped.wait(self.interval)

    def stop(self):
        self.stopped.set()
        self.join()
        return self.peak


def vm_hwm_bytes(pid):
    """The kernel's peak resident set size from /proc, or 0 if unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # value is in kB
    except OSError:
        pass
    return 0


def run_notebook(path, timeout, executed=None, per_cell=False):
    """Execute one notebook; return (wall seconds, peak bytes, error or None). With ``executed``
    (a folder), also save the notebook with its outputs there; with ``per_cell``, print each code cell's
    seconds, the kernel's RSS after it and the peak so far."""
    run = NotebookRun(nbformat.read(path, as_version=4), cwd=path.parent)
    error = None
    start = time.perf_counter()
    with run.kernel():
        sampler = RssSampler(run.pid)
        sampler.start()
        last_done = [time.perf_counter()]  # each cell is timed from the end of the one before

        def report_cell(index, cell):
            now, rss = time.perf_counter(), psutil.Process(run.pid).memory_info().rss
            first_line = cell.source.strip().splitlines()[0][:60] if cell.source.strip() else ""
            print(f"    cell {index:3d} {now - last_done[0]:6.1f} s  RSS {rss / MB:5.0f} MB  "
                  f"peak {max(sampler.peak, vm_hwm_bytes(run.pid)) / MB:5.0f} MB  {first_line}",
                  file=sys.stderr, flush=True)
            last_done[0] = now

        try:
            run.run_all(timeout, after_each=report_cell if per_cell else None)
        except Exception as exc:  # cell error, timeout, dead kernel, ...
            error = exc
        wall = time.perf_counter() - start
        peak = max(vm_hwm_bytes(run.pid), sampler.stop())  # kernel still alive here
    if executed:
        target = Path(executed) / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(run.nb, target)
    return wall, peak, error


def find_notebooks(paths):
    found = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(n for n in p.rglob("*.ipynb") if ".ipynb_checkpoints" not in n.parts)
        elif p.suffix == ".ipynb" and p.is_file():
            found.append(p)
        else:
            print(f"warning: skipping {p} (not a notebook or folder)", file=sys.stderr)
    return [n.resolve() for n in found]


def display_name(path):
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="notebooks or folders (default: solutions lessons)")
    parser.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    parser.add_argument("--executed", type=Path, metavar="DIR",
                        help="also save each executed notebook, outputs included, under DIR/<folder>/")
    parser.add_argument("--budget-seconds", type=float, default=180)
    parser.add_argument("--budget-mb", type=float, default=1536)
    parser.add_argument("--per-cell", action="store_true", help="print each code cell's seconds, RSS and peak so far")
    args = parser.parse_args()

    paths = args.paths or [REPO_ROOT / "solutions", REPO_ROOT / "lessons"]
    notebooks = find_notebooks(paths)
    if not notebooks:
        parser.error("no notebooks found in " + ", ".join(map(str, paths)))

    rows = []
    for i, path in enumerate(notebooks, 1):
        name = display_name(path)
        print(f"[{i}/{len(notebooks)}] running {name} ...", file=sys.stderr, flush=True)
        try:
            wall, peak, error = run_notebook(path, args.timeout, args.executed, args.per_cell)
        except Exception as exc:  # the kernel did not even start
            wall, peak, error = 0.0, 0, exc
        row = {"notebook": name, "wall_s": round(wall, 1), "peak_mb": round(peak / MB),
               "within_budget": None if error else
               wall <= args.budget_seconds and peak / MB <= args.budget_mb,
               "error": error_summary(error) if error else None}
        rows.append(row)
        print(f"    {row['wall_s']} s, {row['peak_mb']} MB" + (f", FAILED: {row['error']}" if error else ""),
              file=sys.stderr, flush=True)

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    print(f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"Keras backend: {backend}. Budgets: {args.budget_seconds:g} s (on 2 cores), "
          f"{args.budget_mb:g} MB.\n")
    print("| notebook | wall time (s) | peak memory (MB) | within budget |")
    print("|---|---:|---:|---|")
    for r in rows:
        verdict = f"FAILED: {r['error']}" if r["error"] else ("yes" if r["within_budget"] else "NO")
        print(f"| {r['notebook']} | {r['wall_s']:.1f} | {r['peak_mb']} | {verdict.replace('|', '/')} |")

    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 1 if any(r["error"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
