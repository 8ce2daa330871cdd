"""A lesson works as a learner sees it: JupyterLab in a real browser, Run All, figures, a widget.

Starts ``jupyter lab`` on 127.0.0.1 over a temporary copy of lessons/ (the kernel inherits this
process's environment, so ``CNNCOURSE_DATA_DIR`` from the root conftest.py reaches it), drives
Debian's Chromium headless with Playwright, opens lesson 00, runs all cells from the Run menu,
and checks in the page that every code cell ran without a traceback, that Matplotlib figures
rendered, and that the lesson's slider (cnncourse.widgets.explore) redraws its output when the
learner presses ArrowRight on it. Screenshots go to test-artifacts/browser/.

JupyterLab 4 renders notebooks in a window: depending on the user's windowingMode, cells
outside the viewport are skipped ('contentVisibility', the default a learner gets and the one
used here) or detached from the DOM ('full'). The test scrolls the notebook to find the figure
and the widget, and reads text with textContent (innerText is empty for a skipped cell). Run
All counts as finished when every code cell in the DOM has a number; under 'full' not every
cell would be in the DOM, and the wait fails with a message that says so.

Skipped (with the reason) when Playwright or /usr/bin/chromium is missing, unless ``CI`` is
set: CI installs both (.ci/run), so there the test must run.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSON = "00_meet_cifar10.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "browser"
SERVER_START_S = 90
NOTEBOOK_OPEN_S = 120
RUN_ALL_S = 600  # about 60 s on a quiet 2-core machine; leave room for a busy one
WIDGET_UPDATE_S = 30


def _requirements_or_skip():
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Python package playwright (pip install -e '.[test]')")
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if missing:
        reason = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason + "; CI must run this test (.ci/run installs both)")
        pytest.skip(reason)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base, token, path, method="GET"):
    request = urllib.request.Request(f"{base}{path}", method=method,
                                     headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory):
    """(base URL, token, folder): JupyterLab serving a copy of lessons/, shut down afterwards."""
    _requirements_or_skip()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    home = tmp_path_factory.mktemp("lab")
    root = home / "lessons"
    shutil.copytree(ROOT / "lessons", root)  # autosave writes outputs: never into the repository
    settings = home / "settings"
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')  # no "get notified about news?" toast over the page
    port, token = _free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    log = open(ARTIFACTS / "jupyter-lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--allow-root",
         f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={settings}",
         f"--LabApp.workspaces_dir={home / 'workspaces'}"],
        env=dict(os.environ), cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited with {server.returncode}; see {ARTIFACTS / 'jupyter-lab.log'}")
            try:
                _api(base, token, "/api/status")
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer within {SERVER_START_S} s; "
                                f"see {ARTIFACTS / 'jupyter-lab.log'}")
                time.sleep(0.5)
        yield base, token, root
    finally:
        try:  # shut the kernels down through the server, then the server
            for kernel in _api(base, token, "/api/kernels") or []:
                _api(base, token, f"/api/kernels/{kernel['id']}", method="DELETE")
        except (urllib.error.URLError, OSError):
            pass
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        log.close()


@pytest.fixture
def page(jupyter_lab):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def _screenshot(page, name):
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def _scroll_to(page, selector, timeout_s=60):
    """Scroll the notebook from the top until ``selector`` is in the DOM, and into view.

    Works whatever the windowing mode: a detached cell is attached once scrolled near.
    """
    locator = page.locator(f".jp-NotebookPanel {selector}").first
    scroller = ".jp-NotebookPanel .jp-WindowedPanel-outer"
    page.eval_on_selector(scroller, "el => { el.scrollTop = 0; }")
    deadline = time.monotonic() + timeout_s
    while locator.count() == 0:
        at_bottom = page.eval_on_selector(
            scroller, "el => { const end = el.scrollTop + el.clientHeight >= el.scrollHeight - 2;"
                      " el.scrollTop += el.clientHeight * 0.8; return end; }")
        if at_bottom or time.monotonic() > deadline:
            raise AssertionError(f"{selector} is nowhere in the notebook")
        page.wait_for_timeout(200)
    locator.scroll_into_view_if_needed(timeout=10_000)
    return locator


def _code_cell_count(path):
    return sum(cell.cell_type == "code" for cell in nbformat.read(path, as_version=4).cells)


def _prompts(page):
    """Execution prompts of the code cells in the DOM, e.g. ['[1]:', '[*]:', '[ ]:']."""
    return [text.strip() for text in page.eval_on_selector_all(
        ".jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt", "els => els.map(e => e.textContent)")]


def _run_all_and_wait(page, expected_cells):
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    indicator = ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator"
    deadline = time.monotonic() + RUN_ALL_S
    while True:
        prompts = _prompts(page)
        numbered = [p for p in prompts if p.startswith("[") and p[1:-2].isdigit()]
        idle = page.get_attribute(indicator, "data-status") == "idle"
        if idle and len(prompts) == expected_cells and "[*]:" not in prompts:
            return prompts, numbered
        if time.monotonic() > deadline:
            raise AssertionError(f"Run All did not finish within {RUN_ALL_S} s: {len(prompts)} of "
                                 f"{expected_cells} code cells in the DOM (fewer: windowed rendering "
                                 f"detached some), prompts {prompts}")
        page.wait_for_timeout(1000)


def _widget_output_image(widget):
    image = widget.locator(".widget-output img").first
    image.wait_for(state="attached", timeout=WIDGET_UPDATE_S * 1000)
    return image.get_attribute("src")


def test_lesson_runs_in_jupyterlab_with_figures_and_a_responsive_widget(jupyter_lab, page):
    base, token, root = jupyter_lab
    expected_cells = _code_cell_count(root / LESSON)
    page.goto(f"{base}/lab/tree/{LESSON}?token={token}")
    try:
        # The lesson names its kernel (python3), so no "Select Kernel" dialog: wait for it to be idle.
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']",
                               timeout=NOTEBOOK_OPEN_S * 1000)
        _screenshot(page, "1-opened.png")

        prompts, numbered = _run_all_and_wait(page, expected_cells)
        assert len(numbered) == expected_cells, (
            f"not every code cell ran (a cell failed and Run All stopped?): {prompts}")
        assert [int(p[1:-2]) for p in numbered] == list(range(1, expected_cells + 1)), prompts
        tracebacks = page.locator(".jp-NotebookPanel .jp-OutputArea-output",
                                  has_text="Traceback (most recent call last)")
        assert tracebacks.count() == 0, tracebacks.first.inner_text()[:2000]

        # A Matplotlib figure: an <img> in a cell's output area, actually decoded by the browser.
        figure = _scroll_to(page, ".jp-OutputArea-output img")
        assert figure.get_attribute("src").startswith("data:image/png")
        assert figure.evaluate("img => img.complete && img.naturalWidth > 100 && img.naturalHeight > 100")

        # The slider of explore(): rendered by the ipywidgets front end, with its own figure below it.
        _scroll_to(page, ".jupyter-widgets .widget-slider")
        widget = page.locator(".jp-NotebookPanel .widget-vbox", has=page.locator(".widget-slider")).first
        readout = widget.locator(".widget-readout")
        before_value, before_image = readout.text_content().strip(), _widget_output_image(widget)
        assert before_value == "0.5", before_value  # the confidence threshold the slider starts at
        widget.scroll_into_view_if_needed()
        _screenshot(page, "2-ran-all.png")

        handle = widget.locator(".noUi-handle").first
        handle.focus()  # as after a learner clicks it; a click could also move it
        handle.press("ArrowRight")
        page.wait_for_function("([el, v]) => el.textContent.trim() !== v", arg=[readout.element_handle(), before_value],
                               timeout=WIDGET_UPDATE_S * 1000)
        assert readout.text_content().strip() == "0.55"
        deadline = time.monotonic() + WIDGET_UPDATE_S
        while _widget_output_image(widget) == before_image:
            assert time.monotonic() < deadline, "moving the slider did not redraw the widget's figure"
            page.wait_for_timeout(250)
        assert widget.locator(".widget-output img").first.evaluate("img => img.complete && img.naturalWidth > 100")
        _screenshot(page, "3-slider-moved.png")
    except BaseException:
        _screenshot(page, "failure.png")
        raise
