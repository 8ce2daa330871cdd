"""benchmarks/seeds.py --keep-going reports every claim of a notebook instead of stopping at the first."""
import contextlib
import importlib.util
import io
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "seeds.py"
spec = importlib.util.spec_from_file_location("seeds", SCRIPT)
seeds = importlib.util.module_from_spec(spec)
spec.loader.exec_module(seeds)


def test_report_claims_reports_each_assert_and_goes_on():
    source = 'x = 1\nassert x == 1, "one"\nfor k in (1, 2):\n    assert k < 2, f"k={k}"\nassert x > 5\nprint("end")'
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(seeds.report_claims(source), {})
    assert out.getvalue().splitlines() == ["claim held: x == 1", "claim held: k < 2", "claim FAILED: k < 2 - k=2",
                                          "claim FAILED: x > 5 - ", "end"]
