"""Every way a learner launches a lesson points at the one repository named in cnncourse.authoring.launch.

* every notebook in solutions/ and lessons/ starts (first code cell) with the Colab set-up cell,
  which installs cnncourse on Colab and does nothing anywhere else;
* every Binder or Colab link in README.md and in the notebooks uses REPOSITORY and BRANCH, and
  opens a notebook or folder that exists.
"""
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager

from cnncourse.authoring import launch

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LESSONS = sorted((ROOT / "lessons").glob("*.ipynb"))
NOTEBOOKS = SOLUTIONS + LESSONS

BINDER = re.compile(r"https://mybinder\.org/v2/gh/(?P<repo>[\w.-]+/[\w.-]+)/(?P<branch>[\w./-]+?)"
                    r"(?:\?urlpath=lab/tree/(?P<path>[^)\s\"'>]*))?(?=[)\s\"'>]|$)")
COLAB = re.compile(r"https://colab\.research\.google\.com/github/(?P<repo>[\w.-]+/[\w.-]+)/blob/"
                   r"(?P<branch>[\w.-]+)/(?P<path>[^)\s\"'>]+)")
# pip installs from GitHub (the Colab cell); other GitHub links (credits, references) may go anywhere.
GIT_INSTALL = re.compile(r"git\+https://github\.com/(?P<repo>[\w.-]+/[\w.-]+?)(?:\.git)?(?:@(?P<branch>[\w.-]+))?(?=[/\"'\s)@]|$)")


def first_code_cell(path):
    nb = nbformat.read(path, as_version=4)
    return next((cell for cell in nb.cells if cell.cell_type == "code"), None)


def test_there_are_notebooks():
    assert SOLUTIONS and LESSONS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_first_code_cell_is_the_colab_setup(path):
    cell = first_code_cell(path)
    assert cell is not None, f"{path.name} has no code cell"
    assert cell.source == launch.COLAB_SETUP_CELL, (
        f"{path.parent.name}/{path.name}: the first code cell must be exactly the Colab set-up cell "
        f"(cnncourse.authoring.launch.COLAB_SETUP_CELL), so that the lesson runs on Colab:\n\n"
        f"{launch.COLAB_SETUP_CELL}\n\nIt is:\n\n{cell.source}")


def _run_setup_cell(modules_code):
    """Run the set-up cell as IPython would, with a fake get_ipython that records magics."""
    python = TransformerManager().transform_cell(launch.COLAB_SETUP_CELL)
    script = (
        "import sys, types\n"
        f"{modules_code}\n"
        "calls = []\n"
        "class Shell:\n"
        "    def run_line_magic(self, name, line):\n"
        "        calls.append((name, line))\n"
        "get_ipython = lambda: Shell()\n"
        f"exec({python!r})\n"
        "print(repr(calls))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return eval(out.stdout)  # a list of tuples of str, printed by repr


def test_setup_cell_installs_cnncourse_on_colab_only():
    assert _run_setup_cell("") == []
    on_colab = _run_setup_cell("sys.modules['google.colab'] = types.ModuleType('google.colab')")
    assert on_colab == [("pip", f'install -q "{launch.PIP_REQUIREMENT}"')]


def test_pip_requirement_is_a_valid_pep508_direct_reference():
    packaging = pytest.importorskip("packaging.requirements")
    req = packaging.Requirement(launch.PIP_REQUIREMENT)
    assert req.name == "cnncourse"
    assert req.url == f"git+https://github.com/{launch.REPOSITORY}@{launch.BRANCH}"


def _launch_links(text):
    return ([("binder", m) for m in BINDER.finditer(text)] + [("colab", m) for m in COLAB.finditer(text)])


def _check_link(kind, match, where):
    problems = []
    if (match["repo"], match["branch"]) != (launch.REPOSITORY, launch.BRANCH):
        problems.append(f"{where}: {kind} link {match[0]} does not point at "
                        f"{launch.REPOSITORY}@{launch.BRANCH} (cnncourse.authoring.launch)")
    path = match["path"]
    if path and not (ROOT / path).exists():
        problems.append(f"{where}: {kind} link {match[0]} opens {path}, which does not exist")
    return problems


def test_readme_has_a_binder_badge_for_the_lessons():
    text = README.read_text(encoding="utf-8")
    badge = f"[![Binder](https://mybinder.org/badge_logo.svg)]({launch.binder_url('lessons')})"
    assert badge in text


def test_readme_links_every_lesson_on_binder_and_colab():
    text = README.read_text(encoding="utf-8")
    for lesson in LESSONS:
        path = f"lessons/{lesson.name}"
        assert launch.binder_url(path) in text, f"README lacks the Binder link for {path}"
        assert launch.colab_url(path) in text, f"README lacks the Colab link for {path}"


def test_every_launch_link_uses_the_one_repository():
    sources = [(README.name, README.read_text(encoding="utf-8"))]
    sources += [(f"{p.parent.name}/{p.name}", p.read_text(encoding="utf-8")) for p in NOTEBOOKS]
    sources += [(f"binder/{p.name}", p.read_text(encoding="utf-8"))
                for p in sorted((ROOT / "binder").glob("*")) if p.is_file()]
    problems, found = [], 0
    for where, text in sources:
        for kind, match in _launch_links(text):
            found += 1
            problems += _check_link(kind, match, where)
        for match in GIT_INSTALL.finditer(text):
            if match["repo"] != launch.REPOSITORY or (match["branch"] and match["branch"] != launch.BRANCH):
                problems.append(f"{where}: {match[0]} is not {launch.REPOSITORY}@{launch.BRANCH}")
    assert found >= 1 + 2 * len(LESSONS)
    assert not problems, "\n".join(problems)


def test_link_patterns_catch_a_wrong_repository():
    wrong = "https://mybinder.org/v2/gh/someone/fork/dev?urlpath=lab/tree/lessons"
    [(kind, match)] = _launch_links(wrong)
    assert _check_link(kind, match, "x")
    missing = launch.colab_url("lessons/99_nothing.ipynb")
    [(kind, match)] = _launch_links(missing)
    assert any("does not exist" in p for p in _check_link(kind, match, "x"))
    assert not _check_link("binder", BINDER.search(launch.binder_url("lessons")), "x")
    [install] = GIT_INSTALL.finditer(launch.COLAB_SETUP_CELL)
    assert (install["repo"], install["branch"]) == (launch.REPOSITORY, launch.BRANCH)
    assert GIT_INSTALL.search('pip install "x @ git+https://github.com/fork/cnncourse@dev"')["repo"] == "fork/cnncourse"


def test_readme_links_the_course_site():
    assert f"]({launch.SITE_URL})" in README.read_text(encoding="utf-8")


def test_jupyterhub_link_pulls_the_repository_and_opens_the_lesson():
    from urllib.parse import parse_qs, urlsplit

    link = urlsplit(launch.jupyterhub_url("lessons/00_meet_cifar10.ipynb", "https://hub.example.edu/"))
    assert (link.scheme, link.netloc, link.path) == ("https", "hub.example.edu", "/hub/user-redirect/git-pull")
    query = {key: values[0] for key, values in parse_qs(link.query).items()}
    folder = launch.REPOSITORY.split("/")[1]
    assert query == {"repo": launch.GIT_URL, "branch": launch.BRANCH,
                     "urlpath": f"lab/tree/{folder}/lessons/00_meet_cifar10.ipynb"}
    with pytest.raises(ValueError, match="https://"):
        launch.jupyterhub_url("lessons", "hub.example.edu")


def test_site_hub_page_builds_its_links_from_the_one_repository():
    # docs/jupyterhub.md makes the same link in the browser (tests/test_site.py compares the two links)
    page = (ROOT / "docs" / "jupyterhub.md").read_text(encoding="utf-8")
    folder = launch.REPOSITORY.split("/")[1]
    assert f'const REPO = "{launch.GIT_URL}", BRANCH = "{launch.BRANCH}", FOLDER = "{folder}";' in page
