"""Fixtures shared by the unit tests."""
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
