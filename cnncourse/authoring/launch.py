"""Where the course is published, and the links that open a lesson on Binder, Colab or a JupyterHub.

The one place that names the public repository: the README's badges and links, the Colab
set-up cell at the top of every lesson, and ``binder/`` are checked against it by
``tests/test_launch_links.py``. If the repository moves, change ``REPOSITORY``/``BRANCH``
here, run those tests, and fix what they report.
"""
from __future__ import annotations

from urllib.parse import urlencode

REPOSITORY = "cnncourse/cnncourse"  # GitHub owner/name (assumed: the checkout has no remote)
BRANCH = "main"

GIT_URL = f"https://github.com/{REPOSITORY}"
SITE_URL = "https://{}.github.io/{}/".format(*REPOSITORY.split("/"))  # GitHub Pages, .github/workflows/site.yml
PIP_REQUIREMENT = f"cnncourse @ git+{GIT_URL}@{BRANCH}"

# The first code cell of every notebook in solutions/ (and so lessons/). On Colab the course's
# package is not installed: the cell installs it from GitHub. Anywhere else it does nothing.
# IPython accepts the %pip line magic inside the if-block.
COLAB_SETUP_CELL = (
    "# On Google Colab only: install the course's helper package (elsewhere this does nothing).\n"
    "import sys\n"
    "if \"google.colab\" in sys.modules:\n"
    f"    %pip install -q \"{PIP_REQUIREMENT}\""
)
COLAB_SETUP_CELL_ID = "colab-setup"


def binder_url(path: str = "lessons") -> str:
    """mybinder.org link that builds the repository and opens JupyterLab on ``path``."""
    return f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?urlpath=lab/tree/{path}"


def colab_url(path: str) -> str:
    """Colab link that opens the notebook at ``path`` (relative to the repository root)."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{path}"


def jupyterhub_url(path: str, hub: str) -> str:
    """nbgitpuller link: on the JupyterHub at ``hub`` (its address, e.g. ``https://hub.example.edu``), pull
    the repository into the user's home (or update their copy without overwriting their changes) and open
    ``path`` in JupyterLab. Instructors give such links to push course material to their hub."""
    if not hub.startswith(("https://", "http://")):
        raise ValueError(f"hub should be the hub's address, starting with https://, got {hub!r}")
    folder = REPOSITORY.split("/")[1]  # nbgitpuller clones into a folder named after the repository
    query = urlencode({"repo": GIT_URL, "branch": BRANCH, "urlpath": f"lab/tree/{folder}/{path}"})
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"
