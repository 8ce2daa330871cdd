"""Sphinx configuration of the course site (built by ``cnncourse-site``, which writes the lesson pages,
the landing page and instructors.md beside this file; see cnncourse/authoring/site.py)."""
project = "cnncourse"
author = "the cnncourse authors"
extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
exclude_patterns = ["_build"]

nb_execution_mode = "off"  # the lessons arrive executed: the site never runs them again
nb_merge_streams = True
myst_heading_anchors = 3  # README-style links to a heading (#two-commands) resolve
suppress_warnings = [
    "myst.header",  # lessons start at "#" and may skip a level, as notebooks do
    "mystnb.unknown_mime_type",  # an exercise verdict carries its data for the grader beside its HTML
]

autodoc_member_order = "bysource"
autodoc_typehints = "description"

html_theme = "sphinx_book_theme"
html_title = "cnncourse: why is my CNN stuck?"
html_static_path = ["_static"]
html_css_files = ["site.css"]
html_theme_options = {
    "repository_url": "https://github.com/cnncourse/cnncourse",
    "use_repository_button": True,
    "show_toc_level": 2,
}
html_context = {"default_mode": "light"}  # the theme logs an error to the console when no mode is set
html_favicon = "_static/favicon.svg"
