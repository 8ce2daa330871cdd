"""Helpers for the cnncourse notebooks: data, models, training, plots, widgets and exercise checks.

Import what a lesson needs from its module (``from cnncourse.data import load_cifar10``)
so the learner sees where each piece lives.
"""
import os

# TensorFlow prints pages of start-up chatter (CUDA not found, oneDNN notes) that
# frighten learners and hide the real output. Errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
