"""Fixtures shared by the tests: images a model learns at once, a browser page."""
import os
from pathlib import Path

import numpy as np
import pytest


def make_colour_images(n: int, classes: int = 10, size: int = 32, noise: float = 20.0, seed: int = 0):
    """``n`` uint8 images whose class is their colour (one random colour per class, plus pixel noise), and their
    labels ``arange(n) % classes``: easy for any pipeline that learns at all."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(0, 256, (classes, 3))
    y = np.arange(n) % classes
    x = palette[y][:, None, None, :] + rng.normal(0, noise, (n, size, size, 3))
    return np.clip(x, 0, 255).astype("uint8"), y


@pytest.fixture(scope="session")
def colour_images():
    """:func:`make_colour_images`, for tests that need images a model learns at once."""
    return make_colour_images


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium():
    """The path of Debian's Chromium, for Playwright. Skips (with the reason) when Playwright or Chromium is
    missing, unless ``CI`` is set: CI installs both (.ci/run), so there a browser test must run."""
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
    return CHROMIUM


@pytest.fixture
def page(chromium):
    """A new page in headless Chromium (Debian's, driven by Playwright), closed afterwards."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update"])
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()
