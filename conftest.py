"""Point every test, and every notebook kernel nbval starts, at an offline CIFAR-10 copy.

When ``CNNCOURSE_DATA_DIR`` is unset and the course's offline copy sits beside the
repository (``../shared/cifar10``, as on CI), it is materialized once into
``.cache/cifar10`` (instant when already there). Kernels inherit the environment
variable, so notebooks never download during tests.
"""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
OFFLINE_COPY = ROOT.parent / "shared" / "cifar10" / "materialize.py"


def pytest_configure(config):
    if os.environ.get("CNNCOURSE_DATA_DIR") or not OFFLINE_COPY.exists():
        return
    target = ROOT / ".cache" / "cifar10"
    subprocess.run([sys.executable, str(OFFLINE_COPY), str(target)], check=True, stdout=subprocess.DEVNULL)
    os.environ["CNNCOURSE_DATA_DIR"] = str(target)
