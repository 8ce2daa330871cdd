"""The course on Keras' JAX backend: the unit tests that touch Keras, and lesson 00, run again in a
fresh process with KERAS_BACKEND=jax (the rest of the suite runs on TensorFlow, the default).

JAX on a 2-core CPU is several times slower than TensorFlow (benchmarks/README.md), so CI runs one
lesson on it; `KERAS_BACKEND=jax pytest solutions` runs them all.
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each test runs pytest again in a process on JAX

REPO = Path(__file__).resolve().parent.parent
KERAS_TESTS = ["test_backbone.py", "test_checks.py", "test_depth.py", "test_diagnose.py", "test_fit_data.py",
               "test_folders.py",
               "test_exercises_lesson00.py", "test_exercises_lesson01.py", "test_exercises_lesson02.py",
               "test_exercises_lesson03.py",
               "test_exercises_lesson04.py", "test_exercises_lesson05.py", "test_exercises_lesson06.py",
               "test_exercises_lesson07.py", "test_exercises_lesson08.py", "test_exercises_lesson09.py",
               "test_exercises_lesson10.py", "test_exercises_lesson11.py",
               "test_metrics.py", "test_models_training.py", "test_noise.py", "test_plots.py", "test_probes.py",
               "test_recipe.py", "test_sanity.py", "test_subsets.py", "test_widgets.py"]

if importlib.util.find_spec("jax") is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must test the JAX backend: install the test extra, which includes jax")
    pytest.skip("jax is not installed: pip install -e '.[jax]'", allow_module_level=True)


def pytest_on_jax(*targets):
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=5",
               "-o", "addopts=--nbval-lax --nbval-current-env", *targets]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    print(result.stdout[-4000:])
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-3000:]
    assert "passed" in result.stdout and " skipped" not in result.stdout.splitlines()[-1]


def test_unit_tests_pass_on_jax():
    pytest_on_jax(*(f"tests/{name}" for name in KERAS_TESTS))


def test_lesson00_passes_on_jax():
    pytest_on_jax("solutions/00_meet_cifar10.ipynb")
