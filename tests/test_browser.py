"""The course's notebooks work as a learner sees them: JupyterLab in a real browser, Run All, a figure, a widget.

Starts ``jupyter lab`` on 127.0.0.1 over a temporary folder holding a small notebook that uses the course's
front end as the lessons do (a figure from ``cnncourse.plots``, a slider from ``cnncourse.widgets.explore``),
drives Debian's Chromium headless with Playwright, runs all cells from the Run menu, and checks in the page
that every code cell ran without a traceback, that the Matplotlib figure rendered, and that the slider redraws
its output when the learner presses ArrowRight on it. Screenshots and the page's console go to
test-artifacts/browser/. (The lessons themselves are executed once each by tests/test_site.py, and their
pages checked in the browser there.)

JupyterLab 4 renders notebooks in a window: depending on the user's windowingMode, cells
outside the viewport are skipped ('contentVisibility', the default a learner gets and the one
used here) or detached from the DOM ('full'). The test scrolls the notebook to find the figure
and the widget, and reads text with textContent (innerText is empty for a skipped cell). Run
All counts as finished when every code cell in the DOM has a number; under 'full' not every
cell would be in the DOM, and the wait fails with a message that says so.
"""
import json
import os
import re
import secrets
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
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "front_end.ipynb"
ARTIFACTS = ROOT / "test-artifacts" / "browser"
SERVER_START_S = 90
NOTEBOOK_OPEN_S = 120
RUN_ALL_S = 300  # a few seconds on a quiet machine; leave room for a busy one
MENU_S = 10
START_S = 30  # from the click to the first queued cell: well under a second, even on a busy machine
RUN_ALL_CLICKS = 3
WIDGET_UPDATE_S = 30


def front_end_notebook():
    """A notebook that shows a course figure and an ``explore`` slider over a threshold, as lesson 00 does."""
    return new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                        cells=[new_markdown_cell("# The course's figures and widgets in JupyterLab"),
                               new_code_cell("import matplotlib.pyplot as plt\nimport numpy as np\n\n"
                                             "from cnncourse import plots\nfrom cnncourse.widgets import explore"),
                               new_code_cell("plots.plot_class_counts(np.arange(500) % 10, "
                                             "[f'class {i}' for i in range(10)])"),
                               new_code_cell("def draw(threshold):\n"
                                             "    figure, ax = plt.subplots(figsize=(4, 3))\n"
                                             "    ax.bar(['kept', 'set aside'], [threshold, 1 - threshold])\n"
                                             "    ax.set_title(f'confidence threshold {threshold}')\n"
                                             "    return figure\n\n"
                                             "explore(draw, [round(0.05 * i, 2) for i in range(21)], "
                                             "'confidence threshold', value=0.5)")])


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
def jupyter_lab(tmp_path_factory, chromium):
    """(base URL, token, folder): JupyterLab serving a folder with the small notebook, shut down afterwards."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    home = tmp_path_factory.mktemp("lab")
    root = home / "notebooks"
    root.mkdir()
    nbformat.write(front_end_notebook(), root / NOTEBOOK)
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


def _any_cell_queued(page):
    """Whether some code cell is queued, running or has run: its prompt is no longer '[ ]:'."""
    return any(prompt != "[ ]:" for prompt in _prompts(page))


def _click_run_all(page):
    """Run > Run All Cells, as a learner does it. Lumino runs the menu item that is *active* (highlighted)
    when the mouse button comes up, and makes it active on mousemove; so hover first and wait for the highlight."""
    from playwright.sync_api import expect
    page.click(".lm-MenuBar-itemLabel:text-is('Run')")
    item = page.locator(".lm-Menu .lm-Menu-item", has=page.locator(".lm-Menu-itemLabel:text-is('Run All Cells')"))
    item.hover()
    expect(item).to_have_class(re.compile(r"\blm-mod-active\b"), timeout=MENU_S * 1000)
    item.click()


def _run_all_and_wait(page, expected_cells):
    """Click Run All Cells, and wait until every code cell has run.

    A click that queued no cell within START_S seconds is repeated (at most twice), with a note in the output:
    on a busy machine a menu click can be lost (CI once saw Run All queue nothing in 300 s, the menu item enabled
    and the kernel idle). A repeated click that ran a cell twice would show in the cells' numbers."""
    indicator = ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator"
    for attempt in range(1, RUN_ALL_CLICKS + 1):
        _click_run_all(page)
        started = time.monotonic() + START_S
        while not (queued := _any_cell_queued(page)) and time.monotonic() < started:
            page.wait_for_timeout(250)
        if queued:
            break
        print(f"Run All Cells, click {attempt}: no cell queued within {START_S} s; "
              f"{page.locator('.lm-Menu').count()} menu(s) open")
        _screenshot(page, f"run-all-click-{attempt}-lost.png")
    else:
        raise AssertionError(f"Run All Cells queued no cell in {RUN_ALL_CLICKS} clicks; see {ARTIFACTS}")
    deadline = time.monotonic() + RUN_ALL_S
    while True:
        prompts = _prompts(page)
        numbered = [p for p in prompts if p.startswith("[") and p[1:-2].isdigit()]
        idle = page.get_attribute(indicator, "data-status") == "idle"
        # Done when the kernel is idle again after running something: right after the click, before the first
        # queued cell starts, the kernel is idle too, with no cell numbered yet.
        if idle and len(prompts) == expected_cells and "[*]:" not in prompts and numbered:
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


def test_notebook_runs_in_jupyterlab_with_figures_and_a_responsive_widget(jupyter_lab, page):
    base, token, root = jupyter_lab
    expected_cells = _code_cell_count(root / NOTEBOOK)
    console = open(ARTIFACTS / "console.log", "w")  # the page's console, for a failure that shows nothing else
    page.on("console", lambda message: console.write(f"{time.strftime('%H:%M:%S')} {message.type}: {message.text}\n"))
    page.goto(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
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
    finally:
        console.close()
