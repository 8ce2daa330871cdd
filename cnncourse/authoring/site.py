"""The course as a website: the student lessons executed top to bottom, rendered by Sphinx with MyST-NB.

``cnncourse-site`` executes every notebook in ``lessons/`` once (exercises unanswered, their checks
saying so), or takes copies executed earlier (``--executed``: the test suite executes each lesson once
and builds the site from those copies), and renders them with the landing page (the README's symptom
table), INSTRUCTORS.md and an API reference of ``cnncourse`` generated from its docstrings. The build
reads nothing from the network.

Every lesson page opens with its launch links (Binder, Colab, a JupyterHub through nbgitpuller), all from
:mod:`cnncourse.authoring.launch`. A widget cannot move on a static page: its figure, as the lesson drew
it, is shown in its place, with a note that the control is live in the notebook.
"""
from __future__ import annotations

import argparse
import copy
import html
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from cnncourse.authoring import launch
from cnncourse.authoring.runner import NotebookRun, error_summary

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"  # the site's hand-written pages and Sphinx configuration
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_NOTE = ("<p class=\"widget-note\"><em>Interactive in the notebook:</em> this control is live when you run "
               "the lesson (launch links at the top of the page). Shown here: the figure it draws at its "
               "starting value.</p>")


class LessonFailed(RuntimeError):
    """A lesson raised an error while it was executed for the site."""


def execute_lesson(path: str | Path, out_dir: str | Path, timeout: float | None = 900) -> Path:
    """Execute the notebook at ``path`` top to bottom in a fresh kernel, as nbval does (the first error
    stops it), and write the executed copy, widget state included, to ``out_dir``. Returns its path.

    Raises :class:`LessonFailed` naming the cell and its error."""
    path, out_dir = Path(path), Path(out_dir)
    nb = nbformat.read(path, as_version=4)
    run = NotebookRun(nb, cwd=path.parent)
    with run.kernel(quiet=True):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                run.run_cell(index, timeout)
            except Exception as error:
                source = "\n".join(cell.source.splitlines()[:3])
                raise LessonFailed(f"{path.name}: code cell {index} failed: {error_summary(error)}\n"
                                   f"--- the cell begins:\n{source}") from error
        run.client.set_widgets_metadata()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / path.name
    nbformat.write(run.nb, target)
    return target


CONTROLS = ("SliderModel", "CheckboxModel", "DropdownModel", "ToggleButtonsModel", "RadioButtonsModel",
            "SelectModel", "TextModel")  # widgets a learner moves, as against what a widget only shows


def _widget_tree(state: dict, model_id: str, seen: set | None = None) -> list[dict]:
    """The states of widget ``model_id`` and its descendants, depth first in child order."""
    seen = set() if seen is None else seen
    if model_id in seen or model_id not in state:
        return []
    seen.add(model_id)
    model = state[model_id].get("state", {})
    tree = [model]
    for child in model.get("children", []):
        tree += _widget_tree(state, str(child).removeprefix("IPY_MODEL_"), seen)
    return tree


def _static_view(tree: list[dict]) -> list:
    """What a widget showed, as outputs: its Output widgets' outputs; for a widget without one (a progress
    bar), its text as one line; after a note if a learner could move a control in it."""
    outputs = [nbformat.from_dict(shown) for model in tree if model.get("_model_name") == "OutputModel"
               for shown in model.get("outputs", [])]
    if not outputs:
        parts = []
        for model in tree:
            name = model.get("_model_name", "")
            if name in ("HTMLModel", "LabelModel") and model.get("value"):
                parts.append(html.unescape(re.sub(r"<[^>]+>", "", str(model["value"]))).strip())
        if any(parts):
            outputs.append(nbformat.v4.new_output("stream", name="stdout", text=" ".join(filter(None, parts)) + "\n"))
    if any(model.get("_model_name", "").endswith(CONTROLS) for model in tree):
        outputs.insert(0, nbformat.v4.new_output("display_data", data={"text/html": WIDGET_NOTE}))
    return outputs


def static_widgets(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of executed ``nb`` in which each widget is replaced by what it showed (a slider's figure, a
    progress bar's last line) and, for a control, a note that it is live in the notebook. No widget state is
    kept, so no page needs the widgets' JavaScript."""
    nb = copy.deepcopy(nb)
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            view = output.get("data", {}).get(WIDGET_VIEW)
            outputs += [output] if view is None else _static_view(_widget_tree(state, view["model_id"]))
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return nb


def launch_bar(lesson: str, hub: str | None = None) -> str:
    """HTML with the links that open lesson ``lesson`` (a file name in lessons/) on Binder, Colab and a
    JupyterHub (``hub``'s address, else the site's page that asks for it)."""
    path = f"lessons/{lesson}"
    hub_link = launch.jupyterhub_url(path, hub) if hub else f"../jupyterhub.html?lesson={lesson}"
    links = [("launch-binder", launch.binder_url(path), "Launch on Binder"),
             ("launch-colab", launch.colab_url(path), "Open in Colab"),
             ("launch-jupyterhub", hub_link, "Open on your JupyterHub")]
    anchors = " · ".join(f'<a class="{kind}" href="{html.escape(url)}">{text}</a>' for kind, url, text in links)
    return f'<p class="launch-links">{anchors}</p>'


def lesson_page(nb: nbformat.NotebookNode, lesson: str, hub: str | None = None) -> nbformat.NotebookNode:
    """The site's copy of executed lesson ``nb``: widgets made static, launch links under the title."""
    nb = static_widgets(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = absolute_links(cell.source, "lessons")
    bar = nbformat.v4.new_markdown_cell(launch_bar(lesson, hub))
    bar.id = "site-launch-links"
    nb.cells.insert(1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0, bar)
    return nb


def absolute_links(markdown: str, folder: str = "") -> str:
    """``markdown`` with its relative links to files of the repository (``folder`` is where the text lives)
    made links to GitHub, except those to a lesson, which the site has as a page."""
    def link(match):
        text, target = match.group(1), match.group(2)
        if re.match(r"[a-z]+:|#", target) or re.search(r"(^|/)lessons/[^/]+\\.ipynb", f"{folder}/{target}"):
            return match.group(0)
        path = os.path.normpath(os.path.join(folder, target))
        url = launch.GIT_URL if path == "README.md" else f"{launch.GIT_URL}/blob/{launch.BRANCH}/{path}"
        return f"[{text}]({url})"
    return re.sub(r"\[([^\]]*)\]\(([^)\s]+)\)", link, markdown)


def symptom_table(readme: str) -> str:
    """The README's "which symptom do you have?" section (its text up to the next heading)."""
    match = re.search(r"^## Start here.*?\n(.*?)(?=^## )", readme, flags=re.S | re.M)
    if match is None:
        raise ValueError("README.md has no '## Start here' section to build the landing page from")
    return match.group(1).strip()


def landing_page(readme: str, lessons: list[str]) -> str:
    """index.md: the README's title and first paragraph, its symptom table, and the table of contents."""
    title = readme.splitlines()[0].lstrip("# ").strip()
    intro = readme.split("\n\n")[2].strip()  # title, Binder badge, then the first paragraph
    toc = "\n".join(f"lessons/{Path(name).stem}" for name in lessons)
    return (f"# {title}\n\n{intro}\n\n## Which symptom do you have?\n\n{absolute_links(symptom_table(readme))}\n\n"
            "Each lesson page shows the lesson as it ran, every figure included, with its exercises left for you. "
            "To run it and answer them, use the launch links at the top of the page, or install the course "
            "([Two commands](https://github.com/" f"{launch.REPOSITORY}#two-commands)).\n\n"
            "```{toctree}\n:caption: Lessons\n:hidden:\n\n" + toc + "\n```\n\n"
            "```{toctree}\n:caption: Reference\n:hidden:\n\napi\ninstructors\njupyterhub\n```\n")


def prepare_sources(executed: str | Path, source: str | Path, hub: str | None = None) -> Path:
    """Write the site's Sphinx source folder ``source`` from the executed lessons in ``executed``."""
    executed, source = Path(executed), Path(source)
    lessons = sorted(path.name for path in (REPO / "lessons").glob("*.ipynb"))
    missing = [name for name in lessons if not (executed / name).is_file()]
    if missing:
        raise FileNotFoundError(f"no executed copy of {', '.join(missing)} in {executed}: run cnncourse-site "
                                "without --executed to execute the lessons first")
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(DOCS, source)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    (source / "index.md").write_text(landing_page(readme, lessons), encoding="utf-8")
    shutil.copy(REPO / "INSTRUCTORS.md", source / "instructors.md")
    (source / "lessons").mkdir()
    for name in lessons:
        nb = nbformat.read(executed / name, as_version=4)
        nbformat.write(lesson_page(nb, name, hub), source / "lessons" / name)
    return source


def build(executed: str | Path, out: str | Path, hub: str | None = None) -> Path:
    """Build the site into ``out`` (``out/html/index.html`` is its front page) from executed lessons."""
    out = Path(out)
    source = prepare_sources(executed, out / "source", hub)
    html_dir = out / "html"
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-E",
               str(source), str(html_dir)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"sphinx-build failed:\n{result.stderr[-6000:]}")
    return html_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cnncourse-site", description=__doc__.splitlines()[0])
    parser.add_argument("--executed", type=Path, help="folder of lessons executed earlier (default: execute "
                                                      "lessons/ now, into OUT/executed)")
    parser.add_argument("--out", type=Path, default=REPO / "build" / "site", help="default: build/site")
    parser.add_argument("--hub", help="a JupyterHub's address (https://hub.example.edu): lesson pages link "
                                      "straight to it; without it they link to a page that asks for it")
    args = parser.parse_args(argv)
    executed = args.executed
    if executed is None:
        executed = args.out / "executed"
        for path in sorted((REPO / "lessons").glob("*.ipynb")):
            start = time.monotonic()
            print(f"executing {path.name} ...", end=" ", flush=True)
            try:
                execute_lesson(path, executed)
            except LessonFailed as error:
                print(f"\n{error}", file=sys.stderr)
                return 1
            print(f"{time.monotonic() - start:.0f} s", flush=True)
    try:
        html_dir = build(executed, args.out, args.hub)
    except (FileNotFoundError, RuntimeError) as error:
        print(error, file=sys.stderr)
        return 1
    print(f"site: {html_dir / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
