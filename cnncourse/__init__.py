"""Helpers for the cnncourse notebooks: data, models, training, plots, widgets and exercise checks.

Import what a lesson needs from its module (``from cnncourse.data import load_cifar10``)
so the learner sees where each piece lives.
"""
import os

# Hide TensorFlow's C++ info and warning logs (e.g. allocation notes during training), which
# frighten learners and bury the real output; errors still show. The few lines it prints
# before its logging is set up cannot be hidden this way: lesson 00 explains them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
