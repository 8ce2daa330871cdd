"""ruff (pyflakes, import order, line length; configured in pyproject.toml) passes on the package,
the tests, the benchmarks and solutions/."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def ruff(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *args], cwd=cwd,
                          capture_output=True, text=True)


def test_ruff_passes_on_the_repository():
    result = ruff(".")
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


def test_ruff_with_the_project_rules_catches_an_unused_import_and_a_long_line(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\nx = '" + "a" * 130 + "'\n")
    result = ruff("--config", str(REPO / "pyproject.toml"), str(bad))
    assert result.returncode == 1 and "F401" in result.stdout and "E501" in result.stdout
