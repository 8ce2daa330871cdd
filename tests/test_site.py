"""The student lessons, each executed once, top to bottom, and the course site built from those copies.

Each notebook in lessons/ runs in a fresh kernel as nbval would run it (the first error fails its test), with
its exercises unanswered: every check must show a verdict that does not pass. The site is then built from
the executed copies (no lesson runs twice; one that no test of this session executed, as under ``-k``, is
executed first) and read in headless Chromium: every page loads without console errors or failed requests,
each lesson page shows its figures as images, its launch links open that very lesson, and no internal link
or anchor is broken.
"""
import functools
import http.server
import threading
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from cnncourse.authoring import launch
from cnncourse.authoring.site import LessonFailed, build, execute_lesson

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
LESSONS = sorted(path.name for path in (REPO / "lessons").glob("*.ipynb"))
VERDICT = "application/vnd.cnncourse.verdict+json"
HUB = "https://hub.example.edu"
_failed: set[str] = set()


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    return tmp_path_factory.mktemp("executed")


def _execute(lesson, executed):
    try:
        return execute_lesson(REPO / "lessons" / lesson, executed)
    except LessonFailed as error:
        _failed.add(lesson)
        pytest.fail(str(error), pytrace=False)


def _cell_seconds(nb) -> dict[int, float]:
    """Each executed code cell's run time, from the timestamps nbclient records in its metadata."""
    seconds = {}
    for index, cell in enumerate(nb.cells):
        timing = cell.metadata.get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start, end = (datetime.fromisoformat(timing[key]) for key in ("iopub.execute_input", "shell.execute_reply"))
            seconds[index] = (end - start).total_seconds()
    return seconds


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_top_to_bottom_with_its_exercises_unanswered(lesson, executed, record_property):
    nb = nbformat.read(_execute(lesson, executed), as_version=4)
    record_property("cell_seconds", _cell_seconds(nb))  # conftest.py reports the slowest cells
    checks = [cell for cell in nb.cells if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")]
    verdicts = [output.data[VERDICT] for cell in checks for output in cell.outputs if VERDICT in output.get("data", {})]
    assert checks and len(verdicts) == len(checks), f"{len(checks)} exercise checks, {len(verdicts)} verdicts shown"
    passed = [verdict["message"] for verdict in verdicts if verdict["passed"]]
    assert not passed, f"an unanswered exercise passes its check: {passed}"


@pytest.fixture(scope="module")
def site(executed, tmp_path_factory):
    if _failed:
        pytest.fail(f"no site: {', '.join(sorted(_failed))} failed to run", pytrace=False)
    for lesson in LESSONS:
        if not (executed / lesson).is_file():
            _execute(lesson, executed)
    return build(executed, tmp_path_factory.mktemp("site"))


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.targets, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for name in ("href", "src"):
            if attrs.get(name):
                self.targets.append(attrs[name])


def _parse(path):
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_site_has_the_landing_page_every_lesson_the_instructors_guide_and_the_api(site):
    pages = {path.relative_to(site).as_posix() for path in site.rglob("*.html")}
    expected = {"index.html", "api.html", "instructors.html", "jupyterhub.html",
                *(f"lessons/{Path(lesson).stem}.html" for lesson in LESSONS)}
    assert expected <= pages, f"missing pages: {sorted(expected - pages)}"
    index = (site / "index.html").read_text(encoding="utf-8")
    for lesson in LESSONS:  # the symptom table links every lesson's page
        assert f'href="lessons/{Path(lesson).stem}.html"' in index, lesson
    api = _parse(site / "api.html").ids
    for name in ("cnncourse.diagnose.diagnose", "cnncourse.diagnose.Monitor", "cnncourse.sanity.loss_at_init",
                 "cnncourse.plots.plot_history", "cnncourse.data.load_cifar10"):
        assert name in api, f"the API reference does not document {name}"


def test_no_internal_link_or_anchor_is_broken(site):
    pages = {path: _parse(path) for path in site.rglob("*.html") if not path.relative_to(site).parts[0] == "_static"}
    broken = []
    for page, parsed in pages.items():
        for target in parsed.targets:
            parts = urlsplit(target)
            if parts.scheme or parts.netloc or target.startswith(("mailto:", "javascript:")):
                continue
            path = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if path.is_dir():
                path = path / "index.html"
            if not path.is_file():
                broken.append(f"{page.relative_to(site)} -> {target}")
            elif parts.fragment and path.suffix == ".html":
                ids = pages[path].ids if path in pages else _parse(path).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(site)} -> {target} (no such anchor)")
    assert not broken, "broken links:\n" + "\n".join(broken)


@pytest.fixture(scope="module")
def served(site):
    """The site's base URL on 127.0.0.1, served from its folder for the module."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _figures_in(notebook):
    nb = nbformat.read(notebook, as_version=4)
    return sum("image/png" in output.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
               for output in cell.outputs)


def test_every_page_loads_cleanly_and_lesson_pages_show_their_figures_and_launch_links(site, served, page):
    problems = []
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    page.on("requestfailed", lambda request: problems.append(f"failed {request.url}"))
    for html_page in sorted(site.glob("*.html")) + sorted((site / "lessons").glob("*.html")):
        relative = html_page.relative_to(site).as_posix()
        page.goto(f"{served}/{relative}", wait_until="networkidle")
        assert not problems, f"{relative}: {problems}"
        if not relative.startswith("lessons/"):
            continue
        lesson = html_page.stem + ".ipynb"
        figures = page.locator(".cell_output img")
        expected = _figures_in(site.parent / "source" / "lessons" / lesson)
        assert expected > 0 and figures.count() == expected, (relative, figures.count(), expected)
        shown = figures.evaluate_all("images => images.filter(i => i.complete && i.naturalWidth > 100).length")
        assert shown == expected, f"{relative}: {expected - shown} of its {expected} figures did not display"
        assert page.get_attribute("a.launch-binder", "href") == launch.binder_url(f"lessons/{lesson}")
        assert page.get_attribute("a.launch-colab", "href") == launch.colab_url(f"lessons/{lesson}")
        assert page.get_attribute("a.launch-jupyterhub", "href") == f"../jupyterhub.html?lesson={lesson}"


def test_jupyterhub_page_makes_the_nbgitpuller_link_of_the_lesson_it_came_from(site, served, page):
    lesson = LESSONS[0]
    page.goto(f"{served}/lessons/{Path(lesson).stem}.html")
    page.click("a.launch-jupyterhub")
    page.fill("#hub-address", HUB + "/")
    page.click("#hub-form button")
    link = page.get_attribute("#hub-lesson-link", "href")
    assert link == launch.jupyterhub_url(f"lessons/{lesson}", HUB)
