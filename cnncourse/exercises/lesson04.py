"""Checks for lesson 04, "A bad learning rate"."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
from matplotlib.figure import Figure

from cnncourse.checks import Verdict, correct, is_single_number, not_attempted, wrong
from cnncourse.plots import new_figure
from cnncourse.training import TrainingResult

if TYPE_CHECKING:
    from cnncourse.lr_range import RangeTestResult

# Exercise 2's curves: which learning rate hides behind each letter.
MYSTERY = {"A": (1e-3, "good"), "B": (1e-1, "too high"), "C": (1e-5, "too low")}
DIAGNOSES = ("too high", "too low", "good")


def check_pick(my_lr: Any, result: RangeTestResult) -> Verdict:
    """Exercise 1: a constant learning rate read off the range test: on the falling part, 3 to 10
    times below the lowest point (read by eye on a log axis, anything from 30x to 2x below passes)."""
    if my_lr is None:
        return not_attempted("my_lr")
    if not is_single_number(my_lr) or not float(my_lr) > 0:
        return wrong(f"`my_lr` should be one positive number, e.g. 3e-4; got {my_lr!r}.")
    lowest, rate = result.lowest_loss_rate, float(my_lr)
    if rate > lowest / 2:
        return wrong(f"{rate:.1e} is too close to, or past, the lowest point of the curve ({lowest:.1e}): there "
                     "the loss is about to blow up, and a whole training run would be unstable.",
                     "Go 3 to 10 times lower than the lowest point, where the loss is still falling.")
    if rate < lowest / 30:
        return wrong(f"{rate:.1e} is far left of the lowest point ({lowest:.1e}), where the loss has hardly "
                     "started to fall: training would crawl.",
                     "Choose a rate 3 to 10 times below the lowest point.")
    return correct(f"Correct: {rate:.1e} is {lowest / rate:.0f} times below the lowest point ({lowest:.1e}), "
                   "on the falling part of the curve: fast, with room before the cliff.")


def show_mystery_curves(runs: Mapping[float, TrainingResult]) -> Figure:
    """Exercise 2: the training loss of three of ``runs`` (learning rate -> TrainingResult),
    labelled A, B and C without their learning rates."""
    fig, axes = new_figure(1, len(MYSTERY), figsize=(12, 3))
    for ax, (letter, (rate, _)) in zip(axes, MYSTERY.items()):
        loss = runs[rate].history["loss"]
        ax.plot(np.arange(1, len(loss) + 1), loss, "o-")
        ax.set_ylim(bottom=0)  # from 0, so that a tiny change looks tiny
        ax.set(title=f"run {letter}: training loss", xlabel="epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3, which="both")
    return fig


def check_diagnosis(diagnosis: Any) -> Verdict:
    """Exercise 2: ``{"A": ..., "B": ..., "C": ...}`` with each value one of DIAGNOSES."""
    if diagnosis is None:
        return not_attempted("diagnosis")
    if not isinstance(diagnosis, dict) or sorted(diagnosis) != sorted(MYSTERY):
        return wrong(f"`diagnosis` should be a dict with the keys {sorted(MYSTERY)}, got {diagnosis!r}.",
                     'e.g. {"A": "too low", "B": "good", "C": "too high"}')
    answers = {letter: str(value).strip().lower() for letter, value in diagnosis.items()}
    unknown = [value for value in answers.values() if value not in DIAGNOSES]
    if unknown:
        return wrong(f"Each value should be one of {DIAGNOSES}, got {unknown[0]!r}.")
    why = {"good": "its loss falls steadily, epoch after epoch",
           "too high": "its first epoch's loss is huge (the updates threw the weights far away), then it sits "
                       "at 2.30 = ln(10): the network is dead and answers the same for every image",
           "too low": "it starts at 2.30 like every fresh model and hardly moves: the steps are too small"}
    for letter, (_, truth) in MYSTERY.items():
        if answers[letter] != truth:
            return wrong(f"Run {letter} is not {answers[letter]!r}.", f"Look at its first points: {why[truth]}.")
    return correct("Correct: " + "; ".join(f"{letter} is {truth} ({why[truth]})"
                                           for letter, (_, truth) in MYSTERY.items()) + ".")


def _rates(schedule: keras.optimizers.schedules.LearningRateSchedule, total_steps: int) -> np.ndarray:
    return np.array([float(schedule(step)) for step in range(total_steps)])


def _schedule_used(run: TrainingResult) -> keras.optimizers.schedules.LearningRateSchedule | None:
    """The learning-rate schedule the run's optimizer was built with, or None for a constant rate."""
    optimizer = getattr(run.model, "optimizer", None)
    rate = optimizer.get_config().get("learning_rate") if optimizer is not None else None
    return keras.optimizers.schedules.deserialize(rate) if isinstance(rate, dict) else None


def check_step_schedule(schedule: Any, run: Any, target: float, total_steps: int) -> Verdict:
    """Exercise 3: a decaying Keras learning-rate schedule, and a run with it that reaches ``target``."""
    if schedule is None:
        return not_attempted("schedule")
    if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        return wrong(f"`schedule` should be a Keras learning-rate schedule, not a {type(schedule).__name__}.",
                     "keras.optimizers.schedules.PiecewiseConstantDecay(boundaries=[...], values=[...])")
    rates = _rates(schedule, total_steps)
    first, last = rates[0], rates[-1]
    if not last < first:
        return wrong(f"The schedule starts at {first:.1e} and ends at {last:.1e}: it does not decay.",
                     "Put the boundary (in steps, not epochs) inside the run: 3 * STEPS_PER_EPOCH.")
    decays_at = int(np.argmax(rates < first))
    if decays_at < total_steps // 10:
        return wrong(f"The rate drops after {decays_at} steps of {total_steps}: before the first epoch is over.",
                     "Boundaries count steps (batches), not epochs: 3 epochs are 3 * STEPS_PER_EPOCH steps.")
    if run is None:
        return not_attempted("my_run")
    if not isinstance(run, TrainingResult):
        return wrong(f"`my_run` should be what train() returns, not a {type(run).__name__}.")
    used = _schedule_used(run)
    if used is None or not np.allclose(_rates(used, total_steps), rates, rtol=1e-5, atol=0):
        return wrong("`my_run` was not trained with your schedule: its optimizer's learning rate is "
                     + ("a constant." if used is None else "a different schedule."),
                     "Train it with fit('step schedule', optimizer=keras.optimizers.Adam(schedule)).")
    if run.val_accuracy < target:
        return wrong(f"Final validation accuracy {run.val_accuracy:.3f} is below the target {target:.2f}.",
                     f"Your schedule goes from {first:.1e} to {last:.1e}. Start near the range test's "
                     "suggestion (or up to 3x above it) and decay by 10x for the last epochs.")
    return correct(f"Correct: the rate goes from {first:.1e} down to {last:.1e}, and the run ends at "
                   f"{run.val_accuracy:.3f} validation accuracy (target {target:.2f}).")
