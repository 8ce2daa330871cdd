"""binder/ builds the environment a learner gets from the README's "launch binder" badge.

Checked offline, without Docker:

* ``repo2docker --no-build`` renders the Dockerfile Binder would build from this repository;
  it must pin Python, install the course package from the repository root, and run postBuild;
* postBuild really bakes a verified CIFAR-10 into the cache the lessons read: it is run here
  against a local archive served through cnncourse's own download path (the published URL
  and SHA-256 swapped for a local file:// URL and that file's hash), and it fails when the
  archive's hash is wrong.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import textwrap
from importlib.util import find_spec
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
IN_CI = bool(os.environ.get("CI"))


def _repo2docker_dockerfile():
    if find_spec("repo2docker") is None:
        if IN_CI:
            pytest.fail("jupyter-repo2docker is not installed, and CI must run this test")
        pytest.skip("jupyter-repo2docker is not installed (pip install -e '.[test]')")
    # --no-build renders the Dockerfile and prints it; it needs no Docker daemon.
    result = subprocess.run(
        [sys.executable, "-m", "repo2docker", "--no-build", "--user-id", "1000", "--user-name", "jovyan",
         str(ROOT)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout, result.stderr


@pytest.fixture(scope="module")
def dockerfile():
    return _repo2docker_dockerfile()


def _line_index(lines, pattern):
    matches = [i for i, line in enumerate(lines) if re.search(pattern, line)]
    assert matches, f"no line of the Dockerfile matches {pattern!r}"
    return matches[0]


def test_python_version_is_pinned_and_matches_ci(dockerfile):
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(3\.\d+)", runtime)
    assert match, f"binder/runtime.txt must pin a Python version like python-3.11, not {runtime!r}"
    version = match[1]
    _, log = dockerfile
    assert f"python={version}" in log, log
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"Python {version}" in ci, "binder/ and CI should test the same Python version"
    minimum = re.search(r'requires-python = ">=3\.(\d+)"', (ROOT / "pyproject.toml").read_text())
    assert minimum and int(version.split(".")[1]) >= int(minimum[1])


def test_course_package_is_installed_from_the_repository(dockerfile):
    text, _ = dockerfile
    lines = text.splitlines()
    requirements = [line.split("#")[0].strip() for line in (BINDER / "requirements.txt").read_text().splitlines()]
    # binder/ takes precedence over the root: repo2docker ignores pyproject.toml, so the package is listed.
    assert {".", "-e ."} & set(requirements), "binder/requirements.txt must install the repository root"
    copy_repo = _line_index(lines, r"^COPY .* src/ \$\{REPO_DIR\}/$")
    pip = _line_index(lines, r'pip install --no-cache-dir -r "binder/requirements.txt"')
    workdir = _line_index(lines, r"^WORKDIR \$\{REPO_DIR\}$")
    # pip resolves "." against its working directory: the repository root, copied in before pip runs.
    assert workdir < copy_repo < pip


def test_postbuild_runs_after_the_install(dockerfile):
    text, _ = dockerfile
    lines = text.splitlines()
    pip = _line_index(lines, r'pip install --no-cache-dir -r "binder/requirements.txt"')
    post_build = _line_index(lines, r"^RUN \./binder/postBuild$")
    assert pip < post_build
    assert os.access(BINDER / "postBuild", os.X_OK)
    assert "load_cifar10" in (BINDER / "postBuild").read_text()


# ------------------------------------------------------------------ postBuild, for real

SHIM = """
import cnncourse.data as data
data.BINARY_ARCHIVE = data.Archive(url={url!r}, sha256={sha256!r}, size={size}, filename=data.BINARY_ARCHIVE.filename)
"""


@pytest.fixture(scope="module")
def binary_archive(tmp_path_factory):
    """A cifar-10-binary.tar.gz laid out like the official one, from the offline copy."""
    source = Path(os.environ.get("CNNCOURSE_DATA_DIR", "")) / "cifar-10-batches-bin"
    if not (source / "test_batch.bin").is_file():
        if IN_CI:
            pytest.fail(f"no offline CIFAR-10 copy at {source} (the root conftest.py materializes one)")
        pytest.skip(f"no offline CIFAR-10 copy at {source}")
    path = tmp_path_factory.mktemp("archive") / "cifar-10-binary.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name in sorted(p.name for p in source.iterdir()):
            tar.add(source / name, arcname=f"cifar-10-batches-bin/{name}")
    return path


def _run_post_build(tmp_path, archive, sha256):
    home, shim = tmp_path / "home", tmp_path / "shim"
    home.mkdir()
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(textwrap.dedent(SHIM.format(
        url=archive.as_uri(), sha256=sha256, size=archive.stat().st_size)))
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CACHE_HOME", "PYTHONPATH")}
    env.update(HOME=str(home), PYTHONPATH=str(shim), PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}",
               MPLCONFIGDIR=str(home / ".config" / "matplotlib"))
    # CNNCOURSE_DATA_DIR stays set (conftest.py sets it): postBuild must not be fooled by it.
    assert env.get("CNNCOURSE_DATA_DIR")
    from cnncourse import backbone
    if backbone.is_cached():  # conftest.py trained it: postBuild finds it, instead of training it again (minutes)
        baked = home / ".cache" / "cnncourse"
        baked.mkdir(parents=True)
        for path in backbone.default_cache_dir().glob(f"backbone-{backbone.recipe_key()}.*"):
            shutil.copy(path, baked / path.name)
    result = subprocess.run(["bash", str(BINDER / "postBuild")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    return home / ".cache" / "cnncourse", result


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def test_post_build_bakes_verified_cifar10_into_the_cache(tmp_path, binary_archive):
    cache, result = _run_post_build(tmp_path, binary_archive, _sha256(binary_archive))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "CIFAR-10 is in the image" in result.stdout
    batches = cache / "cifar-10-batches-bin"
    assert sorted(p.name for p in batches.iterdir()) == sorted(
        ["batches.meta.txt", "test_batch.bin"] + [f"data_batch_{i}.bin" for i in range(1, 6)])
    assert not (cache / "cifar-10-binary.tar.gz").exists(), "the archive should not stay in the image"
    from cnncourse.data import load_cifar10
    data = load_cifar10(cache_dir=cache, download=False, progress=False)  # what a lesson reads
    assert data.x_train.shape == (50_000, 32, 32, 3)
    assert len(list((cache / "cifar10-folders-300-100" / "val" / "truck").glob("*.png"))) == 100, "lesson 10's folders"
    assert "Lesson 11's backbone is in the image" in result.stdout


def test_post_build_fails_when_the_archive_is_not_the_published_one(tmp_path, binary_archive):
    cache, result = _run_post_build(tmp_path, binary_archive, "0" * 64)
    assert result.returncode != 0
    assert "sha256" in result.stderr
    assert not (cache / "cifar-10-batches-bin").exists()
    shutil.rmtree(tmp_path / "home", ignore_errors=True)
